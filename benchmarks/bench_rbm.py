"""Seconds per epoch of RBM training, next to the machine's GEMM speed.

One epoch of CD-1 (or PCD-1) of a Bernoulli-Bernoulli RBM on the
Fashion-MNIST training images (784 visible units, ``--sizes`` hidden units,
batches of 100), by skdbn (``skdbn-f32``, ``skdbn-f64``: float32 and
float64 input, ``skdbn-epoch``, ``skdbn-pcd``), scikit-learn's
``BernoulliRBM`` (``sklearn-f32``, ``sklearn-f64``) and PyTorch
(``torch``), next to the GEMM-only floor (``gemm``): the five plain
products of each CD-1 step and nothing else. The ``prepare_*`` functions
below are what is timed; benchmarks/README.md lists the items, the flops
counted (10*B*V*H per CD-1 batch, 12*B*V*H for skdbn's PCD), the goals
and the method.

Examples::

    python benchmarks/bench_rbm.py --quick                  # 3000 rows, 1 round
    python benchmarks/bench_rbm.py --json results/rbm.json  # full run
"""

import importlib.util
import sys

import numpy as np
from _common import (
    Runner,
    blas_threads,
    load_data,
    make_parser,
    measure,
    paired_ratio,
    print_data,
    ratio_goal,
    report_machine,
    speed_goals,
    speed_table,
    warmup_rows,
    worker_main,
    write_results,
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


def worker(spec, data):
    """Prepare one item, warm it up, then time one epoch of it."""
    key = spec["item"]
    n_components = spec["n_components"]
    batch_size = spec["batch_size"]
    X = data.X_train.astype(ITEMS[key][1], copy=False)
    prepare = {
        "gemm": prepare_gemm,
        "skdbn-f32": prepare_skdbn_fit,
        "skdbn-f64": prepare_skdbn_fit,
        "skdbn-epoch": prepare_skdbn_epoch,
        "skdbn-pcd": prepare_skdbn_fit,
        "sklearn-f32": prepare_sklearn,
        "sklearn-f64": prepare_sklearn,
        "torch": prepare_torch,
    }[key]
    run = prepare(X, n_components, batch_size, key, spec["threads"])
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


def prepare_skdbn_fit(X, n_components, batch_size, key, threads):
    """``RBM(n_iter=1).fit``: validation, initialisation and one epoch."""
    persistent = key == "skdbn-pcd"

    def run(data):
        _skdbn_rbm(n_components, batch_size, n_iter=1, persistent=persistent).fit(data)

    return run


def prepare_skdbn_epoch(X, n_components, batch_size, key, threads):
    """``partial_fit`` of a model initialised by ``fit(n_iter=0)``: the epoch."""
    model = _skdbn_rbm(n_components, batch_size, n_iter=0).fit(X)
    warm = _skdbn_rbm(n_components, batch_size, n_iter=0).fit(warmup_rows(X))

    def run(data):
        # The warm-up goes to a model of its own, so the timed one is fresh.
        (model if data is X else warm).partial_fit(data)

    return run


def prepare_sklearn(X, n_components, batch_size, key, threads):
    """``BernoulliRBM(n_iter=1).fit``, in the input's precision."""
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


def prepare_gemm(X, n_components, batch_size, key, threads):
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


def prepare_torch(X, n_components, batch_size, key, threads):
    """CD-1 in PyTorch, step for step the update skdbn makes, on BLAS's threads."""
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
    parser = make_parser(
        __doc__, "--repeats", "--batch-size", "--threads", "--in-process", items=ITEMS
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[500, 1000],
        help="numbers of hidden units (default: 500 1000)",
    )
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, worker)

    keys = [key for key in ITEMS if key not in args.skip]
    torch_note = None
    if "torch" in keys and importlib.util.find_spec("torch") is None:
        keys.remove("torch")
        torch_note = "torch: not installed, skipped (pip install torch to compare)"

    data = load_data(args.data_dir, args.n_samples)
    n_samples, n_visible = data.X_train.shape
    batch = args.batch_size
    machine = report_machine([(batch, n_visible, H) for H in args.sizes], args.threads)
    print_data(data, args)
    if torch_note:
        print(torch_note)

    results, goals = {}, []
    with Runner(__file__, data, worker, args) as runner:
        for H in args.sizes:
            print(f"\n784 -> {H}: measuring ...", file=sys.stderr)
            runs = runner.measure(keys, {"n_components": H, "batch_size": batch})
            # Flops of the products: 2 * B * V * H each, per batch.
            base_flops = 2 * n_samples * n_visible * H
            results[str(H)] = speed_table(
                runs,
                keys,
                labels={key: ITEMS[key][0] for key in keys},
                flops={key: ITEMS[key][2] * base_flops for key in ITEMS},
                n_samples=n_samples,
                rivals={
                    "vs skl32": "sklearn-f32",
                    "vs skl64": "sklearn-f64",
                    "vs torch": "torch",
                },
                head=f"784->{H}",
                title=f"RBM, 784 -> {H}, one epoch of {n_samples} rows",
                note="f32/f64 = input dtype. GFLOP/s counts 10*B*V*H per batch, "
                "(*) PCD 12*B*V*H (its extra monitoring product).",
                threads=args.threads,
            )
            goals += size_goals(runs, H)

    write_results(
        args, "rbm", **machine, torch_note=torch_note, results=results, goals=goals
    )
    return 0


def size_goals(runs, H):
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
