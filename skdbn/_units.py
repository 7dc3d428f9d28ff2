"""Unit types shared by the RBM layers and the unrolled network.

Each unit type knows how to turn a pre-activation into its mean (in place),
how to draw a sample around that mean, how to scale a back-propagated error
by its derivative, and its contribution to an RBM's free energy. The RBM
numerics and the feed-forward network both go through these objects, so a
unit type is written once.
"""

import numpy as np


def logistic_inplace(x):
    """Logistic function computed in place through tanh.

    ``0.5 * tanh(0.5 * x) + 0.5`` is the logistic function exactly, never
    overflows and runs several times faster than ``scipy.special.expit`` on
    float32 arrays.
    """
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def softplus(x):
    """``log(1 + exp(x))`` without overflow."""
    return np.logaddexp(0, x)


class BernoulliUnit:
    """Binary stochastic units with logistic mean (the classic RBM unit)."""

    name = "bernoulli"
    bounded = True  # means lie in [0, 1]

    def activate(self, pre):
        return logistic_inplace(pre)

    def sample(self, mean, rng, out):
        rng.random(dtype=out.dtype, out=out)
        np.less(out, mean, out=out)  # writes 0.0/1.0 in the float buffer
        return out

    def scale_by_derivative(self, delta, activation):
        delta *= activation
        delta *= 1 - activation
        return delta

    def free_energy_term(self, pre):
        # -log sum_h exp(h * pre) over h in {0, 1}
        return -softplus(pre).sum(axis=1)


class GaussianUnit:
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


class ReLUUnit:
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


class SoftmaxUnit:
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
