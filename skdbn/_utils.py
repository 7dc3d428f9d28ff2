"""Small helpers shared by the estimators."""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from ._backend import NUMPY, backend_of
from ._progress import CALLBACK_ATTRIBUTES
from ._typing import Array, ArrayLike, MatrixLike


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
    if rng is not None:
        for batch in batches:
            backend.order_batch_(batch)
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


def to_host(array):
    """A NumPy view or copy of an array of any backend."""
    return backend_of(array).to_numpy(array)


def labels_at(classes, codes):
    """``classes[codes]``: on the codes' device when ``classes`` lives there
    (numeric labels), else in NumPy (labels only NumPy holds)."""
    backend = backend_of(codes)
    if backend_of(classes) is backend:
        return backend.xp.take(classes, codes, axis=0)
    return classes[backend.to_numpy(codes)]


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


# The per-epoch logs: lists that training only ever appends to, by attribute
# name (on an estimator, an estimator inside it, or a training state) or key
# (a layer's "curve", see _layer.py). The
# restore below truncates them to their saved length instead of copying them,
# so that keeping a call atomic costs what copying the parameters costs,
# however long the history grows over a stream of ``partial_fit`` calls.
APPEND_ONLY_LOGS = frozenset(
    {
        "history_",
        "loss_curve_",
        "validation_scores_",
        "curve",
        "up_down_curve_",
        "loss_curve",
        "validation_scores",
    }
)
# Lists of such logs (one per layer).
APPEND_ONLY_LOGS_OF_LOGS = frozenset({"pretraining_curves_"})


class _Snapshot:
    """The fitted state of an estimator, to put back if a training call fails.

    Every attribute that is not a constructor parameter (nor callback
    machinery, see :mod:`skdbn._progress`) is deep-copied, except the
    append-only logs (:data:`APPEND_ONLY_LOGS`), found on the estimator and
    on the objects it holds: those keep their identity (a log shared by two
    attributes stays shared) and only their lengths are saved.
    """

    def __init__(self, estimator):
        self.kept = set(estimator.get_params(deep=False)) | CALLBACK_ATTRIBUTES
        state = {k: v for k, v in estimator.__dict__.items() if k not in self.kept}
        logs = _append_only_logs(state)
        self.lengths = [(log, len(log)) for log in logs]
        # deepcopy takes a memo entry as the copy already made: the logs are
        # "copied" as themselves, neither walked nor duplicated.
        self.state = copy.deepcopy(state, {id(log): log for log in logs})

    def restore(self, estimator):
        for log, length in self.lengths:
            del log[length:]
        for key in [k for k in estimator.__dict__ if k not in self.kept]:
            del estimator.__dict__[key]
        estimator.__dict__.update(self.state)


def _append_only_logs(state):
    """The append-only logs reachable from ``state``, without walking them.

    Walks dicts, lists, tuples and skdbn objects (nested estimators such as
    ``rbms_`` or ``top_rbm_``, training states), never a log's entries.
    """
    logs, seen = {}, set()

    def add(log):
        if type(log) is list:
            logs[id(log)] = log

    def visit(value):
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, (list, tuple)):
            items = ((None, item) for item in value)
        elif hasattr(value, "__dict__") and type(value).__module__.startswith("skdbn."):
            items = vars(value).items()
        else:
            return
        for name, item in items:
            if name in APPEND_ONLY_LOGS:
                add(item)
            elif name in APPEND_ONLY_LOGS_OF_LOGS and type(item) is list:
                add(item)
                for log in item:
                    add(log)
            else:
                visit(item)

    visit(state)
    return list(logs.values())


def restore_on_error(method):
    """Make a training method leave the estimator as it was when it raises.

    The fitted state (every attribute that is not a constructor parameter)
    is saved before the call and put back if the call raises, so a failed
    ``fit`` or ``partial_fit`` (bad data, a diverged run, a callback that
    fails) never leaves a half-updated model. The saving costs what a copy
    of the parameters costs, not of the history (see :class:`_Snapshot`).
    The training loops catch Ctrl-C themselves and end their stage with a
    consistent model; a Ctrl-C that lands outside them restores the
    estimator like an error, and goes on.

    :func:`skdbn._progress.with_callbacks` applied to the result moves the
    restore outside the callbacks' teardown, so that a callback failing at
    the end of a fit restores the estimator too.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        snapshot = _Snapshot(self)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            snapshot.restore(self)
            raise

    # The undecorated method, for with_callbacks to wrap the other way round.
    wrapper.__skdbn_unrestored__ = method
    return wrapper


class AtomicFitTransformMixin:
    """``fit_transform`` that leaves the estimator as it was when it raises.

    scikit-learn's ``TransformerMixin.fit_transform`` calls ``fit``, then
    ``transform``: ``fit``'s own restore cannot undo a fit whose
    ``transform`` then fails (activations that overflow, say). Goes before
    ``TransformerMixin`` among the bases.
    """

    @restore_on_error
    def fit_transform(
        self, X: MatrixLike, y: ArrayLike | None = None, **fit_params: Any
    ) -> Array:
        """Fit to ``X``, then transform it.

        As ``fit(X, y).transform(X)``; an error in either step leaves the
        estimator as it was before the call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), default=None
            Targets, for the estimators that take them.
        **fit_params : dict
            Passed to ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out)
            ``X`` transformed by the fitted estimator.
        """
        return super().fit_transform(X, y, **fit_params)
