"""scikit-learn's own estimator checks over every public estimator."""

from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdbn import RBM, DBNClassifier, DBNRegressor, DBNTransformer

FAST_STACK = dict(pretrain_epochs=3, batch_size=20, random_state=0)
FAST_SUPERVISED = dict(**FAST_STACK, head_max_iter=50, max_iter=60)


def _estimators():
    # The checks feed unbounded real data, which Bernoulli visible units
    # reject by design, so the estimators face them with Gaussian visible
    # units; the Bernoulli path is checked behind a clipping MinMaxScaler.
    # Every estimator runs in both precisions.
    for dtype in ("float32", "float64"):
        yield from _estimators_of(dtype)


def _estimators_of(dtype):
    gaussian = dict(visible_unit="gaussian", dtype=dtype)
    yield RBM(n_components=8, n_iter=3, batch_size=20, random_state=0, **gaussian)
    yield DBNTransformer((8, 4), **FAST_STACK, **gaussian)
    yield DBNTransformer(
        (8, 4), fine_tune="autoencoder", max_iter=5, **FAST_STACK, **gaussian
    )
    yield DBNClassifier((32,), **FAST_SUPERVISED, learning_rate_init=0.01, **gaussian)
    yield DBNRegressor((32,), **FAST_SUPERVISED, learning_rate_init=0.01, **gaussian)
    yield make_pipeline(
        MinMaxScaler(clip=True),
        RBM(n_components=8, n_iter=3, batch_size=20, random_state=0, dtype=dtype),
    )
    yield make_pipeline(
        MinMaxScaler(clip=True),
        DBNClassifier((32,), **FAST_SUPERVISED, learning_rate_init=0.01, dtype=dtype),
    )


FLOAT32_ROUNDING = (
    "float32 matrix products round differently for different numbers of rows "
    "(OpenBLAS picks its kernel by shape), so a row's output can move by about "
    "1e-6 relative, above the check's fixed 1e-7; the float64 instance passes "
    "and tests/test_estimators.py checks invariance at float32 tolerance"
)


def _expected_failures(estimator):
    failures = {}
    if isinstance(estimator, Pipeline):
        reason = (
            "Pipeline fits its steps in place, so its `steps` parameter holds "
            "fitted estimators afterwards (Pipeline's documented behaviour)"
        )
        failures["check_estimators_overwrite_params"] = reason
        failures["check_dont_overwrite_parameters"] = reason
        estimator = estimator[-1]
    if estimator.dtype == "float32":
        failures["check_methods_subset_invariance"] = FLOAT32_ROUNDING
    return failures


@parametrize_with_checks(list(_estimators()), expected_failed_checks=_expected_failures)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
