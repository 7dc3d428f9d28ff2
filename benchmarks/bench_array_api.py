"""skdbn on torch tensors (array API dispatch) next to skdbn on NumPy arrays.

What is measured
----------------
Each measurement runs on the NumPy path of skdbn and on torch tensors on one
device (``--device``) under ``sklearn.config_context(array_api_dispatch=True)``,
in the same run, on the Fashion-MNIST training images (784 features, float32
in [0, 1]); the data are put on the device once, before any timing:

``rbm``
    One CD-1 epoch: ``RBM(n_components=500, batch_size=100, n_iter=1,
    random_state=0).fit(X)``, input validation and initialisation included
    (``bench_rbm.py``'s ``skdbn-f32``).
``finetune``
    One fine-tuning epoch of the 784-500-500-2000-10 ``DBNClassifier`` with
    ``solver="sgd"``, ``momentum=0.9``, batch 100, timed as
    ``bench_finetune.py`` does: the model is built, untimed, by ``fit``
    with ``pretrain_epochs=0``, ``head_max_iter=0``, ``max_iter=0`` and
    ``warm_start=True``; the timed call is ``fit(X, y)`` with ``max_iter=1``
    (validation and one epoch).
``recipe`` (only with ``--recipe``: minutes on a CPU)
    The whole Fashion-MNIST recipe of ``bench_fashion_mnist.py`` (its
    default options: (500, 500, 2000), 10 CD-1 epochs per layer, the L-BFGS
    head, 40 epochs of Adam with a cosine schedule, dropout 0.2): the fit
    time and the accuracy on the test images.
``reference``
    A hand-written PyTorch CD-1 epoch on the device, the yardstick of the
    skdbn device epoch: the same model and update as ``RBM`` (W of shape
    (500, 784), visible and hidden biases, learning rate 0.1, momentum 0.5
    as in skdbn's first epochs, weight decay 2e-4 on W only; hidden means,
    sampled hidden states, mean-field reconstruction, both gradient
    statistics from hidden means, velocity ``momentum * velocity + lr *
    (gradient - decay * W)``), the whole training set on the device, one
    shuffled index per epoch, a seeded ``torch.Generator``, initialisation
    included as in ``fit``.

The table gives, per measurement, the NumPy seconds, the device seconds,
NumPy / device (above 1: the device is faster), the device seconds over the
hand-written epoch's (CD-1 only) and the test accuracy (recipe only). A
skdbn call on torch that raises, or whose fitted weights are not torch
tensors on the device (a silent NumPy fallback), is reported in its row as
an error, with the message below the table; the other rows still run.

How
---
Everything runs in this process (the device's context and the data on it
are set up once). Each item makes an untimed warm-up call on ~1000 rows
(first-call costs, CUDA kernels and allocator), then the NumPy and the
device calls are interleaved over ``--repeats`` rounds and the median wall
time is reported; ratios are medians of the per-round ratios. On CUDA the
device is synchronised before each timer starts and before it stops.
``SCIPY_ARRAY_API=1`` is set before scipy is imported (scikit-learn's array
API dispatch needs it), so the NumPy rows run with it set too. On a CPU
device torch gets as many threads as NumPy's BLAS (``--threads`` sets both);
the header warns when the cores are busy (NumPy's GEMM slower on all
threads than on one), as torch's threads then suffer even more than BLAS's.

Examples
--------
Smoke run (2000 rows, small networks; scikit-learn's digits if
Fashion-MNIST is not installed)::

    python benchmarks/bench_array_api.py --quick

The epochs on a GPU, then the whole recipe too::

    python benchmarks/bench_array_api.py --device cuda
    python benchmarks/bench_array_api.py --device cuda --recipe --json fmnist-gpu.json
"""

import os

# scikit-learn's array API dispatch refuses to run unless scipy's own support
# was switched on before scipy was first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import platform
import sys
import time
import traceback
import warnings
from collections import namedtuple
from contextlib import contextmanager, nullcontext

import bench_fashion_mnist as fashion
import numpy as np
from _common import (
    _cpu_model,
    add_n_test_option,
    add_skip_option,
    blas_threads,
    fmt,
    gemm_rate,
    limit_threads,
    median,
    paired_ratio,
    print_table,
    warmup_rows,
    warn_if_cores_busy,
    write_json,
)

try:
    import torch
except ImportError:  # checked in main, with a message
    torch = None

SEED = 0
N_COMPONENTS = 500
HIDDEN = (500, 500, 2000)
CD_LEARNING_RATE = 0.1  # RBM's learning_rate="auto" between Bernoulli units
CD_MOMENTUM = 0.5  # RBM's initial_momentum, used in its first five epochs
CD_WEIGHT_DECAY = 2e-4  # RBM's weight_decay
FINETUNE = {"learning_rate_init": 1e-3, "momentum": 0.9, "alpha": 1e-4}

#: sizes by default, and under --quick, unless given explicitly
FULL = {
    "n_train": 60000,
    "n_test": None,
    "n_components": N_COMPONENTS,
    "hidden": HIDDEN,
}
QUICK = {
    "n_train": 2000,
    "n_test": 1000,
    "n_components": 100,
    "hidden": (100, 100, 200),
}
#: rows of scikit-learn's digits used for training when they replace
#: Fashion-MNIST under --quick; the rest are the test set
DIGITS_TRAIN = 1500

ITEMS = ("rbm", "finetune", "reference")


# -- backends -----------------------------------------------------------------------


class NotOnDeviceError(RuntimeError):
    """skdbn returned something other than torch tensors on the device."""


class NumpyInputs:
    """skdbn's NumPy path: arrays as they are, no dispatch."""

    name = "NumPy"

    def asarray(self, array):
        return array

    def context(self):
        return nullcontext()

    def sync(self):
        pass

    def check(self, value, what):
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{what} is a {type(value).__name__}, not a numpy array")


class TorchInputs:
    """Torch tensors on one device, under scikit-learn's array API dispatch."""

    def __init__(self, device):
        self.device = torch.device(device)
        self.name = f"torch-{self.device}"

    def asarray(self, array):
        return torch.asarray(array, device=self.device)

    def context(self):
        import sklearn

        return sklearn.config_context(array_api_dispatch=True)

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def check(self, value, what):
        """Refuse a result computed elsewhere: its time would mislead."""
        if not isinstance(value, torch.Tensor):
            raise NotOnDeviceError(
                f"{what} is a {type(value).__module__}.{type(value).__name__}, "
                "not a torch tensor: skdbn did not compute with torch"
            )
        if value.device.type != self.device.type:
            raise NotOnDeviceError(f"{what} is on {value.device}, not {self.device}")


def to_numpy(array):
    if torch is not None and isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy()
    return np.asarray(array)


# -- the hand-written reference -----------------------------------------------------


def hand_written_cd1_epoch(X, n_components, batch_size, seed=SEED):
    """One epoch of CD-1 in plain PyTorch, from a fresh start, on ``X``'s device.

    The same model and update as ``skdbn.RBM`` in its first epoch (see
    ``skdbn._rbm_numerics.cd_step``). Returns the mean squared reconstruction
    error per row.
    """
    lr, momentum, decay = CD_LEARNING_RATE, CD_MOMENTUM, CD_WEIGHT_DECAY
    n_samples, n_visible = X.shape
    device, dtype = X.device, X.dtype
    generator = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        W = torch.randn(
            n_components, n_visible, generator=generator, device=device, dtype=dtype
        ).mul_(0.01)
        b_h = torch.zeros(n_components, device=device, dtype=dtype)
        p = X.mean(dim=0).clamp_(1e-3, 1 - 1e-3)
        b_v = torch.log(p / (1 - p))  # Hinton's guide: log odds of the data
        dW, db_h, db_v = (torch.zeros_like(t) for t in (W, b_h, b_v))
        squared_error = torch.zeros((), device=device, dtype=dtype)

        order = torch.randperm(n_samples, generator=generator, device=device)
        for rows in order.split(batch_size):
            n = rows.shape[0]
            v_pos = X.index_select(0, rows)
            h_pos = torch.addmm(b_h, v_pos, W.t()).sigmoid_()
            h_sample = torch.bernoulli(h_pos, generator=generator)
            v_neg = torch.addmm(b_v, h_sample, W).sigmoid_()  # mean field
            h_neg = torch.addmm(b_h, v_neg, W.t()).sigmoid_()

            residual = (v_pos - v_neg).view(-1)
            squared_error += torch.dot(residual, residual)

            step = lr / n
            dW.mul_(momentum).addmm_(h_pos.t(), v_pos, alpha=step)
            dW.addmm_(h_neg.t(), v_neg, alpha=-step).add_(W, alpha=-lr * decay)
            db_h.mul_(momentum).add_(h_pos.sum(0) - h_neg.sum(0), alpha=step)
            db_v.mul_(momentum).add_(residual.view(n, n_visible).sum(0), alpha=step)
            W += dW
            b_h += db_h
            b_v += db_v
    error = float(squared_error) / n_samples  # waits for the device
    if not np.isfinite(error):
        raise FloatingPointError("the hand-written CD-1 epoch diverged")
    return error


# -- the items ----------------------------------------------------------------------


#: ``run()`` is timed; ``score(run's value)`` is not (None: nothing to score)
Work = namedtuple("Work", "run score", defaults=(None,))


class Timer:
    """Times one item on one backend; prepares (and warms up) on first use."""

    def __init__(self, prepare, sync):
        self.prepare = prepare
        self.sync = sync
        self.work = None

    def __call__(self):
        if self.work is None:
            self.work = self.prepare()
        self.sync()
        start = time.perf_counter()
        value = self.work.run()
        self.sync()
        result = {"wall": time.perf_counter() - start}
        if self.work.score is not None:
            result.update(self.work.score(value))
        return result


class Data:
    """The training and test data, and their copies on each backend."""

    def __init__(self, X_train, y_train, X_test, y_test, name):
        self.X_train, self.y_train = X_train, y_train
        self.X_test, self.y_test = X_test, y_test
        self.name = name
        self._copies = {}

    def on(self, backend, part):
        """``part`` ("X_train", ...) on ``backend``, converted once."""
        key = (backend.name, part)
        if key not in self._copies:
            self._copies[key] = backend.asarray(getattr(self, part))
        return self._copies[key]

    def warmup(self, backend):
        """The warm-up rows (the first ones plus one per class) on ``backend``."""
        rows = fashion.warmup_indices(self.y_train)
        return (
            backend.asarray(self.X_train[rows]),
            backend.asarray(self.y_train[rows]),
        )


@contextmanager
def quietly(warm_up=False):
    """Silence the ConvergenceWarning of capped epochs (every warning in warm-ups)."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Warning if warm_up else ConvergenceWarning)
        yield


def prepare_rbm(backend, data, args):
    from skdbn import RBM

    def run(X):
        with backend.context():
            rbm = RBM(
                n_components=args.n_components,
                batch_size=args.batch_size,
                n_iter=1,
                random_state=SEED,
            ).fit(X)
        backend.check(rbm.components_, "RBM.components_")
        return rbm

    run(backend.asarray(warmup_rows(data.X_train)))
    X = data.on(backend, "X_train")
    return Work(lambda: run(X))


def built_dbn(backend, X, y, args):
    """A DBNClassifier built on ``X, y`` but not trained (``bench_finetune.py``)."""
    from skdbn import DBNClassifier

    clf = DBNClassifier(
        tuple(args.hidden),
        solver="sgd",
        batch_size=args.batch_size,
        pretrain_epochs=0,
        head_max_iter=0,
        max_iter=0,
        warm_start=True,
        random_state=SEED,
        **FINETUNE,
    )
    with backend.context(), quietly():
        clf.fit(X, y)
    backend.check(clf.coefs_[0], "DBNClassifier.coefs_[0]")
    return clf.set_params(max_iter=1)


def prepare_finetune(backend, data, args):
    X, y = data.on(backend, "X_train"), data.on(backend, "y_train")
    clf = built_dbn(backend, X, y, args)

    def run(X, y, warm_up=False):
        with backend.context(), quietly(warm_up):
            clf.fit(X, y)  # warm start: validation and one epoch
        backend.check(clf.coefs_[0], "DBNClassifier.coefs_[0]")
        return clf

    run(*data.warmup(backend), warm_up=True)
    return Work(lambda: run(X, y))


def prepare_recipe(backend, data, args):
    X, y = data.on(backend, "X_train"), data.on(backend, "y_train")
    X_test = data.on(backend, "X_test")
    model = fashion.make_model("dbn", vars(args.recipe_spec))
    with backend.context(), quietly(warm_up=True):
        fashion.one_epoch_copy("dbn", model).fit(*data.warmup(backend))

    def run():
        with backend.context(), quietly():
            model.fit(X, y)
        backend.check(model.coefs_[0], "DBNClassifier.coefs_[0]")
        return model

    def score(model):
        with backend.context():
            predicted = to_numpy(model.predict(X_test))
        return {"test_accuracy": float(np.mean(predicted == data.y_test))}

    return Work(run, score)


def prepare_reference(device, data, args):
    def run(X):
        return hand_written_cd1_epoch(X, args.n_components, args.batch_size)

    run(device.asarray(warmup_rows(data.X_train)))
    X = data.on(device, "X_train")
    return Work(lambda: run(X))


def timers_for(item, backends, data, args):
    """The timers of one table row, keyed "numpy", "device" (and "reference").

    The ``rbm`` row holds the hand-written epoch too, so that the two are
    timed back to back.
    """
    prepare = {
        "rbm": prepare_rbm,
        "finetune": prepare_finetune,
        "recipe": prepare_recipe,
    }[item]
    timers = {}
    if item not in args.skip:
        for key, backend in backends.items():
            timers[key] = Timer(
                lambda backend=backend: prepare(backend, data, args), backend.sync
            )
    if item == "rbm" and "reference" not in args.skip:
        device = backends["device"]
        timers["reference"] = Timer(
            lambda: prepare_reference(device, data, args), device.sync
        )
    return timers


def error_text(exc):
    """The exception's type and the first line of its message."""
    lines = str(exc).strip().splitlines()
    return type(exc).__name__, lines[0] if lines else ""


def measure_rounds(label, timers, repeats, show_traceback):
    """Run the timers interleaved over ``repeats`` rounds.

    Returns
    -------
    runs : dict
        Timer key -> list of result dicts, one per round. A timer that
        raises gets one ``{"error": ..., "error_type": ...}`` and is not run
        again; the others go on.
    """
    runs = {key: [] for key in timers}
    failed = set()
    for round_ in range(repeats):
        for key, timer in timers.items():
            if key in failed:
                continue
            print(
                f"  {label}, round {round_ + 1}/{repeats}: {key} ...",
                end="",
                flush=True,
                file=sys.stderr,
            )
            try:
                result = timer()
            except Exception as exc:  # a broken path must not stop the table
                failed.add(key)
                kind, message = error_text(exc)
                runs[key].append({"error_type": kind, "error": message})
                print(f" error: {kind}: {message}", file=sys.stderr)
                if show_traceback:
                    traceback.print_exc()
                continue
            runs[key].append(result)
            print(f" {result['wall']:.3f}s", file=sys.stderr)
    return runs


# -- the report ---------------------------------------------------------------------


def ok_results(results):
    return [r for r in results if "error" not in r]


def seconds(results):
    return median([r["wall"] for r in ok_results(results)])


class Report:
    """Builds the table's cells; errors become numbered notes below it."""

    def __init__(self, device_name):
        self.device_name = device_name
        self.notes = []

    def time_cell(self, label, backend_name, results):
        if results is None:
            return "-"
        failed = [r for r in results if "error" in r]
        if failed and not ok_results(results):
            self.notes.append(
                f"[{len(self.notes) + 1}] {label}, {backend_name}: "
                f"{failed[0]['error_type']}: {failed[0]['error']}"
            )
            return f"{failed[0]['error_type']} [{len(self.notes)}]"
        return fmt(seconds(results), ".3f")

    def row(self, label, runs):
        device = self.device_name
        accuracy = {
            key: median([r.get("test_accuracy") for r in ok_results(runs.get(key, []))])
            for key in ("numpy", "device")
        }
        return [
            label,
            self.time_cell(label, "NumPy", runs.get("numpy")),
            self.time_cell(label, f"skdbn on {device}", runs.get("device")),
            fmt(paired_ratio(runs, "numpy", "device"), ".2f", "x"),
            fmt(paired_ratio(runs, "device", "reference"), ".2f", "x"),
            fmt(accuracy["numpy"], ".4f"),
            fmt(accuracy["device"], ".4f"),
        ]

    def reference_row(self, label, runs):
        return [
            label,
            "-",
            self.time_cell(label, self.device_name, runs["reference"]),
            "-",
            "1.00x" if ok_results(runs["reference"]) else "-",
            "-",
            "-",
        ]


def print_report(results, args, data):
    device = results["device_name"]
    report = Report(device)
    n_train, n_features = data.X_train.shape
    sizes = "-".join(map(str, [n_features, *args.hidden, len(np.unique(data.y_train))]))
    labels = {
        "rbm": f"RBM CD-1 epoch, {n_features}->{args.n_components}",
        "finetune": f"fine-tuning epoch, {sizes}, sgd",
        "recipe": f"recipe fit, {sizes}",
        "reference": "hand-written torch CD-1 epoch, "
        f"{n_features}->{args.n_components}",
    }
    rows = []
    for item, runs in results["rows"].items():
        if "numpy" in runs or "device" in runs:
            rows.append(report.row(labels[item], runs))
        if "reference" in runs:
            rows.append(report.reference_row(labels["reference"], runs))
    headers = [
        "what",
        "NumPy s",
        f"{device} s",
        f"NumPy/{device}",
        "vs hand-written",
        "NumPy acc",
        f"{device} acc",
    ]
    print_table(
        headers,
        rows,
        title=f"skdbn on NumPy and on {device}: {n_train} training rows, batch "
        f"{args.batch_size}, median of {args.repeats} round(s)"
        + (
            f" ({args.recipe_repeats} for the recipe)"
            if "recipe" in results["rows"]
            else ""
        ),
    )
    print(
        f"NumPy/{device} = NumPy seconds / {device} seconds (above 1: the device "
        "is faster); vs hand-written = skdbn's\n"
        f"{device} seconds / the hand-written torch epoch's; ratios are medians "
        "of per-round ratios. acc = test accuracy"
        + (
            f" on {data.X_test.shape[0]} test images."
            if "recipe" in results["rows"]
            else "."
        )
    )
    for note in report.notes:
        print(note)
    rbm = results["rows"].get("rbm")
    if rbm and "reference" in rbm:
        print_reference_comparison(rbm, device)


def print_reference_comparison(runs, device):
    reference = seconds(runs["reference"])
    if reference is None:
        print(f"\nhand-written torch CD-1 epoch on {device}: failed")
        return
    print(f"\nhand-written torch CD-1 epoch on {device}: {reference:.3f} s")
    for key, name in (("numpy", "NumPy"), ("device", device)):
        if key not in runs:
            continue  # --skip rbm
        own = seconds(runs[key])
        if own is None:
            print(f"  skdbn on {name}: no time (error above)")
            continue
        ratio = paired_ratio(runs, key, "reference")
        print(
            f"  skdbn on {name}: {own:.3f} s, {fmt(ratio, '.2f')}x the hand-written "
            "epoch's time"
        )


# -- machine and data ---------------------------------------------------------------


def describe(device, threads):
    """The header: device, versions and threads (``threads``: --threads)."""
    import sklearn
    from threadpoolctl import threadpool_info

    import skdbn

    if device.type == "cuda":
        index = (
            device.index if device.index is not None else torch.cuda.current_device()
        )
        name = f"{torch.cuda.get_device_name(index)} (CUDA {torch.version.cuda})"
    else:
        name = _cpu_model() or "CPU"
    pools = ", ".join(
        f"{info.get('internal_api')} {info.get('num_threads')}"
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    )
    env = {
        "device": str(device),
        "device_name": name,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "skdbn": skdbn.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "blas_threads": pools,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
    }
    print(f"device: {env['device']}, {name}")
    print(
        f"torch {env['torch']}, numpy {env['numpy']}, scikit-learn "
        f"{env['scikit-learn']}, skdbn {env['skdbn']}, python {env['python']}"
    )
    limited = f", limited to {threads} by --threads" if threads else ""
    print(
        f"threads: BLAS ({pools}{limited}), torch {env['torch_threads']} intra-op / "
        f"{env['torch_interop_threads']} inter-op; {env['cpu_count']} CPUs"
    )
    return env


def check_cores(data, args):
    """Print NumPy's float32 GEMM rate at the RBM's shape; warn if cores are busy.

    All threads slower than one means other processes hold the cores: every
    CPU time below is then far off (torch's threads suffer most).
    """
    shape = (args.batch_size, data.X_train.shape[1], args.n_components)
    gemm = [gemm_rate(shape, threads=1), gemm_rate(shape, threads=args.threads)]
    m, k, n = shape
    print(
        f"NumPy float32 GEMM ({m},{k})@({k},{n}): {gemm[0]['gflops_median']:.1f} "
        f"GFLOP/s on 1 thread, {gemm[1]['gflops_median']:.1f} on "
        f"{args.threads or blas_threads()}; load average "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    warn_if_cores_busy(gemm)
    return gemm


def load_dataset(args):
    """Fashion-MNIST (or, under --quick and without it, scikit-learn's digits)."""
    from skdbn.datasets import load_fashion_mnist

    try:
        X, y = load_fashion_mnist(args.data_dir, kind="train", return_X_y=True)
        X_test, y_test = load_fashion_mnist(args.data_dir, kind="test", return_X_y=True)
        name = "Fashion-MNIST"
    except FileNotFoundError as exc:
        if not args.quick:
            raise SystemExit(f"error: {exc}") from None
        from sklearn.datasets import load_digits

        print(f"note: {exc}\nnote: --quick runs on scikit-learn's digits instead.")
        digits = load_digits()
        X_all = (digits.data / 16).astype(np.float32)
        y_all = digits.target.astype(np.int64)
        X, y = X_all[:DIGITS_TRAIN], y_all[:DIGITS_TRAIN]
        X_test, y_test = X_all[DIGITS_TRAIN:], y_all[DIGITS_TRAIN:]
        name = "digits (8x8)"
        args.n_train = min(args.n_train, DIGITS_TRAIN)
        args.n_test = None
    if args.n_train > X.shape[0]:
        raise SystemExit(f"--n-train {args.n_train} exceeds the {X.shape[0]} images")
    n_test = X_test.shape[0] if args.n_test is None else args.n_test
    if not 1 <= n_test <= X_test.shape[0]:
        raise SystemExit(f"--n-test must be between 1 and {X_test.shape[0]}")
    return Data(
        np.ascontiguousarray(X[: args.n_train], dtype=np.float32),
        y[: args.n_train].astype(np.int64),
        np.ascontiguousarray(X_test[:n_test], dtype=np.float32),
        y_test[:n_test].astype(np.int64),
        name,
    )


# -- command line -------------------------------------------------------------------


def default_device():
    return "cuda" if torch is not None and torch.cuda.is_available() else "cpu"


def make_parser():
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="What is measured and how: the script's docstring.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--device",
        default=None,
        metavar="DEVICE",
        help="torch device: cpu, cuda or cuda:N (default: cuda if available, else cpu)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="Fashion-MNIST folder (default: $SKDBN_FASHION_MNIST_DIR, else "
        "/usr/share/datasets/fashion-mnist; `apt-get install "
        "dataset-fashion-mnist` installs it there)",
    )
    parser.add_argument(
        "--n-train",
        metavar="N",
        type=int,
        default=None,
        help=f"training rows used (default all 60000; {QUICK['n_train']} with --quick)",
    )
    add_n_test_option(parser)
    parser.add_argument(
        "--repeats",
        metavar="R",
        type=int,
        default=None,
        help="interleaved rounds of the epochs; medians are reported (default "
        "3; 1 with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK['n_train']} rows, RBM of {QUICK['n_components']} "
        f"units, network {QUICK['hidden']}, one round, the recipe's --quick "
        "epochs; scikit-learn's digits when Fashion-MNIST is missing",
    )
    parser.add_argument("--batch-size", type=int, default=100, metavar="B")
    parser.add_argument(
        "--n-components",
        metavar="H",
        type=int,
        default=None,
        help=f"hidden units of the RBM (default {N_COMPONENTS})",
    )
    parser.add_argument(
        "--hidden",
        metavar="H",
        type=int,
        nargs="+",
        default=None,
        help="hidden layers of the DBN (default: 500 500 2000)",
    )
    add_skip_option(parser, ITEMS)
    recipe_group = parser.add_argument_group("the Fashion-MNIST recipe")
    recipe_group.add_argument(
        "--recipe",
        action="store_true",
        help="also fit bench_fashion_mnist.py's whole recipe on both backends "
        "(minutes on a CPU)",
    )
    recipe_group.add_argument(
        "--recipe-repeats",
        metavar="R",
        type=int,
        default=1,
        help="rounds of the recipe (default 1: the fits are seeded)",
    )
    recipe_group.add_argument(
        "--pretrain-epochs",
        metavar="E",
        type=int,
        default=None,
        help="CD-1 epochs per layer (default: the recipe's 10; 1 with --quick)",
    )
    recipe_group.add_argument(
        "--max-iter",
        metavar="E",
        type=int,
        default=None,
        help="fine-tuning epochs (default: the recipe's 40; 2 with --quick)",
    )
    parser.add_argument(
        "--threads",
        metavar="T",
        type=int,
        default=None,
        help="limit BLAS and torch threads (default: BLAS's own setting)",
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="print the traceback of each failing measurement",
    )
    parser.add_argument("--json", metavar="PATH", help="also write results as JSON")
    return parser


def finish_args(args):
    if torch is None:
        raise SystemExit(
            "error: this benchmark needs PyTorch: `pip install torch` (the CPU "
            "build is enough for --device cpu)"
        )
    args.device = args.device or default_device()
    try:
        device = torch.device(args.device)
    except RuntimeError as exc:
        raise SystemExit(f"error: --device {args.device}: {exc}") from None
    if device.type not in ("cpu", "cuda"):
        raise SystemExit(f"error: --device takes cpu or cuda[:N], not {args.device}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(
            f"error: --device {args.device}, but CUDA is not available to torch "
            f"{torch.__version__}"
        )
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    for name in ("n_train", "repeats", "recipe_repeats", "batch_size", "n_components"):
        if getattr(args, name) < 1:
            raise SystemExit(f"error: --{name.replace('_', '-')} must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise SystemExit("error: --threads must be at least 1")
    args.hidden = list(args.hidden)
    args.recipe_spec = recipe_spec(args)
    return args


def recipe_spec(args):
    """``bench_fashion_mnist.py``'s options for its DBN, as it would parse them."""
    spec = fashion.make_args_parser().parse_args([])
    spec.quick = args.quick
    spec.hidden = list(args.hidden)
    spec.batch_size = args.batch_size
    spec.pretrain_epochs = args.pretrain_epochs
    spec.max_iter = args.max_iter
    fashion.apply_quick_defaults(spec, fashion.QUICK_DEFAULTS, fashion.DEFAULTS)
    spec.pretrain_learning_rate = fashion.learning_rates(spec.pretrain_learning_rate)
    return spec


def main(argv=None):
    args = finish_args(make_parser().parse_args(argv))
    device = TorchInputs(args.device)
    backends = {"numpy": NumpyInputs(), "device": device}
    if device.device.type == "cpu":
        torch.set_num_threads(args.threads or blas_threads())
    env = describe(device.device, args.threads)
    data = load_dataset(args)
    env["gemm_rate"] = check_cores(data, args)
    print(
        f"data: {data.name}, {data.X_train.shape[0]} training and "
        f"{data.X_test.shape[0]} test images of {data.X_train.shape[1]} features, "
        f"float32; batch {args.batch_size}; {args.repeats} round(s), medians; "
        "one process",
        flush=True,  # before the progress lines on stderr
    )
    rows = ["rbm", "finetune"]
    if args.recipe:
        rows.append("recipe")
        print(f"recipe: {fashion.recipe(args.recipe_spec)}", flush=True)

    results = {"device_name": device.name, "rows": {}}
    with limit_threads(args.threads):
        for item in rows:
            timers = timers_for(item, backends, data, args)
            if not timers:
                continue
            repeats = args.recipe_repeats if item == "recipe" else args.repeats
            print(f"\n{item}: measuring ...", file=sys.stderr)
            results["rows"][item] = measure_rounds(
                item, timers, repeats, args.traceback
            )
            del timers  # the models and their buffers
            if device.device.type == "cuda":
                torch.cuda.empty_cache()
    if not results["rows"]:
        raise SystemExit("error: nothing to measure")

    print_report(results, args, data)
    if args.json:
        payload = {
            "benchmark": "array_api",
            "args": {k: v for k, v in vars(args).items() if k != "recipe_spec"},
            "recipe": vars(args.recipe_spec),
            "environment": env,
            "data": data.name,
            "results": results,
        }
        write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
