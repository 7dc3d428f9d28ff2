"""Fit times on a machine that is not idle: beside one or two busy cores.

What is measured
----------------
The fits of ``python -m skdbn`` on scikit-learn's digits (a stratified 75 %
of the images, / 16): ``DBNClassifier((256, 256), dropout=0.2)``,
``MLPClassifier(max_iter=1000)`` and ``BernoulliRBM(256, learning_rate=0.06,
n_iter=20)`` followed by ``LogisticRegression``; with ``--fashion`` also
two epochs of ``RBM(500)`` CD-1 on the first ``--n-samples`` Fashion-MNIST
training images (784 -> 500, batches of 100, where BLAS threads pay on an
idle machine).

Each fit runs at the BLAS pools' default threads and inside
``threadpool_limits(1)``, under three loads the script starts and stops
itself: ``idle``; ``1 busy core`` (another process multiplying 400x400
float32 matrices in a loop on one OpenBLAS thread); ``2 busy cores`` (the
same on two threads). Within a load the fits run in interleaved rounds and
the table gives medians, the slowdown against the same fit idle, and the
ratio of default threads to one thread.

The goal (issue "Speed"): with one busy core, the DBN at default settings
takes at most 2x its idle time and slows down no more than MLPClassifier.

Run: ``python benchmarks/bench_busy.py`` (``--quick``: one round, the digits
fits only). Report the machine's cores: on more cores than the load covers,
threads can still pay.
"""

import argparse
import os
import subprocess
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM, MLPClassifier
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import median, print_table  # noqa: E402

from skdbn import RBM, DBNClassifier  # noqa: E402

# The competing job: float32 products in a loop, on OPENBLAS_NUM_THREADS
# threads, until it is stopped (or 20 minutes pass).
BUSY_LOOP = """
import time
import numpy as np
a = np.random.default_rng(0).random((400, 400), dtype=np.float32)
end = time.time() + 1200
while time.time() < end:
    a @ a
"""

LOADS = {"idle": 0, "1 busy core": 1, "2 busy cores": 2}


class Load:
    """A competing process on ``cores`` BLAS threads (none for 0)."""

    def __init__(self, cores):
        self.cores = cores
        self.process = None

    def __enter__(self):
        if self.cores:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(self.cores))
            env["OMP_NUM_THREADS"] = str(self.cores)
            self.process = subprocess.Popen([sys.executable, "-c", BUSY_LOOP], env=env)
            time.sleep(1.0)  # (numpy's import and the first products)
        return self

    def __exit__(self, *exc):
        if self.process is not None:
            self.process.kill()
            self.process.wait()


def digits_fits(seed=0):
    X, y = load_digits(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(
        X / 16, y, test_size=0.25, stratify=y, random_state=seed
    )
    return {
        "DBNClassifier (skdbn)": lambda: DBNClassifier(
            (256, 256), dropout=0.2, random_state=seed
        ).fit(X_train, y_train),
        "MLPClassifier": lambda: MLPClassifier(max_iter=1000, random_state=seed).fit(
            X_train, y_train
        ),
        "BernoulliRBM + LogisticRegression": lambda: make_pipeline(
            BernoulliRBM(256, learning_rate=0.06, n_iter=20, random_state=seed),
            LogisticRegression(max_iter=2000),
        ).fit(X_train, y_train),
    }


def fashion_fits(data_dir, n_samples, seed=0):
    from skdbn.datasets import load_fashion_mnist

    X, _ = load_fashion_mnist(data_dir, return_X_y=True)
    X = np.ascontiguousarray(X[:n_samples], dtype=np.float32)
    return {
        "RBM(500), 2 CD-1 epochs (Fashion)": lambda: RBM(
            500, n_iter=2, batch_size=100, random_state=seed
        ).fit(X)
    }


def timed(fit, threads):
    with warnings.catch_warnings(), threadpool_limits(limits=threads):
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        fit()
        return time.perf_counter() - start


def run(fits, loads, repeats):
    """``{(load, fit, threads): [seconds, ...]}``, interleaved within a load."""
    times = {}
    for load in loads:
        with Load(LOADS[load]):
            for round_ in range(repeats):
                for name, fit in fits.items():
                    for threads in (None, 1):
                        seconds = timed(fit, threads)
                        times.setdefault((load, name, threads), []).append(seconds)
                        print(
                            f"  {load}, round {round_ + 1}: {name}, "
                            f"{threads or 'default'} threads: {seconds:.2f}s",
                            file=sys.stderr,
                            flush=True,
                        )
    return {key: median(values) for key, values in times.items()}


def report(medians, fits, loads):
    rows = []
    for name in fits:
        for load in loads:
            default = medians[(load, name, None)]
            one = medians[(load, name, 1)]
            idle = medians.get(("idle", name, None))
            rows.append(
                [
                    name,
                    load,
                    f"{default:.2f}",
                    f"{one:.2f}",
                    f"{default / one:.2f}",
                    "" if idle is None else f"{default / idle:.2f}",
                ]
            )
    print_table(
        [
            "fit",
            "load",
            "default threads (s)",
            "1 thread (s)",
            "default / 1",
            "default / idle",
        ],
        rows,
        title=f"Fit time beside busy cores ({os.cpu_count()} cores, medians)",
    )
    dbn, mlp = "DBNClassifier (skdbn)", "MLPClassifier"

    def slowdown(name):
        return medians[("1 busy core", name, None)] / medians[("idle", name, None)]

    if ("1 busy core", dbn, None) in medians:
        dbn_slowdown, mlp_slowdown = slowdown(dbn), slowdown(mlp)
        ok = dbn_slowdown <= 2.0 and dbn_slowdown <= mlp_slowdown
        print(
            f"\ngoal {'met' if ok else 'NOT met'}: beside 1 busy core the DBN "
            f"takes {dbn_slowdown:.2f}x its idle time (at most 2x), "
            f"MLPClassifier {mlp_slowdown:.2f}x"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one round, digits only")
    parser.add_argument("--fashion", action="store_true")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--n-samples", type=int, default=10000)
    parser.add_argument(
        "--loads", nargs="+", default=list(LOADS), choices=list(LOADS), metavar="LOAD"
    )
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    fits = digits_fits()
    if args.fashion and not args.quick:
        fits.update(fashion_fits(args.data_dir, args.n_samples))
    loads = ["idle", *[load for load in args.loads if load != "idle"]]
    report(run(fits, loads, repeats), fits, loads)


if __name__ == "__main__":
    main()
