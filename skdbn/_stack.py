"""Greedy layer-wise pretraining: a stack of RBMs, each fed by the one below."""

import math
from dataclasses import dataclass
from numbers import Integral

import joblib
import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._backend import backend_of
from ._layer import (
    AUTO_MIN_UPDATES,
    LAYER_CHECK_ROWS,
    CDSettings,
    glorot_initialise,
    hidden_means,
    n_updates,
    new_layer,
    reconstruction_ratio,
    train_autoencoder,
    train_cd,
    warn_if_collapsed,
    warn_if_worse_than_the_means,
)
from ._rbm import RBM
from ._units import HIDDEN_UNITS, get_unit, visible_unit_above
from ._utils import child_seed, count_rows, make_generator, take_rows
from ._validation import count, per_layer, warn


def layer_units(visible_unit, hidden_units):
    """(visible, hidden) unit types of each RBM in the stack."""
    pairs = []
    for hidden in hidden_units:
        pairs.append((visible_unit, hidden))
        visible_unit = visible_unit_above(hidden)
    return pairs


# pretrain_epochs="auto": at least AUTO_MIN_UPDATES CD updates per layer
# (see _layer.py), and at least this many epochs.
AUTO_MIN_EPOCHS = 10


def auto_batch_size(n_samples):
    """``batch_size="auto"``: 100 rows on large data, down to 16 on small data."""
    return int(min(100, max(16, n_samples // 50)))


def auto_pretrain_epochs(n_samples, batch_size):
    """``pretrain_epochs="auto"``: enough epochs for :data:`AUTO_MIN_UPDATES`."""
    batches = math.ceil(n_samples / max(1, min(batch_size, n_samples)))
    return max(AUTO_MIN_EPOCHS, math.ceil(AUTO_MIN_UPDATES / batches))


@dataclass(frozen=True)
class LayerPlan:
    """What one layer of a stack is to be: its size, units, epochs, settings."""

    n_hidden: int
    visible: str
    hidden: str
    epochs: int
    settings: CDSettings
    seed: int


def plan_stack(
    hidden_layer_sizes,
    *,
    n_samples,
    visible_unit,
    hidden_unit,
    learning_rate,
    epochs,
    batch_size,
    n_gibbs_steps,
    persistent,
    weight_decay,
    rng,
    sparsity_target=0.1,
    sparsity_cost=0.0,
):
    """The plan of every layer, the DBN's parameters expanded per layer.

    ``hidden_unit``, ``learning_rate``, ``epochs``, ``sparsity_target`` and
    ``sparsity_cost`` may each be one value for all layers or a sequence
    with one value per layer; ``learning_rate`` and ``epochs`` may be
    ``"auto"``. A single ``sparsity_cost`` applies to the layers of binary
    hidden units only. Each layer gets its own seed drawn from ``rng``.
    """
    sizes = list(hidden_layer_sizes)
    n_layers = len(sizes)
    hidden_units = per_layer(
        hidden_unit, n_layers, "hidden_unit", [StrOptions(set(HIDDEN_UNITS))]
    )
    # Each entry is validated as the RBM validates its own parameter.
    rbm_constraints = RBM._parameter_constraints
    rates = per_layer(
        learning_rate,
        n_layers,
        "pretrain_learning_rate",
        rbm_constraints["learning_rate"],
    )
    epochs = per_layer(
        epochs,
        n_layers,
        "pretrain_epochs",
        [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
    )
    targets = per_layer(
        sparsity_target, n_layers, "sparsity_target", rbm_constraints["sparsity_target"]
    )
    one_cost = np.ndim(sparsity_cost) == 0
    costs = per_layer(
        sparsity_cost, n_layers, "sparsity_cost", rbm_constraints["sparsity_cost"]
    )
    plans = []
    for size, (visible, hidden), rate, n_epochs, target, cost in zip(
        sizes, layer_units(visible_unit, hidden_units), rates, epochs, targets, costs
    ):
        if not get_unit(hidden).binary and cost:
            if not one_cost:
                # Before any layer trains, not once the layers below have.
                raise ValueError(
                    f"sparsity_cost needs Bernoulli hidden units, but a layer "
                    f"with {hidden!r} units was given {cost}; set its entry to 0."
                )
            cost = 0.0
        if n_epochs == "auto":
            n_epochs = auto_pretrain_epochs(n_samples, batch_size)
        settings = CDSettings(
            learning_rate=rate if rate == "auto" else float(rate),
            batch_size=batch_size,
            n_gibbs_steps=n_gibbs_steps,
            persistent=persistent,
            weight_decay=weight_decay,
            sparsity_target=float(target),
            sparsity_cost=float(cost),
            # Divergence and collapse messages name the DBN's parameter
            # (learning_rate is the fine-tuning schedule there).
            learning_rate_param="pretrain_learning_rate",
        )
        plans.append(
            LayerPlan(
                int(size), visible, hidden, int(n_epochs), settings, child_seed(rng)
            )
        )
    return plans


def pretrain_greedy(
    plans,
    X,
    task,
    *,
    dtype,
    layers=None,
    verbose=0,
    rows=None,
    autoencoder=None,
    memory=None,
):
    """Train each layer on the hidden means of the one below it; the layers.

    New layers are made from ``plans`` and trained for their epochs. With
    ``layers`` (a stack being streamed) each makes one more epoch over
    ``X`` instead, with the plans' settings. With ``rows`` (an index array)
    the stack trains on those rows of ``X`` (already validated) without
    copying them. Only one layer's activations are kept at a time. Ctrl-C
    ends pretraining: the interrupted layer keeps what it learnt and the
    layers above start untrained, as with ``pretrain_epochs=0``. With
    ``autoencoder`` (a dict with ``learning_rate`` and ``noise``; not
    streamed) each layer is pretrained as an autoencoder instead (see
    :mod:`skdbn._autoencoder`), on the same epochs and batches. Each layer
    reports its epochs to a subtask of ``task`` (the pretraining stage of
    the estimator's :class:`~skdbn._progress.Task` tree). With ``memory``
    (a ``joblib.Memory``; not streamed) each whole layer is stored under
    what decides it (the data, its own plan and those of the layers below)
    and loaded instead of trained when the same layer is needed again.
    """
    streamed = layers is not None
    layers = list(layers) if streamed else [None] * len(plans)
    fingerprint = None
    if memory is not None and not streamed:
        # What the first layer's data are; each layer's key adds the plans
        # of its own and of every layer below, nothing above.
        fingerprint = joblib.hash((X, rows))
        cached_layer = memory.cache(_trained_layer, ignore=["data", "rows", "task"])
    data = X
    interrupted = False
    for depth, plan in enumerate(plans):
        n_epochs = 1 if streamed else 0 if interrupted else plan.epochs
        layer_task = task.subtask(
            n_subtasks=n_epochs, layer=depth + 1, verbose=max(0, verbose - 1)
        )
        from_cache = False
        if streamed and layers[depth] is not None:
            layer = layers[depth]
            _train(layer, data, rows, plan, n_epochs, autoencoder, layer_task)
        elif fingerprint is not None and not interrupted:
            key = (fingerprint, tuple(plans[: depth + 1]), dtype, autoencoder)
            from_cache = cached_layer.check_call_in_cache(key, None, None, None)
            try:
                layer = cached_layer(key, data, rows, layer_task)
            except _CutShort as cut:
                layer = cut.layer
        else:
            layer = _new_layer(plan, data, rows, dtype)
            _train(layer, data, rows, plan, n_epochs, autoencoder, layer_task)
        layers[depth] = layer
        layer_task.end()
        if not streamed:
            interrupted = interrupted or layer["epochs"] < n_epochs
            if layer["epochs"] == 0:
                glorot_initialise(layer)
            else:
                # (A stream's first chunks are no verdict on its layers.)
                check_pretrained_layer(layer, plan, data, depth, rows)
        if verbose:
            curve = layer["curve"]
            error = f"reconstruction error {curve[-1]:.4f}" if curve else "untrained"
            n_hidden, n_visible = layer["W"].shape
            source = "loaded from the cache" if from_cache else f"{len(curve)} epochs"
            print(
                f"[pretraining] layer {depth + 1}/{len(plans)} "
                f"({n_visible}->{n_hidden}), {source}, {error}"
            )
        if depth + 1 < len(plans):
            data = hidden_means(layer, data, rows)
            rows = None  # the layers above see the chosen rows only
    return layers


class _CutShort(Exception):
    """A layer whose training was cut short (Ctrl-C): not for the cache."""

    def __init__(self, layer):
        super().__init__("layer training was cut short")
        self.layer = layer


def _trained_layer(key, data, rows, task):
    """A new layer of the last plan in ``key``, trained on ``data`` (or its rows).

    ``key`` is ``(data fingerprint, plans of this layer and those below,
    dtype, autoencoder settings)``: all that decides the layer, and what
    ``memory`` (a ``joblib.Memory``) stores it under. A layer cut short is
    raised inside :class:`_CutShort`, so that the cache keeps whole layers
    only.
    """
    _, plans, dtype, autoencoder = key
    plan = plans[-1]
    layer = _new_layer(plan, data, rows, dtype)
    _train(layer, data, rows, plan, plan.epochs, autoencoder, task)
    if layer["epochs"] < plan.epochs:
        raise _CutShort(layer)
    return layer


def _new_layer(plan, data, rows, dtype):
    """An untrained layer of ``plan``, initialised from ``data`` (or its rows)."""
    return new_layer(
        data,
        plan.n_hidden,
        plan.settings,
        visible=plan.visible,
        hidden=plan.hidden,
        dtype=dtype,
        rng=make_generator(plan.seed, backend_of(data)),
        rows=rows,
    )


def _train(layer, data, rows, plan, n_epochs, autoencoder, task):
    """``n_epochs`` epochs of CD, or of autoencoder pretraining, of ``layer``."""
    if autoencoder is not None:
        train_autoencoder(
            layer,
            data,
            n_epochs,
            task,
            batch_size=plan.settings.batch_size,
            rows=rows,
            **autoencoder,
        )
    else:
        train_cd(layer, data, n_epochs, plan.settings, task, rows)


def check_pretrained_layer(layer, plan, data, depth, rows=None):
    """Warn when a pretrained layer passes little on to the layers above.

    Three failures look alike downstream. Units that never switch on, or
    never off (too large a CD step; the check the standalone RBM shares,
    see :meth:`RBM._warn_if_collapsed`). Units that take the same value for
    every row, which is what a layer whose weights have barely moved from
    their N(0, 0.01^2) start does. And a layer that responds, but whose
    codes say little about its input: its mean-field reconstruction is
    little better than predicting every row by the column means. The last
    two are blamed on ``pretrain_epochs`` only when the layer made fewer
    updates than ``"auto"`` gives (:data:`AUTO_MIN_UPDATES`): otherwise more
    epochs are not the cure, and a layer that ends worse than the column
    means was thrown off by too large a step. Public for the stacks that
    train a layer outside :func:`pretrain_greedy` (a generative DBN's top
    RBM).
    """
    sample = take_rows(data, 0, LAYER_CHECK_ROWS, rows)
    H = hidden_means(layer, sample)
    n_units, n_inputs = layer["W"].shape
    label = f"Pretraining layer {depth + 1} ({n_inputs}->{n_units})"
    lr_param = plan.settings.learning_rate_param
    if warn_if_collapsed(layer, H, label, lr_param):
        return
    n_rows = count_rows(data, rows)
    updates = n_updates(layer, n_rows, plan.settings.batch_size)
    if updates >= AUTO_MIN_UPDATES:
        # Enough updates to learn: ending worse than the column means is a
        # step that was too large, not a short budget.
        warn_if_worse_than_the_means(layer, sample, H, label, lr_param)
        return
    if sample.shape[0] < 2:
        return
    xp = backend_of(H).xp
    # A well-trained wide layer can also have most units near-constant
    # (Fashion-MNIST's 2000-unit top layer after 6000 updates: 95 %), so
    # only a layer that also made few updates is taken to be stuck.
    flat = int(xp.count_nonzero(xp.std(H, axis=0) < FLAT_UNIT_STD))
    if get_unit(layer["hidden"]).bounded and flat >= 0.9 * n_units:
        warn(
            f"{label} barely responds to its input: {flat} of its {n_units} "
            "hidden units take nearly the same value for every row. Its "
            f"{count(updates, 'CD update')} ({count(layer['epochs'], 'epoch')}) did "
            "not move the "
            "weights far from their small random start, and the network can "
            "end much worse than one without pretraining. Use "
            "pretrain_epochs='auto' (at least 1000 updates per layer), a "
            "smaller batch_size, a larger pretrain_learning_rate, or "
            "pretrain_epochs=0.",
            UserWarning,
        )
        return
    ratio = reconstruction_ratio(layer, sample, H)
    if ratio is not None and ratio > LEARNED_LITTLE_RATIO:
        warn(
            f"{label} has learned little: the squared error of its "
            f"reconstruction of its input is {ratio:.0%} of the error of "
            "predicting every row by the column means (well-trained layers "
            f"reach {LEARNED_LITTLE_RATIO:.0%} or less), after "
            f"{count(updates, 'update')} ({count(layer['epochs'], 'epoch')}). "
            "The network can end much worse "
            "than one without pretraining. Use pretrain_epochs='auto' (at "
            "least 1000 updates per layer), or pretrain_epochs=0"
            + (
                "; lower pretrain_learning_rate if the reconstruction error "
                "grew during training."
                if ratio > 1
                else "."
            ),
            UserWarning,
        )


# A unit whose mean varies across rows by less than this (standard deviation)
# carries almost nothing about the row. Measured on digits, wine and breast
# cancer: layers pretrained with 100 CD updates or fewer had 90-100 % of such
# units and left the network near chance; healthy layers at most 56 %.
FLAT_UNIT_STD = 0.05

# A layer whose mean-field reconstruction error exceeds this share of its
# input's total variance has learned little. Measured on digits (X / 16,
# 1347 training rows, two seeds), "auto" budgets: Bernoulli layers 0.08 to
# 0.19 ((256,), (256, 256), (32, 16), (500,)), 0.23 to 0.33 below Gaussian
# visible units, 0.37 pretrained as autoencoders, ReLU layers 0.49 to 0.63
# (those made 1000 updates, past the check). Short budgets: 3 epochs
# (156 updates) 0.58 to 0.84 per layer with (32, 16) falling from 0.97 to
# 0.76-0.80 accuracy, 5 epochs 0.48 to 0.53 (accuracy 0.88), 10 epochs
# 0.18 to 0.24 (0.95); ReLU layers stay near 1.0 up to 10 epochs.
LEARNED_LITTLE_RATIO = 0.5


def unroll_encoder(layers):
    """Feed-forward weights, biases and units of the stack's up pass."""
    coefs = [_copy(layer["W"].T) for layer in layers]
    intercepts = [_copy(layer["b_h"]) for layer in layers]
    units = [layer["hidden"] for layer in layers]
    return coefs, intercepts, units


def unroll_decoder(layers):
    """Feed-forward weights, biases and units of the down pass (W^T of the up pass)."""
    rev = layers[::-1]
    coefs = [_copy(layer["W"]) for layer in rev]
    intercepts = [_copy(layer["b_v"]) for layer in rev]
    units = [layer["visible"] for layer in rev]
    return coefs, intercepts, units


def _copy(array):
    """A row-major copy of an array of any backend."""
    return backend_of(array).copy(array)
