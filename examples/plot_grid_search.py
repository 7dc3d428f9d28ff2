"""
=======================================
Choosing the layer sizes by grid search
=======================================

``DBNClassifier`` is a scikit-learn estimator: ``GridSearchCV`` searches its
layer sizes (and any other parameter) by cross-validation, inside a
``Pipeline`` with the scaling that Bernoulli visible units need.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdbn import DBNClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

sizes = [(32,), (128,), (128, 64)]
search = GridSearchCV(
    make_pipeline(MinMaxScaler(clip=True), DBNClassifier(max_iter=30, random_state=0)),
    {"dbnclassifier__hidden_layer_sizes": sizes},
    cv=3,
).fit(X_train, y_train)
print("best:", search.best_params_, f"test accuracy {search.score(X_test, y_test):.4f}")

# %%
means = search.cv_results_["mean_test_score"]
errors = search.cv_results_["std_test_score"]
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.errorbar([str(s) for s in sizes], means, yerr=errors, fmt="o")
ax.set_xlabel("hidden_layer_sizes")
ax.set_ylabel("cross-validated accuracy")
fig.tight_layout()
plt.show()
