"""ONNX export: onnxruntime's outputs against skdbn's own, estimator by estimator."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skdbn import (
    RBM,
    DBNClassifier,
    DBNRegressor,
    DBNTransformer,
    GenerativeDBNClassifier,
)

pytest.importorskip("skl2onnx", reason="the onnx extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
from skl2onnx import to_onnx  # noqa: E402

QUICK = dict(pretrain_epochs=2, max_iter=3, batch_size=20, random_state=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16, y[:400]


def _run(model, X, **options):
    onx = to_onnx(model, X[:1], options=options or None)
    session = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {session.get_inputs()[0].name: X})


def _outside(X):
    """Rows outside [0, 1]: prediction computes any finite values."""
    return np.vstack([X[:20], 3 * X[20:40] - 1]).astype(X.dtype)


@pytest.mark.parametrize("hidden_unit", ["bernoulli", "gaussian", "relu"])
@pytest.mark.parametrize("make", [RBM, DBNTransformer], ids=["RBM", "DBNTransformer"])
def test_transform_matches(digits, make, hidden_unit):
    X = digits[0].astype(np.float32)
    if make is RBM:
        model = make(8, hidden_unit=hidden_unit, n_iter=2, random_state=0)
    else:
        model = make(
            (16, 8), hidden_unit=hidden_unit, pretrain_epochs=2, random_state=0
        )
    model.fit(X)
    X_new = _outside(X)
    (out,) = _run(model, X_new)
    np.testing.assert_allclose(out, model.transform(X_new), rtol=1e-5, atol=1e-5)


def test_gaussian_visible_units_and_a_fine_tuned_autoencoder(digits):
    X = StandardScaler().fit_transform(digits[0]).astype(np.float32)
    model = DBNTransformer(
        (16, 4), visible_unit="gaussian", fine_tune=True, max_iter=2, random_state=0
    ).fit(X)
    (out,) = _run(model, X)
    np.testing.assert_allclose(out, model.transform(X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "labels", ["multiclass", "binary", "strings"], ids=lambda labels: labels
)
def test_classifier_labels_and_probabilities(digits, labels):
    X, y = digits
    X = X.astype(np.float32)
    if labels == "binary":
        y = (y > 4).astype(int)
    elif labels == "strings":
        y = np.array(["zero", "one", "two", "three", "four"] * 2)[y]
    model = DBNClassifier((16,), **QUICK).fit(X, y)
    X_new = _outside(X)
    label, proba = _run(model, X_new, zipmap=False)
    np.testing.assert_allclose(proba, model.predict_proba(X_new), atol=1e-5)
    np.testing.assert_array_equal(label, model.predict(X_new))


def test_multilabel_classifier(digits):
    X, y = digits
    Y = np.stack([y % 2, y > 4, y == 0], axis=1).astype(int)
    model = DBNClassifier((16,), **QUICK).fit(X.astype(np.float32), Y)
    label, proba = _run(model, X.astype(np.float32), zipmap=False)
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(label, model.predict(X))


def test_classifier_default_output_is_skl2onnxs_zipmap(digits):
    X, y = digits
    model = DBNClassifier((16,), **QUICK).fit(X, y)
    label, dicts = _run(model, X[:5].astype(np.float32))
    assert set(dicts[0]) == set(model.classes_.tolist())
    expected = model.predict_proba(X[:5])
    assert dicts[0][int(model.classes_[3])] == pytest.approx(expected[0, 3], abs=1e-5)


@pytest.mark.parametrize("outputs", [1, 2])
def test_regressor(digits, outputs):
    X, y = digits
    Y = y * 100.0 + 7 if outputs == 1 else np.stack([y * 1.0, -3.0 * y], axis=1)
    model = DBNRegressor((16,), **QUICK).fit(X, Y)
    X_new = _outside(X.astype(np.float32))
    (out,) = _run(model, X_new)
    expected = model.predict(X_new).reshape(len(X_new), -1)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-3)


def test_generative_classifier(digits):
    X, y = digits
    model = GenerativeDBNClassifier(
        (16, 12), pretrain_epochs=2, up_down_epochs=1, random_state=0
    ).fit(X, y)
    X_new = _outside(X.astype(np.float32))
    label, proba = _run(model, X_new, zipmap=False)
    np.testing.assert_allclose(proba, model.predict_proba(X_new), atol=1e-5)
    np.testing.assert_array_equal(label, model.predict(X_new))


def test_float64_models_run_in_double(digits):
    X, y = digits
    model = DBNClassifier((16,), dtype="float64", **QUICK).fit(X, y)
    label, proba = _run(model, X, zipmap=False)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-12)


def test_a_whole_pipeline_converts_without_options():
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    pipe = make_pipeline(MinMaxScaler(clip=True), DBNClassifier((16,), **QUICK))
    pipe.fit(X, y)
    label, _ = _run(pipe, X)
    np.testing.assert_array_equal(label, pipe.predict(X))


@pytest.mark.parametrize("first", ["skdbn", "skl2onnx"])
def test_converters_register_whichever_is_imported_first(first):
    second = {"skdbn": "skl2onnx", "skl2onnx": "skdbn"}[first]
    code = (
        f"import {first}, {second}\n"
        "import numpy as np\n"
        "from skl2onnx import to_onnx\n"
        "from skdbn import RBM\n"
        "X = np.random.default_rng(0).random((50, 6)).astype(np.float32)\n"
        "to_onnx(RBM(3, n_iter=1, random_state=0).fit(X), X[:1])\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_importing_skdbn_leaves_skl2onnx_unimported():
    code = "import sys, skdbn; assert 'skl2onnx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_float_labels_export_as_whole_numbers(digits):
    X, y = digits
    model = DBNClassifier((8,), **QUICK).fit(X, y * 1.0)
    label, _ = _run(model, X.astype(np.float32), zipmap=False)
    np.testing.assert_array_equal(label, model.predict(X))


def test_export_without_skl2onnx_names_the_extra(monkeypatch):
    import skdbn.onnx

    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    with pytest.raises(ImportError, match=r"skdbn\[onnx\]"):
        skdbn.onnx.register_converters()
