"""Numerics of the generative DBN of Hinton, Osindero & Teh (2006).

The model has an associative memory at the top, an RBM whose visible layer
joins one-of-K label units to the penultimate layer (its visible unit is a
:class:`~skdbn._units.LabelJoinedUnit`, label columns first), and below it a
directed net whose layers have separate recognition (bottom-up) and
generative (top-down) weights. In the arrays here:

- ``recognition[i]`` is ``(W, b)`` with ``W`` of shape ``(fan_in, fan_out)``,
  the up pass from layer ``i`` to layer ``i + 1`` (``Network`` layout);
- ``generative[i]`` is ``(W, b)`` with ``W`` of shape ``(fan_out, fan_in)``,
  the down pass from layer ``i + 1`` to layer ``i`` (an RBM's ``components_``
  layout);
- ``units[i]`` is the unit type of layer ``i`` below the top RBM (the data's
  unit type first, Bernoulli above);
- the top RBM's parameters are packed by
  :func:`skdbn._rbm_numerics.pack_params`.

Greedy pretraining gives tied weights (the generative ``W`` is the
recognition ``W`` transposed); :func:`up_down_step` unties and fine-tunes
them. Every function works on float32 or float64 arrays alike, of any
namespace the backend supports (:mod:`skdbn._backend`), on its device.
"""

from . import _rbm_numerics as rbm_math
from ._backend import backend_of
from ._network import Network, predict
from ._units import activate_affine, affine, get_unit, uniform


def recognition_network(recognition, units):
    """The deterministic up pass as a :class:`~skdbn._network.Network`."""
    return Network(
        [W for W, _ in recognition],
        [b for _, b in recognition],
        [units[i + 1] for i in range(len(recognition))],
    )


def label_log_odds(features, W, b_h, b_v, n_labels, hidden_unit):
    """``-F(label, features)`` of the top RBM for every label, up to a row constant.

    ``F`` is the free energy of the joint visible vector with the label's
    one-hot units on. The softmax over labels of the result is ``P(label |
    features)`` under the top RBM, exactly: the terms of ``F`` that do not
    depend on the label cancel in it and are left out. Computed in fixed
    blocks of rows (:func:`skdbn._network.predict`), so a row's result does
    not depend on the others.

    Returns
    -------
    log_odds : ndarray of shape (n_samples, n_labels)
    """
    hidden = get_unit(hidden_unit)
    backend = backend_of(W)
    features_to_hidden = Network([backend.copy(W[:, n_labels:].T)], [b_h], ["gaussian"])
    pre = predict(features_to_hidden, features)  # features @ W_f.T + b_h
    log_odds = backend.empty((pre.shape[0], n_labels), pre.dtype)
    for label in range(n_labels):
        log_odds[:, label] = b_v[label] - hidden.free_energy_term(pre + W[:, label])
    return log_odds


def _sample_states(pre, unit, rng):
    """A sample of ``unit`` given the pre-activation ``pre``.

    ``pre`` is overwritten with the units' means.
    """
    unit = get_unit(unit)
    if unit.input_scale != 1:
        pre *= unit.input_scale
    out = backend_of(pre).empty(pre.shape, pre.dtype)
    unit.activate_and_sample_scaled(pre, rng, out)
    return out


def _delta_rule(W, b, inputs, targets, predictions, step):
    """``W += step * inputs.T @ (targets - predictions)`` and ``b`` likewise."""
    backend = backend_of(W)
    error = backend.subtract(targets, predictions, predictions)
    backend.gemm(inputs, error, W, alpha=step, beta=1.0, trans_a=True)
    b += step * backend.xp.sum(error, axis=0)


def up_down_step(
    V,
    labels,
    recognition,
    generative,
    units,
    top,
    *,
    learning_rate,
    n_gibbs_steps,
    rng,
):
    """One up-down (contrastive wake-sleep) update on a mini-batch.

    Following Hinton, Osindero & Teh (2006, appendix B):

    1. wake: a stochastic bottom-up pass through the recognition weights;
       each generative layer learns, by the delta rule, to predict the
       states below from the states above;
    2. the top RBM makes a CD-``n_gibbs_steps`` update, its positive phase
       being the labels joined to the wake states of the penultimate layer,
       its label units free in the negative phase;
    3. sleep: a stochastic top-down pass from the top RBM's negative
       penultimate states through the generative weights (the visible layer
       takes its means); each recognition layer learns to predict the states
       above from the states below.

    All predictions use the weights from before this step.

    Parameters
    ----------
    V : ndarray of shape (n_rows, n_features)
        The batch of data (dense).
    labels : ndarray of shape (n_rows, n_labels)
        One-hot labels.
    recognition, generative : list of (W, b)
        Lower layers (see the module docstring); updated in place.
    units : list of str
        Unit type of each layer below the top RBM.
    top : TopRBM
        The top RBM's packed parameters and CD buffers; updated in place.
    learning_rate : float
        Step of every update, per row of the batch.
    n_gibbs_steps : int
        Gibbs steps of the top RBM's negative phase.
    rng : generator
        The backend's random generator (:meth:`skdbn._backend.Backend.adopt_rng`).

    Returns
    -------
    squared_error : float
        Sum over the batch of the squared error of the generative weights'
        one-layer prediction of the data from the wake states above it (the
        top RBM's reconstruction error when there are no lower layers).
    """
    n_rows = V.shape[0]
    step = learning_rate / n_rows
    n_lower = len(recognition)
    wake = [V]
    for i, (W, b) in enumerate(recognition):
        wake.append(_sample_states(affine(wake[-1], W, b), units[i + 1], rng))

    k = top.n_labels
    batch = top.workspace.batch(n_rows)
    batch[:, :k] = labels
    batch[:, k:] = wake[-1]
    top_error = rbm_math.cd_step(
        n_rows,
        top.packed,
        top.velocity,
        top.workspace,
        visible_unit=top.visible_unit,
        hidden_unit=top.hidden_unit,
        learning_rate=learning_rate,
        momentum=top.momentum,
        weight_decay=top.weight_decay,
        n_gibbs_steps=n_gibbs_steps,
        rng=rng,
    )
    if n_lower == 0:
        return top_error

    # The negative phase ends on the penultimate layer's means: sample them.
    means = top.workspace.visible[n_rows : 2 * n_rows, k:-1]
    backend = backend_of(means)
    sleep = [None] * n_lower + [
        backend.less_(uniform(rng, backend.empty(means.shape, means.dtype)), means)
    ]
    for i in reversed(range(n_lower)):
        W, b = generative[i]
        pre = affine(sleep[i + 1], W, b)
        if i == 0:
            sleep[0] = get_unit(units[0]).activate(pre)  # the data's means
        else:
            sleep[i] = _sample_states(pre, units[i], rng)

    generative_predictions = [
        activate_affine(wake[i + 1], W, b, units[i])
        for i, (W, b) in enumerate(generative)
    ]
    recognition_predictions = [
        activate_affine(sleep[i], W, b, units[i + 1])
        for i, (W, b) in enumerate(recognition)
    ]
    residual = V - generative_predictions[0]
    squared_error = backend.to_float(backend.squared_norm(residual))
    for i in range(n_lower):
        _delta_rule(
            *generative[i], wake[i + 1], wake[i], generative_predictions[i], step
        )
        _delta_rule(
            *recognition[i], sleep[i], sleep[i + 1], recognition_predictions[i], step
        )
    return squared_error


class TopRBM:
    """The top RBM's parameters, packed, with its CD buffers, for up-down.

    Parameters
    ----------
    W, b_h, b_v : ndarray
        The top RBM's parameters (written back by :meth:`unpack`).
    visible_unit, hidden_unit : Unit or str
    batch_size : int
    momentum, weight_decay : float
        As in the RBM's contrastive divergence.
    """

    def __init__(
        self,
        W,
        b_h,
        b_v,
        *,
        visible_unit,
        hidden_unit,
        batch_size,
        momentum,
        weight_decay,
    ):
        self.arrays = (W, b_h, b_v)
        self.n_labels = get_unit(visible_unit).n_labels
        self.visible_unit = visible_unit
        self.hidden_unit = hidden_unit
        backend = backend_of(W)
        self.packed = rbm_math.pack_params(W, b_h, b_v)
        self.velocity = backend.zeros(self.packed.shape, self.packed.dtype)
        self.workspace = rbm_math.CDWorkspace(
            batch_size, W.shape[1], W.shape[0], W.dtype, backend
        )
        self.momentum = momentum
        self.weight_decay = weight_decay

    def unpack(self):
        """Write the packed parameters back into the top RBM's arrays."""
        rbm_math.unpack_params(self.packed, *self.arrays)


def dream(
    labels,
    top_params,
    top_units,
    generative,
    units,
    *,
    n_gibbs_steps,
    rng,
    clamp_labels=True,
):
    """Generate data by Gibbs sampling in the top RBM and a top-down pass.

    The penultimate states start from a sample of their visible biases
    alone. With ``clamp_labels`` the label units stay at ``labels``
    (class-conditional generation); otherwise they start there and are
    sampled with the rest. After the chain, the last penultimate sample goes
    down through the generative weights, each layer sampled, and the data
    layer's means are returned.

    Parameters
    ----------
    labels : ndarray of shape (n_samples, n_labels)
        One-hot labels.
    top_params : (W, b_h, b_v)
        The top RBM's parameters.
    top_units : (LabelJoinedUnit, str)
        The top RBM's visible and hidden unit types.
    generative : list of (W, b)
    units : list of str
    n_gibbs_steps : int
    rng : generator
        The backend's random generator.

    Returns
    -------
    V : ndarray of shape (n_samples, n_features)
        Means of the data layer.
    labels : ndarray of shape (n_samples, n_labels)
        The label units' last state.
    """
    W, b_h, b_v = top_params
    joined, hidden = get_unit(top_units[0]), get_unit(top_units[1])
    k = joined.n_labels
    n_samples = labels.shape[0]
    backend = backend_of(W)
    visible = backend.empty((n_samples, W.shape[1]), W.dtype)
    visible[:, :k] = labels
    biases = backend.zeros((n_samples, W.shape[1] - k), W.dtype)
    biases += b_v[None, k:]
    visible[:, k:] = _sample_states(biases, joined.features, rng)
    for _ in range(n_gibbs_steps):
        h = _sample_states(affine(visible, W, b_h, trans_b=True), hidden, rng)
        means = affine(h, W, b_v)  # the sampler leaves the means here
        if clamp_labels:
            visible[:, k:] = _sample_states(means[:, k:], joined.features, rng)
        else:
            visible = _sample_states(means, joined, rng)
    if not generative:  # the top RBM's features are the data
        return means[:, k:], visible[:, :k]
    states = visible[:, k:]
    for i in reversed(range(len(generative))):
        W_g, b_g = generative[i]
        pre = affine(states, W_g, b_g)
        states = (
            get_unit(units[0]).activate(pre)
            if i == 0
            else _sample_states(pre, units[i], rng)
        )
    return states, visible[:, :k]
