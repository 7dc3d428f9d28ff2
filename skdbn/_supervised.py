"""DBNClassifier and DBNRegressor: pretraining, a head, then fine-tuning."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring, r2_score
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._backend import backend_of
from ._base import (
    FINE_TUNING_CONSTRAINTS,
    PRETRAINING_CONSTRAINTS,
    BaseDBN,
    _positive_sizes,
    fill_doc,
)
from ._network import Network, predict
from ._progress import CallbackSupportMixin, Task, with_callbacks
from ._stack import unroll_encoder
from ._training import (
    TrainingState,
    fine_tune_network,
    fit_lbfgs,
    make_optimizer,
    run_epochs,
)
from ._typing import Array, ArrayLike, MatrixLike
from ._units import glorot_uniform
from ._utils import (
    count_rows,
    gather,
    labels_at,
    make_generator,
    restore_on_error,
    to_host,
)
from ._validation import (
    DTYPES,
    check_classes,
    check_finite_output,
    check_sample_weight,
    one_hot,
    validate_visible_data,
    warn,
)

# Hidden units of the supervised head: rectified linear, as MLPClassifier's.
HEAD_HIDDEN_UNIT = "relu"

# The head's L2 strength on the frozen features (see ``head_alpha``), chosen
# by measurement: benchmarks/README.md, "The head's penalty".
HEAD_ALPHA = 1.0


class BaseSupervisedDBN(CallbackSupportMixin, BaseDBN):
    """The three stages shared by the classifier and the regressor.

    1. Greedy unsupervised pretraining of the RBM stack.
    2. The head alone (the output layer, and any head hidden layers),
       trained on the frozen top-layer features.
    3. Every layer fine-tuned together by backpropagation.

    Subclasses define the targets' encoding (``_encode_targets``), the output
    unit (``_output_unit``) and the validation score (``_validation_score``).
    """

    _parameter_constraints = {**PRETRAINING_CONSTRAINTS, **FINE_TUNING_CONSTRAINTS}

    def __init__(
        self,
        hidden_layer_sizes=(256,),
        *,
        visible_unit="bernoulli",
        hidden_unit="bernoulli",
        pretrain_epochs="auto",
        pretrain_learning_rate="auto",
        pretraining="rbm",
        pretrain_noise=0.0,
        pretrain_weight_decay=2e-4,
        sparsity_target=0.1,
        sparsity_cost=0.0,
        n_gibbs_steps=1,
        persistent=False,
        batch_size="auto",
        solver="adam",
        learning_rate_init=1e-3,
        learning_rate="constant",
        momentum=0.9,
        alpha=1e-4,
        head_alpha=HEAD_ALPHA,
        dropout=0.0,
        head_hidden_layer_sizes=(),
        head_max_iter=100,
        fine_tune=True,
        max_iter=100,
        tol=1e-4,
        early_stopping=False,
        scoring=None,
        validation_fraction=0.1,
        n_iter_no_change=10,
        warm_start=False,
        memory=None,
        dtype="float32",
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible_unit = visible_unit
        self.hidden_unit = hidden_unit
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_learning_rate = pretrain_learning_rate
        self.pretraining = pretraining
        self.pretrain_noise = pretrain_noise
        self.pretrain_weight_decay = pretrain_weight_decay
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.n_gibbs_steps = n_gibbs_steps
        self.persistent = persistent
        self.batch_size = batch_size
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.alpha = alpha
        self.head_alpha = head_alpha
        self.dropout = dropout
        self.head_hidden_layer_sizes = head_hidden_layer_sizes
        self.head_max_iter = head_max_iter
        self.fine_tune = fine_tune
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.scoring = scoring
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.memory = memory
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    # -- fitting ------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    @with_callbacks
    @restore_on_error
    def fit(
        self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> BaseSupervisedDBN:
        """Pretrain, train the head, then fine-tune on ``(X, y)``.

        Ctrl-C ends the current stage (pretraining, the head or fine-tuning)
        with a warning and goes on to the next one, so each press skips what
        is left of one stage; the model stays consistent, with the history of
        the epochs completed. An error leaves the estimator as it was before
        the call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the losses of the head and of fine-tuning
            (and in the early-stopping score): a weight of 2 counts as the
            row given twice. Unsupervised pretraining leaves out the rows of
            weight 0 and sees every other row once per epoch. None weighs
            every row 1.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    @with_callbacks
    @restore_on_error
    def partial_fit(
        self,
        X: MatrixLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        **kwargs: Any,
    ) -> BaseSupervisedDBN:
        """One epoch of fine-tuning over ``(X, y)``.

        The first call pretrains the stack on ``X`` (``pretrain_epochs``
        epochs; 0 gives the Glorot start) and fits the output layer on its
        frozen features, as ``fit`` does with the whole data; every call then
        makes one epoch of backpropagation through the whole network. Early
        stopping does not apply.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row, as in ``fit``.
        **kwargs : dict
            ``classes`` for the classifier's first call.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True, **kwargs)

    def _fit(self, X, y, sample_weight, *, incremental, **kwargs):
        """``fit`` (``incremental=False``) and ``partial_fit``: the one fit path.

        A call that starts a new network (``fit`` without a warm start, or
        the first ``partial_fit``) pretrains it and fits its head; then
        fine-tuning runs ``max_iter`` epochs (``fit``, with early stopping
        when asked) or one (``partial_fit``). A continuing call checks first
        that the structure is unchanged and keeps the history.
        """
        method = "partial_fit" if incremental else "fit"
        if incremental:
            self._check_incremental_solver()
        self._check_fine_tuning_options()
        fresh = not hasattr(self, "coefs_") or not (incremental or self.warm_start)
        if not fresh:
            self._check_structure_unchanged(
                method if incremental else "fit with warm_start=True"
            )
        X, y = validate_visible_data(
            self, X, y, reset=fresh, fitting=True, method=method
        )
        backend = backend_of(X)
        sample_weight = self._check_sample_weight(sample_weight, X, y)
        Y = self._encode_targets(
            y, first_call=fresh, sample_weight=sample_weight, **kwargs
        )
        if fresh:
            self._rng = make_generator(self.random_state, backend)
        rows, validation, scoring_data = None, None, lambda: (X, y)
        if not incremental:
            rows, validation, scoring_data = self._split_validation(
                X, Y, y, sample_weight
            )
        Y, sample_weight = _to_backend(backend, Y, sample_weight)
        if fresh:
            self._place_targets(backend)
        # partial_fit and warm starts always train on (the head at least,
        # with fine_tune=False); a new fit only with fine_tune.
        fine_tune = incremental or self.fine_tune or not fresh
        task = Task.start_fit(
            self,
            X,
            y,
            n_subtasks=(2 if fresh else 0) + fine_tune,
            verbose=self.verbose,
            keep_history=not fresh,
        )
        if fresh:
            # With a validation split, training reads the rows ``rows`` of X
            # in place: only the held-out rows are copied.
            self._pretrain_and_fit_head(X, Y, validation, task, rows, sample_weight)
        elif not incremental:
            self._start_validation_history(warm=True)
        if fine_tune:
            self._fine_tune(
                X,
                Y,
                validation,
                1 if incremental else self.max_iter,
                task,
                scoring_data,
                check_convergence=not incremental,
                rows=rows,
                sample_weight=sample_weight,
                # (A new model's head was just scored on this split.)
                validation_bar=None
                if incremental or not fresh
                else self.best_validation_score_,
            )
        task.end()
        return self

    def _pretrain_and_fit_head(
        self, X, Y, validation, task, rows=None, sample_weight=None
    ):
        """Stages 1 and 2: a new network, pretrained, its head fitted.

        Pretraining models the inputs, not the targets: it leaves out the
        rows of zero weight and sees every other row once per epoch.
        """
        self._record_structure()
        head_sizes = self._head_sizes()  # checked before the long stage
        layers = self._pretrain(
            X, self._rng, task, rows=_positive_rows(rows, sample_weight)
        )
        self.pretraining_curves_ = [list(layer["curve"]) for layer in layers]
        coefs, intercepts, units = unroll_encoder(layers)
        del layers
        self._units = units
        self.coefs_, self.intercepts_ = coefs, intercepts
        self._fit_head(X, Y, validation, task, rows, head_sizes, sample_weight)

    def _place_targets(self, backend):
        """Move the fitted target encoding to ``backend`` (after a first call)."""

    def _check_sample_weight(self, sample_weight, X, y):
        """The validated weights as a NumPy array (None when not given).

        Weights count as repeated rows, so their sum sets the strength of
        the L2 penalties (``alpha``, ``head_alpha``) against the data: a sum
        below one row's worth leaves the data outweighed, and is warned of.
        """
        sample_weight = check_sample_weight(sample_weight, X, self.dtype)
        if sample_weight is None:
            return None
        sample_weight = backend_of(sample_weight).to_numpy(sample_weight)
        total = float(sample_weight.sum(dtype=np.float64))
        if total < 1 and (self.alpha or self.head_alpha):
            warn(
                f"The sample weights sum to {total:.3g}, less than one row: "
                "weights count as repeated rows, so the L2 penalties (alpha, "
                "head_alpha) outweigh the data and the model stays near a "
                "constant. Rescale the weights (for example "
                "sample_weight / sample_weight.mean()), or lower alpha and "
                "head_alpha.",
                UserWarning,
            )
        return sample_weight

    def _check_fine_tuning_options(self):
        super()._check_fine_tuning_options()
        if self.dropout and not self.fine_tune and not self._head_sizes():
            raise ValueError(
                "dropout drops hidden units during fine-tuning; with "
                "fine_tune=False and no head_hidden_layer_sizes only the output "
                "layer trains, which has none. Set dropout=0, or fine_tune=True."
            )

    def _head_sizes(self):
        return _positive_sizes(
            self.head_hidden_layer_sizes, "head_hidden_layer_sizes", allow_empty=True
        )

    def _structure(self):
        return {**super()._structure(), "head_hidden_layer_sizes": self._head_sizes()}

    def _split_validation(self, X, Y, y, sample_weight=None):
        """Training rows (None: all) and the held-out data, when early stopping.

        Only the held-out rows are copied; training reads its rows in place.
        The validation score weights the held-out rows by their
        ``sample_weight``.
        """
        if not self.early_stopping:
            return None, None, lambda: (X, y)
        backend = backend_of(X)
        stratify = y if isinstance(self, ClassifierMixin) and y.ndim == 1 else None
        train_rows, val_rows = self._validation_rows(X.shape[0], stratify)
        X_val, y_val = gather(X, backend.asarray(val_rows)), y[val_rows]
        w_val = None if sample_weight is None else sample_weight[val_rows]
        if sample_weight is not None:
            parts = {
                "validation split": w_val,
                "training rows beside the validation split": sample_weight[train_rows],
            }
            for part, weights in parts.items():
                if not weights.any():
                    raise ValueError(
                        f"Every row of the {part} has a sample weight of zero, "
                        "so it cannot train or score the model; change "
                        "validation_fraction or random_state, or set "
                        "early_stopping=False."
                    )

        w_val_device = None if w_val is None else backend.asarray(w_val)

        def score(output, Y_val):
            return self._validation_score(output, Y_val, w_val_device)

        if self.scoring is not None:
            scorer = check_scoring(self, self.scoring)
            weighting = {} if w_val is None else {"sample_weight": w_val}

            def score(output, Y_val):
                # The model as it stands: a shallow copy shares the weights
                # being trained (the network's output is not needed).
                with np.errstate(all="ignore"):
                    value = float(scorer(copy.copy(self), X_val, y_val, **weighting))
                if not np.isfinite(value):
                    raise ValueError(
                        f"scoring={self.scoring!r} gave {value} on the validation "
                        "split, which early stopping cannot compare (targets this "
                        "large overflow it); use scoring=None, which scores on "
                        "the standardised targets, or scale y."
                    )
                return value

        validation = (X_val, backend.asarray(Y[val_rows]), score)
        return backend.asarray(train_rows), validation, lambda: (X_val, y_val)

    def _network(self):
        return Network(self.coefs_, self.intercepts_, self._units + [self._output_unit])

    def _reset_history(self):
        self.loss_curve_ = []
        self._start_validation_history(warm=False)
        self.best_loss_ = np.inf
        self.n_head_iter_ = 0
        self.head_loss_ = np.nan
        self.n_iter_ = 0
        self._fine_tuning_state = None

    def _start_validation_history(self, warm):
        """Validation records that describe one setting of the validation.

        A warm start keeps ``validation_scores_`` while ``early_stopping``
        and ``scoring`` are those it was recorded with, and starts it anew
        (``None`` without early stopping) when either changed: scores of
        another scorer are not comparable, nor a bar to clear.
        """
        setting = f"early_stopping={self.early_stopping!r}, scoring={self.scoring!r}"
        if warm and getattr(self, "_validation_setting", None) == setting:
            return
        self._validation_setting = setting
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None

    def _fit_head(
        self, X, Y, validation, task, rows=None, head_sizes=(), sample_weight=None
    ):
        """Stage 2: the head alone, fitted on frozen top-layer features.

        Without hidden layers a convex problem (softmax or linear regression
        on fixed features), solved to convergence with L-BFGS like Hinton &
        Salakhutdinov's conjugate-gradient head, so that fine-tuning starts
        from the best head those features allow; with hidden layers (the
        lecture's MLP on the frozen features), epochs of Adam.
        """
        self._reset_history()
        encoder = Network(self.coefs_, self.intercepts_, self._units)
        features = predict(encoder, X, rows=rows)
        if rows is not None:
            Y = gather(Y, rows)
            if sample_weight is not None:
                sample_weight = gather(sample_weight, rows)
        head = self._new_head(
            features.shape[1], head_sizes, Y.shape[1], backend_of(features)
        )
        # L-BFGS may stop before head_max_iter: its count is not known.
        stage = task.subtask(
            "head", n_subtasks=self.head_max_iter if head_sizes else None
        )
        if head_sizes:
            converged = self._fit_head_by_epochs(
                head, features, Y, stage, sample_weight
            )
            what = f"{self.n_head_iter_} epochs"
        else:
            self.n_head_iter_, self.head_loss_, converged = fit_lbfgs(
                head,
                features,
                Y,
                alpha=self.head_alpha,
                max_iter=self.head_max_iter,
                weights=sample_weight,
                task=stage,
            )
            what = f"{self.n_head_iter_} L-BFGS iterations"
        stage.end()
        del features
        final_stage = not self.fine_tune or self.max_iter == 0
        if not converged and final_stage and self.head_max_iter > 0:
            warn(
                f"The head did not converge in head_max_iter={self.head_max_iter} "
                f"({what}); increase it.",
                ConvergenceWarning,
            )
        if self.verbose:
            print(f"[head] {what}, loss {self.head_loss_:.5f}")
        self.coefs_.extend(head.coefs)
        self.intercepts_.extend(head.intercepts)
        self._units = self._units + head.units[:-1]
        self.best_loss_ = self.head_loss_
        if validation is not None:
            X_val, Y_val, score = validation
            self.best_validation_score_ = score(predict(self._network(), X_val), Y_val)

    def _new_head(self, fan_in, hidden_sizes, fan_out, backend):
        """The head's layers, Glorot-initialised: hidden ReLU layers, output."""
        dtype = backend.dtype(self.dtype)
        sizes = [fan_in, *hidden_sizes, fan_out]
        units = [HEAD_HIDDEN_UNIT] * len(hidden_sizes) + [self._output_unit]
        coefs = [
            glorot_uniform((a, b), a, b, unit, self._rng, dtype, backend)
            for a, b, unit in zip(sizes, sizes[1:], units)
        ]
        intercepts = [backend.zeros((b,), dtype) for b in sizes[1:]]
        return Network(coefs, intercepts, units)

    def _fit_head_by_epochs(self, head, features, Y, task, sample_weight=None):
        """Adam epochs for a head with hidden layers; returns whether it converged."""
        state = TrainingState(
            make_optimizer("adam", head.params, self.learning_rate_init, 0.0)
        )
        n_run = run_epochs(
            head,
            features,
            Y,
            state,
            n_epochs=self.head_max_iter,
            batch_size=self._batch_size(Y.shape[0]),
            rng=self._rng,
            alpha=self.head_alpha,
            penalty="data",
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
            check_convergence=True,
            verbose=self.verbose,
            label="head",
            warn_unconverged=False,
            weights=sample_weight,
            task=task,
        )
        self.n_head_iter_ = n_run
        self.head_loss_ = state.loss_curve[-1] if state.loss_curve else np.nan
        return state.stopped

    def _fine_tune(
        self,
        X,
        Y,
        validation,
        n_epochs,
        task,
        scoring_data,
        check_convergence=True,
        rows=None,
        sample_weight=None,
        validation_bar=None,
    ):
        """Stage 3: backpropagation through every layer.

        With ``fine_tune=False`` (``partial_fit`` and warm starts) only the
        output layer trains, on the frozen features. Each epoch is reported
        to a ``"fine-tuning"`` stage of ``task``; callbacks that score the
        model (``ScoringMonitor``) score it on ``scoring_data()``: the
        validation split with early stopping, the training data otherwise.
        """
        stage = task.subtask(
            "fine-tuning", n_subtasks=None if self.solver == "lbfgs" else n_epochs
        )
        stage.scoring_data = scoring_data
        stage.fitted_attributes = self._fitted_copy
        net = self._network()
        self._rng = backend_of(net.coefs[0]).adopt_rng(self._rng)
        if not self.fine_tune:
            n_stack = len(self._fitted_structure["hidden_layer_sizes"])
            encoder, net = net.layers(0, n_stack), net.layers(n_stack)
            X = predict(encoder, X, rows=rows)
            if rows is not None:
                if sample_weight is not None:
                    sample_weight = gather(sample_weight, rows)
                Y, rows = gather(Y, rows), None
            if validation is not None:
                X_val, Y_val, score = validation
                validation = (predict(encoder, X_val), Y_val, score)
        # fit starts a fresh optimiser, as MLPClassifier does on warm starts;
        # partial_fit calls carry its state over.
        scope = "all layers" if self.fine_tune else "head"
        state = self._training_state(net, scope, fresh=check_convergence)
        if validation is not None:
            # The model as it stands, scored on this call's split by this
            # call's scorer, is the bar fine-tuning has to clear; its weights
            # are what early stopping falls back to.
            if validation_bar is None:
                X_val, Y_val, score = validation
                validation_bar = score(predict(net, X_val), Y_val)
            state.best_validation_score = validation_bar
            state.best_params = net.copy_params()
        # The history is written into the fitted attributes epoch by epoch,
        # so an interrupted run keeps what it reached.
        state.loss_curve = self.loss_curve_
        if self.validation_scores_ is not None:
            state.validation_scores = self.validation_scores_
        n_run = fine_tune_network(
            net,
            X,
            Y,
            state,
            solver=self.solver,
            n_epochs=n_epochs,
            batch_size=self._batch_size(count_rows(X, rows)),
            rng=self._rng,
            alpha=self.alpha,
            dropout=self.dropout,
            rows=rows,
            weights=sample_weight,
            validation=validation,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
            check_convergence=check_convergence,
            verbose=self.verbose,
            label="fine-tuning",
            task=stage,
        )
        stage.end()
        self._fine_tuning_state = state.to_plain()
        self.n_iter_ += n_run
        self.best_loss_ = state.best_loss
        if validation is not None:
            self.best_validation_score_ = state.best_validation_score

    def _forward(self, X, method="predict"):
        check_is_fitted(self)
        X = validate_visible_data(self, X, reset=False, fitting=False, method=method)
        return check_finite_output(predict(self._network(), X), self.coefs_[0].dtype)


@fill_doc
class DBNClassifier(ClassifierMixin, BaseSupervisedDBN):
    """Deep belief network classifier.

    Trained in three stages (Hinton, Osindero & Teh, 2006; Hinton &
    Salakhutdinov, 2006): a stack of RBMs is pretrained greedily without the
    labels; a softmax layer is trained on the frozen top-layer features; then
    the whole network, its logistic layers initialised from the RBM weights,
    is fine-tuned with backpropagation on the cross-entropy.

    Given a 2-D ``y``, a multilabel indicator matrix, the output layer has
    one logistic unit per label instead of a softmax (as in
    ``MLPClassifier``): ``classes_`` is then ``arange(n_labels)`` and
    ``predict`` returns an indicator matrix.

    Parameters
    ----------
    %(pretraining_params)s
    %(fine_tuning_params)s
    %(common_params)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    %(supervised_attributes)s

    See Also
    --------
    DBNRegressor : The same network for regression.
    DBNTransformer : The pretrained stack as an unsupervised transformer.
    sklearn.neural_network.MLPClassifier : Backpropagation without
        pretraining.

    References
    ----------
    G. E. Hinton, S. Osindero and Y.-W. Teh, "A fast learning algorithm for
    deep belief nets", Neural Computation 18, 2006.

    G. E. Hinton and R. R. Salakhutdinov, "Reducing the Dimensionality of
    Data with Neural Networks", Science 313, 2006.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from skdbn import DBNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X / 16, y, random_state=0)
    >>> clf = DBNClassifier((128,), max_iter=30, random_state=0)
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.95
    True
    """

    _output_unit = "softmax"
    _multi_output = True  # a label indicator matrix: multilabel

    def _encode_targets(self, y, first_call, classes=None, sample_weight=None):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.ndim == 2:
            if classes is not None:
                raise ValueError(
                    "classes does not apply to a multilabel indicator y: its "
                    f"{y.shape[1]} columns are the labels. Leave classes=None."
                )
            return self._encode_multilabel(y, first_call)
        if first_call:
            if classes is not None:
                classes = backend_of(classes).to_numpy(classes)
            elif sample_weight is not None:
                # The classes come from the data: the weighted rows must hold
                # two of them, as the rows do without weights.
                weighted = np.unique(y[sample_weight > 0])
                if len(weighted) < 2:
                    raise ValueError(
                        "DBNClassifier needs samples of at least 2 classes with "
                        "a positive sample weight, but only class "
                        f"{weighted.tolist()[0]!r} has one."
                    )
            self.classes_ = check_classes(y, "DBNClassifier", classes)
            self._output_unit = "softmax"
        else:
            check_classification_targets(y)
            if self._output_unit != "softmax":
                raise ValueError(
                    "y has one label per row, but the model was fitted on a "
                    "multilabel indicator matrix."
                )
            if classes is not None and not np.array_equal(
                np.unique(backend_of(classes).to_numpy(classes)), self._host_classes()
            ):
                raise ValueError(
                    f"classes={classes!r} differs from the classes of the first "
                    f"partial_fit call, {self.classes_!r}."
                )
        return one_hot(y, self._host_classes(), DTYPES[self.dtype])

    def _encode_multilabel(self, y, first_call):
        """An indicator matrix: one logistic output unit per label."""
        values = np.unique(y)
        if (
            type_of_target(y) != "multilabel-indicator"
            or not np.isin(values, (0, 1)).all()
        ):
            advice = "for one label per row pass a 1-D y."
            if values.size == 2:
                advice = (
                    f"map its values {values.tolist()} to 0 and 1, e.g. "
                    f"(y == {values.tolist()[1]!r}).astype(int); " + advice
                )
            raise ValueError(
                "A 2-D y must be a multilabel indicator matrix of 0s and 1s, "
                f"one column per label, but it holds the values "
                f"{values[:10].tolist()}"
                + ("..." if values.size > 10 else "")
                + f"; {advice}"
            )
        if not first_call and self._output_unit != "bernoulli":
            raise ValueError(
                f"y is a {y.shape[1]}-column indicator matrix, but the model was "
                f"fitted on one label per row (classes {self._host_classes()!r}): "
                "pass 1-D labels (y.argmax(axis=1) for one-hot rows), or fit a "
                "new model without warm_start."
            )
        if first_call:
            self.classes_ = np.arange(y.shape[1])
            self._output_unit = "bernoulli"
        elif y.shape[1] != self.classes_.shape[0]:
            raise ValueError(
                f"y has {y.shape[1]} label columns, but the model was fitted "
                f"on {len(self.classes_)}."
            )
        return np.asarray(y, dtype=DTYPES[self.dtype])

    def _validation_score(self, output, Y, sample_weight=None):
        xp = backend_of(output).xp
        if self._output_unit == "bernoulli":  # subset accuracy, as score gives
            correct = xp.all((output > 0.5) == (Y > 0.5), axis=1)
        else:
            correct = xp.argmax(output, axis=1) == xp.argmax(Y, axis=1)
        correct = xp.astype(correct, output.dtype)
        if sample_weight is None:
            return float(xp.mean(correct))
        return float(xp.sum(correct * sample_weight) / xp.sum(sample_weight))

    def _host_classes(self):
        return to_host(self.classes_)

    def _place_targets(self, backend):
        # Numeric labels live with the model (predict gathers them there).
        if np.issubdtype(self.classes_.dtype, np.number):
            self.classes_ = backend.asarray(self.classes_)

    def predict_proba(self, X: MatrixLike) -> Array:
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, columns in the order of ``classes_``;
            for a multilabel model, each label's own probability.
        """
        return self._forward(X, method="predict_proba")

    def predict_log_proba(self, X: MatrixLike) -> Array:
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class.
        """
        proba = self._forward(X, method="predict_log_proba")
        xp = backend_of(proba).xp
        tiny = float(xp.finfo(proba.dtype).smallest_normal)
        return xp.log(backend_of(proba).clip(proba, tiny, None))

    def predict(self, X: MatrixLike) -> Array:
        """Most probable class of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels; for a model fitted on a multilabel indicator
            matrix, an indicator matrix (each label's probability above 0.5).
        """
        proba = self._forward(X)
        backend = backend_of(proba)
        xp = backend.xp
        if self._output_unit == "bernoulli":
            return xp.astype(proba > 0.5, xp.int64)
        return labels_at(self.classes_, xp.argmax(proba, axis=1))

    def partial_fit(
        self,
        X: MatrixLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        classes: ArrayLike | None = None,
    ) -> DBNClassifier:
        """One epoch of fine-tuning over ``(X, y)``.

        The first call pretrains the stack on ``X`` (``pretrain_epochs``
        epochs; 0 gives the Glorot start) and fits the softmax layer on its
        frozen features, as ``fit`` does with the whole data; every call then
        makes one epoch of backpropagation through the whole network. Early
        stopping does not apply.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row, as in ``fit``.
        classes : array-like of shape (n_classes,), default=None
            Every label that will ever appear; required on the first call
            when the first chunk lacks some labels.

        Returns
        -------
        self : DBNClassifier
            The updated classifier.
        """
        return super().partial_fit(X, y, sample_weight=sample_weight, classes=classes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


@fill_doc
class DBNRegressor(RegressorMixin, BaseSupervisedDBN):
    """Deep belief network regressor.

    The classifier's three stages with a linear output layer and the squared
    error: greedy RBM pretraining, a linear head on the frozen top-layer
    features, then fine-tuning of every layer. Targets are standardised
    internally, so their scale does not matter; several outputs are
    supported.

    Parameters
    ----------
    %(pretraining_params)s
    %(fine_tuning_params)s
    %(common_params)s

    Attributes
    ----------
    %(supervised_attributes)s

    See Also
    --------
    DBNClassifier : The same network for classification.
    sklearn.neural_network.MLPRegressor : Backpropagation without
        pretraining.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skdbn import DBNRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(600, 2))
    >>> y = np.sin(6 * X[:, 0]) + X[:, 1] ** 2
    >>> reg = DBNRegressor((64,), hidden_unit="relu", learning_rate_init=0.01,
    ...                    max_iter=300, random_state=0).fit(X, y)
    >>> reg.score(X, y) > LinearRegression().fit(X, y).score(X, y) + 0.1
    True
    """

    _output_unit = "gaussian"
    _multi_output = True

    def partial_fit(
        self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> DBNRegressor:
        """One epoch of fine-tuning over ``(X, y)``.

        The first call pretrains the stack on ``X`` (``pretrain_epochs``
        epochs; 0 gives the Glorot start) and fits the linear output layer
        on its frozen features, as ``fit`` does with the whole data; every
        call then makes one epoch of backpropagation through the whole
        network. Targets are standardised with the mean and scale of the
        first call's ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row, as in ``fit``.

        Returns
        -------
        self : DBNRegressor
            The updated regressor.
        """
        return super().partial_fit(X, y, sample_weight=sample_weight)

    def _encode_targets(self, y, first_call, sample_weight=None):
        y = np.asarray(y, dtype=np.float64)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if first_call:
            self._y_ndim = y.ndim
            self._y_mean, self._y_scale = _standardisation(Y, sample_weight)
        mean, scale = to_host(self._y_mean), to_host(self._y_scale)
        if Y.shape[1] != mean.shape[0]:
            raise ValueError(
                f"y has {Y.shape[1]} outputs, but the model was fitted with "
                f"{mean.shape[0]}."
            )
        Z = (Y - mean) / scale
        if sample_weight is not None:
            # Rows of weight 0 count for nothing; far from the weighted mean
            # their standardised values could overflow the dtype.
            Z[sample_weight == 0] = 0
        dtype = DTYPES[self.dtype]
        # Squared errors of standardised targets must stay finite.
        limit = np.sqrt(np.finfo(dtype).max) / 1e3
        if np.any(np.abs(Z) > limit):
            raise ValueError(
                f"y holds values {float(np.max(np.abs(Z))):.3g} standard "
                "deviations from the mean of the targets the model was first "
                f"fitted on ({to_host(self._y_mean)!r}, scale "
                f"{to_host(self._y_scale)!r}), beyond what a {self.dtype} model "
                "can train on. Scale y as the first call's targets were, or "
                "fit with dtype='float64'."
            )
        return Z.astype(dtype)

    def score(
        self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        """R² of the predictions, as ``r2_score`` computes it.

        Computed on the targets and predictions divided by the fitted
        target scale, which leaves R² unchanged and keeps it finite for
        targets whose squares overflow.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row.

        Returns
        -------
        score : float
            R² of ``self.predict(X)`` against ``y``.
        """
        predicted = self.predict(X)
        backend = backend_of(predicted)
        xp = backend.xp
        scale = self._y_scale if self._y_ndim == 2 else self._y_scale[0]
        y = xp.astype(backend.asarray(y), scale.dtype)
        return float(
            r2_score(y / scale, predicted / scale, sample_weight=sample_weight)
        )

    def _place_targets(self, backend):
        # Un-standardising runs where the predictions are.
        self._y_mean = backend.asarray(self._y_mean)
        self._y_scale = backend.asarray(self._y_scale)

    @staticmethod
    def _validation_score(output, Y, sample_weight=None):
        # R^2 averaged over outputs, weighted as r2_score weights it.
        xp = backend_of(output).xp
        output, Y = xp.astype(output, xp.float64), xp.astype(Y, xp.float64)
        if sample_weight is None:
            w = xp.ones_like(Y[:, :1])
        else:
            w = xp.astype(sample_weight, xp.float64)[:, None]
        residual = xp.sum(w * (Y - output) ** 2, axis=0)
        mean = xp.sum(w * Y, axis=0) / xp.sum(w)
        total = xp.sum(w * (Y - mean) ** 2, axis=0)
        total = xp.where(total == 0, xp.ones_like(total), total)
        return float(xp.mean(1 - residual / total))

    def predict(self, X: MatrixLike) -> Array:
        """Predicted targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions as float64, in the shape of the training targets.
        """
        # Targets are float64 in scikit-learn; the network's precision is an
        # implementation detail that should not leak into predictions.
        output = self._forward(X)
        backend = backend_of(output)
        mean, scale = self._y_mean, self._y_scale
        Y = backend.xp.astype(output, mean.dtype) * scale + mean
        # (Targets near the largest float64 can overflow on the way back.)
        check_finite_output(Y, mean.dtype)
        return Y[:, 0] if self._y_ndim == 1 else Y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


# Predictions reach a few standard deviations past the targets: targets
# whose magnitude leaves less headroom than this below the largest float64
# would give infinite predictions.
TARGET_HEADROOM = 1e4


def _standardisation(Y, sample_weight=None):
    """The (weighted) mean and standard deviation of each column of ``Y``.

    Computed in float64 on ``Y`` divided by its largest magnitude, so that
    targets beyond 1e154, whose squares overflow, still give a finite scale;
    targets too close to the largest float64 for predictions to stay finite
    are refused. A constant column gets the scale 1.
    """
    peak = np.max(np.abs(Y), axis=0)
    limit = np.finfo(np.float64).max / TARGET_HEADROOM
    if np.any(peak > limit):
        raise ValueError(
            f"y reaches {float(np.max(peak)):.3g}, too close to the largest "
            f"float64 ({np.finfo(np.float64).max:.3g}) for predictions to stay "
            f"finite; divide y by a constant (say {float(np.max(peak)) / 1e6:.0e}) "
            "and multiply the predictions back."
        )
    peak[peak == 0] = 1
    Z = Y / peak
    mean = np.average(Z, axis=0, weights=sample_weight)
    scale = np.sqrt(np.average((Z - mean) ** 2, axis=0, weights=sample_weight))
    scale *= peak
    scale[scale == 0] = 1
    return mean * peak, scale


def _positive_rows(rows, sample_weight):
    """The rows of ``rows`` (None: all) whose weight is positive (None: all).

    ``sample_weight`` and ``rows`` are arrays of the data's namespace, on
    its device; so is the result.
    """
    if sample_weight is None:
        return rows
    xp = backend_of(sample_weight).xp
    positive = sample_weight > 0
    if bool(xp.all(positive)):
        return rows
    if rows is None:
        return xp.nonzero(positive)[0]
    return rows[xp.take(positive, rows, axis=0)]


def _to_backend(backend, *arrays):
    """NumPy arrays (or None) moved to ``backend``'s device, once."""
    return [None if a is None else backend.asarray(a) for a in arrays]
