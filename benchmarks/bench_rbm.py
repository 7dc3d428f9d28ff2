"""Seconds per epoch of RBM training, next to the machine's GEMM speed.

What is measured
----------------
One epoch of contrastive-divergence training of a Bernoulli-Bernoulli RBM
on the Fashion-MNIST training images (784 visible units, 500 or 1000 hidden
units, mini-batches of 100), done by:

``gemm``
    The GEMM-only floor: the five plain matrix products of a CD-1 step,
    ``v @ W.T``, ``h @ W``, ``v @ W.T`` and the two gradient products
    ``h.T @ v``, float32, into preallocated outputs, over an epoch's worth
    of contiguous batches. Nothing else: no activation, sampling or update.
``skdbn-f32``, ``skdbn-f64``
    ``skdbn.RBM(n_iter=1).fit(X)`` (CD-1) on float32 input, and on float64
    input, which skdbn converts to float32 inside ``fit`` (the usual case).
    ``fit`` includes input validation and initialisation.
``skdbn-epoch``
    ``partial_fit(X)`` on float32 input of a model already initialised by
    ``fit`` with ``n_iter=0``: the epoch alone (plus the cheap validation).
``skdbn-pcd``
    ``RBM(persistent=True, n_iter=1).fit(X)`` on float32 input.
``sklearn-f32``, ``sklearn-f64``
    ``sklearn.neural_network.BernoulliRBM(n_components, batch_size=100,
    n_iter=1, learning_rate=0.1).fit(X)`` on float32 and float64 input (it
    computes in the input's precision).
``torch``
    The same CD-1 step as skdbn (momentum, weight decay, the same
    reconstruction-error monitoring) written in PyTorch on the CPU, float32,
    with preallocated tensors, ``torch.addmm``/``torch.mm`` with ``out=``
    and in-place element-wise operations; ``torch.set_num_threads`` matches
    the BLAS thread count. Skipped when ``import torch`` fails.

Flops counted
-------------
``10 * B * V * H`` per CD-1 batch: five products of ``2 * B * V * H`` each
(positive hidden means, reconstruction, negative hidden means, and the two
gradient statistics, which skdbn computes as one product over ``2 * B``
rows). scikit-learn's BernoulliRBM also makes five products per batch. PCD
in skdbn makes one more, the mean-field reconstruction of the batch used to
monitor the reconstruction error, so it is counted as ``12 * B * V * H``.
Element-wise work is not counted. "GFLOP/s" is these flops over the wall
time; "of GEMM" is that rate over the GEMM-only floor's rate.

How
---
Every measurement runs in a fresh process, after an untimed warm-up on a
few rows; items are interleaved over ``--repeats`` rounds and medians are
reported; ratios are medians of per-round ratios (see ``_common.py``).
CPU/wall tells how many cores the run really had. "peak MiB" is the peak
RSS of the worker process during the timed call, "+MiB" that peak minus the
RSS just before it.

Examples
--------
Smoke run on 3000 rows, one round::

    python benchmarks/bench_rbm.py --quick

Full run, results kept::

    python benchmarks/bench_rbm.py --json results/rbm.json
"""

import importlib.util
import sys

import numpy as np
from _common import (
    Runner,
    add_skip_option,
    blas_threads,
    finish_args,
    fmt,
    fmt_seconds,
    interleave,
    load_data,
    make_parser,
    measure,
    paired_ratio,
    print_noise_notes,
    print_table,
    rate,
    ratio_goal,
    report_machine,
    speed_goals,
    summarize,
    warmup_rows,
    worker_main,
)

LEARNING_RATE = 0.1
SEED = 0

#: item key -> (label, dtype of the input, GEMMs per batch)
ITEMS = {
    "gemm": ("GEMM-only floor f32", "float32", 5),
    "skdbn-f32": ("skdbn CD-1 fit f32", "float32", 5),
    "skdbn-f64": ("skdbn CD-1 fit f64", "float64", 5),
    "skdbn-epoch": ("skdbn CD-1 partial_fit f32", "float32", 5),
    "skdbn-pcd": ("skdbn PCD-1 fit f32 (*)", "float32", 6),
    "sklearn-f32": ("BernoulliRBM fit f32", "float32", 5),
    "sklearn-f64": ("BernoulliRBM fit f64", "float64", 5),
    "torch": ("torch CD-1 f32", "float32", 5),
}

GOAL_GEMM = 1.25  # skdbn CD-1 time <= this x the GEMM-only time
GOAL_SKLEARN_F32 = 1.7  # skdbn at least this much faster, float32 input
GOAL_SKLEARN_F64 = 2.5  # ... and float64 input
GOAL_TORCH = 1.0  # no slower than torch


# -- the workers (run in a child process) ---------------------------------------


def worker(spec, X, y):
    """Prepare one item, warm it up, then time one epoch of it."""
    key = spec["item"]
    n_components = spec["n_components"]
    batch_size = spec["batch_size"]
    X = X.astype(ITEMS[key][1], copy=False)
    prepare = {
        "gemm": prepare_gemm,
        "skdbn-f32": prepare_skdbn_fit,
        "skdbn-f64": prepare_skdbn_fit,
        "skdbn-epoch": prepare_skdbn_epoch,
        "skdbn-pcd": prepare_skdbn_pcd,
        "sklearn-f32": prepare_sklearn,
        "sklearn-f64": prepare_sklearn,
        "torch": prepare_torch,
    }[key]
    run = prepare(X, n_components, batch_size, spec.get("threads"))
    run(warmup_rows(X))
    return measure(run, X)


def _skdbn_rbm(n_components, batch_size, **params):
    from skdbn import RBM

    return RBM(
        n_components,
        batch_size=batch_size,
        learning_rate=LEARNING_RATE,
        random_state=SEED,
        **params,
    )


def prepare_skdbn_fit(X, n_components, batch_size, threads):
    def run(data):
        _skdbn_rbm(n_components, batch_size, n_iter=1).fit(data)

    return run


def prepare_skdbn_pcd(X, n_components, batch_size, threads):
    def run(data):
        _skdbn_rbm(n_components, batch_size, n_iter=1, persistent=True).fit(data)

    return run


def prepare_skdbn_epoch(X, n_components, batch_size, threads):
    model = _skdbn_rbm(n_components, batch_size, n_iter=0).fit(X)
    warm = _skdbn_rbm(n_components, batch_size, n_iter=0).fit(warmup_rows(X))

    def run(data):
        # The warm-up goes to a model of its own, so the timed one is fresh.
        (model if data is X else warm).partial_fit(data)

    return run


def prepare_sklearn(X, n_components, batch_size, threads):
    from sklearn.neural_network import BernoulliRBM

    def run(data):
        BernoulliRBM(
            n_components=n_components,
            batch_size=batch_size,
            n_iter=1,
            learning_rate=LEARNING_RATE,
            random_state=SEED,
        ).fit(data)

    return run


def prepare_gemm(X, n_components, batch_size, threads):
    """The five products of CD-1, over contiguous batches, nothing else."""
    rng = np.random.default_rng(SEED)
    n_visible = X.shape[1]
    W = (rng.standard_normal((n_components, n_visible)) * 0.01).astype(X.dtype)
    h_pos = np.empty((batch_size, n_components), dtype=X.dtype)
    h_neg = np.empty_like(h_pos)
    v_neg = np.empty((batch_size, n_visible), dtype=X.dtype)
    grad_pos = np.empty_like(W)
    grad_neg = np.empty_like(W)

    def run(data):
        for start in range(0, data.shape[0], batch_size):
            v = data[start : start + batch_size]
            n = v.shape[0]
            hp, hn, vn = h_pos[:n], h_neg[:n], v_neg[:n]
            np.matmul(v, W.T, out=hp)
            np.matmul(hp, W, out=vn)
            np.matmul(vn, W.T, out=hn)
            np.matmul(hp.T, v, out=grad_pos)
            np.matmul(hn.T, vn, out=grad_neg)

    return run


def prepare_torch(X, n_components, batch_size, threads):
    """CD-1 in PyTorch, step for step the update skdbn makes."""
    import torch

    torch.set_num_threads(threads or blas_threads())
    n_visible = X.shape[1]

    def run(data):
        with torch.inference_mode():
            torch_cd1_epoch(torch, data, n_components, batch_size, n_visible)

    return run


def torch_cd1_epoch(torch, data, n_components, batch_size, n_visible):
    """One epoch of CD-1 with momentum and weight decay, as skdbn does it.

    Initialisation is included, as it is in the ``fit`` it is compared with.
    """
    momentum, weight_decay, lr = 0.5, 2e-4, LEARNING_RATE
    generator = torch.Generator().manual_seed(SEED)
    X = torch.from_numpy(data)
    n_samples = X.shape[0]
    B = min(batch_size, n_samples)
    f32 = torch.float32

    W = torch.randn(n_components, n_visible, generator=generator, dtype=f32)
    W *= 0.01
    b_h = torch.zeros(n_components, dtype=f32)
    p = X.mean(dim=0).clamp_(1e-3, 1 - 1e-3)
    b_v = torch.log(p / (1 - p))
    dW, db_h, db_v = torch.zeros_like(W), torch.zeros_like(b_h), torch.zeros_like(b_v)

    # Positive and negative phases stacked, so one product gives both
    # gradient statistics, as in skdbn's workspace.
    visible = torch.empty(2 * B, n_visible, dtype=f32)
    hidden = torch.empty(2 * B, n_components, dtype=f32)
    h_sample = torch.empty(B, n_components, dtype=f32)
    residual = torch.empty(B, n_visible, dtype=f32)
    grad = torch.empty_like(W)
    sum_h = torch.empty_like(b_h)
    sum_v_pos = torch.empty_like(b_v)
    sum_v_neg = torch.empty_like(b_v)
    total_error = torch.zeros((), dtype=f32)

    order = torch.randperm(n_samples, generator=generator)
    batches = list(torch.split(order, B))
    for rows in batches:
        rows, _ = torch.sort(rows)
        n = rows.shape[0]
        v_pos, v_neg = visible[:n], visible[n : 2 * n]
        h_pos, h_neg = hidden[:n], hidden[n : 2 * n]
        torch.index_select(X, 0, rows, out=v_pos)

        torch.addmm(b_h, v_pos, W.t(), out=h_pos)
        h_pos.sigmoid_()
        torch.bernoulli(h_pos, generator=generator, out=h_sample[:n])
        torch.addmm(b_v, h_sample[:n], W, out=v_neg)
        v_neg.sigmoid_()
        torch.addmm(b_h, v_neg, W.t(), out=h_neg)
        h_neg.sigmoid_()

        res = residual[:n]
        torch.sub(v_pos, v_neg, out=res)
        flat = res.view(-1)
        total_error += torch.dot(flat, flat)

        scale = lr / n
        h_pos.mul_(scale)
        h_neg.mul_(-scale)
        both_h = hidden[: 2 * n]
        torch.mm(both_h.t(), visible[: 2 * n], out=grad)
        torch.sum(both_h, 0, out=sum_h)
        torch.sum(v_pos, 0, out=sum_v_pos)
        torch.sum(v_neg, 0, out=sum_v_neg)
        sum_v_pos.sub_(sum_v_neg).mul_(scale)

        dW.mul_(momentum).add_(grad).add_(W, alpha=-lr * weight_decay)
        W.add_(dW)
        db_h.mul_(momentum).add_(sum_h)
        b_h.add_(db_h)
        db_v.mul_(momentum).add_(sum_v_pos)
        b_v.add_(db_v)
    error = float(total_error) / n_samples
    if not np.isfinite(error):
        raise FloatingPointError("torch CD-1 diverged")
    return error


# -- the parent ---------------------------------------------------------------------


def main(argv=None):
    parser = make_parser(__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[500, 1000],
        help="numbers of hidden units (default: 500 1000)",
    )
    add_skip_option(parser, ITEMS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, worker)
    args = finish_args(args)

    keys = [key for key in ITEMS if key not in args.skip]
    torch_note = None
    if "torch" in keys and importlib.util.find_spec("torch") is None:
        keys.remove("torch")
        torch_note = "torch: not installed, skipped (pip install torch to compare)"

    X, y = load_data(args.data_dir, args.n_samples)
    n_samples, n_visible = X.shape
    batch = args.batch_size
    env, gemm, cores_busy = report_machine(
        [(batch, n_visible, H) for H in args.sizes], args.threads
    )
    print(
        f"data: Fashion-MNIST train, {n_samples} x {n_visible}; batch {batch}; "
        f"{args.repeats} round(s), medians; one process per measurement"
        + (" (in-process run)" if args.in_process else "")
    )
    if torch_note:
        print(torch_note)

    results = {}
    goals = []
    with Runner(
        __file__,
        X,
        y,
        worker,
        in_process=args.in_process,
        threads=args.threads,
    ) as runner:
        for H in args.sizes:
            print(f"\n784 -> {H}: measuring ...", file=sys.stderr)

            def one(key, H=H):
                spec = {"item": key, "n_components": H, "batch_size": batch}
                return runner.run(spec)

            runs = interleave(keys, args.repeats, one)
            size_result = report_size(runs, keys, n_samples, n_visible, H, args.threads)
            goals += size_goals(runs, H)
            results[str(H)] = size_result

    if args.json:
        from _common import write_json

        write_json(
            args.json,
            {
                "benchmark": "rbm",
                "args": vars(args),
                "environment": env,
                "gemm_rate": gemm,
                "cores_busy_at_start": cores_busy,
                "torch_note": torch_note,
                "results": results,
                "goals": goals,
            },
        )
    return 0


def report_size(runs, keys, n_samples, n_visible, H, threads):
    summary = summarize(runs)
    base_flops = 2 * n_samples * n_visible * H
    gemm_flops = 5 * base_flops
    rows = []
    for key in keys:
        label, _, n_gemm = ITEMS[key]
        s = summary[key]
        flops = n_gemm * base_flops
        gflops = rate(flops / 1e9, s["wall"])
        vs_gemm = paired_ratio(runs, "gemm", key)
        of_gemm = vs_gemm * flops / gemm_flops if vs_gemm else None
        s.update(
            label=label,
            flops=flops,
            gflops=gflops,
            samples_per_s=rate(n_samples, s["wall"]),
            of_gemm_rate=of_gemm,
            speedup_vs_sklearn_f32=paired_ratio(runs, "sklearn-f32", key),
            speedup_vs_sklearn_f64=paired_ratio(runs, "sklearn-f64", key),
            speedup_vs_torch=paired_ratio(runs, "torch", key),
            runs=runs[key],
        )
        rows.append(
            [
                label,
                fmt_seconds(s),
                fmt(s["spread"] and 100 * s["spread"], ".0f", "%"),
                fmt(s["cpu_per_wall"], ".2f"),
                fmt(s["samples_per_s"], ".0f"),
                fmt(gflops, ".1f"),
                fmt(of_gemm and 100 * of_gemm, ".0f", "%"),
                fmt(s["speedup_vs_sklearn_f32"], ".2f", "x"),
                fmt(s["speedup_vs_sklearn_f64"], ".2f", "x"),
                fmt(s["speedup_vs_torch"], ".2f", "x"),
                fmt(s["peak_mib"], ".0f"),
                fmt(s["extra_mib"], ".0f"),
            ]
        )
    headers = [
        f"784->{H}",
        "s/epoch",
        "spread",
        "CPU/wall",
        "samples/s",
        "GFLOP/s",
        "of GEMM",
        "vs skl32",
        "vs skl64",
        "vs torch",
        "peak MiB",
        "+MiB",
    ]
    print_table(headers, rows, title=f"RBM, 784 -> {H}, one epoch of {n_samples} rows")
    print(
        "vs X = X's time / this row's time (above 1: this row is faster), "
        "median of per-round ratios; spread = (max - min) / median time.\n"
        "f32/f64 = input dtype. GFLOP/s counts 10*B*V*H per batch, (*) PCD "
        "12*B*V*H (its extra monitoring product)."
    )
    print_noise_notes(
        summary,
        threads or blas_threads(),
        {key: ITEMS[key][0] for key in keys},
    )
    return summary


def size_goals(runs, H):
    print()
    prefix = f"784->{H}: "
    goals = speed_goals(
        runs,
        what="CD-1",
        floor_goal=GOAL_GEMM,
        rival="BernoulliRBM",
        rival_goals=(GOAL_SKLEARN_F32, GOAL_SKLEARN_F64),
        prefix=prefix,
    )
    if "torch" in runs:
        goals.append(
            ratio_goal(
                paired_ratio(runs, "torch", "skdbn-f32"),
                lambda r: r >= GOAL_TORCH,
                f"skdbn CD-1 {{r}}x torch's speed (goal >= {GOAL_TORCH})",
                prefix,
            )
        )
    return goals


if __name__ == "__main__":
    sys.exit(main())
