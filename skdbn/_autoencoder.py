"""Layer-wise pretraining by autoencoders, the alternative to RBMs.

Each layer trains a one-hidden-layer autoencoder on the output of the layers
below: an encoder ``h = f(v @ W.T + b_h)`` with the layer's hidden units and
a decoder ``r = g(h @ W + b_v)`` with the visible units, whose loss follows
the visible unit type (cross-entropy for Bernoulli, squared error for
Gaussian). The decoder's weights are the encoder's, transposed (tied, as in
Bengio et al., 2007 and Vincent et al., 2008), so the layer is laid out as
an RBM (``W``, ``b_h``, ``b_v``) and the stack unrolls into a deep
autoencoder with ``W.T`` exactly as an RBM stack does. With ``noise`` the
inputs are corrupted by masking, the targets are not (denoising
autoencoders).
"""

from ._backend import backend_of
from ._network import weight_gradient
from ._threads import stage_threads
from ._training import Adam, epoch_loop
from ._units import activate_affine, get_unit, glorot_uniform, uniform
from ._utils import count_rows, load_batch, minibatches


def pretrain_autoencoder_layer(
    X,
    n_hidden,
    *,
    visible_unit,
    hidden_unit,
    epochs,
    batch_size,
    learning_rate,
    noise,
    rng,
    dtype,
    initial_visible_bias,
    rows=None,
    task,
):
    """Train one layer's tied autoencoder on ``X`` (or its rows ``rows``).

    Adam with step ``learning_rate`` for ``epochs`` epochs of mini-batches,
    each reported to ``task`` (a :class:`~skdbn._progress.Task`); Ctrl-C
    ends it with a warning, as does a callback asking to stop. The
    decoder's biases start from ``initial_visible_bias`` (the RBM's start).

    Returns
    -------
    W : ndarray of shape (n_hidden, n_visible)
        The tied weights, laid out as an RBM's ``components_``.
    b_h, b_v : ndarray
        The encoder's and the decoder's biases.
    loss_curve : list of float
        The reconstruction loss per epoch (per row, on the clean targets).
    """
    n_visible = X.shape[1]
    backend = backend_of(initial_visible_bias)
    W = glorot_uniform(
        (n_hidden, n_visible), n_visible, n_hidden, hidden_unit, rng, dtype, backend
    )
    b_h = backend.zeros((n_hidden,), dtype)
    b_v = backend.copy(backend.xp.astype(initial_visible_bias, dtype))
    params = [W, b_h, b_v]
    optimizer = Adam(params, learning_rate)
    hidden, visible = get_unit(hidden_unit), get_unit(visible_unit)
    n_samples = count_rows(X, rows)
    batch_size = min(batch_size, n_samples)
    batch = backend.empty((batch_size, n_visible), dtype)
    corrupted = backend.empty((batch_size, n_visible), dtype)

    def run_epoch():
        total = 0.0
        for indices in minibatches(n_samples, batch_size, rng, rows, backend):
            n_rows = indices.shape[0]
            v = load_batch(X, indices, batch[:n_rows, ...])
            v_in = v
            if noise:
                # Masking noise: each value kept with 1 - noise.
                v_in = uniform(rng, corrupted[:n_rows, ...])
                backend.greater_equal_(v_in, noise)
                v_in *= v
            total += n_rows * _step(v_in, v, params, optimizer, hidden, visible)
        return total / n_samples

    curve, _ = epoch_loop(
        run_epoch,
        n_epochs=epochs,
        threads=stage_threads(batch_size, [W]),
        params=lambda: params,
        label="autoencoder pretraining",
        quantity="autoencoder pretraining loss",
        learning_rate_name="learning_rate_init",
        task=task,
        after_epoch=lambda loss: {"learning_rate": learning_rate},
    )
    return W, b_h, b_v, curve


def _step(v_in, v, params, optimizer, hidden, visible):
    """One Adam step of the tied autoencoder on a batch; returns its loss.

    ``v_in`` is the (possibly corrupted) input, ``v`` the target. The
    weights get the decoder's gradient ``delta_r.T @ h`` plus the encoder's
    ``delta_h.T @ v_in``.
    """
    W, b_h, b_v = params
    backend = backend_of(W)
    n = v.shape[0]
    h = activate_affine(v_in, W, b_h, hidden, trans_b=True)
    r = activate_affine(h, W, b_v, visible)
    loss = visible.loss(r, v)
    delta_r = r - v  # the canonical pairing of output unit and loss
    delta_r /= n
    delta_h = backend.gemm(delta_r, W, backend.empty(h.shape, h.dtype), trans_b=True)
    hidden.scale_by_derivative(delta_h, h)
    grad_W = weight_gradient(delta_h, v_in)  # (n_hidden, n_visible)
    weight_gradient(h, delta_r, grad_W, beta=1.0)
    optimizer.start_step()
    optimizer.update(W, 0, grad_W)
    optimizer.update(b_h, 1, backend.xp.sum(delta_h, axis=0))
    optimizer.update(b_v, 2, backend.xp.sum(delta_r, axis=0))
    return loss
