"""Mini-batch training of a :class:`~skdbn._network.Network`.

The optimizers and the epoch loop with its stopping rules live here, written
once for the supervised head, the fine-tuning of classifiers and regressors
and the fine-tuning of autoencoders. The stopping rules follow scikit-learn's
``MLPClassifier``: without a validation set, stop when the training loss has
not improved by ``tol`` for ``n_iter_no_change`` epochs; with one, stop when
the validation score has not, and restore the best weights.
"""

import math

import numpy as np
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning

from ._backend import NUMPY, backend_of, dtype_name
from ._network import (
    backward,
    forward,
    forward_backward,
    l2_penalty,
    loss,
    predict,
    total_weight,
    weight_gradient,
)
from ._threads import limited, stage_threads
from ._units import get_unit, uniform
from ._utils import count_rows, load_batch, minibatches, take_rows
from ._validation import (
    check_finite_training,
    check_training_progress,
    warn,
    warn_interrupted,
)


class SGD:
    """Mini-batch SGD with classical momentum.

    ``velocity = momentum * velocity - lr * (gradient + decay * W)``, then
    ``W += velocity``; the weight-gradient product writes straight onto the
    velocity (its ``beta`` applies the momentum). The optimizer keeps only
    its velocities: the parameters are the network's, passed at every step,
    so a copied, pickled or joblib-loaded model trains its own arrays.
    """

    def __init__(self, params, learning_rate, momentum=0.9):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.velocities = [_zeros_like(p) for p in params]

    def state_dict(self):
        """What carries over between calls, in plain types (see TrainingState)."""
        return {
            "learning_rate": self.learning_rate,
            "momentum": self.momentum,
            "velocities": list(self.velocities),
        }

    def load_state_dict(self, state):
        self.learning_rate = state["learning_rate"]
        self.momentum = state["momentum"]
        self.velocities = list(state["velocities"])

    def start_step(self):
        pass

    def layer_step(self, net, i, layer_input, delta, decay):
        lr, mu = self.learning_rate, self.momentum
        W, b = net.coefs[i], net.intercepts[i]
        backend = backend_of(W)
        velocity = self.velocities[i]
        weight_gradient(layer_input, delta, velocity, alpha=-lr, beta=mu)
        if decay:
            backend.axpy(W, velocity, -lr * decay)
        backend.axpy(velocity, W, 1.0)
        bias_velocity = self.velocities[len(net.coefs) + i]
        bias_velocity *= mu
        bias_velocity -= lr * backend.xp.sum(delta, axis=0)
        b += bias_velocity


class Adam:
    """Adam (Kingma & Ba, 2015) with scikit-learn's default constants."""

    def __init__(self, params, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.first = [_zeros_like(p) for p in params]
        self.second = [_zeros_like(p) for p in params]
        self.grads = [_zeros_like(p) for p in params]  # scratch, not state

    def state_dict(self):
        """What carries over between calls, in plain types (see TrainingState)."""
        return {
            "learning_rate": self.learning_rate,
            "t": self.t,
            "first": list(self.first),
            "second": list(self.second),
        }

    def load_state_dict(self, state):
        self.learning_rate = state["learning_rate"]
        self.t = state["t"]
        self.first = list(state["first"])
        self.second = list(state["second"])

    def start_step(self):
        self.t += 1

    def layer_step(self, net, i, layer_input, delta, decay):
        n_layers = len(net.coefs)
        W, b = net.coefs[i], net.intercepts[i]
        backend = backend_of(W)
        grad = weight_gradient(layer_input, delta, self.grads[i])
        if decay:
            backend.axpy(W, grad, decay)
        self.update(W, i, grad)
        bias_grad = self.grads[n_layers + i]
        backend.sum_rows(delta, out=bias_grad)
        self.update(b, n_layers + i, bias_grad)

    def update(self, param, index, grad):
        """In-place Adam step; ``grad`` is used as scratch space."""
        backend = backend_of(param)
        b1, b2 = self.beta_1, self.beta_2
        step = self.learning_rate * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        m, v = self.first[index], self.second[index]
        m *= b1
        backend.axpy(grad, m, 1 - b1)
        v *= b2
        grad *= grad
        backend.axpy(grad, v, 1 - b2)
        backend.assign_sqrt(grad, v)
        grad += self.epsilon
        backend.divide_into(m, grad)
        backend.axpy(grad, param, -step)


def train_step(
    net,
    X,
    Y,
    optimizer,
    *,
    weights=None,
    alpha=0.0,
    penalty_rows=None,
    dropout=0.0,
    rng=None,
):
    """One mini-batch update of ``net``; returns the batch's data loss.

    Each layer is updated as soon as back-propagation has passed it, by the
    optimizer's fused ``layer_step``; the L2 term ``alpha / (2 * n_rows) *
    ||W||^2`` enters the gradients but not the returned loss. With
    ``weights`` (one per row) the loss is their weighted mean and ``n_rows``
    becomes the weights' sum (scikit-learn's MLP convention). A given
    ``penalty_rows`` replaces ``n_rows``: the whole data's rows (or weights'
    sum), for an objective whose penalty does not depend on the batch.
    """
    activations, masks = forward(net, X, dropout=dropout, rng=rng)
    value = loss(activations[-1], Y, net.units[-1], weights)
    if penalty_rows is None:
        penalty_rows = total_weight(X.shape[0], weights)
    decay = alpha / penalty_rows
    optimizer.start_step()

    def update(i, layer_input, delta):
        optimizer.layer_step(net, i, layer_input, delta, decay)

    backward(net, activations, masks, Y, update, weights)
    return value


def _zeros_like(param):
    return backend_of(param).zeros(param.shape, param.dtype)


def make_optimizer(solver, params, learning_rate, momentum):
    if solver == "lbfgs":
        return None
    if solver == "adam":
        return Adam(params, learning_rate)
    return SGD(params, learning_rate, momentum=momentum)


LEARNING_RATE_SCHEDULES = ("constant", "cosine", "adaptive")

# The "adaptive" schedule stops once its step has fallen to this, as
# scikit-learn's MLP does.
MIN_ADAPTIVE_LEARNING_RATE = 1e-6


def cosine_learning_rate(learning_rate_init, epoch, n_epochs):
    """Step size of epoch ``epoch`` (from 0) of a cosine decay over ``n_epochs``.

    ``learning_rate_init * (1 + cos(pi * epoch / n_epochs)) / 2``: the full
    step first, falling smoothly towards zero by the last epoch (Loshchilov &
    Hutter, 2017, without restarts). Epochs past the horizon keep the last
    epoch's step.
    """
    epoch = min(epoch, max(n_epochs - 1, 0))
    return (
        learning_rate_init * 0.5 * (1.0 + math.cos(math.pi * epoch / max(n_epochs, 1)))
    )


class TrainingState:
    """What carries over between calls: optimizer, history, stopping counters.

    ``schedule`` is one of :data:`LEARNING_RATE_SCHEDULES`; ``horizon`` the
    number of epochs a ``"cosine"`` schedule spans. Between calls an
    estimator keeps it as :meth:`to_plain`'s dict (arrays, numbers, strings
    and tuples only, so that ``skops.io`` loads it without trusting a
    private class); the histories are the estimator's own lists, given back
    to the state at the start of each call.
    """

    # The scalars that carry over, beside the optimizer's own state.
    _CARRIED = (
        "schedule",
        "horizon",
        "learning_rate_init",
        "n_epochs",
        "best_loss",
        "best_validation_score",
        "no_improvement_count",
        "stopped",
        "settings",
    )

    def __init__(self, optimizer, schedule="constant", horizon=None):
        if schedule not in LEARNING_RATE_SCHEDULES:
            raise ValueError(f"unknown learning-rate schedule {schedule!r}")
        self.optimizer = optimizer
        self.schedule = schedule
        self.horizon = horizon
        self.learning_rate_init = getattr(optimizer, "learning_rate", None)
        self.n_epochs = 0
        self.loss_curve = []
        self.validation_scores = []
        self.best_loss = np.inf
        self.best_validation_score = -np.inf
        self.best_params = None
        self.no_improvement_count = 0
        self.stopped = False
        self.settings = None

    def to_plain(self):
        """The state that carries over to the next call, as a plain dict."""
        plain = {name: getattr(self, name) for name in self._CARRIED}
        plain["optimizer"] = (
            None if self.optimizer is None else self.optimizer.state_dict()
        )
        return plain

    @classmethod
    def from_plain(cls, plain, solver, params):
        """Rebuild a state from :meth:`to_plain`'s dict, over ``params``."""
        optimizer = make_optimizer(solver, params, plain["learning_rate_init"], 0.0)
        if optimizer is not None:
            optimizer.load_state_dict(plain["optimizer"])
        state = cls(optimizer, schedule=plain["schedule"], horizon=plain["horizon"])
        for name in cls._CARRIED:
            setattr(state, name, plain[name])
        return state


def continue_or_start(
    state,
    *,
    fresh,
    scope,
    solver,
    params,
    learning_rate_init,
    momentum,
    schedule,
    horizon,
):
    """The training state for this call: ``state`` carried over, or a new one.

    ``state`` is the plain dict of the last call's state
    (:meth:`TrainingState.to_plain`) or None. ``partial_fit`` carries the
    optimizer's moments over from call to call; a new state starts when
    asked (``fit``), when there is none, or when the solver, its settings or
    the layers it trains (``scope``) changed since (``set_params`` between
    calls).
    """
    # (A model moved to another namespace or device starts a new state.)
    backend = backend_of(params[0]).key
    settings = (scope, solver, learning_rate_init, momentum, schedule, horizon, backend)
    if not fresh and state is not None and state.get("settings") == settings:
        return TrainingState.from_plain(state, solver, params)
    state = TrainingState(
        make_optimizer(solver, params, learning_rate_init, momentum),
        schedule=schedule,
        horizon=horizon,
    )
    state.settings = settings
    return state


def _record_epoch(net, state, epoch_loss, validation, tol):
    """Log an epoch's loss (and validation score) in ``state``."""
    state.loss_curve.append(epoch_loss)
    if validation is not None:
        X_val, Y_val, score = validation
        value = score(predict(net, X_val), Y_val)
        state.validation_scores.append(value)
        improved = value > state.best_validation_score + tol
        if value > state.best_validation_score:
            state.best_validation_score = value
            state.best_params = net.copy_params()
    else:
        improved = epoch_loss < state.best_loss - tol
    state.best_loss = min(state.best_loss, epoch_loss)
    state.no_improvement_count = 0 if improved else state.no_improvement_count + 1


def _stalled(state, n_iter_no_change, tol, verbose, label):
    """React to a stall: ``True`` to stop, or lower an adaptive step size."""
    optimizer = state.optimizer
    stall = (
        f"no improvement of more than {tol} for {n_iter_no_change} consecutive epochs"
    )
    if (
        state.schedule == "adaptive"
        and optimizer.learning_rate > MIN_ADAPTIVE_LEARNING_RATE
    ):
        # scikit-learn's "adaptive" rule: a smaller step instead of stopping,
        # until the step gets too small to matter.
        optimizer.learning_rate /= 5
        state.no_improvement_count = 0
        if verbose:
            print(f"[{label}] {stall}; learning rate now {optimizer.learning_rate:g}.")
        return False
    if verbose:
        print(f"[{label}] {stall}; stopping.")
    return True


def epoch_loop(
    run_epoch,
    *,
    n_epochs,
    params,
    label,
    quantity,
    learning_rate_name,
    task=None,
    after_epoch=None,
    stop=None,
    threads=None,
):
    """Run up to ``n_epochs`` epochs: the one epoch loop of every stage.

    Each training stage (CD pretraining of an RBM, autoencoder pretraining,
    mini-batch fine-tuning and the head, up-down fine-tuning) passes its
    epoch as ``run_epoch()``, which makes one pass of updates over the data
    and returns the epoch's loss; everything else is done here, the same
    way for every stage:

    * overflow in the products is silenced while the epoch runs, then a
      non-finite or exploding loss (against this call's first epoch) or a
      non-finite parameter of ``params()`` raises a
      :class:`~skdbn.TrainingDivergedError` naming ``quantity`` and the
      parameter ``learning_rate_name`` to lower;
    * ``after_epoch(loss)`` records the epoch in the stage's own history and
      returns what the progress report shows beside the loss (a dict with
      ``validation_score`` and ``learning_rate``); it may raise too;
    * the epoch is reported to ``task`` (a :class:`~skdbn._progress.Task`:
      verbose output, ``history_``, callbacks), which may ask to stop;
      ``stop()`` is the stage's own stopping rule (a stalled loss);
    * each epoch runs on the BLAS threads ``threads`` (a
      :class:`~skdbn._threads.ThreadPolicy`, None: the pool's own) chooses;
    * Ctrl-C ends the stage with a warning and keeps the weights reached,
      as scikit-learn's MLP does. A stage keeps its parameters consistent
      when an epoch is cut short (the epoch writes them back in a
      ``finally``).

    Returns
    -------
    losses : list of float
        The loss of each epoch run.
    stopped : bool
        Whether the loop ended before ``n_epochs``: asked by a callback,
        by ``stop`` or by Ctrl-C.
    """
    losses = []
    try:
        for _ in range(n_epochs):
            if task is not None:
                task.epoch_begin()
            # Overflow is reported below as divergence, with a useful message.
            with np.errstate(over="ignore", invalid="ignore"), limited(threads):
                loss = run_epoch()
            check_training_progress(
                loss, losses, params(), quantity, learning_rate_name
            )
            # (Counted before the stage's record, as its epochs were: an
            # interrupt inside after_epoch's validation keeps the counts equal.)
            losses.append(loss)
            report = after_epoch(loss) if after_epoch is not None else {}
            if task is not None and task.epoch_done(loss, **report):
                return losses, True  # a callback asked to stop
            if stop is not None and stop():
                return losses, True
    except KeyboardInterrupt:
        warn_interrupted(label, len(losses))
        return losses, True
    return losses, False


def run_epochs(
    net,
    X,
    Y,
    state,
    *,
    n_epochs,
    batch_size,
    rng,
    alpha=0.0,
    penalty="batch",
    dropout=0.0,
    validation=None,
    n_iter_no_change=10,
    tol=1e-4,
    check_convergence=True,
    verbose=0,
    label="fine-tuning",
    learning_rate_name="learning_rate_init",
    rows=None,
    warn_unconverged=True,
    input_noise=0.0,
    weights=None,
    task=None,
):
    """Train ``net`` on ``(X, Y)`` for up to ``n_epochs`` epochs.

    Each epoch is reported to ``task`` (a :class:`~skdbn._progress.Task`),
    which records it, prints it when verbose and may ask to stop.

    With ``rows`` (an index array) only those rows of ``X`` and ``Y`` train.
    With ``input_noise`` each input value is set to 0 with that probability,
    batch by batch (masking noise; the targets stay clean). With ``weights``
    (one per row of ``X``) each batch's loss and gradients are weighted means
    (see :func:`train_step`), the epoch's loss is the weighted mean over its
    rows, and a batch whose weights are all zero makes no step.

    ``penalty`` sets the L2 term's divisor: ``"batch"`` divides ``alpha`` by
    each batch's rows (or weights' sum), as ``MLPClassifier``'s stochastic
    solvers do; ``"data"`` by the whole data's, the objective ``fit_lbfgs``
    minimises, so that a head means the same by its penalty whichever way it
    is trained.

    Parameters
    ----------
    validation : tuple (X_val, Y_val, score) or None
        Held-out data and a function ``score(output, Y_val)`` (higher is
        better). When given, training stops on the validation score and the
        best weights are restored at the end.
    check_convergence : bool
        Stop early when the monitored quantity stalls, and warn (unless
        ``warn_unconverged`` is False: the caller warns) when ``n_epochs``
        run out before that.

    Returns
    -------
    n_run : int
        Number of epochs run.
    """
    backend = backend_of(Y)
    xp = backend.xp
    n_samples = count_rows(X, rows)
    batch_size = min(batch_size, n_samples)
    X_batch = backend.empty((batch_size, X.shape[1]), Y.dtype)
    Y_batch = backend.empty((batch_size, Y.shape[1]), Y.dtype)
    if weights is None:
        epoch_weight = n_samples
    else:
        kept = weights if rows is None else xp.take(weights, rows, axis=0)
        epoch_weight = float(xp.sum(kept))
        w_batch = backend.empty((batch_size,), weights.dtype)
    if penalty == "data":
        penalty_rows = step_penalty_rows = epoch_weight
    else:
        # A batch's rows, or its expected sum of weights.
        penalty_rows = batch_size * epoch_weight / n_samples
        step_penalty_rows = None

    def run_epoch():
        if state.schedule == "cosine":
            state.optimizer.learning_rate = cosine_learning_rate(
                state.learning_rate_init, state.n_epochs, state.horizon or n_epochs
            )
        total = 0.0
        for batch in minibatches(n_samples, batch_size, rng, rows, backend):
            n_rows = batch.shape[0]
            wb = None
            if weights is not None:
                wb = backend.take(weights, batch, w_batch[:n_rows])
                if not bool(xp.any(wb)):
                    continue
            xb = load_batch(X, batch, X_batch[:n_rows, ...])
            if input_noise:
                # Masking noise: each value kept with 1 - input_noise.
                keep = uniform(rng, backend.empty(xb.shape, xb.dtype))
                xb *= backend.greater_equal_(keep, input_noise)
            yb = backend.take(Y, batch, Y_batch[:n_rows, ...])
            value = train_step(
                net,
                xb,
                yb,
                state.optimizer,
                weights=wb,
                alpha=alpha,
                penalty_rows=step_penalty_rows,
                dropout=dropout,
                rng=rng,
            )
            total += value * total_weight(n_rows, wb)
        # The L2 term at the epoch's final weights (computing it per batch
        # would cost a sweep over every weight each step).
        return total / epoch_weight + l2_penalty(net, alpha, penalty_rows)

    def after_epoch(epoch_loss):
        state.n_epochs += 1
        _record_epoch(net, state, epoch_loss, validation, tol)
        return {
            "validation_score": state.validation_scores[-1] if validation else None,
            "learning_rate": state.optimizer.learning_rate,
        }

    def stalled():
        if check_convergence and state.no_improvement_count > n_iter_no_change:
            return _stalled(state, n_iter_no_change, tol, verbose, label)
        return False

    call_losses, stopped = epoch_loop(
        run_epoch,
        n_epochs=n_epochs,
        threads=stage_threads(batch_size, net.coefs),
        params=lambda: net.params,
        label=label,
        quantity=f"{label} loss",
        learning_rate_name=learning_rate_name,
        task=task,
        after_epoch=after_epoch,
        stop=stalled,
    )
    n_run = len(call_losses)

    state.stopped = stopped  # by a stall or Ctrl-C, not by n_epochs
    if validation is not None and state.best_params is not None:
        net.set_params(state.best_params)
    collapsed = False
    if validation is None:
        # (With a validation set the best epoch's weights are kept.)
        collapsed = _warn_if_worse_than_constant(
            net, X, Y, rows, call_losses, label, state.optimizer, weights
        )
    # A collapsed run is not one that more epochs would fix: its own warning
    # says what to change instead.
    unconverged = check_convergence and warn_unconverged and not stopped
    if unconverged and n_epochs > 0 and not collapsed:
        warn(
            f"{label}: the maximum number of epochs ({n_epochs}) was reached "
            "before the optimisation converged.",
            ConvergenceWarning,
        )
    return n_run


# A trained model whose training loss exceeds a constant prediction's by this
# factor has collapsed. The final model is scored (not the epochs' running
# means), so only the last steps' noise on targets the network cannot fit
# (random labels) leaves it a little above the constant; a smaller step,
# which the warning advises, reduces that too. (The property suite found
# DBNRegressor(learning_rate_init=1) 1.8 % worse than the mean on noise.)
COLLAPSE_MARGIN = 1.01


def _warn_if_worse_than_constant(
    net, X, Y, rows, loss_curve, label, optimizer, weights=None, max_rows=2000
):
    """Warn when training ended with a model worse than a constant one.

    The trained network's loss on (up to ``max_rows`` of) the training rows
    ``rows`` of ``X`` (None: all) is compared with a constant's: the best
    output that ignores the input (the mean target: class frequencies for a
    classifier). A network worse by :data:`COLLAPSE_MARGIN` has collapsed,
    whether its loss rose or fell on the way. The final model is scored, not
    the epoch's running loss, which lags behind a last step that made things
    worse. ``loss_curve`` holds this call's epochs (one, for
    ``partial_fit``; none: nothing to check). Targets outside the range the
    output units model give no meaningful comparison and are left alone.
    Returns whether it warned.
    """
    if not loss_curve:
        return False
    xp = backend_of(Y).xp
    n_rows = min(max_rows, count_rows(X, rows))  # (the Array API has no clipping)
    Y = take_rows(Y, 0, n_rows, rows)
    if weights is not None:
        weights = take_rows(weights, 0, n_rows, rows)
        if not bool(xp.any(weights)):
            return False
    unit = get_unit(net.units[-1])
    if unit.range_problem(float(xp.min(Y)), float(xp.max(Y))) is not None:
        return False
    if weights is None:
        mean = xp.mean(Y, axis=0)
    else:
        mean = xp.sum(weights[:, None] * Y, axis=0) / xp.sum(weights)
    constant = mean[None, :] + xp.zeros_like(Y)
    constant_loss = unit.loss(constant, Y, weights)
    with np.errstate(over="ignore", invalid="ignore"):
        output = predict(net, take_rows(X, 0, n_rows, rows))
        final_loss = unit.loss(output, Y, weights)
    if not final_loss > COLLAPSE_MARGIN * constant_loss:
        return False
    advice = "Lower learning_rate_init"
    if isinstance(optimizer, SGD):
        advice += " (or momentum), or use solver='adam'"
    warn(
        f"{label} ended with a training loss of {final_loss:.4g}, worse than "
        f"the {constant_loss:.4g} of a constant prediction (its first epoch's "
        f"mean was {loss_curve[0]:.4g}): the network has collapsed. {advice}.",
        UserWarning,
    )
    return True


def fit_lbfgs(
    net,
    X,
    Y,
    *,
    alpha=0.0,
    max_iter=200,
    tol=1e-6,
    chunk_size=8192,
    loss_curve=None,
    label="output layer",
    rows=None,
    weights=None,
    task=None,
):
    """Fit ``net`` on all of ``(X, Y)`` at once with L-BFGS.

    Used for the output layer on frozen features, a convex problem that
    L-BFGS solves far better than a few epochs of mini-batch descent, and as
    the ``"lbfgs"`` fine-tuning solver (Hinton & Salakhutdinov fine-tuned
    their autoencoders with full-batch conjugate gradients). The
    loss and gradient are accumulated over chunks of rows, so memory stays
    bounded. The L2 term is ``alpha / (2 * n) * ||W||^2`` with ``n`` the
    number of rows, or with ``weights`` (one per row of ``X``) their sum,
    the objective of ``MLPClassifier(solver="lbfgs")``: it depends on the
    weights only through their sum, so integer weights train exactly as the
    rows repeated. The data term is the (weighted) mean loss.

    With ``loss_curve`` (a list) the loss after each iteration is appended
    to it. Each iteration is reported to ``task`` as an epoch.

    Returns
    -------
    n_iter : int
        L-BFGS iterations run.
    loss : float
        Final training loss.
    converged : bool
        Whether L-BFGS met its tolerance within ``max_iter`` iterations.
    """
    params = net.params
    backend = backend_of(params[0])
    shapes = [tuple(p.shape) for p in params]
    sizes = [math.prod(shape) for shape in shapes]
    n_samples = count_rows(X, rows)
    if weights is None:
        total_weights = n_samples
    else:
        kept = weights if rows is None else backend.xp.take(weights, rows, axis=0)
        total_weights = float(backend.xp.sum(kept))
    penalty_rows = total_weights

    # L-BFGS runs in scipy, on the host: on another backend, each iteration
    # moves the parameters and their gradient (not the data) across.
    def unpack(theta):
        offset = 0
        for param, shape, size in zip(params, shapes, sizes):
            values = theta[offset : offset + size].reshape(shape)
            param[...] = backend.asarray(values.astype(dtype_name(param.dtype)))
            offset += size

    def loss_and_grad(theta):
        unpack(theta)
        total = 0.0
        grads = [np.zeros(shape, dtype=np.float64) for shape in shapes]
        for start in range(0, n_samples, chunk_size):
            stop = min(start + chunk_size, n_samples)
            chunk_weights = None
            if weights is not None:
                chunk_weights = take_rows(weights, start, stop, rows)
                if not bool(backend.xp.any(chunk_weights)):
                    continue
            value, chunk_grads = forward_backward(
                net,
                take_rows(X, start, stop, rows),
                take_rows(Y, start, stop, rows),
                weights=chunk_weights,
            )
            weight = total_weight(stop - start, chunk_weights) / total_weights
            total += value * weight
            for grad, chunk_grad in zip(grads, chunk_grads):
                grad += backend.to_numpy(chunk_grad) * weight
        if alpha:
            for W, grad in zip(net.coefs, grads):
                W = backend.to_numpy(W)
                total += 0.5 * alpha / penalty_rows * NUMPY.squared_norm(W)
                grad += (alpha / penalty_rows) * W
        return total, np.concatenate([g.ravel() for g in grads])

    theta0 = np.concatenate([backend.to_numpy(p).ravel() for p in params]).astype(
        np.float64
    )
    history = [] if loss_curve is None else loss_curve
    best = {"fun": np.inf, "x": theta0}

    def record(intermediate_result):
        history.append(float(intermediate_result.fun))
        if intermediate_result.fun < best["fun"]:
            best["fun"] = intermediate_result.fun
            best["x"] = np.array(intermediate_result.x, copy=True)
        if task is not None:
            # (scipy < 1.11 ignores StopIteration; a callback's stop is moot.)
            if task.epoch_done(intermediate_result.fun):
                raise StopIteration
            task.epoch_begin()

    if task is not None:
        task.epoch_begin()

    rows_per_chunk = min(chunk_size, max(1, n_samples))
    try:
        with (
            np.errstate(over="ignore", under="ignore", invalid="ignore"),
            limited(stage_threads(rows_per_chunk, net.coefs)),
        ):
            result = minimize(
                loss_and_grad,
                theta0,
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": max_iter, "gtol": tol, "ftol": 1e-10},
                callback=record,
            )
        n_iter, value, theta = int(result.nit), float(result.fun), result.x
        converged = bool(result.success)
    except KeyboardInterrupt:
        # End here with the best iterate so far, as the mini-batch loop does.
        warn_interrupted(label, len(history), what="iterations")
        n_iter, value, theta, converged = len(history), best["fun"], best["x"], True
        if not history:
            value = float(loss_and_grad(theta0)[0])
    if task is not None:
        task.epoch_abandon()
    unpack(theta)
    # (L-BFGS has no step size to lower: a non-finite loss comes from the
    # scale of the input.)
    check_finite_training([value, *params], f"the {label} loss", None)
    return n_iter, float(value), converged


def run_lbfgs(
    net,
    X,
    Y,
    state,
    *,
    max_iter,
    alpha,
    verbose,
    label,
    rows=None,
    weights=None,
    task=None,
):
    """The ``"lbfgs"`` solver: full-batch fine-tuning, recorded in ``state``."""
    n_iter, value, converged = fit_lbfgs(
        net,
        X,
        Y,
        rows=rows,
        weights=weights,
        alpha=alpha,
        max_iter=max_iter,
        tol=1e-5,
        loss_curve=state.loss_curve,
        label=label,
        task=task,
    )
    state.best_loss = min(state.best_loss, value)
    if verbose:
        print(f"[{label}] {n_iter} L-BFGS iterations, loss {value:.5f}")
    if not converged and max_iter > 0:
        warn(
            f"{label}: L-BFGS did not converge in max_iter={max_iter} iterations.",
            ConvergenceWarning,
        )
    return n_iter


def fine_tune_network(net, X, Y, state, *, solver, n_epochs, **epoch_options):
    """Fine-tune ``net`` with ``solver``; returns the epochs (or iterations) run.

    ``"lbfgs"`` fits on the whole data at once (:func:`run_lbfgs`; dropout,
    validation and the stopping rules do not apply); ``"adam"`` and ``"sgd"``
    run mini-batch epochs (:func:`run_epochs`, which takes ``epoch_options``).
    """
    if solver == "lbfgs":
        return run_lbfgs(
            net,
            X,
            Y,
            state,
            max_iter=n_epochs,
            alpha=epoch_options.get("alpha", 0.0),
            verbose=epoch_options.get("verbose", 0),
            label=epoch_options.get("label", "fine-tuning"),
            rows=epoch_options.get("rows"),
            weights=epoch_options.get("weights"),
            task=epoch_options.get("task"),
        )
    return run_epochs(net, X, Y, state, n_epochs=n_epochs, **epoch_options)
