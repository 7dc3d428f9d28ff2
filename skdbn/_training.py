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

from ._backend import backend_of, dtype_name
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
        self.grads = [_zeros_like(p) for p in params]

    def start_step(self):
        self.t += 1

    def layer_step(self, net, i, layer_input, delta, decay):
        n_layers = len(net.coefs)
        W, b = net.coefs[i], net.intercepts[i]
        backend = backend_of(W)
        grad = weight_gradient(layer_input, delta, self.grads[i])
        if decay:
            backend.axpy(W, grad, decay)
        self._update(W, i, grad)
        bias_grad = self.grads[n_layers + i]
        backend.sum_rows(delta, out=bias_grad)
        self._update(b, n_layers + i, bias_grad)

    def _update(self, param, index, grad):
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


def train_step(net, X, Y, optimizer, *, weights=None, alpha=0.0, dropout=0.0, rng=None):
    """One mini-batch update of ``net``; returns the batch's data loss.

    Each layer is updated as soon as back-propagation has passed it, by the
    optimizer's fused ``layer_step``; the L2 term ``alpha / (2 * n_rows) *
    ||W||^2`` enters the gradients but not the returned loss. With
    ``weights`` (one per row) the loss is their weighted mean and ``n_rows``
    becomes the weights' sum (scikit-learn's MLP convention).
    """
    activations, masks = forward(net, X, dropout=dropout, rng=rng)
    value = loss(activations[-1], Y, net.units[-1], weights)
    decay = alpha / total_weight(X.shape[0], weights)
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
    number of epochs a ``"cosine"`` schedule spans.
    """

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

    ``partial_fit`` carries the optimizer's moments over from call to call;
    a new state starts when asked (``fit``), when there is none, or when the
    solver, its settings or the layers it trains (``scope``) changed since
    (``set_params`` between calls).
    """
    # (A model moved to another namespace or device starts a new state.)
    backend = backend_of(params[0]).key
    settings = (scope, solver, learning_rate_init, momentum, schedule, horizon, backend)
    if fresh or state is None or getattr(state, "settings", None) != settings:
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
    # The L2 term's divisor: a batch's rows, or its expected sum of weights.
    penalty_rows = batch_size * epoch_weight / n_samples
    n_run = 0
    stopped = False
    call_losses = []  # this call's epochs: the reference for divergence
    try:
        for _ in range(n_epochs):
            if task is not None:
                task.epoch_begin()
            if state.schedule == "cosine":
                state.optimizer.learning_rate = cosine_learning_rate(
                    state.learning_rate_init, state.n_epochs, state.horizon or n_epochs
                )
            total = 0.0
            # Overflow is reported below as divergence, with a useful message.
            with np.errstate(over="ignore", invalid="ignore"):
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
                        dropout=dropout,
                        rng=rng,
                    )
                    total += value * total_weight(n_rows, wb)
            # The L2 term at the epoch's final weights (computing it per batch
            # would cost a sweep over every weight each step).
            with np.errstate(over="ignore", invalid="ignore"):
                epoch_loss = total / epoch_weight + l2_penalty(net, alpha, penalty_rows)
            check_training_progress(
                epoch_loss,
                call_losses,
                net.params,
                f"{label} loss",
                learning_rate_name,
            )
            n_run += 1
            call_losses.append(epoch_loss)
            state.n_epochs += 1
            _record_epoch(net, state, epoch_loss, validation, tol)
            if task is not None and task.epoch_done(
                epoch_loss,
                validation_score=state.validation_scores[-1] if validation else None,
                learning_rate=state.optimizer.learning_rate,
            ):
                stopped = True  # a callback asked to stop
                break
            if check_convergence and state.no_improvement_count > n_iter_no_change:
                stopped = _stalled(state, n_iter_no_change, tol, verbose, label)
                if stopped:
                    break
    except KeyboardInterrupt:
        # As scikit-learn's MLP does: end this stage, keep what it reached.
        warn_interrupted(label, n_run)
        stopped = True

    state.stopped = stopped  # by a stall or Ctrl-C, not by n_epochs
    if validation is not None and state.best_params is not None:
        net.set_params(state.best_params)
    if check_convergence and warn_unconverged and not stopped and n_epochs > 0:
        warn(
            f"{label}: the maximum number of epochs ({n_epochs}) was reached "
            "before the optimisation converged.",
            ConvergenceWarning,
        )
    if validation is None:
        # (With a validation set the best epoch's weights are kept.)
        _warn_if_worse_than_constant(
            net, Y, call_losses, label, state.optimizer, weights
        )
    return n_run


def _warn_if_worse_than_constant(
    net, Y, loss_curve, label, optimizer, weights=None, max_rows=2000
):
    """Warn when training made the loss worse and ended above a constant model's.

    ``loss_curve`` holds this call's epochs. The constant is the best output
    that ignores the input (the mean target: class frequencies for a
    classifier), so such a network has collapsed. Targets outside the range
    the output units model (a cross-entropy with targets past 1) give no
    meaningful comparison and are left alone.
    """
    if len(loss_curve) < 2 or loss_curve[-1] <= loss_curve[0]:
        return
    xp = backend_of(Y).xp
    Y = Y[:max_rows, ...]
    if weights is not None:
        weights = weights[:max_rows]
        if not bool(xp.any(weights)):
            return
    unit = get_unit(net.units[-1])
    if unit.range_problem(float(xp.min(Y)), float(xp.max(Y))) is not None:
        return
    if weights is None:
        mean = xp.mean(Y, axis=0)
    else:
        mean = xp.sum(weights[:, None] * Y, axis=0) / xp.sum(weights)
    constant = mean[None, :] + xp.zeros_like(Y)
    constant_loss = unit.loss(constant, Y, weights)
    if loss_curve[-1] > constant_loss:
        advice = "Lower learning_rate_init"
        if isinstance(optimizer, SGD):
            advice += " (or momentum), or use solver='adam'"
        warn(
            f"{label} ended with a training loss of {loss_curve[-1]:.4g}, worse "
            f"than its first epoch's {loss_curve[0]:.4g} and than the "
            f"{constant_loss:.4g} of a constant prediction: the network has "
            f"collapsed. {advice}.",
            UserWarning,
        )


def fit_lbfgs(
    net,
    X,
    Y,
    *,
    alpha=0.0,
    batch_size=None,
    max_iter=200,
    tol=1e-6,
    chunk_size=8192,
    loss_curve=None,
    label="output layer",
    learning_rate_name="alpha",
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
    bounded. The L2 term is ``alpha / (2 * batch_size) * ||W||^2``, the
    objective that mini-batch training with that batch size minimises on
    average, so ``alpha`` means the same in both (``batch_size=None`` takes
    the whole data as the batch).

    With ``loss_curve`` (a list) the loss after each iteration is appended
    to it. Each iteration is reported to ``task`` as an epoch. With
    ``weights`` (one per row of ``X``) the loss is the weighted mean, and
    the L2 term's divisor is scaled by the mean weight (with
    ``batch_size=None``, the weights' sum).

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
    penalty_rows = n_samples if batch_size is None else min(batch_size, n_samples)
    if weights is None:
        total_weights = n_samples
    else:
        kept = weights if rows is None else backend.xp.take(weights, rows, axis=0)
        total_weights = float(backend.xp.sum(kept))
        penalty_rows *= total_weights / n_samples

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
                total += 0.5 * alpha / penalty_rows * float(np.vdot(W, W))
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

    try:
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
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
    check_finite_training([value, *params], f"the {label} loss", learning_rate_name)
    return n_iter, float(value), converged


def run_lbfgs(
    net,
    X,
    Y,
    state,
    *,
    max_iter,
    alpha,
    batch_size,
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
        batch_size=batch_size,
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
            batch_size=epoch_options["batch_size"],
            verbose=epoch_options.get("verbose", 0),
            label=epoch_options.get("label", "fine-tuning"),
            rows=epoch_options.get("rows"),
            weights=epoch_options.get("weights"),
            task=epoch_options.get("task"),
        )
    return run_epochs(net, X, Y, state, n_epochs=n_epochs, **epoch_options)
