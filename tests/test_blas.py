"""The BLAS layer (skdbn._blas) against NumPy references written here."""

import numpy as np
import pytest

from skdbn import _blas


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_accumulates_like_the_formula(dtype, trans_a, trans_b):
    rng = np.random.default_rng(0)
    m, k, n = 7, 5, 3
    A = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    B = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    C = rng.standard_normal((m, n)).astype(dtype)
    opA = A.astype(np.float64).T if trans_a else A.astype(np.float64)
    opB = B.astype(np.float64).T if trans_b else B.astype(np.float64)
    expected = 0.7 * np.einsum("ik,kj->ij", opA, opB) - 0.3 * C
    out = _blas.gemm(A, B, C, alpha=0.7, beta=-0.3, trans_a=trans_a, trans_b=trans_b)
    assert out is C
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(C, expected, rtol=tol, atol=tol)


def test_gemm_takes_strided_operands_and_refuses_a_strided_output():
    rng = np.random.default_rng(1)
    big = rng.standard_normal((10, 12)).astype(np.float32)
    A, B = big[::2, 1:5], big[1:5, ::3]  # non-contiguous operands
    C = np.zeros((5, 4), np.float32)
    _blas.gemm(A, B, C)
    expected = np.einsum("ik,kj->ij", A.astype(np.float64), B.astype(np.float64))
    np.testing.assert_allclose(C, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="C-contiguous"):
        _blas.gemm(A, B, np.zeros((4, 5), np.float32).T)


def test_gemm_into_an_empty_output_does_nothing():
    C = np.zeros((0, 3), np.float32)
    assert _blas.gemm(np.zeros((0, 2), np.float32), np.ones((2, 3), np.float32), C) is C


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_and_squared_norm_match_the_formulas(dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 4)).astype(dtype)
    y = rng.standard_normal((6, 4)).astype(dtype)
    expected = y.astype(np.float64) - 0.25 * x.astype(np.float64)
    assert _blas.axpy(x, y, -0.25) is y
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(y, expected, rtol=tol, atol=tol)
    norm = _blas.squared_norm(x)
    assert isinstance(norm, float)
    assert norm == pytest.approx(float(np.sum(x.astype(np.float64) ** 2)), rel=tol)
