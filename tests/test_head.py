"""A supervised head with hidden layers (the lecture's MLP on frozen features)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_circles
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from skdbn import DBNClassifier, DBNRegressor


def _circles():
    X, y = make_circles(800, noise=0.05, factor=0.5, random_state=0)
    X = MinMaxScaler().fit_transform(X)
    return train_test_split(X, y, random_state=0)


def test_hidden_layers_solve_what_a_linear_head_cannot():
    # Two pretrained units map the two concentric circles to two closed
    # curves: no line separates them, a ReLU layer does.
    X_train, X_test, y_train, y_test = _circles()
    scores = {}
    for head in [(), (16,)]:
        clf = DBNClassifier(
            (2,),
            head_hidden_layer_sizes=head,
            fine_tune=False,
            head_max_iter=300,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_train, y_train)
        scores[head] = clf.score(X_test, y_test)
    assert scores[()] < 0.7  # measured 0.51 on the training rows
    assert scores[(16,)] > 0.95


def test_the_head_trains_on_frozen_features_then_everything_fine_tunes(digits):
    X_train, X_test, y_train, y_test = digits
    frozen = DBNClassifier(
        (32,), head_hidden_layer_sizes=(24, 16), fine_tune=False, random_state=0
    ).fit(X_train, y_train)
    assert [W.shape for W in frozen.coefs_] == [(64, 32), (32, 24), (24, 16), (16, 10)]
    assert frozen.n_head_iter_ > 0 and np.isfinite(frozen.head_loss_)
    tuned = DBNClassifier(
        (32,), head_hidden_layer_sizes=(24, 16), max_iter=20, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tuned.fit(X_train, y_train)
    # Same pretraining (same seed): fine-tuning moved the stack too.
    assert not np.array_equal(tuned.coefs_[0], frozen.coefs_[0])
    assert tuned.score(X_test, y_test) > 0.9


def test_partial_fit_without_fine_tuning_trains_every_head_layer(digits):
    X_train, _, y_train, _ = digits
    reg = DBNRegressor(
        (16,), head_hidden_layer_sizes=(8,), fine_tune=False, random_state=0
    )
    reg.partial_fit(X_train, y_train.astype(float))
    before = [W.copy() for W in reg.coefs_]
    reg.partial_fit(X_train, y_train.astype(float))
    np.testing.assert_array_equal(reg.coefs_[0], before[0])  # the stack is frozen
    assert not np.array_equal(reg.coefs_[1], before[1])
    assert not np.array_equal(reg.coefs_[2], before[2])
    reg.set_params(head_hidden_layer_sizes=(4,))
    with pytest.raises(ValueError, match="head_hidden_layer_sizes"):
        reg.partial_fit(X_train, y_train.astype(float))


@pytest.mark.parametrize("sizes", [(0,), (2.5,), [[3]]])
def test_head_sizes_are_checked(sizes, digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="head_hidden_layer_sizes"):
        DBNClassifier((4,), head_hidden_layer_sizes=sizes).fit(X_train, y_train)
