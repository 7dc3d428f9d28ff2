"""Property-based tests of the public API's robustness contract.

Every estimator (``RBM``, ``DBNTransformer`` with and without autoencoder
fine-tuning or autoencoder pretraining, ``DBNClassifier`` on binary,
multiclass and multilabel targets, ``DBNRegressor``,
``GenerativeDBNClassifier``) is driven with hypothesis over shapes, input
dtypes (float16 to float64, int32, int64, uint8, bool and object), dense and
sparse layouts, values from 1e-300 to 3e38 in magnitude, sample weights,
``classes=``, warm starts, early stopping and ``scoring``, dropout, head
layers, learning-rate schedules, sparsity, per-layer lists, callbacks and
learning rates up to 1e6. Each example checks that

* the only exceptions that escape are ``ValueError``, ``TypeError``,
  ``NotFittedError`` and ``TrainingDivergedError``, each with a message
  (RuntimeWarnings are errors under the project's pytest configuration, and
  so are failures here too);
* with finite input no method returns a non-finite value: it returns finite
  values or raises ``ValueError`` (on inputs within ``|x| <= 1e6`` it must
  return); shapes are right, probabilities are probabilities and predicted
  labels come from ``classes_``;
* NaN or infinity in ``X`` is a ``ValueError`` at fit and at prediction;
* Bernoulli visible units accept data moderately outside [0, 1] at fit (a
  warning is fine, an error is not) and any finite data at prediction;
* options that cannot take effect are refused (``solver="lbfgs"`` with
  ``early_stopping`` or ``dropout``; ``classes=`` with multilabel targets),
  and so are multilabel targets other than 0/1;
* a call that raises (``fit``, ``partial_fit``, ``fit_transform``, a warm
  start) leaves every fitted attribute, ``history_`` and the random
  generators' states exactly as they were;
* training that ends worse than a constant predictor, or saturated, raises
  or warns naming the learning rate to change;
* sampling and inspection between ``partial_fit`` calls leave the later
  weights unchanged; integer sample weights train as repeated rows;
  ``set_output`` and ``get_feature_names_out`` agree with ``transform``.

Models are tiny. The number of examples comes from the hypothesis profile
that ``tests/conftest.py`` loads: "default" for the everyday run (about a
minute for the file on two cores), "ci" (ten times as many) when the
environment variable ``SKDBN_FULL_TESTS=1``. ``derandomize=True`` makes
every run draw the same examples.
"""

import copy
import math
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skdbn import (
    RBM,
    DBNClassifier,
    DBNRegressor,
    DBNTransformer,
    GenerativeDBNClassifier,
    TrainingDivergedError,
)

try:  # pandas is optional: DataFrame input is only drawn when it is installed
    import pandas as pd
except ImportError:  # pragma: no cover - depends on the environment
    pd = None

# The project's pytest configuration already turns RuntimeWarning into an
# error; repeat it here so the file keeps that meaning wherever it is run.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def _settings(weight=1.0):
    """Settings for one property: ``weight`` times the profile's examples."""
    return settings(
        max_examples=max(1, round(settings().max_examples * weight)),
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        derandomize=True,
        database=None,
        # The explain phase costs more than the rest put together on a failure.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )


# -- the exception contract ---------------------------------------------------

ALLOWED_EXCEPTIONS = (ValueError, TypeError, NotFittedError, TrainingDivergedError)


def attempt(fn, *args, **kwargs):
    """Call ``fn``; return ``(True, result)`` or ``(False, allowed exception)``.

    Any exception outside the allowed set propagates and fails the example.
    ``numpy.linalg.LinAlgError`` is a ValueError subclass but a numerical
    failure leaking out, so it is not allowed either.
    """
    try:
        return True, fn(*args, **kwargs)
    except ALLOWED_EXCEPTIONS as exc:
        if isinstance(exc, np.linalg.LinAlgError):
            raise
        assert str(exc).strip(), f"{type(exc).__name__} raised with an empty message"
        return False, exc


def quiet(fn, *args, **kwargs):
    """``attempt`` with the expected UserWarnings (ConvergenceWarning too) hidden."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return attempt(fn, *args, **kwargs)


def expect_value_error(fn, *args, what, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ok, res = attempt(fn, *args, **kwargs)
    assert not ok, f"{what}: expected ValueError, the call returned normally"
    assert isinstance(res, ValueError), f"{what}: expected ValueError, got {res!r}"
    return res


def expect_success(fn, *args, what, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ok, res = attempt(fn, *args, **kwargs)
    assert ok, f"{what}: must not raise, raised {type(res).__name__}: {res}"
    return res


def finite_or_value_error(fn, *args, strict, what, **kwargs):
    """The output of ``fn`` on finite input: finite, or a ValueError.

    With ``strict`` (input within ``|x| <= 1e6``) the call must succeed.
    Returns the output, or None when the call raised ValueError.
    """
    if strict:
        out = expect_success(fn, *args, what=what, **kwargs)
    else:
        ok, out = quiet(fn, *args, **kwargs)
        if not ok:
            assert isinstance(out, ValueError), (
                f"{what} on finite input may only raise ValueError, got {out!r}"
            )
            event(f"{what}: ValueError")
            return None
    assert_finite(out, what)
    return out


def fit_outcome_ok(ok, res, moderate, what):
    """Check a fit's outcome on finite data; True when the model is usable.

    On data within [-2, 3] (any visible unit) a fit may only fail by
    diverging; on larger values any allowed exception is acceptable.
    """
    event(f"{what}: {'ok' if ok else type(res).__name__}")
    if ok:
        return True
    if moderate:
        assert isinstance(res, TrainingDivergedError), (
            f"{what} on finite data within [-2, 3] must not raise "
            f"{type(res).__name__}: {res}"
        )
    return False


def assert_finite(value, what):
    if pd is not None and isinstance(value, pd.DataFrame):
        value = value.to_numpy()
    arr = np.asarray(value)
    assert np.issubdtype(arr.dtype, np.number) or arr.dtype == bool, (
        f"{what}: non-numeric {arr.dtype}"
    )
    bad = ~np.isfinite(arr)
    assert not bad.any(), (
        f"{what} is not finite: {int(bad.sum())} of {arr.size} values, "
        f"such as {arr[bad].ravel()[:3]!r} (shape {arr.shape}, dtype {arr.dtype})"
    )


WEIGHT_ATTRIBUTES = (
    "components_",
    "intercept_hidden_",
    "intercept_visible_",
    "coefs_",
    "intercepts_",
    "recognition_coefs_",
    "recognition_intercepts_",
    "generative_coefs_",
    "generative_intercepts_",
)


def weights(est, prefix=""):
    """Every weight array of a fitted estimator, by name, sub-models included."""
    out = {}
    for name in WEIGHT_ATTRIBUTES:
        value = getattr(est, name, None)
        if isinstance(value, list):
            for i, arr in enumerate(value):
                out[f"{prefix}{name}[{i}]"] = np.asarray(arr)
        elif value is not None:
            out[prefix + name] = np.asarray(value)
    for i, rbm in enumerate(getattr(est, "rbms_", [])):
        out.update(weights(rbm, f"{prefix}rbms_[{i}]."))
    if getattr(est, "top_rbm_", None) is not None:
        out.update(weights(est.top_rbm_, f"{prefix}top_rbm_."))
    return out


def assert_finite_params(est):
    for name, arr in weights(est).items():
        assert_finite(arr, name)


# -- comparing every fitted attribute -------------------------------------------

# The user's callback objects are not fitted state: compared by identity.
CALLBACK_LIST = "_skl_callbacks"


def fitted_state(est):
    """A deep copy of every attribute of ``est`` that is not a parameter."""
    params = set(est.get_params(deep=False))
    state = {}
    for key, value in est.__dict__.items():
        if key in params:
            continue
        if key == CALLBACK_LIST:
            state[key] = ("identity", [id(c) for c in value])
        else:
            state[key] = copy.deepcopy(value)
    return state


def assert_same_state(before, est, what):
    after_keys = set(est.__dict__) - set(est.get_params(deep=False))
    assert set(before) == after_keys, (
        f"{what} changed the set of fitted attributes: added "
        f"{sorted(after_keys - set(before))}, removed "
        f"{sorted(set(before) - after_keys)}"
    )
    for key, old in before.items():
        new = est.__dict__[key]
        if key == CALLBACK_LIST:
            new = ("identity", [id(c) for c in new])
        _assert_same(old, new, key, what, set())


def _assert_same(old, new, path, what, seen):
    msg = f"{what} changed {path}"
    if isinstance(old, np.random.Generator):
        assert isinstance(new, np.random.Generator), msg
        _assert_same(old.bit_generator.state, new.bit_generator.state, path, what, seen)
    elif isinstance(old, np.random.RandomState):
        assert isinstance(new, np.random.RandomState), msg
        a, b = old.get_state(legacy=False), new.get_state(legacy=False)
        _assert_same(a, b, path + ".get_state()", what, seen)
    elif sp.issparse(old):
        assert sp.issparse(new) and old.shape == new.shape, msg
        _assert_same(old.toarray(), new.toarray(), path, what, seen)
    elif isinstance(old, np.ndarray):
        assert isinstance(new, np.ndarray), f"{msg}: {type(new).__name__}"
        assert old.dtype == new.dtype, f"{msg}: dtype {old.dtype} -> {new.dtype}"
        assert old.shape == new.shape, f"{msg}: shape {old.shape} -> {new.shape}"
        numeric = np.issubdtype(old.dtype, np.inexact)
        assert np.array_equal(old, new, equal_nan=numeric), (
            f"{msg}: values differ (NaN positions included)"
        )
    elif isinstance(old, dict):
        assert isinstance(new, dict), msg
        assert set(old) == set(new), f"{msg}: keys {sorted(old)} -> {sorted(new)}"
        for k in old:
            _assert_same(old[k], new[k], f"{path}[{k!r}]", what, seen)
    elif isinstance(old, (list, tuple)):
        assert type(old) is type(new), f"{msg}: {type(old)} -> {type(new)}"
        assert len(old) == len(new), f"{msg}: length {len(old)} -> {len(new)}"
        for i, (a, b) in enumerate(zip(old, new)):
            _assert_same(a, b, f"{path}[{i}]", what, seen)
    elif isinstance(old, float | np.floating):
        assert isinstance(new, float | np.floating), msg
        assert old == new or (math.isnan(old) and math.isnan(new)), (
            f"{msg}: {old!r} -> {new!r}"
        )
    elif old is None or isinstance(old, str | bool | int | np.integer | np.bool_):
        assert type(old) is type(new) and old == new, f"{msg}: {old!r} -> {new!r}"
    elif callable(old) and not hasattr(old, "__dict__"):
        assert old is new or old == new, msg
    elif hasattr(old, "__dict__"):
        assert type(old) is type(new), f"{msg}: {type(old)} -> {type(new)}"
        if id(new) in seen:
            return
        seen.add(id(new))
        _assert_same(vars(old), vars(new), path, what, seen)
    else:
        assert type(old) is type(new), f"{msg}: {type(old)} -> {type(new)}"
        try:
            equal = bool(old == new)
        except Exception:  # noqa: BLE001 - objects without a usable ==
            equal = repr(old) == repr(new)
        assert equal, f"{msg}: {old!r} -> {new!r}"


# -- warnings that name a parameter ----------------------------------------------


class recording_warnings(warnings.catch_warnings):
    """Record every warning; RuntimeWarning stays an error."""

    def __init__(self):
        super().__init__(record=True)

    def __enter__(self):
        record = super().__enter__()
        warnings.simplefilter("always")
        warnings.filterwarnings("error", category=RuntimeWarning)
        return record


def names_parameter(record, names):
    """Whether a recorded warning's message names one of ``names`` (as a word)."""
    return any(
        re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", str(w.message))
        for w in record
        for name in names
    )


# -- data strategies ----------------------------------------------------------

X_DTYPES = [
    "float16",
    "float32",
    "float64",
    "int32",
    "int64",
    "uint8",
    "bool",
    "object",
]
FLOAT_DTYPES = ["float32", "float64"]
NONFINITE_DTYPES = ["float16", "float32", "float64", "object"]
DENSE_ONLY_DTYPES = {"float16", "object"}  # scipy.sparse has neither
DENSE_LAYOUTS = ["C", "F"] + (["pandas"] if pd is not None else [])
LAYOUTS = DENSE_LAYOUTS + ["csr", "csc", "coo"]
VALUE_RANGES = {
    "unit": (0.0, 1.0),
    "slightly": (-0.5, 1.5),  # and at least one value outside [0, 1]
    "large": (-1e6, 1e6),  # and at least one value of magnitude 1e3 or more
    "huge": (-3e38, 3e38),  # and at least one of magnitude 1e30 or more
    "tiny": (-1e-200, 1e-200),  # and at least one of magnitude 1e-300 to 1e-200
    "nonfinite": (0.0, 1.0),  # plus at least one NaN or infinity
}
FINITE_KINDS = ["unit", "slightly", "large", "huge", "tiny"]
ALL_KINDS = FINITE_KINDS + ["nonfinite"]
LIMITS = {
    "float16": float(np.finfo(np.float16).max),
    "int32": float(np.iinfo(np.int32).max),
    "int64": 9.2e18,
}


class Data:
    """A drawn input matrix and what the contract expects of it."""

    def __init__(self, X, values, kind, dtype, layout):
        self.X = X
        self.values = values  # dense float64 copy of what X holds
        self.kind = kind
        self.dtype = dtype
        self.layout = layout
        self.finite = bool(np.all(np.isfinite(values)))
        self.moderate = self.finite and (
            values.size == 0 or (values.min() >= -2 and values.max() <= 3)
        )
        # Prediction on it must succeed (the contract's older, stricter range).
        self.strict = self.finite and (values.size == 0 or np.abs(values).max() <= 1e6)

    @property
    def shape(self):
        return self.values.shape

    def __repr__(self):
        return (
            f"Data(kind={self.kind!r}, dtype={self.dtype!r}, "
            f"layout={self.layout!r}, values=np.{self.values!r})"
        )


def _cast(values, dtype):
    if dtype == "bool":
        return values > 0.5
    if dtype == "uint8":
        return np.clip(np.round(values), 0, 255).astype(np.uint8)
    if dtype == "object":
        return values.astype(object)  # Python floats
    finite = np.isfinite(values)
    if dtype in LIMITS:
        limit = LIMITS[dtype]
        values = np.where(finite, np.clip(values, -limit, limit), values)
    if dtype in ("int32", "int64"):
        return np.round(values).astype(dtype)
    return values.astype(dtype)


def _layout(X, layout):
    if layout == "C":
        return np.ascontiguousarray(X)
    if layout == "F":
        return np.asfortranarray(X)
    if layout == "pandas":
        return pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    return {"csr": sp.csr_matrix, "csc": sp.csc_matrix, "coo": sp.coo_matrix}[layout](X)


@st.composite
def matrices(draw, n_samples, n_features, kinds=FINITE_KINDS, dtypes=X_DTYPES):
    kind = draw(st.sampled_from(kinds))
    if kind == "nonfinite":
        dtypes = [d for d in dtypes if d in NONFINITE_DTYPES] or FLOAT_DTYPES
    dtype = draw(st.sampled_from(dtypes))
    low, high = VALUE_RANGES[kind]
    values = draw(
        hnp.arrays(
            np.float64,
            (n_samples, n_features),
            elements=st.floats(low, high, allow_nan=False, allow_infinity=False),
        )
    )
    # One cell, at least, shows what the kind is about.
    i = draw(st.integers(0, n_samples - 1))
    j = draw(st.integers(0, n_features - 1))
    if kind == "nonfinite":
        values[i, j] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    elif kind == "slightly":
        values[i, j] = draw(st.floats(-0.5, -0.01) | st.floats(1.01, 1.5))
    elif kind == "large":
        values[i, j] = draw(st.floats(-1e6, -1e3) | st.floats(1e3, 1e6))
    elif kind == "huge":
        values[i, j] = draw(st.floats(-3e38, -1e30) | st.floats(1e30, 3e38))
    elif kind == "tiny":
        values[i, j] = draw(st.floats(-1e-200, -1e-300) | st.floats(1e-300, 1e-200))
    X = _cast(values, dtype)
    layouts = DENSE_LAYOUTS if dtype in DENSE_ONLY_DTYPES else LAYOUTS
    layout = draw(st.sampled_from(layouts))
    return Data(_layout(X, layout), X.astype(np.float64), kind, dtype, layout)


n_samples_st = st.integers(1, 40)
n_features_st = st.integers(1, 8)
n_test_st = st.integers(1, 10)

LAYER_SIZES = [(1,), (3,), (4, 2)]
HIDDEN_UNITS = ["bernoulli", "gaussian", "relu"]
VISIBLE_UNITS = ["bernoulli", "gaussian"]
# Learning rates up to the ones that ruin a model; a fit may diverge (and
# raise) with them, but must never return a model with non-finite output.
RBM_RATES = ["auto", 0.01, 0.1, 10.0, 1e3, 1e6]
PRETRAIN_RATES = ["auto", 0.01, 0.1, 10.0, 1e3, 1e6]
TUNING_RATES = [1e-3, 0.1, 1.0, 10.0, 100.0]


def _per_layer(draw, n_layers, scalar):
    """A scalar for all layers, or a list with one value per layer."""
    if draw(st.booleans()):
        return draw(scalar)
    return [draw(scalar) for _ in range(n_layers)]


@st.composite
def pretraining_params(draw, hidden_units, autoencoder=True):
    sizes = draw(st.sampled_from(LAYER_SIZES))
    n = len(sizes)
    per_layer_units = [u for u in hidden_units if u != "auto"]  # "auto": scalar
    params = {
        "hidden_layer_sizes": sizes,
        "visible_unit": draw(st.sampled_from(VISIBLE_UNITS)),
        "hidden_unit": draw(st.sampled_from(hidden_units))
        if draw(st.booleans())
        else [draw(st.sampled_from(per_layer_units)) for _ in range(n)],
        "pretrain_epochs": _per_layer(draw, n, st.integers(0, 2)),
        "pretrain_learning_rate": _per_layer(draw, n, st.sampled_from(PRETRAIN_RATES)),
        "sparsity_cost": _per_layer(draw, n, st.sampled_from([0.0] * 5 + [0.1, 10.0])),
        "sparsity_target": _per_layer(draw, n, st.sampled_from([0.1, 0.5])),
        "batch_size": draw(st.integers(1, 50)),
        "persistent": draw(st.booleans()),
        "n_gibbs_steps": draw(st.integers(1, 2)),
        "dtype": draw(st.sampled_from(FLOAT_DTYPES)),
        "random_state": draw(st.integers(0, 3)),
    }
    if autoencoder and draw(st.sampled_from([False, False, True])):
        params["pretraining"] = "autoencoder"
        params["pretrain_noise"] = draw(st.sampled_from([0.0, 0.3]))
    return params


def _hidden_units_list(params):
    units = params["hidden_unit"]
    n = len(params["hidden_layer_sizes"])
    return [units] * n if isinstance(units, str) else list(units)


def _differs(a, b):
    return repr(a) != repr(b)


def inert_options(params, est_class):
    """The parameters set away from their default that cannot take effect.

    A fit may refuse them (a ValueError naming one of them) rather than
    ignore them silently; the refusals the contract requires are in
    ``refused_options``.
    """
    defaults = est_class().get_params()
    get = lambda key: params.get(key, defaults.get(key))  # noqa: E731
    inert = set()
    if get("solver") == "lbfgs":
        inert |= {"learning_rate", "momentum", "early_stopping", "dropout"}
        inert |= {"n_iter_no_change", "validation_fraction", "batch_size"}
    if get("solver") == "adam":
        inert.add("momentum")
    if not get("early_stopping"):
        inert |= {"scoring", "validation_fraction"}
    if get("pretraining") == "autoencoder":
        inert |= {"persistent", "n_gibbs_steps", "pretrain_learning_rate"}
        inert |= {"pretrain_weight_decay", "sparsity_cost", "sparsity_target"}
    else:
        inert.add("pretrain_noise")
    if np.all(np.asarray(get("pretrain_epochs")) == 0):
        inert |= {"persistent", "n_gibbs_steps", "pretrain_learning_rate"}
        inert |= {"sparsity_cost", "sparsity_target", "pretrain_noise"}
    if np.all(np.asarray(get("sparsity_cost"), dtype=float) == 0):
        inert.add("sparsity_target")
    units = get("hidden_unit")
    if not isinstance(units, str) or units != "bernoulli":
        inert |= {"sparsity_cost", "sparsity_target"}
    if not get("fine_tune") or get("max_iter") == 0:
        inert |= {"learning_rate", "momentum", "dropout", "early_stopping"}
        inert |= {"scoring", "validation_fraction", "n_iter_no_change", "tol"}
    if get("head_max_iter") == 0:
        inert.add("head_hidden_layer_sizes")
    return {k for k in inert if k in params and _differs(params[k], defaults[k])}


def refusal_ok(ok, res, params, est_class):
    """Whether a failed fit refused an option that cannot take effect."""
    if ok or not isinstance(res, ValueError):
        return False
    inert = inert_options(params, est_class)
    named = [k for k in inert if names_parameter([_Msg(res)], [k])]
    if named:
        event(f"refused inert {sorted(named)}")
    return bool(named)


class _Msg:
    def __init__(self, message):
        self.message = message


def _tuning_params(draw):
    return {
        "solver": draw(st.sampled_from(["adam", "sgd", "lbfgs"])),
        "learning_rate_init": draw(st.sampled_from(TUNING_RATES)),
        "learning_rate": draw(st.sampled_from(["constant", "cosine", "adaptive"])),
        "momentum": draw(st.sampled_from([0.0, 0.9])),
        "max_iter": draw(st.integers(0, 3)),
        "early_stopping": draw(st.sampled_from([False, False, True])),
        "validation_fraction": draw(st.sampled_from([0.1, 0.5])),
        "n_iter_no_change": draw(st.integers(1, 2)),
        "tol": draw(st.sampled_from([1e-4, 0.0])),
    }


rbm_params = st.fixed_dictionaries(
    {
        "n_components": st.integers(1, 4),
        "visible_unit": st.sampled_from(VISIBLE_UNITS),
        "hidden_unit": st.sampled_from(HIDDEN_UNITS),
        "learning_rate": st.sampled_from(RBM_RATES),
        "batch_size": st.integers(1, 50),
        "n_iter": st.integers(0, 2),
        "n_gibbs_steps": st.integers(1, 2),
        "persistent": st.booleans(),
        "sparsity_cost": st.sampled_from([0.0] * 5 + [0.1, 10.0]),
        "dtype": st.sampled_from(FLOAT_DTYPES),
        "random_state": st.integers(0, 3),
    }
)


@st.composite
def transformer_params(draw):
    params = draw(pretraining_params(["auto", *HIDDEN_UNITS]))
    params.update(_tuning_params(draw))
    params["fine_tune"] = draw(st.booleans())
    params["alpha"] = draw(st.sampled_from([0.0, 1e-4]))
    return params


@st.composite
def supervised_params(draw):
    params = draw(pretraining_params(HIDDEN_UNITS))
    params.update(_tuning_params(draw))
    params.update(
        {
            "alpha": draw(st.sampled_from([0.0, 1e-4, 1.0])),
            "dropout": draw(st.sampled_from([0.0, 0.0, 0.5])),
            "head_hidden_layer_sizes": draw(st.sampled_from([(), (), (2,)])),
            "head_max_iter": draw(st.sampled_from([0, 3, 20])),
            "fine_tune": draw(st.booleans()),
        }
    )
    return params


@st.composite
def generative_params(draw):
    sizes = draw(st.sampled_from([(2,), (3, 2), (2, 3)]))
    n = len(sizes)
    return {
        "hidden_layer_sizes": sizes,
        "visible_unit": draw(st.sampled_from(VISIBLE_UNITS)),
        "pretrain_epochs": _per_layer(draw, n, st.integers(0, 2)),
        "pretrain_learning_rate": _per_layer(draw, n, st.sampled_from(PRETRAIN_RATES)),
        "batch_size": draw(st.integers(1, 50)),
        "persistent": draw(st.booleans()),
        "n_gibbs_steps": draw(st.integers(1, 2)),
        "up_down_epochs": draw(st.integers(0, 2)),
        "up_down_learning_rate": draw(st.sampled_from([0.01, 1.0, 1e3, 1e6])),
        "up_down_gibbs_steps": draw(st.integers(1, 2)),
        "dtype": draw(st.sampled_from(FLOAT_DTYPES)),
        "random_state": draw(st.integers(0, 3)),
    }


def wild_rates(params):
    """Whether a learning rate (or the sparsity cost) is far above sane values."""
    for key in (
        "learning_rate",
        "pretrain_learning_rate",
        "learning_rate_init",
        "up_down_learning_rate",
        "sparsity_cost",
    ):
        values = params.get(key, [])
        values = [values] if isinstance(values, str | float | int) else values
        if any(not isinstance(v, str) and v > 1.0 for v in values):
            return True
    return False


def refused_options(params):
    """Why a supervised fit must refuse ``params`` (None when it must not)."""
    if params.get("solver") == "lbfgs":
        if params.get("early_stopping"):
            return "solver='lbfgs' with early_stopping=True"
        if params.get("dropout", 0) > 0:
            return "solver='lbfgs' with dropout>0"
    return None


# Float labels must be integral: scikit-learn calls 2.5 a continuous target.
LABEL_SETS = [
    np.array([0, 1, 2]),
    np.array(["a", "b", "c"]),
    np.array([-1.0, 2.0, 7.0]),
]
# Label pairs of a 2-D target: only 0/1 is a multilabel indicator matrix.
INDICATOR_VALUES = [(0, 1), (0.0, 1.0), (False, True)]
BAD_INDICATOR_VALUES = [(-1, 1), (0, 2), (1, 2), (-1.0, 1.0)]


@st.composite
def class_labels(draw, n_samples, single_class=False):
    labels = draw(st.sampled_from(LABEL_SETS))
    if single_class:
        return np.repeat(labels[:1], n_samples)
    n_classes = draw(st.integers(2, min(3, n_samples)))
    codes = np.array(
        draw(
            st.lists(
                st.integers(0, n_classes - 1), min_size=n_samples, max_size=n_samples
            )
        )
    )
    codes[:n_classes] = np.arange(n_classes)  # every class present
    return labels[codes]


@st.composite
def indicator_targets(draw, n_samples, values=INDICATOR_VALUES):
    """A 2-D target of two values (0/1 or others), both present."""
    low, high = draw(st.sampled_from(values))
    n_labels = draw(st.integers(2, 3))
    bits = draw(hnp.arrays(np.bool_, (n_samples, n_labels), elements=st.booleans()))
    bits[0, 0], bits[-1, -1] = False, True  # both values present
    Y = np.where(bits, high, low)
    return Y.astype(np.asarray([low, high]).dtype)


@st.composite
def sample_weights(draw, n_samples):
    kind = draw(st.sampled_from(["none", "none", "int", "float"]))
    if kind == "none":
        return None
    if kind == "int":
        elements = st.integers(0, 3)
    else:
        elements = st.floats(0, 10, allow_nan=False) | st.just(0.0)
    w = np.asarray(
        draw(st.lists(elements, min_size=n_samples, max_size=n_samples)), dtype=float
    )
    if not w.any():
        w[0] = 1.0
    return w


def positive_classes(y, w):
    """The labels of the rows of positive weight."""
    if y.ndim == 2:
        return None
    return np.unique(y if w is None else y[w > 0])


@st.composite
def regression_targets(draw, n_samples):
    n_outputs = draw(st.sampled_from([None, 1, 2]))
    shape = (n_samples,) if n_outputs is None else (n_samples, n_outputs)
    bound = draw(st.sampled_from([1.0, 1e18, 1e300]))
    return draw(
        hnp.arrays(
            np.float64,
            shape,
            elements=st.floats(-bound, bound, allow_nan=False, allow_infinity=False),
        )
    )


# -- callbacks ------------------------------------------------------------------


class Recorder:
    """A callback that counts the tasks and can ask to stop after a few."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.ended = 0

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(
        self, estimator, context, *, X=None, y=None, fitted_estimator=None, **kw
    ):
        self.ended += 1
        return self.stop_after is not None and self.ended >= self.stop_after


def maybe_callbacks(data, est):
    """Draw a callback (or none) and set it on ``est`` when it takes callbacks."""
    stop = data.draw(st.sampled_from([None, None, None, 1, 3]), label="callback")
    if stop is not None and hasattr(est, "set_callbacks"):
        est.set_callbacks(Recorder(stop_after=stop if stop > 1 else None))
    return est


# -- checks shared by the families ---------------------------------------------


def check_rejects_nonfinite(methods, data):
    """Every prediction-type method must answer NaN/inf input with ValueError."""
    for name, fn in methods:
        expect_value_error(fn, data.X, what=f"{name} on {data!r}")


def check_inverse_of_arbitrary(fn, codes, n_rows, n_out, what, strict=True):
    """``inverse_transform`` of any matrix of the right width.

    NaN or infinity is refused; finite values give finite output or a
    ValueError (values within 1e6 must succeed). Sparse input may be refused
    with a TypeError asking for dense data.
    """
    what = f"{what} of {codes!r}"
    if sp.issparse(codes.X):
        ok, res = quiet(fn, codes.X)
        if not ok:
            assert isinstance(res, TypeError | ValueError), res
            return
        assert codes.finite, f"{what}: NaN/inf accepted"
        assert_finite(res, what)
    elif not codes.finite:
        expect_value_error(fn, codes.X, what=what)
        return
    else:
        strict = strict and codes.strict
        res = finite_or_value_error(fn, codes.X, strict=strict, what=what)
    assert res is None or res.shape == (n_rows, n_out)


# -- RBM ----------------------------------------------------------------------


@_settings(3.0)
@given(data=st.data())
def test_rbm_contract(data):
    params = data.draw(rbm_params, label="params")
    n, f = data.draw(n_samples_st, label="n"), data.draw(n_features_st, label="f")
    train = data.draw(matrices(n, f, ALL_KINDS), label="train")
    rbm = maybe_callbacks(data, RBM(**params))

    if not train.finite:
        expect_value_error(rbm.fit, train.X, what="RBM.fit on NaN/inf")
        return
    ok, res = quiet(rbm.fit, train.X)
    if refusal_ok(ok, res, params, RBM):
        return
    if not fit_outcome_ok(ok, res, train.moderate, "RBM.fit"):
        return
    assert_finite_params(rbm)
    # Within 1e6, trained on such data at sane rates: predictions must work.
    sane = train.strict and not wild_rates(params)
    k = params["n_components"]

    n_test = data.draw(n_test_st, label="n_test")
    test = data.draw(matrices(n_test, f, ALL_KINDS), label="test")
    methods = [
        ("transform", rbm.transform),
        ("score_samples", rbm.score_samples),
        ("free_energy", rbm.free_energy),
        ("gibbs", rbm.gibbs),
    ]
    if not test.finite:
        check_rejects_nonfinite(methods, test)
    else:
        s = test.strict and sane
        H = finite_or_value_error(rbm.transform, test.X, strict=s, what="transform")
        if H is not None:
            assert H.shape == (n_test, k)
            V = finite_or_value_error(
                rbm.inverse_transform, H, strict=s, what="RBM.inverse_transform"
            )
            if V is not None:
                assert V.shape == (n_test, f)
        for name in ("score_samples", "free_energy"):
            out = finite_or_value_error(
                getattr(rbm, name), test.X, strict=s, what=f"RBM.{name}"
            )
            assert out is None or np.shape(out) == (n_test,)
        G = finite_or_value_error(rbm.gibbs, test.X, strict=s, what="RBM.gibbs")
        assert G is None or G.shape == (n_test, f)

    # inverse_transform of arbitrary hidden values
    codes = data.draw(matrices(n_test, k, ALL_KINDS), label="codes")
    check_inverse_of_arbitrary(
        rbm.inverse_transform, codes, n_test, f, "RBM.inverse_transform", sane
    )

    n_draw = data.draw(st.integers(1, 5), label="n_draw")
    steps = data.draw(st.integers(1, 3), label="sample_steps")
    S = finite_or_value_error(
        rbm.sample, n_draw, n_gibbs_steps=steps, random_state=0, strict=False,
        what="RBM.sample",
    )  # fmt: skip
    if S is not None:
        assert S.shape == (n_draw, f)
        if params["visible_unit"] == "bernoulli":
            assert np.all((S >= 0) & (S <= 1)), "Bernoulli samples outside [0, 1]"

    # partial_fit twice on a fresh copy
    fresh = clone(rbm)
    for call in range(2):
        ok, res = quiet(fresh.partial_fit, train.X)
        if refusal_ok(ok, res, params, RBM):
            return
        if not fit_outcome_ok(ok, res, train.moderate, f"RBM.partial_fit #{call}"):
            return
    assert_finite_params(fresh)
    H = finite_or_value_error(
        fresh.transform, train.X, strict=sane, what="RBM.transform after partial_fit"
    )
    assert H is None or H.shape == (n, k)


# -- DBNTransformer -------------------------------------------------------------


@_settings(3.0)
@given(data=st.data())
def test_transformer_contract(data):
    params = data.draw(transformer_params(), label="params")
    n, f = data.draw(n_samples_st, label="n"), data.draw(n_features_st, label="f")
    train = data.draw(matrices(n, f, ALL_KINDS), label="train")
    dbn = maybe_callbacks(data, DBNTransformer(**params))

    if not train.finite:
        expect_value_error(dbn.fit, train.X, what="DBNTransformer.fit on NaN/inf")
        return
    ok, res = quiet(dbn.fit, train.X)
    if refusal_ok(ok, res, params, DBNTransformer):
        return
    if not ok and params["early_stopping"] and "validation" in str(res):
        return  # too few rows to hold some out: a clear error is fine
    if not fit_outcome_ok(ok, res, train.moderate, "DBNTransformer.fit"):
        return
    assert_finite_params(dbn)
    # Within 1e6, trained on such data at sane rates: predictions must work.
    sane = train.strict and not wild_rates(params)
    n_codes = params["hidden_layer_sizes"][-1]

    n_test = data.draw(n_test_st, label="n_test")
    test = data.draw(matrices(n_test, f, ALL_KINDS), label="test")
    if not test.finite:
        check_rejects_nonfinite(
            [("transform", dbn.transform), ("score", dbn.score)], test
        )
    else:
        s = test.strict and sane
        codes = finite_or_value_error(
            dbn.transform, test.X, strict=s, what="DBNTransformer.transform"
        )
        if codes is not None:
            assert codes.shape == (n_test, n_codes)
            rec = finite_or_value_error(
                dbn.inverse_transform,
                codes,
                strict=s,
                what="DBNTransformer.inverse_transform",
            )
            assert rec is None or rec.shape == (n_test, f)
        score = finite_or_value_error(
            dbn.score, test.X, strict=s, what="DBNTransformer.score"
        )
        assert score is None or np.ndim(score) == 0

    codes = data.draw(matrices(n_test, n_codes, ALL_KINDS), label="codes")
    check_inverse_of_arbitrary(
        dbn.inverse_transform,
        codes,
        n_test,
        f,
        "DBNTransformer.inverse_transform",
        sane,
    )

    n_draw = data.draw(st.integers(1, 5), label="n_draw")
    steps = data.draw(st.integers(1, 3), label="sample_steps")
    S = finite_or_value_error(
        dbn.sample, n_draw, n_gibbs_steps=steps, random_state=0, strict=False,
        what="DBNTransformer.sample",
    )  # fmt: skip
    assert S is None or S.shape == (n_draw, f)

    fresh = clone(dbn)
    for call in range(2):
        ok, res = quiet(fresh.partial_fit, train.X)
        full_batch = params["fine_tune"] and params["solver"] == "lbfgs"
        if full_batch:
            # Autoencoder fine-tuning by L-BFGS cannot stream: a clear error.
            assert not ok and isinstance(res, ValueError)
            return
        if refusal_ok(ok, res, params, DBNTransformer):
            return
        streamed_autoencoder = params.get("pretraining") == "autoencoder"
        if not ok and streamed_autoencoder and "pretraining" in str(res):
            return  # a clear refusal to stream autoencoder pretraining
        if not fit_outcome_ok(
            ok, res, train.moderate, f"DBNTransformer.partial_fit #{call}"
        ):
            return
    assert_finite_params(fresh)
    codes = finite_or_value_error(
        fresh.transform,
        train.X,
        strict=sane,
        what="DBNTransformer.transform after partial_fit",
    )
    assert codes is None or codes.shape == (n, n_codes)


# -- DBNClassifier --------------------------------------------------------------


def check_classifier_outputs(clf, X, n_rows, what, strict=True):
    multilabel = getattr(clf, "_output_unit", "softmax") == "bernoulli"
    proba = finite_or_value_error(
        clf.predict_proba, X, strict=strict, what=f"{what} predict_proba"
    )
    if proba is None:
        return None
    assert proba.shape == (n_rows, len(clf.classes_))
    assert np.all((proba >= 0) & (proba <= 1)), f"{what}: probabilities outside [0,1]"
    if not multilabel:
        np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-4)
    log_proba = finite_or_value_error(
        clf.predict_log_proba, X, strict=strict, what=f"{what} predict_log_proba"
    )
    assert log_proba is None or log_proba.shape == proba.shape
    pred = expect_success(clf.predict, X, what=f"{what} predict")
    if multilabel:
        assert pred.shape == (n_rows, len(clf.classes_))
        assert np.all(np.isin(pred, [0, 1])), f"{what}: indicator not 0/1"
    else:
        assert pred.shape == (n_rows,)
        assert np.all(np.isin(pred, clf.classes_)), f"{what}: labels not in classes_"
    return pred


def supervised_fit_outcome(ok, res, params, train, what, est_class):
    """``fit_outcome_ok`` plus the refusals the supervised options call for."""
    if refusal_ok(ok, res, params, est_class):
        return False
    if not ok and params.get("early_stopping") and "validation" in str(res):
        return False  # too few rows to hold some out: a clear error is fine
    if (
        not ok
        and isinstance(res, ValueError)
        and "below the smallest normal" in str(res)
    ):
        return False  # weights the model's dtype cannot hold: refused by design
    return fit_outcome_ok(ok, res, train.moderate, what)


@_settings(3.0)
@given(data=st.data())
def test_classifier_contract(data):
    params = data.draw(supervised_params(), label="params")
    params["scoring"] = data.draw(
        st.sampled_from([None, "accuracy", "neg_log_loss"]), label="scoring"
    )
    f = data.draw(n_features_st, label="f")
    target = data.draw(
        st.sampled_from(["labels"] * 5 + ["single", "multilabel", "bad_multilabel"]),
        label="target",
    )
    n = data.draw(st.integers(1 if target == "single" else 2, 40), label="n")
    train = data.draw(matrices(n, f, ALL_KINDS), label="train")
    if target == "multilabel":
        y = data.draw(indicator_targets(n), label="y")
    elif target == "bad_multilabel":
        y = data.draw(indicator_targets(n, BAD_INDICATOR_VALUES), label="y")
    else:
        y = data.draw(class_labels(n, single_class=target == "single"), label="y")
    w = data.draw(sample_weights(n), label="sample_weight")
    clf = maybe_callbacks(data, DBNClassifier(**params))

    if not train.finite:
        expect_value_error(
            clf.fit, train.X, y, sample_weight=w, what="DBNClassifier.fit on NaN/inf"
        )
        return
    if target == "single":
        expect_value_error(clf.fit, train.X, y, what="DBNClassifier.fit, one class")
        return
    if target == "bad_multilabel":
        for method in (clf.fit, clf.partial_fit):
            expect_value_error(
                method, train.X, y, what=f"{method.__name__} on a {y.dtype} "
                f"multilabel y of values {np.unique(y)}",
            )  # fmt: skip
        return
    refused = refused_options(params)
    if refused:
        expect_value_error(clf.fit, train.X, y, what=f"fit with {refused}")
        return
    if w is not None and positive_classes(y, w) is not None:
        if len(positive_classes(y, w)) < 2:
            expect_value_error(
                clf.fit, train.X, y, sample_weight=w, what="fit, one weighted class"
            )
            return
    ok, res = quiet(clf.fit, train.X, y, sample_weight=w)
    if not supervised_fit_outcome(
        ok, res, params, train, "DBNClassifier.fit", DBNClassifier
    ):
        return
    assert_finite_params(clf)
    # Within 1e6, trained on such data at sane rates: predictions must work.
    sane = train.strict and not wild_rates(params)
    if y.ndim == 1:
        np.testing.assert_array_equal(clf.classes_, np.unique(y))

    n_test = data.draw(n_test_st, label="n_test")
    test = data.draw(matrices(n_test, f, ALL_KINDS), label="test")
    if not test.finite:
        check_rejects_nonfinite(
            [
                ("predict", clf.predict),
                ("predict_proba", clf.predict_proba),
                ("predict_log_proba", clf.predict_log_proba),
            ],
            test,
        )
    else:
        check_classifier_outputs(
            clf, test.X, n_test, "DBNClassifier", test.strict and sane
        )
        y_test = y[np.arange(n_test) % n]
        score = finite_or_value_error(
            clf.score,
            test.X,
            y_test,
            strict=test.strict and sane,
            what="DBNClassifier.score",
        )
        assert score is None or 0 <= score <= 1

    # A warm start continues from the fitted model.
    clf.set_params(warm_start=True)
    ok, res = quiet(clf.fit, train.X, y, sample_weight=w)
    if supervised_fit_outcome(
        ok, res, params, train, "DBNClassifier warm fit", DBNClassifier
    ):
        assert_finite_params(clf)
        check_classifier_outputs(clf, train.X, n, "DBNClassifier warm start", sane)

    fresh = clone(clf).set_params(warm_start=False)
    for call in range(2):
        kwargs = {}
        if call == 0 and data.draw(st.booleans(), label="pass_classes"):
            kwargs["classes"] = np.arange(y.shape[1]) if y.ndim == 2 else np.unique(y)
        if params["solver"] == "lbfgs":
            expect_value_error(
                fresh.partial_fit, train.X, y, **kwargs, what="partial_fit with lbfgs"
            )
            return
        if y.ndim == 2 and "classes" in kwargs:
            expect_value_error(
                fresh.partial_fit, train.X, y, **kwargs,
                what="multilabel partial_fit with classes=",
            )  # fmt: skip
            return
        ok, res = quiet(fresh.partial_fit, train.X, y, sample_weight=w, **kwargs)
        if not supervised_fit_outcome(
            ok, res, params, train, f"DBNClassifier.partial_fit #{call}", DBNClassifier
        ):
            return
    assert_finite_params(fresh)
    check_classifier_outputs(fresh, train.X, n, "after partial_fit", sane)


# -- DBNRegressor -----------------------------------------------------------------


def check_regressor_outputs(reg, X, n_rows, y_shape, what, strict=True):
    pred = finite_or_value_error(reg.predict, X, strict=strict, what=f"{what} predict")
    assert pred is None or pred.shape == (n_rows, *y_shape[1:]), (pred.shape, y_shape)
    return pred


@_settings(3.0)
@given(data=st.data())
def test_regressor_contract(data):
    params = data.draw(supervised_params(), label="params")
    params["scoring"] = data.draw(
        st.sampled_from([None, "r2", "neg_mean_squared_error"]), label="scoring"
    )
    n, f = data.draw(n_samples_st, label="n"), data.draw(n_features_st, label="f")
    train = data.draw(matrices(n, f, ALL_KINDS), label="train")
    y = data.draw(regression_targets(n), label="y")
    w = data.draw(sample_weights(n), label="sample_weight")
    reg = maybe_callbacks(data, DBNRegressor(**params))

    if not train.finite:
        expect_value_error(
            reg.fit, train.X, y, sample_weight=w, what="DBNRegressor.fit on NaN/inf"
        )
        return
    refused = refused_options(params)
    if refused:
        expect_value_error(reg.fit, train.X, y, what=f"fit with {refused}")
        return
    ok, res = quiet(reg.fit, train.X, y, sample_weight=w)
    huge_y = np.abs(y).max() > 1e18
    if not ok and huge_y and isinstance(res, ValueError):
        return  # targets near 1e300: a clear error is allowed
    if not supervised_fit_outcome(
        ok, res, params, train, "DBNRegressor.fit", DBNRegressor
    ):
        return
    assert_finite_params(reg)
    # Within 1e6, trained on such data at sane rates: predictions must work.
    sane = train.strict and not wild_rates(params)
    # Whatever the targets' scale, predictions on the training data are finite.
    check_regressor_outputs(
        reg, train.X, n, y.shape, "DBNRegressor on its data", sane and not huge_y
    )

    n_test = data.draw(n_test_st, label="n_test")
    test = data.draw(matrices(n_test, f, ALL_KINDS), label="test")
    if not test.finite:
        check_rejects_nonfinite([("predict", reg.predict)], test)
    else:
        strict = test.strict and sane and not huge_y
        check_regressor_outputs(reg, test.X, n_test, y.shape, "DBNRegressor", strict)
        if n_test >= 2:  # R^2 is undefined (NaN in scikit-learn) for one row
            y_test = y[np.arange(n_test) % n]
            # R^2 itself overflows for targets near 1e300; then it may refuse.
            finite_or_value_error(
                reg.score, test.X, y_test, strict=strict, what="DBNRegressor.score"
            )

    reg.set_params(warm_start=True)
    ok, res = quiet(reg.fit, train.X, y, sample_weight=w)
    if supervised_fit_outcome(
        ok, res, params, train, "DBNRegressor warm fit", DBNRegressor
    ):
        assert_finite_params(reg)
        check_regressor_outputs(
            reg, train.X, n, y.shape, "DBNRegressor warm start", sane and not huge_y
        )

    fresh = clone(reg).set_params(warm_start=False)
    for call in range(2):
        if params["solver"] == "lbfgs":
            expect_value_error(
                fresh.partial_fit, train.X, y, what="partial_fit with lbfgs"
            )
            return
        ok, res = quiet(fresh.partial_fit, train.X, y, sample_weight=w)
        if not ok and huge_y and isinstance(res, ValueError):
            return
        if not supervised_fit_outcome(
            ok, res, params, train, f"DBNRegressor.partial_fit #{call}", DBNRegressor
        ):
            return
    assert_finite_params(fresh)
    check_regressor_outputs(
        fresh, train.X, n, y.shape, "after partial_fit", sane and not huge_y
    )


# -- GenerativeDBNClassifier --------------------------------------------------------


@_settings(2.0)
@given(data=st.data())
def test_generative_contract(data):
    params = data.draw(generative_params(), label="params")
    f = data.draw(n_features_st, label="f")
    single = data.draw(st.sampled_from([False] * 7 + [True]), label="single_class")
    n = data.draw(st.integers(1 if single else 2, 40), label="n")
    train = data.draw(matrices(n, f, ALL_KINDS), label="train")
    y = data.draw(class_labels(n, single_class=single), label="y")
    gen = maybe_callbacks(data, GenerativeDBNClassifier(**params))

    if not train.finite:
        expect_value_error(gen.fit, train.X, y, what="GenerativeDBN.fit on NaN/inf")
        return
    if single:
        expect_value_error(gen.fit, train.X, y, what="GenerativeDBN.fit, one class")
        return
    ok, res = quiet(gen.fit, train.X, y)
    if not fit_outcome_ok(ok, res, train.moderate, "GenerativeDBNClassifier.fit"):
        return
    assert_finite_params(gen)
    # Within 1e6, trained on such data at sane rates: predictions must work.
    sane = train.strict and not wild_rates(params)
    np.testing.assert_array_equal(gen.classes_, np.unique(y))

    n_test = data.draw(n_test_st, label="n_test")
    test = data.draw(matrices(n_test, f, ALL_KINDS), label="test")
    if not test.finite:
        check_rejects_nonfinite(
            [
                ("predict", gen.predict),
                ("predict_proba", gen.predict_proba),
                ("predict_log_proba", gen.predict_log_proba),
                ("transform", gen.transform),
            ],
            test,
        )
    else:
        what = "GenerativeDBNClassifier"
        check_classifier_outputs(gen, test.X, n_test, what, test.strict and sane)
        H = finite_or_value_error(
            gen.transform, test.X, strict=test.strict and sane, what=f"{what}.transform"
        )
        assert H is None or H.shape[0] == n_test
        y_test = y[np.arange(n_test) % n]
        score = finite_or_value_error(
            gen.score, test.X, y_test, strict=test.strict and sane, what=f"{what}.score"
        )
        assert score is None or 0 <= score <= 1

    n_draw = data.draw(st.integers(1, 5), label="n_draw")
    steps = data.draw(st.integers(1, 3), label="sample_steps")
    label = data.draw(st.sampled_from([None, *np.unique(y)]), label="sample_y")
    out = quiet(gen.sample, n_draw, y=label, n_gibbs_steps=steps, random_state=0)
    if out[0]:
        S, labels = out[1]
        assert_finite(S, "GenerativeDBNClassifier.sample")
        assert S.shape == (n_draw, f)
        assert np.all(np.isin(labels, gen.classes_)), "sampled labels not in classes_"
    else:
        assert isinstance(out[1], ValueError), out[1]

    gen.set_params(warm_start=True)
    ok, res = quiet(gen.fit, train.X, y)
    if fit_outcome_ok(ok, res, train.moderate, "GenerativeDBNClassifier warm fit"):
        assert_finite_params(gen)
        check_classifier_outputs(gen, train.X, n, "GenerativeDBN warm start", sane)

    fresh = clone(gen).set_params(warm_start=False)
    ok, res = quiet(fresh.fit_transform, train.X, y)
    if fit_outcome_ok(ok, res, train.moderate, "GenerativeDBN.fit_transform"):
        assert_finite(res, "GenerativeDBNClassifier.fit_transform")


# -- options that cannot take effect ------------------------------------------------


@_settings(0.5)
@given(data=st.data())
def test_options_that_cannot_take_effect_are_refused(data):
    """lbfgs with early stopping or dropout, and multilabel ``classes=``."""
    Est = data.draw(st.sampled_from([DBNClassifier, DBNRegressor]), label="est")
    case = data.draw(
        st.sampled_from(["early_stopping", "dropout", "multilabel_classes"]),
        label="case",
    )
    n = data.draw(st.integers(10, 30), label="n")
    f = data.draw(st.integers(1, 4), label="f")
    X = data.draw(matrices(n, f, ["unit"], FLOAT_DTYPES), label="X").X
    params = {
        "hidden_layer_sizes": (2,),
        "pretrain_epochs": data.draw(st.integers(0, 1), label="pretrain_epochs"),
        "max_iter": 2,
        "head_max_iter": 3,
        "random_state": 0,
    }
    if case == "multilabel_classes":
        Est = DBNClassifier
        y = data.draw(indicator_targets(n), label="y")
        est = Est(**params, solver="adam")
        classes = data.draw(
            st.sampled_from([np.arange(y.shape[1]), np.array([0, 1])]), label="classes"
        )
        expect_value_error(
            est.partial_fit, X, y, classes=classes,
            what="multilabel partial_fit with classes=",
        )  # fmt: skip
        return
    y = (
        data.draw(class_labels(n), label="y")
        if Est is DBNClassifier
        else np.linspace(-1, 1, n)
    )
    if case == "early_stopping":
        est = Est(**params, solver="lbfgs", early_stopping=True)
    else:
        rate = data.draw(st.sampled_from([0.1, 0.5, 0.9]), label="dropout")
        est = Est(**params, solver="lbfgs", dropout=rate)
    expect_value_error(
        est.fit, X, y, what=f"{Est.__name__}(solver='lbfgs', {case}) fit"
    )


# -- training that ends badly raises or warns -----------------------------------------


def _log_loss(proba, y, classes):
    idx = np.searchsorted(classes, y)
    p = np.clip(proba[np.arange(len(y)), idx].astype(np.float64), 1e-15, 1)
    return float(-np.mean(np.log(p)))


def _constant_log_loss(y):
    _, counts = np.unique(y, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p)))


def _quality_problem(est, X, y):
    """Why the fitted ``est`` is worse than a constant or saturated (or None)."""
    X = np.asarray(X, dtype=np.float64)
    if isinstance(est, DBNRegressor):
        pred = np.asarray(est.predict(X), dtype=np.float64).reshape(len(X), -1)
        Y = y.reshape(len(X), -1)
        var = np.mean((Y - Y.mean(axis=0)) ** 2)
        mse = np.mean((Y - pred) ** 2)
        if mse > 1.01 * var + 1e-6:
            return f"training MSE {mse:.4g} > the constant predictor's {var:.4g}"
        return None
    if hasattr(est, "predict_proba"):
        proba = np.asarray(est.predict_proba(X))
        loss = _log_loss(proba, y, est.classes_)
        const = _constant_log_loss(y)
        if loss > 1.01 * const + 1e-3:
            return f"training log-loss {loss:.4g} > the class prior's {const:.4g}"
        return None
    codes = np.asarray(est.transform(X), dtype=np.float64)
    rec = np.asarray(est.inverse_transform(codes), dtype=np.float64)
    mse = np.mean((rec - X) ** 2)
    base = np.mean((X - X.mean(axis=0)) ** 2)
    if mse > 1.01 * base + 1e-3:
        return f"reconstruction MSE {mse:.4g} > the column means' {base:.4g}"
    units = _hidden_units_list(est.get_params()) if hasattr(est, "rbms_") else None
    bounded = (units or [getattr(est, "hidden_unit", "bernoulli")])[-1] in (
        "bernoulli",
        "auto",
    )
    # (On constant data saturated codes lose nothing: there is nothing to
    # tell apart, and the reconstruction check above holds the model to it.)
    varied = base > 0
    saturated = np.all(np.minimum(codes, 1 - codes) < 1e-6)
    if bounded and varied and codes.size > 1 and saturated:
        return "every hidden unit saturated at 0 or 1 on every row"
    return None


@st.composite
def large_rate_case(draw):
    """An estimator with one learning rate far too large, and that rate's name."""
    family = draw(
        st.sampled_from(["rbm", "transformer", "classifier", "regressor", "generative"])
    )
    sizes = draw(st.sampled_from([(2,), (4,), (3, 2)]))
    seed = draw(st.integers(0, 3))
    batch = draw(st.integers(1, 20))
    pre_rate = draw(st.sampled_from([1e2, 1e3, 1e4, 1e6]))
    if family == "rbm":
        rate = draw(st.sampled_from([10.0, 1e2, 1e3, 1e4, 1e6]))
        est = RBM(
            sizes[0],
            hidden_unit=draw(st.sampled_from(HIDDEN_UNITS)),
            learning_rate=rate,
            n_iter=draw(st.integers(1, 3)),
            batch_size=batch,
            random_state=seed,
        )
        return est, "learning_rate"
    if family == "generative":
        which = draw(
            st.sampled_from(["up_down_learning_rate", "pretrain_learning_rate"])
        )
        kwargs = {
            "up_down_learning_rate": 0.01,
            "pretrain_learning_rate": 0.1,
            which: pre_rate,
        }
        est = GenerativeDBNClassifier(
            sizes,
            pretrain_epochs=draw(st.integers(1, 2)),
            up_down_epochs=draw(st.integers(1, 2)),
            batch_size=batch,
            random_state=seed,
            **kwargs,
        )
        return est, which
    which = draw(st.sampled_from(["learning_rate_init", "pretrain_learning_rate"]))
    if which == "learning_rate_init":
        # No pretraining: its warnings about too few updates would name a
        # learning rate too.
        kwargs = {
            "pretrain_epochs": 0,
            "learning_rate_init": draw(st.sampled_from([1.0, 10.0, 100.0])),
            "solver": draw(st.sampled_from(["adam", "sgd"])),
            "max_iter": draw(st.integers(1, 3)),
        }
    else:
        kwargs = {
            "pretrain_epochs": draw(st.integers(1, 2)),
            "pretrain_learning_rate": pre_rate,
            "max_iter": draw(st.integers(0, 2)),
        }
    if family == "transformer":
        kwargs["fine_tune"] = which == "learning_rate_init"
        kwargs["max_iter"] = max(1, kwargs.get("max_iter", 1))
        est = DBNTransformer(sizes, batch_size=batch, random_state=seed, **kwargs)
    else:
        Est = DBNClassifier if family == "classifier" else DBNRegressor
        est = Est(
            sizes,
            hidden_unit=draw(st.sampled_from(HIDDEN_UNITS)),
            head_max_iter=20,
            batch_size=batch,
            random_state=seed,
            **kwargs,
        )
    return est, which


@_settings(1.0)
@given(data=st.data())
def test_large_learning_rates_raise_or_warn(data):
    """A model ruined by its learning rate is never returned silently."""
    est, rate_name = data.draw(large_rate_case(), label="estimator")
    n = data.draw(st.integers(6, 40), label="n")
    f = data.draw(st.integers(1, 6), label="f")
    X = data.draw(matrices(n, f, ["unit"], FLOAT_DTYPES), label="X").values
    if isinstance(est, DBNRegressor):
        y = data.draw(hnp.arrays(np.float64, n, elements=st.floats(-1, 1)), label="y")
        y[0], y[-1] = -1.0, 1.0
        args = (X, y)
    elif isinstance(est, DBNClassifier | GenerativeDBNClassifier):
        y = data.draw(class_labels(n), label="y")
        args = (X, y)
    else:
        y, args = None, (X,)
    with recording_warnings() as record:
        ok, res = attempt(est.fit, *args)
    if not ok:
        event(f"large rate: {type(res).__name__}")
        return  # raising is the right answer
    if names_parameter(record, [rate_name]):
        event("large rate: warned")
        return
    assert_finite_params(est)
    problem = _quality_problem(est, X, y)
    assert problem is None, (
        f"{type(est).__name__}({rate_name}={est.get_params()[rate_name]}) ended "
        f"with {problem}, with no error and no warning naming {rate_name}; "
        f"warnings: {[str(w.message)[:80] for w in record]}"
    )


# -- sampling and inspection leave the training stream alone -------------------------


def _inspect(est, X, data):
    """Call the read-only methods of a fitted ``est`` (results discarded)."""
    state = data.draw(st.sampled_from([None, 0]), label="sample_random_state")
    calls = []
    if isinstance(est, RBM):
        calls = [
            lambda: est.gibbs(X),
            lambda: est.sample(2, n_gibbs_steps=2, random_state=state),
            lambda: est.score_samples(X),
            lambda: est.free_energy(X),
            lambda: est.transform(X),
        ]
    elif isinstance(est, DBNTransformer):
        calls = [
            lambda: est.sample(2, n_gibbs_steps=2, random_state=state),
            lambda: est.score(X),
            lambda: est.inverse_transform(est.transform(X)),
        ]
    else:
        calls = [lambda: est.predict_proba(X), lambda: est.predict(X)]
    order = data.draw(st.permutations(range(len(calls))), label="inspection")
    for i in order[: data.draw(st.integers(1, len(calls)), label="n_inspect")]:
        quiet(calls[i])


@_settings(1.0)
@given(data=st.data())
def test_inspection_between_partial_fits_keeps_weights(data):
    family = data.draw(st.sampled_from(["rbm", "transformer", "classifier"]))
    n = data.draw(st.integers(2, 30), label="n")
    f = data.draw(st.integers(1, 5), label="f")
    X = data.draw(matrices(n, f, ["unit"], FLOAT_DTYPES), label="X").values
    y = None
    if family == "rbm":
        params = data.draw(rbm_params, label="params")
        params["learning_rate"] = data.draw(st.sampled_from(["auto", 0.1]), label="lr")
        est = RBM(**params)
    elif family == "transformer":
        params = data.draw(transformer_params(), label="params")
        params.update(solver="adam", pretrain_learning_rate=0.1, sparsity_cost=0.0)
        est = DBNTransformer(**params)
    else:
        params = data.draw(supervised_params(), label="params")
        params.update(
            solver="adam", learning_rate_init=1e-3, pretrain_learning_rate=0.1,
            sparsity_cost=0.0,
        )  # fmt: skip
        est = DBNClassifier(**params)
        y = data.draw(class_labels(n), label="y")
    args = (X,) if y is None else (X, y)
    plain = clone(est)
    ok, _ = quiet(est.partial_fit, *args)
    ok2, _ = quiet(plain.partial_fit, *args)
    assert ok == ok2
    if not ok:
        return
    _inspect(est, X, data)
    ok, _ = quiet(est.partial_fit, *args)
    ok2, _ = quiet(plain.partial_fit, *args)
    assert ok == ok2, "inspection between partial_fit calls changed their outcome"
    if not ok:
        return
    inspected, untouched = weights(est), weights(plain)
    assert inspected.keys() == untouched.keys()
    for name in untouched:
        np.testing.assert_array_equal(
            inspected[name],
            untouched[name],
            err_msg=f"{name} after a second partial_fit depends on the "
            "sampling/inspection calls made before it",
        )


# -- sample weights are repeated rows -----------------------------------------------


@_settings(1.0)
@given(data=st.data())
def test_integer_sample_weight_equals_repeated_rows(data):
    """At the default alpha, as with alpha=0: a weight of k is the row k times."""
    Est = data.draw(st.sampled_from([DBNClassifier, DBNRegressor]), label="est")
    n = data.draw(st.integers(2, 15), label="n")
    f = data.draw(st.integers(1, 4), label="f")
    X = data.draw(matrices(n, f, ["unit", "slightly"], ["float64"]), label="X").values
    if Est is DBNClassifier:
        y = data.draw(class_labels(n), label="y")
    else:
        y = data.draw(hnp.arrays(np.float64, n, elements=st.floats(-5, 5)), label="y")
    w = np.array(
        data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n), label="w")
    )
    if Est is DBNClassifier:
        for label in np.unique(y):  # every class keeps a weighted row
            first = np.flatnonzero(y == label)[0]
            w[first] = max(w[first], 1)
    elif not w.any():
        w[0] = 1
    params = {
        "hidden_layer_sizes": data.draw(st.sampled_from([(2,), (3, 2)]), label="sz"),
        "hidden_unit": data.draw(st.sampled_from(HIDDEN_UNITS), label="unit"),
        "solver": "lbfgs",
        "pretrain_epochs": 0,
        "dtype": "float64",
        "head_max_iter": data.draw(st.sampled_from([0, 5, 20]), label="head_iter"),
        "max_iter": data.draw(st.integers(0, 3), label="max_iter"),
        "fine_tune": data.draw(st.booleans(), label="fine_tune"),
        "random_state": data.draw(st.integers(0, 3), label="seed"),
    }  # alpha: the default
    weighted = Est(**params)
    repeated = Est(**params)
    ok, res = quiet(weighted.fit, X, y, sample_weight=w)
    ok2, res2 = quiet(repeated.fit, np.repeat(X, w, axis=0), np.repeat(y, w))
    assert ok == ok2, f"weighted: {res!r}; repeated: {res2!r}"
    if not ok:
        return
    # (A few L-BFGS iterations stop short of the optimum, where rounding in
    # the line search moves the iterates apart by up to about 1e-6; a
    # penalty or a weighting off by the weights' sum moves them by 1e-2.)
    for name, arr in weights(repeated).items():
        np.testing.assert_allclose(
            weights(weighted)[name],
            arr,
            atol=1e-5,
            rtol=0,
            err_msg=f"{name}: integer weights differ from repeated rows "
            f"(alpha={weighted.alpha})",
        )
    out = "predict_proba" if Est is DBNClassifier else "predict"
    np.testing.assert_allclose(
        getattr(weighted, out)(X), getattr(repeated, out)(X), atol=1e-5, rtol=0
    )


# -- set_output and feature names ----------------------------------------------------


def check_feature_names(data, pd_):
    """get_feature_names_out names transform's columns; so does set_output."""
    family = data.draw(st.sampled_from(["rbm", "transformer", "generative"]))
    n = data.draw(st.integers(2, 20), label="n")
    f = data.draw(st.integers(1, 5), label="f")
    values = data.draw(matrices(n, f, ["unit"], FLOAT_DTYPES), label="X").values
    named = pd_ is not None and data.draw(st.booleans(), label="named_columns")
    X = pd_.DataFrame(values, columns=[f"c{j}" for j in range(f)]) if named else values
    y = None
    if family == "rbm":
        params = data.draw(rbm_params, label="params")
        params["learning_rate"] = 0.1
        est = RBM(**params)
    elif family == "transformer":
        params = data.draw(transformer_params(), label="params")
        params.update(pretrain_learning_rate=0.1, learning_rate_init=1e-3)
        params.update(sparsity_cost=0.0, early_stopping=False)
        est = DBNTransformer(**params)
    else:
        params = data.draw(generative_params(), label="params")
        params.update(pretrain_learning_rate=0.1, up_down_learning_rate=0.01)
        est = GenerativeDBNClassifier(**params)
        y = data.draw(class_labels(n), label="y")
    args = (X,) if y is None else (X, y)
    ok, res = quiet(est.fit, *args)
    if not ok:
        assert isinstance(res, TrainingDivergedError) or refusal_ok(
            ok, res, params, type(est)
        ), res
        return
    plain = np.asarray(est.transform(X))
    names = est.get_feature_names_out()
    assert len(names) == plain.shape[1], (
        f"get_feature_names_out has {len(names)} names, transform "
        f"{plain.shape[1]} columns"
    )
    assert len(set(names)) == len(names), f"duplicate feature names {names}"
    if pd_ is None:
        return
    est.set_output(transform="pandas")
    out = est.transform(X)
    assert isinstance(out, pd_.DataFrame), type(out)
    assert list(out.columns) == list(names)
    np.testing.assert_array_equal(out.to_numpy(), plain)
    fresh = clone(est)
    ok, out = quiet(fresh.fit_transform, *args)
    if ok:
        assert isinstance(out, pd_.DataFrame), type(out)
        assert list(out.columns) == list(fresh.get_feature_names_out())


@_settings(0.5)
@given(data=st.data())
def test_feature_names_match_transform(data):
    check_feature_names(data, None)


@_settings(0.5)
@given(data=st.data())
def test_set_output_pandas_matches_feature_names(data):
    check_feature_names(data, pytest.importorskip("pandas"))


# -- a failed call leaves a fitted model as it was ---------------------------------

FAMILIES = ["rbm", "transformer", "classifier", "regressor", "generative"]
STREAMING = ["rbm", "transformer", "classifier", "regressor"]
SUPERVISED = ["classifier", "regressor"]
WARM = ["classifier", "regressor", "generative"]
# Each bad call, and the families it applies to.
BAD_CALLS = {
    "fit_nonfinite_other_width": FAMILIES,
    "fit_wrong_y_length_other_width": SUPERVISED + ["generative"],
    "fit_single_class_other_width": ["classifier", "generative"],
    "fit_huge_same_width": FAMILIES,
    "fit_huge_learning_rate": FAMILIES,
    "fit_refused_options": SUPERVISED,
    "fit_bad_sample_weight": SUPERVISED,
    "fit_bad_multilabel": ["classifier"],
    "fit_transform_nonfinite": ["rbm", "transformer", "generative"],
    "partial_fit_other_width": STREAMING,
    "partial_fit_nonfinite_same_width": STREAMING,
    "partial_fit_unknown_label": ["classifier"],
    "partial_fit_other_classes": ["classifier"],
    "warm_start_other_width": WARM,
    "warm_start_nonfinite": WARM,
    "warm_start_huge_learning_rate": WARM,
}
# The learning rates a "huge learning rate" call sets.
HUGE_RATES = {
    "rbm": {"learning_rate": 1e6},
    "transformer": {"pretrain_learning_rate": 1e6, "pretrain_epochs": 2},
    "classifier": {"learning_rate_init": 100.0, "solver": "sgd", "max_iter": 3},
    "regressor": {"learning_rate_init": 100.0, "solver": "sgd", "max_iter": 3},
    "generative": {"up_down_learning_rate": 1e6, "up_down_epochs": 2},
}


def _moderate(params):
    """``params`` with rates that train, so that the first fit works."""
    for key, value in (
        ("learning_rate", 0.1),
        ("pretrain_learning_rate", 0.1),
        ("learning_rate_init", 1e-3),
        ("up_down_learning_rate", 0.01),
        ("sparsity_cost", 0.0),
        ("early_stopping", False),
        ("dropout", 0.0),
        ("scoring", None),
        ("persistent", False),
        ("n_gibbs_steps", 1),
    ):
        if key in params and not (key == "learning_rate" and "n_iter" not in params):
            params[key] = value
    if params.get("solver") == "lbfgs":
        params["learning_rate"] = "constant"
    return params


@pytest.mark.parametrize("bad", BAD_CALLS)
@_settings(0.3)
@given(data=st.data())
def test_failed_call_keeps_fitted_model(bad, data):
    family = data.draw(st.sampled_from(BAD_CALLS[bad]), label="family")
    n = data.draw(st.integers(4, 20), label="n")
    f = data.draw(n_features_st, label="f")
    X = data.draw(matrices(n, f, ["unit"]), label="train").X
    y = None
    if family == "rbm":
        est = RBM(**_moderate(data.draw(rbm_params, label="params")))
    elif family == "transformer":
        params = _moderate(data.draw(transformer_params(), label="params"))
        if bad.startswith("partial_fit"):
            params["solver"] = data.draw(st.sampled_from(["adam", "sgd"]), "solver")
            params["pretraining"] = "rbm"
        est = DBNTransformer(**params)
    elif family == "generative":
        est = GenerativeDBNClassifier(
            **_moderate(data.draw(generative_params(), label="params"))
        )
        y = data.draw(class_labels(n), label="y")
    else:
        params = _moderate(data.draw(supervised_params(), label="params"))
        if bad.startswith("partial_fit"):
            params["solver"] = data.draw(st.sampled_from(["adam", "sgd"]), "solver")
        if family == "classifier":
            est = DBNClassifier(**params)
            y = data.draw(class_labels(n), label="y")
        else:
            est = DBNRegressor(**params)
            y = data.draw(regression_targets(n), label="y")
    maybe_callbacks(data, est)
    fit_args = (X,) if y is None else (X, y)
    first = est.partial_fit if bad.startswith("partial_fit") else est.fit
    ok, res = quiet(first, *fit_args)
    if not ok:  # only divergence is acceptable on data in [0, 1]
        assert isinstance(res, TrainingDivergedError) or refusal_ok(
            ok, res, est.get_params(), type(est)
        ), res
        return
    before = fitted_state(est)
    outputs_before = _outputs(est, X)

    width = f + data.draw(st.integers(1, 3), label="extra_width")
    m = data.draw(st.integers(2, 20), label="m")
    y_m = None if y is None else y[np.arange(m) % n]

    def with_y(X_bad, y_bad=y_m):
        return (X_bad,) if y is None else (X_bad, y_bad)

    what = f"failed {bad}"
    if bad == "fit_nonfinite_other_width":
        X_bad = data.draw(matrices(m, width, ["nonfinite"]), label="X_bad").X
        expect_value_error(est.fit, *with_y(X_bad), what="fit on NaN/inf")
    elif bad == "fit_wrong_y_length_other_width":
        X_bad = data.draw(matrices(m, width, ["unit"]), label="X_bad").X
        expect_value_error(est.fit, X_bad, y[: m - 1], what="fit with bad y length")
    elif bad == "fit_single_class_other_width":
        X_bad = data.draw(matrices(m, width, ["unit"]), label="X_bad").X
        expect_value_error(
            est.fit, X_bad, np.repeat(y[:1], m), what="fit on a single class"
        )
    elif bad in ("fit_huge_same_width", "fit_huge_learning_rate"):
        if bad == "fit_huge_same_width":
            X_bad = np.full((m, f), data.draw(st.sampled_from([1e6, 1e30]), "huge"))
            X_bad[::2] *= -1
        else:
            X_bad = X
            est.set_params(**HUGE_RATES[family])
        args = with_y(X_bad, y_m if bad == "fit_huge_same_width" else y)
        ok, _ = quiet(est.fit, *args)
        if ok:  # the call succeeded: nothing to compare
            return
    elif bad == "fit_refused_options":
        option = data.draw(st.sampled_from(["early_stopping", "dropout"]), "option")
        est.set_params(solver="lbfgs", **{option: True if option[0] == "e" else 0.5})
        expect_value_error(est.fit, X, y, what=f"fit with lbfgs and {option}")
    elif bad == "fit_bad_sample_weight":
        w = data.draw(
            st.sampled_from(["negative", "zeros", "short", "nan", "inf"]), "weights"
        )
        sw = {
            "negative": -np.ones(n),
            "zeros": np.zeros(n),
            "short": np.ones(n - 1),
            "nan": np.full(n, np.nan),
            "inf": np.full(n, np.inf),
        }[w]
        expect_value_error(est.fit, X, y, sample_weight=sw, what=f"{w} weights")
    elif bad == "fit_bad_multilabel":
        Y = data.draw(indicator_targets(n, BAD_INDICATOR_VALUES), label="Y_bad")
        expect_value_error(est.fit, X, Y, what=f"fit on multilabel {np.unique(Y)}")
    elif bad == "fit_transform_nonfinite":
        X_bad = data.draw(matrices(m, width, ["nonfinite"]), label="X_bad").X
        expect_value_error(est.fit_transform, *with_y(X_bad), what="fit_transform")
    elif bad == "partial_fit_other_width":
        X_bad = data.draw(matrices(m, width, ["unit"]), label="X_bad").X
        expect_value_error(est.partial_fit, *with_y(X_bad), what="other width")
    elif bad == "partial_fit_nonfinite_same_width":
        X_bad = data.draw(matrices(m, f, ["nonfinite"]), label="X_bad").X
        expect_value_error(est.partial_fit, *with_y(X_bad), what="NaN/inf")
    elif bad == "partial_fit_unknown_label":
        y_bad = np.asarray(y_m, dtype=object)
        y_bad[-1] = "never seen"
        X_bad = data.draw(matrices(m, f, ["unit"]), label="X_bad").X
        expect_value_error(est.partial_fit, X_bad, y_bad, what="unseen label")
    elif bad == "partial_fit_other_classes":
        expect_value_error(
            est.partial_fit, X, y, classes=np.unique(y)[:1], what="other classes="
        )
    else:  # warm starts
        est.set_params(warm_start=True)
        if bad == "warm_start_other_width":
            X_bad = data.draw(matrices(m, width, ["unit"]), label="X_bad").X
            expect_value_error(est.fit, X_bad, y_m, what="warm start, other width")
        elif bad == "warm_start_nonfinite":
            X_bad = data.draw(matrices(m, f, ["nonfinite"]), label="X_bad").X
            expect_value_error(est.fit, X_bad, y_m, what="warm start on NaN/inf")
        else:
            est.set_params(**HUGE_RATES[family])
            ok, _ = quiet(est.fit, X, y)
            if ok:
                return

    assert_same_state(before, est, what)
    after = expect_success(_outputs, est, X, what=f"predicting after {what}")
    for b, a in zip(outputs_before, after):
        np.testing.assert_array_equal(a, b, err_msg=f"output changed by {what}")


def _outputs(est, X):
    if isinstance(est, DBNClassifier | GenerativeDBNClassifier):
        return est.predict(X), est.predict_proba(X)
    if isinstance(est, DBNRegressor):
        return (est.predict(X),)
    return (est.transform(X),)
