"""Shared machinery of the benchmarks: timing, isolation, memory, reporting.

How a benchmark runs
--------------------
A benchmark is a list of *items* (one way of doing the work, e.g. "skdbn
CD-1 on float32 input"). Each measurement of an item runs in a fresh Python
process (the script re-invoked with ``--worker``), which

- loads the data that the parent saved once as ``.npy`` files,
- does an untimed warm-up on a few rows (starts the BLAS threads, imports
  and first-call costs),
- resets the kernel's peak-RSS counter (``/proc/self/clear_refs``), times the
  call with :func:`time.perf_counter` (wall) and :func:`time.process_time`
  (CPU, all threads), and reads the peak RSS reached during the call.

A process per measurement keeps items from disturbing each other (OpenMP
threads of PyTorch spin after each call, allocator state, the monotone
``ru_maxrss``). The items are interleaved, ``A, B, C, A, B, C, ...``, so a
change in the machine's load hits every item alike, and the median over the
repeats is reported. Ratios between items are medians of the per-repeat
ratios of measurements taken back to back.

CPU/wall near the number of BLAS threads means the cores were ours; near 1
on a multi-core run means the other cores were busy elsewhere.
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
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Run from a checkout without installing the package.
    sys.path.insert(0, str(REPO_ROOT))

RESULT_MARKER = "@@BENCH-RESULT@@ "
QUICK_N_SAMPLES = 3000
WARMUP_ROWS = 1000


# -- timing -----------------------------------------------------------------


def time_call(fn, *args, **kwargs):
    """Run ``fn`` once; return wall and CPU seconds and its return value."""
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    value = fn(*args, **kwargs)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    return {"wall": wall, "cpu": cpu}, value


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def interleave(names, repeats, measure, progress=True):
    """Measure every item ``repeats`` times, interleaved ``A, B, A, B, ...``.

    Parameters
    ----------
    names : list of str
        Items, in the order they run within a round.
    repeats : int
        Number of rounds.
    measure : callable
        ``measure(name)`` returns a dict with at least ``"wall"`` and
        ``"cpu"``.

    Returns
    -------
    runs : dict
        Item name -> list of the dicts returned, one per round. An item
        whose measurement raises gets ``{"error": message}`` instead and is
        not run again; the others go on.
    """
    runs = {name: [] for name in names}
    failed = set()
    for round_ in range(repeats):
        for name in names:
            if name in failed:
                continue
            if progress:
                print(
                    f"  round {round_ + 1}/{repeats}: {name} ...",
                    end="",
                    flush=True,
                    file=sys.stderr,
                )
            try:
                result = measure(name)
            except Exception as exc:  # one broken item must not stop the rest
                failed.add(name)
                runs[name].append({"error": f"{type(exc).__name__}: {exc}"})
                print(f"\nFAILED: {name}: {exc}", file=sys.stderr)
                continue
            runs[name].append(result)
            if progress:
                print(f" {result['wall']:.3f}s", file=sys.stderr)
    return runs


def _ok(results):
    return [r for r in results if "error" not in r]


def summarize(runs):
    """Medians of wall and CPU time, and the worst peak memory, per item.

    ``spread`` is ``(max - min) / median`` of the wall times: a large one
    says the machine's load changed during the run.
    """
    summary = {}
    for name, all_results in runs.items():
        results = _ok(all_results)
        if not results:
            summary[name] = dict.fromkeys(
                ("wall", "spread", "cpu", "cpu_per_wall", "peak_mib", "extra_mib")
            )
            summary[name].update(n_runs=0, error=all_results[-1]["error"])
            continue
        wall = median([r["wall"] for r in results])
        cpu = median([r["cpu"] for r in results])
        peaks = [r["peak_mib"] for r in results if r.get("peak_mib") is not None]
        extras = [r["extra_mib"] for r in results if r.get("extra_mib") is not None]
        walls = [r["wall"] for r in results]
        spread = (max(walls) - min(walls)) / wall if len(walls) > 1 and wall else None
        summary[name] = {
            "wall": wall,
            "spread": spread,
            "cpu": cpu,
            "cpu_per_wall": cpu / wall if wall else None,
            "peak_mib": max(peaks) if peaks else None,
            "extra_mib": max(extras) if extras else None,
            "n_runs": len(results),
        }
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


# -- memory -----------------------------------------------------------------


def _status_kib(field):
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss():
    """Reset the kernel's high-water mark of RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def _release_free_memory():
    """Return freed heap memory to the OS, so RSS counts live data only.

    glibc keeps freed blocks resident (and raises its mmap threshold after
    large frees), which would hide what the timed call allocates again.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@contextmanager
def peak_memory():
    """Measure the peak resident memory reached inside the block.

    Yields a dict filled on exit with ``peak_mib`` (peak RSS of the process
    during the block), ``extra_mib`` (that peak minus the RSS on entry, i.e.
    what the block itself needed at most) and ``memory_method``. Where the
    peak cannot be reset, ``ru_maxrss`` of the whole process is reported and
    ``extra_mib`` is only meaningful if the block set the process's peak.
    """
    info = {}
    _release_free_memory()
    start_kib = _status_kib("VmRSS")
    reset = _reset_peak_rss()
    try:
        yield info
    finally:
        peak_kib = _status_kib("VmHWM") if reset else None
        method = "VmHWM after clear_refs"
        if peak_kib is None:
            # ru_maxrss is in KiB on Linux, in bytes on macOS.
            peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            if sys.platform == "darwin":
                peak_kib //= 1024
            method = "ru_maxrss (whole process)"
        info["peak_mib"] = peak_kib / 1024
        info["extra_mib"] = (
            (peak_kib - start_kib) / 1024 if start_kib is not None else None
        )
        info["memory_method"] = method


def measure(fn, *args, **kwargs):
    """Time ``fn(*args, **kwargs)`` and record its peak memory."""
    with peak_memory() as memory:
        timing, _ = time_call(fn, *args, **kwargs)
    return {**timing, **memory}


# -- BLAS threads and GEMM rate -----------------------------------------------


def numpy_blas_info():
    """threadpoolctl's record of the BLAS that numpy itself links, or None."""
    from threadpoolctl import threadpool_info

    blas = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    for info in blas:
        # numpy's wheels ship their own OpenBLAS; scipy's is a second copy.
        if "numpy" in info.get("filepath", ""):
            return info
    return blas[0] if blas else None


def blas_threads():
    info = numpy_blas_info()
    return info["num_threads"] if info else os.cpu_count() or 1


def limit_threads(threads):
    """Context manager limiting the BLAS threads (no-op for None)."""
    if threads is None:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


def gemm_rate(shapes, dtype=np.float32, threads=None, min_time=0.2, rounds=5):
    """GFLOP/s of numpy ``matmul`` at the given shapes.

    Parameters
    ----------
    shapes : tuple or list of tuples
        ``(m, k, n)`` for ``(m, k) @ (k, n)``, or a list of them, timed as
        one sequence (e.g. the products of one training step).
    dtype : dtype, default=np.float32
    threads : int or None
        Limit the BLAS threads while measuring; None leaves them alone.
    min_time : float
        Minimum seconds per timing round (the sequence is repeated).
    rounds : int
        Timing rounds; the fastest is reported, as noise only adds time.

    Returns
    -------
    result : dict
        ``gflops`` (fastest round), ``gflops_median`` and ``seconds`` (for one
        pass over the sequence, fastest round).
    """
    if isinstance(shapes[0], int):
        shapes = [shapes]
    rng = np.random.default_rng(0)
    operands = []
    for m, k, n in shapes:
        a = rng.random((m, k), dtype=np.float64).astype(dtype)
        b = rng.random((k, n), dtype=np.float64).astype(dtype)
        operands.append((a, b, np.empty((m, n), dtype=dtype)))
    flops = sum(2 * m * k * n for m, k, n in shapes)

    def one_pass():
        for a, b, out in operands:
            np.matmul(a, b, out=out)

    with limit_threads(threads):
        one_pass()  # warm-up
        start = time.perf_counter()
        n_passes = 0
        while time.perf_counter() - start < 0.05:
            one_pass()
            n_passes += 1
        per_round = max(1, int(n_passes * min_time / 0.05))
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(per_round):
                one_pass()
            times.append((time.perf_counter() - start) / per_round)
    return {
        "shapes": [list(s) for s in shapes],
        "dtype": np.dtype(dtype).name,
        "threads": threads,
        "seconds": min(times),
        "gflops": flops / min(times) / 1e9,
        "gflops_median": flops / statistics.median(times) / 1e9,
    }


# -- environment ------------------------------------------------------------


def describe_environment():
    """Versions, BLAS, CPU and load: what the numbers depend on."""
    import sklearn
    from threadpoolctl import threadpool_info

    blas = [
        {
            key: info.get(key)
            for key in (
                "user_api",
                "internal_api",
                "prefix",
                "version",
                "num_threads",
                "architecture",
                "threading_layer",
            )
        }
        for info in threadpool_info()
    ]
    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        ),
        "cpu_model": _cpu_model(),
        "threadpools": blas,
        "numpy_blas_threads": blas_threads(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    for name in (
        "OPENBLAS_CORETYPE",
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
    ):
        if os.environ.get(name):
            env[name] = os.environ[name]
    try:
        import skdbn

        env["skdbn"] = skdbn.__version__
    except ImportError:
        pass
    return env


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def print_environment(env, gemm=()):
    print(f"python {env['python']}, numpy {env['numpy']}, ", end="")
    print(f"scikit-learn {env['scikit-learn']}, skdbn {env.get('skdbn', '?')}")
    print(f"{env['platform']}; {env['cpu_model']}")
    print(
        f"CPUs: {env['cpu_count']} (usable: {env['cpu_affinity']}); "
        f"load average at start: {_fmt_load(env['load_average'])}"
    )
    for pool in env["threadpools"]:
        arch = f", {pool['architecture']}" if pool.get("architecture") else ""
        print(
            f"  {pool['user_api']}: {pool['internal_api']} {pool['version'] or ''} "
            f"({pool['prefix']}), {pool['num_threads']} threads{arch}"
        )
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if name in env:
            print(f"  {name}={env[name]}")
    for rate in gemm:
        m, k, n = rate["shapes"][0]
        extra = f" + {len(rate['shapes']) - 1} more" if len(rate["shapes"]) > 1 else ""
        threads = rate["threads"] or "all"
        print(
            f"  {rate['dtype']} GEMM ({m},{k})@({k},{n}){extra}, {threads} "
            f"thread(s): {rate['gflops']:.1f} GFLOP/s "
            f"(median {rate['gflops_median']:.1f})"
        )


def report_machine(shape_groups, threads):
    """Describe the machine and its GEMM rate, print both, check the cores.

    ``shape_groups`` is a list of :func:`gemm_rate` shapes (one shape or a
    list of them per group); each group is timed on one BLAS thread and on
    ``threads`` (None: BLAS's own setting).

    Returns
    -------
    env : dict
        :func:`describe_environment`'s record.
    gemm : list of dict
        The rates, one thread then all, group by group.
    cores_busy : bool
        :func:`warn_if_cores_busy`'s verdict.
    """
    env = describe_environment()
    gemm = []
    for shapes in shape_groups:
        gemm.append(gemm_rate(shapes, threads=1))
        gemm.append(gemm_rate(shapes, threads=threads))
    print_environment(env, gemm)
    return env, gemm, warn_if_cores_busy(gemm)


def warn_if_cores_busy(gemm):
    """Warn when all BLAS threads are slower than one: the cores are busy.

    ``gemm`` holds pairs of :func:`gemm_rate` results, one thread then all.
    OpenBLAS threads wait for each other at every product, so when another
    process holds a core a multi-threaded GEMM can take a whole scheduler
    time slice, ten times slower than on one thread.
    """
    for single, multi in zip(gemm[::2], gemm[1::2]):
        if multi["threads"] != 1 and multi["gflops_median"] < single["gflops_median"]:
            print(
                "WARNING: GEMM on all BLAS threads is slower than on one "
                f"({multi['gflops_median']:.0f} vs {single['gflops_median']:.0f} "
                "GFLOP/s): other processes hold the cores and the timings below "
                "will be far off. Rerun on an idle machine, or with --threads 1."
            )
            return True
    return False


def _fmt_load(load):
    return "n/a" if load is None else ", ".join(f"{x:.2f}" for x in load)


# -- output -----------------------------------------------------------------


def rate(amount, seconds):
    """``amount / seconds``, or None when the time is missing."""
    return amount / seconds if seconds else None


def fmt_seconds(summary):
    """An item's median time, or "failed"."""
    return "failed" if summary.get("error") else fmt(summary["wall"], ".3f")


def fmt(value, spec=".2f", suffix=""):
    """Format a number, or '-' for None."""
    if value is None:
        return "-"
    return f"{value:{spec}}{suffix}"


def print_table(headers, rows, title=None):
    """Print rows (lists of str) under headers; the first column left-aligned."""
    widths = [
        max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
        for i, h in enumerate(headers)
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


def print_noise_notes(summary, threads, labels=None):
    """Warn about measurements the machine's load probably spoiled."""
    labels = labels or {}
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


def goal_line(passed, text):
    """Print and return one goal's verdict; ``passed`` None means not measured."""
    verdict = {True: "PASS", False: "FAIL", None: "SKIP"}[passed]
    line = f"{verdict}  {text}"
    print(line)
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


def write_json(path, payload):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, default=_json_default)
        f.write("\n")
    print(f"\nwrote {path}")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# -- command line and data ------------------------------------------------------


def add_skip_option(parser, items, what="items not to run"):
    """``--skip ITEM ...``: leave some of a benchmark's ``items`` out."""
    parser.add_argument(
        "--skip",
        nargs="+",
        default=[],
        choices=sorted(items),
        metavar="ITEM",
        help=f"{what}, among: {', '.join(items)}",
    )


def add_n_test_option(parser):
    """``--n-test N``: score on the first N test images only."""
    parser.add_argument(
        "--n-test",
        type=int,
        default=None,
        help="test images used (default: all of them)",
    )


def make_parser(description):
    """The options every benchmark shares."""
    parser = argparse.ArgumentParser(
        description=description,
        epilog="What is measured and how: the script's docstring and "
        "benchmarks/README.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="Fashion-MNIST folder (default: the loader's default, which honours "
        "SKDBN_FASHION_MNIST_DIR)",
    )
    parser.add_argument(
        "--n-samples",
        type=int,
        default=None,
        help="training rows used (default 60000, the full training set)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="interleaved rounds; medians are reported (default 3)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: --n-samples {QUICK_N_SAMPLES} and --repeats 1 unless "
        "given explicitly",
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="limit BLAS (and torch) threads (default: BLAS's own setting)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the items in this process instead of one process per "
        "measurement (for debugging; peaks are then less reliable)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write results as JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def finish_args(args):
    """Apply ``--quick`` and the defaults; check the values."""
    if args.n_samples is None:
        args.n_samples = QUICK_N_SAMPLES if args.quick else 60000
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    for name in ("n_samples", "repeats", "batch_size"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise SystemExit("--threads must be at least 1")
    return args


def load_data(data_dir, n_samples):
    """The first ``n_samples`` Fashion-MNIST training images and labels.

    Exits with the loader's message when the files are missing.
    """
    from skdbn.datasets import load_fashion_mnist

    try:
        X, y = load_fashion_mnist(data_dir, kind="train", return_X_y=True)
    except FileNotFoundError as exc:
        raise SystemExit(f"error: {exc}") from None
    if n_samples > X.shape[0]:
        raise SystemExit(
            f"--n-samples {n_samples} exceeds the {X.shape[0]} training images"
        )
    return np.ascontiguousarray(X[:n_samples]), y[:n_samples].copy()


def measure_items(script, X, y, worker, args, keys, spec):
    """Run ``keys`` in ``args.repeats`` interleaved rounds, one process each.

    Each measurement is ``worker({**spec, "item": key}, X, y)`` run by a
    :class:`Runner` for ``script`` (in this process with ``args.in_process``);
    returns :func:`interleave`'s runs.
    """
    with Runner(
        script, X, y, worker, in_process=args.in_process, threads=args.threads
    ) as runner:
        return interleave(
            keys, args.repeats, lambda key: runner.run({**spec, "item": key})
        )


class Runner:
    """Runs a benchmark's items, each measurement in a fresh process.

    Parameters
    ----------
    script : str
        Path of the benchmark script, re-run with ``--worker SPEC``.
    X, y : ndarray
        Data, saved once to a temporary folder the workers read.
    in_process : bool
        Call ``worker`` directly instead (debugging).
    worker : callable
        ``worker(spec, X, y)`` -> result dict, the function the script's
        ``--worker`` mode calls.
    """

    def __init__(self, script, X, y, worker, *, in_process=False, threads=None):
        self.script = str(script)
        self.worker = worker
        self.in_process = in_process
        self.threads = threads
        self.X, self.y = X, y
        self._tmp = tempfile.TemporaryDirectory(prefix="skdbn-bench-")
        self.data_dir = Path(self._tmp.name)
        if not in_process:
            np.save(self.data_dir / "X.npy", X)
            np.save(self.data_dir / "y.npy", y)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._tmp.cleanup()

    def run(self, spec):
        spec = {**spec, "threads": self.threads}
        if self.in_process:
            with limit_threads(self.threads):
                return self.worker(spec, self.X, self.y)
        spec["data"] = str(self.data_dir)
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
    data = Path(spec["data"])
    X = np.load(data / "X.npy")
    y = np.load(data / "y.npy")
    with limit_threads(spec.get("threads")):
        result = worker(spec, X, y)
    print(RESULT_MARKER + json.dumps(result, default=_json_default), flush=True)


def warmup_rows(X, n_rows=WARMUP_ROWS):
    """A few rows for untimed warm-up calls."""
    return X[: min(n_rows, X.shape[0])]
