"""The BLAS thread policy: one thread for small products, measured for large.

The session runs BLAS on one thread (tests/conftest.py); each test here
opens the pools to two threads first, as a user's idle 2-core machine has.
"""

import numpy as np
import pytest
from threadpoolctl import ThreadpoolController, threadpool_limits

from skdbn import DBNClassifier, _blas, _threads
from skdbn._threads import PROBE_INTERVAL, ThreadPolicy


def _blas_threads():
    pools = ThreadpoolController().select(user_api="blas").lib_controllers
    return {pool.num_threads for pool in pools}


@pytest.fixture
def two_threads():
    with threadpool_limits(limits=2, user_api="blas"):
        if _blas_threads() != {2}:
            pytest.skip("the BLAS pools cannot run two threads here")
        yield


class FakeClock:
    """A clock whose products take ``seconds[threads]`` each.

    The policy times its measurement with this clock, so the test decides
    which thread count is faster.
    """

    def __init__(self, seconds):
        self.seconds = seconds
        self.now = 0.0

    def __call__(self):
        (threads,) = _blas_threads()
        self.now += self.seconds[threads]
        return self.now


def test_small_products_run_on_one_thread_without_measuring(two_threads, monkeypatch):
    def no_measuring(self, most):
        raise AssertionError("a small product was measured")

    monkeypatch.setattr(ThreadPolicy, "_measure", no_measuring)
    policy = ThreadPolicy((16, 64, 256), np.float32)  # 0.5 MFLOP
    with policy.limit() as threads:
        assert threads == 1
        assert _blas_threads() == {1}
    assert _blas_threads() == {2}  # restored


@pytest.mark.parametrize(
    "seconds, expected",
    [
        ({1: 1.0, 2: 0.5}, 2),  # two threads twice as fast: kept
        ({1: 1.0, 2: 2.9}, 1),  # a busy machine: one thread 2.9x faster
        ({1: 1.0, 2: 0.95}, 1),  # a near tie goes to one thread
    ],
)
def test_large_products_run_on_the_count_measured_faster(
    two_threads, seconds, expected
):
    policy = ThreadPolicy((100, 784, 500), np.float32, clock=FakeClock(seconds))
    with policy.limit() as threads:
        assert threads == expected
        assert _blas_threads() == {expected}
    assert _blas_threads() == {2}


def test_a_measurement_serves_until_it_is_old(two_threads, monkeypatch):
    clock = FakeClock({1: 0.0, 2: 0.0})
    calls = []

    def measure(self, most):
        calls.append(clock.now)
        return 1

    monkeypatch.setattr(ThreadPolicy, "_measure", measure)
    policy = ThreadPolicy((100, 784, 500), np.float32, clock=clock)
    policy.choose()
    clock.now += PROBE_INTERVAL / 2
    policy.choose()
    assert len(calls) == 1
    clock.now += PROBE_INTERVAL
    policy.choose()
    assert len(calls) == 2


def test_the_users_limit_is_an_upper_bound(monkeypatch):
    # The session's one-thread limit stands for a user's threadpool_limits(1).
    assert _blas_threads() == {1}
    policy = ThreadPolicy((256, 784, 500), np.float32)
    with policy.limit() as threads:
        assert threads is None
        assert _blas_threads() == {1}


def test_other_backends_keep_their_own_threads(two_threads):
    policy = ThreadPolicy((16, 64, 256), np.float32, on_numpy=False)
    with policy.limit() as threads:
        assert threads is None
        assert _blas_threads() == {2}


def test_a_small_dbn_trains_and_predicts_on_one_thread(two_threads, monkeypatch):
    # Every product of training and prediction goes through _blas.gemm;
    # record the pools' threads at each of them.
    seen = []
    gemm = _blas.gemm

    def recording_gemm(*args, **kwargs):
        if len(seen) < 2000:
            seen.append(frozenset(_blas_threads()))
        return gemm(*args, **kwargs)

    monkeypatch.setattr(_blas, "gemm", recording_gemm)
    rng = np.random.default_rng(0)
    X = rng.random((200, 16))
    y = (X[:, 0] > 0.5).astype(int)
    clf = DBNClassifier((16,), pretrain_epochs=2, max_iter=3, random_state=0)
    clf.fit(X, y).predict(X)
    assert seen
    assert set(seen) == {frozenset({1})}
    assert _blas_threads() == {2}


def test_policies_are_shared_by_product_shape():
    W = np.zeros((500, 784), dtype=np.float32)
    first = _threads.stage_threads(100, [W])
    assert _threads.stage_threads(100, [np.zeros((10, 10), np.float32), W]) is first
    assert _threads.stage_threads(100, [W.T]) is first
    assert _threads.stage_threads(256, [W]) is not first  # another product
    assert _threads.stage_threads(100, [W.astype(np.float64)]) is not first
    assert _threads.prediction_threads(100, [W]) is not first


def test_prediction_never_measures(two_threads, monkeypatch):
    # A row's prediction must not depend on the moment it is made: small
    # products on one thread, larger ones on the pool's threads.
    def no_measuring(self, most):
        raise AssertionError("prediction measured")

    monkeypatch.setattr(ThreadPolicy, "_measure", no_measuring)
    large = _threads.prediction_threads(256, [np.zeros((784, 500), np.float32)])
    with large.limit() as threads:
        assert threads is None and _blas_threads() == {2}
    small = _threads.prediction_threads(256, [np.zeros((8, 4), np.float32)])
    with small.limit() as threads:
        assert threads == 1


def test_a_lower_limit_since_the_measurement_is_obeyed(monkeypatch):
    # Measured with the pool at 3 threads, then asked under a limit of 2:
    # the policy measures again rather than restoring 3.
    with threadpool_limits(limits=3, user_api="blas"):
        if _blas_threads() != {3}:
            pytest.skip("the BLAS pools cannot run three threads here")
        clock = FakeClock({1: 1.0, 2: 0.5, 3: 0.4})
        policy = ThreadPolicy((100, 784, 500), np.float32, clock=clock)
        assert policy.choose() == 3
        with threadpool_limits(limits=2, user_api="blas"):
            with policy.limit() as threads:
                assert threads == 2
                assert _blas_threads() == {2}


def test_other_threads_leave_the_pools_alone(two_threads):
    import threading

    policy = ThreadPolicy((16, 64, 256), np.float32)
    seen = []

    def work():
        with policy.limit() as threads:
            seen.append((threads, _blas_threads()))

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert seen == [(None, {2})]


def test_a_measurement_of_a_huge_layer_stays_small(two_threads, monkeypatch):
    # A layer over 130,000 features is timed on a block of its weights.
    shapes = []

    def recording_gemm(A, B, C, **kwargs):
        shapes.append((A.shape, B.shape))
        return C

    monkeypatch.setattr(_blas, "gemm", recording_gemm)
    policy = ThreadPolicy(
        (200, 130_000, 256), np.float32, clock=FakeClock({1: 1.0, 2: 0.5})
    )
    assert policy.choose() == 2
    for (m, k), (_, n) in shapes:
        assert k * n <= _threads.PROBE_WEIGHTS
        assert 2 * m * k * n <= max(_threads.PROBE_FLOPS, 2 * k * n)
