"""How many BLAS threads a training stage uses: measured, not assumed.

On an idle 2-core machine two BLAS threads make a 784x500 CD epoch 1.5x
faster than one; beside one other busy process they make it 2.9x slower,
and the digits demo's DBN 4.5x slower (15.3 s against 3.4 s), because
OpenBLAS's threads spin while they wait for a core that another process
holds (``benchmarks/bench_busy.py``). Products below a million
floating-point operations gain nothing from threads even on an idle
machine, and above it the gain depends on the shape. So:

- a stage whose products are small runs its BLAS on one thread;
- a training stage with larger products times its own product shape on
  one thread and on the pool's threads before its first epoch, and again
  every few seconds, and runs on whichever was faster;
- prediction measures nothing (its output must not depend on the moment):
  small products on one thread, larger ones on the pool's threads;
- nothing ever uses more threads than the pool has: ``threadpool_limits``
  set by the user (or ``OPENBLAS_NUM_THREADS``) is an upper bound;
- only the main thread sets limits: threadpoolctl's limits are
  process-wide, and two threads restoring them out of order would leave the
  process at a stale count, so in other threads skdbn leaves the pools as
  they are.

All of it lives here; the epoch loop and the L-BFGS fit ask
:func:`stage_threads`, ``predict`` asks :func:`prediction_threads`, and
each enters :meth:`ThreadPolicy.limit` around its work.
"""

import threading
import time
from contextlib import contextmanager, nullcontext

import numpy as np

# Products smaller than this (2 * m * k * n floating-point operations) run
# on one thread without measuring: a second thread gained nothing below it
# (scipy's OpenBLAS, float32, 2 cores: 26x256x64 and 26x64x256, 0.85
# MFLOP: 1.00x and 0.94x). Above it the gain depends on the shape, not the
# flops alone (100x64x256, 3.3 MFLOP: 0.99x; 26x256x256, 3.4 MFLOP: 1.26x),
# so larger products are measured.
SMALL_PRODUCT_FLOPS = 1e6

# The pool's threads are kept only when they are at least this much faster
# than one thread on the stage's product: a near tie goes to one thread,
# which cannot be slowed down by other processes' load.
THREADS_GAIN = 1.1

# A stage re-measures after this many seconds, as the machine's load changes.
PROBE_INTERVAL = 5.0

# Each side of a measurement runs the product for at least this long, so
# that it spans several of the scheduler's time slices (a single product
# of half a millisecond can run between another process's slices).
PROBE_SECONDS = 0.006

# A measurement's product has at most this many rows, and its weights at
# most PROBE_WEIGHTS entries (a block of the real ones: a layer over 130,000
# sparse features would otherwise be timed dense, with 700 MB of operands),
# and at most PROBE_FLOPS floating-point operations per product.
PROBE_ROWS = 2048
PROBE_WEIGHTS = 2**20
PROBE_FLOPS = 1e8

_controller = None


def _blas_pools():
    """threadpoolctl's controller of the BLAS libraries (built once: ~1 ms)."""
    global _controller
    if _controller is None:
        import scipy.linalg.blas  # noqa: F401  (the training BLAS, loaded)
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.select(user_api="blas")


def pool_threads():
    """The most threads any loaded BLAS library may use now."""
    pools = _blas_pools()
    return max((pool.num_threads for pool in pools.lib_controllers), default=1)


class ThreadPolicy:
    """The BLAS threads of one training stage; see the module docstring.

    Parameters
    ----------
    product : tuple (m, k, n)
        The shape of the stage's largest product per step (rows of a batch,
        inputs, outputs).
    dtype : numpy dtype
    on_numpy : bool
        Whether the stage computes with NumPy's BLAS (other backends choose
        their own threads).
    measure : bool, default=True
        Whether products of 1 MFLOP or more are timed (training) or run on
        the pool's threads (prediction, whose output must not depend on
        the moment).
    clock : callable, default=time.perf_counter
    """

    def __init__(
        self, product, dtype, on_numpy=True, measure=True, clock=time.perf_counter
    ):
        self.product = tuple(int(d) for d in product)
        self.dtype = np.dtype(dtype) if on_numpy else None
        self.on_numpy = on_numpy
        self.measure = measure
        self.clock = clock
        self.threads = None  # None: leave the pool as it is
        self._probed_at = None
        self._probed_with = None  # the pool's threads at the measurement
        m, k, n = self.product
        self.flops = 2.0 * m * k * n

    def choose(self):
        """The thread count to use now (None: the pool's own)."""
        if not self.on_numpy or threading.current_thread() is not _MAIN_THREAD:
            return None
        most = pool_threads()
        if most <= 1:
            return None
        if self.flops < SMALL_PRODUCT_FLOPS:
            return 1
        if not self.measure:
            return None
        now = self.clock()
        stale = self._probed_at is None or now - self._probed_at >= PROBE_INTERVAL
        if stale or self._probed_with != most:
            self.threads = self._measure(most)
            self._probed_at, self._probed_with = self.clock(), most
        return self.threads

    def _measure(self, most):
        """1 or ``most``: whichever runs the stage's product faster now."""
        from ._backend import NUMPY

        m, k, n = self.product
        # (Time scales with each dimension; the threads' gain is about the
        # same from a few hundred rows and columns up, so large products
        # are measured on a block of that size.)
        while k * n > PROBE_WEIGHTS:
            k, n = (max(1, k // 2), n) if k >= n else (k, max(1, n // 2))
        m = max(1, min(m, PROBE_ROWS, int(PROBE_FLOPS // (2 * k * n))))
        rng = np.random.default_rng(0)
        A = rng.random((m, k), dtype=self.dtype)
        B = rng.random((k, n), dtype=self.dtype)
        C = np.empty((m, n), dtype=self.dtype)
        pools = _blas_pools()
        seconds = {}
        for threads in (most, 1, most, 1):
            with pools.limit(limits=threads):
                NUMPY.gemm(A, B, C)  # (wakes the pool's threads)
                runs, start = 0, self.clock()
                while True:
                    NUMPY.gemm(A, B, C)
                    runs += 1
                    elapsed = self.clock() - start
                    if elapsed >= PROBE_SECONDS:
                        break
            # The mean over both rounds, not the best: under load the
            # lucky round is the one that misleads.
            seconds[threads] = seconds.get(threads, 0.0) + elapsed / runs
        return most if seconds[1] >= THREADS_GAIN * seconds[most] else 1

    @contextmanager
    def limit(self):
        """Run the block on :meth:`choose`'s threads, restoring the pool after."""
        threads = self.choose()
        if threads is None:
            yield None
            return
        with _blas_pools().limit(limits=threads):
            yield threads


_MAIN_THREAD = threading.main_thread()

# One policy per product shape, dtype and kind, shared by every stage that
# multiplies those shapes: a measurement serves them all until it is
# PROBE_INTERVAL old.
_policies = {}


def _policy(rows, weights, measure):
    from ._backend import backend_of

    largest = max(weights, key=lambda W: W.shape[0] * W.shape[1])
    on_numpy = backend_of(largest).host_blas
    # (W and its transpose cost the same: training multiplies by one, its
    # checks by the other.)
    shape = tuple(sorted(map(int, largest.shape)))
    key = (min(int(rows), PROBE_ROWS), *shape, str(largest.dtype), on_numpy, measure)
    policy = _policies.get(key)
    if policy is None:
        policy = _policies[key] = ThreadPolicy(
            (rows, *largest.shape), largest.dtype, on_numpy=on_numpy, measure=measure
        )
    return policy


def stage_threads(rows, weights):
    """The :class:`ThreadPolicy` of a training stage that multiplies ``rows``
    rows at a time by each of ``weights`` (arrays of its backend and dtype)."""
    return _policy(rows, weights, measure=True)


def prediction_threads(rows, weights):
    """The policy of a prediction: :func:`stage_threads`' without measuring."""
    return _policy(rows, weights, measure=False)


def limited(policy):
    """``policy.limit()``, or a context that changes nothing for None."""
    return nullcontext() if policy is None else policy.limit()
