"""scikit-learn's own estimator checks over every public estimator."""

from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdbn import RBM, DBNClassifier, DBNRegressor, DBNTransformer

FAST_STACK = dict(pretrain_epochs=3, batch_size=20, random_state=0)
FAST_SUPERVISED = dict(**FAST_STACK, head_epochs=5, max_iter=60)


def _estimators():
    # The checks feed unbounded real data, which Bernoulli visible units
    # reject by design, so the estimators face them with Gaussian visible
    # units; the Bernoulli path is checked behind a clipping MinMaxScaler.
    gaussian = dict(visible_unit="gaussian")
    yield RBM(n_components=8, n_iter=3, batch_size=20, random_state=0, **gaussian)
    yield DBNTransformer((8, 4), **FAST_STACK, **gaussian)
    yield DBNTransformer(
        (8, 4), fine_tune="autoencoder", max_iter=5, **FAST_STACK, **gaussian
    )
    yield DBNClassifier((32,), **FAST_SUPERVISED, learning_rate_init=0.01, **gaussian)
    yield DBNRegressor((32,), **FAST_SUPERVISED, learning_rate_init=0.01, **gaussian)
    yield make_pipeline(
        MinMaxScaler(clip=True),
        RBM(n_components=8, n_iter=3, batch_size=20, random_state=0),
    )
    yield make_pipeline(
        MinMaxScaler(clip=True),
        DBNClassifier((32,), **FAST_SUPERVISED, learning_rate_init=0.01),
    )


def _expected_failures(estimator):
    if isinstance(estimator, Pipeline):
        reason = (
            "Pipeline fits its steps in place, so its `steps` parameter holds "
            "fitted estimators afterwards (Pipeline's documented behaviour)"
        )
        return {
            "check_estimators_overwrite_params": reason,
            "check_dont_overwrite_parameters": reason,
        }
    return {}


@parametrize_with_checks(list(_estimators()), expected_failed_checks=_expected_failures)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
