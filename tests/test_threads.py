"""The BLAS thread policy: one thread for small products, measured for large.

The session runs BLAS on one thread (tests/conftest.py); each test here
opens the pools to two threads first, as a user's idle 2-core machine has.
"""

import ast
import os
import threading
import time
import warnings
from pathlib import Path

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


def _thread_cpu_ticks():
    """CPU time (clock ticks) of each thread of this process, from /proc."""
    ticks = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        ticks[int(tid)] = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks


def _workers_woken_by(work, min_ticks=5):
    """The threads (other than this one) that ran at least ``min_ticks``
    clock ticks while ``work`` ran, and not while the process slept."""
    time.sleep(0.5)  # let OpenBLAS workers stop spinning from earlier calls
    start = _thread_cpu_ticks()
    time.sleep(0.3)
    idle = _thread_cpu_ticks()
    restless = {tid for tid in idle if idle[tid] > start.get(tid, 0)}
    work()
    after = _thread_cpu_ticks()
    woken = {tid for tid in after if after[tid] - idle.get(tid, 0) >= min_ticks}
    return woken - restless - {threading.get_native_id()}


def _ticks(threads, before, after):
    return sum(after.get(tid, 0) - before.get(tid, 0) for tid in threads)


@pytest.mark.skipif(
    not os.path.isdir("/proc/self/task"), reason="reads threads' CPU time from /proc"
)
def test_one_blas_pool_runs_during_fit_and_prediction(two_threads, monkeypatch):
    # numpy and scipy each load an OpenBLAS with its own pool of threads. A
    # loop that used both would keep both pools' workers busy (their spin
    # waits fight for the cores): skdbn must only ever wake the training
    # BLAS's. The workers of each pool are found by timing a large product
    # on each; then every estimator fits and predicts with the thread policy
    # leaving both pools at two threads, and numpy's workers must stay idle.
    from scipy.linalg import blas

    from skdbn import (
        RBM,
        DBNRegressor,
        DBNTransformer,
        GenerativeDBNClassifier,
        likelihood,
    )

    A = np.random.default_rng(0).random((1500, 1500), dtype=np.float32)
    numpy_workers = _workers_woken_by(lambda: [A @ A for _ in range(3)])
    scipy_workers = _workers_woken_by(lambda: [blas.sgemm(1.0, A, A) for _ in range(3)])
    if not numpy_workers or not scipy_workers or numpy_workers & scipy_workers:
        pytest.skip("numpy and scipy do not run two separate BLAS pools here")

    monkeypatch.setattr(ThreadPolicy, "choose", lambda self: None)
    rng = np.random.default_rng(0)
    X = rng.random((2000, 200), dtype=np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    Xb = (X > 0.5).astype(np.float32)

    def work():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tiny fits warn of underfitting
            clf = DBNClassifier(
                (256, 256), pretrain_epochs=2, max_iter=3, random_state=0
            )
            clf.fit(X, y).predict_proba(X)
            clf.set_params(solver="lbfgs", alpha=1e-3, max_iter=5).fit(X, y)
            reg = DBNRegressor((256,), pretrain_epochs=1, max_iter=2, random_state=0)
            reg.fit(X, X[:, 0]).predict(X)
            dbn = DBNTransformer(
                (256,),
                hidden_unit="bernoulli",
                pretrain_epochs=1,
                fine_tune=True,
                max_iter=2,
                random_state=0,
            )
            dbn.inverse_transform(dbn.fit(X).transform(X))
            likelihood.dbn_lower_bound(
                dbn, X[:20], n_chains=10, n_temperatures=100, random_state=0
            )
            gen = GenerativeDBNClassifier(
                (256, 256), pretrain_epochs=1, up_down_epochs=1, random_state=0
            )
            gen.fit(Xb, y).predict_proba(Xb)
            gen.sample(50, n_gibbs_steps=5, random_state=0)
            rbm = RBM(256, n_iter=2, random_state=0).fit(Xb)
            rbm.score_samples(Xb)
            rbm.free_energy(Xb)
            rbm.sample(50, n_gibbs_steps=5, random_state=0)
            log_z = likelihood.ais_log_partition(
                rbm, Xb, n_chains=10, n_temperatures=100, random_state=0
            )
            likelihood.log_likelihood(rbm, Xb, log_z)

    time.sleep(0.5)
    before = _thread_cpu_ticks()
    work()
    after = _thread_cpu_ticks()
    ticks = {tid: after.get(tid, 0) - before.get(tid, 0) for tid in after}
    # The check can see a pool at work ...
    assert _ticks(scipy_workers, before, after) > 0, ticks
    # ... and NumPy's stayed asleep (ticks per thread in the message).
    assert _ticks(numpy_workers, before, after) == 0, (numpy_workers, ticks)


# Where skdbn may multiply without its training BLAS: the other namespaces'
# backend (torch, CuPy: their own libraries) and scipy.sparse products (no
# BLAS), each named by module and enclosing function.
PRODUCTS_OFF_THE_TRAINING_BLAS = {
    ("_backend.py", "ArrayAPIBackend.gemm"),  # a @ b of torch, CuPy, ...
    ("_units.py", "affine"),  # the CSR branch
    ("_network.py", "weight_gradient"),  # the CSR branch
}
NUMPY_BLAS_FUNCTIONS = {"dot", "vdot", "inner", "matmul", "tensordot", "linalg"}


def _numpy_products(path):
    """(enclosing function, line) of each product in ``path`` that could run
    on NumPy's BLAS: ``@``, ``.dot(``, ``np.dot``/``vdot``/``inner``/
    ``matmul``/``tensordot``/``linalg.*`` and ``einsum(..., optimize=...)``."""
    found = []

    def visit(node, scope):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            scope = [*scope, node.name]
        hit = isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name, owner = node.func.attr, node.func.value
            hit = hit or name == "dot"
            hit = hit or (
                isinstance(owner, ast.Name)
                and owner.id in {"np", "numpy"}
                and (
                    name in NUMPY_BLAS_FUNCTIONS
                    or (
                        name == "einsum"
                        and any(k.arg == "optimize" for k in node.keywords)
                    )
                )
            )
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "linalg"
            and isinstance(node.value, ast.Name)
            and node.value.id in {"np", "numpy"}
        ):
            hit = True
        if hit:
            found.append((".".join(scope), node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(ast.parse(path.read_text()), [])
    return found


def test_no_product_of_skdbn_runs_on_numpys_blas(tmp_path):
    # The /proc test above sees only products large enough for BLAS to use
    # its threads; this one reads the source, so a matrix-vector product or
    # a dot of any size is caught too.
    package = Path(_blas.__file__).parent
    stray = [
        f"{path.name}:{line} in {scope or 'module'}"
        for path in sorted(package.glob("*.py"))
        for scope, line in _numpy_products(path)
        if (path.name, scope) not in PRODUCTS_OFF_THE_TRAINING_BLAS
    ]
    assert not stray, "products on NumPy's BLAS: " + ", ".join(stray)
    # The scan finds each kind of call it looks for.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(a, b):\n"
        "    a @ b\n"
        "    a.dot(b)\n"
        "    np.vdot(a, b)\n"
        "    np.linalg.norm(a)\n"
        "    np.einsum('ij,jk', a, b, optimize=True)\n"
        "    np.einsum('ij,ij->i', a, b)\n"  # no BLAS without optimize
    )
    assert _numpy_products(sample) == [("f", line) for line in (2, 3, 4, 5, 6)]
