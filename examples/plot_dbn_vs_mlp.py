"""
========================================================
A DBN against an MLP and an RBM with logistic regression
========================================================

Three ways of learning features for digits, scored on the same held-out
images:

- ``BernoulliRBM`` + ``LogisticRegression``: one layer of unsupervised
  features, a linear classifier on top;
- ``MLPClassifier``: backpropagation from a random start;
- ``DBNClassifier``: RBMs pretrained greedily without the labels, a softmax
  head on the frozen features, then backpropagation through everything.
"""

import time

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM, MLPClassifier
from sklearn.pipeline import make_pipeline

from skdbn import DBNClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, stratify=y, random_state=0
)

models = {
    "RBM + logistic regression": make_pipeline(
        BernoulliRBM(n_components=256, n_iter=20, learning_rate=0.06, random_state=0),
        LogisticRegression(max_iter=1000),
    ),
    "MLP (256, 256)": MLPClassifier((256, 256), max_iter=300, random_state=0),
    "DBN (256, 256)": DBNClassifier((256, 256), dropout=0.2, random_state=0),
}
scores, seconds = {}, {}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds[name] = time.perf_counter() - start
    scores[name] = model.score(X_test, y_test)
    print(f"{name:28s} accuracy {scores[name]:.4f}  fit {seconds[name]:.1f} s")

# %%
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.barh(list(scores), list(scores.values()), color="tab:blue")
ax.set_xlim(0.85, 1.0)
ax.set_xlabel("test accuracy")
for i, value in enumerate(scores.values()):
    ax.text(value + 0.002, i, f"{value:.3f}", va="center")
fig.tight_layout()
plt.show()
