"""The numeric core checked against plain reference formulas written here.

Every reference below is plain numpy written in this file (forward passes,
losses, back-propagation, optimiser steps), so a mistake shared by the
package's forward pass and its loss cannot hide behind itself.
"""

import numpy as np
import pytest
from scipy.special import expit, log_softmax

from skdbn import _rbm_numerics as rbm_math
from skdbn._network import Network, forward_backward
from skdbn._units import get_unit

# -- units ----------------------------------------------------------------------


def test_logistic_matches_expit():
    x = np.linspace(-40, 40, 1001)
    for dtype, atol in [(np.float32, 1e-6), (np.float64, 1e-15)]:
        out = get_unit("bernoulli").activate(x.astype(dtype))
        assert out.dtype == dtype
        np.testing.assert_allclose(out, expit(x), atol=atol)


def test_bernoulli_sample_is_binary_with_right_mean():
    rng = np.random.default_rng(0)
    p = 0.3
    pre = np.full((2000, 4), np.log(p / (1 - p)), dtype=np.float32)
    kept = pre.copy()
    sample = get_unit("bernoulli").sample(pre, rng, np.empty_like(pre))
    np.testing.assert_array_equal(pre, kept)  # drawn from pre, which is kept
    assert set(np.unique(sample)) <= {0.0, 1.0}
    assert sample.dtype == np.float32
    # 5 standard errors of a mean of 8000 Bernoulli(0.3) draws.
    assert abs(sample.mean() - p) < 5 * np.sqrt(p * (1 - p) / sample.size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_numbers_are_uniform_on_0_1(dtype):
    from skdbn._units import uniform

    out = np.empty((1001, 999), dtype=dtype)  # an odd count of numbers
    uniform(np.random.default_rng(0), out)
    assert out.dtype == dtype
    assert out.min() >= 0 and out.max() < 1
    counts = np.histogram(out, bins=20, range=(0, 1))[0]
    expected = out.size / 20
    # Each bin within 5 binomial standard deviations of its expectation.
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))
    # Neighbouring numbers (the two halves of one raw word) are uncorrelated.
    flat = out.ravel()
    assert abs(np.corrcoef(flat[:-1:2], flat[1::2])[0, 1]) < 0.01
    # Reproducible from the seed, and different seeds differ.
    again = uniform(np.random.default_rng(0), np.empty_like(out))
    np.testing.assert_array_equal(out, again)
    other = uniform(np.random.default_rng(1), np.empty_like(out))
    assert not np.array_equal(out, other)


def _reference_uniform(rng, shape, dtype):
    """The uniforms ``skdbn._units.uniform`` draws, from its documented recipe.

    float64: ``rng.random``; float32: the top 23 bits of each 32-bit half of
    the generator's raw 64-bit words, as a fraction of 2**23.
    """
    if dtype == np.float64:
        return rng.random(shape)
    size = int(np.prod(shape))
    raw = rng.bit_generator.random_raw((size + 1) // 2)
    top = raw.view(np.uint32)[:size] >> 9
    return (top.astype(np.float64) * 2.0**-23).reshape(shape).astype(np.float32)


def test_float32_uniforms_follow_the_raw_word_recipe():
    from skdbn._units import uniform

    got = uniform(np.random.default_rng(5), np.empty((7, 9), dtype=np.float32))
    want = _reference_uniform(np.random.default_rng(5), (7, 9), np.float32)
    np.testing.assert_array_equal(got, want)


# -- contrastive divergence, the simplest cases ------------------------------------
# (tests/test_units.py replays CD-k and PCD-k for every pairing of units)


def _naive_cd1(v0, W, b_h, b_v, h_sample, lr):
    """CD-1 as written in Hinton's guide, with the hidden sample given."""
    ph0 = expit(v0 @ W.T + b_h)
    pv1 = expit(h_sample @ W + b_v)
    ph1 = expit(pv1 @ W.T + b_h)
    n = len(v0)
    dW = lr * (ph0.T @ v0 - ph1.T @ pv1) / n
    db_h = lr * (ph0.sum(0) - ph1.sum(0)) / n
    db_v = lr * (v0.sum(0) - pv1.sum(0)) / n
    return W + dW, b_h + db_h, b_v + db_v, ((v0 - pv1) ** 2).sum(), dW, db_h, db_v


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cd_step_matches_naive_formula(dtype):
    rng = np.random.default_rng(0)
    n, n_vis, n_hid = 7, 5, 3
    v0 = (rng.random((n, n_vis)) > 0.5).astype(dtype)
    W = rng.normal(0, 0.3, (n_hid, n_vis)).astype(dtype)
    b_h = rng.normal(0, 0.1, n_hid).astype(dtype)
    b_v = rng.normal(0, 0.1, n_vis).astype(dtype)
    packed = rbm_math.pack_params(W, b_h, b_v)
    velocity = np.zeros_like(packed)
    ws = rbm_math.CDWorkspace(n, n_vis, n_hid, dtype)
    ws.batch(n)[...] = v0
    # Replay the generator to know which hidden sample the step draws (one
    # number per hidden unit and one for the bias column of ones).
    ph0 = expit(v0.astype(np.float64) @ W.T + b_h)
    uniform = _reference_uniform(np.random.default_rng(1), (n, n_hid + 1), dtype)
    h_sample = (uniform[:, :n_hid] < ph0).astype(np.float64)
    error = rbm_math.cd_step(
        n,
        packed,
        velocity,
        ws,
        visible_unit="bernoulli",
        hidden_unit="bernoulli",
        learning_rate=0.1,
        momentum=0.0,
        weight_decay=0.0,
        n_gibbs_steps=1,
        rng=np.random.default_rng(1),
    )
    *ref, error_ref, dW, db_h, db_v = _naive_cd1(
        v0.astype(np.float64), W, b_h, b_v, h_sample, 0.1
    )
    tol = 1e-5 if dtype == np.float32 else 1e-12
    params = tuple(np.empty_like(p) for p in (W, b_h, b_v))
    rbm_math.unpack_params(packed, *params)
    for got, want in zip(params, ref):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, atol=tol)
    # Without momentum the velocity is the step just taken.
    steps = tuple(np.empty_like(p) for p in (W, b_h, b_v))
    rbm_math.unpack_params(velocity, *steps)
    for got, want in zip(steps, (dW, db_h, db_v)):
        np.testing.assert_allclose(got, want, atol=tol)
    assert packed[-1, -1] == 0 and velocity[-1, -1] == 0
    assert error == pytest.approx(error_ref, rel=1e-4)


def test_weight_decay_and_momentum_follow_the_recipe():
    rng = np.random.default_rng(0)
    n, n_vis, n_hid = 4, 3, 2
    ws = rbm_math.CDWorkspace(n, n_vis, n_hid, np.float64)
    ws.batch(n)[...] = rng.random((n, n_vis)) > 0.5
    W = rng.normal(0, 0.1, (n_hid, n_vis))
    b_h, b_v = rng.normal(0, 0.1, n_hid), rng.normal(0, 0.1, n_vis)
    kwargs = dict(
        visible_unit="bernoulli",
        hidden_unit="bernoulli",
        learning_rate=0.1,
        n_gibbs_steps=1,
    )
    plain = rbm_math.pack_params(W, b_h, b_v)
    rbm_math.cd_step(
        n,
        plain,
        np.zeros_like(plain),
        ws,
        momentum=0.0,
        weight_decay=0.0,
        rng=np.random.default_rng(3),
        **kwargs,
    )
    # A velocity of ones on W and twos on the biases.
    velocity = rbm_math.pack_params(
        np.ones_like(W), np.full(n_hid, 2.0), np.full(n_vis, 2.0)
    )
    decayed = rbm_math.pack_params(W, b_h, b_v)
    rbm_math.cd_step(
        n,
        decayed,
        velocity,
        ws,
        momentum=0.5,
        weight_decay=0.01,
        rng=np.random.default_rng(3),
        **kwargs,
    )
    # velocity = 0.5 * old + lr * grad - lr * wd * W, so the difference from
    # the plain step is 0.5 * 1 - 0.1 * 0.01 * W on the weights and 0.5 * 2
    # on the biases, which are not decayed.
    difference = decayed - plain
    np.testing.assert_allclose(difference[:n_hid, :n_vis], 0.5 - 0.001 * W, atol=1e-12)
    np.testing.assert_allclose(difference[:n_hid, n_vis], 1.0, atol=1e-12)
    np.testing.assert_allclose(difference[n_hid, :n_vis], 1.0, atol=1e-12)
    assert difference[n_hid, n_vis] == 0


def test_pseudo_log_likelihood_matches_flipping_bits_and_ignores_chunking():
    # tests/test_units.py checks it against free energies computed from
    # scratch; here: the definition from the package's own free energy, and
    # that chunking the rows changes nothing.
    rng = np.random.default_rng(0)
    n_vis, n_hid = 4, 3
    W = rng.normal(0, 1, (n_hid, n_vis))
    b_h, b_v = rng.normal(0, 1, n_hid), rng.normal(0, 1, n_vis)
    V = (rng.random((5, n_vis)) > 0.5).astype(float)

    def fe(v):
        return rbm_math.free_energy(v[None], W, b_h, b_v, "bernoulli", "bernoulli")[0]

    expected = []
    for v in V:
        total = 0.0
        for i in range(n_vis):
            flipped = v.copy()
            flipped[i] = 1 - flipped[i]
            # P(v_i | v_-i) = e^-F(v) / (e^-F(v) + e^-F(flipped))
            total += -np.logaddexp(0, fe(v) - fe(flipped))
        expected.append(total)
    got = rbm_math.pseudo_log_likelihood(V, W, b_h, b_v, "bernoulli")
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    chunked = rbm_math.pseudo_log_likelihood(
        V, W, b_h, b_v, "bernoulli", chunk_elements=1
    )
    np.testing.assert_allclose(chunked, expected, rtol=1e-10)


# -- the unrolled network: a reference written here ------------------------------

_ACTIVATIONS = {
    "bernoulli": expit,
    "relu": lambda x: np.maximum(x, 0),
    "gaussian": lambda x: x,
}
_DERIVATIVES = {  # of each activation, given its output
    "bernoulli": lambda a: a * (1 - a),
    "relu": lambda a: (a > 0).astype(float),
    "gaussian": lambda a: np.ones_like(a),
}


def _softmax(x):
    return np.exp(log_softmax(x, axis=1))


def _reference_forward(coefs, intercepts, hidden_units, output, X):
    """Activations of every layer, ``X`` first; plain numpy."""
    activations = [X]
    pre_activations = []
    for k, (W, b) in enumerate(zip(coefs, intercepts)):
        pre = activations[-1] @ W + b
        pre_activations.append(pre)
        if k < len(hidden_units):
            activations.append(_ACTIVATIONS[hidden_units[k]](pre))
        elif output == "softmax":
            activations.append(_softmax(pre))
        else:
            activations.append(_ACTIVATIONS[output](pre))
    return activations, pre_activations


def _reference_loss(coefs, intercepts, hidden_units, output, X, Y, alpha):
    """Mean data loss plus ``alpha / (2 n) * sum ||W||^2``, from the formulas."""
    n = len(X)
    activations, pre = _reference_forward(coefs, intercepts, hidden_units, output, X)
    z = pre[-1]
    if output == "softmax":  # cross-entropy
        data = -np.sum(Y * log_softmax(z, axis=1))
    elif output == "bernoulli":  # binary cross-entropy, from the logits
        data = np.sum(Y * np.logaddexp(0, -z) + (1 - Y) * np.logaddexp(0, z))
    else:  # squared error
        data = 0.5 * np.sum((z - Y) ** 2)
    return data / n + 0.5 * alpha / n * sum(np.sum(W**2) for W in coefs)


def _reference_gradients(coefs, intercepts, hidden_units, output, X, Y, alpha):
    """Back-propagation by hand, in the order weights then biases."""
    n = len(X)
    activations, _ = _reference_forward(coefs, intercepts, hidden_units, output, X)
    delta = (activations[-1] - Y) / n  # canonical link: output error
    coef_grads, intercept_grads = [], []
    for k in range(len(coefs) - 1, -1, -1):
        coef_grads.insert(0, activations[k].T @ delta + alpha / n * coefs[k])
        intercept_grads.insert(0, delta.sum(axis=0))
        if k:
            delta = (delta @ coefs[k].T) * _DERIVATIVES[hidden_units[k - 1]](
                activations[k]
            )
    return coef_grads + intercept_grads


def _random_problem(rng, hidden_units, output, n=6, sizes=(4, 5, 3)):
    sizes = [sizes[0]] + [sizes[1]] * len(hidden_units) + [sizes[2]]
    coefs = [rng.normal(0, 0.5, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    intercepts = [rng.normal(0, 0.1, b) for b in sizes[1:]]
    X = rng.random((n, sizes[0]))
    if output == "softmax":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    elif output == "bernoulli":
        Y = rng.random((n, sizes[-1]))
    else:
        Y = rng.normal(size=(n, sizes[-1]))
    return coefs, intercepts, X, Y


NETWORKS = [
    (["bernoulli", "bernoulli"], "softmax"),
    (["relu"], "gaussian"),
    (["gaussian", "bernoulli"], "bernoulli"),
    (["relu", "gaussian"], "softmax"),
    ([], "bernoulli"),
]
NETWORK_IDS = ["-".join(hidden + [output]) for hidden, output in NETWORKS]


@pytest.mark.parametrize("hidden_units, output", NETWORKS, ids=NETWORK_IDS)
def test_backprop_matches_finite_differences(hidden_units, output):
    rng = np.random.default_rng(0)
    coefs, intercepts, X, Y = _random_problem(rng, hidden_units, output)
    net = Network(coefs, intercepts, hidden_units + [output])
    alpha = 0.1
    value, grads = forward_backward(net, X, Y, alpha=alpha)

    def reference_loss():
        return _reference_loss(coefs, intercepts, hidden_units, output, X, Y, alpha)

    # The package's loss is the formula's, and ReLU kinks are far from the
    # finite-difference steps.
    assert value == pytest.approx(reference_loss(), rel=1e-12)
    _, pre = _reference_forward(coefs, intercepts, hidden_units, output, X)
    for hidden_pre in pre[:-1]:
        assert np.abs(hidden_pre).min() > 1e-4
    eps = 1e-6
    for param, grad in zip(net.params, grads):  # net.params shares the arrays
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            old = param[index]
            param[index] = old + eps
            up = reference_loss()
            param[index] = old - eps
            down = reference_loss()
            param[index] = old
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)
    # And the hand-written back-propagation the optimiser tests use agrees.
    by_hand = _reference_gradients(coefs, intercepts, hidden_units, output, X, Y, alpha)
    for got, want in zip(grads, by_hand):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


# -- optimisers -----------------------------------------------------------------


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("hidden_units, output", NETWORKS[:3], ids=NETWORK_IDS[:3])
def test_fused_optimizer_steps_match_the_textbook_update(solver, hidden_units, output):
    from skdbn._training import SGD, Adam, make_optimizer, train_step

    rng = np.random.default_rng(1)
    coefs, intercepts, X, Y = _random_problem(rng, hidden_units, output, n=8)
    net = Network(coefs, intercepts, hidden_units + [output])
    n_layers = len(coefs)
    own = list(net.params)
    reference = [p.copy() for p in net.params]
    lr, mu, alpha = 0.05, 0.9, 0.5
    optimizer = make_optimizer(solver, net.params, lr, mu)
    assert isinstance(optimizer, SGD if solver == "sgd" else Adam)
    velocity = [np.zeros_like(p) for p in reference]
    first = [np.zeros_like(p) for p in reference]
    second = [np.zeros_like(p) for p in reference]
    n_steps = 60
    for t in range(1, n_steps + 1):
        # A different batch every step, as in training.
        rows = rng.choice(len(X), size=5, replace=False)
        xb, yb = X[rows], Y[rows]
        grads = _reference_gradients(
            reference[:n_layers], reference[n_layers:], hidden_units, output, xb, yb, 0
        )
        decay = alpha / len(xb)
        for k, (param, grad) in enumerate(zip(reference, grads)):
            if k < n_layers:  # weights are decayed, biases are not
                grad = grad + decay * param
            if solver == "sgd":
                velocity[k] = mu * velocity[k] - lr * grad
                param += velocity[k]
            else:
                first[k] = 0.9 * first[k] + 0.1 * grad
                second[k] = 0.999 * second[k] + 0.001 * grad**2
                step = lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
                param -= step * first[k] / (np.sqrt(second[k]) + 1e-8)
        train_step(net, xb, yb, optimizer, alpha=alpha)
        for got, want in zip(net.params, reference):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # The network trained its own arrays, in place.
    assert all(a is b for a, b in zip(net.params, own))
    if solver == "sgd":
        for got, want in zip(optimizer.velocities, velocity):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # The run went somewhere: the weights moved far beyond the tolerance.
    start = _random_problem(np.random.default_rng(1), hidden_units, output, n=8)[0]
    assert max(np.abs(W - W0).max() for W, W0 in zip(net.coefs, start)) > 0.01


def test_sgd_keeps_the_network_arrays_and_its_momentum_across_calls():
    from skdbn._training import TrainingState, make_optimizer, run_epochs

    def tiny_net():
        rng = np.random.default_rng(0)
        coefs = [rng.normal(0, 0.5, (6, 5)), rng.normal(0, 0.5, (5, 3))]
        return Network(coefs, [np.zeros(5), np.zeros(3)], ["bernoulli", "softmax"])

    data_rng = np.random.default_rng(1)
    X = data_rng.random((8, 6))
    Y = np.eye(3)[data_rng.integers(0, 3, 8)]
    options = dict(batch_size=3, alpha=0.01, check_convergence=False)  # 3 batches

    together = tiny_net()
    own_arrays = list(together.params)
    state = TrainingState(make_optimizer("sgd", together.params, 0.1, 0.9))
    run_epochs(
        together, X, Y, state, n_epochs=3, rng=np.random.default_rng(2), **options
    )
    assert all(a is own for a, own in zip(together.params, own_arrays))

    in_calls = tiny_net()
    state = TrainingState(make_optimizer("sgd", in_calls.params, 0.1, 0.9))
    rng = np.random.default_rng(2)
    for _ in range(3):  # as partial_fit does: momentum carries over
        run_epochs(in_calls, X, Y, state, n_epochs=1, rng=rng, **options)
    for got, want in zip(in_calls.params, together.params):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert not np.allclose(together.coefs[0], tiny_net().coefs[0])


# -- learning-rate schedules -------------------------------------------------------


def _recording_run(schedule, learning_rate, n_epochs, **options):
    """Run ``run_epochs`` on a tiny net; return the step size of every batch."""
    from skdbn._training import TrainingState, make_optimizer, run_epochs

    rng = np.random.default_rng(0)
    net = Network(
        [rng.normal(0, 0.5, (6, 5)), rng.normal(0, 0.5, (5, 3))],
        [np.zeros(5), np.zeros(3)],
        ["bernoulli", "softmax"],
    )
    X = rng.random((8, 6))
    Y = np.eye(3)[rng.integers(0, 3, 8)]
    optimizer = make_optimizer("sgd", net.params, learning_rate, 0.9)
    seen = []
    start_step = optimizer.start_step
    optimizer.start_step = lambda: (seen.append(optimizer.learning_rate), start_step())
    state = TrainingState(optimizer, schedule=schedule, horizon=options.pop("horizon"))
    n_run = run_epochs(
        net, X, Y, state, batch_size=4, rng=rng, **options, n_epochs=n_epochs
    )
    return seen, n_run, state


def test_cosine_schedule_falls_from_the_initial_step_over_the_horizon():
    from skdbn._training import cosine_learning_rate

    seen, n_run, _ = _recording_run(
        "cosine", 0.1, 4, horizon=4, check_convergence=False
    )
    per_epoch = [
        0.1,
        0.1 * (1 + np.cos(np.pi / 4)) / 2,
        0.05,
        0.1 * (1 + np.cos(3 * np.pi / 4)) / 2,
    ]
    assert n_run == 4
    np.testing.assert_allclose(seen, np.repeat(per_epoch, 2))  # two batches an epoch
    # Past the horizon (more partial_fit calls) the last step is kept.
    assert cosine_learning_rate(0.1, 9, 4) == cosine_learning_rate(0.1, 3, 4)


def test_adaptive_schedule_divides_the_step_instead_of_stopping():
    # tol=inf: no epoch ever counts as an improvement.
    seen, n_run, state = _recording_run(
        "adaptive", 1e-5, 50, horizon=None, tol=np.inf, n_iter_no_change=1
    )
    # Two stalled epochs per step size; stop once the step is at most 1e-6.
    np.testing.assert_allclose(seen, np.repeat([1e-5, 2e-6, 4e-7], 4))
    assert n_run == 6
    assert state.optimizer.learning_rate == pytest.approx(4e-7)


def test_unknown_schedule_is_refused():
    from skdbn._training import TrainingState

    with pytest.raises(ValueError, match="schedule"):
        TrainingState(None, schedule="exponential")


# -- the backend interface -------------------------------------------------------


def _interface():
    from skdbn._backend import Backend

    return [
        name
        for name, value in vars(Backend).items()
        if value is Backend._missing and name != "_missing"
    ]


@pytest.mark.parametrize("name", ["NumpyBackend", "ArrayAPIBackend"])
def test_each_backend_implements_the_whole_interface_itself(name):
    # A namespace backend that inherited NumPy's code would run NumPy
    # functions on its arrays wherever it missed an override; each backend
    # implements every operation of the interface, and neither derives from
    # the other.
    from skdbn import _backend

    cls = getattr(_backend, name)
    assert not issubclass(_backend.ArrayAPIBackend, _backend.NumpyBackend)
    interface = _interface()
    assert len(interface) > 30
    missing = [m for m in interface if getattr(cls, m) is _backend.Backend._missing]
    assert not missing, f"{name} lacks {missing}"


def test_a_missing_operation_fails_loudly():
    from skdbn._backend import Backend

    class Partial(Backend):
        xp, device = np, None

    with pytest.raises(NotImplementedError, match="Partial lacks"):
        Partial().empty((2, 2), np.float32)
