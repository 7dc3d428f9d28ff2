"""Where the arithmetic runs: NumPy with scipy's BLAS, or an Array API namespace.

The numeric core (the units, the CD step, the forward and backward passes,
the optimizers) is written once, against the few operations a backend
provides here: the matrix product with accumulation, in-place elementwise
updates, random numbers into a buffer, row gathers and fresh buffers.
:func:`backend_of` gives the backend of an array, so the core never names a
library:

Every backend derives from :class:`Backend`, which defines the interface
and the few operations written once for all (in terms of the others); a
backend that misses an operation fails loudly rather than falling back to
NumPy's code. No module outside this one branches its arithmetic on the
backend (``host_blas`` tells :mod:`skdbn._threads` whether the products
run on the host's BLAS, whose threads it manages).

- :class:`NumpyBackend`, for NumPy arrays: products through scipy's BLAS
  (:mod:`skdbn._blas`) and ``out=`` ufuncs, the fast CPU path;
- :class:`ArrayAPIBackend`, for any namespace of the Array API standard
  (array-api-strict, CuPy, ...), reached through scikit-learn's
  ``array_api_dispatch``;
- :class:`TorchBackend`, the same with PyTorch's in-place kernels
  (``addmm_``, ``tanh_``, ...) and its device generator.

Random numbers come from a generator of the backend (:meth:`make_rng`):
NumPy's ``Generator``, a ``torch.Generator`` on the tensors' device, CuPy's
generator; namespaces without one of their own get NumPy's numbers, copied
over.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.externals.array_api_compat import numpy as _numpy_namespace

from . import _blas


def _uniform_float32(rng, out):
    """Uniform float32 numbers in [0, 1) into a contiguous ``out``.

    The generator's raw 64-bit words are split into two 32-bit ones whose top
    23 bits become the mantissa of a float in [1, 2), minus 1: faster than
    ``rng.random(dtype=np.float32)``, which fetches its numbers one function
    call at a time.
    """
    bits = out.reshape(-1).view(np.uint32)
    raw = rng.bit_generator.random_raw((bits.size + 1) // 2)
    np.right_shift(raw.view(np.uint32)[: bits.size], 9, out=bits)
    np.bitwise_or(bits, 0x3F800000, out=bits)  # exponent of 1.0
    out -= 1
    return out


class Backend:
    """The operations the numeric core computes with.

    Subclasses implement every method below that raises
    ``NotImplementedError``; the others are written here once, from them.
    Attributes: ``xp`` (the Array API namespace), ``device``, ``key`` (a
    string naming namespace and device), ``memory_order`` (the layout
    training asks of its data: ``"C"`` where gathering rows walks memory,
    None where the namespace has no say) and ``host_blas`` (whether the
    products run on the host's BLAS).
    """

    def __str__(self):
        return f"{self.xp.__name__} on {self.device}"

    def _missing(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} lacks this operation")

    # Buffers and conversion.
    empty = zeros = asarray = to_numpy = dtype = cast = _missing
    # Products.
    gemm = axpy = squared_norm = _missing
    # Elementwise, in place (trailing underscore) or into ``out``.
    tanh_ = exp_ = sqrt_ = clip_min_ = less_ = greater_equal_ = _missing
    negative_ = assign_sqrt = divide_into = subtract = sum_rows = _missing
    fill_scaled = clip = copy = softplus = log_ndtr = row_sum_of_squares = _missing
    # Rows.
    take = order_batch_ = _missing
    # Random numbers.
    make_rng = _owns = uniform_ = normal_ = permutation = _missing
    random_uniform = random_normal = _missing

    def to_float(self, x):
        """A Python float of a 0-d array (one read back from the device)."""
        return float(x)

    def logistic_of_half_(self, half_x):
        """The logistic function of ``x`` in place, given ``0.5 * x``.

        ``0.5 * tanh(0.5 * x) + 0.5`` is the logistic function exactly, never
        overflows and runs several times faster than ``scipy.special.expit``
        on float32 arrays.
        """
        self.tanh_(half_x)
        half_x *= 0.5
        half_x += 0.5
        return half_x

    def bernoulli_(self, rng, means, out):
        """A 0.0 / 1.0 sample of each unit with probability ``means``, into ``out``."""
        self.uniform_(rng, out)
        return self.less_(out, means)

    def adopt_rng(self, rng):
        """``rng`` if it is this backend's kind of generator, else a new one
        seeded from it (a model moved to another namespace goes on training)."""
        if self._owns(rng):
            return rng
        return self.make_rng(int(rng.integers(2**31 - 1)))


class NumpyBackend(Backend):
    """NumPy arrays: scipy's BLAS for products, ufuncs writing in place.

    ``xp`` is NumPy seen through the Array API (scikit-learn's vendored
    ``array_api_compat``), so the core's namespace calls work on every
    supported NumPy version.
    """

    xp = _numpy_namespace
    device = None
    key = "numpy"
    memory_order = "C"
    host_blas = True

    def __str__(self):
        return "NumPy"

    # -- buffers and conversion ----------------------------------------------

    def empty(self, shape, dtype):
        return np.empty(shape, dtype=dtype)

    def zeros(self, shape, dtype):
        return np.zeros(shape, dtype=dtype)

    def asarray(self, values, dtype=None):
        return np.asarray(values, dtype=dtype)

    def to_numpy(self, x):
        return np.asarray(x)

    def dtype(self, name):
        return np.dtype(name)

    def cast(self, x, dtype):
        """``x`` in ``dtype``, row-major (BLAS's fast layout), copied if needed."""
        return np.ascontiguousarray(x, dtype=dtype)

    # -- products --------------------------------------------------------------

    def gemm(self, A, B, C, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
        return _blas.gemm(
            A, B, C, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b
        )

    def axpy(self, x, y, a):
        return _blas.axpy(x, y, a)

    def squared_norm(self, x):
        return _blas.squared_norm(np.ascontiguousarray(x))

    # -- elementwise, in place -------------------------------------------------

    def tanh_(self, x):
        return np.tanh(x, out=x)

    def exp_(self, x):
        return np.exp(x, out=x)

    def sqrt_(self, x):
        return np.sqrt(x, out=x)

    def clip_min_(self, x, low):
        return np.maximum(x, low, out=x)

    def less_(self, out, other):
        """``out = (out < other)`` as 0.0 / 1.0, in place."""
        return np.less(out, other, out=out)

    def greater_equal_(self, out, value):
        """``out = (out >= value)`` as 0.0 / 1.0, in place."""
        return np.greater_equal(out, value, out=out)

    def negative_(self, x):
        return np.negative(x, out=x)

    def assign_sqrt(self, out, x):
        """``out = sqrt(x)``."""
        return np.sqrt(x, out=out)

    def divide_into(self, numerator, out):
        """``out = numerator / out``, in place."""
        return np.divide(numerator, out, out=out)

    def subtract(self, a, b, out):
        return np.subtract(a, b, out=out)

    def sum_rows(self, x, out):
        """Column sums of ``x`` into ``out``."""
        return np.sum(x, axis=0, out=out)

    def fill_scaled(self, out, x, scale):
        """``out = scale * x`` (``x`` broadcast to ``out``'s shape), one pass."""
        return np.multiply(x, scale, out=out)

    def clip(self, x, low=None, high=None):
        """A new array of ``x`` clipped to ``[low, high]`` (None: no bound)."""
        # (array_api_compat's clip costs ~90 us a call on small arrays.)
        return np.clip(x, low, high)

    def copy(self, x):
        return x.copy()

    def softplus(self, x):
        """``log(1 + exp(x))`` without overflow."""
        return np.logaddexp(0, x)

    def log_ndtr(self, x):
        """Log of the standard normal CDF."""
        from scipy.special import log_ndtr

        return log_ndtr(x)

    def row_sum_of_squares(self, x):
        return np.einsum("ij,ij->i", x, x)

    # -- rows --------------------------------------------------------------------

    def take(self, X, rows, out):
        return np.take(X, rows, axis=0, out=out)

    def order_batch_(self, batch):
        """Order a mini-batch's row indices for gathering, in place: sorted,
        so that gathering the rows walks memory forwards."""
        batch.sort()
        return batch

    # -- random numbers ----------------------------------------------------------

    def make_rng(self, seed):
        return np.random.default_rng(seed)

    def _owns(self, rng):
        return isinstance(rng, np.random.Generator)

    def uniform_(self, rng, out):
        if not out.flags.c_contiguous:  # a view, e.g. some columns of a buffer
            out[...] = self.uniform_(rng, np.empty(out.shape, dtype=out.dtype))
            return out
        if out.dtype == np.float32:
            return _uniform_float32(rng, out)
        return rng.random(dtype=out.dtype, out=out)

    def normal_(self, rng, out):
        if not out.flags.c_contiguous:
            out[...] = rng.standard_normal(out.shape, dtype=out.dtype)
            return out
        return rng.standard_normal(dtype=out.dtype, out=out)

    def permutation(self, rng, n):
        return rng.permutation(n)

    def random_uniform(self, rng, low, high, shape, dtype):
        """A new array uniform in ``[low, high)`` (drawn in float64 on NumPy,
        so that float32 and float64 models start alike)."""
        return rng.uniform(low, high, size=shape).astype(dtype, copy=False)

    def random_normal(self, rng, scale, shape, dtype):
        """A new array of ``N(0, scale**2)`` numbers (float64 draws on NumPy)."""
        return (rng.standard_normal(shape) * scale).astype(dtype, copy=False)


NUMPY = NumpyBackend()


class ArrayAPIBackend(Backend):
    """Any Array API namespace ``xp``, on ``device``.

    Operations the standard has no in-place form of write their result back
    with ``out[...] = ...``; random numbers come from NumPy and are copied to
    the device (:class:`TorchBackend` and CuPy use their own generators).
    """

    memory_order = None
    host_blas = False

    def __init__(self, xp, device):
        self.xp = xp
        self.device = device
        self.key = f"{xp.__name__}:{device}"

    def __repr__(self):
        return f"{type(self).__name__}({self.xp.__name__}, {self.device!r})"

    def empty(self, shape, dtype):
        return self.xp.empty(shape, dtype=dtype, device=self.device)

    def zeros(self, shape, dtype):
        return self.xp.zeros(shape, dtype=dtype, device=self.device)

    def asarray(self, values, dtype=None):
        return self.xp.asarray(values, dtype=dtype, device=self.device)

    def to_numpy(self, x):
        from sklearn.utils._array_api import _convert_to_numpy

        return _convert_to_numpy(x, self.xp)

    def dtype(self, name):
        return getattr(self.xp, dtype_name(name))

    def cast(self, x, dtype):
        return self.xp.astype(x, dtype, copy=False)

    def gemm(self, A, B, C, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
        a = A.T if trans_a else A
        b = B.T if trans_b else B
        product = a @ b
        if alpha != 1:
            product *= alpha
        if beta == 0:
            C[...] = product
        else:
            if beta != 1:
                C *= beta
            C += product
        return C

    def axpy(self, x, y, a):
        y += a * x
        return y

    def squared_norm(self, x):
        return self.xp.sum(x * x)

    def tanh_(self, x):
        x[...] = self.xp.tanh(x)
        return x

    def exp_(self, x):
        x[...] = self.xp.exp(x)
        return x

    def sqrt_(self, x):
        x[...] = self.xp.sqrt(x)
        return x

    def clip_min_(self, x, low):
        x[...] = self.xp.maximum(
            x, self.xp.asarray(low, dtype=x.dtype, device=self.device)
        )
        return x

    def less_(self, out, other):
        out[...] = self.xp.astype(out < other, out.dtype)
        return out

    def greater_equal_(self, out, value):
        out[...] = self.xp.astype(out >= value, out.dtype)
        return out

    def negative_(self, x):
        x *= -1
        return x

    def assign_sqrt(self, out, x):
        out[...] = self.xp.sqrt(x)
        return out

    def divide_into(self, numerator, out):
        out[...] = numerator / out
        return out

    def subtract(self, a, b, out):
        out[...] = a - b
        return out

    def sum_rows(self, x, out):
        out[...] = self.xp.sum(x, axis=0)
        return out

    def take(self, X, rows, out):
        out[...] = self.xp.take(X, rows, axis=0)
        return out

    def order_batch_(self, batch):
        # Gathers run on the device, in any order: left as drawn.
        return batch

    def fill_scaled(self, out, x, scale):
        out[...] = x * scale if scale != 1 else x
        return out

    def clip(self, x, low=None, high=None):
        return self.xp.clip(x, low, high)

    def copy(self, x):
        return self.xp.asarray(x, copy=True)

    def softplus(self, x):
        return self.xp.logaddexp(self.xp.zeros_like(x), x)

    def log_ndtr(self, x):
        # No normal CDF in the standard: computed by scipy, off the training
        # loop (free energies of ReLU units only).
        return self.asarray(NUMPY.log_ndtr(self.to_numpy(x)), dtype=x.dtype)

    def row_sum_of_squares(self, x):
        return self.xp.sum(x * x, axis=1)

    def random_uniform(self, rng, low, high, shape, dtype):
        out = self.uniform_(rng, self.empty(shape, dtype))
        out *= high - low
        out += low
        return out

    def random_normal(self, rng, scale, shape, dtype):
        out = self.normal_(rng, self.empty(shape, dtype))
        out *= scale
        return out

    def make_rng(self, seed):
        return np.random.default_rng(seed)

    def _owns(self, rng):
        return isinstance(rng, np.random.Generator)

    def uniform_(self, rng, out):
        values = rng.random(tuple(out.shape))
        out[...] = self.xp.asarray(values, dtype=out.dtype, device=self.device)
        return out

    def normal_(self, rng, out):
        values = rng.standard_normal(tuple(out.shape))
        out[...] = self.xp.asarray(values, dtype=out.dtype, device=self.device)
        return out

    def permutation(self, rng, n):
        return self.xp.asarray(rng.permutation(n), device=self.device)


class TorchGenerator:
    """A ``torch.Generator`` on a device that copies, pickles and deep-copies.

    ``torch.Generator`` itself does neither; its state travels here as the
    CPU byte tensor ``get_state`` returns.
    """

    def __init__(self, seed, device):
        import torch

        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(seed))

    def __getstate__(self):
        return {"device": str(self.device), "state": self.generator.get_state()}

    def __setstate__(self, state):
        import torch

        self.device = torch.device(state["device"])
        self.generator = torch.Generator(device=self.device)
        self.generator.set_state(state["state"])

    def __deepcopy__(self, memo):
        copy = TorchGenerator.__new__(TorchGenerator)
        copy.__setstate__(self.__getstate__())
        return copy

    def integers(self, high):
        """One random integer in ``[0, high)`` (as NumPy's ``integers``)."""
        import torch

        return int(
            torch.randint(high, (1,), generator=self.generator, device=self.device)
        )


class TorchBackend(ArrayAPIBackend):
    """PyTorch tensors: in-place kernels and a generator on the device."""

    def gemm(self, A, B, C, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
        a = A.T if trans_a else A
        b = B.T if trans_b else B
        return C.addmm_(a, b, beta=beta, alpha=alpha)

    def axpy(self, x, y, a):
        return y.add_(x, alpha=a)

    def tanh_(self, x):
        return x.tanh_()

    def logistic_of_half_(self, half_x):
        # One fused kernel instead of tanh's three passes.
        return half_x.mul_(2.0).sigmoid_()

    def bernoulli_(self, rng, means, out):
        import torch

        return torch.bernoulli(means, generator=rng.generator, out=out)

    def exp_(self, x):
        return x.exp_()

    def sqrt_(self, x):
        return x.sqrt_()

    def clip_min_(self, x, low):
        return x.clamp_(min=low)

    def less_(self, out, other):
        return out.copy_(out < other)

    def greater_equal_(self, out, value):
        return out.copy_(out >= value)

    def negative_(self, x):
        return x.neg_()

    def assign_sqrt(self, out, x):
        import torch

        return torch.sqrt(x, out=out)

    def divide_into(self, numerator, out):
        import torch

        return torch.div(numerator, out, out=out)

    def subtract(self, a, b, out):
        import torch

        return torch.sub(a, b, out=out)

    def sum_rows(self, x, out):
        import torch

        return torch.sum(x, dim=0, out=out)

    def take(self, X, rows, out):
        import torch

        return torch.index_select(X, 0, rows, out=out)

    def copy(self, x):
        import torch

        # Row-major, as NumPy's copy: a transposed view's copy is contiguous.
        return x.clone(memory_format=torch.contiguous_format)

    def log_ndtr(self, x):
        import torch

        return torch.special.log_ndtr(x)

    def make_rng(self, seed):
        return TorchGenerator(seed, self.device)

    def _owns(self, rng):
        import torch

        return isinstance(rng, TorchGenerator) and rng.device == torch.device(
            self.device
        )

    def uniform_(self, rng, out):
        return out.uniform_(generator=rng.generator)

    def normal_(self, rng, out):
        return out.normal_(generator=rng.generator)

    def permutation(self, rng, n):
        import torch

        return torch.randperm(n, generator=rng.generator, device=self.device)


class CupyBackend(ArrayAPIBackend):
    """CuPy arrays: its own generator on the device."""

    def make_rng(self, seed):
        import cupy

        return cupy.random.default_rng(seed)

    def _owns(self, rng):
        import cupy

        return isinstance(rng, cupy.random.Generator)

    def uniform_(self, rng, out):
        out[...] = rng.random(tuple(out.shape), dtype=out.dtype)
        return out

    def normal_(self, rng, out):
        out[...] = rng.standard_normal(tuple(out.shape), dtype=out.dtype)
        return out

    def permutation(self, rng, n):
        return rng.permutation(n)


def dtype_name(dtype):
    """``"float32"`` for NumPy's or another namespace's float32, and so on."""
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype).rsplit(".", 1)[-1]


_BACKENDS = {}
_BY_TYPE_AND_DEVICE = {}


def backend_of(array):
    """The backend of ``array`` (NumPy arrays and sparse matrices: NumPy's).

    The core asks this once or more per operation, so it is cached by the
    array's type and device (scikit-learn's ``get_namespace`` inspects
    versions on every call).
    """
    if isinstance(array, (np.ndarray, np.generic)) or sp.issparse(array):
        return NUMPY
    key = (type(array), array.device)  # (the standard's device attribute)
    backend = _BY_TYPE_AND_DEVICE.get(key)
    if backend is None:
        from sklearn.externals import array_api_compat

        xp = array_api_compat.array_namespace(array)
        device = array_api_compat.device(array)
        backend = _BY_TYPE_AND_DEVICE[key] = backend_for(xp, device)
    return backend


def namespace_backend(*arrays):
    """The backend of arrays from any namespace, through scikit-learn's view."""
    from sklearn.utils._array_api import get_namespace_and_device

    xp, _, device = get_namespace_and_device(*arrays)
    return backend_for(xp, device)


def backend_for(xp, device):
    """The backend for namespace ``xp`` on ``device`` (NumPy's for NumPy)."""
    from sklearn.externals import array_api_compat

    if array_api_compat.is_numpy_namespace(xp):
        return NUMPY
    key = (xp.__name__, str(device))
    backend = _BACKENDS.get(key)
    if backend is None:
        if array_api_compat.is_torch_namespace(xp):
            cls = TorchBackend
        elif array_api_compat.is_cupy_namespace(xp):
            cls = CupyBackend
        else:
            cls = ArrayAPIBackend
        backend = _BACKENDS[key] = cls(xp, device)
    return backend
