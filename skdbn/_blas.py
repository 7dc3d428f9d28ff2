"""Matrix products with accumulation, on row-major (C-ordered) arrays.

numpy's ``matmul`` always overwrites its output, so a momentum update needs
extra passes over the weight matrix. BLAS's GEMM computes
``C = alpha * op(A) @ op(B) + beta * C`` in one go. scipy exposes it, but
scipy's BLAS is a separate library from numpy's, each with its own thread
pool; alternating between the two in one loop makes the idle pool spin
against the busy one (several times slower). So a training loop that uses
these functions should do all of its products here.
"""

import numpy as np
from scipy.linalg import blas

_GEMM = {np.dtype(np.float32): blas.sgemm, np.dtype(np.float64): blas.dgemm}
_AXPY = {np.dtype(np.float32): blas.saxpy, np.dtype(np.float64): blas.daxpy}
_DOT = {np.dtype(np.float32): blas.sdot, np.dtype(np.float64): blas.ddot}


def gemm(A, B, C, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """``C = alpha * op(A) @ op(B) + beta * C`` in place; C-contiguous arrays.

    A row-major matrix is its transpose in column-major order, so the product
    is computed as ``C.T = op(B).T @ op(A).T`` without copying anything.
    """
    if not C.flags.c_contiguous:
        raise ValueError("gemm writes into C-contiguous arrays only")
    if C.size == 0:  # (BLAS refuses empty operands)
        return C
    a = np.ascontiguousarray(A)
    b = np.ascontiguousarray(B)
    out = _GEMM[C.dtype](
        alpha,
        b.T,
        a.T,
        beta=beta,
        c=C.T,
        trans_a=int(trans_b),
        trans_b=int(trans_a),
        overwrite_c=1,
    )
    if not np.shares_memory(out, C):  # pragma: no cover - BLAS wrapper changed
        C[...] = out.T
    return C


def axpy(x, y, a):
    """``y += a * x`` in place over whole contiguous arrays, one pass."""
    _AXPY[y.dtype](x.ravel(), y.ravel(), a=a)
    return y


def squared_norm(x):
    """``sum(x ** 2)`` of a contiguous array, through the same BLAS.

    ``numpy.dot`` would call numpy's own BLAS, whose threads then compete with
    this BLAS's (see the module docstring).
    """
    flat = x.ravel()
    return float(_DOT[x.dtype](flat, flat))
