"""Property-based tests of the public API's robustness contract.

Every estimator (``RBM``, ``DBNTransformer`` with and without autoencoder
fine-tuning, ``DBNClassifier``, ``DBNRegressor``) is driven with hypothesis
over shapes, input dtypes, dense and sparse layouts, awkward values and small
parameter settings. Each example checks that

* the only exceptions that escape are ``ValueError``, ``TypeError``,
  ``NotFittedError`` and ``TrainingDivergedError``, each with a message
  (RuntimeWarnings are errors under the project's pytest configuration, and
  so are failures here too);
* with finite input every returned array, score and fitted parameter is
  finite, shapes are right, probabilities are probabilities and predicted
  labels come from ``classes_``;
* NaN or infinity in ``X`` is a ``ValueError`` at fit and at prediction;
* Bernoulli visible units accept data moderately outside [0, 1] at fit (a
  warning is fine, an error is not) and any finite data at prediction;
* a call that raises leaves a fitted estimator predicting exactly as before.

Models are tiny and example counts small so that the file runs in seconds;
``derandomize=True`` makes every CI run draw the same examples.
"""

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
    TrainingDivergedError,
)

try:  # pandas is optional: DataFrame input is only drawn when it is installed
    import pandas as pd
except ImportError:  # pragma: no cover - depends on the environment
    pd = None

# The project's pytest configuration already turns RuntimeWarning into an
# error; repeat it here so the file keeps that meaning wherever it is run.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def _settings(max_examples):
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=True,
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


def expect_value_error(fn, *args, what, **kwargs):
    ok, res = attempt(fn, *args, **kwargs)
    assert not ok, f"{what}: expected ValueError, the call returned normally"
    assert isinstance(res, ValueError), f"{what}: expected ValueError, got {res!r}"


def expect_success(fn, *args, what, **kwargs):
    ok, res = attempt(fn, *args, **kwargs)
    assert ok, f"{what}: must not raise, raised {type(res).__name__}: {res}"
    return res


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
    arr = np.asarray(value)
    assert np.issubdtype(arr.dtype, np.number), f"{what}: non-numeric {arr.dtype}"
    bad = ~np.isfinite(arr)
    assert not bad.any(), (
        f"{what} is not finite: {int(bad.sum())} of {arr.size} values, "
        f"such as {arr[bad].ravel()[:3]!r} (shape {arr.shape}, dtype {arr.dtype})"
    )


def assert_finite_params(est):
    for name in ("components_", "intercept_hidden_", "intercept_visible_"):
        if hasattr(est, name):
            assert_finite(getattr(est, name), name)
    for name in ("coefs_", "intercepts_"):
        for i, arr in enumerate(getattr(est, name, [])):
            assert_finite(arr, f"{name}[{i}]")
    for i, rbm in enumerate(getattr(est, "rbms_", [])):
        assert_finite(rbm.components_, f"rbms_[{i}].components_")
        assert_finite(rbm.intercept_hidden_, f"rbms_[{i}].intercept_hidden_")
        assert_finite(rbm.intercept_visible_, f"rbms_[{i}].intercept_visible_")


# -- data strategies ----------------------------------------------------------

X_DTYPES = ["float32", "float64", "int64", "uint8", "bool"]
FLOAT_DTYPES = ["float32", "float64"]
LAYOUTS = ["C", "F", "csr", "csc", "coo"] + (["pandas"] if pd is not None else [])
VALUE_RANGES = {
    "unit": (0.0, 1.0),
    "slightly": (-0.5, 1.5),  # and at least one value outside [0, 1]
    "large": (-1e6, 1e6),  # and at least one value of magnitude 1e3 or more
    "nonfinite": (0.0, 1.0),  # plus at least one NaN or infinity
}
FINITE_KINDS = ["unit", "slightly", "large"]
ALL_KINDS = FINITE_KINDS + ["nonfinite"]


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
    if dtype == "int64":
        return np.round(values).astype(np.int64)
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
def matrices(draw, n_samples, n_features, kinds=FINITE_KINDS):
    kind = draw(st.sampled_from(kinds))
    dtype = draw(st.sampled_from(FLOAT_DTYPES if kind == "nonfinite" else X_DTYPES))
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
    X = _cast(values, dtype)
    layout = draw(st.sampled_from(LAYOUTS))
    return Data(_layout(X, layout), X.astype(np.float64), kind, dtype, layout)


n_samples_st = st.integers(1, 40)
n_features_st = st.integers(1, 8)
n_test_st = st.integers(1, 10)

LAYER_SIZES = [(1,), (3,), (4, 2)]
HIDDEN_UNITS = ["bernoulli", "gaussian", "relu"]
VISIBLE_UNITS = ["bernoulli", "gaussian"]


def _pretraining_params(hidden_units):
    return {
        "hidden_layer_sizes": st.sampled_from(LAYER_SIZES),
        "visible_unit": st.sampled_from(VISIBLE_UNITS),
        "hidden_unit": st.sampled_from(hidden_units),
        "pretrain_epochs": st.integers(0, 2),
        "batch_size": st.integers(1, 50),
        "persistent": st.booleans(),
        "n_gibbs_steps": st.integers(1, 2),
        "dtype": st.sampled_from(FLOAT_DTYPES),
        "random_state": st.integers(0, 3),
    }


rbm_params = st.fixed_dictionaries(
    {
        "n_components": st.integers(1, 4),
        "visible_unit": st.sampled_from(VISIBLE_UNITS),
        "hidden_unit": st.sampled_from(HIDDEN_UNITS),
        "learning_rate": st.sampled_from([0.1, 0.01]),
        "batch_size": st.integers(1, 50),
        "n_iter": st.integers(0, 2),
        "n_gibbs_steps": st.integers(1, 2),
        "persistent": st.booleans(),
        "dtype": st.sampled_from(FLOAT_DTYPES),
        "random_state": st.integers(0, 3),
    }
)

transformer_params = st.fixed_dictionaries(
    {
        **_pretraining_params(["auto", *HIDDEN_UNITS]),
        "fine_tune": st.sampled_from([None, "autoencoder"]),
        "solver": st.sampled_from(["adam", "sgd", "lbfgs"]),
        "learning_rate_init": st.sampled_from([1e-3, 0.1]),
        "max_iter": st.integers(0, 3),
    }
)

supervised_params = st.fixed_dictionaries(
    {
        **_pretraining_params(HIDDEN_UNITS),
        "solver": st.sampled_from(["adam", "sgd", "lbfgs"]),
        "learning_rate_init": st.sampled_from([1e-3, 0.1]),
        "head_max_iter": st.sampled_from([0, 3, 20]),
        "fine_tune": st.booleans(),
        "max_iter": st.integers(0, 3),
    }
)

# Float labels must be integral: scikit-learn calls 2.5 a continuous target.
LABEL_SETS = [
    np.array([0, 1, 2]),
    np.array(["a", "b", "c"]),
    np.array([-1.0, 2.0, 7.0]),
]


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
def regression_targets(draw, n_samples):
    n_outputs = draw(st.sampled_from([None, 1, 2]))
    shape = (n_samples,) if n_outputs is None else (n_samples, n_outputs)
    bound = draw(st.sampled_from([1.0, 1e18]))
    return draw(
        hnp.arrays(
            np.float64,
            shape,
            elements=st.floats(-bound, bound, allow_nan=False, allow_infinity=False),
        )
    )


# -- checks shared by the families ---------------------------------------------


def check_rejects_nonfinite(methods, data):
    """Every prediction-type method must answer NaN/inf input with ValueError."""
    for name, fn in methods:
        expect_value_error(fn, data.X, what=f"{name} on {data!r}")


# -- RBM ----------------------------------------------------------------------


@_settings(max_examples=300)
@given(data=st.data())
def test_rbm_contract(data):
    params = data.draw(rbm_params, label="params")
    n, f = data.draw(n_samples_st, label="n"), data.draw(n_features_st, label="f")
    train = data.draw(matrices(n, f, ALL_KINDS), label="train")
    rbm = RBM(**params)

    if not train.finite:
        expect_value_error(rbm.fit, train.X, what="RBM.fit on NaN/inf")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # range warnings are fine
        ok, res = attempt(rbm.fit, train.X)
    if not fit_outcome_ok(ok, res, train.moderate, "RBM.fit"):
        return
    assert_finite_params(rbm)
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
        H = expect_success(rbm.transform, test.X, what="RBM.transform")
        assert H.shape == (n_test, k)
        assert_finite(H, "RBM.transform")
        V = expect_success(rbm.inverse_transform, H, what="RBM.inverse_transform")
        assert V.shape == (n_test, f)
        assert_finite(V, "RBM.inverse_transform")
        for name in ("score_samples", "free_energy"):
            s = expect_success(getattr(rbm, name), test.X, what=f"RBM.{name}")
            assert np.shape(s) == (n_test,)
            assert_finite(s, f"RBM.{name}")
        G = expect_success(rbm.gibbs, test.X, what="RBM.gibbs")
        assert G.shape == (n_test, f)
        assert_finite(G, "RBM.gibbs")

    n_draw = data.draw(st.integers(1, 5), label="n_draw")
    steps = data.draw(st.integers(1, 3), label="sample_steps")
    S = expect_success(
        rbm.sample, n_draw, n_gibbs_steps=steps, random_state=0, what="RBM.sample"
    )
    assert S.shape == (n_draw, f)
    assert_finite(S, "RBM.sample")
    if params["visible_unit"] == "bernoulli":
        assert np.all((S >= 0) & (S <= 1)), "Bernoulli samples outside [0, 1]"

    # partial_fit twice on a fresh copy
    fresh = clone(rbm)
    for call in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ok, res = attempt(fresh.partial_fit, train.X)
        if not fit_outcome_ok(ok, res, train.moderate, f"RBM.partial_fit #{call}"):
            return
    assert_finite_params(fresh)
    H = expect_success(fresh.transform, train.X, what="RBM.transform after partial_fit")
    assert H.shape == (n, k)
    assert_finite(H, "RBM.transform after partial_fit")


# -- DBNTransformer -------------------------------------------------------------


@_settings(max_examples=300)
@given(data=st.data())
def test_transformer_contract(data):
    params = data.draw(transformer_params, label="params")
    n, f = data.draw(n_samples_st, label="n"), data.draw(n_features_st, label="f")
    train = data.draw(matrices(n, f, ALL_KINDS), label="train")
    dbn = DBNTransformer(**params)

    if not train.finite:
        expect_value_error(dbn.fit, train.X, what="DBNTransformer.fit on NaN/inf")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ok, res = attempt(dbn.fit, train.X)
    if not fit_outcome_ok(ok, res, train.moderate, "DBNTransformer.fit"):
        return
    assert_finite_params(dbn)
    n_codes = params["hidden_layer_sizes"][-1]

    n_test = data.draw(n_test_st, label="n_test")
    test = data.draw(matrices(n_test, f, ALL_KINDS), label="test")
    if not test.finite:
        check_rejects_nonfinite(
            [("transform", dbn.transform), ("score", dbn.score)], test
        )
    else:
        codes = expect_success(dbn.transform, test.X, what="DBNTransformer.transform")
        assert codes.shape == (n_test, n_codes)
        assert_finite(codes, "DBNTransformer.transform")
        rec = expect_success(
            dbn.inverse_transform, codes, what="DBNTransformer.inverse_transform"
        )
        assert rec.shape == (n_test, f)
        assert_finite(rec, "DBNTransformer.inverse_transform")
        score = expect_success(dbn.score, test.X, what="DBNTransformer.score")
        assert np.ndim(score) == 0
        assert_finite(score, "DBNTransformer.score")

    n_draw = data.draw(st.integers(1, 5), label="n_draw")
    steps = data.draw(st.integers(1, 3), label="sample_steps")
    S = expect_success(
        dbn.sample,
        n_draw,
        n_gibbs_steps=steps,
        random_state=0,
        what="DBNTransformer.sample",
    )
    assert S.shape == (n_draw, f)
    assert_finite(S, "DBNTransformer.sample")

    fresh = clone(dbn)
    for call in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ok, res = attempt(fresh.partial_fit, train.X)
        full_batch = (
            params["fine_tune"] == "autoencoder" and params["solver"] == "lbfgs"
        )
        if full_batch:
            # Autoencoder fine-tuning by L-BFGS cannot stream: a clear error.
            assert not ok and isinstance(res, ValueError)
            return
        if not fit_outcome_ok(
            ok, res, train.moderate, f"DBNTransformer.partial_fit #{call}"
        ):
            return
    assert_finite_params(fresh)
    codes = expect_success(
        fresh.transform, train.X, what="DBNTransformer.transform after partial_fit"
    )
    assert codes.shape == (n, n_codes)
    assert_finite(codes, "DBNTransformer.transform after partial_fit")


# -- DBNClassifier --------------------------------------------------------------


def check_classifier_outputs(clf, X, n_rows, what):
    proba = expect_success(clf.predict_proba, X, what=f"{what} predict_proba")
    assert proba.shape == (n_rows, len(clf.classes_))
    assert_finite(proba, f"{what} predict_proba")
    assert np.all((proba >= 0) & (proba <= 1)), f"{what}: probabilities outside [0,1]"
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-4)
    log_proba = expect_success(
        clf.predict_log_proba, X, what=f"{what} predict_log_proba"
    )
    assert log_proba.shape == proba.shape
    assert_finite(log_proba, f"{what} predict_log_proba")
    pred = expect_success(clf.predict, X, what=f"{what} predict")
    assert pred.shape == (n_rows,)
    assert np.all(np.isin(pred, clf.classes_)), f"{what}: labels not in classes_"
    return pred


@_settings(max_examples=300)
@given(data=st.data())
def test_classifier_contract(data):
    params = data.draw(supervised_params, label="params")
    f = data.draw(n_features_st, label="f")
    single = data.draw(st.sampled_from([False] * 7 + [True]), label="single_class")
    n = data.draw(st.integers(1 if single else 2, 40), label="n")
    train = data.draw(matrices(n, f, ALL_KINDS), label="train")
    y = data.draw(class_labels(n, single_class=single), label="y")
    clf = DBNClassifier(**params)

    if not train.finite:
        expect_value_error(clf.fit, train.X, y, what="DBNClassifier.fit on NaN/inf")
        return
    if single:
        expect_value_error(clf.fit, train.X, y, what="DBNClassifier.fit, one class")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ok, res = attempt(clf.fit, train.X, y)
    if not fit_outcome_ok(ok, res, train.moderate, "DBNClassifier.fit"):
        return
    assert_finite_params(clf)
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
        check_classifier_outputs(clf, test.X, n_test, "DBNClassifier")
        y_test = clf.classes_[np.arange(n_test) % len(clf.classes_)]
        score = expect_success(clf.score, test.X, y_test, what="DBNClassifier.score")
        assert 0 <= score <= 1

    fresh = clone(clf)
    for call in range(2):
        kwargs = {"classes": np.unique(y)} if call == 0 else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ok, res = attempt(fresh.partial_fit, train.X, y, **kwargs)
        if not ok and params["solver"] == "lbfgs":
            assert isinstance(res, ValueError)
            return
        if not fit_outcome_ok(
            ok, res, train.moderate, f"DBNClassifier.partial_fit #{call}"
        ):
            return
    assert params["solver"] != "lbfgs", "partial_fit with lbfgs should raise"
    assert_finite_params(fresh)
    check_classifier_outputs(fresh, train.X, n, "DBNClassifier after partial_fit")


# -- DBNRegressor -----------------------------------------------------------------


def check_regressor_outputs(reg, X, n_rows, y_shape, what):
    pred = expect_success(reg.predict, X, what=f"{what} predict")
    assert pred.shape == (n_rows, *y_shape[1:]), (pred.shape, y_shape)
    assert_finite(pred, f"{what} predict")
    return pred


@_settings(max_examples=300)
@given(data=st.data())
def test_regressor_contract(data):
    params = data.draw(supervised_params, label="params")
    n, f = data.draw(n_samples_st, label="n"), data.draw(n_features_st, label="f")
    train = data.draw(matrices(n, f, ALL_KINDS), label="train")
    y = data.draw(regression_targets(n), label="y")
    reg = DBNRegressor(**params)

    if not train.finite:
        expect_value_error(reg.fit, train.X, y, what="DBNRegressor.fit on NaN/inf")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ok, res = attempt(reg.fit, train.X, y)
    if not fit_outcome_ok(ok, res, train.moderate, "DBNRegressor.fit"):
        return
    assert_finite_params(reg)

    n_test = data.draw(n_test_st, label="n_test")
    test = data.draw(matrices(n_test, f, ALL_KINDS), label="test")
    if not test.finite:
        check_rejects_nonfinite([("predict", reg.predict)], test)
    else:
        check_regressor_outputs(reg, test.X, n_test, y.shape, "DBNRegressor")
        if n_test >= 2:  # R^2 is undefined (NaN in scikit-learn) for one row
            y_test = y[np.arange(n_test) % n]
            score = expect_success(reg.score, test.X, y_test, what="DBNRegressor.score")
            assert_finite(score, "DBNRegressor.score")

    fresh = clone(reg)
    for call in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ok, res = attempt(fresh.partial_fit, train.X, y)
        if not ok and params["solver"] == "lbfgs":
            assert isinstance(res, ValueError)
            return
        if not fit_outcome_ok(
            ok, res, train.moderate, f"DBNRegressor.partial_fit #{call}"
        ):
            return
    assert params["solver"] != "lbfgs", "partial_fit with lbfgs should raise"
    assert_finite_params(fresh)
    check_regressor_outputs(
        fresh, train.X, n, y.shape, "DBNRegressor after partial_fit"
    )


# -- a failed call leaves a fitted model as it was ---------------------------------

FAMILIES = ["rbm", "transformer", "classifier", "regressor"]
# Each bad call, and the families it applies to.
BAD_CALLS = {
    "fit_nonfinite_other_width": FAMILIES,
    "fit_wrong_y_length_other_width": ["classifier", "regressor"],
    "fit_single_class_other_width": ["classifier"],
    "fit_huge_same_width": FAMILIES,
    "partial_fit_other_width": FAMILIES,
    "partial_fit_nonfinite_same_width": FAMILIES,
}


def _outputs(est, X):
    if isinstance(est, DBNClassifier):
        return est.predict(X), est.predict_proba(X)
    if isinstance(est, DBNRegressor):
        return (est.predict(X),)
    return (est.transform(X),)


@pytest.mark.parametrize("bad", BAD_CALLS)
@_settings(max_examples=60)
@given(data=st.data())
def test_failed_call_keeps_fitted_model(bad, data):
    family = data.draw(st.sampled_from(BAD_CALLS[bad]), label="family")
    n = data.draw(st.integers(2, 20), label="n")
    f = data.draw(n_features_st, label="f")
    X = data.draw(matrices(n, f, ["unit"]), label="train").X
    y = None
    if family == "rbm":
        est = RBM(**data.draw(rbm_params, label="params"))
    elif family == "transformer":
        est = DBNTransformer(**data.draw(transformer_params, label="params"))
    elif family == "classifier":
        est = DBNClassifier(**data.draw(supervised_params, label="params"))
        y = data.draw(class_labels(n), label="y")
    else:
        est = DBNRegressor(**data.draw(supervised_params, label="params"))
        y = data.draw(regression_targets(n), label="y")
    fit_args = (X,) if y is None else (X, y)
    ok, res = attempt(est.fit, *fit_args)
    if not ok:  # only divergence is acceptable on data in [0, 1]
        assert isinstance(res, TrainingDivergedError), res
        return
    before = _outputs(est, X)
    n_features_before = est.n_features_in_

    width = f + data.draw(st.integers(1, 3), label="extra_width")
    m = data.draw(st.integers(2, 20), label="m")
    if bad == "fit_nonfinite_other_width":
        X_bad = data.draw(matrices(m, width, ["nonfinite"]), label="X_bad").X
        y_bad = None if y is None else y[np.arange(m) % n]
        args = (X_bad,) if y is None else (X_bad, y_bad)
        expect_value_error(est.fit, *args, what="fit on NaN/inf")
    elif bad == "fit_wrong_y_length_other_width":
        X_bad = data.draw(matrices(m, width, ["unit"]), label="X_bad").X
        expect_value_error(est.fit, X_bad, y[: m - 1], what="fit with bad y length")
    elif bad == "fit_single_class_other_width":
        X_bad = data.draw(matrices(m, width, ["unit"]), label="X_bad").X
        expect_value_error(
            est.fit, X_bad, np.repeat(y[:1], m), what="fit on a single class"
        )
    elif bad == "fit_huge_same_width":
        huge = np.full((m, f), 1e6)
        huge[::2] *= -1
        y_bad = None if y is None else y[np.arange(m) % n]
        args = (huge,) if y is None else (huge, y_bad)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ok, _ = attempt(est.fit, *args)
        if ok:  # the call succeeded: nothing to compare
            return
    elif bad == "partial_fit_other_width":
        X_bad = data.draw(matrices(m, width, ["unit"]), label="X_bad").X
        y_bad = None if y is None else y[np.arange(m) % n]
        args = (X_bad,) if y is None else (X_bad, y_bad)
        expect_value_error(est.partial_fit, *args, what="partial_fit, other width")
    else:  # partial_fit_nonfinite_same_width
        X_bad = data.draw(matrices(m, f, ["nonfinite"]), label="X_bad").X
        y_bad = None if y is None else y[np.arange(m) % n]
        args = (X_bad,) if y is None else (X_bad, y_bad)
        expect_value_error(est.partial_fit, *args, what="partial_fit on NaN/inf")

    assert est.n_features_in_ == n_features_before, (
        f"n_features_in_ changed from {n_features_before} to "
        f"{est.n_features_in_} by a call that raised"
    )
    after = expect_success(_outputs, est, X, what=f"predicting after failed {bad}")
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b, err_msg=f"output changed by failed {bad}")
