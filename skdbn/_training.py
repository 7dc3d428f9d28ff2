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

from ._blas import axpy
from ._network import (
    backward,
    forward,
    forward_backward,
    l2_penalty,
    loss,
    predict,
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
        self.velocities = [np.zeros_like(p) for p in params]

    def start_step(self):
        pass

    def layer_step(self, net, i, layer_input, delta, decay):
        lr, mu = self.learning_rate, self.momentum
        W, b = net.coefs[i], net.intercepts[i]
        velocity = self.velocities[i]
        weight_gradient(layer_input, delta, velocity, alpha=-lr, beta=mu)
        if decay:
            axpy(W, velocity, -lr * decay)
        axpy(velocity, W, 1.0)
        bias_velocity = self.velocities[len(net.coefs) + i]
        bias_velocity *= mu
        bias_velocity -= lr * delta.sum(axis=0)
        b += bias_velocity


class Adam:
    """Adam (Kingma & Ba, 2015) with scikit-learn's default constants."""

    def __init__(self, params, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.first = [np.zeros_like(p) for p in params]
        self.second = [np.zeros_like(p) for p in params]
        self.grads = [np.empty_like(p) for p in params]

    def start_step(self):
        self.t += 1

    def layer_step(self, net, i, layer_input, delta, decay):
        n_layers = len(net.coefs)
        W, b = net.coefs[i], net.intercepts[i]
        grad = weight_gradient(layer_input, delta, self.grads[i])
        if decay:
            axpy(W, grad, decay)
        self._update(W, i, grad)
        bias_grad = self.grads[n_layers + i]
        np.sum(delta, axis=0, out=bias_grad)
        self._update(b, n_layers + i, bias_grad)

    def _update(self, param, index, grad):
        """In-place Adam step; ``grad`` is used as scratch space."""
        b1, b2 = self.beta_1, self.beta_2
        step = self.learning_rate * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        m, v = self.first[index], self.second[index]
        m *= b1
        axpy(grad, m, 1 - b1)
        v *= b2
        np.multiply(grad, grad, out=grad)
        axpy(grad, v, 1 - b2)
        np.sqrt(v, out=grad)
        grad += self.epsilon
        np.divide(m, grad, out=grad)
        axpy(grad, param, -step)


def train_step(net, X, Y, optimizer, *, alpha=0.0, dropout=0.0, rng=None):
    """One mini-batch update of ``net``; returns the batch's data loss.

    Each layer is updated as soon as back-propagation has passed it, by the
    optimizer's fused ``layer_step``; the L2 term ``alpha / (2 * n_rows) *
    ||W||^2`` enters the gradients but not the returned loss.
    """
    activations, masks = forward(net, X, dropout=dropout, rng=rng)
    value = loss(activations[-1], Y, net.units[-1])
    decay = alpha / X.shape[0]
    optimizer.start_step()

    def update(i, layer_input, delta):
        optimizer.layer_step(net, i, layer_input, delta, decay)

    backward(net, activations, masks, Y, update)
    return value


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
    settings = (scope, solver, learning_rate_init, momentum, schedule, horizon)
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
    task=None,
):
    """Train ``net`` on ``(X, Y)`` for up to ``n_epochs`` epochs.

    Each epoch is reported to ``task`` (a :class:`~skdbn._progress.Task`),
    which records it, prints it when verbose and may ask to stop.

    With ``rows`` (an index array) only those rows of ``X`` and ``Y`` train.
    With ``input_noise`` each input value is set to 0 with that probability,
    batch by batch (masking noise; the targets stay clean).

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
    n_samples = count_rows(X, rows)
    batch_size = min(batch_size, n_samples)
    X_batch = np.empty((batch_size, X.shape[1]), dtype=Y.dtype)
    Y_batch = np.empty((batch_size, Y.shape[1]), dtype=Y.dtype)
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
                for batch in minibatches(n_samples, batch_size, rng, rows):
                    xb = load_batch(X, batch, X_batch[: len(batch)])
                    if input_noise:
                        mask = uniform(rng, np.empty_like(xb))
                        xb[mask < input_noise] = 0
                    yb = np.take(Y, batch, axis=0, out=Y_batch[: len(batch)])
                    value = train_step(
                        net,
                        xb,
                        yb,
                        state.optimizer,
                        alpha=alpha,
                        dropout=dropout,
                        rng=rng,
                    )
                    total += value * len(batch)
            # The L2 term at the epoch's final weights (computing it per batch
            # would cost a sweep over every weight each step).
            with np.errstate(over="ignore", invalid="ignore"):
                epoch_loss = total / n_samples + l2_penalty(net, alpha, batch_size)
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
        _warn_if_worse_than_constant(net, Y, call_losses, label, state.optimizer)
    return n_run


def _warn_if_worse_than_constant(net, Y, loss_curve, label, optimizer, max_rows=2000):
    """Warn when training made the loss worse and ended above a constant model's.

    ``loss_curve`` holds this call's epochs. The constant is the best output
    that ignores the input (the mean target: class frequencies for a
    classifier), so such a network has collapsed. Targets outside the range
    the output units model (a cross-entropy with targets past 1) give no
    meaningful comparison and are left alone.
    """
    if len(loss_curve) < 2 or loss_curve[-1] <= loss_curve[0]:
        return
    Y = Y[:max_rows]
    unit = get_unit(net.units[-1])
    if unit.range_problem(float(Y.min()), float(Y.max())) is not None:
        return
    constant = np.broadcast_to(Y.mean(axis=0), Y.shape)
    constant_loss = unit.loss(constant, Y)
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
    shapes = [p.shape for p in params]
    sizes = [p.size for p in params]
    n_samples = count_rows(X, rows)
    penalty_rows = n_samples if batch_size is None else min(batch_size, n_samples)

    def unpack(theta):
        offset = 0
        for param, shape, size in zip(params, shapes, sizes):
            param[...] = theta[offset : offset + size].reshape(shape)
            offset += size

    def loss_and_grad(theta):
        unpack(theta)
        total = 0.0
        grads = [np.zeros(shape, dtype=np.float64) for shape in shapes]
        for start in range(0, n_samples, chunk_size):
            stop = min(start + chunk_size, n_samples)
            value, chunk_grads = forward_backward(
                net, take_rows(X, start, stop, rows), take_rows(Y, start, stop, rows)
            )
            weight = (stop - start) / n_samples
            total += value * weight
            for grad, chunk_grad in zip(grads, chunk_grads):
                grad += chunk_grad * weight
        if alpha:
            for W, grad in zip(net.coefs, grads):
                total += 0.5 * alpha / penalty_rows * float(np.vdot(W, W))
                grad += (alpha / penalty_rows) * W
        return total, np.concatenate([g.ravel() for g in grads])

    theta0 = np.concatenate([p.ravel() for p in params]).astype(np.float64)
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
    task=None,
):
    """The ``"lbfgs"`` solver: full-batch fine-tuning, recorded in ``state``."""
    n_iter, value, converged = fit_lbfgs(
        net,
        X,
        Y,
        rows=rows,
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
            task=epoch_options.get("task"),
        )
    return run_epochs(net, X, Y, state, n_epochs=n_epochs, **epoch_options)
