"""Numerics of one restricted Boltzmann machine, as plain array functions.

Weights follow scikit-learn's ``BernoulliRBM``: ``W`` has shape
``(n_hidden, n_visible)``. Every function works on float32 or float64 arrays
alike and keeps the dtype it is given. Nothing here knows about estimators,
so the functions can be tested and timed on their own and another array
backend can replace this module without touching the estimators.
"""

import numpy as np
import scipy.sparse as sp

from ._blas import gemm, squared_norm
from ._units import activate_affine, get_unit


def hidden_means(X, W, b_h, hidden_unit, out=None):
    """Up pass: mean hidden activations given visible data ``X``."""
    return activate_affine(X, W, b_h, hidden_unit, trans_b=True, out=out)


def visible_means(H, W, b_v, visible_unit, out=None):
    """Down pass: mean visible activations given hidden activations ``H``."""
    return activate_affine(H, W, b_v, visible_unit, out=out)


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


def pack_params(W, b_h, b_v):
    """One ``(n_hidden + 1, n_visible + 1)`` matrix ``[[W, b_h], [b_v, 0]]``.

    With a trailing column of ones on visible and hidden rows, a product
    with this matrix adds the biases (``[v, 1] @ P.T`` gives ``v @ W.T +
    b_h`` and ``[h, 1] @ P`` gives ``h @ W + b_v``), and the gradient product
    ``[h, 1].T @ [v, 1]`` holds the bias gradients in its last row and
    column: no separate bias passes in a CD step.
    """
    n_hidden, n_visible = W.shape
    packed = np.zeros((n_hidden + 1, n_visible + 1), dtype=W.dtype)
    packed[:n_hidden, :n_visible] = W
    packed[:n_hidden, n_visible] = b_h
    packed[n_hidden, :n_visible] = b_v
    return packed


def unpack_params(packed, W, b_h, b_v):
    """Copy a matrix made by :func:`pack_params` back into ``W, b_h, b_v``."""
    n_hidden, n_visible = W.shape
    W[...] = packed[:n_hidden, :n_visible]
    b_h[...] = packed[:n_hidden, n_visible]
    b_v[...] = packed[n_hidden, :n_visible]


class CDWorkspace:
    """Buffers reused by every contrastive-divergence step of one layer.

    Visible and hidden rows carry a trailing column of ones, for the packed
    parameters of :func:`pack_params`. The positive and negative phases are
    stored one above the other, so the two gradient products
    ``h_pos.T @ v_pos - h_neg.T @ v_neg`` become one product over
    ``2 * batch_size`` rows.
    """

    def __init__(self, batch_size, n_visible, n_hidden, dtype):
        self.batch_size = batch_size
        self.visible = _with_ones((2 * batch_size, n_visible + 1), dtype)
        self.hidden = _with_ones((2 * batch_size, n_hidden + 1), dtype)
        self.hidden_sample = _with_ones((batch_size, n_hidden + 1), dtype)
        self.residual = np.empty((batch_size, n_visible + 1), dtype=dtype)

    def batch(self, n_rows):
        """The visible buffer's first ``n_rows`` rows without the ones: load here."""
        return self.visible[:n_rows, :-1]


def _with_ones(shape, dtype):
    """An array whose last column holds ones (the bias input)."""
    array = np.empty(shape, dtype=dtype)
    array[:, -1] = 1
    return array


def persistent_chain(hidden_states):
    """Hidden states of persistent chains, with the ones column CD needs."""
    chain = _with_ones(
        (hidden_states.shape[0], hidden_states.shape[1] + 1), hidden_states.dtype
    )
    chain[:, :-1] = hidden_states
    return chain


def _pass(rows, state, out, unit, up, sign=1.0):
    """Means of the layer above (``up``) or below given ``rows`` with ones.

    The parameters are ``state``'s (a :class:`~skdbn._momentum.DecayedMomentum`
    of packed parameters). With ``sign=-1`` the means and the ones column
    come out negated. The ones column of ``out`` receives garbage from the
    product and the activation, and is reset.
    """
    gemm(rows, state.params, out, trans_b=up, alpha=unit.input_scale * state.scale)
    unit.activate_scaled(out, sign)
    out[:, -1] = sign
    return out


def _sample(unit, mean, rng, out):
    unit.sample(mean, rng, out=out)
    out[:, -1] = 1  # Gaussian and rectified samples add noise to it
    return out


def cd_step(
    n_rows,
    state,
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

    The batch occupies ``workspace.batch(n_rows)`` (see
    :func:`skdbn._utils.load_batch`); the parameters are packed by
    :func:`pack_params`.
    Following Hinton's practical guide, the chain starts from sampled hidden
    states, the final reconstruction uses mean activations, and both gradient
    statistics use hidden means. With ``persistent_hidden`` (from
    :func:`persistent_chain`) the negative chain continues from those hidden
    states (persistent CD, Tieleman 2008), samples its visible states, and
    its hidden states are updated in place.

    ``state`` is a :class:`~skdbn._momentum.DecayedMomentum` holding the
    packed parameters and their velocity: the step is ``velocity = momentum
    * velocity + lr * (gradient - weight_decay * W)``, then ``params +=
    velocity``, with the gradient averaged over the batch and no decay on
    the biases. Every product goes through one BLAS (see
    :mod:`skdbn._blas`); the biases ride along in the products, and
    momentum and weight decay cost no pass of their own: one gradient
    product onto the velocity, one sweep of the parameters.

    Returns
    -------
    squared_error : float
        Sum over the batch of the squared reconstruction error.
    """
    hidden = get_unit(hidden_unit)
    visible = get_unit(visible_unit)
    ws = workspace
    v_pos, v_neg = ws.visible[:n_rows], ws.visible[n_rows : 2 * n_rows]
    h_pos, h_neg = ws.hidden[:n_rows], ws.hidden[n_rows : 2 * n_rows]

    _pass(v_pos, state, h_pos, hidden, up=True)
    persistent = persistent_hidden is not None
    if persistent:
        h_state = persistent_hidden[:n_rows]
    else:
        h_state = _sample(hidden, h_pos, rng, ws.hidden_sample[:n_rows])
    for step in range(n_gibbs_steps):
        last = step + 1 == n_gibbs_steps
        resample = persistent or not last
        _pass(h_state, state, v_neg, visible, up=False)
        if resample:
            # A persistent chain must stay a true Markov chain, so it samples
            # its visible states; plain CD keeps the last reconstruction's
            # means, which lowers the variance of the gradient.
            _sample(visible, v_neg.copy(), rng, v_neg)
        # The gradient product takes the negative phase's hidden means
        # negated; the last pass of plain CD negates them for free.
        negate = last and not persistent
        _pass(v_neg, state, h_neg, hidden, up=True, sign=-1.0 if negate else 1.0)
        if resample:
            _sample(hidden, h_neg, rng, h_state)
    if persistent:
        h_neg *= -1

    residual = ws.residual[:n_rows]
    if persistent:
        # The chain's samples are not reconstructions of this batch; monitor
        # the one-step mean-field reconstruction instead (one more product).
        _pass(h_pos, state, residual, visible, up=False)
        np.subtract(v_pos, residual, out=residual)
    else:
        np.subtract(v_pos, v_neg, out=residual)
    squared_error = squared_norm(residual)  # the ones columns cancel

    # One product gives lr * (positive - negative statistics) / n_rows,
    # biases included, added straight onto the velocity.
    alpha, beta = state.begin_step(momentum, learning_rate * weight_decay)
    both_h, both_v = ws.hidden[: 2 * n_rows], ws.visible[: 2 * n_rows]
    gemm(
        both_h,
        both_v,
        state.velocity,
        trans_a=True,
        alpha=alpha * learning_rate / n_rows,
        beta=beta,
    )
    state.end_step()
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
