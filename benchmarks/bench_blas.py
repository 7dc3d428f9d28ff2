"""The products of CD-1 and of fine-tuning on each BLAS library loaded.

NumPy's and scipy's wheels each bundle their own OpenBLAS, often not the
same release; skdbn computes on scipy's (``skdbn/_blas.py``), whose GEMM
takes ``alpha`` and ``beta``. This script times the products of one CD-1
batch of an RBM 784->500 (skdbn's packed shapes: up, down, up and the
stacked gradient) and of one fine-tuning batch of the 784-500-500-2000-10
network (forward, input gradients, weight gradients) on NumPy's BLAS
(``numpy.matmul`` with ``out=``) and on scipy's (``sgemm`` through
``skdbn._blas.gemm``, the call skdbn makes, with ``beta=0`` here so that
both do the same work), in interleaved rounds, and prints medians and the
ratio. benchmarks/README.md says what it found and why skdbn stays on one
library.

Example::

    python benchmarks/bench_blas.py --repeats 7
"""

import argparse
import json
import statistics
import time

import numpy as np

from skdbn._blas import gemm


def rbm_products(batch, n_visible=784, n_hidden=500):
    """(A, B, trans_a, trans_b) of the four products of one packed CD-1 step."""
    rng = np.random.default_rng(0)
    packed = rng.standard_normal((n_hidden + 1, n_visible + 1), dtype=np.float32)
    visible = rng.random((2 * batch, n_visible + 1), dtype=np.float32)
    hidden = rng.random((2 * batch, n_hidden + 1), dtype=np.float32)
    return [
        (visible[:batch], packed, False, True),
        (hidden[:batch], packed, False, False),
        (visible[batch:], packed, False, True),
        (hidden, visible, True, False),
    ]


def finetune_products(batch, sizes=(784, 500, 500, 2000, 10)):
    """(A, B, trans_a, trans_b) of one batch of backpropagation."""
    rng = np.random.default_rng(0)
    products = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        W = rng.standard_normal((fan_in, fan_out), dtype=np.float32)
        A = rng.random((batch, fan_in), dtype=np.float32)
        delta = rng.standard_normal((batch, fan_out), dtype=np.float32)
        products += [(A, W, False, False), (delta, W, False, True)]
        products += [(A, delta, True, False)]
    del products[1]  # no input gradient for the first layer
    return products


def with_outputs(products):
    """Each product with a C-ordered output of its shape."""
    out = []
    for A, B, trans_a, trans_b in products:
        m = A.shape[1] if trans_a else A.shape[0]
        n = B.shape[0] if trans_b else B.shape[1]
        out.append((A, B, trans_a, trans_b, np.empty((m, n), np.float32)))
    return out


def numpy_product(A, B, trans_a, trans_b, C):
    np.matmul(A.T if trans_a else A, B.T if trans_b else B, out=C)


def scipy_product(A, B, trans_a, trans_b, C):
    gemm(A, B, C, trans_a=trans_a, trans_b=trans_b)  # skdbn's own call


def time_library(products, product, seconds=0.2):
    """Median milliseconds of the products, once each, on one library."""
    for args in products:  # warm-up
        product(*args)
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 5:
        start = time.perf_counter()
        for args in products:
            product(*args)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_info

    for pool in threadpool_info():
        if pool["user_api"] == "blas":
            print(f"{pool['internal_api']} {pool['version']}, "
                  f"{pool['num_threads']} threads: {pool['filepath']}")  # fmt: skip
    groups = {
        "CD-1 784->500": with_outputs(rbm_products(args.batch_size)),
        "fine-tuning 784-500-500-2000-10": with_outputs(
            finetune_products(args.batch_size)
        ),
    }
    results = {}
    for name, products in groups.items():
        # The two results agree: the same products.
        for A, B, trans_a, trans_b, C in products:
            numpy_product(A, B, trans_a, trans_b, C)
            expected = C.copy()
            scipy_product(A, B, trans_a, trans_b, C)
            np.testing.assert_allclose(C, expected, rtol=1e-4, atol=1e-3)
        rounds = {"numpy": [], "scipy": []}
        for _ in range(args.repeats):
            rounds["numpy"].append(time_library(products, numpy_product))
            rounds["scipy"].append(time_library(products, scipy_product))
        ratios = [s / n for n, s in zip(rounds["numpy"], rounds["scipy"])]
        results[name] = {
            "numpy_ms": statistics.median(rounds["numpy"]),
            "scipy_ms": statistics.median(rounds["scipy"]),
            "scipy_over_numpy": statistics.median(ratios),
        }
    print(f"\nproducts of one batch of {args.batch_size}, medians of "
          f"{args.repeats} interleaved rounds (ms)")  # fmt: skip
    print(f"{'products':34s}  NumPy's BLAS  scipy's BLAS  scipy / NumPy")
    for name, row in results.items():
        print(f"{name:34s}  {row['numpy_ms']:12.3f}  {row['scipy_ms']:12.3f}"
              f"  {row['scipy_over_numpy']:12.2f}x")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
