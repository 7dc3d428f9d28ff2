"""Numerics of one restricted Boltzmann machine, as plain array functions.

Weights follow scikit-learn's ``BernoulliRBM``: ``W`` has shape
``(n_hidden, n_visible)``. Every function works on float32 or float64 arrays
alike and keeps the dtype it is given. Nothing here knows about estimators,
so the functions can be tested and timed on their own and another array
backend can replace this module without touching the estimators.
"""

import numpy as np
import scipy.sparse as sp

from ._blas import axpy, gemm
from ._units import get_unit


def hidden_means(X, W, b_h, hidden_unit, out=None):
    """Up pass: mean hidden activations given visible data ``X``."""
    if sp.issparse(X):
        pre = np.asarray(X @ W.T)
        if out is not None:
            out[...] = pre
            pre = out
    else:
        if out is None:
            out = np.empty((X.shape[0], W.shape[0]), dtype=W.dtype)
        pre = gemm(X, W, out, trans_b=True)
    pre += b_h
    return get_unit(hidden_unit).activate(pre)


def visible_means(H, W, b_v, visible_unit, out=None):
    """Down pass: mean visible activations given hidden activations ``H``."""
    if out is None:
        out = np.empty((H.shape[0], W.shape[1]), dtype=W.dtype)
    pre = gemm(H, W, out)
    pre += b_v
    return get_unit(visible_unit).activate(pre)


def free_energy(V, W, b_h, b_v, visible_unit, hidden_unit):
    """Free energy of each row of ``V`` (lower means more probable)."""
    if sp.issparse(V):
        V = V.toarray()
    pre = V @ W.T
    pre += b_h
    energy = get_unit(hidden_unit).free_energy_term(pre)
    if visible_unit == "bernoulli":
        energy -= V @ b_v
    else:
        centred = V - b_v
        energy += 0.5 * np.einsum("ij,ij->i", centred, centred)
    return energy


def pseudo_log_likelihood(V, W, b_h, b_v, hidden_unit, chunk_elements=2**22):
    """Exact pseudo-log-likelihood of binary rows ``V``.

    The sum over every visible unit ``i`` of ``log P(v_i | v_-i)``, computed
    from the free-energy difference made by flipping bit ``i``. Unlike a
    single random flip scaled by ``n_features``, it is deterministic and the
    same for a row whatever else is in the batch. It costs
    ``O(n_samples * n_visible * n_hidden)``, done in chunks of rows so the
    temporary stays near ``chunk_elements`` numbers.
    """
    if sp.issparse(V):
        V = V.toarray()
    hidden = get_unit(hidden_unit)
    n_samples, n_visible = V.shape
    rows_per_chunk = max(1, chunk_elements // max(1, n_visible * W.shape[0]))
    result = np.empty(n_samples, dtype=V.dtype)
    for start in range(0, n_samples, rows_per_chunk):
        v = V[start : start + rows_per_chunk]
        pre = v @ W.T + b_h  # (n, H)
        flip = 1 - 2 * v  # +1 where a 0 turns into 1, -1 otherwise
        # Pre-activations after flipping each bit: (n, V, H).
        flipped_pre = pre[:, None, :] + flip[:, :, None] * W.T[None, :, :]
        n, nv, nh = flipped_pre.shape
        fe_hidden_flipped = hidden.free_energy_term(
            flipped_pre.reshape(n * nv, nh)
        ).reshape(n, nv)
        fe_hidden = hidden.free_energy_term(pre)
        # F(v_flipped) - F(v), bit by bit.
        delta = fe_hidden_flipped - fe_hidden[:, None] - flip * b_v
        # log sigmoid(delta) = -softplus(-delta)
        result[start : start + len(v)] = -np.logaddexp(0, -delta).sum(axis=1)
    return result


class CDWorkspace:
    """Buffers reused by every contrastive-divergence step of one layer.

    The positive and negative phases are stored one above the other, so the
    two gradient products ``h_pos.T @ v_pos - h_neg.T @ v_neg`` become one
    matrix product over ``2 * batch_size`` rows.
    """

    def __init__(self, batch_size, n_visible, n_hidden, dtype):
        self.batch_size = batch_size
        self.visible = np.empty((2 * batch_size, n_visible), dtype=dtype)
        self.hidden = np.empty((2 * batch_size, n_hidden), dtype=dtype)
        self.hidden_sample = np.empty((batch_size, n_hidden), dtype=dtype)
        self.residual = np.empty((batch_size, n_visible), dtype=dtype)


def cd_step(
    n_rows,
    params,
    velocity,
    workspace,
    *,
    visible_unit,
    hidden_unit,
    learning_rate,
    momentum,
    weight_decay,
    n_gibbs_steps,
    rng,
    persistent_hidden=None,
):
    """One CD-k (or PCD-k) update on the batch already in the workspace.

    The batch occupies ``workspace.visible[:n_rows]`` (see
    :func:`skdbn._utils.load_batch`).
    Following Hinton's practical guide, the chain starts from sampled hidden
    states, the final reconstruction uses mean activations, and both gradient
    statistics use hidden means. With ``persistent_hidden`` the negative chain
    continues from those hidden states (persistent CD, Tieleman 2008), samples
    its visible states, and its hidden states are updated in place.

    Parameters and velocities are updated in place:
    ``velocity = momentum * velocity + lr * (gradient - weight_decay * W)``,
    with the gradient averaged over the batch and no decay on the biases.
    Every product goes through one BLAS (see :mod:`skdbn._blas`), and the
    momentum step is folded into the gradient product, so the weight matrix
    is swept only twice more per step.

    Returns
    -------
    squared_error : float
        Sum over the batch of the squared reconstruction error.
    """
    W, b_h, b_v = params
    dW, db_h, db_v = velocity
    hidden = get_unit(hidden_unit)
    visible = get_unit(visible_unit)
    ws = workspace
    v_pos, v_neg = ws.visible[:n_rows], ws.visible[n_rows : 2 * n_rows]
    h_pos, h_neg = ws.hidden[:n_rows], ws.hidden[n_rows : 2 * n_rows]

    hidden_means(v_pos, W, b_h, hidden_unit, out=h_pos)
    persistent = persistent_hidden is not None
    if persistent:
        h_state = persistent_hidden[:n_rows]
    else:
        h_state = hidden.sample(h_pos, rng, out=ws.hidden_sample[:n_rows])
    for step in range(n_gibbs_steps):
        last = step + 1 == n_gibbs_steps
        visible_means(h_state, W, b_v, visible_unit, out=v_neg)
        if persistent or not last:
            # A persistent chain must stay a true Markov chain, so it samples
            # its visible states; plain CD keeps the last reconstruction's
            # means, which lowers the variance of the gradient.
            visible.sample(v_neg.copy(), rng, out=v_neg)
        hidden_means(v_neg, W, b_h, hidden_unit, out=h_neg)
        if persistent or not last:
            hidden.sample(h_neg, rng, out=h_state)

    residual = ws.residual[:n_rows]
    if persistent:
        # The chain's samples are not reconstructions of this batch; monitor
        # the one-step mean-field reconstruction instead (one more product).
        visible_means(h_pos, W, b_v, visible_unit, out=residual)
        np.subtract(v_pos, residual, out=residual)
    else:
        np.subtract(v_pos, v_neg, out=residual)
    residual = residual.ravel()
    squared_error = float(np.dot(residual, residual))

    # Scale the small hidden blocks rather than the large gradient matrix:
    # then one product gives lr * (positive - negative statistics) / n_rows,
    # added straight onto momentum * velocity.
    scale = learning_rate / n_rows
    h_pos *= scale
    h_neg *= -scale
    both_h = ws.hidden[: 2 * n_rows]
    gemm(both_h, ws.visible[: 2 * n_rows], dW, trans_a=True, beta=momentum)
    if weight_decay:
        axpy(W, dW, -learning_rate * weight_decay)
    axpy(dW, W, 1.0)

    db_h *= momentum
    db_h += both_h.sum(axis=0)
    b_h += db_h
    db_v *= momentum
    db_v += (v_pos.sum(axis=0) - v_neg.sum(axis=0)) * scale
    b_v += db_v
    return squared_error


def gibbs_chain(v, W, b_h, b_v, visible_unit, hidden_unit, n_steps, rng):
    """Run ``n_steps`` of alternating Gibbs sampling from visible states ``v``.

    Returns the sampled visible states after the last step.
    """
    hidden = get_unit(hidden_unit)
    visible = get_unit(visible_unit)
    v = np.array(v, copy=True)
    h = np.empty((v.shape[0], W.shape[0]), dtype=v.dtype)
    for _ in range(n_steps):
        hidden_means(v, W, b_h, hidden_unit, out=h)
        hidden.sample(h.copy(), rng, out=h)
        visible_means(h, W, b_v, visible_unit, out=v)
        visible.sample(v.copy(), rng, out=v)
    return v
