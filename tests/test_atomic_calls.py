"""A training call is atomic, and keeping it so costs the same at every call.

Every ``fit`` and ``partial_fit`` either completes or leaves the estimator as
it was, whatever fails (the data, the training, a callback at the end of the
fit); and saving what to put back costs what the parameters cost, not what
the history of a long stream of calls costs.
"""

import copy
import time

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.datasets import load_digits

from skdbn import (
    RBM,
    DBNClassifier,
    DBNRegressor,
    DBNTransformer,
    GenerativeDBNClassifier,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

# scikit-learn's callback machinery keeps these on an estimator: they are not
# fitted state.
CALLBACK_MACHINERY = {
    "_skl_callbacks",
    "_skl_callbacks_to_teardown",
    "_callback_fit_ctx",
    "_parent_callback_ctx",
}


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


def fitted_state(estimator):
    """Every attribute of ``estimator`` that is not a constructor parameter."""
    params = set(estimator.get_params(deep=False))
    return {
        key: value
        for key, value in vars(estimator).items()
        if key not in params and key not in CALLBACK_MACHINERY
    }


def assert_same(actual, expected, where="state"):
    """``actual`` equals ``expected`` all the way down, arrays bit for bit."""
    assert type(actual) is type(expected), where
    if isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, where
        if expected.dtype.kind == "O":
            assert_same(actual.tolist(), expected.tolist(), where)
        else:
            assert np.array_equal(actual, expected, equal_nan=True), where
    elif isinstance(expected, np.random.Generator):
        assert_same(actual.bit_generator.state, expected.bit_generator.state, where)
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), where
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert actual == expected or (np.isnan(actual) and np.isnan(expected)), where
    elif isinstance(expected, BaseEstimator) or hasattr(expected, "__dict__"):
        assert_same(vars(actual), vars(expected), f"{where}.__dict__")
    else:
        assert actual == expected, where


def assert_unchanged(estimator, saved):
    assert_same(fitted_state(estimator), saved)


# -- every estimator, small ----------------------------------------------------

ESTIMATORS = {
    "RBM": lambda: RBM(8, n_iter=2, batch_size=20, random_state=0),
    "DBNTransformer": lambda: DBNTransformer((8, 4), pretrain_epochs=2, random_state=0),
    "DBNClassifier": lambda: DBNClassifier(
        (8,), pretrain_epochs=2, max_iter=2, random_state=0
    ),
    "DBNRegressor": lambda: DBNRegressor(
        (8,), pretrain_epochs=2, max_iter=2, random_state=0
    ),
    "GenerativeDBNClassifier": lambda: GenerativeDBNClassifier(
        (8,), pretrain_epochs=2, up_down_epochs=2, random_state=0
    ),
}


def _train(estimator, X, y, how):
    """One training call: a fit, a partial_fit or a warm-started fit."""
    target = y.astype(float) if isinstance(estimator, DBNRegressor) else y
    supervised = not isinstance(estimator, (RBM, DBNTransformer))
    args = (X, target) if supervised else (X,)
    if how == "partial_fit":
        kwargs = (
            {"classes": np.unique(y)} if isinstance(estimator, DBNClassifier) else {}
        )
        return estimator.partial_fit(*args, **kwargs)
    if how == "warm_start":
        estimator.set_params(warm_start=True)
    return estimator.fit(*args)


class FailingCallback:
    """A callback that raises in one of its hooks (``teardown`` by default)."""

    def __init__(self, hook="teardown", at="epoch"):
        self.hook, self.at = hook, at

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        if self.hook == "teardown":
            raise RuntimeError("the callback failed")

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        if self.hook == "on_fit_task_end" and context.task_name == self.at:
            raise RuntimeError("the callback failed")


CALLS = [(name, "fit") for name in ESTIMATORS] + [
    ("RBM", "partial_fit"),
    ("DBNTransformer", "partial_fit"),
    ("DBNClassifier", "partial_fit"),
    ("DBNRegressor", "partial_fit"),
    ("DBNClassifier", "warm_start"),
    ("GenerativeDBNClassifier", "warm_start"),
]


def _timeless(state):
    """``state`` with the seconds of each history record left out."""
    state = dict(state)
    state["history_"] = [
        {k: v for k, v in record.items() if k != "seconds"}
        for record in state["history_"]
    ]
    return state


@pytest.mark.parametrize("name, how", CALLS)
def test_a_callback_failing_at_teardown_leaves_the_estimator_as_it_was(data, name, how):
    """The teardown runs after the fit: its error must still restore the model."""
    pytest.importorskip("sklearn.callback")
    X, y = data
    estimator = ESTIMATORS[name]()
    _train(estimator, X, y, how)
    _train(estimator, X[::-1], y[::-1], how)  # some history to keep
    saved = copy.deepcopy(fitted_state(estimator))
    estimator.set_callbacks(FailingCallback("teardown"))
    with pytest.raises(RuntimeError, match="callback failed"):
        _train(estimator, X[50:], y[50:], how)
    assert_unchanged(estimator, saved)
    # And it trains on exactly as one that never saw the failed call.
    reference = ESTIMATORS[name]()
    _train(reference, X, y, how)
    _train(reference, X[::-1], y[::-1], how)
    estimator.set_callbacks()
    _train(estimator, X[50:], y[50:], how)
    _train(reference, X[50:], y[50:], how)
    assert_same(_timeless(fitted_state(estimator)), _timeless(fitted_state(reference)))


@pytest.mark.parametrize("name, how", [c for c in CALLS if c[1] != "fit"])
def test_an_error_after_some_epochs_truncates_the_histories_back(data, name, how):
    """A call that fails mid-way gives back the histories it had appended to.

    (The histories are restored by length, not copied: they come back whole,
    and are the very lists a caller may hold.)
    """
    pytest.importorskip("sklearn.callback")
    X, y = data
    estimator = ESTIMATORS[name]()
    _train(estimator, X, y, how)
    _train(estimator, X[::-1], y[::-1], how)
    saved = copy.deepcopy(fitted_state(estimator))
    logs = ("history_", "loss_curve_", "up_down_curve_", "reconstruction_error_curve_")
    lists = {k: v for k, v in fitted_state(estimator).items() if k in logs}
    # The last epoch of the call: every history has been appended to.
    estimator.set_callbacks(FailingCallback("on_fit_task_end", at="epoch"))
    with pytest.raises(RuntimeError, match="callback failed"):
        _train(estimator, X[50:], y[50:], how)
    assert_unchanged(estimator, saved)
    for key, value in lists.items():
        assert getattr(estimator, key) is value, key


# -- the cost of keeping a call atomic -----------------------------------------


def _median_ms(estimator, call, chunks, start):
    times = []
    for i, chunk in enumerate(chunks):
        began = time.perf_counter()
        call(estimator, chunk, start + i)
        times.append(time.perf_counter() - began)
    return 1e3 * float(np.median(times))


def _classifier_call(estimator, chunk, i):
    X, y = chunk
    estimator.partial_fit(X, y, classes=np.arange(10))


def _rbm_call(estimator, chunk, i):
    estimator.partial_fit(chunk[0])


@pytest.mark.parametrize(
    "make, call",
    [
        (
            lambda: DBNClassifier((8,), pretrain_epochs=1, random_state=0),
            _classifier_call,
        ),
        (lambda: RBM(8, batch_size=10, random_state=0), _rbm_call),
    ],
    ids=["DBNClassifier", "RBM"],
)
def test_partial_fit_costs_no_more_after_2000_calls_than_after_100(data, make, call):
    """Call 2,000 of a stream takes at most 1.5 times as long as call 100.

    MLPClassifier.partial_fit and BernoulliRBM.partial_fit cost the same at
    every call; a cost that grows with the calls made (a copy of the whole
    history before each call, to restore it on error) makes a long stream
    quadratic. The two windows run interleaved, the estimator as it was at
    call 100 against the same estimator at call 2,000, on the same chunks,
    so that a busy machine slows both alike.
    """
    X, y = data
    chunks = [(X[i : i + 10], y[i : i + 10]) for i in range(0, 300, 10)]
    estimator = make()
    for i in range(100):
        call(estimator, chunks[i % 30], i)
    early = copy.deepcopy(estimator)
    for i in range(100, 2000):
        call(estimator, chunks[i % 30], i)
    ratios = []
    for attempt in range(3):  # the best of three windows of 21 calls each
        window = [chunks[(attempt * 21 + j) % 30] for j in range(21)]
        early_ms, late_ms = [], []
        for j, chunk in enumerate(window):
            early_ms.append(_median_ms(early, call, [chunk], 100 + j))
            late_ms.append(_median_ms(estimator, call, [chunk], 2000 + j))
        ratios.append(np.median(late_ms) / np.median(early_ms))
    assert min(ratios) <= 1.5, (
        f"partial_fit call 2000 takes {min(ratios):.2f} times as long as call 100"
    )
