"""Unit types shared by the RBM layers and the unrolled network.

Each unit type knows how to turn a pre-activation into its mean (in place),
how to draw a sample around that mean, how to scale a back-propagated error
by its derivative, and its contribution to an RBM's free energy. The RBM
numerics and the feed-forward network both go through these objects, so a
unit type is written once.
"""

import numpy as np
import scipy.sparse as sp

from ._blas import gemm


def logistic_inplace(x):
    """Logistic function computed in place through tanh.

    ``0.5 * tanh(0.5 * x) + 0.5`` is the logistic function exactly, never
    overflows and runs several times faster than ``scipy.special.expit`` on
    float32 arrays.
    """
    x *= 0.5
    return _logistic_of_half(x)


def _logistic_of_half(half_x, sign=1.0):
    """``sign`` times the logistic function of ``x``, in place, given ``0.5 * x``."""
    np.tanh(half_x, out=half_x)
    half_x *= 0.5 * sign
    half_x += 0.5 * sign
    return half_x


def uniform(rng, out):
    """Fill ``out`` with uniform numbers in [0, 1) drawn from ``rng``.

    For float32 the generator's raw 64-bit words are split into two 32-bit
    ones whose top 23 bits become the mantissa of a float in [1, 2), minus 1:
    about 1.7 times as fast as ``rng.random(dtype=np.float32)``, which fetches
    its numbers one function call at a time. Other dtypes use
    ``rng.random``.
    """
    if out.dtype != np.float32 or not out.flags.c_contiguous:
        return rng.random(dtype=out.dtype, out=out)
    bits = out.reshape(-1).view(np.uint32)
    raw = rng.bit_generator.random_raw((bits.size + 1) // 2)
    np.right_shift(raw.view(np.uint32)[: bits.size], 9, out=bits)
    np.bitwise_or(bits, 0x3F800000, out=bits)  # exponent of 1.0
    out -= 1
    return out


def softplus(x):
    """``log(1 + exp(x))`` without overflow."""
    return np.logaddexp(0, x)


class Unit:
    """What every unit type shares.

    ``activate_scaled`` is ``activate`` for a pre-activation already
    multiplied by ``input_scale``: a matrix product can apply that factor
    for free (its ``alpha``), which saves the logistic function a pass. Its
    ``sign=-1`` negates the result, free for the logistic (the CD gradient
    product takes the negative phase negated).
    """

    input_scale = 1.0

    def activate_scaled(self, pre, sign=1.0):
        out = self.activate(pre)
        if sign != 1:
            out *= sign
        return out


class BernoulliUnit(Unit):
    """Binary stochastic units with logistic mean (the classic RBM unit)."""

    name = "bernoulli"
    bounded = True  # means lie in [0, 1]
    input_scale = 0.5

    def activate(self, pre):
        return logistic_inplace(pre)

    def activate_scaled(self, pre, sign=1.0):
        return _logistic_of_half(pre, sign)

    def sample(self, mean, rng, out):
        uniform(rng, out)
        np.less(out, mean, out=out)  # writes 0.0/1.0 in the float buffer
        return out

    def scale_by_derivative(self, delta, activation):
        delta *= activation
        delta *= 1 - activation
        return delta

    def free_energy_term(self, pre):
        # -log sum_h exp(h * pre) over h in {0, 1}
        return -softplus(pre).sum(axis=1)


class GaussianUnit(Unit):
    """Linear units with unit-variance Gaussian noise.

    Used for real-valued (standardised) visible data and for the linear code
    layer of a deep autoencoder (Hinton & Salakhutdinov, 2006).
    """

    name = "gaussian"
    bounded = False

    def activate(self, pre):
        return pre

    def sample(self, mean, rng, out):
        rng.standard_normal(dtype=out.dtype, out=out)
        out += mean
        return out

    def scale_by_derivative(self, delta, activation):
        return delta

    def free_energy_term(self, pre):
        # -log of the Gaussian integral over h, up to a constant
        return -0.5 * np.einsum("ij,ij->i", pre, pre)


class ReLUUnit(Unit):
    """Noisy rectified linear units (Nair & Hinton, 2010).

    The mean is ``max(0, x)``; a sample is ``max(0, x + N(0, sigmoid(x)))``.
    """

    name = "relu"
    bounded = False

    def activate(self, pre):
        return np.maximum(pre, 0, out=pre)

    def sample(self, mean, rng, out):
        # The noise variance is sigmoid(x) of the pre-activation; for x > 0 the
        # mean equals x, and where x <= 0 the logistic of 0 (0.5) bounds it.
        rng.standard_normal(dtype=out.dtype, out=out)
        variance = logistic_inplace(mean.copy())
        np.sqrt(variance, out=variance)
        out *= variance
        out += mean
        return np.maximum(out, 0, out=out)

    def scale_by_derivative(self, delta, activation):
        delta *= activation > 0
        return delta

    def free_energy_term(self, pre):
        # Treat the rectified unit as a Gaussian unit clipped at zero: the
        # integral over h >= 0 of exp(h * pre - h^2 / 2).
        positive = np.maximum(pre, 0)
        return -0.5 * np.einsum("ij,ij->i", positive, positive)


class SoftmaxUnit(Unit):
    """Softmax over a row: the output layer of a classifier (never sampled)."""

    name = "softmax"
    bounded = True

    def activate(self, pre):
        pre -= pre.max(axis=1, keepdims=True)
        np.exp(pre, out=pre)
        pre /= pre.sum(axis=1, keepdims=True)
        return pre


UNITS = {
    "softmax": SoftmaxUnit(),
    "bernoulli": BernoulliUnit(),
    "gaussian": GaussianUnit(),
    "relu": ReLUUnit(),
}
VISIBLE_UNITS = ("bernoulli", "gaussian")
HIDDEN_UNITS = ("bernoulli", "gaussian", "relu")


def get_unit(name):
    """Return the shared unit object called ``name``."""
    return UNITS[name]


def activate_affine(A, W, b, unit, *, trans_b=False, out=None, coef_scale=1.0):
    """``unit``'s activation of ``A @ op(coef_scale * W) + b``, dense or CSR ``A``.

    ``op(W)`` is ``W.T`` when ``trans_b``. The result goes into ``out`` when
    given. Dense products go through the training BLAS (:mod:`skdbn._blas`).
    BLAS with ``beta=0`` first zeroes its output, so the product starts from
    the biases with ``beta=1`` instead, which saves that pass and the bias
    addition's; its ``alpha`` applies ``coef_scale`` and the unit's
    ``input_scale``.
    """
    unit = get_unit(unit) if isinstance(unit, str) else unit
    if out is None:
        n_out = W.shape[0] if trans_b else W.shape[1]
        out = np.empty((A.shape[0], n_out), dtype=W.dtype)
    scale = unit.input_scale
    if sp.issparse(A):
        out[...] = A @ (W.T if trans_b else W)
        if coef_scale != 1:
            out *= coef_scale
        out += b
        out *= scale
    else:
        np.multiply(b, scale, out=out)
        gemm(A, W, out, alpha=scale * coef_scale, beta=1.0, trans_b=trans_b)
    return unit.activate_scaled(out)
