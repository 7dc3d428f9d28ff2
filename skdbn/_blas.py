"""Matrix products with accumulation, on row-major (C-ordered) arrays.

numpy's ``matmul`` always overwrites its output, so a momentum update needs
extra passes over the weight matrix. BLAS's GEMM computes
``C = alpha * op(A) @ op(B) + beta * C`` in one go. NumPy does not expose
it, so this module binds it from the BLAS library NumPy itself is linked
to (the one ``@`` runs on), through its CBLAS interface. Where that library
cannot be found (a NumPy built against a BLAS without 64-bit-integer CBLAS
symbols, or a platform whose loader does not look through a module's
dependencies), scipy's BLAS wrappers are used instead.

Why NumPy's library first: wheels of NumPy and scipy each bundle their own
OpenBLAS, with its own thread pool, and usually not the same release. With
NumPy 2.4 and scipy 1.17 on an AVX-512 CPU, NumPy's (0.3.31) ran the
products of a 784-500-500-2000 network about 10 % faster than scipy's
(0.3.30) at batch 100 (benchmarks/README.md). Either way, a training loop
that uses these functions should do all of its products here: alternating
between two libraries in one loop makes the idle pool spin against the
busy one (several times slower).
"""

import ctypes
import os

import numpy as np
from scipy.linalg import blas

# CBLAS's enums.
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

#: Which BLAS the functions here run on: "numpy" or "scipy".
LIBRARY = "scipy"
#: The file of NumPy's BLAS library where the functions here run on it,
#: else None (see :mod:`skdbn._threads`, which keeps other BLAS pools asleep).
LIBRARY_PATH = None

_c_int, _c_int64 = ctypes.c_int, ctypes.c_int64
_ptr = ctypes.c_void_p


def _bind_numpys_cblas():
    """NumPy's CBLAS functions by dtype, or None where they are not found.

    Only symbols with an explicit 64-bit-integer suffix are taken (those of
    the ``scipy-openblas64`` library NumPy's wheels bundle, and of older
    wheels' ``openblas64_``): an unsuffixed ``cblas_sgemm`` could take
    32-bit or 64-bit integers, which nothing here can tell apart safely.
    """
    try:
        from numpy._core import _multiarray_umath as extension

        # dlsym on a module's handle also searches the libraries it links.
        library = ctypes.CDLL(extension.__file__)
    except (ImportError, OSError, AttributeError):  # pragma: no cover
        return None
    for prefix, suffix in (("scipy_cblas_", "64_"), ("cblas_", "64_")):
        try:
            found = {
                name: getattr(library, f"{prefix}{name}{suffix}")
                for name in ("sgemm", "dgemm", "saxpy", "daxpy", "sdot", "ddot")
            }
        except AttributeError:
            continue
        for kind, real in (("s", ctypes.c_float), ("d", ctypes.c_double)):
            gemm_ = found[f"{kind}gemm"]
            gemm_.restype = None
            gemm_.argtypes = [_c_int, _c_int, _c_int, _c_int64, _c_int64, _c_int64]
            gemm_.argtypes += [real, _ptr, _c_int64, _ptr, _c_int64, real]
            gemm_.argtypes += [_ptr, _c_int64]
            axpy_ = found[f"{kind}axpy"]
            axpy_.restype = None
            axpy_.argtypes = [_c_int64, real, _ptr, _c_int64, _ptr, _c_int64]
            dot_ = found[f"{kind}dot"]
            dot_.restype = real
            dot_.argtypes = [_c_int64, _ptr, _c_int64, _ptr, _c_int64]
        return {
            np.dtype(dtype): (found[f"{k}gemm"], found[f"{k}axpy"], found[f"{k}dot"])
            for dtype, k in ((np.float32, "s"), (np.float64, "d"))
        }
    return None


def _numpy_gemm(A, B, C, alpha, beta, trans_a, trans_b):
    gemm_ = _CBLAS[C.dtype][0]
    m, n = C.shape
    k = A.shape[0] if trans_a else A.shape[1]
    gemm_(
        _ROW_MAJOR,
        _TRANS if trans_a else _NO_TRANS,
        _TRANS if trans_b else _NO_TRANS,
        m,
        n,
        k,
        alpha,
        A.ctypes.data,
        max(1, A.shape[1]),
        B.ctypes.data,
        max(1, B.shape[1]),
        beta,
        C.ctypes.data,
        max(1, n),
    )


def _scipy_gemm(A, B, C, alpha, beta, trans_a, trans_b):
    # A row-major matrix is its transpose in column-major order, so the
    # product is computed as C.T = op(B).T @ op(A).T without copying.
    out = _SCIPY[C.dtype][0](
        alpha,
        B.T,
        A.T,
        beta=beta,
        c=C.T,
        trans_a=int(trans_b),
        trans_b=int(trans_a),
        overwrite_c=1,
    )
    if not np.shares_memory(out, C):  # pragma: no cover - BLAS wrapper changed
        C[...] = out.T


_SCIPY = {
    np.dtype(np.float32): (blas.sgemm, blas.saxpy, blas.sdot),
    np.dtype(np.float64): (blas.dgemm, blas.daxpy, blas.ddot),
}


def _file_of(function):
    """The real path of the shared library a ctypes function lives in."""

    class _DlInfo(ctypes.Structure):
        _fields_ = [
            ("dli_fname", ctypes.c_char_p),
            ("dli_fbase", ctypes.c_void_p),
            ("dli_sname", ctypes.c_char_p),
            ("dli_saddr", ctypes.c_void_p),
        ]

    info = _DlInfo()
    try:
        address = ctypes.cast(function, _ptr)
        found = ctypes.CDLL(None).dladdr(address, ctypes.byref(info))
    except (OSError, AttributeError, TypeError):  # pragma: no cover - no dladdr
        return None
    if not found or not info.dli_fname:  # pragma: no cover
        return None
    return os.path.realpath(os.fsdecode(info.dli_fname))


_CBLAS = _bind_numpys_cblas()
if _CBLAS is not None:
    LIBRARY = "numpy"
    LIBRARY_PATH = _file_of(_CBLAS[np.dtype(np.float32)][0])


def gemm(A, B, C, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """``C = alpha * op(A) @ op(B) + beta * C`` in place; C-contiguous arrays.

    ``A`` and ``B`` are made C-contiguous (a copy only if they are not) and
    of ``C``'s dtype.
    """
    if not C.flags.c_contiguous:
        raise ValueError("gemm writes into C-contiguous arrays only")
    if C.size == 0:  # (BLAS refuses empty operands)
        return C
    a = np.ascontiguousarray(A, dtype=C.dtype)
    b = np.ascontiguousarray(B, dtype=C.dtype)
    if (a.shape[0] if trans_a else a.shape[1]) == 0:  # an empty sum
        C *= beta
        return C
    if _CBLAS is None:
        _scipy_gemm(a, b, C, alpha, beta, trans_a, trans_b)
    else:
        _numpy_gemm(a, b, C, alpha, beta, trans_a, trans_b)
    return C


def axpy(x, y, a):
    """``y += a * x`` in place over whole contiguous arrays, one pass."""
    if _CBLAS is None:
        _SCIPY[y.dtype][1](x.ravel(), y.ravel(), a=a)
    else:
        if not y.flags.c_contiguous:
            raise ValueError("axpy writes into C-contiguous arrays only")
        x = np.ascontiguousarray(x, dtype=y.dtype)
        _CBLAS[y.dtype][1](y.size, a, x.ctypes.data, 1, y.ctypes.data, 1)
    return y


def squared_norm(x):
    """``sum(x ** 2)`` of a contiguous array, through the same BLAS.

    ``numpy.dot`` would be NumPy's own BLAS but, where the functions here run
    on scipy's, its threads would compete with theirs (see the module
    docstring); so the dot product goes through the same path as the rest.
    """
    flat = np.ascontiguousarray(x).ravel()
    if _CBLAS is None:
        return float(_SCIPY[x.dtype][2](flat, flat))
    pointer = flat.ctypes.data
    return float(_CBLAS[x.dtype][2](flat.size, pointer, 1, pointer, 1))
