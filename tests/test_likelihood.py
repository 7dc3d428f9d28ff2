"""Log partition functions and log-likelihoods against sums written here."""

import itertools
import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import logsumexp
from sklearn.datasets import load_digits

from skdbn import RBM, DBNTransformer
from skdbn.likelihood import (
    LogPartition,
    ais_log_partition,
    dbn_lower_bound,
    exact_log_partition,
    log_likelihood,
)


@pytest.fixture(scope="module")
def binary_digits():
    return (load_digits().data / 16 > 0.5).astype(np.float64)


def _params(rbm):
    return (np.asarray(p, dtype=np.float64) for p in rbm._params())


def _brute_force_log_z(rbm):
    """log of the sum of exp(-E(v, h)) over every binary v and h."""
    W, b_h, b_v = _params(rbm)
    terms = []
    for v in itertools.product([0.0, 1.0], repeat=W.shape[1]):
        for h in itertools.product([0.0, 1.0], repeat=W.shape[0]):
            v_, h_ = np.array(v), np.array(h)
            terms.append(v_ @ b_v + h_ @ b_h + h_ @ W @ v_)
    return logsumexp(terms)


@pytest.mark.parametrize(
    "n_visible, n_hidden", [(6, 4), (4, 7)], ids=["hidden side", "visible side"]
)
def test_exact_log_z_is_the_sum_over_both_layers(binary_digits, n_visible, n_hidden):
    rbm = RBM(n_hidden, n_iter=5, batch_size=10, random_state=0)
    rbm.fit(binary_digits[:, 20 : 20 + n_visible])
    assert exact_log_partition(rbm).log_z == pytest.approx(
        _brute_force_log_z(rbm), abs=1e-9
    )


def test_exact_log_z_of_gaussian_visible_units_is_the_integral():
    # Two Gaussian visible units, three binary hidden ones: the integral over
    # the plane of exp(-F(v)), F(v) = ||v - b_v||^2 / 2 - sum softplus(W v + b_h).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    rbm = RBM(3, visible_unit="gaussian", n_iter=5, batch_size=20, random_state=0)
    rbm.fit(X)
    W, b_h, b_v = _params(rbm)

    def density(y, x):
        v = np.array([x, y])
        return math.exp(
            -0.5 * np.sum((v - b_v) ** 2) + np.logaddexp(0, W @ v + b_h).sum()
        )

    value, _ = integrate.dblquad(density, -12, 12, -12, 12, epsabs=1e-10)
    assert exact_log_partition(rbm).log_z == pytest.approx(math.log(value), abs=1e-6)


def test_log_likelihood_sums_to_one_over_every_binary_row(binary_digits):
    rbm = RBM(5, n_iter=5, batch_size=10, random_state=0).fit(binary_digits[:, :8])
    every_row = np.array(list(itertools.product([0.0, 1.0], repeat=8)))
    log_p = log_likelihood(rbm, every_row, exact_log_partition(rbm))
    assert logsumexp(log_p) == pytest.approx(0.0, abs=1e-9)


def test_relu_hidden_units_enumerate_the_visible_side(binary_digits):
    rbm = RBM(6, hidden_unit="relu", n_iter=3, batch_size=10, random_state=0)
    rbm.fit(binary_digits[:, :7])
    every_row = np.array(list(itertools.product([0.0, 1.0], repeat=7)))
    log_p = log_likelihood(rbm, every_row, exact_log_partition(rbm))
    assert logsumexp(log_p) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="Bernoulli hidden units"):
        ais_log_partition(rbm, binary_digits[:, :7])


def test_exact_refuses_models_too_large_to_enumerate(binary_digits):
    rbm = RBM(30, n_iter=1, batch_size=50, random_state=0).fit(binary_digits)
    with pytest.raises(ValueError, match="ais_log_partition"):
        exact_log_partition(rbm)


@pytest.mark.parametrize("trained", [True, False], ids=["trained", "random"])
def test_ais_interval_holds_the_exact_log_z_and_tightens(binary_digits, trained):
    rbm = RBM(15, n_iter=30 if trained else 0, batch_size=20, random_state=0)
    rbm.fit(binary_digits)
    if not trained:
        rng = np.random.default_rng(1)
        rbm.components_[...] = rng.normal(0, 0.5, rbm.components_.shape)
    exact = exact_log_partition(rbm).log_z
    short = ais_log_partition(
        rbm, binary_digits, n_chains=50, n_temperatures=100, random_state=0
    )
    long = ais_log_partition(
        rbm, binary_digits, n_chains=200, n_temperatures=3000, random_state=0
    )
    for run in (short, long):
        assert run.interval[0] <= exact <= run.interval[1]
        assert run.method == "ais"
    assert long.std_error < short.std_error / 3
    assert abs(long.log_z - exact) < 0.05


def test_ais_with_gaussian_visible_units_matches_the_exact_value():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    X[:, 1] = X[:, 0] + 0.1 * X[:, 1]
    rbm = RBM(8, visible_unit="gaussian", n_iter=20, batch_size=20, random_state=0)
    rbm.fit(X)
    exact = exact_log_partition(rbm).log_z
    run = ais_log_partition(rbm, X, n_chains=200, n_temperatures=2000, random_state=0)
    assert run.interval[0] <= exact <= run.interval[1]
    assert abs(run.log_z - exact) < 0.05


def test_ais_is_reproducible_and_refuses_a_useless_run(binary_digits):
    rbm = RBM(10, n_iter=3, batch_size=50, random_state=0).fit(binary_digits)
    first, second = (
        ais_log_partition(
            rbm, binary_digits, n_chains=20, n_temperatures=50, random_state=3
        )
        for _ in range(2)
    )
    assert (first.log_z, first.interval) == (second.log_z, second.interval)
    with pytest.raises(ValueError, match="n_chains >= 2"):
        ais_log_partition(rbm, binary_digits, n_chains=1)
    with pytest.raises(TypeError, match="fitted skdbn.RBM"):
        exact_log_partition(object())


def test_log_likelihood_takes_a_number_or_a_result(binary_digits):
    rbm = RBM(6, n_iter=3, batch_size=50, random_state=0).fit(binary_digits)
    result = exact_log_partition(rbm)
    assert isinstance(result, LogPartition)
    np.testing.assert_array_equal(
        log_likelihood(rbm, binary_digits[:5], result),
        log_likelihood(rbm, binary_digits[:5], result.log_z),
    )
    # -F(v) - log Z: the free energy of skdbn shifted by log Z.
    np.testing.assert_allclose(
        log_likelihood(rbm, binary_digits[:5], result),
        -rbm.free_energy(binary_digits[:5]).astype(np.float64) - result.log_z,
        rtol=1e-5,
    )


def _exact_dbn_log_likelihood(dbn, X):
    """log p(v) of a 2-layer DBN: the sum over every state of the middle layer
    of p(v | h1) times the top RBM's marginal p(h1)."""
    first, top = dbn.rbms_
    W1, _, b_v1 = _params(first)
    W2, b_h2, b_v2 = _params(top)
    H = np.array(list(itertools.product([0.0, 1.0], repeat=W1.shape[0])))
    log_top = H @ b_v2 + np.logaddexp(0, H @ W2.T + b_h2).sum(axis=1)
    log_top -= _brute_force_log_z(top)
    pre = H @ W1 + b_v1  # (states, n_visible)
    return np.array(
        [logsumexp((v * pre - np.logaddexp(0, pre)).sum(axis=1) + log_top) for v in X]
    )


def test_dbn_bound_lies_below_the_exact_log_likelihood(binary_digits):
    X = binary_digits[:, 20:28]
    dbn = DBNTransformer((5, 3), pretrain_epochs=20, batch_size=20, random_state=0)
    dbn.fit(X)
    exact = _exact_dbn_log_likelihood(dbn, X[:50])
    bound = dbn_lower_bound(dbn, X[:50], n_samples=2000, random_state=0)
    assert bound.log_partition.method == "exact"
    # Below the truth row by row (up to the Monte Carlo error of 2000
    # samples), and not vacuous: within half a nat on average.
    assert np.all(np.asarray(bound.per_row) <= exact + 0.02)
    assert exact.mean() - 0.5 < bound.mean < exact.mean()
    assert bound.std_error < 0.01


def test_a_one_layer_dbn_bound_is_its_rbms_log_likelihood(binary_digits):
    X = binary_digits[:, :10]
    dbn = DBNTransformer((6,), pretrain_epochs=5, batch_size=20, random_state=0)
    dbn.fit(X)
    rbm = dbn.rbms_[0]
    bound = dbn_lower_bound(dbn, X[:20], random_state=0)
    np.testing.assert_allclose(
        bound.per_row, log_likelihood(rbm, X[:20], exact_log_partition(rbm))
    )


def test_dbn_bound_estimates_a_large_top_rbm_by_ais(binary_digits):
    dbn = DBNTransformer((32, 30), pretrain_epochs=5, batch_size=50, random_state=0)
    dbn.fit(binary_digits)
    bound = dbn_lower_bound(
        dbn, binary_digits[:100], n_chains=20, n_temperatures=200, random_state=0
    )
    assert bound.log_partition.method == "ais"
    assert np.isfinite(bound.mean) and bound.mean < 0
    relu = DBNTransformer((8, 4), hidden_unit="relu", pretrain_epochs=1)
    with pytest.raises(ValueError, match="Bernoulli hidden units"):
        dbn_lower_bound(relu.fit(binary_digits), binary_digits[:5])


def test_estimates_run_in_the_models_namespace(binary_digits, monkeypatch):
    # The enumeration, AIS and the log-likelihood compute with the model's
    # arrays (here array-api-strict's), against the brute force on its weights.
    xps = pytest.importorskip("array_api_strict")
    from sklearn import config_context

    from skdbn._utils import to_host

    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    X = xps.asarray(binary_digits[:, 20:26])
    with config_context(array_api_dispatch=True):
        rbm = RBM(4, n_iter=5, batch_size=10, random_state=0).fit(X)
        exact = exact_log_partition(rbm)
        ais = ais_log_partition(rbm, X, n_chains=50, n_temperatures=300, random_state=0)
        log_p = log_likelihood(rbm, X[:3, ...], exact)
    W, b_h, b_v = (np.asarray(to_host(p), dtype=np.float64) for p in rbm._params())
    terms = [
        np.array(v) @ b_v + np.array(h) @ b_h + np.array(h) @ W @ np.array(v)
        for v in itertools.product([0.0, 1.0], repeat=6)
        for h in itertools.product([0.0, 1.0], repeat=4)
    ]
    assert exact.log_z == pytest.approx(logsumexp(terms), abs=1e-9)
    assert ais.interval[0] <= exact.log_z <= ais.interval[1]
    assert type(log_p) is type(X)
