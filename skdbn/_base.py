"""What every DBN estimator shares: pretraining parameters, their docs, checks."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_memory

from ._backend import backend_of
from ._rbm import RBM
from ._stack import auto_batch_size, plan_stack, pretrain_greedy
from ._training import LEARNING_RATE_SCHEDULES, continue_or_start
from ._units import HIDDEN_UNITS, VISIBLE_UNITS
from ._utils import child_seed, count_rows
from ._validation import (
    DTYPES,
)

PRETRAINING_PARAMS_DOC = """hidden_layer_sizes : array-like of int, default=(256,)
        Number of units in each hidden layer, from the data upwards.
    visible_unit : {"bernoulli", "gaussian"}, default="bernoulli"
        Type of the input units. ``"bernoulli"`` models data in [0, 1] (use
        ``MinMaxScaler(clip=True)``): ``fit`` warns about values outside it
        and refuses raw counts or 0-255 pixels; prediction computes any
        finite values. ``"gaussian"`` models standardised real values (use
        ``StandardScaler``).
    hidden_unit : {"bernoulli", "gaussian", "relu"} or sequence, default="bernoulli"
        Type of the hidden units, for all layers or one per layer. A layer
        above Bernoulli units treats its input as Bernoulli, above Gaussian or
        rectified units as Gaussian.
    pretrain_epochs : "auto", int or sequence, default="auto"
        Epochs of contrastive divergence for each RBM, for all layers or one
        per layer; 0 skips pretraining and starts the layer as
        ``MLPClassifier`` would (Glorot). ``"auto"`` runs enough epochs for
        at least 1000 CD updates per layer, and never fewer than 10: on
        small data a few epochs make too few updates to move the weights
        from their small random start, and the layer passes almost nothing
        on (fit warns when a layer made fewer than 100 updates).
    pretrain_learning_rate : "auto", float or sequence, default="auto"
        CD learning rate, for all layers or one per layer. ``"auto"`` takes
        0.1 for Bernoulli-Bernoulli layers, 0.01 for a Gaussian visible layer
        and 0.001 below Gaussian or rectified hidden units (Hinton's
        practical guide), divided by the layer's input's mean square where
        that exceeds 1.
    pretraining : {"rbm", "autoencoder"}, default="rbm"
        How each layer is pretrained on the output of the layers below: as an
        RBM by contrastive divergence, or as a one-layer autoencoder (an
        encoder with the layer's hidden units and a decoder with its visible
        units, whose loss is cross-entropy for Bernoulli and squared error
        for Gaussian units; the decoder is then dropped and the encoder
        kept), trained by Adam at ``learning_rate_init`` for
        ``pretrain_epochs`` epochs. The decoder's weights are the encoder's,
        transposed, so the layer has an RBM's parameters and everything
        after pretraining (head, fine-tuning, the autoencoder's ``W.T``
        unrolling) is the same for both; ``pretrain_learning_rate``,
        ``pretrain_weight_decay``, ``n_gibbs_steps``, ``persistent`` and the
        sparsity penalty apply to RBMs only.
    pretrain_noise : float, default=0.0
        With ``pretraining="autoencoder"``, the probability of masking each
        input value to 0 during pretraining (a denoising autoencoder; the
        targets stay clean).
    pretrain_weight_decay : float, default=2e-4
        L2 penalty on the RBM weights during pretraining.
    sparsity_target : float or sequence, default=0.1
        Mean activation the sparsity penalty pulls each pretrained hidden
        unit towards, for all layers or one per layer (see ``RBM``).
    sparsity_cost : float or sequence, default=0.0
        Weight of the sparsity penalty during pretraining, for all layers or
        one per layer; 0 turns it off. A single value applies to the layers
        of Bernoulli hidden units only.
    n_gibbs_steps : int, default=1
        Gibbs steps per CD update (the k of CD-k).
    persistent : bool, default=False
        Pretrain with persistent contrastive divergence.
    batch_size : "auto" or int, default="auto"
        Mini-batch size for pretraining and backpropagation. ``"auto"`` takes
        ``min(100, max(16, n_samples // 50))``: 100 on large data, smaller
        batches (more updates per epoch) on small data.
    memory : str, joblib.Memory or None, default=None
        Where to keep pretrained layers (a folder, or a ``joblib.Memory``),
        as ``Pipeline(memory=...)`` keeps fitted transformers. Each greedy
        layer is stored under what decides it (the training rows, its own
        settings and seed and those of every layer below, the dtype) and
        loaded instead of retrained when a fit needs the same layer: the
        candidates of a grid search that share their lower layers, or
        differ only in the head or fine-tuning, pretrain them once. The
        model is the same as without it (bit for bit on a fixed number of
        BLAS threads); with ``verbose`` a layer loaded says so. NumPy and
        sparse input only; ``partial_fit`` streams without it."""

COMMON_PARAMS_DOC = """dtype : {"float32", "float64"}, default="float32"
        Precision of the weights and of all computation. Input of either
        precision is accepted; outputs have this dtype.
    random_state : int, RandomState instance or None, default=None
        Controls initialisation, shuffling, sampling, dropout and the
        validation split. Pass an int for reproducible results (bit-identical
        for a given number of BLAS threads).
    verbose : int, default=0
        Print progress when positive; 2 also prints each RBM epoch."""

LEARNING_RATE_PARAM_DOC = (
    'learning_rate : {"constant", "cosine", "adaptive"}, default="constant"\n'
    """        Schedule of the step size over the fine-tuning epochs of the
        ``"adam"`` and ``"sgd"`` solvers. ``"constant"`` keeps
        ``learning_rate_init``; ``"cosine"`` lowers it along half a cosine
        period from ``learning_rate_init`` towards zero over ``max_iter``
        epochs (``partial_fit`` calls count as epochs, and later ones keep
        the last step); ``"adaptive"`` keeps it until the loss (or the
        validation score) has not improved for ``n_iter_no_change`` epochs,
        then divides it by 5 instead of stopping, and stops once it falls to
        1e-6, as ``MLPClassifier(learning_rate="adaptive")`` does."""
)

FINE_TUNING_PARAMS_DOC = """solver : {"adam", "sgd", "lbfgs"}, default="adam"
        Optimiser for fine-tuning: Adam, mini-batch SGD with classical
        momentum, or full-batch L-BFGS (then ``max_iter`` counts L-BFGS
        iterations, and neither dropout, early stopping nor ``partial_fit``
        apply).
    learning_rate_init : float, default=0.001
        Step size of the optimiser.
%(learning_rate)s
    momentum : float, default=0.9
        Momentum of the SGD solver.
    alpha : float, default=1e-4
        L2 penalty on the weights during fine-tuning, scaled as in
        ``MLPClassifier``: ``alpha / (2 * n) * ||W||^2`` beside the mean loss,
        ``n`` the rows of a mini-batch for ``"adam"`` and ``"sgd"``, of the
        whole data for ``"lbfgs"`` (with ``sample_weight``, the weights'
        sum: integer weights then train as repeated rows).
    head_alpha : float, default=1.0
        L2 penalty of the head trained on the frozen pretrained features:
        ``head_alpha / (2 * n) * ||W||^2`` beside the mean loss, ``n`` the
        training rows (or the weights' sum), so that a head without hidden
        layers solves the problem of ``LogisticRegression(C=1 /
        head_alpha)``, whose default strength it takes. It depends on the
        data only through ``n``, so integer weights equal repeated rows. The
        default was chosen by measurement on digits, breast cancer and
        Fashion-MNIST (``benchmarks/bench_head_alpha.py``); lower it for
        weak features (a short pretraining), which a strong penalty leaves
        underfitted.
    dropout : float, default=0.0
        Probability of dropping each hidden unit during fine-tuning.
    head_hidden_layer_sizes : array-like of int, default=()
        Hidden layers of the supervised head, between the pretrained stack
        and the output layer: rectified linear units, Glorot-initialised, as
        in ``MLPClassifier``. The head is trained on the frozen pretrained
        features, then fine-tuning trains everything.
    head_max_iter : int, default=100
        Training of the head alone on the frozen pretrained features, before
        fine-tuning: L-BFGS iterations for a head without hidden layers
        (a convex problem), epochs of Adam with ``learning_rate_init`` for
        one with hidden layers (stopping early on a stall, as set by
        ``tol`` and ``n_iter_no_change``); 0 leaves the head at its random
        initialisation.
    fine_tune : bool, default=True
        Fine-tune every layer with backpropagation after the head is trained.
        With False the pretrained layers stay frozen: ``fit`` stops after
        the head, and ``partial_fit`` and warm starts train the head alone.
    max_iter : int, default=100
        Maximum number of fine-tuning epochs.
    tol : float, default=1e-4
        Improvement of the loss (or validation score) below which an epoch
        counts as no improvement.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data, stop when the
        validation score stops improving and keep the best weights.
    scoring : str, callable or None, default=None
        The validation score early stopping watches: None for accuracy
        (classifier) or R² (regressor), as ``MLPClassifier`` and
        ``MLPRegressor`` use; otherwise a scorer name or a callable
        ``scorer(estimator, X, y)`` (see :func:`sklearn.metrics.get_scorer`),
        higher being better.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    n_iter_no_change : int, default=10
        Epochs without improvement tolerated before stopping.
    warm_start : bool, default=False
        When the model is already fitted, ``fit`` skips pretraining and the
        head and continues fine-tuning from the current weights."""

AUTOENCODER_PARAMS_DOC = """fine_tune : bool, default=False
        ``False`` keeps the pretrained stack as it is (cheap). With ``True``
        the stack becomes a deep autoencoder: unrolled into an encoder and a
        decoder initialised with the transposed weights, untied, and
        fine-tuned end to end on reconstruction (cross-entropy for Bernoulli
        inputs, squared error for Gaussian ones).
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        Optimiser for autoencoder fine-tuning; ``"lbfgs"`` works on the whole
        data at once, as the conjugate gradients of Hinton & Salakhutdinov
        (2006) did, and then ``max_iter`` counts its iterations.
    learning_rate_init : float, default=0.001
        Step size of the optimiser.
%(learning_rate)s
    momentum : float, default=0.9
        Momentum of the SGD solver.
    alpha : float, default=0.0
        L2 penalty on the weights during fine-tuning.
    max_iter : int, default=50
        Maximum number of fine-tuning epochs.
    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when the
        validation reconstruction error stops falling and keep the best
        weights.
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping.
    n_iter_no_change : int, default=10
        Epochs without improvement tolerated before stopping."""

SUPERVISED_ATTRIBUTES_DOC = """coefs_ : list of ndarray
        Weight matrices of the network, ``coefs_[i]`` of shape
        ``(fan_in, fan_out)``, the output layer last.
    intercepts_ : list of ndarray
        Bias vectors of the network.
    pretraining_curves_ : list of list of float
        Per layer, the reconstruction error of each pretraining epoch: the
        squared error of the one-step reconstruction for RBMs, the
        autoencoder's loss with ``pretraining="autoencoder"``.
    head_loss_ : float
        Training loss of the head fitted on the frozen features.
    n_head_iter_ : int
        L-BFGS iterations (a head without hidden layers) or Adam epochs (a
        head with hidden layers) used for the head.
    loss_curve_ : list of float
        Training loss of each fine-tuning epoch.
    validation_scores_ : list of float or None
        Validation score of each fine-tuning epoch when ``early_stopping``.
    best_loss_ : float
        Lowest training loss reached (the head's when not fine-tuned).
    best_validation_score_ : float or None
        Best validation score when ``early_stopping``, the frozen head's
        included.
    history_ : list of dict
        One record per epoch of every training stage, written as training
        goes (an interrupted fit keeps it; ``partial_fit`` and warm starts
        add to it): ``stage``, ``layer`` (from 1, pretraining only),
        ``epoch``, ``loss``, ``validation_score`` (None without one),
        ``learning_rate`` and ``seconds``. Epochs are numbered from 1 per
        stage and layer, and on across the ``partial_fit`` calls and warm starts that
        add to the history (the third ``partial_fit`` call records epoch 3);
        a fit that starts afresh starts a new history.
        ``pandas.DataFrame(history_)`` makes it a table.
    n_iter_ : int
        Number of fine-tuning epochs run.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when they are all strings."""


def fill_doc(cls):
    """Insert the shared parameter text into a class docstring."""
    if cls.__doc__ is None:  # python -OO strips docstrings
        return cls
    shared = {"learning_rate": "    " + LEARNING_RATE_PARAM_DOC}
    cls.__doc__ = cls.__doc__ % {
        "pretraining_params": PRETRAINING_PARAMS_DOC,
        "common_params": COMMON_PARAMS_DOC,
        "fine_tuning_params": FINE_TUNING_PARAMS_DOC % shared,
        "supervised_attributes": SUPERVISED_ATTRIBUTES_DOC,
        "autoencoder_params": AUTOENCODER_PARAMS_DOC % shared,
    }
    return cls


def _per_layer_option(*scalar_constraints):
    return [*scalar_constraints, "array-like"]


PRETRAINING_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "visible_unit": [StrOptions(set(VISIBLE_UNITS))],
    "hidden_unit": _per_layer_option(StrOptions(set(HIDDEN_UNITS))),
    "pretrain_epochs": _per_layer_option(
        StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")
    ),
    "pretrain_learning_rate": _per_layer_option(
        StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")
    ),
    "pretraining": [StrOptions({"rbm", "autoencoder"})],
    "pretrain_noise": [Interval(Real, 0, 1, closed="left")],
    "pretrain_weight_decay": [Interval(Real, 0, None, closed="left")],
    "sparsity_target": _per_layer_option(
        *RBM._parameter_constraints["sparsity_target"]
    ),
    "sparsity_cost": _per_layer_option(*RBM._parameter_constraints["sparsity_cost"]),
    "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
    "persistent": ["boolean"],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "memory": [None, str, HasMethods(["cache"])],
    "dtype": [StrOptions(set(DTYPES))],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}

FINE_TUNING_CONSTRAINTS = {
    "solver": [StrOptions({"adam", "sgd", "lbfgs"})],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "learning_rate": [StrOptions(set(LEARNING_RATE_SCHEDULES))],
    "momentum": [Interval(Real, 0, 1, closed="both")],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "head_alpha": [Interval(Real, 0, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "head_hidden_layer_sizes": ["array-like"],
    "head_max_iter": [Interval(Integral, 0, None, closed="left")],
    "fine_tune": ["boolean"],
    "max_iter": [Interval(Integral, 0, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "warm_start": ["boolean"],
    "scoring": [None, str, callable],
}


def _positive_sizes(value, name, allow_empty=False):
    """A list of layer sizes from ``value``, checked: positive ints."""
    sizes = np.atleast_1d(np.asarray(value))
    if sizes.ndim != 1 or (sizes.size == 0 and not allow_empty):
        raise ValueError(
            f"{name} must be a non-empty sequence of positive ints, got {value!r}."
        )
    if sizes.size and (not np.issubdtype(sizes.dtype, np.integer) or np.any(sizes < 1)):
        raise ValueError(f"{name} must hold positive ints, got {value!r}.")
    return [int(s) for s in sizes]


def _as_plain(value):
    if isinstance(value, str):
        return value
    return [_as_plain(v) for v in value] if np.ndim(value) else value


class BaseDBN(BaseEstimator):
    """Pretraining shared by every DBN estimator."""

    def _layer_sizes(self):
        return _positive_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")

    def _batch_size(self, n_samples):
        """The mini-batch size for data of ``n_samples`` rows."""
        if self.batch_size == "auto":
            return auto_batch_size(n_samples)
        return self.batch_size

    def _plan_stack(self, rng, n_samples, hidden_unit=None):
        """Each layer's plan (:func:`skdbn._stack.plan_stack`) for ``n_samples``."""
        return plan_stack(
            self._layer_sizes(),
            n_samples=n_samples,
            visible_unit=self.visible_unit,
            hidden_unit=self.hidden_unit if hidden_unit is None else hidden_unit,
            learning_rate=self.pretrain_learning_rate,
            epochs=self.pretrain_epochs,
            batch_size=self._batch_size(n_samples),
            n_gibbs_steps=self.n_gibbs_steps,
            persistent=self.persistent,
            weight_decay=self.pretrain_weight_decay,
            sparsity_target=self.sparsity_target,
            sparsity_cost=self.sparsity_cost,
            rng=rng,
        )

    def _check_pretraining_options(self):
        """Refuse options that the chosen pretraining would silently ignore."""
        if self.pretraining == "rbm" and self.pretrain_noise:
            raise ValueError(
                "pretrain_noise corrupts the inputs of autoencoder pretraining; "
                "with pretraining='rbm' set it to 0, or use "
                "pretraining='autoencoder'."
            )
        if self.pretraining == "autoencoder":
            rbm_only = {
                "sparsity_cost": ("0", np.any(np.asarray(self.sparsity_cost) > 0)),
                "persistent": ("False", self.persistent),
                "n_gibbs_steps": ("1", self.n_gibbs_steps != 1),
                # (Adam at learning_rate_init trains an autoencoder layer.)
                "pretrain_learning_rate": (
                    "'auto'",
                    not isinstance(self.pretrain_learning_rate, str)
                    or self.pretrain_learning_rate != "auto",
                ),
            }
            for name, (neutral, is_set) in rbm_only.items():
                if is_set:
                    raise ValueError(
                        f"{name} applies to RBM pretraining; with "
                        f"pretraining='autoencoder' set it to {neutral}."
                    )

    def _check_fine_tuning_options(self):
        """Refuse fine-tuning options that the chosen solver would ignore."""
        if self.solver == "lbfgs":
            fixes = {
                "early_stopping": (self.early_stopping, "early_stopping=False"),
                "dropout": (getattr(self, "dropout", 0.0), "dropout=0"),
                "learning_rate": (
                    self.learning_rate != "constant",
                    "learning_rate='constant'",
                ),
            }
            needed = {name: fix for name, (is_set, fix) in fixes.items() if is_set}
            if needed:
                raise ValueError(
                    "solver='lbfgs' fits on the whole data at once, without "
                    f"epochs, so {', '.join(needed)} cannot take effect: set "
                    f"{' and '.join(needed.values())}, or use solver='adam'."
                )
        if getattr(self, "scoring", None) is not None and not self.early_stopping:
            raise ValueError(
                f"scoring={self.scoring!r} is the score early stopping watches; "
                "set early_stopping=True, or leave scoring=None."
            )

    def _memory(self, X):
        """The ``joblib.Memory`` to keep layers in, or None."""
        if self.memory is None:
            return None
        if not isinstance(X, np.ndarray) and not sp.issparse(X):
            raise ValueError(
                "memory keeps pretrained layers for NumPy and sparse input; "
                f"this fit's input is {type(X).__name__}. Set memory=None, or "
                "fit on NumPy arrays."
            )
        return check_memory(self.memory)

    def _check_incremental_solver(self):
        """Refuse ``partial_fit`` of a network that L-BFGS would fine-tune."""
        if self.solver == "lbfgs":
            raise ValueError(
                "partial_fit needs a mini-batch solver; use solver='adam' or "
                "'sgd' (L-BFGS works on the whole data at once)."
            )

    def _check_sparsity_options(self):
        """Refuse a sparsity target that no sparsity cost makes act."""
        target_set = np.any(np.asarray(self.sparsity_target, dtype=float) != 0.1)
        if target_set and not np.any(np.asarray(self.sparsity_cost) > 0):
            raise ValueError(
                "sparsity_target is the mean activation the sparsity penalty "
                "pulls towards, but sparsity_cost=0 turns the penalty off; set "
                "sparsity_cost > 0 (0.1 is a common start), or leave "
                "sparsity_target at 0.1."
            )

    def _pretrain(self, X, rng, task, rows=None):
        """Fit a new stack on ``X`` (or its rows ``rows``) greedily; its layers.

        The stack is the ``"pretraining"`` stage of ``task``, the fit's.
        """
        self._check_pretraining_options()
        self._check_sparsity_options()
        plans = self._plan_stack(rng, count_rows(X, rows))
        autoencoder = None
        if self.pretraining == "autoencoder":
            autoencoder = {
                "learning_rate": self.learning_rate_init,
                "noise": self.pretrain_noise,
            }
        stage = task.subtask("pretraining", n_subtasks=len(plans))
        layers = pretrain_greedy(
            plans,
            X,
            stage,
            dtype=self.dtype,
            verbose=self.verbose,
            rows=rows,
            autoencoder=autoencoder,
            memory=self._memory(X),
        )
        stage.end()
        return layers

    def _fitted_copy(self):
        """The attributes a copy needs to predict as this model does now."""
        return {
            "coefs_": [backend_of(c).copy(c) for c in self.coefs_],
            "intercepts_": [backend_of(b).copy(b) for b in self.intercepts_],
        }

    def _fitted_array(self):
        """A fitted weight array: where the model computes."""
        return self.coefs_[0]

    def _training_state(self, net, scope, *, fresh):
        """The fine-tuning state: the last call's carried over, or a new one."""
        return continue_or_start(
            getattr(self, "_fine_tuning_state", None),
            fresh=fresh,
            scope=scope,
            solver=self.solver,
            params=net.params,
            learning_rate_init=self.learning_rate_init,
            momentum=self.momentum,
            schedule=self.learning_rate,
            horizon=self.max_iter,
        )

    def _validation_rows(self, n_samples, stratify=None):
        """Sorted training rows and the held-out rows of an early-stopping split."""
        self._check_validation_split(n_samples, stratify)
        train_rows, val_rows = train_test_split(
            np.arange(n_samples),
            test_size=self.validation_fraction,
            random_state=child_seed(self._rng),
            stratify=stratify,
        )
        train_rows.sort()  # gathering batches then walks memory forwards
        return train_rows, val_rows

    def _check_validation_split(self, n_samples, stratify):
        n_val = int(np.ceil(self.validation_fraction * n_samples))
        needed = 2
        if stratify is not None:
            classes, counts = np.unique(stratify, return_counts=True)
            needed = max(needed, len(classes))
            if counts.min() < 2:
                raise ValueError(
                    "early_stopping holds out a validation split stratified by "
                    "class, which needs at least 2 rows of every class, but "
                    f"class {classes[np.argmin(counts)].tolist()!r} has 1. Set "
                    "early_stopping=False, or give more rows of that class."
                )
        if n_val < needed or n_samples - n_val < needed:
            raise ValueError(
                f"early_stopping holds out validation_fraction="
                f"{self.validation_fraction} of the {n_samples} samples, "
                f"{n_val} rows, but needs at least {needed} rows on each side "
                "(one per class for a classifier). With this little data, "
                "set early_stopping=False and choose max_iter by "
                "cross-validation, or raise validation_fraction."
            )

    def _structure(self):
        """The parameters that fix the shape and arithmetic of the network."""
        return {
            "pretraining": self.pretraining,
            "hidden_layer_sizes": self._layer_sizes(),
            "visible_unit": self.visible_unit,
            "hidden_unit": self.hidden_unit,
            "dtype": self.dtype,
        }

    def _record_structure(self):
        self._fitted_structure = {
            name: _as_plain(value) for name, value in self._structure().items()
        }

    def _check_structure_unchanged(self, method):
        """Refuse to continue training after a structural ``set_params``."""
        fitted = self._fitted_structure
        changed = [
            f"{name}={value!r} (fitted with {fitted[name]!r})"
            for name, value in self._structure().items()
            if _as_plain(value) != _as_plain(fitted[name])
        ]
        if changed:
            raise ValueError(
                f"{method} continues training the fitted network, whose "
                "structure these parameters no longer match: "
                + ", ".join(changed)
                + ". Call fit (without warm_start) to train a new network, "
                "or set them back."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True
        return tags
