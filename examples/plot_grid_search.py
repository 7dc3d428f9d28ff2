"""
=======================================
Choosing the layer sizes by grid search
=======================================

``DBNClassifier`` is a scikit-learn estimator: ``GridSearchCV`` searches its
layer sizes (and any other parameter) by cross-validation, inside a
``Pipeline`` with the scaling that Bernoulli visible units need.

With ``memory`` (a folder) each pretrained layer is kept, and a candidate
that needs a layer another candidate already trained loads it instead:
``(128,)`` and ``(128, 64)`` share their first layer, and the ``dropout``
values, which only fine-tuning sees, share the whole stack. The results are
those of the search without ``memory`` (bit for bit on a fixed number of
BLAS threads).
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdbn import DBNClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

cache = tempfile.mkdtemp()
sizes = [(32,), (128,), (128, 64)]
dbn = DBNClassifier(max_iter=30, memory=cache, random_state=0)
search = GridSearchCV(
    make_pipeline(MinMaxScaler(clip=True), dbn),
    {"dbnclassifier__hidden_layer_sizes": sizes, "dbnclassifier__dropout": [0, 0.2]},
    cv=3,
).fit(X_train, y_train)
print("best:", search.best_params_, f"test accuracy {search.score(X_test, y_test):.4f}")

# Layers pretrained: one (32,), one (128,) and one 64 above it per fold, and
# the final refit's, instead of two per candidate and fold.
n_stored = len(list(Path(cache).rglob("output.pkl")))
n_needed = 3 * sum(len(size) for size in sizes) * 2 + len(
    search.best_params_["dbnclassifier__hidden_layer_sizes"]
)
print(f"layers pretrained: {n_stored} of the {n_needed} the search used")

# %%
# Cross-validated accuracy of each size, without and with dropout.
results = search.cv_results_
fig, ax = plt.subplots(figsize=(5, 2.5))
for dropout in (0, 0.2):
    chosen = results["param_dbnclassifier__dropout"] == dropout
    ax.errorbar(
        [str(s) for s in sizes],
        results["mean_test_score"][chosen],
        yerr=results["std_test_score"][chosen],
        fmt="o",
        label=f"dropout={dropout}",
    )
ax.legend()
ax.set_xlabel("hidden_layer_sizes")
ax.set_ylabel("cross-validated accuracy")
fig.tight_layout()
plt.show()
