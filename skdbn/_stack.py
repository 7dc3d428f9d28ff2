"""Greedy layer-wise pretraining: a stack of RBMs, each fed by the one below."""

import warnings

import numpy as np

from ._rbm import RBM
from ._units import get_unit
from ._utils import child_seed, glorot_uniform
from ._validation import per_layer

# Learning rates from Hinton's practical guide: binary units tolerate 0.1;
# real-valued units need far smaller steps (the 2006 autoencoder used 0.001
# for its linear code layer).
AUTO_LEARNING_RATES = {
    ("bernoulli", "bernoulli"): 0.1,
    ("gaussian", "bernoulli"): 0.01,
}
AUTO_LEARNING_RATE_REAL_HIDDEN = 0.001


def auto_learning_rate(visible_unit, hidden_unit):
    """The default CD learning rate for a layer with these unit types."""
    return AUTO_LEARNING_RATES.get(
        (visible_unit, hidden_unit), AUTO_LEARNING_RATE_REAL_HIDDEN
    )


def visible_unit_above(hidden_unit):
    """Unit type that models a layer's hidden activations as the next layer's data."""
    return "bernoulli" if get_unit(hidden_unit).bounded else "gaussian"


def layer_units(visible_unit, hidden_units):
    """(visible, hidden) unit types of each RBM in the stack."""
    pairs = []
    for hidden in hidden_units:
        pairs.append((visible_unit, hidden))
        visible_unit = visible_unit_above(hidden)
    return pairs


def make_rbm_stack(
    hidden_layer_sizes,
    *,
    visible_unit,
    hidden_unit,
    learning_rate,
    epochs,
    batch_size,
    n_gibbs_steps,
    persistent,
    weight_decay,
    dtype,
    rng,
    verbose,
):
    """Unfitted RBMs for every layer, parameters expanded per layer.

    ``hidden_unit``, ``learning_rate`` and ``epochs`` may each be one value
    for all layers or a sequence with one value per layer; ``learning_rate``
    may be ``"auto"`` (see :func:`auto_learning_rate`). Each RBM gets its own
    seed drawn from ``rng``.
    """
    sizes = list(hidden_layer_sizes)
    n_layers = len(sizes)
    hidden_units = per_layer(hidden_unit, n_layers, "hidden_unit")
    rates = per_layer(learning_rate, n_layers, "pretrain_learning_rate")
    epochs = per_layer(epochs, n_layers, "pretrain_epochs")
    rbms = []
    for size, (visible, hidden), rate, n_epochs in zip(
        sizes, layer_units(visible_unit, hidden_units), rates, epochs
    ):
        if rate == "auto":
            rate = auto_learning_rate(visible, hidden)
        rbms.append(
            RBM(
                n_components=int(size),
                visible_unit=visible,
                hidden_unit=hidden,
                learning_rate=float(rate),
                batch_size=batch_size,
                n_iter=int(n_epochs),
                n_gibbs_steps=n_gibbs_steps,
                persistent=persistent,
                weight_decay=weight_decay,
                dtype=dtype,
                random_state=child_seed(rng),
                verbose=max(0, verbose - 1),
            )
        )
    return rbms


def pretrain_greedy(rbms, X, *, partial=False, verbose=0):
    """Train each RBM on the hidden means of the one below it.

    With ``partial=True`` each RBM makes one ``partial_fit`` pass instead of a
    full ``fit``. Only one layer's activations are kept at a time.
    """
    data = X
    for depth, rbm in enumerate(rbms):
        if partial:
            rbm.partial_fit(data)
        else:
            rbm.fit(data)
        if rbm.n_iter_ == 0:
            _glorot_initialise(rbm)
        else:
            _warn_if_collapsed(rbm, data[:DEAD_UNIT_CHECK_ROWS], depth)
        if verbose:
            curve = rbm.reconstruction_error_curve_
            error = f"reconstruction error {curve[-1]:.4f}" if curve else "untrained"
            print(
                f"[pretraining] layer {depth + 1}/{len(rbms)} "
                f"({rbm.n_features_in_}->{rbm.n_components}), "
                f"{len(curve)} epochs, {error}"
            )
        if depth + 1 < len(rbms):
            data = rbm.transform(data)
    return rbms


DEAD_UNIT_CHECK_ROWS = 1000


def _glorot_initialise(rbm):
    """Give a layer without pretraining scikit-learn's MLP initialisation.

    The RBM recipe's N(0, 0.01^2) weights are meant to be trained; left as
    they are, a deep stack passes almost nothing through and backpropagation
    stalls. Glorot-uniform weights (scikit-learn's ``MLPClassifier``
    convention) make ``pretrain_epochs=0`` the usual randomly initialised
    network, the fair baseline for judging pretraining.
    """
    n_hidden, n_visible = rbm.components_.shape
    rbm.components_[...] = glorot_uniform(
        (n_hidden, n_visible),
        n_visible,
        n_hidden,
        rbm.hidden_unit,
        rbm._rng,
        np.float64,
    )


def _warn_if_collapsed(rbm, sample, depth):
    """Warn when (nearly) every binary hidden unit of a layer stays off."""
    if rbm.hidden_unit != "bernoulli":
        return
    highest = rbm.transform(sample).max(axis=0)
    dead = int(np.sum(highest < 0.01))
    if dead >= 0.9 * rbm.n_components:
        warnings.warn(
            f"Pretraining layer {depth + 1} ({rbm.n_features_in_}->"
            f"{rbm.n_components}) collapsed: {dead} of its {rbm.n_components} "
            "hidden units never switch on. Lower its pretrain_learning_rate "
            "(wide layers over few inputs often need 0.01).",
            UserWarning,
            stacklevel=4,
        )


def unroll_encoder(rbms):
    """Feed-forward weights, biases and units of the stack's up pass."""
    coefs = [rbm.components_.T.copy() for rbm in rbms]
    intercepts = [rbm.intercept_hidden_.copy() for rbm in rbms]
    units = [rbm.hidden_unit for rbm in rbms]
    return coefs, intercepts, units


def unroll_decoder(rbms):
    """Feed-forward weights, biases and units of the down pass (W^T of the up pass)."""
    rev = rbms[::-1]
    coefs = [rbm.components_.copy() for rbm in rev]
    intercepts = [rbm.intercept_visible_.copy() for rbm in rev]
    units = [rbm.visible_unit for rbm in rev]
    return coefs, intercepts, units
