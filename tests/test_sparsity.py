"""The sparsity target of Hinton's practical guide (2010, section 11)."""

import numpy as np
import pytest

from skdbn import RBM, DBNClassifier, DBNTransformer
from skdbn._rbm_numerics import SparsityPenalty


def test_penalty_step_follows_the_guide():
    rng = np.random.default_rng(0)
    n, n_visible, n_hidden = 7, 5, 4
    hidden = np.hstack([rng.uniform(size=(n, n_hidden)), np.ones((n, 1))])
    visible = np.hstack([rng.uniform(size=(n, n_visible)), np.ones((n, 1))])
    velocity = rng.normal(size=(n_hidden + 1, n_visible + 1))
    q = rng.uniform(size=n_hidden)
    lr, cost, target, decay = 0.1, 0.5, 0.05, 0.9

    q_expected = decay * q + (1 - decay) * hidden[:, :-1].mean(axis=0)
    expected = velocity.copy()
    for j in range(n_hidden):
        d = q_expected[j] - target  # dPenalty / d(total input of unit j)
        for i in range(n_visible):
            expected[j, i] -= lr * cost * d * visible[:, i].mean()
        expected[j, n_visible] -= lr * cost * d  # the hidden bias

    SparsityPenalty(target, cost, q, decay).add_gradient(hidden, visible, velocity, lr)
    np.testing.assert_allclose(q, q_expected, rtol=1e-12)
    np.testing.assert_allclose(velocity, expected, rtol=1e-12)


def _near_zero_share(W):
    """Share of each filter's weights below 5 % of that filter's largest."""
    return float(np.mean(np.abs(W) < 0.05 * np.abs(W).max(axis=1, keepdims=True)))


def test_activations_move_to_the_target_and_filters_localise(digits):
    X_train = digits[0]
    params = dict(n_components=100, n_iter=20, random_state=0)
    plain = RBM(**params).fit(X_train)
    sparse = RBM(sparsity_target=0.05, sparsity_cost=0.1, **params).fit(X_train)
    plain_mean = plain.transform(X_train).mean()
    sparse_mean = sparse.transform(X_train).mean()
    # Measured: 0.33 without the penalty, 0.085 with it.
    assert abs(sparse_mean - 0.05) < 0.25 * abs(plain_mean - 0.05)
    assert abs(sparse.hidden_activity_.mean() - 0.05) < 0.05
    # Measured: 22.5 % of weights near zero without, 26.8 % with.
    assert (
        _near_zero_share(sparse.components_)
        > _near_zero_share(plain.components_) + 0.02
    )


def test_off_by_default_and_only_for_binary_hidden_units(digits):
    X_train = digits[0]
    rbm = RBM(8, n_iter=1, random_state=0).fit(X_train)
    np.testing.assert_array_equal(rbm.hidden_activity_, 0.5)
    with pytest.raises(ValueError, match="sparsity_cost needs Bernoulli hidden"):
        RBM(8, hidden_unit="relu", sparsity_cost=0.1, n_iter=1).fit(X_train)


def test_dbn_layers_take_one_value_or_one_per_layer(digits):
    X_train, _, y_train, _ = digits
    clf = DBNClassifier(
        (16, 8),
        pretrain_epochs=1,
        sparsity_target=[0.05, 0.2],
        sparsity_cost=[0.1, 0.0],
        max_iter=1,
        random_state=0,
    ).fit(X_train, y_train)
    assert clf.coefs_[0].shape == (64, 16)
    # One value: every binary layer; the autoencoder's linear code layer is
    # left without the penalty.
    dbn = DBNTransformer(
        (16, 4),
        fine_tune=True,
        pretrain_epochs=1,
        sparsity_cost=0.1,
        max_iter=1,
    ).fit(X_train)
    assert [rbm.sparsity_cost for rbm in dbn.rbms_] == [0.1, 0.0]
    assert dbn.rbms_[0].hidden_activity_.mean() < 0.5
    with pytest.raises(ValueError, match="sparsity_cost"):
        DBNTransformer((4,), sparsity_cost=[-1.0]).fit(X_train)
