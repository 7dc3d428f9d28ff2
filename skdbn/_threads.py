"""How many BLAS threads a training stage uses: measured, not assumed.

On an idle 2-core machine two BLAS threads make a 784x500 CD epoch 1.5x
faster than one; beside one other busy process they make it 2.9x slower,
and the digits demo's DBN 4.5x slower (15.3 s against 3.4 s), because
OpenBLAS's threads spin while they wait for a core that another process
holds (``benchmarks/bench_busy.py``). Products below a million
floating-point operations gain nothing from threads even on an idle
machine, and above it the gain depends on the shape. So:

- a stage whose products are small runs its BLAS on one thread;
- a stage with large products times its own product shape on one thread
  and on the pool's threads before its first epoch, and again every few
  seconds, and runs on whichever was faster;
- nothing ever uses more threads than the pool has: ``threadpool_limits``
  set by the user (or ``OPENBLAS_NUM_THREADS``) is an upper bound.

All of it lives here; the epoch loop, the L-BFGS fit and ``predict`` ask
:func:`stage_threads` for a policy and enter :meth:`ThreadPolicy.limit`
around their work.
"""

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

# At most this many rows in a measurement's product.
PROBE_ROWS = 2048

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
    clock : callable, default=time.perf_counter
    """

    def __init__(self, product, dtype, on_numpy=True, clock=time.perf_counter):
        self.product = tuple(int(d) for d in product)
        self.dtype = np.dtype(dtype) if on_numpy else None
        self.on_numpy = on_numpy
        self.clock = clock
        self.threads = None  # None: leave the pool as it is
        self._probed_at = None
        m, k, n = self.product
        self.flops = 2.0 * m * k * n

    def choose(self):
        """The thread count to use now (None: the pool's own)."""
        if not self.on_numpy:
            return None
        most = pool_threads()
        if most <= 1:
            return None
        if self.flops < SMALL_PRODUCT_FLOPS:
            return 1
        now = self.clock()
        if self._probed_at is None or now - self._probed_at >= PROBE_INTERVAL:
            self.threads = self._measure(most)
            self._probed_at = self.clock()
        return self.threads

    def _measure(self, most):
        """1 or ``most``: whichever runs the stage's product faster now."""
        from ._blas import gemm

        m, k, n = self.product
        # (Time scales with the rows; the threads' gain is the same from a
        # few hundred rows up, so large chunks are measured on fewer.)
        m = min(m, PROBE_ROWS)
        rng = np.random.default_rng(0)
        A = rng.random((m, k), dtype=np.float64).astype(self.dtype)
        B = rng.random((k, n), dtype=np.float64).astype(self.dtype)
        C = np.empty((m, n), dtype=self.dtype)
        pools = _blas_pools()
        seconds = {}
        for threads in (most, 1, most, 1):
            with pools.limit(limits=threads):
                gemm(A, B, C)  # (wakes the pool's threads)
                runs, start = 0, self.clock()
                while True:
                    gemm(A, B, C)
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


# One policy per weight shape and dtype, shared by every stage and call
# that multiplies by those weights (training's batches and predict's
# blocks alike): a measurement serves them all until it is PROBE_INTERVAL
# old (predict on small chunks would otherwise measure at every call).
_policies = {}


def stage_threads(rows, weights):
    """The :class:`ThreadPolicy` of a stage (or a prediction) that multiplies
    ``rows`` rows at a time by each of ``weights`` (arrays of its backend and
    dtype)."""
    from ._backend import NUMPY, backend_of

    largest = max(weights, key=lambda W: W.shape[0] * W.shape[1])
    on_numpy = backend_of(largest) is NUMPY
    # (W and its transpose cost the same: training multiplies by one,
    # prediction often by the other.)
    key = (*sorted(map(int, largest.shape)), str(largest.dtype), on_numpy)
    policy = _policies.get(key)
    if policy is None:
        policy = _policies[key] = ThreadPolicy(
            (rows, *largest.shape), largest.dtype, on_numpy=on_numpy
        )
    return policy


def limited(policy):
    """``policy.limit()``, or a context that changes nothing for None."""
    return nullcontext() if policy is None else policy.limit()
