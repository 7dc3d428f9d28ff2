"""DBNTransformer: the pretrained stack, optionally fine-tuned as an autoencoder."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._backend import backend_of
from ._base import (
    FINE_TUNING_CONSTRAINTS,
    PRETRAINING_CONSTRAINTS,
    BaseDBN,
    fill_doc,
)
from ._network import Network, predict
from ._progress import CallbackSupportMixin, Task, with_callbacks
from ._rbm import RBM
from ._stack import pretrain_greedy, unroll_decoder, unroll_encoder
from ._training import fine_tune_network
from ._typing import Array, ArrayLike, MatrixLike, RandomStateLike
from ._units import HIDDEN_UNITS
from ._utils import (
    AtomicFitTransformMixin,
    as_dtype,
    count_rows,
    gather,
    make_generator,
    restore_on_error,
)
from ._validation import (
    all_finite,
    check_activations,
    check_finite_output,
    check_same_backend,
    check_sampling_params,
    per_layer,
    validate_visible_data,
)


@fill_doc
class DBNTransformer(
    CallbackSupportMixin,
    ClassNamePrefixFeaturesOutMixin,
    AtomicFitTransformMixin,
    TransformerMixin,
    BaseDBN,
):
    """Deep belief network as an unsupervised transformer.

    ``fit`` pretrains a stack of RBMs greedily, each on the hidden means of
    the one below. ``transform`` is the deterministic up pass to the top
    layer, ``inverse_transform`` the down pass back to the data. With
    ``fine_tune=True`` the stack becomes the deep autoencoder of
    Hinton & Salakhutdinov (2006): the top layer is linear by default and the
    unrolled encoder-decoder is fine-tuned on reconstruction.

    Parameters
    ----------
    %(pretraining_params)s
        ``hidden_unit="auto"`` (the default) uses Bernoulli units, except a
        linear (Gaussian) top layer when ``fine_tune=True``.
    %(autoencoder_params)s
    %(common_params)s

    Attributes
    ----------
    rbms_ : list of RBM
        The pretrained layers, lowest first, as RBM estimators: copies of
        the layers the transformer holds, made at each access (training or
        changing them leaves the transformer as it is).
    pretraining_curves_ : list of list of float
        Per layer, the reconstruction error of each pretraining epoch: the
        squared error of the one-step reconstruction for RBMs, the
        autoencoder's loss with ``pretraining="autoencoder"``.
    coefs_ : list of ndarray
        Weights of the unrolled autoencoder, encoder layers then decoder
        layers, ``coefs_[i]`` of shape ``(fan_in, fan_out)``.
    intercepts_ : list of ndarray
        Biases of the unrolled autoencoder.
    loss_curve_ : list of float
        Autoencoder fine-tuning loss per epoch (empty without fine-tuning):
        cross-entropy per row for Bernoulli inputs, half the squared error per
        row for Gaussian ones.
    validation_scores_ : list of float or None
        Negative validation reconstruction error per fine-tuning epoch when
        ``early_stopping``.
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
        Epochs run by the last training stage: the autoencoder fine-tuning
        epochs with ``fine_tune=True``, otherwise the top RBM's
        pretraining epochs.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when they are all strings.

    See Also
    --------
    RBM : One layer of the stack.
    DBNClassifier : The stack with a softmax layer, fine-tuned on labels.

    References
    ----------
    G. E. Hinton and R. R. Salakhutdinov, "Reducing the Dimensionality of
    Data with Neural Networks", Science 313, 2006.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdbn import DBNTransformer
    >>> X = load_digits().data / 16
    >>> dbn = DBNTransformer((128, 32), random_state=0).fit(X)
    >>> dbn.transform(X).shape
    (1797, 32)
    >>> dbn.inverse_transform(dbn.transform(X)).shape
    (1797, 64)
    """

    _parameter_constraints = {
        **PRETRAINING_CONSTRAINTS,
        "hidden_unit": [StrOptions({"auto", *HIDDEN_UNITS}), "array-like"],
        **{
            key: FINE_TUNING_CONSTRAINTS[key]
            for key in (
                "solver",
                "learning_rate_init",
                "learning_rate",
                "momentum",
                "alpha",
                "tol",
                "early_stopping",
                "validation_fraction",
                "n_iter_no_change",
            )
        },
        "fine_tune": ["boolean"],
        "max_iter": FINE_TUNING_CONSTRAINTS["max_iter"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256,),
        *,
        visible_unit="bernoulli",
        hidden_unit="auto",
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
        fine_tune=False,
        solver="adam",
        learning_rate_init=1e-3,
        learning_rate="constant",
        momentum=0.9,
        alpha=0.0,
        max_iter=50,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
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
        self.fine_tune = fine_tune
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.memory = memory
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    @with_callbacks
    @restore_on_error
    def fit(self, X: MatrixLike, y: None = None) -> DBNTransformer:
        """Pretrain the stack on ``X``, then fine-tune it if asked.

        Ctrl-C ends the current stage (pretraining or fine-tuning) with a
        warning and goes on to the next, leaving a consistent model; an
        error leaves the estimator as it was before the call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : DBNTransformer
            The fitted transformer.
        """
        return self._fit(X, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    @with_callbacks
    @restore_on_error
    def partial_fit(self, X: MatrixLike, y: None = None) -> DBNTransformer:
        """Train on one chunk of data.

        Without fine-tuning, each call makes one pass of CD over ``X`` for
        every layer, lowest first, each RBM on the hidden means of the layer
        below as updated by this same call, so the stack is pretrained on
        data that arrives in chunks. With ``fine_tune=True`` the
        first call pretrains the stack on ``X`` as ``fit`` does, and every
        call makes one epoch of autoencoder fine-tuning, continuing from the
        fine-tuned weights (``rbms_`` stay as pretrained).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : DBNTransformer
            The updated transformer.
        """
        return self._fit(X, incremental=True)

    def _fit(self, X, incremental):
        """``fit`` (``incremental=False``) and ``partial_fit``: the one fit path.

        ``fit`` pretrains a new stack, then fine-tunes it for ``max_iter``
        epochs when asked. ``partial_fit`` with fine-tuning pretrains a new
        stack on its first call and makes one fine-tuning epoch at every
        call; without, it streams the stack: one CD epoch per layer per call.
        """
        fine_tune = bool(self.fine_tune)
        streamed = incremental and not fine_tune
        method = "partial_fit" if incremental else "fit"
        if not incremental:
            self._check_fine_tuning_options()
        elif fine_tune:
            self._check_incremental_solver()
        fresh = not incremental or not hasattr(self, "_layers")
        if not fresh:
            self._check_structure_unchanged(method)
        X = validate_visible_data(self, X, reset=fresh, fitting=True, method=method)
        if streamed and self.pretraining != "rbm":
            raise ValueError(
                "Streaming the stack through partial_fit needs pretraining='rbm'; "
                "with pretraining='autoencoder' call fit."
            )
        backend = backend_of(X)
        if fresh:
            self._rng = make_generator(self.random_state, backend)
            self._record_structure()
            self.loss_curve_ = []
            self.validation_scores_ = None
            self._fine_tuning_state = None
        validation = rows = None
        if not incremental and fine_tune and self.early_stopping:
            # Training reads its rows of X in place; the held-out ones are
            # copied.
            rows, val_rows = map(backend.asarray, self._validation_rows(X.shape[0]))
            X_val = gather(X, val_rows)
            X_val_dense = X_val.toarray() if hasattr(X_val, "toarray") else X_val
            validation = (X_val, X_val_dense, self._validation_score)
            self.validation_scores_ = []
        task = Task.start_fit(
            self,
            X,
            n_subtasks=(fresh or streamed) + fine_tune,
            verbose=self.verbose,
            keep_history=not fresh,
        )
        if streamed:
            self._check_pretraining_options()
            # (Later calls draw their seeds from a throwaway generator: only
            # the plans' settings are used, the layers exist.)
            rng = self._rng if fresh else np.random.default_rng(0)
            plans = self._plan_stack(rng, X.shape[0])
            stage = task.subtask("pretraining", n_subtasks=len(plans))
            self._layers = pretrain_greedy(
                plans,
                X,
                stage,
                dtype=self.dtype,
                layers=[None] * len(plans) if fresh else self._layers,
                verbose=self.verbose,
            )
            stage.end()
            self._unroll()
        elif fresh:
            self._layers = self._pretrain(X, self._rng, task, rows=rows)
            self._unroll()
        if fine_tune:
            n_run = self._fine_tune(
                X,
                validation,
                1 if incremental else self.max_iter,
                task,
                check_convergence=not incremental,
                rows=rows,
            )
            self.n_iter_ = (0 if fresh else self.n_iter_) + n_run
        else:
            self.n_iter_ = self._layers[-1]["epochs"]
        task.end()
        return self

    def transform(self, X: MatrixLike) -> Array:
        """Up pass: the top layer's mean activations (the codes).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        codes : ndarray of shape (n_samples, hidden_layer_sizes[-1])
            Top-layer activations.
        """
        check_is_fitted(self)
        X = validate_visible_data(
            self, X, reset=False, fitting=False, method="transform"
        )
        return check_finite_output(predict(self._encoder(), X), self.coefs_[0].dtype)

    def inverse_transform(self, X: ArrayLike) -> Array:
        """Down pass: reconstruct the data from top-layer activations.

        Parameters
        ----------
        X : array-like of shape (n_samples, hidden_layer_sizes[-1])
            Top-layer activations, such as the output of ``transform``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Reconstructed data (visible means).
        """
        check_is_fitted(self)
        check_same_backend(X, self.coefs_[0], self, "inverse_transform")
        n_codes = self.coefs_[len(self._layers)].shape[0]
        dtype = self.coefs_[0].dtype
        H = check_activations(X, n_codes, dtype, "top-layer activations")
        return check_finite_output(predict(self._decoder(), H), dtype)

    def score(self, X: MatrixLike, y: None = None) -> float:
        """Negative mean reconstruction error of ``X`` (higher is better).

        The error of a row is the squared distance between it and
        ``inverse_transform(transform(row))``, summed over features: the
        measure of Hinton & Salakhutdinov (2006). Rows whose error overflows
        the model's precision are scored in float64; a score beyond float64
        is refused with a ``ValueError``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Minus the mean squared reconstruction error per row.
        """
        check_is_fitted(self)
        X = validate_visible_data(self, X, reset=False, fitting=False, method="score")
        reconstruction = predict(self._autoencoder(), X)
        check_finite_output(reconstruction, reconstruction.dtype)
        X = X.toarray() if hasattr(X, "toarray") else X
        with np.errstate(over="ignore", invalid="ignore"):
            score = self._validation_score(
                reconstruction, as_dtype(X, reconstruction.dtype)
            )
            if not all_finite(score):
                # The squares of large rows overflow float32; the score is a
                # Python float, which holds them.
                wide = backend_of(reconstruction).dtype("float64")
                score = self._validation_score(
                    as_dtype(reconstruction, wide), as_dtype(X, wide)
                )
        if not all_finite(score):
            raise ValueError(
                "The input's values are too large to score: their squared "
                "reconstruction error exceeds the largest float64. Scale the "
                "input as the training data was scaled."
            )
        return score

    def sample(
        self,
        n_samples: int = 1,
        *,
        n_gibbs_steps: int = 1000,
        random_state: RandomStateLike = None,
    ) -> Array:
        """Draw data from the pretrained generative model.

        Runs alternating Gibbs sampling in the top RBM from random states,
        then one deterministic down pass through the layers below. It uses
        the pretrained RBMs (``rbms_``), the DBN's generative model:
        autoencoder fine-tuning trains ``coefs_`` for reconstruction and does
        not change what ``sample`` draws.

        Parameters
        ----------
        n_samples : int, default=1
            Number of independent chains, at least 1.
        n_gibbs_steps : int, default=1000
            Gibbs steps in the top RBM, at least 1.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains.

        Returns
        -------
        X_sampled : ndarray of shape (n_samples, n_features)
            Visible means of the sampled states.
        """
        check_is_fitted(self)
        check_sampling_params(n_samples, n_gibbs_steps)
        if self._fitted_structure.get("pretraining", "rbm") != "rbm":
            raise ValueError(
                "sample draws from the pretrained RBMs; this model was "
                "pretrained with pretraining='autoencoder', which has no "
                "generative model to sample."
            )
        top = RBM._view(self._layers[-1])
        visible_top = top.sample(
            n_samples, n_gibbs_steps=n_gibbs_steps, random_state=random_state
        )
        decoder = Network(*unroll_decoder(self._layers[:-1]))
        if not decoder.coefs:
            return visible_top
        return check_finite_output(predict(decoder, visible_top), visible_top.dtype)

    # -- internals ------------------------------------------------------------

    @property
    def rbms_(self):
        if not hasattr(self, "_layers"):
            raise AttributeError("'DBNTransformer' object has no attribute 'rbms_'")
        return [RBM._view(layer) for layer in self._layers]

    @property
    def _n_features_out(self):
        return self.coefs_[len(self._layers) - 1].shape[1]

    def _hidden_units(self, n_layers):
        if isinstance(self.hidden_unit, str) and self.hidden_unit == "auto":
            units = ["bernoulli"] * n_layers
            if self.fine_tune:
                units[-1] = "gaussian"
            return units
        return per_layer(
            self.hidden_unit, n_layers, "hidden_unit", [StrOptions(set(HIDDEN_UNITS))]
        )

    def _plan_stack(self, rng, n_samples):
        return super()._plan_stack(
            rng, n_samples, hidden_unit=self._hidden_units(len(self._layer_sizes()))
        )

    def _check_fine_tuning_options(self):
        if self.early_stopping and not self.fine_tune:
            raise ValueError(
                "early_stopping watches the reconstruction error of autoencoder "
                "fine-tuning, which fine_tune=False skips; set "
                "fine_tune=True, or early_stopping=False."
            )
        if self.fine_tune:
            super()._check_fine_tuning_options()

    def _unroll(self):
        enc_coefs, enc_intercepts, enc_units = unroll_encoder(self._layers)
        dec_coefs, dec_intercepts, dec_units = unroll_decoder(self._layers)
        self.coefs_ = enc_coefs + dec_coefs
        self.intercepts_ = enc_intercepts + dec_intercepts
        self._units = enc_units + dec_units
        self.pretraining_curves_ = [list(layer["curve"]) for layer in self._layers]

    def _autoencoder(self):
        return Network(self.coefs_, self.intercepts_, self._units)

    def _encoder(self):
        return self._autoencoder().layers(0, len(self._layers))

    def _decoder(self):
        return self._autoencoder().layers(len(self._layers))

    @staticmethod
    def _validation_score(output, X):
        xp = backend_of(output).xp
        return -float(xp.mean(xp.sum((X - output) ** 2, axis=1)))

    def _structure(self):
        return {**super()._structure(), "fine_tune": bool(self.fine_tune)}

    def _fine_tune(
        self, X, validation, n_epochs, task, check_convergence=True, rows=None
    ):
        """Fine-tune the unrolled autoencoder, a ``"fine-tuning"`` stage of ``task``."""
        stage = task.subtask(
            "fine-tuning", n_subtasks=None if self.solver == "lbfgs" else n_epochs
        )
        stage.fitted_attributes = self._fitted_copy
        net = self._autoencoder()
        self._rng = backend_of(net.coefs[0]).adopt_rng(self._rng)
        state = self._training_state(net, "autoencoder", fresh=check_convergence)
        # The history is written into the fitted attributes epoch by epoch.
        state.loss_curve = self.loss_curve_
        if validation is not None:
            state.validation_scores = self.validation_scores_
        n_run = fine_tune_network(
            net,
            X,
            X.toarray() if hasattr(X, "toarray") else X,
            state,
            solver=self.solver,
            n_epochs=n_epochs,
            batch_size=self._batch_size(count_rows(X, rows)),
            rows=rows,
            rng=self._rng,
            alpha=self.alpha,
            validation=validation,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
            check_convergence=check_convergence,
            verbose=self.verbose,
            label="autoencoder fine-tuning",
            task=stage,
        )
        stage.end()
        self._fine_tuning_state = state.to_plain()
        return n_run

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = [self.dtype]
        return tags
