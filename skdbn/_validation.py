"""Input, parameter and training checks shared by every estimator."""

import math
import os
import sys
import warnings
from numbers import Integral

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.base import is_classifier
from sklearn.utils._param_validation import InvalidParameterError, make_constraint
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_array, validate_data

from ._backend import NUMPY, backend_of, dtype_name, namespace_backend
from ._units import get_unit
from ._utils import as_dtype

DTYPES = {"float32": np.float32, "float64": np.float64}

# A loss that grows this many times above its first epoch's (or a batch's
# reconstruction error above the epoch's first batches') is diverging, even
# while every number is still finite.
DIVERGENCE_FACTOR = 1e3
# Losses this small are noise-level: growth from below it is not divergence.
DIVERGENCE_FLOOR = 1e-2


class DataRangeWarning(UserWarning):
    """Training data lie outside the range the visible units model."""


class TrainingDivergedError(FloatingPointError):
    """Training diverged: its loss exploded or its weights became non-finite.

    Raised instead of returning a model full of NaN or of huge weights; the
    message names the learning rate to lower. The estimator is left as it
    was before the call.
    """


_PACKAGE_DIRS = tuple(
    os.path.dirname(module.__file__) + os.sep
    for module in (sys.modules[__name__.rpartition(".")[0]], sklearn)
)


def count(n, noun):
    """``"1 epoch"``, ``"3 epochs"``: a number with its noun, for messages."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def warn(message, category=UserWarning):
    """``warnings.warn`` attributed to the first caller outside skdbn and sklearn.

    The estimators reach their warnings through several layers (scikit-learn's
    fit context, pipelines, the training loops), so a fixed stacklevel would
    point inside a library.
    """
    frame, level = sys._getframe(1), 2  # level 1 would be this function
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIRS):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def warn_interrupted(label, n_done, what="epochs"):
    """The warning for a training stage ended early by Ctrl-C."""
    warn(
        f"Training interrupted by the user: {label} stopped after {n_done} "
        f"complete {what}; the model keeps the weights it had reached.",
        UserWarning,
    )


def check_visible_range(X, visible_unit, *, fitting):
    """Reject non-finite data; at fit, warn about data the units do not model.

    A unit type says which data it models (``range_problem``): data past that
    range is computed at predict time, warned about once at fit, and refused
    at fit only when training cannot work on it (0-255 pixels, say; see the
    unit's ``untrainable``). One minimum and one maximum find every problem, so the
    estimators ask ``validate_data`` not to make its own pass for NaN.
    """
    values = X.data if sp.issparse(X) else X
    if math.prod(values.shape) == 0:
        return
    xp = backend_of(values).xp
    with np.errstate(invalid="ignore"):
        low, high = float(xp.min(values)), float(xp.max(values))
    if sp.issparse(X) and values.size < X.shape[0] * X.shape[1]:
        low, high = min(low, 0), max(high, 0)  # the implicit zeros
    if math.isnan(low) or math.isnan(high):
        raise ValueError(
            "Input X contains NaN. Impute or drop the missing values first, "
            "for instance with sklearn.impute.SimpleImputer."
        )
    if math.isinf(low) or math.isinf(high):
        raise ValueError(
            "Input X contains infinity or a value too large for its dtype. "
            "Remove or clip those values first."
        )
    if not fitting:
        return
    unit = get_unit(visible_unit)
    problem = unit.range_problem(float(low), float(high))
    if problem is None:
        return
    reason = unit.untrainable(values, low, high)
    if reason is not None:
        raise ValueError(f"{problem} {reason}")
    warn(problem + " Fitting goes on with the values as they are.", DataRangeWarning)


def input_backend(X):
    """The backend ``X`` computes on: its namespace's under scikit-learn's
    ``array_api_dispatch``, NumPy's otherwise (and for sparse matrices)."""
    if not sklearn.get_config()["array_api_dispatch"] or sp.issparse(X):
        return NUMPY
    return namespace_backend(X)


def check_same_backend(X, fitted, estimator, method):
    """Refuse input from another namespace or device than the fitted arrays'.

    As scikit-learn's estimators do under ``array_api_dispatch``: nothing is
    copied between devices behind the user's back.
    """
    fitted_backend, input = backend_of(fitted), input_backend(X)
    if fitted_backend is input:
        return
    # (Worded as scikit-learn's own check_same_namespace words it.)
    raise ValueError(
        f"Inputs passed to {type(estimator).__name__}.{method}() must use the "
        "same namespace and the same device as those passed to fit(): the "
        f"model was fitted on {fitted_backend}, the data are on "
        f"{input} (another namespace than NumPy's needs "
        "array_api_dispatch=True). You can move the model with "
        "sklearn.utils._array_api.move_estimator_to(model, xp, device)."
    )


def validate_visible_data(
    estimator, X, y="no_validation", *, reset, fitting, method=None
):
    """``validate_data`` for data entering the visible layer, plus its checks.

    The one route of every estimator's ``X`` (and, given ``y``, of its
    training targets; then ``(X, y)`` is returned). Fitting converts the
    data to the estimator's dtype, in the backend's training layout (on
    NumPy row-major: training gathers rows into its batches, and from a
    column-major array each row is a strided gather, many times slower).
    Prediction paths keep any real dtype (uint8 images stay uint8): the
    network converts them block by block, so memory does not grow with a
    float copy of the whole input. Under ``array_api_dispatch`` the data
    stay in their namespace and on their device; after the first fit
    (``reset=False``) they must be those of the model's fitted arrays
    (``estimator._fitted_array()``), and ``method`` names the call in the
    error. Targets come back as a NumPy array: they are encoded on the host,
    once, and the encoding moved to the device.
    """
    backend = input_backend(X)
    options = dict(
        accept_sparse="csr",
        dtype=backend.dtype(estimator.dtype) if fitting else "numeric",
        order=backend.memory_order if fitting else None,
        ensure_all_finite=False,  # check_visible_range does it in one pass
        reset=reset,
    )
    supervised = not (isinstance(y, str) and y == "no_validation")
    if supervised:
        # scikit-learn's finiteness check sums y, which overflows for finite
        # targets near the largest float (refused with advice later).
        with np.errstate(over="ignore", invalid="ignore"):
            X, y = validate_data(
                estimator,
                X,
                y,
                multi_output=getattr(estimator, "_multi_output", False),
                y_numeric=not is_classifier(estimator),
                **options,
            )
    else:
        X = validate_data(estimator, X, **options)
    if not reset:
        check_same_backend(X, estimator._fitted_array(), estimator, method)
    if X.dtype == backend.xp.bool:
        X = as_dtype(X, backend.dtype("uint8"))
    check_visible_range(X, estimator.visible_unit, fitting=fitting)
    if not supervised:
        return X
    if sp.issparse(y):  # a sparse label indicator matrix, as MLPClassifier takes
        return X, y.toarray()
    return X, backend_of(y).to_numpy(y)


def check_activations(H, n_expected, dtype, what):
    """Validate ``inverse_transform`` input: ``n_expected`` columns of ``what``."""
    backend = input_backend(H)
    H = check_array(H, dtype=backend.dtype(dtype_name(dtype)))
    if H.shape[1] != n_expected:
        raise ValueError(
            f"X has {H.shape[1]} features, but inverse_transform expects "
            f"{n_expected} {what}."
        )
    return H


def check_finite_samples(samples):
    """Refuse to return a Gibbs chain that has run off to infinity."""
    if not all_finite(samples):
        raise ValueError(
            "The Gibbs chain diverged: this model has no stationary "
            "distribution to sample (Gaussian visible and hidden units whose "
            "weights amplify, spectral norm 1 or more). Use fewer "
            "n_gibbs_steps, or Bernoulli hidden units."
        )
    return samples


def check_finite_output(out, dtype):
    """Refuse to return non-finite output computed from finite input."""
    if not all_finite(out):
        raise ValueError(
            f"The input's values are too large for a {dtype_name(dtype)} "
            "model: its activations overflowed. Scale the input as the "
            "training data was scaled, or fit with dtype='float64'."
        )
    return out


def check_finite_training(values, what, learning_rate_name="learning_rate"):
    """Raise :class:`TrainingDivergedError` if any array in ``values`` is not finite.

    The message advises lowering ``learning_rate_name``; with None (a solver
    without a step size, L-BFGS) it advises scaling the input instead.
    """
    if learning_rate_name is None:
        advice = (
            "Scale the input (StandardScaler for Gaussian or ReLU units, "
            "MinMaxScaler(clip=True) for Bernoulli ones), or fit with "
            "dtype='float64'."
        )
    else:
        advice = (
            f"Lower {learning_rate_name} (a factor of 10 is a good first step); "
            "standardised inputs also help with Gaussian or ReLU units."
        )
    for value in values:
        if not all_finite(value):
            raise TrainingDivergedError(
                f"Training diverged: {what} became NaN or infinite. {advice}"
            )


def all_finite(value):
    """Whether a number or an array (of any namespace) holds finite values only."""
    if isinstance(value, (float, int, np.number)):
        return math.isfinite(value)
    xp = backend_of(value).xp
    return bool(xp.all(xp.isfinite(value)))


def check_training_progress(loss, history, params, what, learning_rate_name):
    """Raise :class:`TrainingDivergedError` on a non-finite or exploding loss.

    ``history`` holds the earlier values of the loss (per epoch) within the
    current call, so that new data in a later ``partial_fit`` call, with a
    loss of its own scale, is not taken for divergence; the loss explodes
    when it exceeds :data:`DIVERGENCE_FACTOR` times the first of them (or
    :data:`DIVERGENCE_FLOOR`, whichever is larger). ``params`` are checked
    for non-finite values.
    """
    check_finite_training([loss, *params], f"the {what}", learning_rate_name)
    if history:
        reference = max(history[0], DIVERGENCE_FLOOR)
        if loss > DIVERGENCE_FACTOR * reference:
            raise TrainingDivergedError(
                f"Training diverged: the {what} grew from {history[0]:.4g} "
                f"to {loss:.4g}. Lower {learning_rate_name} (a factor of 10 is "
                "a good first step)."
            )


def check_sampling_params(n_samples, n_gibbs_steps):
    """Validate the counts given to a ``sample`` method."""
    for name, value in (("n_samples", n_samples), ("n_gibbs_steps", n_gibbs_steps)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValueError(f"{name} must be an int of at least 1, got {value!r}.")


def per_layer(value, n_layers, name, constraints=()):
    """One value per layer: a scalar repeated, or a checked sequence.

    Each entry must satisfy one of ``constraints`` (scikit-learn parameter
    constraints, as for the scalar form), so per-layer lists are validated
    as strictly as single values.
    """
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        values = [value] * n_layers
    else:
        values = list(value)
        if len(values) != n_layers:
            raise ValueError(
                f"{name} has {len(values)} entries but there are {n_layers} "
                "hidden layers; give one value for all layers or one per layer."
            )
    checks = [make_constraint(c) for c in constraints]
    for entry in values:
        if checks and not any(c.is_satisfied_by(entry) for c in checks):
            allowed = " or ".join(str(c) for c in checks)
            raise InvalidParameterError(
                f"Every entry of {name} must be {allowed}; got {entry!r}."
            )
    return values


def check_classes(y, estimator_name, classes=None):
    """The sorted classes of labels ``y`` (or of ``classes`` when given).

    A classifier needs two classes at least: one class is refused, naming
    it.
    """
    check_classification_targets(y)
    classes = np.unique(y if classes is None else classes)
    if len(classes) < 2:
        raise ValueError(
            f"{estimator_name} needs samples of at least 2 classes, but the "
            f"data contains only one class: {classes[0]!r}."
        )
    return classes


def check_sample_weight(sample_weight, X, dtype):
    """Per-row weights as an array of ``dtype``, or None for unit weights.

    Negative, non-finite or all-zero weights, or a length other than the
    number of rows, are refused, and so are positive weights below the
    smallest normal number of ``dtype`` (checked before the cast, where
    they would lose their precision or underflow to 0). Weights that are
    all 1 are returned as None, so that they train exactly as no weights
    do.
    """
    if sample_weight is None:
        return None
    backend = input_backend(X)
    xp = backend.xp
    target = backend.dtype(dtype_name(dtype))
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=backend.dtype("float64"), ensure_non_negative=True
    )
    smallest = float(xp.finfo(target).smallest_normal)
    positive = sample_weight[sample_weight > 0]
    if float(xp.min(positive)) < smallest:
        raise ValueError(
            f"Sample weights as small as {float(xp.min(positive)):.3g} are "
            f"below the smallest normal {dtype_name(target)} ({smallest:.3g}), "
            "where they lose their precision or underflow to 0. Weights count "
            "as repeated rows: rescale them, for example to a mean of 1 "
            "(sample_weight / sample_weight.mean())."
        )
    if bool(xp.all(sample_weight == 1)):
        return None
    return xp.astype(sample_weight, target)


def one_hot(y, classes, dtype):
    """Labels ``y`` as one-hot rows over ``classes``; unknown labels refused."""
    unseen = np.setdiff1d(y, classes)
    if unseen.size:
        raise ValueError(
            f"y contains labels {unseen!r} absent from classes_ {classes!r}."
        )
    Y = np.zeros((len(y), len(classes)), dtype=dtype)
    Y[np.arange(len(y)), np.searchsorted(classes, y)] = 1
    return Y


# A weight this large saturates every unit it feeds from an input of order 1
# (the units model data in [0, 1] or standardised data): training that gets
# there has diverged, even while every number is still finite. Healthy RBMs
# on digits stay below 10; a CD step of 100 reached 82, one of 1e6 reached
# 1e16 (float32) and 1e71 (float64). Bernoulli visible units fed data past
# [0, 1] (which fit warns of and trains on) grow their weights slowly
# without bound: 2.7e4 after 500 epochs on data in [0, 3], so the bar sits
# well above that, where only a blow-up reaches.
DIVERGENT_WEIGHT = 1e6


def check_weight_growth(weights, learning_rate_name):
    """Raise :class:`TrainingDivergedError` when a weight reaches
    :data:`DIVERGENT_WEIGHT`, naming the parameter to lower."""
    xp = backend_of(weights).xp
    largest = float(xp.max(xp.abs(weights))) if math.prod(weights.shape) else 0.0
    if not largest < DIVERGENT_WEIGHT:
        raise TrainingDivergedError(
            f"Training diverged: a weight grew to {largest:.3g} (past "
            f"{DIVERGENT_WEIGHT:.0e}, every unit it feeds saturates). Lower "
            f"{learning_rate_name} (a factor of 10 is a good first step); data "
            "outside the range the visible units model (fit warns of it) also "
            "make contrastive divergence diverge: scale them "
            "(MinMaxScaler(clip=True) for Bernoulli units)."
        )


def check_representable(values, dtype, what):
    """``values``, computed in a wider precision, in ``dtype``, or a clear error.

    For quantities such as free energies that can overflow the model's
    dtype while the input is finite: where their true value fits in
    ``dtype`` it is returned; where it does not (or overflowed even the
    wider precision) the error says how to fix the input.
    """
    xp = backend_of(values).xp
    limit = float(xp.finfo(dtype).max)
    if all_finite(values) and (
        math.prod(values.shape) == 0 or float(xp.max(xp.abs(values))) <= limit
    ):
        return as_dtype(values, dtype)
    name = dtype_name(dtype)
    fix = ", or fit with dtype='float64'" if name == "float32" else ""
    raise ValueError(
        f"The input's values are too large for a {name} model: their {what} "
        f"exceeds the largest {name} ({limit:.3g}). Scale the input as the "
        f"training data was scaled{fix}."
    )
