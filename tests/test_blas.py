"""The BLAS layer (skdbn._blas) against NumPy references, on both routes.

skdbn computes on NumPy's own BLAS where its CBLAS symbols are found, else
on scipy's wrappers: each route is checked here, whichever this machine
takes by default.
"""

import os

import numpy as np
import pytest

from skdbn import _blas


@pytest.fixture(params=["numpy", "scipy"])
def route(request, monkeypatch):
    if request.param == "numpy":
        if _blas._CBLAS is None:
            pytest.skip("NumPy's CBLAS is not found here")
    else:
        monkeypatch.setattr(_blas, "_CBLAS", None)
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_accumulates_like_the_formula(route, dtype, trans_a, trans_b):
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


def test_gemm_takes_views_and_refuses_a_strided_output(route):
    rng = np.random.default_rng(1)
    big = rng.standard_normal((10, 12)).astype(np.float32)
    A, B = big[::2, 1:5], big[1:5, ::3]  # non-contiguous operands
    C = np.zeros((5, 4), np.float32)
    _blas.gemm(A, B, C)
    expected = np.einsum("ik,kj->ij", A.astype(np.float64), B.astype(np.float64))
    np.testing.assert_allclose(C, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="C-contiguous"):
        _blas.gemm(A, B, np.zeros((4, 5), np.float32).T)


def test_gemm_with_an_empty_inner_dimension_only_scales(route):
    C = np.full((2, 3), 4.0, np.float32)
    _blas.gemm(np.zeros((2, 0), np.float32), np.zeros((0, 3), np.float32), C, beta=0.5)
    np.testing.assert_array_equal(C, np.full((2, 3), 2.0, np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_and_squared_norm_match_the_formulas(route, dtype):
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


def test_numpys_route_runs_on_a_blas_library_threadpoolctl_sees():
    # (the thread policy limits that library's pool by its file)
    if _blas.LIBRARY != "numpy":
        pytest.skip("skdbn computes on scipy's BLAS here")
    from threadpoolctl import threadpool_info

    files = {
        os.path.realpath(pool["filepath"])
        for pool in threadpool_info()
        if pool["user_api"] == "blas"
    }
    assert _blas.LIBRARY_PATH in files
