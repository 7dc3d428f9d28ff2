"""Numerics of one restricted Boltzmann machine, as plain array functions.

Weights follow scikit-learn's ``BernoulliRBM``: ``W`` has shape
``(n_hidden, n_visible)``. Every function works on float32 or float64 arrays
alike and keeps the dtype it is given. Nothing here knows about estimators,
so the functions can be tested and timed on their own and another array
backend can replace this module without touching the estimators.
"""

import scipy.sparse as sp

from ._backend import NUMPY, backend_of
from ._units import activate_affine, affine, get_unit, softplus


def hidden_means(X, W, b_h, hidden_unit, out=None):
    """Up pass: mean hidden activations given visible data ``X``."""
    return activate_affine(X, W, b_h, hidden_unit, trans_b=True, out=out)


def visible_means(H, W, b_v, visible_unit, out=None):
    """Down pass: mean visible activations given hidden activations ``H``."""
    return activate_affine(H, W, b_v, visible_unit, out=out)


def free_energy(V, W, b_h, b_v, visible_unit, hidden_unit):
    """Free energy of each row of ``V`` (lower means more probable).

    Exact up to an additive constant for every pairing of unit types (see
    each unit's :meth:`~skdbn._units.Unit.free_energy_term`).
    """
    if sp.issparse(V):
        V = V.toarray()
    pre = affine(V, W, b_h, trans_b=True)
    energy = get_unit(hidden_unit).free_energy_term(pre)
    energy += get_unit(visible_unit).visible_energy(V, b_v)
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
    backend = backend_of(W)
    xp = backend.xp
    hidden = get_unit(hidden_unit)
    n_samples, n_visible = V.shape
    rows_per_chunk = max(1, chunk_elements // max(1, n_visible * W.shape[0]))
    result = backend.empty((n_samples,), V.dtype)
    for start in range(0, n_samples, rows_per_chunk):
        v = V[start : min(start + rows_per_chunk, n_samples), ...]
        pre = affine(v, W, b_h, trans_b=True)  # (n, H)
        flip = 1 - 2 * v  # +1 where a 0 turns into 1, -1 otherwise
        # Pre-activations after flipping each bit: (n, V, H).
        flipped_pre = pre[:, None, :] + flip[:, :, None] * W.T[None, :, :]
        n, nv, nh = flipped_pre.shape
        fe_hidden_flipped = xp.reshape(
            hidden.free_energy_term(xp.reshape(flipped_pre, (n * nv, nh))), (n, nv)
        )
        fe_hidden = hidden.free_energy_term(pre)
        # F(v_flipped) - F(v), bit by bit.
        delta = fe_hidden_flipped - fe_hidden[:, None] - flip * b_v
        # log sigmoid(delta) = -softplus(-delta)
        result[start : start + n] = -xp.sum(softplus(-delta), axis=1)
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
    packed = backend_of(W).zeros((n_hidden + 1, n_visible + 1), W.dtype)
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

    def __init__(self, batch_size, n_visible, n_hidden, dtype, backend=NUMPY):
        self.batch_size = batch_size
        self.visible = _with_ones((2 * batch_size, n_visible + 1), dtype, backend)
        self.hidden = _with_ones((2 * batch_size, n_hidden + 1), dtype, backend)
        self.hidden_sample = _with_ones((batch_size, n_hidden + 1), dtype, backend)
        self.visible_scratch = backend.empty((batch_size, n_visible + 1), dtype)
        self.residual = backend.empty((batch_size, n_visible + 1), dtype)

    def batch(self, n_rows):
        """The visible buffer's first ``n_rows`` rows without the ones: load here."""
        return self.visible[:n_rows, :-1]


def _with_ones(shape, dtype, backend=NUMPY):
    """An array whose last column holds ones (the bias input)."""
    array = backend.empty(shape, dtype)
    array[:, -1] = 1
    return array


def persistent_chain(hidden_states):
    """Hidden states of persistent chains, with the ones column CD needs."""
    chain = _with_ones(
        (hidden_states.shape[0], hidden_states.shape[1] + 1),
        hidden_states.dtype,
        backend_of(hidden_states),
    )
    chain[:, :-1] = hidden_states
    return chain


def _pass(rows, params, out, unit, up, *, rng=None, sample_out=None):
    """Means of the layer above (``up``) or below given ``rows`` with ones.

    With ``sample_out`` a sample drawn from the same pre-activations goes
    there too. The ones column of ``out`` receives garbage from the product
    and the activation, and is reset (so is ``sample_out``'s).
    """
    backend_of(params).gemm(rows, params, out, trans_b=up, alpha=unit.input_scale)
    if sample_out is None:
        unit.activate_scaled(out)
    else:
        unit.activate_and_sample_scaled(out, rng, sample_out)
        sample_out[:, -1] = 1
    out[:, -1] = 1
    return out


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
    sparsity=None,
):
    """One CD-k (or PCD-k) update on the batch already in the workspace.

    The batch occupies ``workspace.batch(n_rows)`` (see
    :func:`skdbn._utils.load_batch`); ``params`` and ``velocity`` are packed
    by :func:`pack_params` and updated in place. Following Hinton's practical
    guide, the chain starts from hidden states sampled from the data's
    pre-activations, the final reconstruction uses mean activations, and
    both gradient statistics use hidden means. With ``persistent_hidden``
    (from :func:`persistent_chain`) the negative chain continues from those
    hidden states (persistent CD, Tieleman 2008), samples its visible
    states, and its hidden states are updated in place.

    The step is the textbook one, ``velocity = momentum * velocity + lr *
    (gradient - weight_decay * W)`` then ``params += velocity``, with the
    gradient averaged over the batch and no decay on the biases. The biases
    ride along in the products and the two gradient statistics are one
    product over the stacked phases (see :class:`CDWorkspace`). With
    ``sparsity`` (a :class:`SparsityPenalty`) its gradient joins the step.

    Returns
    -------
    squared_error : float
        Sum over the batch of the squared reconstruction error.
    """
    hidden = get_unit(hidden_unit)
    visible = get_unit(visible_unit)
    backend = backend_of(params)
    ws = workspace
    v_pos, v_neg = ws.visible[:n_rows, ...], ws.visible[n_rows : 2 * n_rows, ...]
    h_pos, h_neg = ws.hidden[:n_rows, ...], ws.hidden[n_rows : 2 * n_rows, ...]

    persistent = persistent_hidden is not None
    if persistent:
        _pass(v_pos, params, h_pos, hidden, up=True)
        h_state = persistent_hidden[:n_rows, ...]
    else:
        h_state = ws.hidden_sample[:n_rows, ...]
        _pass(v_pos, params, h_pos, hidden, up=True, rng=rng, sample_out=h_state)
    for step in range(n_gibbs_steps):
        last = step + 1 == n_gibbs_steps
        # A persistent chain must stay a true Markov chain, so it samples its
        # visible states; plain CD keeps the last reconstruction's means,
        # which lowers the variance of the gradient.
        if persistent or not last:
            v_pre = ws.visible_scratch[:n_rows, ...]
            _pass(h_state, params, v_pre, visible, up=False, rng=rng, sample_out=v_neg)
            _pass(v_neg, params, h_neg, hidden, up=True, rng=rng, sample_out=h_state)
        else:
            _pass(h_state, params, v_neg, visible, up=False)
            _pass(v_neg, params, h_neg, hidden, up=True)

    residual = ws.residual[:n_rows, ...]
    if persistent:
        # The chain's samples are not reconstructions of this batch; monitor
        # the one-step mean-field reconstruction instead (one more product).
        _pass(h_pos, params, residual, visible, up=False)
        backend.subtract(v_pos, residual, out=residual)
    else:
        backend.subtract(v_pos, v_neg, out=residual)
    squared_error = backend.squared_norm(residual)  # the ones columns cancel

    # velocity = momentum * velocity + lr / n * (h_pos.T v_pos - h_neg.T v_neg):
    # one product over both phases, the negative one negated.
    backend.negative_(h_neg)
    both_h, both_v = ws.hidden[: 2 * n_rows, ...], ws.visible[: 2 * n_rows, ...]
    backend.gemm(
        both_h,
        both_v,
        velocity,
        trans_a=True,
        alpha=learning_rate / n_rows,
        beta=momentum,
    )
    if sparsity is not None:
        sparsity.add_gradient(h_pos, v_pos, velocity, learning_rate)
    if weight_decay:
        decay = learning_rate * weight_decay
        backend.axpy(params, velocity, -decay)
        # The biases (last row and column) are not decayed: give it back.
        velocity[-1, ...] += decay * params[-1, ...]
        velocity[:-1, -1] += decay * params[:-1, -1]
    backend.axpy(velocity, params, 1.0)
    return squared_error


class SparsityPenalty:
    """The sparsity target of Hinton's practical guide (2010, section 11).

    A running estimate ``q`` of each hidden unit's mean activation,
    ``q = decay * q + (1 - decay) * (mean over the batch)``, is pulled
    towards ``target``: the cross-entropy penalty between the two has the
    derivative ``q - target`` with respect to a logistic unit's total input,
    which, times ``cost``, adjusts the unit's bias and (times the batch's
    mean visible activity) its incoming weights.

    Parameters
    ----------
    target, cost : float
    estimate : ndarray of shape (n_hidden,)
        ``q``, updated in place (the estimator keeps it between calls).
    decay : float
        The guide suggests 0.9 to 0.99.
    """

    def __init__(self, target, cost, estimate, decay=0.95):
        self.target = target
        self.cost = cost
        self.estimate = estimate
        self.decay = decay

    def add_gradient(self, hidden, visible, velocity, learning_rate):
        """Update ``q`` from the batch's hidden means and step ``velocity``.

        ``hidden`` and ``visible`` are the positive phase with their ones
        columns (packed parameters, see :func:`pack_params`).
        """
        xp = backend_of(velocity).xp
        q = self.estimate
        q *= self.decay
        q += (1 - self.decay) * xp.astype(xp.mean(hidden[:, :-1], axis=0), q.dtype)
        pull = (learning_rate * self.cost) * (q - self.target)
        # Rows of the hidden units: weights times mean visible activity, and
        # the bias through the ones column (mean 1).
        outer = pull[:, None] * xp.astype(xp.mean(visible, axis=0), q.dtype)[None, :]
        velocity[:-1, ...] -= xp.astype(outer, velocity.dtype)


def gibbs_chain(v, W, b_h, b_v, visible_unit, hidden_unit, n_steps, rng):
    """Run ``n_steps`` of alternating Gibbs sampling from visible states ``v``.

    Each layer is sampled from its pre-activations. Returns the sampled
    visible states after the last step.
    """
    hidden = get_unit(hidden_unit)
    visible = get_unit(visible_unit)
    backend = backend_of(W)
    v = backend.copy(backend.xp.astype(v, W.dtype))
    h = backend.empty((v.shape[0], W.shape[0]), W.dtype)
    pre_h, pre_v = backend.empty(h.shape, W.dtype), backend.empty(v.shape, W.dtype)
    for _ in range(n_steps):
        affine(v, W, b_h, trans_b=True, scale=hidden.input_scale, out=pre_h)
        hidden.activate_and_sample_scaled(pre_h, rng, h)
        affine(h, W, b_v, scale=visible.input_scale, out=pre_v)
        visible.activate_and_sample_scaled(pre_v, rng, v)
    return v
