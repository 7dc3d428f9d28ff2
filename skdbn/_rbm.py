"""The restricted Boltzmann machine estimator: one layer of a DBN."""

import copy
import math
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
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _rbm_numerics as rbm_math
from ._autoencoder import pretrain_autoencoder_layer
from ._backend import backend_of
from ._network import Network, predict
from ._progress import CallbackSupportMixin, Task, with_callbacks
from ._threads import stage_threads
from ._training import epoch_loop
from ._units import HIDDEN_UNITS, VISIBLE_UNITS, auto_learning_rate, get_unit
from ._utils import (
    AtomicFitTransformMixin,
    as_dtype,
    child_seed,
    count_rows,
    load_batch,
    make_generator,
    minibatches,
    restore_on_error,
    take_rows,
)
from ._validation import (
    DIVERGENCE_FACTOR,
    DIVERGENCE_FLOOR,
    DTYPES,
    TrainingDivergedError,
    all_finite,
    check_activations,
    check_finite_output,
    check_finite_samples,
    check_representable,
    check_same_backend,
    check_sampling_params,
    check_weight_growth,
    count,
    validate_visible_data,
    warn,
)

# Hinton's practical guide: momentum 0.5 while the weights settle, then 0.9.
INITIAL_MOMENTUM_EPOCHS = 5
# What partial_fit cannot change once the weights exist.
STRUCTURAL_PARAMS = ("n_components", "visible_unit", "hidden_unit", "dtype")
# The checks of a trained layer look at its first rows, at most this many.
LAYER_CHECK_ROWS = 1000

# pretrain_epochs="auto": at least this many CD updates per layer. On digits,
# wine and breast cancer, layers with under a few hundred updates still
# passed nearly constant activations on, while 1000 matched or beat
# MLPClassifier (benchmarks/README.md). Fewer updates are a short budget.
AUTO_MIN_UPDATES = 1000
# A bounded hidden unit whose probability stays below COLLAPSED_LOW (or above
# 1 - COLLAPSED_LOW) for every row passes nothing on; a layer with
# COLLAPSED_SHARE of its units so has collapsed (a CD step of 3 or more on
# digits: 75 to 100 %; a step of 1 or less: none).
COLLAPSED_LOW = 0.01
COLLAPSED_SHARE = 0.9


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

    # The parameter that sets the CD step, named by divergence and collapse
    # messages: a DBN's stack sets "pretrain_learning_rate" on its layers.
    _learning_rate_param = "learning_rate"

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
    def fit(self, X, y=None):
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
        self._check_inert_options()
        X = validate_visible_data(self, X, reset=True, fitting=True)
        task = Task.start_fit(self, X, n_subtasks=self.n_iter, verbose=self.verbose)
        self._fit(X, task=task)
        task.end()
        if self.n_iter_:
            sample = take_rows(X, 0, LAYER_CHECK_ROWS)
            H = self._transform(sample)
            if not self._warn_if_collapsed(H, "The RBM"):
                self._warn_if_worse_than_the_means(
                    sample, H, n_updates=self._n_updates(X.shape[0])
                )
        return self

    def _fit_rows(self, X, rows, task, visible=None):
        """``fit`` on the rows ``rows`` of ``X``, validated by the caller.

        For a DBN's greedy stack: its first layer trains on the training part
        of an early-stopping split without a copy of it. ``visible``, a unit
        object, replaces ``visible_unit``'s (a generative DBN's top RBM has
        label units joined to its visible layer, see
        :class:`skdbn._units.LabelJoinedUnit`). The epochs are reported to
        ``task`` (a :class:`skdbn._progress.Task` of the DBN's fit).
        """
        validate_data(self, X, reset=True, skip_check_array=True)
        return self._fit(X, rows, visible=visible, task=task)

    def _fit_as_autoencoder(self, X, rows, task, *, learning_rate, noise):
        """Pretrain this layer as an autoencoder instead of by CD.

        For a DBN's greedy stack (``pretraining="autoencoder"``): ``X`` is
        validated by the caller; the encoder becomes ``components_`` and
        ``intercept_hidden_``, the decoder's biases ``intercept_visible_``
        (its weights are the encoder's, transposed), and the reconstruction
        loss per epoch ``reconstruction_error_curve_``. See
        :mod:`skdbn._autoencoder`.
        """
        validate_data(self, X, reset=True, skip_check_array=True)
        self._initialize(X, self._new_generator(X), rows)
        W, b_h, b_v, curve = pretrain_autoencoder_layer(
            X,
            self.n_components,
            visible_unit=self._visible,
            hidden_unit=self._hidden,
            epochs=self.n_iter,
            batch_size=self.batch_size,
            learning_rate=learning_rate,
            noise=noise,
            rng=self._rng,
            dtype=self.components_.dtype,
            initial_visible_bias=self.intercept_visible_,
            rows=rows,
            task=task,
        )
        self.components_[...] = W
        self.intercept_hidden_[...] = b_h
        self.intercept_visible_[...] = b_v
        self.learning_rate_ = learning_rate  # Adam's step
        self.reconstruction_error_curve_ = curve
        self.n_iter_ = len(curve)
        return self

    def _fit(self, X, rows=None, visible=None, *, task):
        self._initialize(X, self._new_generator(X), rows, visible)
        self._train_epochs(X, self.n_iter, task, rows)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @with_callbacks
    @restore_on_error
    def partial_fit(self, X, y=None):
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
        self._check_inert_options()
        X = self._prepare_partial_fit(X)
        self._partial_fit(X, Task.start_fit(self, X, n_subtasks=1, keep_history=True))
        return self

    def _prepare_partial_fit(self, X):
        """Validate ``X`` for ``partial_fit``; initialise the model on a first call."""
        first_call = not hasattr(self, "components_")
        if not first_call:
            self._check_structure_unchanged()
        X = validate_visible_data(
            self, X, reset=first_call, fitting=True, method="partial_fit"
        )
        if first_call:
            self._initialize(X, self._new_generator(X))
        return X

    def _partial_fit(self, X, task):
        """One epoch over ``X``, reported to ``task`` (a DBN's layer when streamed)."""
        self._train_epochs(X, 1, task)
        task.end()

    def transform(self, X):
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
        return check_finite_output(self._transform(X), self.components_.dtype)

    def _transform(self, X, rows=None):
        """The hidden means of (the rows ``rows`` of) validated ``X``."""
        W = self.components_
        up = Network(
            [backend_of(W).copy(W.T)], [self.intercept_hidden_], [self._hidden]
        )
        return predict(up, X, rows=rows)

    def inverse_transform(self, X):
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
        down = Network([self.components_], [self.intercept_visible_], [self._visible])
        return check_finite_output(predict(down, H), self.components_.dtype)

    def gibbs(self, v):
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
        rng = backend_of(self.components_).adopt_rng(self._sampling_rng)
        self._sampling_rng = rng
        with np.errstate(over="ignore", invalid="ignore"):
            v_new = rbm_math.gibbs_chain(v, *self._params(), *self._units(), 1, rng)
        return check_finite_output(v_new, self.components_.dtype)

    def sample(self, n_samples=1, *, n_gibbs_steps=1000, random_state=None):
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
        visible, hidden = get_unit(self._visible), get_unit(self._hidden)
        with np.errstate(over="ignore", invalid="ignore"):
            biases = backend.zeros((n_samples, W.shape[1]), W.dtype) + b_v[None, :]
            start = visible.sample(biases, rng)
            v = rbm_math.gibbs_chain(
                start, W, b_h, b_v, *self._units(), n_gibbs_steps - 1, rng
            )
            h = hidden.sample(v @ W.T + b_h, rng)
            means = rbm_math.visible_means(h, W, b_v, visible)
        return check_finite_samples(means)

    def free_energy(self, X):
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

    def score_samples(self, X):
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

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def _params(self):
        return self.components_, self.intercept_hidden_, self.intercept_visible_

    def _units(self):
        """The fitted (visible, hidden) unit types, whatever set_params did since."""
        return self._visible, self._hidden

    def _fitted_array(self):
        """A fitted weight array: where the model computes."""
        return self.components_

    def _n_updates(self, n_rows):
        """The CD updates its ``n_iter_`` epochs made over ``n_rows`` rows."""
        return self.n_iter_ * math.ceil(n_rows / min(self.batch_size, n_rows))

    def _new_generator(self, X):
        """A generator seeded from ``random_state`` on ``X``'s backend."""
        return make_generator(self.random_state, backend_of(X))

    def _warn_if_collapsed(self, H, label):
        """Warn when (almost) every bounded hidden unit is stuck; True if so.

        ``H`` holds the layer's hidden means of (some of) its training rows.
        A unit whose probability stays below 0.01, or above 0.99, for every
        row passes nothing on: too large a CD step drives the units there
        (measured on digits, see :data:`COLLAPSED_SHARE`). The message names
        ``label`` (the layer) and the learning-rate parameter to lower. The
        one check of the standalone RBM and of every DBN's stack.
        """
        if not get_unit(self._hidden).bounded or H.shape[0] < 2:
            return False
        xp = backend_of(H).xp
        off = int(xp.count_nonzero(xp.max(H, axis=0) < COLLAPSED_LOW))
        on = int(xp.count_nonzero(xp.min(H, axis=0) > 1 - COLLAPSED_LOW))
        n_units = H.shape[1]
        if off + on < COLLAPSED_SHARE * n_units:
            return False
        warn(
            f"{label} collapsed: {off + on} of its {n_units} hidden units take "
            f"the same saturated value for every row ({off} never switch on, "
            f"{on} never switch off), so they pass nothing on. Lower its "
            f"{self._learning_rate_param} (wide layers over few inputs often "
            "need 0.01).",
            UserWarning,
        )
        return True

    def _warn_if_worse_than_the_means(self, V, H, label="The RBM", n_updates=None):
        """Warn when the layer reconstructs ``V`` worse than its column means.

        A model that learned anything reconstructs its training rows better
        than the column means (a ratio of 1, see :func:`reconstruction_ratio`).
        After :data:`AUTO_MIN_UPDATES` updates or more, one that ends
        above it was thrown off by too large a step; after fewer, it may
        simply not have learned yet (a 256-unit layer after 30 updates on
        digits: 1.11 to 1.19), and the message says both. ``label`` names the
        layer; ``n_updates`` is the number of CD updates it made (None: not
        counted). Returns whether it warned.
        """
        ratio = reconstruction_ratio(self, V, H)
        if ratio is None or not ratio > 1:
            return False
        lower = (
            f"lower {self._learning_rate_param} (a factor of 10 is a good first step)"
        )
        if n_updates is not None and n_updates < AUTO_MIN_UPDATES:
            advice = (
                f"after only {count(n_updates, 'CD update')} it has learned "
                "nothing yet, or its step is too large. Train longer (raise n_iter: "
                f"{AUTO_MIN_UPDATES} updates or more is usual), or {lower} "
                "if the reconstruction error grew during training."
            )
        else:
            advice = f"training has gone wrong. {lower.capitalize()}."
        warn(
            f"{label} reconstructs its training rows worse than predicting "
            f"every row by the column means ({ratio:.0%} of their error): " + advice,
            UserWarning,
        )
        return True

    def _check_inert_options(self):
        """Refuse, before any training, options that could not take effect.

        ``fit`` and ``partial_fit`` only: a DBN's stack passes its per-layer
        settings to every layer and checks its own parameters.
        """
        self._check_sparsity_units(self.hidden_unit)
        default = type(self)().sparsity_target
        if not self.sparsity_cost and self.sparsity_target != default:
            raise ValueError(
                f"sparsity_target={self.sparsity_target!r} acts through the "
                "sparsity penalty only, which sparsity_cost=0 turns off. Set "
                "sparsity_cost above 0 (0.01 to 0.1 is usual), or leave "
                f"sparsity_target at its default ({default})."
            )

    def _check_sparsity_units(self, hidden_unit):
        if self.sparsity_cost and not get_unit(hidden_unit).binary:
            raise ValueError(
                "sparsity_cost needs Bernoulli hidden units (the penalty pulls a "
                f"probability towards sparsity_target), not {hidden_unit!r}; "
                "set sparsity_cost=0."
            )

    def _sparsity_penalty(self):
        if not self.sparsity_cost:
            return None
        self._check_sparsity_units(self._hidden)
        return rbm_math.SparsityPenalty(
            self.sparsity_target, self.sparsity_cost, self.hidden_activity_
        )

    def _learning_rate(self):
        if self.learning_rate == "auto":
            return self._auto_learning_rate
        return self.learning_rate

    def _check_structure_unchanged(self):
        changed = [
            f"{name}={getattr(self, name)!r} (fitted with {fitted!r})"
            for name, fitted in zip(STRUCTURAL_PARAMS, self._structure)
            if getattr(self, name) != fitted
        ]
        if changed:
            raise ValueError(
                "partial_fit cannot change the structure of a fitted RBM: "
                + ", ".join(changed)
                + ". Call fit to train a new model with these parameters, or "
                "set them back."
            )

    def _initialize(self, X, rng, rows=None, visible=None):
        """Set weights, biases and training state from the first data seen."""
        backend = backend_of(X)
        dtype = backend.dtype(self.dtype)
        n_features = X.shape[1]
        self._rng = rng
        # Sampling (gibbs) draws from a generator of its own, seeded from a
        # copy of the training generator so that the training stream does not
        # advance: inspection between partial_fit calls changes nothing.
        self._sampling_rng = backend.make_rng(child_seed(copy.deepcopy(rng)))
        self._structure = tuple(getattr(self, name) for name in STRUCTURAL_PARAMS)
        self._visible = self.visible_unit if visible is None else visible
        self._hidden = self.hidden_unit
        # The CD step grows with the data's scale (the gradient is v h and
        # the curvature v v): data far outside the units' range get a step
        # as much smaller as their mean square is above 1, so that training
        # stays stable (fit has warned about the range).
        n_rows = count_rows(X, rows)
        mean_square = _sum_of_squares(X, rows) / max(1, n_rows * X.shape[1])
        self._auto_learning_rate = auto_learning_rate(
            self.visible_unit, self.hidden_unit
        ) / max(1.0, mean_square)
        self.learning_rate_ = self._learning_rate()
        # Drawn in float64 whatever the dtype, so that float32 and float64
        # models start from the same weights.
        self.components_ = backend.random_normal(
            rng, 0.01, (self.n_components, n_features), dtype
        )
        self.intercept_hidden_ = backend.zeros((self.n_components,), dtype)
        mean = _column_means(X, rows)
        visible = get_unit(self._visible)
        self.intercept_visible_ = backend.xp.astype(
            visible.initial_visible_bias(mean), dtype
        )
        # Momentum of the packed parameters (see pack_params).
        self._velocity = backend.zeros((self.n_components + 1, n_features + 1), dtype)
        self._persistent_hidden = None
        # The initial model's hidden means: small weights, zero biases.
        self.hidden_activity_ = backend.zeros(
            (self.n_components,), backend.dtype("float64")
        )
        self.hidden_activity_ += 0.5
        self.reconstruction_error_curve_ = []
        self.n_iter_ = 0

    def _train_epochs(self, X, n_epochs, task, rows=None):
        """``n_epochs`` epochs of mini-batch CD over ``X`` (or its rows ``rows``).

        Each epoch is a step of the package's one epoch loop
        (:func:`skdbn._training.epoch_loop`), reported to ``task``.
        """
        n_samples = count_rows(X, rows)
        batch_size = min(self.batch_size, n_samples)
        dtype = self.components_.dtype
        backend = backend_of(self.components_)
        workspace = rbm_math.CDWorkspace(
            batch_size, X.shape[1], self.components_.shape[0], dtype, backend
        )
        shape = (self.components_.shape[0] + 1, self.components_.shape[1] + 1)
        if tuple(self._velocity.shape) != shape or self._velocity.dtype != dtype:
            # components_ was assigned another shape or dtype: start afresh.
            self._velocity = backend.zeros(shape, dtype)
            self._persistent_hidden = None
        self._rng = backend.adopt_rng(self._rng)
        if self.persistent:
            self._ensure_persistent_chain(batch_size)

        def run_epoch():
            momentum = (
                self.initial_momentum
                if self.n_iter_ < INITIAL_MOMENTUM_EPOCHS
                else self.momentum
            )
            # The parameters are trained packed in one matrix (biases
            # included) and written back after the epoch, also when it is
            # cut short.
            packed = rbm_math.pack_params(*self._params())
            try:
                total_error = self._run_batches(
                    X, n_samples, batch_size, workspace, momentum, packed, rows
                )
            finally:
                rbm_math.unpack_params(packed, *self._params())
            return total_error / n_samples

        def after_epoch(error):
            # With Bernoulli visible units the error is bounded: exploding
            # weights are the sign of divergence there.
            check_weight_growth(self.components_, self._learning_rate_param)
            self.reconstruction_error_curve_.append(error)
            self.learning_rate_ = self._learning_rate()
            self.n_iter_ += 1
            return {"learning_rate": self.learning_rate_}

        epoch_loop(
            run_epoch,
            n_epochs=n_epochs,
            threads=stage_threads(batch_size, [self.components_]),
            params=self._params,
            label="RBM training",
            quantity="RBM reconstruction error",
            learning_rate_name=self._learning_rate_param,
            task=task,
            after_epoch=after_epoch,
        )

    def _run_batches(
        self, X, n_samples, batch_size, workspace, momentum, packed, rows=None
    ):
        """CD steps over one epoch's batches; returns the summed error.

        Raises :class:`TrainingDivergedError` as soon as a batch's error per
        row explodes past the epoch's first batch's.
        """
        total_error = 0.0
        reference = None
        sparsity = self._sparsity_penalty()
        backend = backend_of(packed)
        for batch in minibatches(n_samples, batch_size, self._rng, rows, backend):
            n_rows = batch.shape[0]
            load_batch(X, batch, workspace.batch(n_rows))
            error = rbm_math.cd_step(
                n_rows,
                packed,
                self._velocity,
                workspace,
                visible_unit=self._visible,
                hidden_unit=self._hidden,
                learning_rate=self._learning_rate(),
                momentum=momentum,
                weight_decay=self.weight_decay,
                n_gibbs_steps=self.n_gibbs_steps,
                rng=self._rng,
                persistent_hidden=self._persistent_hidden,
                sparsity=sparsity,
            )
            error = backend.to_float(error)
            per_row = error / n_rows
            if reference is None:
                reference = max(per_row, DIVERGENCE_FLOOR)
            elif not per_row <= DIVERGENCE_FACTOR * reference:
                raise TrainingDivergedError(
                    "Training diverged: the RBM reconstruction error per row "
                    f"grew from {reference:.4g} to {per_row:.4g} within an "
                    f"epoch. Lower {self._learning_rate_param} (a factor of 10 "
                    "is a good first step); standardised inputs also help with "
                    "Gaussian or ReLU units."
                )
            total_error += error
        return total_error

    def _ensure_persistent_chain(self, batch_size):
        chain = self._persistent_hidden
        if chain is None or chain.shape[0] < batch_size:
            # Start the chains from the hidden units' own biases.
            unit = get_unit(self._hidden)
            b_h = self.intercept_hidden_
            pre = backend_of(b_h).zeros((batch_size, b_h.shape[0]), b_h.dtype)
            pre += b_h[None, :]
            states = unit.sample(pre, self._rng)
            self._persistent_hidden = rbm_math.persistent_chain(states)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = [self.dtype]
        tags.array_api_support = True
        return tags


def _row_chunks(X, rows, chunk_bytes=2**20):
    """Dense chunks of (the rows ``rows`` of) dense ``X``, about 1 MiB each."""
    n_rows = count_rows(X, rows)
    backend = backend_of(X)
    xp = backend.xp
    info = xp.finfo if xp.isdtype(X.dtype, "real floating") else xp.iinfo
    itemsize = info(X.dtype).bits // 8
    chunk_rows = max(1, chunk_bytes // max(1, X.shape[1] * itemsize))
    for start in range(0, n_rows, chunk_rows):
        yield backend.cast(take_rows(X, start, start + chunk_rows, rows), X.dtype)


def _sum_of_squares(X, rows=None):
    """``sum(X ** 2)`` of (rows of) dense or sparse ``X``, chunk by chunk."""
    backend = backend_of(X)
    if sp.issparse(X):
        data = (X if rows is None else X[rows]).data
        return backend.squared_norm(data) if data.size else 0.0
    # (Summed where the chunks are, read back once.)
    total = sum(backend.squared_norm(chunk) for chunk in _row_chunks(X, rows))
    return backend.to_float(total)


def _column_means(X, rows=None):
    """Column means, in float64, of (rows of) dense or sparse ``X``."""
    n_rows = count_rows(X, rows)
    if sp.issparse(X):
        X = X if rows is None else X[rows]
        sums = np.bincount(X.indices, weights=X.data, minlength=X.shape[1])
    else:
        xp = backend_of(X).xp
        sums = sum(
            xp.sum(chunk, axis=0, dtype=xp.float64) for chunk in _row_chunks(X, rows)
        )
    return sums / max(1, n_rows)


def reconstruction_ratio(rbm, V, H):
    """Mean-field reconstruction error of rows ``V`` over their total variance.

    ``H`` holds the hidden means of ``V``. The error is that of the
    deterministic down pass from ``H``; the reference, the error of the
    column means (the sum of the columns' variances), is what a layer that
    learned nothing achieves. None for rows without variance.
    """
    if hasattr(V, "toarray"):
        V = V.toarray()
    backend = backend_of(H)
    V = as_dtype(V, H.dtype)
    # One buffer of the sample's size, reused (early stopping's memory test
    # bounds what a fit may allocate beyond its input).
    with np.errstate(over="ignore", invalid="ignore"):
        R = rbm_math.visible_means(
            H, rbm.components_, rbm.intercept_visible_, rbm._visible
        )
        R -= V
        error = float(backend.squared_norm(R))
        R[...] = V
        R -= backend.xp.mean(V, axis=0)
        total = float(backend.squared_norm(R))
    if not total > 0 or not math.isfinite(error):
        return None
    return error / total
