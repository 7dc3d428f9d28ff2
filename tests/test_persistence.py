"""Saving fitted models safely with skops, and training on after loading.

``skops.io`` loads only the types it is told to trust. A fitted skdbn model
must hold plain data (arrays, numbers, strings, tuples, dicts) and public
skdbn estimators, so that the types to trust are the estimator classes and
nothing private; and the loaded model must predict, and train on, exactly as
the original does.
"""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skdbn import (
    RBM,
    DBNClassifier,
    DBNRegressor,
    DBNTransformer,
    GenerativeDBNClassifier,
)

sio = pytest.importorskip("skops.io")

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


# name: (a small model, the types skops must be told to trust: the public
# estimator class itself, and nothing else; its layers are plain dicts)
MODELS = {
    "RBM": (
        lambda: RBM(8, n_iter=2, batch_size=20, random_state=0),
        ["skdbn._rbm.RBM"],
    ),
    "DBNTransformer": (
        lambda: DBNTransformer((8, 4), pretrain_epochs=2, random_state=0),
        ["skdbn._transformer.DBNTransformer"],
    ),
    "DBNClassifier": (
        lambda: DBNClassifier((8,), pretrain_epochs=2, max_iter=2, random_state=0),
        ["skdbn._supervised.DBNClassifier"],
    ),
    "DBNRegressor": (
        lambda: DBNRegressor((8,), pretrain_epochs=2, max_iter=2, random_state=0),
        ["skdbn._supervised.DBNRegressor"],
    ),
    "GenerativeDBNClassifier": (
        lambda: GenerativeDBNClassifier(
            (8, 6), pretrain_epochs=2, up_down_epochs=2, random_state=0
        ),
        ["skdbn._generative.GenerativeDBNClassifier"],
    ),
}


def _targets(model, y):
    return y.astype(float) if isinstance(model, DBNRegressor) else y


def _fit(model, X, y):
    if isinstance(model, (RBM, DBNTransformer)):
        return model.fit(X)
    return model.fit(X, _targets(model, y))


def _train_on(model, X, y):
    """More training: partial_fit where there is one, else a warm start."""
    if isinstance(model, (RBM, DBNTransformer)):
        return model.partial_fit(X)
    if isinstance(model, GenerativeDBNClassifier):
        return model.set_params(warm_start=True).fit(X, y)
    return model.partial_fit(X, _targets(model, y))


def _outputs(model, X):
    """Everything the fitted model computes from data."""
    outputs = {}
    for method in ("predict", "predict_proba", "transform", "score_samples"):
        if hasattr(model, method):
            outputs[method] = getattr(model, method)(X)
    return outputs


def _assert_same(actual, expected, where="model"):
    """Equal all the way down, arrays bit for bit (seconds of history aside)."""
    assert type(actual) is type(expected), where
    if isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype, where
        assert np.array_equal(actual, expected, equal_nan=True), where
    elif isinstance(expected, np.random.Generator):
        _assert_same(actual.bit_generator.state, expected.bit_generator.state, where)
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), where
        for key in expected:
            if key != "seconds":  # (a history record's wall-clock time)
                _assert_same(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            _assert_same(a, e, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert actual == expected or (np.isnan(actual) and np.isnan(expected)), where
    elif hasattr(expected, "__dict__"):
        _assert_same(vars(actual), vars(expected), f"{where}.__dict__")
    else:
        assert actual == expected, where


@pytest.mark.parametrize("name", MODELS)
def test_skops_trusts_only_the_estimator_classes_and_loads_a_working_model(data, name):
    X, y = data
    make, trusted = MODELS[name]
    model = _fit(make(), X, y)
    dumped = sio.dumps(model)
    assert sorted(sio.get_untrusted_types(data=dumped)) == sorted(trusted)
    loaded = sio.loads(dumped, trusted=trusted)
    _assert_same(_outputs(loaded, X), _outputs(model, X))
    _assert_same(vars(loaded), vars(model))
    # Training on from the loaded model is training on from the original.
    _train_on(model, X[100:], y[100:])
    _train_on(loaded, X[100:], y[100:])
    _assert_same(vars(loaded), vars(model))
    _assert_same(_outputs(loaded, X), _outputs(model, X))


def test_a_generative_model_loaded_with_skops_generates_as_the_original(data):
    X, y = data
    make, trusted = MODELS["GenerativeDBNClassifier"]
    model = _fit(make(), X, y)
    loaded = sio.loads(sio.dumps(model), trusted=trusted)
    for labels in (None, 3, [1, 2, 3]):
        n = 3
        expected = model.sample(n, y=labels, n_gibbs_steps=5, random_state=0)
        _assert_same(
            loaded.sample(n, y=labels, n_gibbs_steps=5, random_state=0), expected
        )
