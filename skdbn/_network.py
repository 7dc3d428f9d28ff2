"""The unrolled feed-forward network: forward and backward passes, losses.

A network is a list of layers, each a weight matrix of shape
``(fan_in, fan_out)`` (scikit-learn's ``coefs_`` layout), a bias vector and a
unit type from :mod:`skdbn._units`. The last layer's unit type fixes the loss,
always its canonical pairing, so the output error is ``prediction - target``:

- ``"softmax"``: cross-entropy over classes (classification);
- ``"bernoulli"``: binary cross-entropy per output (reconstructing [0, 1]
  data);
- ``"gaussian"``: squared error (regression, reconstructing real values).
"""

import numpy as np
import scipy.sparse as sp

from ._backend import backend_of
from ._threads import limited, prediction_threads
from ._units import activate_affine, get_unit, uniform
from ._utils import count_rows, take_rows


class Network:
    """Weights and unit types of a feed-forward net.

    Parameters
    ----------
    coefs : list of ndarray
        Weight matrices, ``coefs[i]`` of shape ``(fan_in, fan_out)``.
    intercepts : list of ndarray
        Bias vectors, one per layer.
    units : list of str
        Unit type of each layer, the output layer's last.
    """

    def __init__(self, coefs, intercepts, units):
        if not len(coefs) == len(intercepts) == len(units):
            raise ValueError("coefs, intercepts and units must have equal length")
        self.coefs = coefs
        self.intercepts = intercepts
        self.units = list(units)

    @property
    def params(self):
        return self.coefs + self.intercepts

    def copy_params(self):
        return [backend_of(p).copy(p) for p in self.params]

    def set_params(self, values):
        for param, value in zip(self.params, values):
            param[...] = value

    def layers(self, start, stop=None):
        """The sub-network of layers ``start:stop``, sharing the arrays."""
        part = slice(start, stop)
        return Network(self.coefs[part], self.intercepts[part], self.units[part])


def forward(net, X, *, dropout=0.0, rng=None):
    """Forward pass.

    Returns the list of activations (``X`` first, then each hidden layer's
    activations before dropout, then the output) and the dropout masks, one
    per activation (``None`` where no dropout applied); a layer's input is its
    activation times its mask.
    """
    activations = [X]
    masks = [None]
    n_layers = len(net.coefs)
    for i, (W, b, unit) in enumerate(zip(net.coefs, net.intercepts, net.units)):
        A = activations[-1] if masks[-1] is None else activations[-1] * masks[-1]
        pre = activate_affine(A, W, b, unit)
        mask = None
        if dropout > 0 and rng is not None and i + 1 < n_layers:
            # Inverted dropout: kept units are scaled up during training so
            # that nothing changes at prediction time.
            backend = backend_of(pre)
            mask = uniform(rng, backend.empty(pre.shape, pre.dtype))
            backend.greater_equal_(mask, dropout)
            mask *= 1 / (1 - dropout)
        activations.append(pre)
        masks.append(mask)
    return activations, masks


# Prediction runs in blocks of exactly this many rows, the last one padded:
# BLAS picks its kernels and threads by shape, so a row's output would
# otherwise depend on how many rows came with it.
PREDICT_BLOCK_ROWS = 256


def predict(net, X, block_rows=PREDICT_BLOCK_ROWS, rows=None):
    """Network output for ``X`` (dense or CSR, any real dtype), block by block.

    With ``rows`` (an index array), the output for those rows of ``X`` only,
    gathered block by block rather than copied whole.

    Each block is converted to the network's dtype on its own and only one
    block's hidden activations are alive at a time, so memory beyond the
    output does not grow with the number of rows; every block has
    ``block_rows`` rows, so a row's output is the same whatever rows it is
    predicted with.
    """
    dtype = net.coefs[-1].dtype
    n_out = net.coefs[-1].shape[1]
    out = backend_of(net.coefs[-1]).empty((count_rows(X, rows), n_out), dtype)
    # Values past the dtype's range become inf here; the caller reports that.
    with (
        np.errstate(over="ignore", invalid="ignore"),
        limited(prediction_threads(block_rows, net.coefs)),
    ):
        _predict_blocks(net, X, out, block_rows, dtype, rows)
    return out


def _predict_blocks(net, X, out, block_rows, dtype, rows):
    """:func:`predict`'s loop: each block padded to ``block_rows`` rows."""
    n_samples = count_rows(X, rows)
    backend = backend_of(net.coefs[-1])
    block = None
    for start in range(0, n_samples, block_rows):
        stop = min(start + block_rows, n_samples)
        n_rows = stop - start
        chunk = take_rows(X, start, stop, rows)
        if sp.issparse(chunk):
            # Sparse products are computed row by row; pad with empty rows.
            padding = sp.csr_matrix((block_rows - n_rows, X.shape[1]), dtype=dtype)
            chunk = sp.vstack([chunk.astype(dtype), padding], format="csr")
        elif n_rows < block_rows:
            if block is None:
                block = backend.zeros((block_rows, X.shape[1]), dtype)
            block[:n_rows, ...] = backend.cast(chunk, dtype)
            block[n_rows:, ...] = 0
            chunk = block
        else:
            chunk = backend.cast(chunk, dtype)
        out[start:stop, ...] = forward(net, chunk)[0][-1][:n_rows, ...]
    return out


def loss(output, Y, unit, weights=None):
    """Mean over rows of the loss summed over outputs, for output ``unit``.

    With ``weights`` (one per row) the weighted mean.
    """
    return get_unit(unit).loss(output, Y, weights)


def total_weight(n_rows, weights=None):
    """What a batch's gradients are divided by: its rows, or their weights' sum."""
    return n_rows if weights is None else float(backend_of(weights).xp.sum(weights))


def backward(net, activations, masks, Y, layer_gradient, weights=None):
    """Back-propagate the output error; hand each layer's pieces to a sink.

    ``layer_gradient(i, layer_input, delta)`` receives layer ``i``'s input
    and its error signal (already divided by the number of rows, or with
    ``weights`` scaled row by row by ``w_i / sum(w)``), from which the
    weight gradient is ``layer_input.T @ delta`` and the bias gradient
    ``delta.sum(axis=0)``. The sink may update layer ``i`` in place: the
    error for the layer below is computed before it is called.
    """
    backend = backend_of(net.coefs[-1])
    delta = activations[-1] - Y
    if weights is not None:
        delta *= weights[:, None]
    delta /= total_weight(activations[0].shape[0], weights)
    for i in range(len(net.coefs) - 1, -1, -1):
        layer_input = activations[i]
        if masks[i] is not None:
            layer_input = layer_input * masks[i]
        below = None
        if i > 0:
            below = backend.empty(activations[i].shape, activations[i].dtype)
            backend.gemm(delta, net.coefs[i], below, trans_b=True)
            if masks[i] is not None:
                below *= masks[i]
            get_unit(net.units[i - 1]).scale_by_derivative(below, activations[i])
        layer_gradient(i, layer_input, delta)
        delta = below


def weight_gradient(layer_input, delta, out=None, *, alpha=1.0, beta=0.0):
    """``out = alpha * layer_input.T @ delta + beta * out`` (input dense or CSR)."""
    backend = backend_of(delta)
    if out is None:
        out = backend.zeros((layer_input.shape[1], delta.shape[1]), delta.dtype)
    if sp.issparse(layer_input):
        if beta != 1:
            out *= beta
        out += alpha * np.asarray(layer_input.T @ delta)
    else:
        backend.gemm(layer_input, delta, out, trans_a=True, alpha=alpha, beta=beta)
    return out


def l2_penalty(net, alpha, n_rows):
    """``alpha / (2 * n_rows) * sum ||W||^2``, the scikit-learn MLP convention."""
    if not alpha:
        return 0.0
    return 0.5 * alpha / n_rows * sum(_squared_norm(W) for W in net.coefs)


def _squared_norm(W):
    return float(backend_of(W).squared_norm(W))


def forward_backward(net, X, Y, *, weights=None, alpha=0.0, dropout=0.0, rng=None):
    """Loss and gradients of one mini-batch.

    The loss is the mean over rows plus :func:`l2_penalty`, so ``alpha``
    means the same here as in scikit-learn's ``MLPClassifier``. With
    ``weights`` (one per row) the mean is weighted and the penalty divided
    by the weights' sum instead of the number of rows, as there.

    Returns
    -------
    loss : float
    grads : list of ndarray
        Gradients in the order of ``net.params``: weights, then biases.
    """
    n_rows = total_weight(X.shape[0], weights)
    activations, masks = forward(net, X, dropout=dropout, rng=rng)
    value = loss(activations[-1], Y, net.units[-1], weights)
    value += l2_penalty(net, alpha, n_rows)
    n_layers = len(net.coefs)
    coef_grads = [None] * n_layers
    intercept_grads = [None] * n_layers

    def collect(i, layer_input, delta):
        coef_grads[i] = weight_gradient(layer_input, delta)
        if alpha:
            coef_grads[i] += (alpha / n_rows) * net.coefs[i]
        intercept_grads[i] = backend_of(delta).xp.sum(delta, axis=0)

    backward(net, activations, masks, Y, collect, weights)
    return value, coef_grads + intercept_grads
