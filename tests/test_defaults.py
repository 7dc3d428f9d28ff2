"""The defaults and the recipes, cross-validated as the user guide reports them.

Protocol (doc/user_guide.rst, "Recipes for images and for tabular data"): 5-fold
``StratifiedKFold(shuffle=True, random_state=0)``, ``random_state=0`` for
every model, one BLAS thread (tests/conftest.py); tabular data behind
``MinMaxScaler(clip=True)`` for every model.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdbn import DBNClassifier


def _cv_accuracy(model, X, y):
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cross_val_score(model, X, y, cv=folds)


def _data(name):
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16, y
    return load_breast_cancer(return_X_y=True)


@pytest.mark.parametrize("name", ["digits", "breast_cancer"])
def test_defaults_match_or_beat_mlp_defaults(name):
    X, y = _data(name)
    scale = MinMaxScaler(clip=True)
    dbn = _cv_accuracy(make_pipeline(scale, DBNClassifier(random_state=0)), X, y)
    mlp = _cv_accuracy(make_pipeline(scale, MLPClassifier(random_state=0)), X, y)
    assert dbn.mean() >= mlp.mean()


def test_readme_recipe_reaches_098_on_digits():
    X, y = _data("digits")
    recipe = DBNClassifier((256, 256), dropout=0.2, random_state=0)
    scores = _cv_accuracy(recipe, X, y)
    assert scores.mean() >= 0.98
    assert np.all(scores >= 0.975)


def test_published_relu_recipe_runs_and_learns():
    # albertbup/deep-belief-network's README recipe: ReLU RBMs at 0.05 for 10
    # CD epochs, then SGD at 0.1 without momentum, dropout 0.2, batch 32.
    X, y = _data("digits")
    recipe = DBNClassifier(
        (256, 256),
        hidden_unit="relu",
        pretrain_learning_rate=0.05,
        pretrain_epochs=10,
        solver="sgd",
        learning_rate_init=0.1,
        momentum=0.0,
        dropout=0.2,
        batch_size=32,
        max_iter=100,
        random_state=0,
    )
    assert _cv_accuracy(recipe, X, y).mean() > 0.975
