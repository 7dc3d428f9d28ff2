"""Log-likelihoods of RBMs: the partition function, exact or by AIS.

An RBM's free energy ``F(v)`` (:meth:`skdbn.RBM.free_energy`) gives the
probability of a row only up to the partition function,
``log p(v) = -F(v) - log Z`` with ``Z = sum_v exp(-F(v))`` (an integral for
Gaussian visible units). ``log Z`` is the one number that turns the free
energy into a log-likelihood, in nats, that two models can be compared by:

- :func:`exact_log_partition` sums over every state of the smaller side
  when it has at most :data:`MAX_EXACT_UNITS` binary units;
- :func:`ais_log_partition` estimates it for models of any size by
  annealed importance sampling (Neal, 2001), as Salakhutdinov & Murray
  (2008) did for MNIST RBMs: chains start from a base-rate model fitted to
  the data's marginals and are annealed towards the RBM through a schedule
  of inverse temperatures; the mean importance weight estimates the ratio
  of the two partition functions;
- :func:`log_likelihood` gives ``log p(v)`` of rows for a model and its
  ``log Z``;
- :func:`dbn_lower_bound` bounds ``log p(v)`` under a greedy stack of
  RBMs (a :class:`~skdbn.DBNTransformer`) from below, as Salakhutdinov &
  Murray's section 4 does.

``log Z`` here is that of the free energy skdbn computes, which leaves out
constants that do not depend on ``v`` (for Gaussian hidden units); the
log-likelihood ``-F(v) - log Z`` is exact whatever they are.

References
----------
R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep
belief networks", ICML 2008.

R. M. Neal, "Annealed importance sampling", Statistics and Computing 11,
2001.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._backend import backend_of
from ._rbm import RBM
from ._threads import limited, prediction_threads
from ._typing import Array, MatrixLike, RandomStateLike
from ._units import affine, get_unit, row_dot
from ._utils import as_dtype, make_generator, to_host
from ._validation import validate_visible_data

__all__ = [
    "LogPartition",
    "LowerBound",
    "ais_log_partition",
    "dbn_lower_bound",
    "exact_log_partition",
    "log_likelihood",
]

#: Enumeration sums over 2**k states of the smaller binary side; above this
#: many units it would take too long (2**25 states of a 784-unit layer are
#: about 1e13 operations).
MAX_EXACT_UNITS = 25
# States enumerated per block: memory stays bounded whatever k is.
_BLOCK_STATES = 2**14


@dataclass(frozen=True)
class LogPartition:
    """An RBM's log partition function, computed or estimated.

    Attributes
    ----------
    log_z : float
        ``log Z`` (for AIS, the log of the mean importance weight times the
        base model's ``Z``).
    std_error : float
        Standard error of ``log_z`` (0 when exact), by the delta method
        from the spread of the importance weights.
    interval : tuple of float
        ``(low, high)``: for AIS, ``log`` of the mean weight minus and plus
        three standard errors of the mean (Salakhutdinov & Murray's
        conservative interval; ``low`` is ``-inf`` when the weights vary
        more than that); ``(log_z, log_z)`` when exact.
    method : {"exact", "ais"}
    n_chains, n_temperatures : int
        The AIS run's size (0 when exact).
    seconds : float
        Time taken.
    """

    log_z: float
    std_error: float
    interval: tuple
    method: str
    n_chains: int = 0
    n_temperatures: int = 0
    seconds: float = 0.0


def _rbm_params(rbm):
    """The fitted RBM's parameters in float64, and its unit objects."""
    if not isinstance(rbm, RBM):
        raise TypeError(
            f"Expected a fitted skdbn.RBM, got {type(rbm).__name__}; for a "
            "DBN's layer pass one of its rbms_."
        )
    check_is_fitted(rbm)
    W, b_h, b_v = rbm._params()
    backend = backend_of(W)
    wide = backend.dtype("float64")
    visible, hidden = (get_unit(u) for u in rbm._units())
    return (
        as_dtype(W, wide),
        as_dtype(b_h, wide),
        as_dtype(b_v, wide),
        visible,
        hidden,
    )


def _threads(rows, weights):
    """The prediction policy's threads for ``rows`` rows times ``weights``.

    It measures nothing, so that an estimate with a given ``random_state``
    repeats bit for bit; every product of this module runs under it.
    """
    return limited(prediction_threads(rows, [weights]))


def _row_dot(A, v):
    """``A @ v`` for a vector ``v`` (:func:`skdbn._units.row_dot`)."""
    with _threads(A.shape[0], v[None, :]):
        return row_dot(A, v)


def _visible_energy(unit, V, b_v):
    """``unit.visible_energy(V, b_v)``."""
    with _threads(V.shape[0], b_v[None, :]):
        return unit.visible_energy(V, b_v)


def _affine(A, W, b, *, trans_b=False):
    """``A @ op(W) + b`` (:func:`skdbn._units.affine`)."""
    with _threads(A.shape[0], W):
        return affine(A, W, b, trans_b=trans_b)


def _logsumexp(x, xp):
    top = xp.max(x)
    return float(top) + math.log(float(xp.sum(xp.exp(x - top))))


def _binary_states(start, stop, n_units, backend, dtype):
    """Rows ``start`` to ``stop`` of the ``2**n_units`` binary states."""
    xp = backend.xp
    codes = xp.arange(start, stop, dtype=xp.int64)
    bits = xp.arange(n_units, dtype=xp.int64)
    return xp.astype((codes[:, None] >> bits[None, :]) & 1, dtype)


def exact_log_partition(rbm: RBM) -> LogPartition:
    """``log Z`` of a fitted RBM, summed over every state of one side.

    The side enumerated is the smaller of the binary ones, with at most
    :data:`MAX_EXACT_UNITS` units: Bernoulli hidden units (any visible
    units: the visible side is summed, or integrated for Gaussian visible
    units, in closed form) or Bernoulli visible units (any hidden units:
    their free-energy term is the closed form). The states go through in
    blocks, so memory stays bounded.

    Parameters
    ----------
    rbm : RBM
        A fitted RBM.

    Returns
    -------
    LogPartition
        With ``method="exact"`` and ``std_error=0``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdbn import RBM
    >>> from skdbn.likelihood import exact_log_partition, log_likelihood
    >>> X = load_digits().data[:200] / 16 > 0.5
    >>> rbm = RBM(12, n_iter=20, batch_size=20, random_state=0).fit(X)
    >>> log_z = exact_log_partition(rbm)
    >>> float(log_likelihood(rbm, X, log_z).mean()) < 0
    True
    """
    start = time.perf_counter()
    W, b_h, b_v, visible, hidden = _rbm_params(rbm)
    n_hidden, n_visible = W.shape
    candidates = []
    if hidden.binary:
        candidates.append((n_hidden, "hidden"))
    if visible.binary:
        candidates.append((n_visible, "visible"))
    if not candidates or min(candidates)[0] > MAX_EXACT_UNITS:
        sizes = ", ".join(f"{n} {side}" for n, side in candidates) or "none"
        raise ValueError(
            "exact_log_partition enumerates the states of a side of binary "
            f"(Bernoulli) units with at most {MAX_EXACT_UNITS} units; this "
            f"RBM has {sizes} binary units. Use ais_log_partition."
        )
    n_units, side = min(candidates)
    backend = backend_of(W)
    xp = backend.xp
    parts = []
    for first in range(0, 2**n_units, _BLOCK_STATES):
        states = _binary_states(
            first, min(2**n_units, first + _BLOCK_STATES), n_units, backend, W.dtype
        )
        if side == "hidden":
            # sum_v exp(-E(v, h)) in closed form for each hidden state h.
            pre = _affine(states, W, None)  # (states, n_visible): W.T h
            log_terms = _row_dot(states, b_h) + _log_visible_integral(
                pre, b_v, visible, xp
            )
        else:
            # exp(-F(v)) of each visible state.
            pre = _affine(states, W, b_h, trans_b=True)
            log_terms = -(
                hidden.free_energy_term(pre) + _visible_energy(visible, states, b_v)
            )
        parts.append(_logsumexp(log_terms, xp))
    log_z = _logsumexp(xp.asarray(parts, dtype=xp.float64), xp)
    return LogPartition(
        log_z=log_z,
        std_error=0.0,
        interval=(log_z, log_z),
        method="exact",
        seconds=time.perf_counter() - start,
    )


def _log_visible_integral(a, b_v, visible, xp):
    """``log sum_v exp(-visible_energy(v) + a . v)`` per row of ``a``.

    Bernoulli: ``sum_i softplus(b_v + a)``. Gaussian (``energy
    ||v - b_v||**2 / 2``): ``n/2 log(2 pi) + a . b_v + ||a||**2 / 2``.
    """
    if visible.binary:
        return xp.sum(backend_of(a).softplus(a + b_v), axis=1)
    n = a.shape[1]
    return (
        0.5 * n * math.log(2 * math.pi) + _row_dot(a, b_v) + 0.5 * xp.sum(a * a, axis=1)
    )


def ais_log_partition(
    rbm: RBM,
    X: MatrixLike,
    *,
    n_chains: int = 100,
    n_temperatures: int = 10000,
    random_state: RandomStateLike = None,
) -> LogPartition:
    """Estimate ``log Z`` of a fitted RBM by annealed importance sampling.

    The base model has the RBM's visible unit type, no hidden interactions
    and visible biases fitted to ``X`` (for Bernoulli units the log-odds of
    the column means, clipped to [0.001, 0.999] as Salakhutdinov & Murray
    do; for Gaussian units the column means), so its ``Z`` is known. Each
    of ``n_chains`` chains starts from a sample of it and moves through
    ``n_temperatures`` intermediate distributions (inverse temperatures
    spaced as the paper spaces them: finer near 1), one Gibbs sweep at
    each, accumulating its log importance weight. Needs Bernoulli hidden
    units (their sum is closed form at every temperature); Gaussian or
    ReLU hidden units are refused.

    Parameters
    ----------
    rbm : RBM
        A fitted RBM with Bernoulli hidden units.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Data the base model's biases are fitted to (usually the training
        data).
    n_chains : int, default=100
        Parallel chains, at least 2; the standard error falls as one over
        their square root.
    n_temperatures : int, default=10000
        Intermediate distributions, at least 2. The paper used 14,500 for
        MNIST RBMs of 500 hidden units.
    random_state : int, RandomState instance or None, default=None
        Seeds the chains.

    Returns
    -------
    LogPartition
        With ``method="ais"``, the standard error and the conservative
        interval.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdbn import RBM
    >>> from skdbn.likelihood import ais_log_partition, exact_log_partition
    >>> X = load_digits().data[:200] / 16 > 0.5
    >>> rbm = RBM(12, n_iter=20, batch_size=20, random_state=0).fit(X)
    >>> ais = ais_log_partition(rbm, X, n_chains=100, n_temperatures=1000,
    ...                         random_state=0)
    >>> exact = exact_log_partition(rbm).log_z
    >>> ais.interval[0] <= exact <= ais.interval[1]
    True
    """
    start = time.perf_counter()
    W, b_h, b_v, visible, hidden = _rbm_params(rbm)
    if not hidden.binary:
        raise ValueError(
            "ais_log_partition needs Bernoulli hidden units (their sum is "
            f"closed form at every temperature), not {hidden.name!r}; for "
            "Bernoulli visible units with at most "
            f"{MAX_EXACT_UNITS} of them use exact_log_partition."
        )
    if int(n_chains) < 2 or int(n_temperatures) < 2:
        raise ValueError(
            f"ais_log_partition needs n_chains >= 2 and n_temperatures >= 2, "
            f"got {n_chains} and {n_temperatures}."
        )
    X = validate_visible_data(
        rbm, X, reset=False, fitting=False, method="ais_log_partition"
    )
    backend = backend_of(W)
    xp = backend.xp
    n_hidden, n_visible = W.shape
    b_base = _base_biases(X, visible, backend, W.dtype)
    rng = make_generator(random_state, backend)
    betas = _temperatures(int(n_temperatures))

    shape = (int(n_chains), n_visible)
    v = visible.sample(backend.zeros(shape, W.dtype) + b_base, rng)
    log_w = backend.zeros((shape[0],), W.dtype)
    bern = get_unit("bernoulli")
    for previous, beta in zip(betas[:-1], betas[1:]):
        # The log importance weight grows by log f_beta(v) - log f_previous(v),
        # f_beta(v) = exp(((1 - beta) b_base + beta b_v) . v) prod_j
        # (1 + exp(beta pre_j)) (times exp(-||v||**2 / 2) for Gaussian
        # units, which cancels here); then one Gibbs sweep at beta.
        pre = _affine(v, W, b_h, trans_b=True)
        log_w += (beta - previous) * _row_dot(v, b_v - b_base)
        log_w += xp.sum(
            backend.softplus(beta * pre) - backend.softplus(previous * pre), axis=1
        )
        h = bern.sample(beta * pre, rng)
        v = visible.sample((1 - beta) * b_base + beta * _affine(h, W, b_v), rng)
    # log Z of the base model, and of skdbn's free energy at beta = 1 (for
    # Gaussian visible units log_f leaves out ||b||**2 / 2).
    log_z_base = n_hidden * math.log(2.0) + _base_log_z(b_base, visible, xp)
    shift = 0.0 if visible.binary else 0.5 * float(xp.sum(b_v * b_v))
    log_w = np.asarray(to_host(log_w), dtype=np.float64)
    top = float(log_w.max())
    ratios = np.exp(log_w - top)
    mean, std = float(ratios.mean()), float(ratios.std(ddof=1))
    spread = 3 * std / math.sqrt(len(ratios))
    offset = log_z_base + top - shift
    low = offset + math.log(mean - spread) if mean > spread else -math.inf
    return LogPartition(
        log_z=offset + math.log(mean),
        std_error=std / (math.sqrt(len(ratios)) * mean),
        interval=(low, offset + math.log(mean + spread)),
        method="ais",
        n_chains=int(n_chains),
        n_temperatures=int(n_temperatures),
        seconds=time.perf_counter() - start,
    )


def _temperatures(n):
    """``n`` inverse temperatures from 0 to 1, spaced as Salakhutdinov & Murray.

    Their schedule for 14,500: 500 in [0, 0.5], 4,000 in [0.5, 0.9] and
    10,000 in [0.9, 1]; other counts keep those proportions.
    """
    counts = [max(1, round(n * share)) for share in (500 / 14500, 4000 / 14500)]
    counts.append(max(1, n - sum(counts)))
    pieces = [
        np.linspace(low, high, count, endpoint=False)
        for (low, high), count in zip(((0, 0.5), (0.5, 0.9), (0.9, 1.0)), counts)
    ]
    return [float(b) for b in np.concatenate([*pieces, [1.0]])]


def _base_biases(X, visible, backend, dtype):
    """The base-rate model's visible biases, fitted to the data's marginals."""
    if hasattr(X, "toarray"):
        means = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
        means = backend.asarray(means, dtype=dtype)
    else:
        means = backend.xp.mean(as_dtype(X, dtype), axis=0)
    if not visible.binary:
        return means
    p = backend.clip(means, 1e-3, 1 - 1e-3)
    return backend.xp.log(p / (1 - p))


def _base_log_z(b_base, visible, xp):
    """log Z of the base model's visible part (no hidden interactions)."""
    if visible.binary:
        return float(xp.sum(backend_of(b_base).softplus(b_base)))
    n = b_base.shape[0]
    return 0.5 * n * math.log(2 * math.pi) + 0.5 * float(xp.sum(b_base * b_base))


def log_likelihood(
    rbm: RBM, X: MatrixLike, log_partition: LogPartition | float
) -> Array:
    """``log p(x)`` of each row under a fitted RBM, in nats.

    ``-free_energy(X) - log Z``, with ``log_partition`` from
    :func:`exact_log_partition` or :func:`ais_log_partition` (a
    :class:`LogPartition` or a float). With an AIS estimate the values
    carry its error, the same for every row.

    Parameters
    ----------
    rbm : RBM
        A fitted RBM.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Rows to score.
    log_partition : LogPartition or float
        The model's ``log Z``.

    Returns
    -------
    log_p : ndarray of shape (n_samples,)
        Log-likelihood of each row, in float64 (an array of the model's
        namespace for a model fitted on, say, torch tensors).
    """
    log_z = getattr(log_partition, "log_z", log_partition)
    W, b_h, b_v, visible, hidden = _rbm_params(rbm)
    X = validate_visible_data(rbm, X, reset=False, fitting=False, method="score")
    V = as_dtype(X.toarray() if hasattr(X, "toarray") else X, W.dtype)
    energy = hidden.free_energy_term(_affine(V, W, b_h, trans_b=True))
    energy += _visible_energy(visible, V, b_v)
    return -energy - float(log_z)


@dataclass(frozen=True)
class LowerBound:
    """A DBN's variational lower bound on the log-likelihood of rows.

    Attributes
    ----------
    per_row : ndarray of shape (n_samples,)
        The bound's Monte Carlo estimate for each row, in nats.
    mean : float
        Its mean over the rows.
    std_error : float
        Standard error of ``mean`` from the Monte Carlo sampling; the top
        RBM's ``log Z`` adds its own (``log_partition.std_error``), the
        same for every row.
    log_partition : LogPartition
        The top RBM's ``log Z`` the bound used.
    n_samples : int
        Samples of the hidden layers drawn per row.
    """

    per_row: Array
    mean: float
    std_error: float
    log_partition: LogPartition
    n_samples: int


def dbn_lower_bound(
    dbn: BaseEstimator,
    X: MatrixLike,
    *,
    top_log_partition: LogPartition | float | None = None,
    n_samples: int = 10,
    n_chains: int = 100,
    n_temperatures: int = 10000,
    random_state: RandomStateLike = None,
) -> LowerBound:
    """Lower-bound ``log p(v)`` under a DBN's generative model, per row.

    The model is the greedy stack (``rbms_``): the top RBM's marginal over
    the layer below it, and each lower RBM's down pass ``p(h_below |
    h_above)``. With the recognition (up) pass as the approximate
    posterior ``Q``, Salakhutdinov & Murray (2008, section 4) bound

    ``log p(v) >= E_Q[ sum_l log p(h_(l-1) | h_l) - sum_l log Q(h_l |
    h_(l-1)) - F_top(h_(L-1)) ] - log Z_top``

    (``h_0 = v``); the expectation is estimated with ``n_samples`` samples of
    the hidden layers per row. For a single RBM the bound is its exact
    log-likelihood. Every hidden layer must be Bernoulli (binary states
    pass up); visible units may be Bernoulli or Gaussian.

    Parameters
    ----------
    dbn : DBNTransformer
        Fitted with ``pretraining="rbm"``. Its fine-tuned weights, if any,
        are not the generative model and are not used.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Rows to bound.
    top_log_partition : LogPartition, float or None, default=None
        The top RBM's ``log Z``. None computes it: exactly when it has at
        most :data:`MAX_EXACT_UNITS` binary units on a side, otherwise by
        :func:`ais_log_partition` with ``n_chains`` and ``n_temperatures``,
        its base rates fitted to the up pass of ``X``.
    n_samples : int, default=10
        Samples of the hidden layers per row, at least 2.
    n_chains, n_temperatures : int
        For the AIS run, when one is needed.
    random_state : int, RandomState instance or None, default=None
        Seeds the samples and the AIS run.

    Returns
    -------
    LowerBound
    """
    rbms = _generative_stack(dbn)
    if int(n_samples) < 2:
        raise ValueError(f"dbn_lower_bound needs n_samples >= 2, got {n_samples}.")
    X = validate_visible_data(dbn, X, reset=False, fitting=False, method="score")
    V = X.toarray() if hasattr(X, "toarray") else X
    params = [_rbm_params(rbm) for rbm in rbms]
    backend = backend_of(params[0][0])
    xp = backend.xp
    V = as_dtype(V, params[0][0].dtype)
    random_state = check_random_state(random_state)
    ais_seed = int(random_state.randint(2**31 - 1))
    rng = make_generator(random_state, backend)
    if top_log_partition is None:
        top_log_partition = _top_log_partition(
            rbms, V, n_chains, n_temperatures, ais_seed
        )
    elif not isinstance(top_log_partition, LogPartition):
        value = float(top_log_partition)
        top_log_partition = LogPartition(value, 0.0, (value, value), "given")
    W, b_h, b_v, visible, hidden = params[-1]
    if len(rbms) == 1:
        per_row = -(
            hidden.free_energy_term(_affine(V, W, b_h, trans_b=True))
            + _visible_energy(visible, V, b_v)
        )
        per_row = per_row - top_log_partition.log_z
        return LowerBound(
            per_row, float(xp.mean(per_row)), 0.0, top_log_partition, int(n_samples)
        )
    bern = get_unit("bernoulli")
    total = backend.zeros((V.shape[0],), V.dtype)
    squares = backend.zeros((V.shape[0],), V.dtype)
    for _ in range(int(n_samples)):
        below, value = V, backend.zeros((V.shape[0],), V.dtype)
        for W, b_h, b_v, visible, _hidden in params[:-1]:
            pre = _affine(below, W, b_h, trans_b=True)
            h = bern.sample(pre, rng)
            # - log Q(h | below): log sigmoid(pre) = -softplus(-pre).
            value += xp.sum(h * backend.softplus(-pre), axis=1)
            value += xp.sum((1 - h) * backend.softplus(pre), axis=1)
            value += _log_conditional(below, _affine(h, W, b_v), visible, backend)
            below = h
        W, b_h, b_v, visible, hidden = params[-1]
        value -= hidden.free_energy_term(_affine(below, W, b_h, trans_b=True))
        value -= _visible_energy(visible, below, b_v)
        total += value
        squares += value * value
    n = int(n_samples)
    per_row = total / n - top_log_partition.log_z
    variance = (squares / n - (total / n) ** 2) * (n / (n - 1))
    std_error = math.sqrt(max(0.0, float(xp.sum(variance))) / n) / V.shape[0]
    return LowerBound(per_row, float(xp.mean(per_row)), std_error, top_log_partition, n)


def _generative_stack(dbn):
    """The DBN's RBMs, refused where they are not a generative model."""
    check_is_fitted(dbn)
    structure = getattr(dbn, "_fitted_structure", {})
    rbms = getattr(dbn, "rbms_", None)
    if rbms is None or structure.get("pretraining", "rbm") != "rbm":
        raise ValueError(
            "dbn_lower_bound needs a DBNTransformer pretrained as RBMs "
            "(pretraining='rbm'): its rbms_ are the generative model."
        )
    for depth, rbm in enumerate(rbms):
        if not get_unit(rbm.hidden_unit).binary:
            raise ValueError(
                f"dbn_lower_bound needs Bernoulli hidden units in every layer; "
                f"layer {depth + 1} has {rbm.hidden_unit!r} units."
            )
    return rbms


def _top_log_partition(rbms, V, n_chains, n_temperatures, seed):
    """The top RBM's log Z: exact when small, else AIS on the up pass of V."""
    top = rbms[-1]
    try:
        return exact_log_partition(top)
    except ValueError:
        pass
    H = V
    for rbm in rbms[:-1]:
        H = rbm.transform(H)
    return ais_log_partition(
        top,
        H,
        n_chains=n_chains,
        n_temperatures=n_temperatures,
        random_state=seed,
    )


def _log_conditional(values, pre, unit, backend):
    """``log p(values | pre)`` summed per row, for visible units ``unit``."""
    xp = backend.xp
    if unit.binary:
        return xp.sum(values * pre - backend.softplus(pre), axis=1)
    diff = values - pre
    return -0.5 * xp.sum(diff * diff, axis=1) - 0.5 * pre.shape[1] * math.log(
        2 * math.pi
    )
