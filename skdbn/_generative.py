"""The generative DBN of Hinton, Osindero & Teh (2006) as a classifier."""

from __future__ import annotations

import copy
import warnings
from numbers import Integral, Number, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._backend import backend_of, dtype_name
from ._base import PRETRAINING_CONSTRAINTS, BaseDBN
from ._layer import new_layer, params, train_cd, units
from ._network import Network, predict
from ._progress import CallbackSupportMixin, Task, with_callbacks
from ._rbm import RBM
from ._stack import auto_pretrain_epochs, plan_stack, pretrain_greedy
from ._threads import stage_threads
from ._training import COLLAPSE_MARGIN, epoch_loop
from ._typing import Array, ArrayLike, MatrixLike, RandomStateLike
from ._units import get_unit, label_joined_unit
from ._updown import (
    TopRBM,
    dream,
    label_log_odds,
    recognition_network,
    up_down_step,
)
from ._utils import (
    AtomicFitTransformMixin,
    labels_at,
    load_batch,
    make_generator,
    minibatches,
    restore_on_error,
    take_rows,
    to_host,
)
from ._validation import (
    DTYPES,
    check_classes,
    check_finite_output,
    check_finite_samples,
    check_sampling_params,
    input_backend,
    one_hot,
    validate_visible_data,
    warn,
)

# Every hidden layer of the generative model is binary: its top RBM's label
# probabilities come from the Bernoulli units' free energy, and the up-down
# algorithm samples binary states.
HIDDEN_UNIT = "bernoulli"
# pretrain_epochs="auto" trains the top RBM, which learns the labels jointly
# with the features, this many times as long as the layers below. On 20000
# Fashion-MNIST images (network (500, 500, 2000), 10 epochs below), 30
# epochs instead of 10 raised test accuracy from 0.815 to 0.835 after 10
# up-down epochs, and the share of class-conditional samples that a
# logistic regression recognised from 0.25 to 0.54; 60 changed neither.
TOP_EPOCHS_FACTOR = 3


class GenerativeDBNClassifier(
    CallbackSupportMixin,
    ClassNamePrefixFeaturesOutMixin,
    AtomicFitTransformMixin,
    TransformerMixin,
    ClassifierMixin,
    BaseDBN,
):
    """Deep belief net that models images and labels jointly, and dreams.

    The generative model of Hinton, Osindero & Teh (2006). Its top two
    layers are an associative memory: an RBM whose visible layer joins the
    penultimate layer to one-of-K (softmax) label units. Below it, each
    layer has recognition weights (up) and generative weights (down).

    Training has two stages:

    1. greedy pretraining: the lower layers are RBMs trained one at a time
       without labels, as in :class:`DBNTransformer`, and the top RBM learns
       the labels joined to the penultimate layer's activations;
    2. the up-down algorithm (contrastive wake-sleep) unties the recognition
       and generative weights and fine-tunes them with the top RBM for
       ``up_down_epochs`` epochs: a stochastic up pass trains the generative
       weights, a few Gibbs steps train the top RBM, and a stochastic down
       pass trains the recognition weights.

    The model classifies by the top RBM's free energy: a deterministic up
    pass through the recognition weights gives the penultimate layer's
    probabilities, and ``P(label | x)`` is the softmax over labels of minus
    the free energy of those probabilities joined to each label (exact
    within the top RBM). :meth:`sample` generates data of a chosen class:
    the label units are clamped, Gibbs sampling runs in the top RBM, and
    the result passes down through the generative weights.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(256, 512)
        Units in each hidden layer, from the data upwards; the last is the
        top RBM's hidden layer, and the one before it (the data, for a
        single layer) is joined to the labels. Every hidden unit is a
        Bernoulli unit.
    visible_unit : {"bernoulli", "gaussian"}, default="bernoulli"
        Type of the input units, as in :class:`DBNClassifier`.
    pretrain_epochs : "auto", int or sequence, default="auto"
        Contrastive-divergence epochs for each RBM, the top one included,
        for all layers or one per layer. ``"auto"`` gives the layers below
        the top what :class:`DBNClassifier` gives its layers (at least 1000
        CD updates, never fewer than 10 epochs) and the top RBM, which must
        learn the labels jointly with the features, three times as many.
    pretrain_learning_rate : "auto", float or sequence, default="auto"
        CD learning rate, for all layers or one per layer, as in
        :class:`DBNClassifier`.
    pretrain_weight_decay : float, default=2e-4
        L2 penalty on the RBM weights during pretraining and on the top
        RBM's weights during up-down fine-tuning.
    n_gibbs_steps : int, default=1
        Gibbs steps per CD update in pretraining.
    persistent : bool, default=False
        Pretrain with persistent contrastive divergence.
    batch_size : "auto" or int, default="auto"
        Mini-batch size of both stages; ``"auto"`` as in
        :class:`DBNClassifier`.
    up_down_epochs : int, default=30
        Epochs of the up-down algorithm; 0 keeps the greedily pretrained
        model (tied weights).
    up_down_learning_rate : float, default=0.01
        Step of every up-down update, per row of a batch.
    up_down_gibbs_steps : int or sequence of int, default=3
        Gibbs steps in the top RBM per up-down update. A sequence is a
        schedule: the ``up_down_epochs`` of each call to ``fit`` are split
        into that many consecutive parts, one count each, whose lengths
        differ by at most one epoch. The paper trained
        300 epochs with ``(3, 6, 10)``: CD-3, then CD-6, then CD-10, each
        for 100 epochs (see the user guide's recipe).
    warm_start : bool, default=False
        When the model is already fitted, ``fit`` skips pretraining and runs
        ``up_down_epochs`` more epochs of up-down fine-tuning from the
        current weights (the labels must be among ``classes_``).
    dtype : {"float32", "float64"}, default="float32"
        Precision of the weights and of all computation.
    random_state : int, RandomState instance or None, default=None
        Controls initialisation, shuffling and sampling. Pass an int for
        reproducible results (bit-identical for a given number of BLAS
        threads).
    verbose : int, default=0
        Print progress when positive; 2 also prints each RBM epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    recognition_coefs_ : list of ndarray
        Bottom-up weights of the layers below the top RBM, ``[i]`` of shape
        ``(fan_in, fan_out)``.
    recognition_intercepts_ : list of ndarray
        Their biases (the hidden biases of the pretrained RBMs at first).
    generative_coefs_ : list of ndarray
        Top-down weights of the same layers, ``[i]`` of shape ``(fan_out,
        fan_in)``; after greedy pretraining, the recognition weights
        transposed.
    generative_intercepts_ : list of ndarray
        Their biases (the visible biases of the pretrained RBMs at first).
    top_rbm_ : RBM
        The associative memory. Its visible layer is the labels (the first
        ``n_classes`` columns of ``components_``) followed by the penultimate
        layer. A copy of the layer the model holds, made at each access
        (training or changing it leaves the model as it is).
    pretraining_curves_ : list of list of float
        Per RBM, the lower ones first, the reconstruction error of each
        pretraining epoch.
    up_down_curve_ : list of float
        Per up-down epoch, the mean over rows of the squared error of the
        data predicted by the generative weights from the wake states of the
        layer above (of the top RBM's reconstruction with a single layer).
    history_ : list of dict
        One record per epoch of every training stage, written as training
        goes (an interrupted fit keeps it; ``partial_fit`` and warm starts
        add to it): ``stage``, ``layer`` (from 1, pretraining only),
        ``epoch``, ``loss``, ``validation_score`` (None without one),
        ``learning_rate`` and ``seconds``. Epochs are numbered from 1 per
        stage and layer, and on across the warm starts that add to the
        history (a warm start after a fit of 30 up-down epochs records up-down
        epochs 31 to 60); a fit that starts afresh starts a new history.
        ``pandas.DataFrame(history_)`` makes it a table.
    n_iter_ : int
        Up-down epochs run, over every ``fit`` since the last pretraining.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when they are all strings.

    See Also
    --------
    DBNClassifier : The discriminative DBN, fine-tuned by backpropagation
        (more accurate; it does not generate).
    RBM : One layer.

    References
    ----------
    G. E. Hinton, S. Osindero and Y.-W. Teh, "A fast learning algorithm for
    deep belief nets", Neural Computation 18, 2006. With 784-500-500-2000
    units on MNIST the paper reports 1.25% test error after up-down
    fine-tuning.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from skdbn import GenerativeDBNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X / 16, y, random_state=0)
    >>> dbn = GenerativeDBNClassifier(random_state=0).fit(X_train, y_train)
    >>> dbn.score(X_test, y_test) > 0.9
    True
    >>> images, labels = dbn.sample(3, y=7, random_state=0)
    >>> images.shape, labels.tolist()
    ((3, 64), [7, 7, 7])
    """

    _parameter_constraints = {
        name: PRETRAINING_CONSTRAINTS[name]
        for name in (
            "hidden_layer_sizes",
            "visible_unit",
            "pretrain_epochs",
            "pretrain_learning_rate",
            "pretrain_weight_decay",
            "n_gibbs_steps",
            "persistent",
            "batch_size",
            "dtype",
            "random_state",
            "verbose",
        )
    } | {
        "up_down_epochs": [Interval(Integral, 0, None, closed="left")],
        "up_down_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "up_down_gibbs_steps": [
            Interval(Integral, 1, None, closed="left"),
            "array-like",
        ],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 512),
        *,
        visible_unit="bernoulli",
        pretrain_epochs="auto",
        pretrain_learning_rate="auto",
        pretrain_weight_decay=2e-4,
        n_gibbs_steps=1,
        persistent=False,
        batch_size="auto",
        up_down_epochs=30,
        up_down_learning_rate=0.01,
        up_down_gibbs_steps=3,
        warm_start=False,
        memory=None,
        dtype="float32",
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible_unit = visible_unit
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_learning_rate = pretrain_learning_rate
        self.pretrain_weight_decay = pretrain_weight_decay
        self.n_gibbs_steps = n_gibbs_steps
        self.persistent = persistent
        self.batch_size = batch_size
        self.up_down_epochs = up_down_epochs
        self.up_down_learning_rate = up_down_learning_rate
        self.up_down_gibbs_steps = up_down_gibbs_steps
        self.warm_start = warm_start
        self.memory = memory
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    # -- fitting ------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    @with_callbacks
    @restore_on_error
    def fit(self, X: MatrixLike, y: ArrayLike) -> GenerativeDBNClassifier:
        """Pretrain greedily, then fine-tune with the up-down algorithm.

        Ctrl-C ends the current stage with a warning (pretraining goes on
        to up-down fine-tuning, which then stops at once on another press);
        the model stays consistent. An error leaves the estimator as it was
        before the call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Labels.

        Returns
        -------
        self : GenerativeDBNClassifier
            The fitted model.
        """
        gibbs_schedule = _gibbs_schedule(self.up_down_gibbs_steps, self.up_down_epochs)
        warm = self.warm_start and hasattr(self, "_top_layer")
        if warm:
            self._check_structure_unchanged("fit with warm_start=True")
        X, y = validate_visible_data(self, X, y, reset=not warm, fitting=True)
        if not warm:
            self.classes_ = check_classes(y, type(self).__name__)
        backend = input_backend(X)
        Y = backend.asarray(one_hot(y, to_host(self.classes_), DTYPES[self.dtype]))
        if not warm and np.issubdtype(self.classes_.dtype, np.number):
            # Numeric labels live with the model (predict gathers them there).
            self.classes_ = backend.asarray(self.classes_)
        task = Task.start_fit(
            self,
            X,
            y,
            n_subtasks=1 if warm else 2,
            verbose=self.verbose,
            keep_history=warm,
        )
        if not warm:
            self._rng = make_generator(self.random_state)
            self._record_structure()
            self._pretrain_greedily(X, Y, task)
            self.up_down_curve_ = []
            self.n_iter_ = 0
            collapsed = self._warn_if_worse_than_prior(
                X, Y, "Greedy pretraining", "pretrain_learning_rate"
            )
        else:
            collapsed = False
        self._up_down(X, Y, gibbs_schedule, task, lambda: (X, y))
        if self.up_down_epochs and not collapsed:
            # (A collapse of the greedy stage is the cause to name.)
            self._warn_if_worse_than_prior(
                X, Y, "Up-down fine-tuning", "up_down_learning_rate"
            )
        task.end()
        return self

    def _structure(self):
        return {
            "hidden_layer_sizes": self._layer_sizes(),
            "visible_unit": self.visible_unit,
            "dtype": self.dtype,
        }

    def _pretrain_greedily(self, X, Y, task):
        """Stage 1: the lower RBMs on ``X``, the top RBM on labels and features."""
        sizes, batch_size = self._layer_sizes(), self._batch_size(X.shape[0])
        epochs = self.pretrain_epochs
        if epochs == "auto":
            auto = auto_pretrain_epochs(X.shape[0], batch_size)
            epochs = [auto] * (len(sizes) - 1) + [TOP_EPOCHS_FACTOR * auto]
        plans = plan_stack(
            sizes,
            n_samples=X.shape[0],
            visible_unit=self.visible_unit,
            hidden_unit=HIDDEN_UNIT,
            learning_rate=self.pretrain_learning_rate,
            epochs=epochs,
            batch_size=batch_size,
            n_gibbs_steps=self.n_gibbs_steps,
            persistent=self.persistent,
            weight_decay=self.pretrain_weight_decay,
            rng=self._rng,
        )
        lower, top = plans[:-1], plans[-1]
        self._units = [self.visible_unit] + [HIDDEN_UNIT] * len(lower)
        stage = task.subtask("pretraining", n_subtasks=len(plans))
        layers = []
        if lower:
            layers = pretrain_greedy(
                lower,
                X,
                stage,
                dtype=self.dtype,
                verbose=self.verbose,
                memory=self._memory(X),
            )
        backend = backend_of(Y)
        self.recognition_coefs_ = [backend.copy(layer["W"].T) for layer in layers]
        self.recognition_intercepts_ = [backend.copy(layer["b_h"]) for layer in layers]
        self.generative_coefs_ = [backend.copy(layer["W"]) for layer in layers]
        self.generative_intercepts_ = [backend.copy(layer["b_v"]) for layer in layers]
        joined = backend.xp.concat([Y, self._penultimate(X)], axis=1)
        top_task = stage.subtask(
            n_subtasks=top.epochs, layer=len(plans), verbose=max(0, self.verbose - 1)
        )
        # By name: the top RBM's fitted state stays plain data (see get_unit).
        self._top_layer = new_layer(
            joined,
            top.n_hidden,
            top.settings,
            visible=label_joined_unit(self.classes_.shape[0], top.visible),
            hidden=top.hidden,
            dtype=self.dtype,
            rng=make_generator(top.seed, backend_of(joined)),
        )
        train_cd(self._top_layer, joined, top.epochs, top.settings, top_task)
        top_task.end()
        stage.end()
        self.pretraining_curves_ = [
            list(layer["curve"]) for layer in [*layers, self._top_layer]
        ]
        if self.verbose:
            curve = self._top_layer["curve"]
            n_hidden, n_visible = self._top_layer["W"].shape
            error = f"reconstruction error {curve[-1]:.4f}" if curve else "untrained"
            print(f"[pretraining] top RBM ({n_visible}->{n_hidden}), {error}")

    @property
    def top_rbm_(self):
        if not hasattr(self, "_top_layer"):
            raise AttributeError(
                "'GenerativeDBNClassifier' object has no attribute 'top_rbm_'"
            )
        return RBM._view(self._top_layer)

    def _up_down(self, X, Y, gibbs_schedule, task, scoring_data):
        """Stage 2: more epochs of the up-down algorithm, one per entry of
        ``gibbs_schedule`` (its Gibbs steps)."""
        n_epochs = len(gibbs_schedule)
        stage = task.subtask("up-down", n_subtasks=n_epochs)
        stage.scoring_data = scoring_data
        stage.fitted_attributes = self._fitted_copy
        if n_epochs == 0:
            stage.end()
            return
        n_samples = X.shape[0]
        batch_size = min(self._batch_size(n_samples), n_samples)
        top = TopRBM(
            *params(self._top_layer),
            visible_unit=self._top_layer["visible"],
            hidden_unit=self._top_layer["hidden"],
            batch_size=batch_size,
            momentum=0.0,
            weight_decay=self.pretrain_weight_decay,
        )
        recognition = list(zip(self.recognition_coefs_, self.recognition_intercepts_))
        generative = list(zip(self.generative_coefs_, self.generative_intercepts_))
        backend = backend_of(Y)
        buffer = backend.empty((batch_size, X.shape[1]), Y.dtype)
        labels = backend.empty((batch_size, Y.shape[1]), Y.dtype)
        self._rng = backend.adopt_rng(self._rng)

        epochs_run = [0]

        def run_epoch():
            n_gibbs_steps = gibbs_schedule[epochs_run[0]]
            total = 0.0
            try:
                for batch in minibatches(
                    n_samples, batch_size, self._rng, backend=backend
                ):
                    n_rows = batch.shape[0]
                    V = load_batch(X, batch, buffer[:n_rows, ...])
                    total += up_down_step(
                        V,
                        backend.take(Y, batch, labels[:n_rows, ...]),
                        recognition,
                        generative,
                        self._units,
                        top,
                        learning_rate=self.up_down_learning_rate,
                        n_gibbs_steps=n_gibbs_steps,
                        rng=self._rng,
                    )
            finally:
                top.unpack()
            return total / n_samples

        def after_epoch(error):
            self.up_down_curve_.append(error)
            self.n_iter_ += 1
            epochs_run[0] += 1
            return {"learning_rate": self.up_down_learning_rate}

        epoch_loop(
            run_epoch,
            n_epochs=n_epochs,
            threads=stage_threads(
                batch_size, [*self.generative_coefs_, self._top_layer["W"]]
            ),
            params=self._all_params,
            label="Up-down fine-tuning",
            quantity="up-down reconstruction error",
            learning_rate_name="up_down_learning_rate",
            task=stage,
            after_epoch=after_epoch,
        )
        stage.end()

    def _warn_if_worse_than_prior(self, X, Y, stage, parameter, max_rows=2000):
        """Warn when training left the labels worse predicted than by their prior.

        The reference is the constant prediction of the training rows' class
        frequencies; a model whose training log-loss ends above it (by
        :data:`~skdbn._training.COLLAPSE_MARGIN`) was thrown off by too large
        a step, whose ``parameter`` the warning names. Returns whether it
        warned.
        """
        n_rows = min(max_rows, X.shape[0])
        rows, Y = take_rows(X, 0, n_rows), Y[:n_rows, ...]
        xp = backend_of(Y).xp
        features = xp.astype(self._penultimate(rows), self._top_layer["W"].dtype)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            log_odds = label_log_odds(
                features,
                *params(self._top_layer),
                Y.shape[1],
                self._top_layer["hidden"],
            )
            softmax = get_unit("softmax")
            model_loss = softmax.loss(softmax.activate(log_odds), Y)
        prior_loss = softmax.loss(xp.mean(Y, axis=0)[None, :] + xp.zeros_like(Y), Y)
        if model_loss <= COLLAPSE_MARGIN * prior_loss:
            return False
        warn(
            f"{stage} ended with a training log-loss of {model_loss:.4g}, worse "
            f"than the {prior_loss:.4g} of predicting the class frequencies: the "
            f"model has collapsed. Lower {parameter} (a factor of 10 is a good "
            "first step).",
            UserWarning,
        )
        return True

    def _fitted_copy(self):
        """The attributes a copy needs to predict as this model does now."""
        return {
            "recognition_coefs_": [_copy(W) for W in self.recognition_coefs_],
            "recognition_intercepts_": [_copy(b) for b in self.recognition_intercepts_],
            "_top_layer": copy.deepcopy(self._top_layer),
        }

    def _all_params(self):
        return [
            *self.recognition_coefs_,
            *self.recognition_intercepts_,
            *self.generative_coefs_,
            *self.generative_intercepts_,
            *params(self._top_layer),
        ]

    # -- prediction ---------------------------------------------------------

    def _penultimate(self, X):
        """The recognition up pass's probabilities (the data itself if none)."""
        if not self.recognition_coefs_:
            return X.toarray() if sp.issparse(X) else X
        net = recognition_network(
            list(zip(self.recognition_coefs_, self.recognition_intercepts_)),
            self._units,
        )
        return predict(net, X)

    def _label_log_odds(self, X, method):
        check_is_fitted(self)
        X = validate_visible_data(self, X, reset=False, fitting=False, method=method)
        dtype = self._top_layer["W"].dtype
        features = backend_of(self._top_layer["W"]).xp.astype(
            self._penultimate(X), dtype
        )
        with np.errstate(over="ignore", invalid="ignore"):
            log_odds = label_log_odds(
                features,
                *params(self._top_layer),
                self.classes_.shape[0],
                self._top_layer["hidden"],
            )
        return check_finite_output(log_odds, log_odds.dtype), features

    def predict_proba(self, X: MatrixLike) -> Array:
        """Class probabilities from the top RBM's free energies.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            ``P(label | x)``, columns in the order of ``classes_``.
        """
        log_odds, _ = self._label_log_odds(X, "predict_proba")
        return get_unit("softmax").activate(log_odds)

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
        log_odds, _ = self._label_log_odds(X, "predict_log_proba")
        xp = backend_of(log_odds).xp
        log_odds -= xp.max(log_odds, axis=1, keepdims=True)
        log_odds -= xp.log(xp.sum(xp.exp(log_odds), axis=1, keepdims=True))
        return log_odds

    def predict(self, X: MatrixLike) -> Array:
        """Most probable class of each row (lowest top-RBM free energy).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels.
        """
        log_odds, _ = self._label_log_odds(X, "predict")
        return labels_at(
            self.classes_, backend_of(log_odds).xp.argmax(log_odds, axis=1)
        )

    def transform(self, X: MatrixLike) -> Array:
        """Top-layer hidden probabilities, with the labels at their posterior.

        The recognition up pass gives the penultimate probabilities; joined
        to the label probabilities of :meth:`predict_proba`, they give the
        top RBM's hidden probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        H : ndarray of shape (n_samples, hidden_layer_sizes[-1])
            Top-layer features.
        """
        log_odds, features = self._label_log_odds(X, "transform")
        xp = backend_of(features).xp
        joined = xp.concat([get_unit("softmax").activate(log_odds), features], axis=1)
        W, b_h, _ = params(self._top_layer)
        up = Network([W.T], [b_h], [self._top_layer["hidden"]])
        return check_finite_output(predict(up, joined), W.dtype)

    def sample(
        self,
        n_samples: int = 1,
        *,
        y: ArrayLike | None = None,
        n_gibbs_steps: int = 1000,
        random_state: RandomStateLike = None,
    ) -> Array:
        """Generate data, of chosen classes or of the model's own choosing.

        The top RBM's penultimate units start from a sample of their biases
        and Gibbs sampling runs for ``n_gibbs_steps`` steps, the label units
        clamped to ``y`` (or, with ``y=None``, sampled with the rest, from a
        uniformly drawn start). The last penultimate sample passes down
        through the generative weights, each layer sampled, and the data
        layer's means are returned.

        Parameters
        ----------
        n_samples : int, default=1
            Number of independent chains.
        y : label, array-like of shape (n_samples,) or None, default=None
            The class of each sample, or one class for all. Each label must
            equal an element of ``classes_`` as the classes compare: a
            number for numeric classes (``3`` and ``3.0`` alike), a string
            for string classes; ``"3"`` is not the class ``3``.
        n_gibbs_steps : int, default=1000
            Gibbs steps in the top RBM.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains.

        Returns
        -------
        X : array of shape (n_samples, n_features)
            Generated data: means of the visible units (probabilities in
            [0, 1] for Bernoulli units), in the namespace and on the device
            of the model's arrays (NumPy unless it was fitted under
            ``array_api_dispatch``).
        y : array of shape (n_samples,)
            Their labels: ``y`` as given, or the label units' last state;
            numeric labels live with the model, others in NumPy.
        """
        check_is_fitted(self)
        check_sampling_params(n_samples, n_gibbs_steps)
        W = self._top_layer["W"]
        backend = backend_of(W)
        classes = to_host(self.classes_)
        # (The labels are drawn on the host, the chains on the model's device.)
        host_rng = make_generator(random_state)
        if y is None:
            codes = host_rng.integers(len(classes), size=n_samples)
        else:
            codes = _class_codes(y, classes, n_samples)
        labels = np.zeros((n_samples, len(classes)), dtype=dtype_name(W.dtype))
        labels[np.arange(n_samples), codes] = 1
        rng = backend.adopt_rng(host_rng)
        with np.errstate(over="ignore", invalid="ignore"):
            X, labels = dream(
                backend.asarray(labels),
                params(self._top_layer),
                units(self._top_layer),
                list(zip(self.generative_coefs_, self.generative_intercepts_)),
                self._units,
                n_gibbs_steps=n_gibbs_steps,
                rng=rng,
                clamp_labels=y is not None,
            )
        codes = backend.xp.argmax(labels, axis=1)
        return check_finite_samples(X), labels_at(self.classes_, codes)

    @property
    def _n_features_out(self):
        return self._top_layer["W"].shape[0]

    def _fitted_array(self):
        return self._top_layer["W"]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        tags.transformer_tags.preserves_dtype = [self.dtype]
        return tags


def _class_codes(y, classes, n_samples):
    """The index in ``classes`` of each label of ``y`` (one label, or one per sample).

    A label matches the class it equals, as the elements of ``classes``
    compare, with no conversion between strings and numbers (``"3"`` is not
    the class ``3``, nor ``3`` the class ``"3"``). ``y`` is not made an
    array of a common type first: that would turn ``["3", 4]`` into
    strings, and accept or refuse a label depending on its neighbours.
    """
    labels = np.asarray(y, dtype=object)
    if labels.ndim == 0:
        labels = np.full(n_samples, labels[()], dtype=object)
    elif labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels.ravel()
    elif labels.ndim != 1:
        raise ValueError(
            "y must be one label or a 1-D array-like of labels, got an array of "
            f"shape {labels.shape}."
        )
    if len(labels) != n_samples:
        raise ValueError(
            f"y has {len(labels)} labels but n_samples={n_samples}; give one "
            "label per sample, or a single label for all."
        )
    kind = _label_kind(classes)
    codes = np.empty(n_samples, dtype=np.intp)
    known, absent = {}, []
    for i, label in enumerate(labels):
        try:
            code = known[label]
        except (KeyError, TypeError):  # (TypeError: an unhashable label)
            code = _class_code(label, classes, kind)
            if np.ndim(label) == 0 and not isinstance(label, np.ndarray):
                known[label] = code
        if code is None:
            if len(absent) < 10 and not any(label is seen for seen in absent):
                absent.append(label)
        else:
            codes[i] = code
    if absent:
        raise ValueError(
            f"y contains labels {', '.join(map(repr, absent))} absent from "
            f"classes_ {classes.tolist()!r}. Give labels equal to elements of "
            f"classes_, as {kind or 'objects'} (labels are not converted)."
        )
    return codes


def _label_kind(classes):
    """``"numbers"`` or ``"strings"``: what labels must be; None for anything."""
    if classes.dtype.kind in "biuf":
        return "numbers"
    if classes.dtype.kind in "US" or all(isinstance(c, str) for c in classes):
        return "strings"
    return None


def _class_code(label, classes, kind):
    """The index of the class equal to ``label``, None if there is none."""
    if np.ndim(label) != 0 or isinstance(label, np.ndarray):
        return None
    if kind == "numbers" and not isinstance(label, (Number, np.bool_)):
        return None  # a string, or None, is no numeric class
    if kind == "strings" and not isinstance(label, (str, bytes)):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy comparing other types
            matches = np.flatnonzero(classes == label)
    except (TypeError, ValueError, OverflowError):
        return None
    return int(matches[0]) if matches.size else None


def _copy(array):
    return backend_of(array).copy(array)


def _gibbs_schedule(gibbs_steps, n_epochs):
    """Gibbs steps of each of ``n_epochs`` up-down epochs (see the class doc).

    An int serves every epoch. A sequence of ``k`` counts splits the epochs
    into ``k`` consecutive parts whose lengths differ by at most one: epoch
    ``e`` takes count ``e * k // n_epochs``. Fewer
    epochs than counts would leave some unused, and is refused.
    """
    if isinstance(gibbs_steps, bool):
        steps = None
    elif isinstance(gibbs_steps, Integral):
        return [int(gibbs_steps)] * n_epochs
    else:
        steps = np.asarray(gibbs_steps, dtype=object)
        steps = list(steps) if steps.ndim == 1 else None
    if not steps or not all(
        isinstance(k, Integral) and not isinstance(k, bool) and k >= 1 for k in steps
    ):
        raise ValueError(
            "up_down_gibbs_steps must be a positive int or a flat, non-empty "
            f"sequence of positive ints, such as (3, 6, 10); got {gibbs_steps!r}."
        )
    if 0 < n_epochs < len(steps):
        raise ValueError(
            f"up_down_gibbs_steps={gibbs_steps!r} has {len(steps)} parts but "
            f"up_down_epochs={n_epochs} gives fewer epochs, so some would never "
            f"run: give at least {len(steps)} up-down epochs or fewer counts."
        )
    k = len(steps)
    return [int(steps[epoch * k // n_epochs]) for epoch in range(n_epochs)]
