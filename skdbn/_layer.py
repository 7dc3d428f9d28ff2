"""One RBM layer as plain state, and the training steps that act on it.

A layer is a ``dict`` of plain data, the one source of truth for its
weights wherever it lives (an :class:`~skdbn.RBM`, a DBN's stack, a
generative DBN's top RBM), so that an estimator holding it pickles, deep
copies and loads with ``skops.io`` without a private type to trust:

``W``, ``b_h``, ``b_v``
    Weights ``(n_hidden, n_visible)`` and the hidden and visible biases.
``visible``, ``hidden``
    The unit types, by name (see :func:`skdbn._units.get_unit`).
``velocity``
    CD's momentum of the packed parameters (see
    :func:`skdbn._rbm_numerics.pack_params`).
``chain``
    The persistent chains' hidden states (PCD), or None.
``activity``
    The running estimate of each hidden unit's mean activation (float64),
    which the sparsity penalty pulls towards its target.
``rng``, ``sampling_rng``
    The training generator, and the one :func:`gibbs` draws from (so that
    looking at a model between ``partial_fit`` calls changes nothing).
``auto_learning_rate``, ``learning_rate``
    The CD step ``learning_rate="auto"`` gives on the layer's data, and the
    step the last epoch used.
``epochs``, ``curve``
    Epochs trained, and the reconstruction error of each.
``settings``
    The :class:`CDSettings` of its last epoch, as a dict (what an
    :class:`~skdbn.RBM` view of the layer shows as its parameters).

How a layer trains (its step, batch size, momentum, ...) comes with each
call as :class:`CDSettings`, made from the estimator's parameters then, so
that a ``set_params`` between ``partial_fit`` calls takes effect.
"""

import copy
import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from . import _rbm_numerics as rbm_math
from ._autoencoder import pretrain_autoencoder_layer
from ._backend import backend_of
from ._network import Network, predict
from ._threads import stage_threads
from ._training import epoch_loop
from ._units import auto_learning_rate, get_unit, glorot_uniform
from ._utils import (
    as_dtype,
    child_seed,
    count_rows,
    load_batch,
    minibatches,
    take_rows,
)
from ._validation import (
    DIVERGENCE_FACTOR,
    DIVERGENCE_FLOOR,
    TrainingDivergedError,
    check_weight_growth,
    count,
    warn,
)

# Hinton's practical guide: momentum 0.5 while the weights settle, then 0.9.
INITIAL_MOMENTUM_EPOCHS = 5
# The checks of a trained layer look at its first rows, at most this many.
LAYER_CHECK_ROWS = 1000
# pretrain_epochs="auto": at least this many CD updates per layer. On digits,
# wine and breast cancer, layers with under a few hundred updates still
# passed nearly constant activations on, while 1000 matched or beat
# MLPClassifier (benchmarks/README.md). Fewer updates are a short budget.
AUTO_MIN_UPDATES = 1000
# A bounded hidden unit whose probability stays below COLLAPSED_LOW (or above
# 1 - COLLAPSED_LOW) for every row passes nothing on; a layer with
# COLLAPSED_SHARE of its units so has collapsed (a CD step of 3 or more on
# digits: 75 to 100 %; a step of 1 or less: none).
COLLAPSED_LOW = 0.01
COLLAPSED_SHARE = 0.9


@dataclass(frozen=True)
class CDSettings:
    """How a layer trains by contrastive divergence.

    ``learning_rate`` is a float or ``"auto"`` (the layer's
    ``auto_learning_rate``); ``learning_rate_param`` is the estimator's name
    for it, which divergence and collapse messages tell the user to lower
    (a DBN's stack: ``"pretrain_learning_rate"``).
    """

    learning_rate: object = "auto"
    batch_size: int = 100
    n_gibbs_steps: int = 1
    persistent: bool = False
    momentum: float = 0.9
    initial_momentum: float = 0.5
    weight_decay: float = 2e-4
    sparsity_target: float = 0.1
    sparsity_cost: float = 0.0
    learning_rate_param: str = "learning_rate"


def new_layer(X, n_hidden, settings, *, visible, hidden, dtype, rng, rows=None):
    """A layer initialised from the first data it sees, ``X`` (or its rows).

    Weights N(0, 0.01^2) (drawn in float64 whatever ``dtype``, so that
    float32 and float64 models start alike), zero hidden biases, visible
    biases from the column means (:meth:`Unit.initial_visible_bias`).
    ``visible`` may be a :func:`~skdbn._units.label_joined_unit` name (a
    generative DBN's top RBM); its "auto" step is that of its features.
    """
    backend = backend_of(X)
    dtype = backend.dtype(dtype)
    n_features = X.shape[1]
    unit = get_unit(visible)
    # The CD step grows with the data's scale (the gradient is v h and the
    # curvature v v): data far outside the units' range get a step as much
    # smaller as their mean square is above 1, so that training stays
    # stable (the estimator has warned about the range).
    n_rows = count_rows(X, rows)
    mean_square = _sum_of_squares(X, rows) / max(1, n_rows * n_features)
    features = getattr(unit, "features", unit).name
    layer = {
        "visible": visible,
        "hidden": hidden,
        "rng": rng,
        # Seeded from a copy of the training generator, which does not
        # advance.
        "sampling_rng": backend.make_rng(child_seed(copy.deepcopy(rng))),
        "auto_learning_rate": auto_learning_rate(features, hidden)
        / max(1.0, mean_square),
        "W": backend.random_normal(rng, 0.01, (n_hidden, n_features), dtype),
        "b_h": backend.zeros((n_hidden,), dtype),
        "b_v": backend.xp.astype(
            unit.initial_visible_bias(_column_means(X, rows)), dtype
        ),
        "velocity": backend.zeros((n_hidden + 1, n_features + 1), dtype),
        "chain": None,
        # The initial model's hidden means: small weights, zero biases.
        "activity": backend.zeros((n_hidden,), backend.dtype("float64")) + 0.5,
        "curve": [],
        "epochs": 0,
        "settings": dataclasses.asdict(settings),
    }
    layer["learning_rate"] = step_size(layer, settings)
    return layer


def step_size(layer, settings):
    """The CD step ``settings`` give this layer."""
    if settings.learning_rate == "auto":
        return layer["auto_learning_rate"]
    return settings.learning_rate


def params(layer):
    """``(W, b_h, b_v)``."""
    return layer["W"], layer["b_h"], layer["b_v"]


def units(layer):
    """``(visible, hidden)`` unit names."""
    return layer["visible"], layer["hidden"]


def n_updates(layer, n_rows, batch_size):
    """The CD updates the layer's epochs made over ``n_rows`` rows."""
    return layer["epochs"] * math.ceil(n_rows / min(batch_size, n_rows))


def hidden_means(layer, X, rows=None):
    """The hidden means of (the rows ``rows`` of) validated ``X``: the up pass."""
    W = layer["W"]
    up = Network([backend_of(W).copy(W.T)], [layer["b_h"]], [layer["hidden"]])
    return predict(up, X, rows=rows)


def train_cd(layer, X, n_epochs, settings, task, rows=None):
    """``n_epochs`` epochs of mini-batch CD over ``X`` (or its rows ``rows``).

    Each epoch is a step of the package's one epoch loop
    (:func:`skdbn._training.epoch_loop`), reported to ``task``; the
    parameters are trained packed in one matrix (biases included) and
    written back after each epoch, also one cut short.
    """
    n_samples = count_rows(X, rows)
    batch_size = min(settings.batch_size, n_samples)
    W = layer["W"]
    backend = backend_of(W)
    workspace = rbm_math.CDWorkspace(
        batch_size, X.shape[1], W.shape[0], W.dtype, backend
    )
    shape = (W.shape[0] + 1, W.shape[1] + 1)
    velocity = layer["velocity"]
    if tuple(velocity.shape) != shape or velocity.dtype != W.dtype:
        # W was assigned another shape or dtype: start afresh.
        layer["velocity"] = backend.zeros(shape, W.dtype)
        layer["chain"] = None
    layer["rng"] = backend.adopt_rng(layer["rng"])
    layer["settings"] = dataclasses.asdict(settings)
    if settings.persistent:
        _ensure_persistent_chain(layer, batch_size)
    sparsity = None
    if settings.sparsity_cost:
        sparsity = rbm_math.SparsityPenalty(
            settings.sparsity_target, settings.sparsity_cost, layer["activity"]
        )

    def run_epoch():
        momentum = (
            settings.initial_momentum
            if layer["epochs"] < INITIAL_MOMENTUM_EPOCHS
            else settings.momentum
        )
        packed = rbm_math.pack_params(*params(layer))
        try:
            total_error = _run_batches(
                layer, X, n_samples, batch_size, workspace, momentum, packed,
                settings, sparsity, rows,
            )  # fmt: skip
        finally:
            rbm_math.unpack_params(packed, *params(layer))
        return total_error / n_samples

    def after_epoch(error):
        # With Bernoulli visible units the error is bounded: exploding
        # weights are the sign of divergence there.
        check_weight_growth(layer["W"], settings.learning_rate_param)
        layer["curve"].append(error)
        layer["learning_rate"] = step_size(layer, settings)
        layer["epochs"] += 1
        return {"learning_rate": layer["learning_rate"]}

    epoch_loop(
        run_epoch,
        n_epochs=n_epochs,
        threads=stage_threads(batch_size, [W]),
        params=lambda: params(layer),
        label="RBM training",
        quantity="RBM reconstruction error",
        learning_rate_name=settings.learning_rate_param,
        task=task,
        after_epoch=after_epoch,
    )


def _run_batches(
    layer, X, n_samples, batch_size, workspace, momentum, packed, settings,
    sparsity, rows=None,
):  # fmt: skip
    """CD steps over one epoch's batches; returns the summed error.

    Raises :class:`TrainingDivergedError` as soon as a batch's error per
    row explodes past the epoch's first batch's.
    """
    total_error = 0.0
    reference = None
    backend = backend_of(packed)
    rng = layer["rng"]
    for batch in minibatches(n_samples, batch_size, rng, rows, backend):
        n_rows = batch.shape[0]
        load_batch(X, batch, workspace.batch(n_rows))
        error = rbm_math.cd_step(
            n_rows,
            packed,
            layer["velocity"],
            workspace,
            visible_unit=layer["visible"],
            hidden_unit=layer["hidden"],
            learning_rate=step_size(layer, settings),
            momentum=momentum,
            weight_decay=settings.weight_decay,
            n_gibbs_steps=settings.n_gibbs_steps,
            rng=rng,
            persistent_hidden=layer["chain"],
            sparsity=sparsity,
        )
        error = backend.to_float(error)
        per_row = error / n_rows
        if reference is None:
            reference = max(per_row, DIVERGENCE_FLOOR)
        elif not per_row <= DIVERGENCE_FACTOR * reference:
            raise TrainingDivergedError(
                "Training diverged: the RBM reconstruction error per row "
                f"grew from {reference:.4g} to {per_row:.4g} within an "
                f"epoch. Lower {settings.learning_rate_param} (a factor of 10 "
                "is a good first step); standardised inputs also help with "
                "Gaussian or ReLU units."
            )
        total_error += error
    return total_error


def _ensure_persistent_chain(layer, batch_size):
    chain = layer["chain"]
    if chain is None or chain.shape[0] < batch_size:
        # Start the chains from the hidden units' own biases.
        b_h = layer["b_h"]
        pre = backend_of(b_h).zeros((batch_size, b_h.shape[0]), b_h.dtype)
        pre += b_h[None, :]
        states = get_unit(layer["hidden"]).sample(pre, layer["rng"])
        layer["chain"] = rbm_math.persistent_chain(states)


def train_autoencoder(
    layer, X, n_epochs, task, *, batch_size, learning_rate, noise, rows=None
):
    """Pretrain the layer as a tied autoencoder instead of by CD.

    The encoder becomes ``W`` and ``b_h``, the decoder's biases ``b_v`` (its
    weights are the encoder's, transposed), and the loss per epoch
    ``curve``; ``learning_rate`` (Adam's step) is recorded as the layer's.
    See :mod:`skdbn._autoencoder`.
    """
    W, b_h, b_v, curve = pretrain_autoencoder_layer(
        X,
        layer["W"].shape[0],
        visible_unit=layer["visible"],
        hidden_unit=layer["hidden"],
        epochs=n_epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        noise=noise,
        rng=layer["rng"],
        dtype=layer["W"].dtype,
        initial_visible_bias=layer["b_v"],
        rows=rows,
        task=task,
    )
    layer["W"][...] = W
    layer["b_h"][...] = b_h
    layer["b_v"][...] = b_v
    layer["learning_rate"] = learning_rate
    layer["curve"] = curve
    layer["epochs"] = len(curve)


def glorot_initialise(layer):
    """Give a layer without pretraining scikit-learn's MLP initialisation.

    The RBM recipe's N(0, 0.01^2) weights are meant to be trained; left as
    they are, a deep stack passes almost nothing through and backpropagation
    stalls. Glorot-uniform weights (scikit-learn's ``MLPClassifier``
    convention) make ``pretrain_epochs=0`` the usual randomly initialised
    network, the fair baseline for judging pretraining.
    """
    W = layer["W"]
    n_hidden, n_visible = W.shape
    W[...] = glorot_uniform(
        (n_hidden, n_visible),
        n_visible,
        n_hidden,
        layer["hidden"],
        layer["rng"],
        W.dtype,  # (drawn in float64 on NumPy: see random_uniform)
        backend_of(W),
    )


def gibbs(layer, v, n_steps):
    """``n_steps`` Gibbs steps from visible states ``v``, on the sampling generator."""
    rng = backend_of(layer["W"]).adopt_rng(layer["sampling_rng"])
    layer["sampling_rng"] = rng
    with np.errstate(over="ignore", invalid="ignore"):
        return rbm_math.gibbs_chain(v, *params(layer), *units(layer), n_steps, rng)


# -- what a trained layer's activations say ---------------------------------


def warn_if_collapsed(layer, H, label, learning_rate_param):
    """Warn when (almost) every bounded hidden unit is stuck; True if so.

    ``H`` holds the layer's hidden means of (some of) its training rows.
    A unit whose probability stays below 0.01, or above 0.99, for every
    row passes nothing on: too large a CD step drives the units there
    (measured on digits, see :data:`COLLAPSED_SHARE`). The message names
    ``label`` (the layer) and the learning-rate parameter to lower. The
    one check of the standalone RBM and of every DBN's stack.
    """
    if not get_unit(layer["hidden"]).bounded or H.shape[0] < 2:
        return False
    xp = backend_of(H).xp
    off = int(xp.count_nonzero(xp.max(H, axis=0) < COLLAPSED_LOW))
    on = int(xp.count_nonzero(xp.min(H, axis=0) > 1 - COLLAPSED_LOW))
    n_units = H.shape[1]
    if off + on < COLLAPSED_SHARE * n_units:
        return False
    warn(
        f"{label} collapsed: {off + on} of its {n_units} hidden units take "
        f"the same saturated value for every row ({off} never switch on, "
        f"{on} never switch off), so they pass nothing on. Lower its "
        f"{learning_rate_param} (wide layers over few inputs often need 0.01).",
        UserWarning,
    )
    return True


def warn_if_worse_than_the_means(
    layer, V, H, label, learning_rate_param, n_updates=None
):
    """Warn when the layer reconstructs ``V`` worse than its column means.

    A model that learned anything reconstructs its training rows better
    than the column means (a ratio of 1, see :func:`reconstruction_ratio`).
    After :data:`AUTO_MIN_UPDATES` updates or more, one that ends above it
    was thrown off by too large a step; after fewer, it may simply not have
    learned yet (a 256-unit layer after 30 updates on digits: 1.11 to
    1.19), and the message says both. ``label`` names the layer;
    ``n_updates`` is the number of CD updates it made (None: not counted,
    a DBN's layer). Returns whether it warned.
    """
    ratio = reconstruction_ratio(layer, V, H)
    if ratio is None or not ratio > 1:
        return False
    lower = f"lower {learning_rate_param} (a factor of 10 is a good first step)"
    if n_updates is not None and n_updates < AUTO_MIN_UPDATES:
        advice = (
            f"after only {count(n_updates, 'CD update')} it has learned "
            "nothing yet, or its step is too large. Train longer (raise n_iter: "
            f"{AUTO_MIN_UPDATES} updates or more is usual), or {lower} "
            "if the reconstruction error grew during training."
        )
    else:
        advice = f"training has gone wrong. {lower.capitalize()}."
    warn(
        f"{label} reconstructs its training rows worse than predicting "
        f"every row by the column means ({ratio:.0%} of their error): " + advice,
        UserWarning,
    )
    return True


def reconstruction_ratio(layer, V, H):
    """Mean-field reconstruction error of rows ``V`` over their total variance.

    ``H`` holds the hidden means of ``V``. The error is that of the
    deterministic down pass from ``H``; the reference, the error of the
    column means (the sum of the columns' variances), is what a layer that
    learned nothing achieves. None for rows without variance.
    """
    if hasattr(V, "toarray"):
        V = V.toarray()
    backend = backend_of(H)
    V = as_dtype(V, H.dtype)
    # One buffer of the sample's size, reused (early stopping's memory test
    # bounds what a fit may allocate beyond its input).
    with np.errstate(over="ignore", invalid="ignore"):
        R = rbm_math.visible_means(H, layer["W"], layer["b_v"], layer["visible"])
        R -= V
        error = float(backend.squared_norm(R))
        R[...] = V
        R -= backend.xp.mean(V, axis=0)
        total = float(backend.squared_norm(R))
    if not total > 0 or not math.isfinite(error):
        return None
    return error / total


# -- statistics of the first data, chunk by chunk ---------------------------


def _row_chunks(X, rows, chunk_bytes=2**20):
    """Dense chunks of (the rows ``rows`` of) dense ``X``, about 1 MiB each."""
    n_rows = count_rows(X, rows)
    backend = backend_of(X)
    xp = backend.xp
    info = xp.finfo if xp.isdtype(X.dtype, "real floating") else xp.iinfo
    itemsize = info(X.dtype).bits // 8
    chunk_rows = max(1, chunk_bytes // max(1, X.shape[1] * itemsize))
    for start in range(0, n_rows, chunk_rows):
        yield backend.cast(take_rows(X, start, start + chunk_rows, rows), X.dtype)


def _sum_of_squares(X, rows=None):
    """``sum(X ** 2)`` of (rows of) dense or sparse ``X``, chunk by chunk."""
    backend = backend_of(X)
    if sp.issparse(X):
        data = (X if rows is None else X[rows]).data
        return backend.squared_norm(data) if data.size else 0.0
    # (Summed where the chunks are, read back once.)
    total = sum(backend.squared_norm(chunk) for chunk in _row_chunks(X, rows))
    return backend.to_float(total)


def _column_means(X, rows=None):
    """Column means, in float64, of (rows of) dense or sparse ``X``."""
    n_rows = count_rows(X, rows)
    if sp.issparse(X):
        X = X if rows is None else X[rows]
        sums = np.bincount(X.indices, weights=X.data, minlength=X.shape[1])
    else:
        xp = backend_of(X).xp
        sums = sum(
            xp.sum(chunk, axis=0, dtype=xp.float64) for chunk in _row_chunks(X, rows)
        )
    return sums / max(1, n_rows)
