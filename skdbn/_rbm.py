"""The restricted Boltzmann machine estimator: one layer of a DBN."""

from __future__ import annotations

import copy
import dataclasses
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _rbm_numerics as rbm_math
from ._backend import backend_of, dtype_name
from ._layer import (
    LAYER_CHECK_ROWS,
    CDSettings,
    gibbs,
    hidden_means,
    n_updates,
    new_layer,
    params,
    train_cd,
    units,
    warn_if_collapsed,
    warn_if_worse_than_the_means,
)
from ._network import Network, predict
from ._progress import CallbackSupportMixin, Task, with_callbacks
from ._typing import Array, ArrayLike, MatrixLike, RandomStateLike
from ._units import HIDDEN_UNITS, VISIBLE_UNITS, affine, get_unit
from ._utils import (
    AtomicFitTransformMixin,
    as_dtype,
    make_generator,
    restore_on_error,
    take_rows,
)
from ._validation import (
    DTYPES,
    all_finite,
    check_activations,
    check_finite_output,
    check_finite_samples,
    check_representable,
    check_same_backend,
    check_sampling_params,
    validate_visible_data,
)

# The parameters that say how the layer trains: the fields of CDSettings
# (all but the name its messages use for the learning rate).
TRAINING_SETTINGS = tuple(
    field.name
    for field in dataclasses.fields(CDSettings)
    if field.name != "learning_rate_param"
)


def _layer_attribute(key, settable=False):
    """A fitted attribute that is an entry of the RBM's layer (see _layer.py)."""

    def get(self):
        try:
            return self._layer[key]
        except AttributeError:
            name = next(k for k, v in vars(type(self)).items() if v is attribute)
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}"
            ) from None

    def set_(self, value):
        self._layer[key] = value

    attribute = property(get, set_ if settable else None)
    return attribute


class RBM(
    CallbackSupportMixin,
    ClassNamePrefixFeaturesOutMixin,
    AtomicFitTransformMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Restricted Boltzmann machine trained by contrastive divergence.

    One layer of a deep belief network, usable on its own as a feature
    extractor. Compared with :class:`sklearn.neural_network.BernoulliRBM` it
    adds momentum, weight decay, CD-k as well as persistent CD, Gaussian
    visible units for real-valued data, Gaussian and rectified hidden units,
    float32 training that stays float32, and a ``partial_fit`` that makes
    mini-batch updates over the data it is given.

    Parameters
    ----------
    n_components : int, default=256
        Number of hidden units.
    visible_unit : {"bernoulli", "gaussian"}, default="bernoulli"
        Type of the visible units. ``"bernoulli"`` models data in [0, 1]:
        ``fit`` warns about values outside it, and refuses whole numbers
        beyond [-10, 11] (raw counts or 0-255 pixels) and any values beyond
        [-1000, 1001], which contrastive divergence cannot train on;
        ``transform`` computes any finite values. ``"gaussian"`` models real
        values with unit variance, so standardise the data first and use a
        learning rate near 0.01.
    hidden_unit : {"bernoulli", "gaussian", "relu"}, default="bernoulli"
        Type of the hidden units: logistic binary, linear with Gaussian noise
        (for the code layer of an autoencoder; use a learning rate near 0.001),
        or noisy rectified linear.
    learning_rate : "auto" or float, default="auto"
        Step size for the gradient averaged over a mini-batch. ``"auto"``
        takes 0.1 for Bernoulli visible and hidden units, 0.01 for Gaussian
        visible units and 0.001 for Gaussian or rectified hidden units
        (Hinton's practical guide), divided by the mean square of the
        training data where that exceeds 1 (data outside the units' range).
    batch_size : int, default=100
        Number of rows per mini-batch.
    n_iter : int, default=10
        Number of passes over the training data made by ``fit``.
    n_gibbs_steps : int, default=1
        Number of Gibbs steps in the negative phase (the k of CD-k).
    persistent : bool, default=False
        Use persistent contrastive divergence: the negative chain carries
        over from batch to batch instead of restarting at the data. Gives a
        better density model and usually wants a smaller learning rate.
    momentum : float, default=0.9
        Momentum after the first five epochs.
    initial_momentum : float, default=0.5
        Momentum for the first five epochs, while the weights are far from
        their final values.
    weight_decay : float, default=2e-4
        L2 penalty on the weights (not the biases).
    sparsity_target : float, default=0.1
        Mean activation the sparsity penalty pulls each hidden unit towards
        (Hinton's practical guide, section 11: 0.01 to 0.1).
    sparsity_cost : float, default=0.0
        Weight of the sparsity penalty; 0 turns it off. It needs Bernoulli
        hidden units. The penalty keeps a running estimate of each unit's
        mean activation (``hidden_activity_``, decay 0.95) and moves the
        unit's bias by ``learning_rate * sparsity_cost * (estimate -
        sparsity_target)`` per batch, and each incoming weight by that times
        the batch's mean activity of its visible unit (through the momentum,
        like the CD gradient).
    dtype : {"float32", "float64"}, default="float32"
        Precision of the parameters and of all computation. Input of either
        precision is accepted; output has this dtype.
    random_state : int, RandomState instance or None, default=None
        Controls initialisation, shuffling and sampling. Pass an int for
        reproducible results across calls.
    verbose : int, default=0
        Print the reconstruction error after each epoch when positive.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weight matrix.
    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases.
    intercept_visible_ : ndarray of shape (n_features,)
        Visible biases.
    learning_rate_ : float
        The step size of the last epoch (``learning_rate`` resolved).
    hidden_activity_ : ndarray of shape (n_components,)
        Running estimate of each hidden unit's mean activation during
        training, kept by the sparsity penalty (0.5 until it is used).
    reconstruction_error_curve_ : list of float
        Mean over the rows of each epoch of the squared error between a row
        and its one-step reconstruction.
    history_ : list of dict
        One record per epoch of every training stage, written as training
        goes (an interrupted fit keeps it; ``partial_fit`` and warm starts
        add to it): ``stage``, ``layer`` (from 1, pretraining only),
        ``epoch``, ``loss``, ``validation_score`` (None without one),
        ``learning_rate`` and ``seconds``. Epochs are numbered from 1 per
        stage and layer, and on across the ``partial_fit`` calls that
        add to the history (the third ``partial_fit`` call records epoch 3);
        a fit that starts afresh starts a new history.
        ``pandas.DataFrame(history_)`` makes it a table.
    n_iter_ : int
        Number of epochs run, ``partial_fit`` calls included.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when they are all strings.

    See Also
    --------
    DBNTransformer : A stack of RBMs trained greedily.
    sklearn.neural_network.BernoulliRBM : scikit-learn's Bernoulli RBM.

    References
    ----------
    G. E. Hinton, "A Practical Guide to Training Restricted Boltzmann
    Machines", UTML TR 2010-003, 2010.

    T. Tieleman, "Training Restricted Boltzmann Machines using Approximations
    to the Likelihood Gradient", ICML 2008.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdbn import RBM
    >>> X = load_digits().data / 16
    >>> rbm = RBM(n_components=32, n_iter=5, random_state=0).fit(X)
    >>> rbm.transform(X).shape
    (1797, 32)
    >>> rbm.reconstruction_error_curve_[-1] < rbm.reconstruction_error_curve_[0]
    True
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "visible_unit": [StrOptions(set(VISIBLE_UNITS))],
        "hidden_unit": [StrOptions(set(HIDDEN_UNITS))],
        "learning_rate": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "persistent": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "initial_momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        "sparsity_cost": [Interval(Real, 0, None, closed="left")],
        "dtype": [StrOptions(set(DTYPES))],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=256,
        *,
        visible_unit="bernoulli",
        hidden_unit="bernoulli",
        learning_rate="auto",
        batch_size=100,
        n_iter=10,
        n_gibbs_steps=1,
        persistent=False,
        momentum=0.9,
        initial_momentum=0.5,
        weight_decay=2e-4,
        sparsity_target=0.1,
        sparsity_cost=0.0,
        dtype="float32",
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.visible_unit = visible_unit
        self.hidden_unit = hidden_unit
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.n_gibbs_steps = n_gibbs_steps
        self.persistent = persistent
        self.momentum = momentum
        self.initial_momentum = initial_momentum
        self.weight_decay = weight_decay
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    @with_callbacks
    @restore_on_error
    def fit(self, X: MatrixLike, y: None = None) -> RBM:
        """Train the RBM for ``n_iter`` epochs of mini-batch CD.

        Ctrl-C ends training with a warning, keeping the weights and the
        history of the epochs completed; an error leaves the model as it was
        before the call. Warns when the hidden units have collapsed (nearly
        all stuck at 0 or at 1 for every row: too large a ``learning_rate``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : RBM
            The fitted model.
        """
        return self._fit(X, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    @with_callbacks
    @restore_on_error
    def partial_fit(self, X: MatrixLike, y: None = None) -> RBM:
        """Make one pass of mini-batch CD updates over ``X``.

        The first call initialises the model from ``X``. Each call counts as
        one epoch for the momentum schedule.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : RBM
            The updated model.
        """
        return self._fit(X, incremental=True)

    def _fit(self, X, incremental):
        """``fit`` (``n_iter`` epochs from a new layer) or ``partial_fit`` (one)."""
        self._check_inert_options()
        first_call = not incremental or not hasattr(self, "_layer")
        if not first_call:
            self._check_structure_unchanged()
        X = validate_visible_data(
            self,
            X,
            reset=first_call,
            fitting=True,
            method="partial_fit" if incremental else "fit",
        )
        settings = self._settings()
        if first_call:
            self._layer = new_layer(
                X,
                self.n_components,
                settings,
                visible=self.visible_unit,
                hidden=self.hidden_unit,
                dtype=self.dtype,
                rng=make_generator(self.random_state, backend_of(X)),
            )
        n_epochs = 1 if incremental else self.n_iter
        task = Task.start_fit(
            self, X, n_subtasks=n_epochs, verbose=self.verbose, keep_history=incremental
        )
        train_cd(self._layer, X, n_epochs, settings, task)
        task.end()
        if not incremental and self.n_iter_:
            sample = take_rows(X, 0, LAYER_CHECK_ROWS)
            H = hidden_means(self._layer, sample)
            if not warn_if_collapsed(self._layer, H, "The RBM", "learning_rate"):
                warn_if_worse_than_the_means(
                    self._layer,
                    sample,
                    H,
                    "The RBM",
                    "learning_rate",
                    n_updates=n_updates(self._layer, X.shape[0], self.batch_size),
                )
        return self

    def transform(self, X: MatrixLike) -> Array:
        """Mean hidden activations given the data (the up pass).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to transform.

        Returns
        -------
        H : ndarray of shape (n_samples, n_components)
            Hidden means: probabilities for Bernoulli hidden units.
        """
        check_is_fitted(self)
        X = validate_visible_data(
            self, X, reset=False, fitting=False, method="transform"
        )
        return check_finite_output(hidden_means(self._layer, X), self.components_.dtype)

    def inverse_transform(self, X: ArrayLike) -> Array:
        """Mean visible activations given hidden activations (the down pass).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Hidden activations, such as the output of ``transform``.

        Returns
        -------
        V : ndarray of shape (n_samples, n_features)
            Visible means: probabilities for Bernoulli visible units.
        """
        check_is_fitted(self)
        check_same_backend(X, self.components_, self, "inverse_transform")
        H = check_activations(
            X,
            self.components_.shape[0],
            self.components_.dtype,
            "hidden activations (n_components)",
        )
        down = Network(
            [self.components_], [self.intercept_visible_], [self._layer["visible"]]
        )
        return check_finite_output(predict(down, H), self.components_.dtype)

    def gibbs(self, v: MatrixLike) -> Array:
        """Make one Gibbs step from visible states ``v``.

        Parameters
        ----------
        v : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible states to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Visible states sampled after one step.
        """
        check_is_fitted(self)
        v = validate_visible_data(self, v, reset=False, fitting=False, method="gibbs")
        if sp.issparse(v):
            v = v.toarray()
        # Sampling has a generator of its own, so that it does not change what
        # training does next.
        return check_finite_output(gibbs(self._layer, v, 1), self.components_.dtype)

    def sample(
        self,
        n_samples: int = 1,
        *,
        n_gibbs_steps: int = 1000,
        random_state: RandomStateLike = None,
    ) -> Array:
        """Draw visible means after a long Gibbs chain from random states.

        Each chain starts from visible states sampled from the visible biases
        alone, runs ``n_gibbs_steps`` alternating Gibbs steps (each layer
        sampled from its pre-activations), and returns the visible means
        given the last hidden sample.

        Parameters
        ----------
        n_samples : int, default=1
            Number of independent chains, at least 1.
        n_gibbs_steps : int, default=1000
            Number of alternating Gibbs steps, at least 1.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains.

        Returns
        -------
        V : ndarray of shape (n_samples, n_features)
            Visible means after the chain: probabilities in [0, 1] for
            Bernoulli visible units.
        """
        check_is_fitted(self)
        check_sampling_params(n_samples, n_gibbs_steps)
        W, b_h, b_v = self._params()
        backend = backend_of(W)
        rng = make_generator(random_state, backend)
        visible, hidden = map(get_unit, self._units())
        with np.errstate(over="ignore", invalid="ignore"):
            biases = backend.zeros((n_samples, W.shape[1]), W.dtype) + b_v[None, :]
            start = visible.sample(biases, rng)
            v = rbm_math.gibbs_chain(
                start, W, b_h, b_v, *self._units(), n_gibbs_steps - 1, rng
            )
            h = hidden.sample(affine(v, W, b_h, trans_b=True), rng)
            means = rbm_math.visible_means(h, W, b_v, visible)
        return check_finite_samples(means)

    def free_energy(self, X: MatrixLike) -> Array:
        """Free energy of each row: lower means the model finds it more likely.

        Exact up to an additive constant (the same for every row) for every
        pairing of unit types. A ReLU hidden unit counts as a rectified
        Gaussian unit (energy ``h**2 / 2 - x * h`` for ``h >= 0``), the
        model that Nair & Hinton's noisy rectified sampler approximates.
        Where the model's precision overflows on large rows the energy is
        computed in float64; a value beyond the model's dtype is refused
        with a ``ValueError``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        energy : ndarray of shape (n_samples,)
            Free energy of each row.
        """
        check_is_fitted(self)
        X = validate_visible_data(
            self, X, reset=False, fitting=False, method="free_energy"
        )
        units = self._units()
        return self._density(
            X, lambda V, *params: rbm_math.free_energy(V, *params, *units)
        )

    def score_samples(self, X: MatrixLike) -> Array:
        """Log-likelihood proxy of each row: higher means more likely.

        For Bernoulli visible units this is the exact pseudo-log-likelihood,
        the sum over features of ``log P(x_i | x_-i)`` under the model whose
        free energy :meth:`free_energy` gives; it costs
        ``n_samples * n_features * n_components`` operations and expects
        binary rows. For Gaussian visible units it is the negative free
        energy, the log-likelihood up to the unknown log partition function.
        Large rows are handled as in :meth:`free_energy`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Score of each row.
        """
        check_is_fitted(self)
        X = validate_visible_data(
            self, X, reset=False, fitting=False, method="score_samples"
        )
        visible, hidden = self._units()
        if get_unit(visible).binary:
            return self._density(
                X,
                lambda V, *params: rbm_math.pseudo_log_likelihood(V, *params, hidden),
                "pseudo-log-likelihood",
            )
        return -self._density(
            X, lambda V, *params: rbm_math.free_energy(V, *params, visible, hidden)
        )

    def _density(self, X, function, what="free energy"):
        """``function(X, W, b_h, b_v)`` in the model's dtype, never inf or NaN.

        Large finite rows can overflow the model's precision in the products
        (``x**2``, ``x * b_v``) while the result itself fits: on overflow the
        function is computed again in float64, and its result returned in
        the model's dtype where it fits there, refused with a ``ValueError``
        where it does not.
        """
        dtype = self.components_.dtype
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            values = function(as_dtype(X, dtype), *self._params())
            if all_finite(values):
                return values
            wide = backend_of(self.components_).dtype("float64")
            params = [as_dtype(p, wide) for p in self._params()]
            values = function(as_dtype(X, wide), *params)
        return check_representable(values, dtype, what)

    # -- internals --------------------------------------------------------

    components_ = _layer_attribute("W", settable=True)
    intercept_hidden_ = _layer_attribute("b_h", settable=True)
    intercept_visible_ = _layer_attribute("b_v", settable=True)
    learning_rate_ = _layer_attribute("learning_rate")
    hidden_activity_ = _layer_attribute("activity")
    reconstruction_error_curve_ = _layer_attribute("curve")
    n_iter_ = _layer_attribute("epochs")

    @classmethod
    def _view(cls, layer):
        """An RBM over a copy of ``layer``, with the layer's last settings.

        What a DBN shows of its stack (``rbms_``, ``top_rbm_``): a copy, so
        that training or changing it leaves the DBN as it is.
        """
        layer = copy.deepcopy(layer)
        W = layer["W"]
        settings = CDSettings(**layer["settings"])
        visible = get_unit(layer["visible"])
        rbm = cls(
            n_components=W.shape[0],
            visible_unit=getattr(visible, "features", visible).name,
            hidden_unit=layer["hidden"],
            n_iter=layer["epochs"],
            dtype=dtype_name(W.dtype),
            **{name: getattr(settings, name) for name in TRAINING_SETTINGS},
        )
        rbm._layer = layer
        rbm.n_features_in_ = W.shape[1]
        return rbm

    def _settings(self):
        """How the layer trains, from the current parameters."""
        return CDSettings(**{name: getattr(self, name) for name in TRAINING_SETTINGS})

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def _params(self):
        return params(self._layer)

    def _units(self):
        """The fitted (visible, hidden) unit types, whatever set_params did since."""
        return units(self._layer)

    def _fitted_array(self):
        """A fitted weight array: where the model computes."""
        return self.components_

    def _check_inert_options(self):
        """Refuse, before any training, options that could not take effect.

        ``fit`` and ``partial_fit`` only: a DBN's stack passes its per-layer
        settings to every layer and checks its own parameters.
        """
        if self.sparsity_cost and not get_unit(self.hidden_unit).binary:
            raise ValueError(
                "sparsity_cost needs Bernoulli hidden units (the penalty pulls a "
                f"probability towards sparsity_target), not {self.hidden_unit!r}; "
                "set sparsity_cost=0."
            )
        default = type(self)().sparsity_target
        if not self.sparsity_cost and self.sparsity_target != default:
            raise ValueError(
                f"sparsity_target={self.sparsity_target!r} acts through the "
                "sparsity penalty only, which sparsity_cost=0 turns off. Set "
                "sparsity_cost above 0 (0.01 to 0.1 is usual), or leave "
                f"sparsity_target at its default ({default})."
            )

    def _check_structure_unchanged(self):
        W = self.components_
        visible, hidden = self._units()
        fitted = {
            "n_components": W.shape[0],
            "visible_unit": visible,
            "hidden_unit": hidden,
            "dtype": dtype_name(W.dtype),
        }
        changed = [
            f"{name}={getattr(self, name)!r} (fitted with {value!r})"
            for name, value in fitted.items()
            if getattr(self, name) != value
        ]
        if changed:
            raise ValueError(
                "partial_fit cannot change the structure of a fitted RBM: "
                + ", ".join(changed)
                + ". Call fit to train a new model with these parameters, or "
                "set them back."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = [self.dtype]
        tags.array_api_support = True
        return tags
