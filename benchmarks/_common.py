"""The benchmarks' one harness: options, data, timing, processes, reports.

Every script parses its options with :func:`make_parser`, loads its data
with :func:`load_data`, times with :func:`interleave` (through a
:class:`Runner` where each measurement gets a fresh process), describes the
machine with :func:`report_machine` and reports with :func:`print_table`,
:func:`goal_line` and :func:`write_results`. How and why the measurements
are taken this way: benchmarks/README.md, "How the measurements are taken".
"""

import argparse
import ctypes
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Run from a checkout without installing the package.
    sys.path.insert(0, str(REPO_ROOT))

RESULT_MARKER = "@@BENCH-RESULT@@ "
FULL_N_TRAIN = 60000
FULL_N_TEST = 10000
WARMUP_ROWS = 1000
#: The shared options' values under --quick, and otherwise, where not given
#: on the command line; a script adds its own options' (make_parser).
QUICK = {"n_samples": 3000, "repeats": 1}
FULL = {"n_samples": FULL_N_TRAIN, "repeats": 3}


# -- command line ---------------------------------------------------------------------


def count(text):
    """argparse type of the options that count something: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class BenchmarkParser(argparse.ArgumentParser):
    """An argument parser that fills in the options left unset.

    They get their ``quick`` value under ``--quick``, their ``full`` value
    otherwise (see :func:`make_parser`).
    """

    def __init__(self, description, quick, full):
        super().__init__(
            description=description,
            epilog="What is measured and how: the script's docstring and "
            "benchmarks/README.md.",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        self.quick, self.full = quick, full

    def parse_args(self, args=None, namespace=None):
        args = super().parse_args(args, namespace)
        for name, value in (self.quick if args.quick else self.full).items():
            if name in args and getattr(args, name) is None:
                setattr(args, name, value)
        return args


def make_parser(
    doc,
    *shared,
    items=None,
    skip_help="items not to run",
    quick=None,
    full=None,
    quick_note="",
):
    """The parser of a benchmark script.

    ``doc`` is the script's docstring: its first paragraph describes the
    script in ``--help``. Every script takes ``--data-dir``, ``--n-samples``,
    ``--quick`` and ``--json``; ``shared`` names the other shared options it
    takes, among ``--n-test``, ``--repeats``, ``--batch-size``, ``--threads``
    and ``--in-process``. ``items`` adds ``--skip ITEM ...`` (``skip_help``
    says what it leaves out). ``quick`` and ``full`` map options to their
    values under ``--quick`` and otherwise, where not given, added to
    :data:`QUICK` and :data:`FULL`; ``quick_note`` is said about ``--quick``
    after its values.
    """
    quick = {**QUICK, **(quick or {})}
    full = {**FULL, **(full or {})}
    options = {
        "--n-test": {
            "type": count,
            "metavar": "N",
            "help": f"test images used (default {full.get('n_test', 'all')})",
        },
        "--repeats": {
            "type": count,
            "metavar": "R",
            "help": f"interleaved rounds (default {full['repeats']})",
        },
        "--batch-size": {
            "type": count,
            "default": 100,
            "metavar": "B",
            "help": "mini-batch size (default 100)",
        },
        "--threads": {
            "type": count,
            "metavar": "T",
            "help": "limit BLAS (and torch) threads (default: BLAS's own setting)",
        },
        "--in-process": {
            "action": "store_true",
            "help": "run the items in this process, not one process per "
            "measurement (debugging; peaks are then less reliable)",
        },
    }
    parser = BenchmarkParser(doc.strip().split("\n\n")[0], quick, full)
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="Fashion-MNIST folder, or any of MNIST-format IDX files (default: "
        "$SKDBN_FASHION_MNIST_DIR, else /usr/share/datasets/fashion-mnist, "
        "where `apt-get install dataset-fashion-mnist` puts it)",
    )
    parser.add_argument(
        "--n-samples",
        type=count,
        metavar="N",
        help=f"training rows used (default {full['n_samples']})",
    )
    for name in shared:
        parser.add_argument(name, **options[name])
    if "--in-process" in shared:
        # The script re-run as the process of one measurement (Runner).
        parser.add_argument("--worker", help=argparse.SUPPRESS)
    values = ", ".join(
        f"--{name.replace('_', '-')} "
        + (" ".join(map(str, value)) if isinstance(value, list) else str(value))
        for name, value in quick.items()
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {values} unless given explicitly{quick_note}",
    )
    if items is not None:
        parser.add_argument(
            "--skip",
            nargs="+",
            default=[],
            choices=list(items),
            metavar="ITEM",
            help=f"{skip_help}, among: {', '.join(items)}",
        )
    parser.add_argument("--json", metavar="PATH", help="also write results as JSON")
    return parser


# -- data -----------------------------------------------------------------------------


@dataclass
class Data:
    """Training and test images with their labels; ``name`` says which."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str = "Fashion-MNIST"

    PARTS = ("X_train", "y_train", "X_test", "y_test")

    @property
    def full(self):
        """All of Fashion-MNIST: the runs the goals and the README speak of."""
        return (
            self.name == "Fashion-MNIST"
            and len(self.X_train) == FULL_N_TRAIN
            and len(self.X_test) in (0, FULL_N_TEST)
        )


def load_data(data_dir, n_train, n_test=0, *, digits_if_missing=False):
    """The first training and test images of Fashion-MNIST, labels as int64.

    ``n_test=None`` takes all the test images, ``0`` none. A missing file
    exits with the loader's message (which says how to install the data),
    unless ``digits_if_missing``: scikit-learn's digits (/ 16, the first
    1500 images for training) then stand in.
    """
    from skdbn.datasets import load_fashion_mnist

    name = "Fashion-MNIST" if data_dir is None else f"MNIST-format set in {data_dir}"
    try:
        X, y = load_fashion_mnist(data_dir, kind="train", return_X_y=True)
        X_test, y_test = X[:0], y[:0]
        if n_test != 0:
            X_test, y_test = load_fashion_mnist(data_dir, kind="test", return_X_y=True)
    except FileNotFoundError as exc:
        if not digits_if_missing:
            raise SystemExit(f"error: {exc}") from None
        from sklearn.datasets import load_digits

        print(f"note: {exc}\nnote: scikit-learn's digits stand in for it.")
        X, y = load_digits(return_X_y=True)
        X, X_test, y, y_test = X[:1500] / 16, X[1500:] / 16, y[:1500], y[1500:]
        name, n_train, n_test = "digits (8x8)", min(n_train, 1500), None
    for option, n, available in (("samples", n_train, X), ("test", n_test, X_test)):
        if n is not None and n > available.shape[0]:
            raise SystemExit(
                f"--n-{option} {n} exceeds the {available.shape[0]} images"
            )
    return Data(
        np.ascontiguousarray(X[:n_train], dtype=np.float32),
        y[:n_train].astype(np.int64),
        np.ascontiguousarray(X_test[:n_test], dtype=np.float32),
        y_test[:n_test].astype(np.int64),
        name,
    )


def print_data(data, args, *details):
    """The line under the machine's description: the data and the run."""
    n_train, n_pixels = data.X_train.shape
    test = f" and {data.X_test.shape[0]} test" if data.X_test.shape[0] else ""
    parts = [f"data: {data.name}, {n_train} training{test} images of {n_pixels} pixels"]
    parts += details
    if "batch_size" in args:
        parts.append(f"batch {args.batch_size}")
    if "repeats" in args:
        parts.append(f"{args.repeats} round(s), medians")
    if "in_process" in args:
        parts.append("all in this process" if args.in_process else "one process each")
    print("; ".join(parts), flush=True)  # before the progress lines on stderr
    if not data.full:
        print("(not the full Fashion-MNIST: a smoke run)")


def layer_shapes(batch_size, sizes):
    """The GEMM shapes of a forward pass through layers of these widths."""
    return [(batch_size, fan_in, fan_out) for fan_in, fan_out in zip(sizes, sizes[1:])]


def warmup_rows(X):
    """A few rows for untimed warm-up calls."""
    return X[:WARMUP_ROWS]


def warmup_indices(y):
    """The warm-up rows plus one row of each class, so every class is seen."""
    _, first_of_class = np.unique(y, return_index=True)
    return np.union1d(np.arange(warmup_rows(y).shape[0]), first_of_class)


# -- timing ---------------------------------------------------------------------------


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def field(results, name):
    """Median of one field over an item's successful runs (None if absent)."""
    return median([r.get(name) for r in results if "error" not in r])


def interleave(names, repeats, measure, show_traceback=False):
    """Measure every item ``repeats`` times, interleaved ``A, B, A, B, ...``.

    ``measure(name)`` returns a dict with at least ``"wall"`` and ``"cpu"``.
    Returns item name -> the dicts, one per round. An item whose measurement
    raises gets ``{"error": "Type: message"}`` and is not run again; the
    others go on.
    """
    runs = {name: [] for name in names}
    for round_ in range(repeats):
        for name in names:
            if runs[name] and "error" in runs[name][-1]:
                continue
            progress = f"  round {round_ + 1}/{repeats}: {name} ..."
            print(progress, end="", flush=True, file=sys.stderr)
            try:
                result = measure(name)
            except Exception as exc:  # one broken item must not stop the rest
                runs[name].append({"error": f"{type(exc).__name__}: {exc}"})
                print(f"\nFAILED: {name}: {exc}", file=sys.stderr)
                if show_traceback:
                    traceback.print_exc()
                continue
            runs[name].append(result)
            print(f" {result['wall']:.3f}s", file=sys.stderr)
    return runs


def summarize(runs, medians=(), last=()):
    """Per item: medians of wall and CPU time, the worst peak memory, and more.

    ``spread`` is ``(max - min) / median`` of the wall times: a large one
    says the machine's load changed during the run. The fields named in
    ``medians`` get their median over the item's runs, those in ``last``
    the last successful run's value; ``runs`` keeps the runs. An item that
    never ran through has its ``error`` and None for the figures.
    """
    summary = {}
    for name, results in runs.items():
        ok = [r for r in results if "error" not in r]
        walls = [r["wall"] for r in ok]
        wall, cpu = median(walls), field(ok, "cpu")
        peaks = [r["peak_mib"] for r in ok if r.get("peak_mib") is not None]
        extras = [r["extra_mib"] for r in ok if r.get("extra_mib") is not None]
        summary[name] = {
            "wall": wall,
            "spread": (max(walls) - min(walls)) / wall if len(walls) > 1 else None,
            "cpu": cpu,
            "cpu_per_wall": cpu / wall if wall and cpu is not None else None,
            "peak_mib": max(peaks, default=None),
            "extra_mib": max(extras, default=None),
            "n_runs": len(ok),
            **{key: field(ok, key) for key in medians},
            **{key: ok[-1].get(key) if ok else None for key in last},
            "runs": results,
        }
        if not ok:
            summary[name]["error"] = results[-1]["error"]
    return summary


def paired_ratio(runs, numerator, denominator):
    """Median over rounds of ``wall[numerator] / wall[denominator]``.

    Rounds are paired because the two items ran back to back in each, which
    cancels most of a slow drift in the machine's load.
    """
    if numerator not in runs or denominator not in runs:
        return None
    pairs = zip(runs[numerator], runs[denominator])
    return median(
        [
            a["wall"] / b["wall"]
            for a, b in pairs
            if "error" not in a and "error" not in b and b["wall"] > 0
        ]
    )


def _status_kib(name):
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


@contextmanager
def peak_memory():
    """Measure the peak resident memory reached inside the block.

    Yields a dict filled on exit with ``peak_mib`` (peak RSS of the process
    during the block), ``extra_mib`` (that peak minus the RSS on entry: what
    the block itself needed at most) and ``memory_method``. Where the peak
    cannot be reset, ``ru_maxrss`` of the whole process is reported and
    ``extra_mib`` is only meaningful if the block set the process's peak.
    """
    # Return freed heap memory to the OS first, so RSS counts live data
    # only: glibc keeps freed blocks resident (and raises its mmap threshold
    # after large frees), which would hide what the block allocates again.
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    info = {}
    start_kib = _status_kib("VmRSS")
    try:
        # Reset the kernel's high-water mark of RSS (Linux >= 4.0).
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        reset = True
    except OSError:
        reset = False
    try:
        yield info
    finally:
        peak_kib = _status_kib("VmHWM") if reset else None
        info["memory_method"] = "VmHWM after clear_refs"
        if peak_kib is None:
            # ru_maxrss is in KiB on Linux, in bytes on macOS.
            peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            if sys.platform == "darwin":
                peak_kib //= 1024
            info["memory_method"] = "ru_maxrss (whole process)"
        info["peak_mib"] = peak_kib / 1024
        info["extra_mib"] = None if start_kib is None else (peak_kib - start_kib) / 1024


def measure(fn, *args):
    """Call ``fn(*args)`` once: wall and CPU seconds (all threads), peak memory."""
    with peak_memory() as memory:
        cpu, wall = time.process_time(), time.perf_counter()
        fn(*args)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall": wall, "cpu": cpu, **memory}


# -- one process per measurement ------------------------------------------------------


class Runner:
    """Runs a script's measurements, each in a fresh process.

    The script is re-run with ``--worker SPEC``; its ``worker(spec, data)``
    (called by :func:`worker_main` there) returns the measurement's dict.
    The data are saved once to a temporary folder the workers read. With
    ``args.in_process`` the worker is called here instead (debugging).
    """

    def __init__(self, script, data, worker, args):
        self.script, self.data, self.worker, self.args = str(script), data, worker, args
        self._tmp = tempfile.TemporaryDirectory(prefix="skdbn-bench-")
        if not args.in_process:
            for part in Data.PARTS:
                np.save(Path(self._tmp.name) / f"{part}.npy", getattr(data, part))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._tmp.cleanup()

    def measure(self, keys, spec):
        """:func:`interleave`'s runs of ``worker({**spec, "item": key}, data)``."""
        return interleave(
            keys, self.args.repeats, lambda key: self.run({**spec, "item": key})
        )

    def run(self, spec):
        spec = {**spec, "threads": self.args.threads}
        if self.args.in_process:
            with limit_threads(self.args.threads):
                return self.worker(spec, self.data)
        spec["data"] = self._tmp.name
        cmd = [sys.executable, self.script, "--worker", json.dumps(spec)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        for line in reversed(done.stdout.splitlines()):
            if line.startswith(RESULT_MARKER):
                return json.loads(line[len(RESULT_MARKER) :])
        raise RuntimeError(
            f"worker for {spec.get('item')!r} failed (exit {done.returncode}):\n"
            f"{done.stderr[-3000:]}"
        )


def worker_main(spec_json, worker):
    """Entry point of ``--worker``: load the data, run, print the result."""
    spec = json.loads(spec_json)
    data = Data(*(np.load(Path(spec["data"]) / f"{p}.npy") for p in Data.PARTS))
    with limit_threads(spec.get("threads")):
        result = worker(spec, data)
    print(RESULT_MARKER + json.dumps(result, default=_json_default), flush=True)


# -- the machine: BLAS threads, GEMM rate, environment --------------------------------


def blas_threads():
    """The threads of numpy's own BLAS (scipy's is a second copy)."""
    from threadpoolctl import threadpool_info

    blas = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    blas.sort(key=lambda info: "numpy" not in info.get("filepath", ""))  # numpy's first
    return blas[0]["num_threads"] if blas else os.cpu_count() or 1


def limit_threads(threads):
    """Context manager limiting the BLAS threads (no-op for None)."""
    if threads is None:
        return nullcontext()
    # threadpoolctl limits the libraries loaded now: load scipy's OpenBLAS
    # (skdbn's training BLAS) beside numpy's first, or it keeps its threads.
    import scipy.linalg.blas  # noqa: F401
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


def gemm_rate(shapes, threads=None):
    """GFLOP/s of float32 numpy ``matmul`` at ``shapes``, timed as one sequence.

    ``shapes`` is ``(m, k, n)`` for ``(m, k) @ (k, n)``, or a list of them
    (e.g. the products of one training step); ``threads`` limits the BLAS
    threads (None: BLAS's own setting). Five rounds of at least 0.2 s:
    ``gflops`` is the fastest (noise only adds time), ``gflops_median`` the
    median; ``seconds`` is one pass over the sequence, fastest round.
    """
    shapes = [shapes] if isinstance(shapes[0], int) else shapes
    rng = np.random.default_rng(0)
    operands = [
        (
            rng.random((m, k), dtype=np.float32),
            rng.random((k, n), dtype=np.float32),
            np.empty((m, n), dtype=np.float32),
        )
        for m, k, n in shapes
    ]
    flops = sum(2 * m * k * n for m, k, n in shapes)

    def one_pass():
        for a, b, out in operands:
            np.matmul(a, b, out=out)

    with limit_threads(threads):
        one_pass()  # warm-up
        start, n_passes = time.perf_counter(), 0
        while time.perf_counter() - start < 0.05:
            one_pass()
            n_passes += 1
        per_round = max(1, n_passes * 4)  # about 0.2 s
        times = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(per_round):
                one_pass()
            times.append((time.perf_counter() - start) / per_round)
    return {
        "shapes": [list(s) for s in shapes],
        "dtype": "float32",
        "threads": threads,
        "effective_threads": threads or blas_threads(),
        "seconds": min(times),
        "gflops": flops / min(times) / 1e9,
        "gflops_median": flops / statistics.median(times) / 1e9,
    }


def describe_environment():
    """Versions, BLAS, CPU and load: what the numbers depend on."""
    import sklearn
    from threadpoolctl import threadpool_info

    import skdbn

    keys = ("user_api", "internal_api", "prefix", "version", "num_threads")
    keys += ("architecture", "threading_layer")
    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "skdbn": skdbn.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "cpu_model": cpu_model(),
        "threadpools": [{k: info.get(k) for k in keys} for info in threadpool_info()],
        "numpy_blas_threads": blas_threads(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    torch = sys.modules.get("torch")  # only where the script uses it
    if torch is not None:
        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
        env["torch_interop_threads"] = torch.get_num_interop_threads()
    return env


def cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def print_environment(env, gemm):
    torch = ""
    if "torch" in env:
        torch = (
            f", torch {env['torch']} ({env['torch_threads']} intra-op / "
            f"{env['torch_interop_threads']} inter-op threads)"
        )
    print(
        f"python {env['python']}, numpy {env['numpy']}, scikit-learn "
        f"{env['scikit-learn']}, skdbn {env['skdbn']}{torch}"
    )
    print(f"{env['platform']}; {env['cpu_model']}")
    load = env["load_average"]
    load = "n/a" if load is None else ", ".join(f"{x:.2f}" for x in load)
    cpus = f"CPUs: {env['cpu_count']} (usable: {env['cpu_affinity']})"
    print(f"{cpus}; load average at start: {load}")
    for pool in env["threadpools"]:
        arch = f", {pool['architecture']}" if pool.get("architecture") else ""
        print(
            f"  {pool['user_api']}: {pool['internal_api']} {pool['version'] or ''} "
            f"({pool['prefix']}), {pool['num_threads']} threads{arch}"
        )
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if name in env:
            print(f"  {name}={env[name]}")
    for rate_ in gemm:
        (m, k, n), more = rate_["shapes"][0], len(rate_["shapes"]) - 1
        print(
            f"  float32 GEMM ({m},{k})@({k},{n}){f' + {more} more' if more else ''}, "
            f"{rate_['threads'] or 'all'} thread(s): {rate_['gflops']:.1f} GFLOP/s "
            f"(median {rate_['gflops_median']:.1f})"
        )


def report_machine(shape_groups, threads):
    """Describe the machine and its GEMM rate, print both, check the cores.

    ``shape_groups`` is a list of :func:`gemm_rate` shapes (one shape or a
    list of them per group); each group is timed on one BLAS thread and on
    ``threads`` (None: BLAS's own setting). Returns the record the scripts
    write to their JSON: ``environment``, ``gemm_rate`` (one thread, then
    all, group by group) and ``cores_busy_at_start``.
    """
    env = describe_environment()
    gemm = []
    for shapes in shape_groups:
        gemm += [gemm_rate(shapes, threads=1), gemm_rate(shapes, threads=threads)]
    print_environment(env, gemm)
    return {
        "environment": env,
        "gemm_rate": gemm,
        "cores_busy_at_start": warn_if_cores_busy(gemm),
    }


def warn_if_cores_busy(gemm):
    """Warn when all BLAS threads are slower than one: the cores are busy.

    ``gemm`` holds pairs of :func:`gemm_rate` results, one thread then all.
    OpenBLAS threads wait for each other at every product, so when another
    process holds a core a multi-threaded GEMM can take a whole scheduler
    time slice, ten times slower than on one thread.
    """
    for single, multi in zip(gemm[::2], gemm[1::2]):
        if multi["effective_threads"] == 1:
            continue  # the same measurement twice: any difference is noise
        if multi["gflops_median"] < single["gflops_median"]:
            print(
                "WARNING: GEMM on all BLAS threads is slower than on one "
                f"({multi['gflops_median']:.0f} vs {single['gflops_median']:.0f} "
                "GFLOP/s): other processes hold the cores and the timings below "
                "will be far off. Rerun on an idle machine, or with --threads 1."
            )
            return True
    return False


# -- reports --------------------------------------------------------------------------


def rate(amount, seconds):
    """``amount / seconds``, or None when the time is missing."""
    return amount / seconds if seconds else None


def fmt(value, spec=".2f", suffix=""):
    """Format a number, or '-' for None."""
    return "-" if value is None else f"{value:{spec}}{suffix}"


def print_table(headers, rows, title=None):
    """Print rows (lists of str) under headers; the first column left-aligned."""
    widths = [
        max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))
    ]

    def line(cells):
        first = f"{cells[0]!s:<{widths[0]}}"
        rest = (f"{c!s:>{w}}" for c, w in zip(cells[1:], widths[1:]))
        return "  ".join([first, *rest])

    if title:
        print(f"\n{title}")
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def print_noise_notes(summary, threads, labels):
    """Warn about measurements the machine's load probably spoiled."""
    threads = threads or blas_threads()
    for name, s in summary.items():
        label = labels.get(name, name)
        if s.get("error"):
            print(f"note: {label}: failed: {s['error'][-500:]}")
            continue
        if s["spread"] is not None and s["spread"] > 0.2:
            print(
                f"note: {label}: times spread over {100 * s['spread']:.0f}% of "
                "the median; the load changed during the run"
            )
        if threads > 1 and s["cpu_per_wall"] is not None and s["cpu_per_wall"] < 1.3:
            print(
                f"note: {label}: CPU/wall {s['cpu_per_wall']:.2f} with {threads} "
                "BLAS threads; the other core(s) were mostly busy elsewhere"
            )


def speed_table(
    runs, keys, *, labels, flops, n_samples, rivals, head, title, note, threads
):
    """Print bench_rbm's and bench_finetune's table of seconds per epoch.

    ``labels`` maps each item to its row's label, ``flops`` to the flops of
    its epoch's products (the GEMM-only floor ``gemm`` included); ``rivals``
    maps a column header to the item whose time over the row's the column
    shows; ``head`` heads the first column. ``note`` follows the table, then
    :func:`print_noise_notes`. Returns :func:`summarize`'s record with the
    table's figures added.
    """
    summary = summarize(runs)
    rows = []
    for key in keys:
        s = summary[key]
        vs_gemm = paired_ratio(runs, "gemm", key)
        speedups = {
            f"speedup_vs_{item.replace('-', '_')}": paired_ratio(runs, item, key)
            for item in rivals.values()
        }
        s.update(
            label=labels[key],
            flops=flops[key],
            gflops=rate(flops[key] / 1e9, s["wall"]),
            samples_per_s=rate(n_samples, s["wall"]),
            # The floor's time over this row's, in flops of each's own count.
            of_gemm_rate=vs_gemm and vs_gemm * flops[key] / flops["gemm"],
            **speedups,
        )
        rows.append(
            [
                labels[key],
                "failed" if s.get("error") else fmt(s["wall"], ".3f"),
                fmt(s["spread"] and 100 * s["spread"], ".0f", "%"),
                fmt(s["cpu_per_wall"], ".2f"),
                fmt(s["samples_per_s"], ".0f"),
                fmt(s["gflops"], ".1f"),
                fmt(s["of_gemm_rate"] and 100 * s["of_gemm_rate"], ".0f", "%"),
                *(fmt(ratio, ".2f", "x") for ratio in speedups.values()),
                fmt(s["peak_mib"], ".0f"),
                fmt(s["extra_mib"], ".0f"),
            ]
        )
    headers = [head, "s/epoch", "spread", "CPU/wall", "samples/s", "GFLOP/s"]
    headers += ["of GEMM", *rivals, "peak MiB", "+MiB"]
    print_table(headers, rows, title=title)
    print(
        "vs X = X's time / this row's time (above 1: this row is faster), "
        f"median of per-round ratios; spread = (max - min) / median time.\n{note}"
    )
    print_noise_notes(summary, threads, labels)
    return summary


def goal_line(passed, text):
    """Print and return one goal's verdict; ``passed`` None means not measured."""
    verdict = {True: "PASS", False: "FAIL", None: "SKIP"}[passed]
    print(f"{verdict}  {text}")
    return {"verdict": verdict, "text": text}


def ratio_goal(ratio, passes, text, prefix=""):
    """Print and return a goal on a measured ratio.

    ``text`` holds ``{r}`` where the ratio goes; ``passes(ratio)`` gives the
    verdict; a ratio of None (an item not run) is reported as not measured.
    """
    text = prefix + text.replace("{r}", fmt(ratio) if ratio is not None else "?")
    if ratio is None:
        return goal_line(None, f"{text}: not measured")
    return goal_line(passes(ratio), text)


def speed_goals(runs, *, what, floor_goal, rival, rival_goals, prefix=""):
    """The goals bench_rbm and bench_finetune share.

    skdbn on float32 input within ``floor_goal`` times the GEMM-only time,
    and faster than scikit-learn's ``rival`` by ``rival_goals`` (float32,
    float64 input) on the same input.
    """
    print()
    goals = [
        ratio_goal(
            paired_ratio(runs, "skdbn-f32", "gemm"),
            lambda r: r <= floor_goal,
            f"skdbn {what} time = {{r}} x GEMM-only time (goal <= {floor_goal})",
            prefix,
        )
    ]
    for dtype, goal in zip(("float32", "float64"), rival_goals):
        suffix = dtype.replace("float", "f")
        goals.append(
            ratio_goal(
                paired_ratio(runs, f"sklearn-{suffix}", f"skdbn-{suffix}"),
                lambda r, goal=goal: r >= goal,
                f"skdbn {{r}}x faster than {rival} on {dtype} input (goal >= {goal})",
                prefix,
            )
        )
    return goals


def write_results(args, benchmark, **payload):
    """With ``--json PATH``: write the options and ``payload`` there."""
    if not args.json:
        return
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"benchmark": benchmark, "args": vars(args), **payload}
    path.write_text(json.dumps(record, indent=2, default=_json_default) + "\n")
    print(f"\nwrote {path}")


def _json_default(value):
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, argparse.Namespace):  # e.g. another script's options
        return vars(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
