"""Input and training checks shared by every estimator."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, validate_data

DTYPES = {"float32": np.float32, "float64": np.float64}


class TrainingDivergedError(FloatingPointError):
    """Training produced non-finite weights or losses.

    Raised instead of returning a model full of NaN; the usual cure is a
    smaller learning rate.
    """


def check_visible_range(X, visible_unit):
    """Reject non-finite data, and data that Bernoulli visible units cannot model.

    One minimum and one maximum find both problems, so the estimators ask
    ``validate_data`` not to make its own separate pass for NaN and infinity.
    """
    values = X.data if sp.issparse(X) else X
    if values.size == 0:
        return
    with np.errstate(invalid="ignore"):
        low, high = np.min(values), np.max(values)
    if np.isnan(low) or np.isnan(high):
        raise ValueError(
            "Input X contains NaN. Impute or drop the missing values first, "
            "for instance with sklearn.impute.SimpleImputer."
        )
    if np.isinf(low) or np.isinf(high):
        raise ValueError(
            "Input X contains infinity or a value too large for its dtype. "
            "Remove or clip those values first."
        )
    if visible_unit == "bernoulli" and (low < 0 or high > 1):
        raise ValueError(
            f"Input values must lie in [0, 1] for Bernoulli visible units, but "
            f"they range over [{low:.4g}, {high:.4g}]. Scale the data with "
            "sklearn.preprocessing.MinMaxScaler(clip=True), or standardise it "
            "and use visible_unit='gaussian'."
        )


def validate_visible_data(estimator, X, *, reset, convert=True):
    """``validate_data`` for data entering the visible layer, plus its checks.

    With ``convert`` the data becomes the estimator's dtype (fitting).
    Prediction paths pass ``convert=False``: float input stays as it is and
    is converted chunk by chunk later, so memory does not grow with a float32
    copy of the whole input.
    """
    dtype = DTYPES[estimator.dtype] if convert else (np.float32, np.float64)
    X = validate_data(
        estimator,
        X,
        accept_sparse="csr",
        dtype=dtype,
        ensure_all_finite=False,  # check_visible_range does it in one pass
        reset=reset,
    )
    check_visible_range(X, estimator.visible_unit)
    return X


def check_activations(H, n_expected, dtype, what):
    """Validate ``inverse_transform`` input: ``n_expected`` columns of ``what``."""
    H = check_array(H, dtype=dtype)
    if H.shape[1] != n_expected:
        raise ValueError(
            f"X has {H.shape[1]} features, but inverse_transform expects "
            f"{n_expected} {what}."
        )
    return H


def check_finite_training(values, what, learning_rate_name="learning_rate"):
    """Raise :class:`TrainingDivergedError` if any array in ``values`` is not finite."""
    for value in values:
        if not np.all(np.isfinite(value)):
            raise TrainingDivergedError(
                f"Training diverged: {what} became NaN or infinite. Lower "
                f"{learning_rate_name} (a factor of 10 is a good first step); "
                "standardised inputs also help with Gaussian or ReLU units."
            )


def per_layer(value, n_layers, name):
    """Expand a scalar to one value per layer, or check a sequence's length."""
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        return [value] * n_layers
    values = list(value)
    if len(values) != n_layers:
        raise ValueError(
            f"{name} has {len(values)} entries but there are {n_layers} hidden "
            f"layers; give one value for all layers or one per layer."
        )
    return values
