"""Unit types and RBM numerics against references that do not call the package.

- the samplers of every unit, statistically, against exact moments;
- free energies and pseudo-log-likelihoods against enumeration of binary
  hidden states and numerical integration over real-valued ones;
- CD-k and PCD-k steps against a textbook implementation that replays the
  same random draws;
- training raising the exact log-likelihood of a tiny RBM.
"""

import itertools

import numpy as np
import pytest
from scipy import integrate
from scipy.special import expit, logsumexp, ndtr

from skdbn import RBM
from skdbn import _rbm_numerics as rbm_math
from skdbn._units import get_unit

VISIBLE = ["bernoulli", "gaussian"]
HIDDEN = ["bernoulli", "gaussian", "relu"]
PAIRS = [(v, h) for v in VISIBLE for h in HIDDEN]

# -- samplers ---------------------------------------------------------------------

PRE_ACTIVATIONS = np.array([-5.0, -1.0, 0.0, 1.0, 3.0])
N_DRAWS = 100_000  # per pre-activation


def _phi(z):
    return np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)


def _exact_raw_moments(unit, x, order=4):
    """``E[h**k]`` for k = 0..order and ``P(h == 0)`` of a unit with input ``x``.

    Bernoulli: ``h ~ B(sigmoid(x))``. Gaussian: ``h ~ N(x, 1)``. ReLU
    (Nair & Hinton's NReLU): ``h = max(0, y)``, ``y ~ N(x, s**2)`` with
    ``s**2 = sigmoid(x)``; its raw moments ``I_k = int_0^inf y**k N(y; x, s)
    dy`` follow from integrating by parts: ``I_0 = Phi(x / s)``, ``I_1 = x I_0
    + s phi(x / s)``, ``I_k = x I_{k-1} + (k - 1) s**2 I_{k-2}``.
    """
    if unit == "bernoulli":
        p = expit(x)
        return [1.0] + [p] * order, 1 - p
    if unit == "gaussian":
        # Raw moments of N(x, 1): 1, x, x^2 + 1, x^3 + 3x, x^4 + 6x^2 + 3.
        return [1.0, x, x**2 + 1, x**3 + 3 * x, x**4 + 6 * x**2 + 3], 0.0
    s = np.sqrt(expit(x))
    moments = [ndtr(x / s), x * ndtr(x / s) + s * _phi(x / s)]
    for k in range(2, order + 1):
        moments.append(x * moments[k - 1] + (k - 1) * s**2 * moments[k - 2])
    return moments, ndtr(-x / s)


def test_relu_moment_recursion_matches_numerical_integration():
    # The reference moments above, checked once against quadrature.
    for x in PRE_ACTIVATIONS:
        s = np.sqrt(expit(x))
        moments, p_zero = _exact_raw_moments("relu", x)
        for k in range(1, 5):
            value = integrate.quad(
                lambda y, k, x, s: y**k * _phi((y - x) / s) / s,
                0,
                max(x, 0) + 40 * s,
                args=(k, x, s),
                epsabs=0,
                epsrel=1e-12,
                limit=200,
            )[0]
            assert moments[k] == pytest.approx(value, rel=1e-8, abs=1e-300)
        assert p_zero == pytest.approx(1 - moments[0], rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", HIDDEN)
def test_sampler_moments_match_the_exact_distribution(name, dtype):
    unit = get_unit(name)
    pre = np.tile(PRE_ACTIVATIONS.astype(dtype), (N_DRAWS, 1))
    kept = pre.copy()
    rng = np.random.default_rng([7, HIDDEN.index(name), np.dtype(dtype).itemsize])
    sample = unit.sample(pre, rng)
    assert sample.dtype == dtype and sample.shape == pre.shape
    np.testing.assert_array_equal(pre, kept)  # drawn from pre; pre is kept
    h = sample.astype(np.float64)
    for j, x in enumerate(PRE_ACTIVATIONS):
        (_, m1, m2, m3, m4), p_zero = _exact_raw_moments(name, x)
        column = h[:, j]
        # Mean: 5 standard errors.
        variance = m2 - m1**2
        mean_se = np.sqrt(max(variance, 0) / N_DRAWS)
        assert abs(column.mean() - m1) <= 5 * mean_se + 1e-12, (name, x)
        # Variance: 5 standard errors of the mean square deviation from the
        # true mean, sqrt((mu4 - sigma**4) / n) with mu4 the central fourth
        # moment, plus the square of the mean's own 5 standard errors (the
        # sample variance is taken about the sample mean; this term dominates
        # where the first one vanishes, a Bernoulli unit at p = 1/2).
        mu4 = m4 - 4 * m3 * m1 + 6 * m2 * m1**2 - 3 * m1**4
        var_se = np.sqrt(max(mu4 - variance**2, 0) / N_DRAWS)
        tolerance = 5 * var_se + (5 * mean_se) ** 2 + 1e-12
        assert abs(column.var() - variance) <= tolerance, (name, x)
        # P(h == 0): 5 binomial standard errors (plus one draw, for p = 0).
        zero_se = np.sqrt(p_zero * (1 - p_zero) / N_DRAWS)
        assert abs(np.mean(column == 0) - p_zero) <= 5 * zero_se + 1 / N_DRAWS, (
            name,
            x,
        )
    if name == "bernoulli":
        assert set(np.unique(sample)) <= {0.0, 1.0}
    if name == "relu":
        assert sample.min() >= 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_unit_far_below_zero_does_not_fire(dtype):
    # Regression: a ReLU unit with pre-activation -5 fires with probability
    # Phi(-5 / sqrt(sigmoid(-5))) = Phi(-61), not one half (the noise is
    # added to the pre-activation, not to its rectified mean 0).
    x = -5.0
    assert ndtr(x / np.sqrt(expit(x))) < 1e-300
    pre = np.full((200_000, 3), x, dtype=dtype)
    sample = get_unit("relu").sample(pre, np.random.default_rng(0))
    assert np.count_nonzero(sample) == 0
    # Through the fused form the CD step uses, too.
    scaled = pre.copy()
    out = np.empty_like(pre)
    get_unit("relu").activate_and_sample_scaled(scaled, np.random.default_rng(1), out)
    assert np.count_nonzero(out) == 0
    np.testing.assert_array_equal(scaled, 0)  # the means, max(0, -5)


@pytest.mark.parametrize("name", HIDDEN)
def test_activate_and_sample_scaled_gives_means_and_the_same_sample(name):
    unit = get_unit(name)
    rng = np.random.default_rng(3)
    pre = rng.normal(0, 2, (50, 7))
    scaled = unit.input_scale * pre
    out = np.empty_like(pre)
    unit.activate_and_sample_scaled(scaled, np.random.default_rng(4), out)
    means = {"bernoulli": expit(pre), "gaussian": pre, "relu": np.maximum(pre, 0)}
    np.testing.assert_allclose(scaled, means[name], rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(out, unit.sample(pre, np.random.default_rng(4)))
    np.testing.assert_allclose(unit.activate(pre.copy()), means[name], atol=1e-15)


# -- free energy, from E(v, h) ------------------------------------------------------
#
# E(v, h) = E_v(v) - h . (W v + b_h) + sum_j E_h(h_j) with
#   E_v = -b_v . v (Bernoulli) or ||v - b_v||^2 / 2 (Gaussian),
#   E_h = 0 on {0, 1} (Bernoulli), h^2 / 2 on R (Gaussian) or on [0, inf)
#   (ReLU as a rectified Gaussian unit),
# and F(v) = -log of the sum or integral of exp(-E(v, h)) over h.


def _visible_energy(v, b_v, visible):
    if visible == "bernoulli":
        return -float(v @ b_v)
    return 0.5 * float(np.sum((v - b_v) ** 2))


def _log_integral(log_integrand, low, mode):
    """``log int_low^inf exp(log_integrand(h)) dh`` by quadrature.

    The integrand is a unimodal bump of unit width at ``mode``; shifting by
    its peak keeps the quadrature in range, and past 40 widths it is below
    exp(-800).
    """
    peak = log_integrand(mode)
    value, error = integrate.quad(
        lambda h: np.exp(log_integrand(h) - peak),
        max(low, mode - 40),
        mode + 40,
        points=[mode],
        epsabs=0,
        epsrel=1e-13,
        limit=200,
    )
    assert error < 1e-10 * value
    return peak + np.log(value)


def _reference_free_energy(v, W, b_h, b_v, visible, hidden):
    x = W @ v + b_h  # each hidden unit's input
    energy = _visible_energy(v, b_v, visible)
    if hidden == "bernoulli":
        # Enumerate every joint hidden state.
        states = np.array(list(itertools.product([0.0, 1.0], repeat=len(x))))
        return energy - logsumexp(states @ x)
    low = -np.inf if hidden == "gaussian" else 0.0
    for x_j in x:
        mode = max(x_j, low)  # where h * x_j - h**2 / 2 peaks on the domain
        energy -= _log_integral(lambda h, x_j=x_j: h * x_j - 0.5 * h * h, low, mode)
    return energy


def _random_rbm(rng, n_visible, n_hidden, visible, scale=0.7):
    W = rng.normal(0, scale, (n_hidden, n_visible))
    b_h = rng.normal(0, 0.5, n_hidden)
    b_v = rng.normal(0, 0.5, n_visible)
    if visible == "bernoulli":
        V = (rng.random((6, n_visible)) < 0.5).astype(float)
    else:
        V = rng.normal(0, 1, (6, n_visible))
    return W, b_h, b_v, V


@pytest.mark.parametrize("visible, hidden", PAIRS)
def test_free_energy_differences_match_enumeration_and_integration(visible, hidden):
    rng = np.random.default_rng([11, VISIBLE.index(visible), HIDDEN.index(hidden)])
    W, b_h, b_v, V = _random_rbm(rng, 5, 4, visible)
    got = rbm_math.free_energy(V, W, b_h, b_v, visible, hidden)
    want = np.array(
        [_reference_free_energy(v, W, b_h, b_v, visible, hidden) for v in V]
    )
    # Up to one additive constant: compare differences between rows.
    got_diff, want_diff = got[1:] - got[0], want[1:] - want[0]
    assert np.ptp(want) > 0.5  # the rows differ enough to mean something
    np.testing.assert_allclose(
        got_diff, want_diff, rtol=1e-6, atol=1e-6 * np.abs(want).max()
    )
    # float32 keeps its dtype and agrees to float32 precision.
    got32 = rbm_math.free_energy(
        *(a.astype(np.float32) for a in (V, W, b_h, b_v)), visible, hidden
    )
    assert got32.dtype == np.float32
    np.testing.assert_allclose(
        got32[1:] - got32[0], want_diff, rtol=1e-4, atol=1e-4 * np.abs(want).max()
    )


@pytest.mark.parametrize("hidden", HIDDEN)
def test_pseudo_log_likelihood_matches_free_energies_from_scratch(hidden):
    rng = np.random.default_rng([13, HIDDEN.index(hidden)])
    W, b_h, b_v, V = _random_rbm(rng, 5, 3, "bernoulli", scale=1.0)
    expected = []
    for v in V:
        free = _reference_free_energy(v, W, b_h, b_v, "bernoulli", hidden)
        total = 0.0
        for i in range(len(v)):
            flipped = v.copy()
            flipped[i] = 1 - flipped[i]
            free_flipped = _reference_free_energy(
                flipped, W, b_h, b_v, "bernoulli", hidden
            )
            # log P(v_i | v_-i) = -F(v) - log(exp(-F(v)) + exp(-F(flipped)))
            total += -free - np.logaddexp(-free, -free_flipped)
        expected.append(total)
    got = rbm_math.pseudo_log_likelihood(V, W, b_h, b_v, hidden)
    np.testing.assert_allclose(got, expected, rtol=1e-8)
    assert np.all(got < 0)


# -- CD-k and PCD-k against a textbook step replaying the draws ----------------------


def _draw(rng, unit, n_rows, n_units):
    """The noise the package draws for one sampled layer.

    One array per layer, including the packed ones column (discarded):
    uniforms for Bernoulli units, standard normals otherwise.
    """
    if unit == "bernoulli":
        return rng.random((n_rows, n_units + 1))[:, :n_units]
    return rng.standard_normal((n_rows, n_units + 1))[:, :n_units]


def _mean(unit, x):
    if unit == "bernoulli":
        return expit(x)
    return x if unit == "gaussian" else np.maximum(x, 0.0)


def _sample(unit, x, rng):
    noise = _draw(rng, unit, *x.shape)
    if unit == "bernoulli":
        return (noise < expit(x)).astype(float)
    if unit == "gaussian":
        return x + noise
    return np.maximum(0.0, x + noise * np.sqrt(expit(x)))  # NReLU


def _textbook_cd(V0, W, b_h, b_v, vel, visible, hidden, lr, mu, wd, k, rng, chain):
    """One CD-k (``chain is None``) or PCD-k step, Hinton's guide style.

    ``vel`` is a list of velocities for ``W, b_h, b_v``; returns the new
    parameters, velocities, chain state and squared reconstruction error.
    """
    n = len(V0)
    ph_pos = _mean(hidden, V0 @ W.T + b_h)
    h = _sample(hidden, V0 @ W.T + b_h, rng) if chain is None else chain
    for step in range(k):
        if chain is not None or step < k - 1:
            v = _sample(visible, h @ W + b_v, rng)
            ph_neg = _mean(hidden, v @ W.T + b_h)
            h = _sample(hidden, v @ W.T + b_h, rng)
        else:  # CD's last step: mean-field reconstruction
            v = _mean(visible, h @ W + b_v)
            ph_neg = _mean(hidden, v @ W.T + b_h)
    if chain is None:
        error = np.sum((V0 - v) ** 2)
    else:
        error = np.sum((V0 - _mean(visible, ph_pos @ W + b_v)) ** 2)
    grads = [
        (ph_pos.T @ V0 - ph_neg.T @ v) / n,
        (ph_pos - ph_neg).sum(axis=0) / n,
        (V0 - v).sum(axis=0) / n,
    ]
    vel = [mu * vel[0] + lr * grads[0] - lr * wd * W] + [
        mu * old + lr * g for old, g in zip(vel[1:], grads[1:])
    ]
    params = [p + dp for p, dp in zip((W, b_h, b_v), vel)]
    return params, vel, h, error


@pytest.mark.parametrize(
    "n_gibbs_steps, persistent",
    [(1, False), (3, False), (1, True), (2, True)],
    ids=["CD-1", "CD-3", "PCD-1", "PCD-2"],
)
@pytest.mark.parametrize("visible, hidden", PAIRS)
def test_cd_step_matches_textbook_cd_replaying_the_draws(
    visible, hidden, n_gibbs_steps, persistent
):
    rng = np.random.default_rng([17, VISIBLE.index(visible), HIDDEN.index(hidden)])
    batch_size, n_visible, n_hidden = 8, 6, 4
    W = rng.normal(0, 0.3, (n_hidden, n_visible))
    b_h = rng.normal(0, 0.2, n_hidden)
    b_v = rng.normal(0, 0.2, n_visible)
    vel = [rng.normal(0, 0.01, a.shape) for a in (W, b_h, b_v)]
    packed = rbm_math.pack_params(W, b_h, b_v)
    velocity = rbm_math.pack_params(*vel)
    workspace = rbm_math.CDWorkspace(batch_size, n_visible, n_hidden, np.float64)
    # Persistent chains start from some hidden states of the right kind.
    states = _sample(hidden, rng.normal(0, 1, (batch_size, n_hidden)), rng)
    chain = states.copy() if persistent else None
    persistent_hidden = rbm_math.persistent_chain(states) if persistent else None
    start = packed.copy()
    package_rng, reference_rng = np.random.default_rng(5), np.random.default_rng(5)
    lr, wd = 0.05, 0.01
    for step, (n_rows, mu) in enumerate([(8, 0.5), (5, 0.5), (8, 0.9), (3, 0.9)]):
        # Batches of several sizes in one workspace, as an epoch's last one.
        if visible == "bernoulli":
            V0 = (rng.random((n_rows, n_visible)) < 0.4).astype(float)
        else:
            V0 = rng.normal(0, 1, (n_rows, n_visible))
        workspace.batch(n_rows)[...] = V0
        error = rbm_math.cd_step(
            n_rows,
            packed,
            velocity,
            workspace,
            visible_unit=visible,
            hidden_unit=hidden,
            learning_rate=lr,
            momentum=mu,
            weight_decay=wd,
            n_gibbs_steps=n_gibbs_steps,
            rng=package_rng,
            persistent_hidden=persistent_hidden,
        )
        (W, b_h, b_v), vel, h, want_error = _textbook_cd(
            V0,
            W,
            b_h,
            b_v,
            vel,
            visible,
            hidden,
            lr,
            mu,
            wd,
            n_gibbs_steps,
            reference_rng,
            None if chain is None else chain[:n_rows],
        )
        for got, want in [
            (packed, rbm_math.pack_params(W, b_h, b_v)),
            (velocity, rbm_math.pack_params(*vel)),
        ]:
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-10, err_msg=step)
        assert error == pytest.approx(want_error, rel=1e-10, abs=1e-10)
        if persistent:
            chain[:n_rows] = h
            np.testing.assert_allclose(persistent_hidden[:, :-1], chain, atol=1e-10)
            np.testing.assert_array_equal(persistent_hidden[:, -1], 1)
    # Both consumed the generator identically, to the last draw.
    assert package_rng.random() == reference_rng.random()
    # The parameters moved far beyond the tolerance.
    assert np.abs(packed - start).max() > 0.01


# -- the chains sample the model: exact moments by enumeration ----------------------
#
# For the pairings with a binary layer and a tractable other one, the model's
# moments follow from enumerating the binary layer:
# - Bernoulli visible: p(v) ~ exp(-F(v)), F(v) = -b_v . v - sum softplus(x)
#   (Bernoulli hidden) or - ||x||^2 / 2 (Gaussian hidden), x = W v + b_h;
# - Gaussian visible, Bernoulli hidden: p(h) ~ exp(b_h . h + ||m(h)||^2 / 2)
#   with v | h ~ N(m(h), I), m(h) = b_v + W.T h.

TRACTABLE = [
    ("bernoulli", "bernoulli"),
    ("bernoulli", "gaussian"),
    ("gaussian", "bernoulli"),
]


def _binary_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _exact_model_moments(W, b_h, b_v, visible, hidden):
    """The model's moments that CD and Gibbs sampling estimate.

    ``v``: E[v]; ``vv``: E[v v.T]; ``hv``: E[mean_h(v) v.T]; ``h``:
    E[mean_h(v)]; ``var_hv``, ``var_h``: variances (or upper bounds on them)
    of ``mean_h(v)_j v_i`` and ``mean_h(v)_j``, for standard errors.
    """
    n_hidden, n_visible = W.shape
    if visible == "bernoulli":
        V = _binary_states(n_visible)
        x = V @ W.T + b_h
        if hidden == "bernoulli":
            log_p, m = V @ b_v + np.logaddexp(0, x).sum(axis=1), expit(x)
        else:
            log_p, m = V @ b_v + 0.5 * np.sum(x**2, axis=1), x
        p = np.exp(log_p - logsumexp(log_p))
        hv = (m * p[:, None]).T @ V
        return {
            "v": p @ V,
            "vv": (V * p[:, None]).T @ V,
            "hv": hv,
            "h": p @ m,
            "var_hv": (m**2 * p[:, None]).T @ V - hv**2,  # v_i**2 = v_i
            "var_h": p @ m**2 - (p @ m) ** 2,
        }
    H = _binary_states(n_hidden)
    means = b_v + H @ W  # m(h), one row per hidden state
    log_p = H @ b_h + 0.5 * np.sum(means**2, axis=1)
    p = np.exp(log_p - logsumexp(log_p))
    second = p @ (means**2 + 1)  # E[v_i**2], bounds Var(mean_h_j v_i)
    return {
        "v": p @ means,
        "vv": (means * p[:, None]).T @ means + np.eye(n_visible),
        # E[sigmoid(W v + b_h) v.T] = E[E[h | v] v.T] = E[h v.T].
        "hv": (H * p[:, None]).T @ means,
        "h": p @ H,
        "var_hv": np.broadcast_to(second, (n_hidden, n_visible)),
        "var_h": np.full(n_hidden, 0.25),
    }


def _tractable_rbm(seed, visible, hidden, n_visible=5, n_hidden=3):
    rng = np.random.default_rng(seed)
    scale = 0.8 if visible == "bernoulli" else 0.4
    if hidden == "gaussian":
        scale = 0.3  # keeps ||W v + b_h||^2 / 2 from dominating
    W = rng.normal(0, scale, (n_hidden, n_visible))
    b_h = rng.normal(0, 0.5, n_hidden)
    b_v = rng.normal(0, 0.5, n_visible)
    return W, b_h, b_v


@pytest.mark.parametrize("visible, hidden", TRACTABLE)
def test_gibbs_chain_samples_the_model(visible, hidden):
    W, b_h, b_v = _tractable_rbm(19, visible, hidden)
    exact = _exact_model_moments(W, b_h, b_v, visible, hidden)
    n_chains = 20_000
    rng = np.random.default_rng(23)
    start = (rng.random((n_chains, W.shape[1])) < 0.5).astype(float)  # far off
    v = rbm_math.gibbs_chain(start, W, b_h, b_v, visible, hidden, 50, rng)
    assert v.shape == start.shape and v.dtype == np.float64
    # Independent chains: 5 standard errors of each mean.
    se = np.sqrt(np.diag(exact["vv"]) - exact["v"] ** 2) / np.sqrt(n_chains)
    np.testing.assert_array_less(np.abs(v.mean(axis=0) - exact["v"]), 5 * se)
    products = v[:, :, None] * v[:, None, :]
    se = products.std(axis=0) / np.sqrt(n_chains)
    error = np.abs(products.mean(axis=0) - exact["vv"])
    np.testing.assert_array_less(error, 5 * se + 1e-12)


@pytest.mark.parametrize("visible, hidden", TRACTABLE)
def test_persistent_cd_gradient_at_equilibrium_is_the_exact_gradient(visible, hidden):
    # With the chains run to equilibrium at fixed parameters, PCD's negative
    # statistics are the model's expectations, so its step (lr 1, no
    # momentum or decay) is the exact log-likelihood gradient of the batch.
    W, b_h, b_v = _tractable_rbm(29, visible, hidden)
    exact = _exact_model_moments(W, b_h, b_v, visible, hidden)
    n_chains, n_visible, n_hidden = 20_000, W.shape[1], W.shape[0]
    rng = np.random.default_rng(31)
    if visible == "bernoulli":
        X = (rng.random((n_chains, n_visible)) < 0.3).astype(float)
    else:
        X = rng.normal(1, 1, (n_chains, n_visible))
    workspace = rbm_math.CDWorkspace(n_chains, n_visible, n_hidden, np.float64)
    workspace.batch(n_chains)[...] = X
    start = rng.normal(0, 1, (n_chains, n_hidden))  # far from the model
    if hidden == "bernoulli":
        start = (start > 0).astype(float)
    packed = rbm_math.pack_params(W, b_h, b_v)
    velocity = np.zeros_like(packed)
    rbm_math.cd_step(
        n_chains,
        packed,
        velocity,
        workspace,
        visible_unit=visible,
        hidden_unit=hidden,
        learning_rate=1.0,
        momentum=0.0,
        weight_decay=0.0,
        n_gibbs_steps=50,
        rng=rng,
        persistent_hidden=rbm_math.persistent_chain(start),
    )
    m_pos = _mean(hidden, X @ W.T + b_h)
    gradient = rbm_math.pack_params(
        m_pos.T @ X / n_chains - exact["hv"],
        m_pos.mean(axis=0) - exact["h"],
        X.mean(axis=0) - exact["v"],
    )
    variance = rbm_math.pack_params(
        exact["var_hv"], exact["var_h"], np.diag(exact["vv"]) - exact["v"] ** 2
    )
    se = np.sqrt(variance / n_chains)
    np.testing.assert_array_less(np.abs(velocity - gradient), 5 * se + 1e-12)
    assert np.abs(gradient).max() > 20 * se.max()  # a gradient worth the name


# -- exact likelihood of a tiny RBM rises with training ------------------------------


def _exact_log_likelihood(V, W, b_h, b_v):
    """Mean log P(v) of binary rows under a Bernoulli-Bernoulli RBM.

    By enumeration: every visible and hidden state of the joint
    ``exp(b_v . v + b_h . h + h . W v)``.
    """
    n_hidden, n_visible = W.shape
    visible = np.array(list(itertools.product([0.0, 1.0], repeat=n_visible)))
    hidden = np.array(list(itertools.product([0.0, 1.0], repeat=n_hidden)))

    def unnormalised(v):  # log of the sum over hidden states, per row
        joint = (v @ b_v)[:, None] + (hidden @ b_h)[None, :] + v @ W.T @ hidden.T
        return logsumexp(joint, axis=1)

    log_partition = logsumexp(unnormalised(visible))
    return float(np.mean(unnormalised(V) - log_partition))


def test_training_raises_the_exact_log_likelihood_of_a_tiny_rbm():
    rng = np.random.default_rng(0)
    prototypes = np.array(
        [[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [1, 0, 1, 0, 1, 0]], dtype=float
    )
    X = prototypes[rng.integers(0, 3, 90)]
    X = np.abs(X - (rng.random(X.shape) < 0.05))  # 5% of the bits flipped
    # Independent Bernoullis fitted to the column means: the best model that
    # ignores the structure.
    p = X.mean(axis=0)
    independent = float(np.mean(X @ np.log(p) + (1 - X) @ np.log1p(-p)))

    def fitted(n_iter):
        rbm = RBM(
            n_components=4,
            n_iter=n_iter,
            learning_rate=0.05,
            batch_size=10,
            dtype="float64",
            random_state=0,
        ).fit(X)
        assert rbm.components_.dtype == np.float64
        return _exact_log_likelihood(
            X, rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_
        )

    initial, trained = fitted(0), fitted(100)
    # The initial model is about the independent one (tiny weights, visible
    # biases from the column means); the data's own entropy is near
    # log 3 + 6 H(0.05) = 2.29 nats a row, the independent model's 3.8.
    assert initial == pytest.approx(independent, abs=0.1)
    # Trained, about -2.0 (-1.9 to -2.1 over seeds 0-7).
    assert trained > initial + 1.2
    assert trained > independent + 1.2
    assert trained < 0
