"""A fit's progress: its history, scikit-learn's callbacks, verbose lines.

A fit is a tree of tasks, as scikit-learn's callback API (``sklearn.callback``,
scikit-learn 1.9) sees it: the fit; its stages (pretraining, the head,
fine-tuning or up-down); a stage's layers; and epochs (or L-BFGS
iterations) as the leaves. The training loops report each epoch to the
:class:`Task` they run under, which

- appends one record to the estimator's ``history_``: stage, layer, epoch
  (numbered per stage and layer on across ``partial_fit`` calls and warm
  starts), loss, validation score, learning rate and seconds;
- calls the hooks of the estimator's callbacks (``ProgressBar``,
  ``ScoringMonitor``, ...) for the epoch, and tells the loop to stop when a
  callback asks it to;
- prints a line with the time elapsed and an estimate of the time left in
  the stage, when the estimator is verbose.

Without the callback API (scikit-learn before 1.9) the estimators have no
``set_callbacks`` and everything else works the same.
"""

import time

try:
    from sklearn.callback import CallbackSupportMixin
    from sklearn.callback import with_callbacks as _sklearn_with_callbacks
except ImportError:  # scikit-learn < 1.9: no callbacks, the rest unchanged

    class CallbackSupportMixin:  # noqa: D101
        pass

    def _sklearn_with_callbacks(method):
        return method


def with_callbacks(method):
    """scikit-learn's ``with_callbacks``, inside the estimator's restore.

    The callbacks' ``teardown`` hooks run when the fit ends, after the
    method itself. Given a method decorated with
    :func:`skdbn._utils.restore_on_error`, the teardown goes inside the
    restore, so that a callback failing there leaves the estimator as it
    was, like any other error of the fit. (scikit-learn's ``_fit_context``
    also tears callbacks down, but finds them already torn down.)
    """
    unrestored = getattr(method, "__skdbn_unrestored__", None)
    if unrestored is None:
        return _sklearn_with_callbacks(method)
    from ._utils import restore_on_error  # (_utils imports this module)

    return restore_on_error(_sklearn_with_callbacks(unrestored))


# What the callback machinery keeps on an estimator during a fit: not fitted
# state, so an error restores none of it (see skdbn._utils.restore_on_error).
CALLBACK_ATTRIBUTES = frozenset(
    {
        "_skl_callbacks",
        "_skl_callbacks_to_teardown",
        "_callback_fit_ctx",
        "_parent_callback_ctx",
    }
)

HISTORY_FIELDS = (
    "stage",
    "layer",
    "epoch",
    "loss",
    "validation_score",
    "learning_rate",
    "seconds",
)


class Task:
    """One node of a fit's task tree.

    Use :meth:`start_fit` for the root and :meth:`subtask` below it.
    Training loops call :meth:`epoch_begin` and :meth:`epoch_done` around
    each epoch of the task they were given.

    Attributes
    ----------
    scoring_data : callable or None
        Returns the ``(X, y)`` that callbacks such as ``ScoringMonitor``
        score the model on after each epoch of this task.
    fitted_attributes : callable or None
        Returns the fitted attributes that make a copy of the estimator
        predict as the model stands after the epoch.
    """

    def __init__(self, estimator, stage, context, *, layer, n_epochs, verbose):
        self.estimator = estimator
        self.stage = stage
        self.context = context
        self.layer = layer
        self.n_epochs = n_epochs
        self.verbose = verbose
        self.scoring_data = None
        self.fitted_attributes = None
        self.epochs_done = 0
        # The history's number of this task's first epoch: found when it ends,
        # after the records of a stage run by earlier calls (see _last_epoch).
        self._first_epoch = None
        self._started = time.perf_counter()
        self._epoch_started = None
        self._epoch_context = None

    @classmethod
    def start_fit(
        cls, estimator, X=None, y=None, *, n_subtasks, verbose=0, keep_history=False
    ):
        """The root task of a fit (or of a ``partial_fit`` call).

        ``history_`` starts empty unless ``keep_history`` (``partial_fit`` and
        warm starts continue it).
        """
        if not keep_history or not hasattr(estimator, "history_"):
            estimator.history_ = []
        context = None
        if hasattr(estimator, "_init_callback_context"):
            context = estimator._init_callback_context(max_subtasks=n_subtasks)
            context.call_on_fit_task_begin(estimator=estimator, X=X, y=y)
        return cls(
            estimator,
            type(estimator).__name__,
            context,
            layer=None,
            n_epochs=n_subtasks,
            verbose=verbose,
        )

    def subtask(self, stage=None, *, n_subtasks=None, layer=None, verbose=None):
        """A child task: a stage, or a layer of a stage.

        ``n_subtasks`` is the most children (epochs) it may have, None if not
        known in advance. A layer keeps its parent's stage name.
        """
        context = None
        name = stage if stage is not None else f"layer {layer}"
        if self.context is not None:
            context = self.context.subcontext(task_name=name, max_subtasks=n_subtasks)
            context.call_on_fit_task_begin(estimator=self.estimator)
        return Task(
            self.estimator,
            self.stage if stage is None else stage,
            context,
            layer=layer if layer is not None else self.layer,
            n_epochs=n_subtasks,
            verbose=self.verbose if verbose is None else verbose,
        )

    def end(self):
        """Close this task for the callbacks (call once, when it is done)."""
        if self.context is not None:
            self.context.call_on_fit_task_end(estimator=self.estimator)

    def epoch_begin(self):
        """Start timing an epoch and open it for the callbacks."""
        self._epoch_started = time.perf_counter()
        if self.context is not None:
            self._epoch_context = self.context.subcontext(task_name="epoch")
            self._epoch_context.call_on_fit_task_begin(estimator=self.estimator)

    def epoch_done(self, loss, *, validation_score=None, learning_rate=None):
        """Record the epoch just completed; True if a callback asks to stop."""
        now = time.perf_counter()
        if self._epoch_started is None:
            self._epoch_started = self._started
        seconds = now - self._epoch_started
        self.epochs_done += 1
        history = self.estimator.history_
        if self._first_epoch is None:
            self._first_epoch = _last_epoch(history, self.stage, self.layer) + 1
        history.append(
            dict(
                zip(
                    HISTORY_FIELDS,
                    (
                        self.stage,
                        self.layer,
                        self._first_epoch + self.epochs_done - 1,
                        float(loss),
                        None if validation_score is None else float(validation_score),
                        None if learning_rate is None else float(learning_rate),
                        seconds,
                    ),
                )
            )
        )
        self._epoch_started = None
        if self.verbose:
            print(self._line(loss, validation_score, seconds, now))
        stop = False
        if self._epoch_context is not None:
            X, y = (None, None) if self.scoring_data is None else self.scoring_data()
            stop = self._epoch_context.call_on_fit_task_end(
                estimator=self.estimator,
                X=X,
                y=y,
                reconstruction_attributes=self.fitted_attributes,
            )
            self._epoch_context = None
        return bool(stop)

    def epoch_abandon(self):
        """Close an epoch begun but never run (L-BFGS ended), recording nothing."""
        if self._epoch_context is not None:
            self._epoch_context.call_on_fit_task_end(estimator=self.estimator)
            self._epoch_context = None
        self._epoch_started = None

    def _line(self, loss, validation_score, seconds, now):
        where = self.stage
        if self.layer is not None:
            where += f", layer {self.layer}"
        total = "" if self.n_epochs is None else f"/{self.n_epochs}"
        line = f"[{where}] epoch {self.epochs_done}{total}, loss {loss:.5f}"
        if validation_score is not None:
            line += f", validation score {validation_score:.5f}"
        elapsed = now - self._started
        line += f", {seconds:.2f}s (elapsed {_clock(elapsed)}"
        if self.n_epochs:
            left = elapsed / self.epochs_done * max(0, self.n_epochs - self.epochs_done)
            line += f", about {_clock(left)} left"
        return line + ")"


def _last_epoch(history, stage, layer):
    """The number of the last epoch of ``stage`` (and ``layer``) in ``history``.

    0 when there is none. ``history_`` numbers the epochs of a stage, per
    layer, from 1 at the fit that started the history, and on across the
    ``partial_fit`` calls and warm starts that continue it. The search runs
    from the newest record back, so a call that continues the stage of the
    call before it (a stream of ``partial_fit`` calls) finds it within the
    last call's records, however long the history.
    """
    for record in reversed(history):
        if record["stage"] == stage and record["layer"] == layer:
            return record["epoch"]
    return 0


def _clock(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}:{seconds:02d}"
