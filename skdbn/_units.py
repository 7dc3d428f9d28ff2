"""Unit types shared by the RBM layers and the unrolled network.

A unit type knows everything that depends on it, so no other module compares
unit names: how a pre-activation becomes its mean (in place), how a sample is
drawn from the pre-activation, how a back-propagated error is scaled by its
derivative, its term of an RBM's free energy, its loss as an output layer,
its initialisation, the biases it starts from as a visible layer and the data
range it models.

Every method that takes a pre-activation ``pre`` also has a ``*_scaled``
form taking ``input_scale * pre``: a matrix product applies that factor for
free through its ``alpha``, which saves the logistic function a pass (it is
computed on NumPy as ``0.5 * tanh(0.5 * x) + 0.5``).
"""

import functools
import re

import numpy as np
import scipy.sparse as sp

from ._backend import NUMPY, backend_of


def logistic_inplace(x):
    """Logistic function computed in place (see
    :meth:`skdbn._backend.Backend.logistic_of_half_`)."""
    x *= 0.5
    return _logistic_of_half(x)


def _logistic_of_half(half_x):
    """The logistic function of ``x``, in place, given ``0.5 * x``."""
    return backend_of(half_x).logistic_of_half_(half_x)


def uniform(rng, out):
    """Fill ``out`` with uniform numbers in [0, 1) drawn from ``rng``.

    ``rng`` is a generator of ``out``'s backend (see
    :meth:`skdbn._backend.NumpyBackend.make_rng`).
    """
    return backend_of(out).uniform_(rng, out)


def standard_normal(rng, out):
    """Fill ``out`` with standard normal numbers drawn from ``rng``."""
    return backend_of(out).normal_(rng, out)


def softplus(x):
    """``log(1 + exp(x))`` without overflow."""
    return backend_of(x).softplus(x)


def _row_sum_of_squares(x):
    return backend_of(x).row_sum_of_squares(x)


def _namespace(x):
    return backend_of(x).xp


class Unit:
    """What every unit type shares; subclasses fill in their own knowledge.

    Attributes
    ----------
    name : str
        The name the estimators' parameters use.
    input_scale : float
        Factor the ``*_scaled`` methods expect their pre-activation times.
    bounded : bool
        Whether means lie in [0, 1]: a layer above such units models them as
        Bernoulli visible units, otherwise as Gaussian ones.
    binary : bool
        Whether states are 0 or 1 (a visible layer's exact
        pseudo-likelihood flips them).
    glorot_factor : float
        Weights of a layer of these units start uniform in ``+-sqrt(factor /
        (fan_in + fan_out))`` without pretraining: 2 for logistic units, 6
        otherwise (Glorot & Bengio, 2010; scikit-learn's MLP).
    """

    input_scale = 1.0
    bounded = False
    binary = False
    glorot_factor = 6.0

    def activate(self, pre):
        """Turn the pre-activation into the mean, in place."""
        return self.activate_scaled(self._scaled(pre))

    def activate_scaled(self, scaled):
        """:meth:`activate` of ``scaled = input_scale * pre``, in place."""
        raise NotImplementedError

    def sample(self, pre, rng, out=None):
        """A sample of each unit given its pre-activation (``pre`` is kept)."""
        backend = backend_of(pre)
        scaled = self._scaled(backend.copy(pre))
        if out is None:
            out = backend.empty(pre.shape, pre.dtype)
        self.activate_and_sample_scaled(scaled, rng, out)
        return out

    def activate_and_sample_scaled(self, scaled, rng, out):
        """Means into ``scaled`` (in place) and a sample into ``out``.

        ``scaled`` holds ``input_scale`` times the pre-activation; ``out``
        must be another array of the same shape.
        """
        raise NotImplementedError

    def scale_by_derivative(self, delta, activation):
        """Multiply a back-propagated error by the derivative, in place."""
        raise NotImplementedError

    def free_energy_term(self, pre):
        """``-log`` of the integral over a row's units of ``exp(h * pre)``.

        The hidden units' part of an RBM's free energy, per row, up to an
        additive constant.
        """
        raise NotImplementedError(f"{self.name} units have no free energy")

    def loss(self, output, Y, weights=None):
        """Mean over rows of this output layer's loss summed over outputs.

        With ``weights`` (one per row), the weighted mean
        ``sum_i w_i * loss_i / sum_i w_i``.
        """
        xp = _namespace(output)
        terms = self.loss_terms(output, Y)
        if weights is None:
            return float(xp.sum(terms)) / output.shape[0]
        return float(xp.sum(weights * xp.sum(terms, axis=1))) / float(xp.sum(weights))

    def loss_terms(self, output, Y):
        """This output layer's loss of each output of each row."""
        raise ValueError(f"no loss is defined for {self.name!r} output units")

    # What a visible layer of these units needs.

    def visible_energy(self, V, b_v):
        """The visible units' part of the free energy of each row of ``V``."""
        raise NotImplementedError(f"{self.name} units cannot be visible")

    def initial_visible_bias(self, column_means):
        """Visible biases to start from, given the data's column means."""
        raise NotImplementedError(f"{self.name} units cannot be visible")

    def range_problem(self, low, high):
        """Why data in ``[low, high]`` does not suit these units, or None."""
        return None

    def untrainable(self, values, low, high):
        """Why these values (with a :meth:`range_problem`) cannot be trained on."""
        return None

    def _scaled(self, pre):
        if self.input_scale != 1:
            pre *= self.input_scale
        return pre


class BernoulliUnit(Unit):
    """Binary stochastic units with logistic mean (the classic RBM unit)."""

    name = "bernoulli"
    bounded = True
    binary = True
    input_scale = 0.5
    glorot_factor = 2.0

    # Integer data past [0, 1] by more than COUNTS_BEYOND are raw counts or
    # 0-255 pixels; any data past it by more than ANY_BEYOND is unscaled. CD
    # cannot train binary units on either: every hidden unit saturates and
    # the layer outputs the same for every row.
    COUNTS_BEYOND = 10.0
    ANY_BEYOND = 1000.0

    def activate_scaled(self, scaled):
        return _logistic_of_half(scaled)

    def activate_and_sample_scaled(self, scaled, rng, out):
        mean = self.activate_scaled(scaled)
        return backend_of(out).bernoulli_(rng, mean, out)  # 0.0/1.0 floats

    def scale_by_derivative(self, delta, activation):
        delta *= activation
        delta *= 1 - activation
        return delta

    def free_energy_term(self, pre):
        # -log sum_h exp(h * pre) over h in {0, 1}
        return -_namespace(pre).sum(softplus(pre), axis=1)

    def loss_terms(self, output, Y):
        xp = _namespace(output)
        eps = float(xp.finfo(output.dtype).eps)
        p = backend_of(output).clip(output, eps, 1 - eps)
        return -(Y * xp.log(p) + (1 - Y) * xp.log1p(-p))

    def visible_energy(self, V, b_v):
        return -row_dot(V, b_v)

    def initial_visible_bias(self, column_means):
        # Hinton's practical guide §8: log(p / (1 - p)) of the data.
        xp = _namespace(column_means)
        p = backend_of(column_means).clip(column_means, 1e-3, 1 - 1e-3)
        return xp.log(p / (1 - p))

    def untrainable(self, values, low, high):
        if low < -self.ANY_BEYOND or high > 1 + self.ANY_BEYOND:
            return "Values this far from [0, 1] cannot be trained on."
        if (low < -self.COUNTS_BEYOND or high > 1 + self.COUNTS_BEYOND) and bool(
            _namespace(values).all(values == _namespace(values).trunc(values))
        ):
            if low >= 0:
                fix = (
                    f"divide by the largest possible value: the data reach "
                    f"{high:g}, so X / {high:g} if that is the scale's top "
                    "(X / 255 for 8-bit images), or MinMaxScaler(clip=True) "
                    "in a pipeline."
                )
            else:
                fix = "scale them, for example with MinMaxScaler(clip=True)."
            return (
                "These whole numbers look like raw counts or pixel intensities, "
                f"which binary units cannot be trained on: {fix}"
            )
        return None

    def range_problem(self, low, high):
        if low >= 0 and high <= 1:
            return None
        return (
            f"Bernoulli visible units model values in [0, 1], but the data "
            f"range over [{low:.4g}, {high:.4g}]. Scale it with "
            "sklearn.preprocessing.MinMaxScaler(clip=True), or standardise it "
            "and use visible_unit='gaussian'."
        )


class GaussianUnit(Unit):
    """Linear units with unit-variance Gaussian noise.

    Used for real-valued (standardised) visible data and for the linear code
    layer of a deep autoencoder (Hinton & Salakhutdinov, 2006). Given its
    input ``x`` a unit is ``N(x, 1)``: the energy term ``h**2 / 2 - x * h``.
    """

    name = "gaussian"

    def activate_scaled(self, scaled):
        return scaled

    def activate_and_sample_scaled(self, scaled, rng, out):
        standard_normal(rng, out)
        out += scaled
        return out

    def scale_by_derivative(self, delta, activation):
        return delta

    def free_energy_term(self, pre):
        # -log of the integral of exp(h * pre - h**2 / 2) over the real line,
        # sqrt(2 pi) exp(pre**2 / 2), without the constant.
        return -0.5 * _row_sum_of_squares(pre)

    def loss_terms(self, output, Y):
        diff = output - Y
        diff *= diff
        diff *= 0.5
        return diff

    def visible_energy(self, V, b_v):
        return 0.5 * _row_sum_of_squares(V - b_v)

    def initial_visible_bias(self, column_means):
        return column_means


class ReLUUnit(Unit):
    """Noisy rectified linear units (Nair & Hinton, 2010).

    The mean is ``max(0, x)``; a sample is ``max(0, x + N(0, sigmoid(x)))``,
    drawn from the pre-activation ``x``. For the free energy the unit is a
    rectified Gaussian unit, energy ``h**2 / 2 - x * h`` for ``h >= 0``,
    whose integral has a closed form; Nair & Hinton's sampler approximates
    that family rather than matching its conditional exactly.
    """

    name = "relu"

    def activate_scaled(self, scaled):
        return backend_of(scaled).clip_min_(scaled, 0)

    def activate_and_sample_scaled(self, scaled, rng, out):
        backend = backend_of(out)
        standard_normal(rng, out)
        std = logistic_inplace(backend.copy(scaled))  # noise variance sigmoid(x)
        backend.sqrt_(std)
        out *= std
        out += scaled
        backend.clip_min_(out, 0)
        self.activate_scaled(scaled)
        return out

    def scale_by_derivative(self, delta, activation):
        delta *= _namespace(delta).astype(activation > 0, delta.dtype)
        return delta

    def free_energy_term(self, pre):
        # -log of the integral over h >= 0 of exp(h * pre - h**2 / 2), which
        # is sqrt(2 pi) exp(pre**2 / 2) Phi(pre), without the constant.
        backend = backend_of(pre)
        return -(
            0.5 * _row_sum_of_squares(pre)
            + backend.xp.sum(backend.log_ndtr(pre), axis=1)
        )


class SoftmaxUnit(Unit):
    """Softmax over a row: a classifier's output, or one-of-K label units.

    As units of an RBM (the label units of a generative DBN's top layer) a
    row's units form one K-valued variable: a sample is one-hot, drawn from
    the softmax probabilities, and the energy is linear in the state, as for
    Bernoulli units.
    """

    name = "softmax"
    bounded = True

    def activate_scaled(self, scaled):
        backend = backend_of(scaled)
        scaled -= backend.xp.max(scaled, axis=1, keepdims=True)
        backend.exp_(scaled)
        scaled /= backend.xp.sum(scaled, axis=1, keepdims=True)
        return scaled

    def activate_and_sample_scaled(self, scaled, rng, out):
        backend = backend_of(out)
        xp = backend.xp
        mean = self.activate_scaled(scaled)
        u = uniform(rng, backend.empty((mean.shape[0], 1), mean.dtype))
        # The chosen unit is the first whose cumulative probability passes u.
        passed = xp.cumulative_sum(mean, axis=1) < u
        chosen = xp.sum(xp.astype(passed, xp.int64), axis=1)
        chosen = xp.clip(chosen, None, mean.shape[1] - 1)  # rounding at the top
        columns = xp.arange(mean.shape[1], device=backend.device)
        out[...] = xp.astype(columns[None, :] == chosen[:, None], out.dtype)
        return out

    def visible_energy(self, V, b_v):
        return -row_dot(V, b_v)

    def initial_visible_bias(self, column_means):
        # log of each label's frequency: the softmax of the biases alone.
        xp = _namespace(column_means)
        return xp.log(backend_of(column_means).clip(column_means, 1e-3, None))

    def loss_terms(self, output, Y):
        xp = _namespace(output)
        eps = float(xp.finfo(output.dtype).eps)
        return -(Y * xp.log(backend_of(output).clip(output, eps, None)))


class LabelJoinedUnit(Unit):
    """A visible layer of one-of-K label units followed by feature units.

    The visible layer of a generative DBN's top RBM (Hinton, Osindero & Teh,
    2006): its first ``n_labels`` columns are softmax label units, the rest
    are units of type ``features`` (the penultimate layer's states). The
    labels come first so that a trailing column of ones (see
    :func:`skdbn._rbm_numerics.pack_params`) falls among the features.

    Parameters
    ----------
    n_labels : int
    features : str
        Unit type of the feature columns.
    """

    binary = False  # the label columns are not independent bits

    def __init__(self, n_labels, features="bernoulli"):
        self.n_labels = int(n_labels)
        self.features = get_unit(features)
        self.labels = UNITS["softmax"]
        self.name = f"{self.n_labels} labels + {self.features.name}"
        self.input_scale = self.features.input_scale
        self.bounded = self.features.bounded

    def _split(self, scaled):
        """The label and feature columns; the labels rescaled to ``pre``."""
        labels = scaled[:, : self.n_labels]
        if self.input_scale != 1:
            labels *= 1 / self.input_scale
        return labels, scaled[:, self.n_labels :]

    def activate_scaled(self, scaled):
        labels, features = self._split(scaled)
        self.labels.activate_scaled(labels)
        self.features.activate_scaled(features)
        return scaled

    def activate_and_sample_scaled(self, scaled, rng, out):
        labels, features = self._split(scaled)
        k = self.n_labels
        self.labels.activate_and_sample_scaled(labels, rng, out[:, :k])
        self.features.activate_and_sample_scaled(features, rng, out[:, k:])
        return out

    def visible_energy(self, V, b_v):
        k = self.n_labels
        return self.labels.visible_energy(
            V[:, :k], b_v[:k]
        ) + self.features.visible_energy(V[:, k:], b_v[k:])

    def initial_visible_bias(self, column_means):
        k = self.n_labels
        return _namespace(column_means).concat(
            [
                self.labels.initial_visible_bias(column_means[:k]),
                self.features.initial_visible_bias(column_means[k:]),
            ]
        )

    def __reduce__(self):
        # Unpickled, the feature units are the shared objects again.
        return LabelJoinedUnit, (self.n_labels, self.features.name)

    def __eq__(self, other):
        return isinstance(other, LabelJoinedUnit) and (
            (self.n_labels, self.features.name) == (other.n_labels, other.features.name)
        )

    def __hash__(self):
        return hash((self.n_labels, self.features.name))


UNITS = {
    "softmax": SoftmaxUnit(),
    "bernoulli": BernoulliUnit(),
    "gaussian": GaussianUnit(),
    "relu": ReLUUnit(),
}
VISIBLE_UNITS = ("bernoulli", "gaussian")
HIDDEN_UNITS = ("bernoulli", "gaussian", "relu")


def get_unit(unit):
    """The shared unit object called ``unit`` (a unit object passes through).

    Besides the names of :data:`UNITS`, a :class:`LabelJoinedUnit`'s name
    (``"10 labels + bernoulli"``, see :func:`label_joined_unit`) gives that
    unit, so that estimators keep their units as names: plain data, which
    ``skops.io`` loads without trusting a private class.
    """
    if not isinstance(unit, str):
        return unit
    found = UNITS.get(unit)
    return _label_joined_unit(unit) if found is None else found


def label_joined_unit(n_labels, features):
    """The name of the :class:`LabelJoinedUnit` of ``n_labels`` and ``features``.

    :func:`get_unit` turns the name back into the unit.
    """
    return LabelJoinedUnit(n_labels, features).name


@functools.cache
def _label_joined_unit(name):
    match = re.fullmatch(r"(\d+) labels \+ (\w+)", name)
    if match is None or match[2] not in UNITS:
        raise KeyError(name)  # as for any unknown unit name
    return LabelJoinedUnit(int(match[1]), match[2])


def visible_unit_above(hidden_unit):
    """Unit type modelling a layer's hidden activations as the next layer's data."""
    return "bernoulli" if get_unit(hidden_unit).bounded else "gaussian"


# CD learning rates from Hinton's practical guide: binary units tolerate 0.1;
# real-valued units need far smaller steps (the 2006 autoencoder used 0.001
# for its linear code layer).
AUTO_LEARNING_RATES = {
    ("bernoulli", "bernoulli"): 0.1,
    ("gaussian", "bernoulli"): 0.01,
}
AUTO_LEARNING_RATE_REAL_HIDDEN = 0.001


def auto_learning_rate(visible_unit, hidden_unit):
    """The default CD learning rate for a layer with these unit types."""
    return AUTO_LEARNING_RATES.get(
        (visible_unit, hidden_unit), AUTO_LEARNING_RATE_REAL_HIDDEN
    )


def glorot_uniform(shape, fan_in, fan_out, unit, rng, dtype, backend=NUMPY):
    """Weights drawn as scikit-learn's ``MLPClassifier`` draws them.

    Uniform in ``+-sqrt(factor / (fan_in + fan_out))``, the factor being
    ``unit``'s :attr:`Unit.glorot_factor` (Glorot & Bengio, 2010); on
    ``backend``, from its generator ``rng``.
    """
    bound = float(np.sqrt(get_unit(unit).glorot_factor / (fan_in + fan_out)))
    return backend.random_uniform(rng, -bound, bound, shape, dtype)


def affine(A, W, b=None, *, trans_b=False, scale=1.0, out=None):
    """``scale * (A @ op(W) + b)``, dense or CSR ``A`` (``b`` None: no bias).

    ``op(W)`` is ``W.T`` when ``trans_b``; ``A``, ``W``, ``b`` and ``out``
    share one dtype (the callers cast first: BLAS would silently compute in
    ``W``'s). The result goes into ``out`` when given. Every dense product
    of skdbn's training, prediction, sampling, likelihoods and pictures runs
    here or in the backend's ``gemm``, on the training BLAS
    (:mod:`skdbn._blas`), never NumPy's ``@``, whose BLAS is another library
    with its own thread pool (see :mod:`skdbn._threads`; a test scans the
    package for such calls). BLAS with ``beta=0`` first zeroes its output,
    so the product starts from the biases with ``beta=1`` instead, which
    saves that pass and the bias addition's; ``alpha`` applies ``scale``.
    """
    backend = backend_of(W)
    if out is None:
        n_out = W.shape[0] if trans_b else W.shape[1]
        out = backend.empty((A.shape[0], n_out), W.dtype)
    if sp.issparse(A):
        out[...] = A @ (W.T if trans_b else W)
        if b is not None:
            out += b
        if scale != 1:
            out *= scale
        return out
    if b is None:
        return backend.gemm(A, W, out, alpha=scale, trans_b=trans_b)
    backend.fill_scaled(out, b, scale)
    return backend.gemm(A, W, out, alpha=scale, beta=1.0, trans_b=trans_b)


def row_dot(V, b):
    """``V @ b`` for a vector ``b``: each row's dot product, on the training BLAS."""
    return affine(V, b[None, :], trans_b=True)[:, 0]


def activate_affine(A, W, b, unit, *, trans_b=False, out=None):
    """``unit``'s activation of ``A @ op(W) + b``, dense or CSR ``A``.

    ``op(W)`` is ``W.T`` when ``trans_b``; the result goes into ``out`` when
    given. The product is :func:`affine`'s, scaled by the unit's
    ``input_scale``.
    """
    unit = get_unit(unit)
    out = affine(A, W, b, trans_b=trans_b, scale=unit.input_scale, out=out)
    return unit.activate_scaled(out)
