"""The numeric core checked against plain reference formulas."""

import numpy as np
import pytest
from scipy.special import expit

from skdbn import _rbm_numerics as rbm_math
from skdbn._momentum import RESCALE_BELOW, DecayedMomentum
from skdbn._network import Network, forward_backward
from skdbn._units import get_unit


def test_logistic_matches_expit():
    x = np.linspace(-40, 40, 1001).astype(np.float32)
    out = get_unit("bernoulli").activate(x.copy())
    np.testing.assert_allclose(out, expit(x), atol=1e-6)


def test_bernoulli_sample_is_binary_with_right_mean():
    rng = np.random.default_rng(0)
    mean = np.full((2000, 4), 0.3, dtype=np.float32)
    sample = get_unit("bernoulli").sample(mean, rng, np.empty_like(mean))
    assert set(np.unique(sample)) <= {0.0, 1.0}
    assert sample.dtype == np.float32
    assert abs(sample.mean() - 0.3) < 0.02


def _naive_cd1(v0, W, b_h, b_v, h_sample, lr):
    """CD-1 as written in Hinton's guide, with the hidden sample given."""
    ph0 = expit(v0 @ W.T + b_h)
    pv1 = expit(h_sample @ W + b_v)
    ph1 = expit(pv1 @ W.T + b_h)
    n = len(v0)
    dW = lr * (ph0.T @ v0 - ph1.T @ pv1) / n
    db_h = lr * (ph0.sum(0) - ph1.sum(0)) / n
    db_v = lr * (v0.sum(0) - pv1.sum(0)) / n
    return W + dW, b_h + db_h, b_v + db_v, ((v0 - pv1) ** 2).sum()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cd_step_matches_naive_formula(dtype):
    rng = np.random.default_rng(0)
    n, n_vis, n_hid = 7, 5, 3
    v0 = (rng.random((n, n_vis)) > 0.5).astype(dtype)
    W = rng.normal(0, 0.3, (n_hid, n_vis)).astype(dtype)
    b_h = rng.normal(0, 0.1, n_hid).astype(dtype)
    b_v = rng.normal(0, 0.1, n_vis).astype(dtype)
    packed = rbm_math.pack_params(W, b_h, b_v)
    state = DecayedMomentum(packed, np.zeros_like(packed), packed_biases=True)
    ws = rbm_math.CDWorkspace(n, n_vis, n_hid, dtype)
    ws.batch(n)[...] = v0
    # Replay the generator to know which hidden sample the step draws (one
    # number per hidden unit and one for the bias column of ones).
    ph0 = expit(v0 @ W.T + b_h)
    uniform = np.random.default_rng(1).random((n, n_hid + 1), dtype=dtype)
    h_sample = (uniform[:, :n_hid] < ph0).astype(dtype)
    error = rbm_math.cd_step(
        n,
        state,
        ws,
        visible_unit="bernoulli",
        hidden_unit="bernoulli",
        learning_rate=0.1,
        momentum=0.0,
        weight_decay=0.0,
        n_gibbs_steps=1,
        rng=np.random.default_rng(1),
    )
    W_ref, b_h_ref, b_v_ref, error_ref = _naive_cd1(v0, W, b_h, b_v, h_sample, 0.1)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    params = tuple(np.empty_like(p) for p in (W, b_h, b_v))
    state.normalize()
    rbm_math.unpack_params(packed, *params)
    np.testing.assert_allclose(params[0], W_ref, atol=tol)
    np.testing.assert_allclose(params[1], b_h_ref, atol=tol)
    np.testing.assert_allclose(params[2], b_v_ref, atol=tol)
    assert error == pytest.approx(error_ref, rel=1e-4)
    assert params[0].dtype == dtype


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
    plain_state = DecayedMomentum(plain, np.zeros_like(plain), packed_biases=True)
    rbm_math.cd_step(
        n,
        plain_state,
        ws,
        momentum=0.0,
        weight_decay=0.0,
        rng=np.random.default_rng(3),
        **kwargs,
    )
    # A velocity of ones on W.
    velocity = rbm_math.pack_params(np.ones_like(W), np.zeros(n_hid), np.zeros(n_vis))
    decayed = rbm_math.pack_params(W, b_h, b_v)
    decayed_state = DecayedMomentum(decayed, velocity, packed_biases=True)
    rbm_math.cd_step(
        n,
        decayed_state,
        ws,
        momentum=0.5,
        weight_decay=0.01,
        rng=np.random.default_rng(3),
        **kwargs,
    )
    # velocity = 0.5 * 1 + lr * grad - lr * wd * W, so the difference from
    # the plain step is 0.5 - 0.1 * 0.01 * W; the biases are not decayed.
    plain_state.normalize()
    decayed_state.normalize()
    difference = decayed - plain
    np.testing.assert_allclose(difference[:n_hid, :n_vis], 0.5 - 0.001 * W, atol=1e-12)
    np.testing.assert_allclose(difference[:, n_vis], 0, atol=1e-15)
    np.testing.assert_allclose(difference[n_hid], 0, atol=1e-15)


@pytest.mark.parametrize("packed_biases", [False, True])
@pytest.mark.parametrize("momentum", [0.9, 0.5, 0.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_decayed_momentum_follows_the_textbook_step(momentum, packed_biases, dtype):
    from skdbn._blas import gemm

    rng = np.random.default_rng(0)
    shape = (7, 6)
    params = rng.normal(size=shape)
    params[-1, -1] = 0  # the corner of packed parameters
    velocity = rng.normal(size=shape) * (params != 0)
    decayed = np.ones(shape)  # where weight decay applies
    if packed_biases:
        decayed[-1], decayed[:, -1] = 0, 0
    state = DecayedMomentum(
        params.astype(dtype), velocity.astype(dtype), packed_biases=packed_biases
    )
    textbook = [params.astype(dtype), velocity.astype(dtype)]  # the same in dtype
    lr, decay = 0.01, 1e-4
    rescaled = 0
    for _ in range(300):
        A = rng.normal(size=(4, shape[0]))
        B = rng.normal(size=(4, shape[1]))
        # Exactly, and the textbook loop in dtype.
        velocity = momentum * velocity + lr * (A.T @ B) - decay * decayed * params
        params = params + velocity
        A, B = A.astype(dtype), B.astype(dtype)
        p, v = textbook
        step = dtype(lr) * (A.T @ B) - dtype(decay) * decayed.astype(dtype) * p
        v = dtype(momentum) * v + step
        textbook = [p + v, v]
        # As the optimisers do: the product, then end_step.
        alpha, beta = state.begin_step(momentum, decay)
        rescaled += beta != 1
        gemm(A, B, state.velocity, trans_a=True, alpha=lr * alpha, beta=beta)
        state.end_step()
        assert abs(state.velocity_scale) >= RESCALE_BELOW
    # The product folds the scale in when momentum ** k falls below
    # RESCALE_BELOW (k = 88 at 0.9, 14 at 0.5), and every step without it.
    assert rescaled == {0.9: 3, 0.5: 21, 0.0: 300}[momentum]
    got_params, got_velocity = state.normalize()
    assert state.scale == state.velocity_scale == 1.0 and state.k == 0.0
    if dtype == np.float64:
        np.testing.assert_allclose(got_params, params, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got_velocity, velocity, rtol=1e-10, atol=1e-12)
    else:
        # Within a few times the textbook float32 loop's own rounding.
        textbook_error = np.abs(textbook[0] - params).max()
        assert np.abs(got_params - params).max() < 4 * textbook_error + 1e-6
        np.testing.assert_allclose(got_velocity, velocity, atol=1e-5)


@pytest.mark.parametrize("packed_biases", [False, True])
def test_decayed_momentum_takes_plain_steps_when_the_decay_is_huge(packed_biases):
    # decay 0.7: 1 - momentum * k - decay falls below 0.5, where the scaled
    # form would divide by nearly nothing.
    from skdbn._blas import gemm

    rng = np.random.default_rng(0)
    params = rng.normal(size=(5, 4))
    velocity = rng.normal(size=(5, 4))
    decayed = np.ones(params.shape)
    if packed_biases:
        decayed[-1], decayed[:, -1] = 0, 0
    state = DecayedMomentum(params.copy(), velocity.copy(), packed_biases=packed_biases)
    for _ in range(6):
        A, B = rng.normal(size=(3, 5)), rng.normal(size=(3, 4))
        velocity = 0.9 * velocity + 0.01 * (A.T @ B) - 0.7 * decayed * params
        params = params + velocity
        alpha, beta = state.begin_step(0.9, 0.7)
        gemm(A, B, state.velocity, trans_a=True, alpha=0.01 * alpha, beta=beta)
        state.end_step()
        np.testing.assert_allclose(state.scale * state.params, params, rtol=1e-10)
    got_params, got_velocity = state.normalize()
    np.testing.assert_allclose(got_params, params, rtol=1e-10)
    np.testing.assert_allclose(got_velocity, velocity, rtol=1e-10)


@pytest.mark.parametrize(
    "units, output",
    [
        (["bernoulli", "bernoulli"], "softmax"),
        (["relu"], "gaussian"),
        (["gaussian", "bernoulli"], "bernoulli"),
    ],
)
def test_backprop_matches_finite_differences(units, output):
    rng = np.random.default_rng(0)
    sizes = [4] + [5] * len(units) + [3]
    coefs = [rng.normal(0, 0.5, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    intercepts = [rng.normal(0, 0.1, b) for b in sizes[1:]]
    net = Network(coefs, intercepts, units + [output])
    X = rng.random((6, 4))
    if output == "softmax":
        Y = np.eye(3)[rng.integers(0, 3, 6)]
    elif output == "bernoulli":
        Y = rng.random((6, 3))
    else:
        Y = rng.normal(size=(6, 3))
    alpha = 0.1
    _, grads = forward_backward(net, X, Y, alpha=alpha)
    eps = 1e-6
    for param, grad in zip(net.params, grads):
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            old = param[index]
            param[index] = old + eps
            up = forward_backward(net, X, Y, alpha=alpha)[0]
            param[index] = old - eps
            down = forward_backward(net, X, Y, alpha=alpha)[0]
            param[index] = old
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-7)


def test_pseudo_log_likelihood_matches_brute_force():
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
    # Chunking does not change the result.
    chunked = rbm_math.pseudo_log_likelihood(
        V, W, b_h, b_v, "bernoulli", chunk_elements=1
    )
    np.testing.assert_allclose(chunked, expected, rtol=1e-10)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_fused_optimizer_steps_match_the_textbook_update(solver):
    from skdbn._training import make_optimizer, train_step

    rng = np.random.default_rng(0)
    sizes = [6, 5, 3]
    coefs = [rng.normal(0, 0.5, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    intercepts = [rng.normal(0, 0.1, b) for b in sizes[1:]]
    net = Network(coefs, intercepts, ["bernoulli", "softmax"])
    reference = [p.copy() for p in net.params]
    X = rng.random((8, 6))
    Y = np.eye(3)[rng.integers(0, 3, 8)]
    lr, mu, alpha = 0.1, 0.9, 0.01
    optimizer = make_optimizer(solver, net.params, lr, mu)
    velocity = [np.zeros_like(p) for p in reference]
    first = [np.zeros_like(p) for p in reference]
    second = [np.zeros_like(p) for p in reference]
    for t in range(1, 4 if solver == "adam" else 100):
        ref_net = Network(reference[:2], reference[2:], net.units)
        _, grads = forward_backward(ref_net, X, Y, alpha=alpha)
        for k, (param, grad) in enumerate(zip(reference, grads)):
            if solver == "sgd":
                velocity[k] = mu * velocity[k] - lr * grad
                param += velocity[k]
            else:
                first[k] = 0.9 * first[k] + 0.1 * grad
                second[k] = 0.999 * second[k] + 0.001 * grad**2
                step = lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
                param -= step * first[k] / (np.sqrt(second[k]) + 1e-8)
        train_step(net, X, Y, optimizer, alpha=alpha)
        # Within an epoch SGD keeps the weights over scales (skdbn._momentum).
        weights = [s * W for s, W in zip(net.coef_scales, net.coefs)]
        for got, want in zip(weights + net.intercepts, reference):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    own = list(net.coefs)
    optimizer.finish(net)
    assert net.coef_scales == [1.0, 1.0]
    assert all(W is W_own for W, W_own in zip(net.coefs, own))
    for got, want in zip(net.params, reference):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_numbers_are_uniform_on_0_1(dtype):
    from skdbn._units import uniform

    out = np.empty((1001, 999), dtype=dtype)  # an odd count of numbers
    uniform(np.random.default_rng(0), out)
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
    own_arrays = list(together.coefs)
    state = TrainingState(make_optimizer("sgd", together.params, 0.1, 0.9))
    run_epochs(
        together, X, Y, state, n_epochs=3, rng=np.random.default_rng(2), **options
    )
    # The weights trade buffers every step; the network gets its own back.
    assert all(W is own for W, own in zip(together.coefs, own_arrays))

    in_calls = tiny_net()
    state = TrainingState(make_optimizer("sgd", in_calls.params, 0.1, 0.9))
    rng = np.random.default_rng(2)
    for _ in range(3):  # as partial_fit does: momentum carries over
        run_epochs(in_calls, X, Y, state, n_epochs=1, rng=rng, **options)
    for got, want in zip(in_calls.params, together.params):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert not np.allclose(together.coefs[0], tiny_net().coefs[0])
