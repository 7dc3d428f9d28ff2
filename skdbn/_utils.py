"""Small helpers shared by the estimators."""

import copy
import functools

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from ._backend import NUMPY, backend_of
from ._progress import CALLBACK_ATTRIBUTES


def make_generator(random_state, backend=NUMPY):
    """Turn an sklearn ``random_state`` into a generator of ``backend``.

    On NumPy a fast ``numpy.random.Generator``; on PyTorch a generator on
    the tensors' device (see :mod:`skdbn._backend`). An int gives the same
    stream every time; a ``RandomState`` instance is advanced, as
    scikit-learn estimators do.
    """
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return backend.make_rng(seed)


def child_seed(rng):
    """Draw a seed for a sub-estimator from a parent generator."""
    return int(rng.integers(np.iinfo(np.int32).max))


def minibatches(n_samples, batch_size, rng=None, rows=None, backend=NUMPY):
    """Index arrays of one epoch's mini-batches, shuffled when ``rng`` is given.

    With ``rows`` (an index array) the batches cover those rows only, and
    ``n_samples`` is ignored: training on a subset of an array without
    copying it. On NumPy, indices within a batch are sorted so that
    gathering the rows walks memory forwards. The index arrays live on
    ``backend``'s device (``rng`` is its generator).
    """
    if rows is not None:
        n_samples = rows.shape[0]
    if rng is not None:
        order = backend.permutation(rng, n_samples)
    else:
        order = backend.xp.arange(n_samples, device=backend.device)
    if rows is not None:
        order = backend.xp.take(rows, order, axis=0)
    batch_size = max(1, min(batch_size, n_samples))
    batches = [
        order[i : min(i + batch_size, n_samples)]
        for i in range(0, n_samples, batch_size)
    ]
    if rng is not None and backend.is_numpy:
        for batch in batches:
            batch.sort()
    return batches


def count_rows(X, rows=None):
    """The number of rows of ``X``, or of the subset ``rows`` of it."""
    return X.shape[0] if rows is None else rows.shape[0]


def take_rows(X, start, stop, rows=None):
    """Rows ``start:stop`` of ``X``, or of its subset ``rows`` (a copy then)."""
    stop = min(stop, count_rows(X, rows))  # (the Array API has no clipping)
    if rows is None:
        return X[start:stop, ...] if X.ndim > 1 else X[start:stop]
    return gather(X, rows[start:stop])


def gather(X, rows):
    """The rows ``rows`` of ``X`` (an index array of ``X``'s backend), copied."""
    if sp.issparse(X) or isinstance(X, np.ndarray):
        return X[rows]
    return backend_of(X).xp.take(X, rows, axis=0)


def as_dtype(X, dtype):
    """``X`` (dense of any backend, or sparse) in ``dtype``, copied only if needed."""
    if sp.issparse(X) or isinstance(X, np.ndarray):
        return X.astype(dtype, copy=False)
    return backend_of(X).xp.astype(X, dtype, copy=False)


def load_batch(X, rows, out):
    """Copy rows ``rows`` of ``X`` (dense or CSR) into the buffer ``out``."""
    if sp.issparse(X):
        out[...] = X[rows].toarray()
    else:
        backend_of(X).take(X, rows, out)
    return out


def restore_on_error(method):
    """Make a training method leave the estimator as it was when it raises.

    The fitted state (every attribute that is not a constructor parameter)
    is copied before the call and put back if the call raises, so a failed
    ``fit`` or ``partial_fit`` (bad data, a diverged run) never leaves a
    half-updated model. The training loops catch Ctrl-C themselves and end
    their stage with a consistent model; a Ctrl-C that lands outside them
    restores the estimator like an error, and goes on.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        # The callbacks and their machinery are not fitted state (see
        # skdbn._progress): neither copied nor restored.
        kept = set(self.get_params(deep=False)) | CALLBACK_ATTRIBUTES
        saved = {k: v for k, v in self.__dict__.items() if k not in kept}
        saved = copy.deepcopy(saved)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            for key in [k for k in self.__dict__ if k not in kept]:
                del self.__dict__[key]
            self.__dict__.update(saved)
            raise

    return wrapper
