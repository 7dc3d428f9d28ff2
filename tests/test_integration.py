"""The estimators in scikit-learn's machinery: clone, pipelines, search, pickling."""

import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdbn import RBM, DBNClassifier, DBNRegressor, DBNTransformer


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.mark.parametrize(
    "Estimator", [RBM, DBNTransformer, DBNClassifier, DBNRegressor]
)
def test_clone_and_params_round_trip(Estimator):
    est = Estimator(batch_size=7, random_state=3, dtype="float64")
    params = est.get_params()
    assert params["batch_size"] == 7 and params["random_state"] == 3
    copy = clone(est)
    assert copy.get_params() == params
    copy.set_params(batch_size=11)
    assert copy.batch_size == 11 and est.batch_size == 7


def test_grid_over_layer_sizes_reaches_the_stack():
    est = DBNClassifier()
    est.set_params(hidden_layer_sizes=(12, 6), pretrain_epochs=[2, 1])
    assert clone(est).get_params()["hidden_layer_sizes"] == (12, 6)


def test_pipeline_with_transformer(digits):
    X_train, X_test, y_train, y_test = digits
    pipe = make_pipeline(
        MinMaxScaler(clip=True),
        DBNTransformer((128,), pretrain_epochs=20, random_state=0),
        LogisticRegression(max_iter=1000),
    )
    assert pipe.fit(X_train * 16, y_train).score(X_test * 16, y_test) > 0.93


def test_grid_search_over_layer_sizes(digits):
    X_train, _, y_train, _ = digits
    search = GridSearchCV(
        DBNClassifier(max_iter=5, pretrain_epochs=2, random_state=0),
        {"hidden_layer_sizes": [(64,), (128, 64)]},
        cv=3,
        n_jobs=2,
    )
    search.fit(X_train, y_train)
    assert search.best_params_["hidden_layer_sizes"] in [(64,), (128, 64)]
    assert (
        len(search.best_estimator_.coefs_)
        == len(search.best_params_["hidden_layer_sizes"]) + 1
    )
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


@pytest.mark.parametrize(
    "make",
    [
        lambda: DBNClassifier((32,), max_iter=3, random_state=0),
        lambda: DBNRegressor((32,), max_iter=3, random_state=0),
        lambda: DBNTransformer((32, 8), pretrain_epochs=2, random_state=0),
        lambda: RBM(16, n_iter=2, random_state=0),
    ],
)
def test_joblib_round_trip_then_keep_training(make, digits, tmp_path):
    X_train, X_test, y_train, _ = digits
    est = make()
    supervised = isinstance(est, (DBNClassifier, DBNRegressor))
    fit_args = (X_train, y_train) if supervised else (X_train,)
    est.fit(*fit_args)
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    loaded = joblib.load(path)
    method = "predict" if supervised else "transform"
    np.testing.assert_array_equal(
        getattr(loaded, method)(X_test), getattr(est, method)(X_test)
    )
    # The loaded model continues exactly as the original would.
    est.partial_fit(*fit_args)
    loaded.partial_fit(*fit_args)
    np.testing.assert_array_equal(
        getattr(loaded, method)(X_test), getattr(est, method)(X_test)
    )


def test_imports_without_docstrings():
    # python -OO strips docstrings, which the shared parameter docs fill in.
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-OO", "-c", "import skdbn; skdbn.DBNClassifier()"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
