"""Seconds per fine-tuning epoch of a DBN classifier, next to the GEMM floor.

What is measured
----------------
One epoch of backpropagation through the 784-500-500-2000-10 network
(logistic hidden units, softmax output, cross-entropy) on the Fashion-MNIST
training images, SGD with momentum 0.9, mini-batches of 100, done by:

``gemm``
    The GEMM-only floor: per batch and layer the forward product
    ``A @ W``, the weight gradient ``A.T @ delta`` and, except for the first
    layer, the input gradient ``delta @ W.T``; float32, into preallocated
    outputs, over contiguous batches. Nothing else.
``skdbn-f32``, ``skdbn-f64``
    ``DBNClassifier((500, 500, 2000), solver="sgd", momentum=0.9)``: one
    epoch of fine-tuning through the public API, on float32 input and on
    float64 input (converted to float32 inside ``fit``, the usual case).
    The model is built, untimed, by ``fit`` with ``pretrain_epochs=0``,
    ``head_max_iter=0`` (``head_epochs=0`` in older versions), ``max_iter=0``
    and ``warm_start=True``: random weights, no training (pretraining speed
    is ``bench_rbm.py``'s business). The timed call is then ``fit(X, y)``
    with ``max_iter=1``, which warm-starts: it skips pretraining and the
    head, validates the input, and runs one fine-tuning epoch with a fresh
    optimiser.
``skdbn-epoch``
    The epoch alone, float32: ``skdbn._training.run_epochs(clf._network(),
    X, Y, state, n_epochs=1, ...)`` on the model built as above, targets
    already one-hot encoded. Internal API, for diagnosis only.
``sklearn-f32``, ``sklearn-f64``
    ``MLPClassifier((500, 500, 2000), activation="logistic", solver="sgd",
    momentum=0.9, batch_size=100, max_iter=1)`` on float32 and float64
    input (it computes in the input's precision). Warm-started like skdbn,
    so that both timed calls do validation and one epoch and neither
    initialises weights: an untimed first ``fit`` on a few rows, then the
    timed ``fit(X, y)`` with ``warm_start=True``.

Flops counted
-------------
Exactly the products made: ``2 * n * fan_in * fan_out`` per layer for the
forward pass and for the weight gradient, and again for the input gradient
of every layer but the first, which neither skdbn nor scikit-learn
computes: ``6 * n * sum(fan_in * fan_out) - 2 * n * 784 * 500`` per epoch.
Element-wise work is not counted.

How
---
Every measurement runs in a fresh process, after an untimed warm-up on a
few rows; items are interleaved over ``--repeats`` rounds and medians are
reported; ratios are medians of per-round ratios (see ``_common.py``).

Examples
--------
Smoke run on 3000 rows, one round::

    python benchmarks/bench_finetune.py --quick
"""

import sys
import warnings

import numpy as np
from _common import (
    add_skip_option,
    blas_threads,
    finish_args,
    fmt,
    fmt_seconds,
    load_data,
    make_parser,
    measure,
    measure_items,
    paired_ratio,
    print_noise_notes,
    print_table,
    rate,
    report_machine,
    speed_goals,
    summarize,
    warmup_rows,
    worker_main,
    write_json,
)

HIDDEN = (500, 500, 2000)
LEARNING_RATE = 1e-3  # the default of both MLPClassifier and DBNClassifier
MOMENTUM = 0.9
ALPHA = 1e-4
SEED = 0

#: item key -> (label, dtype of the input)
ITEMS = {
    "gemm": ("GEMM-only floor f32", "float32"),
    "skdbn-f32": ("skdbn fit f32", "float32"),
    "skdbn-f64": ("skdbn fit f64", "float64"),
    "skdbn-epoch": ("skdbn run_epochs f32", "float32"),
    "sklearn-f32": ("MLPClassifier fit f32", "float32"),
    "sklearn-f64": ("MLPClassifier fit f64", "float64"),
}

GOAL_GEMM = 1.35  # skdbn epoch time <= this x the GEMM-only time
GOAL_SKLEARN_F32 = 1.5  # skdbn at least this much faster, float32 input
GOAL_SKLEARN_F64 = 3.0  # ... and float64 input


def layer_sizes(n_features, n_classes):
    return [n_features, *HIDDEN, n_classes]


def epoch_flops(n_samples, sizes):
    """Flops of the GEMMs of one epoch (no input gradient for layer 0)."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    total = sum(6 * n_samples * fan_in * fan_out for fan_in, fan_out in pairs)
    return total - 2 * n_samples * sizes[0] * sizes[1]


# -- the workers (run in a child process) ---------------------------------------


def worker(spec, X, y):
    """Prepare one item, warm it up, then time one epoch of it."""
    key = spec["item"]
    X = X.astype(ITEMS[key][1], copy=False)
    prepare = {
        "gemm": prepare_gemm,
        "skdbn-f32": prepare_skdbn,
        "skdbn-f64": prepare_skdbn,
        "skdbn-epoch": prepare_skdbn_epoch,
        "sklearn-f32": prepare_sklearn,
        "sklearn-f64": prepare_sklearn,
    }[key]
    run = prepare(X, y, spec["batch_size"])
    rows = warmup_indices(y)
    run(X[rows], y[rows])
    return measure(run, X, y)


def warmup_indices(y):
    """The first rows, plus one row of each class (warm starts need them)."""
    first = np.arange(warmup_rows(y).shape[0])
    _, first_of_class = np.unique(y, return_index=True)
    return np.union1d(first, first_of_class)


def _built_dbn(X, y, batch_size):
    """A DBNClassifier with its network built but not trained."""
    from skdbn import DBNClassifier

    clf = DBNClassifier(
        HIDDEN,
        solver="sgd",
        learning_rate_init=LEARNING_RATE,
        momentum=MOMENTUM,
        alpha=ALPHA,
        batch_size=batch_size,
        pretrain_epochs=0,
        max_iter=0,
        warm_start=True,
        random_state=SEED,
    )
    # No head training: its parameter was head_epochs, now head_max_iter.
    head = {"head_epochs", "head_max_iter"} & set(clf.get_params())
    return clf.set_params(**dict.fromkeys(head, 0)).fit(X, y)


def prepare_skdbn(X, y, batch_size):
    from sklearn.exceptions import ConvergenceWarning

    clf = _built_dbn(X, y, batch_size).set_params(max_iter=1)

    def run(data, labels):
        with warnings.catch_warnings():
            # One epoch never converges; fit says so every time.
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(data, labels)

    return run


def prepare_skdbn_epoch(X, y, batch_size):
    from skdbn._training import TrainingState, make_optimizer, run_epochs

    clf = _built_dbn(X, y, batch_size)
    net = clf._network()
    state = TrainingState(make_optimizer("sgd", net.params, LEARNING_RATE, MOMENTUM))
    Y = clf._encode_targets(y, first_call=False)
    rng = np.random.default_rng(SEED)

    def run(data, labels):
        # The warm-up passes other rows: encode their own targets.
        targets = Y if data is X else clf._encode_targets(labels, first_call=False)
        run_epochs(
            net,
            data,
            targets,
            state,
            n_epochs=1,
            batch_size=batch_size,
            rng=rng,
            alpha=ALPHA,
            check_convergence=False,
        )

    return run


def prepare_sklearn(X, y, batch_size):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    mlp = MLPClassifier(
        HIDDEN,
        activation="logistic",
        solver="sgd",
        learning_rate_init=LEARNING_RATE,
        momentum=MOMENTUM,
        alpha=ALPHA,
        batch_size=batch_size,
        max_iter=1,
        warm_start=True,
        random_state=SEED,
    )

    def run(data, labels):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(data, labels)

    return run


def prepare_gemm(X, y, batch_size):
    """The products of backpropagation, over contiguous batches, nothing else."""
    rng = np.random.default_rng(SEED)
    sizes = layer_sizes(X.shape[1], len(np.unique(y)))
    pairs = list(zip(sizes[:-1], sizes[1:]))
    dtype = X.dtype
    coefs = [
        (rng.uniform(-1, 1, size=pair) * np.sqrt(6 / sum(pair))).astype(dtype)
        for pair in pairs
    ]
    grads = [np.empty_like(W) for W in coefs]
    outputs = [np.empty((batch_size, fan_out), dtype=dtype) for _, fan_out in pairs]
    # Deltas start as small random numbers and stay so (no denormals).
    deltas = [
        rng.uniform(-0.01, 0.01, size=(batch_size, fan_out)).astype(dtype)
        for _, fan_out in pairs
    ]

    def run(data, labels):
        for start in range(0, data.shape[0], batch_size):
            A = data[start : start + batch_size]
            n = A.shape[0]
            acts = [A]
            for W, out in zip(coefs, outputs):
                acts.append(np.matmul(acts[-1], W, out=out[:n]))
            for i in range(len(coefs) - 1, -1, -1):
                np.matmul(acts[i].T, deltas[i][:n], out=grads[i])
                if i > 0:
                    np.matmul(deltas[i][:n], coefs[i].T, out=deltas[i - 1][:n])

    return run


# -- the parent ---------------------------------------------------------------------


def main(argv=None):
    parser = make_parser(__doc__.split("\n\n")[0])
    add_skip_option(parser, ITEMS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, worker)
    args = finish_args(args)
    keys = [key for key in ITEMS if key not in args.skip]

    X, y = load_data(args.data_dir, args.n_samples)
    n_samples, n_features = X.shape
    sizes = layer_sizes(n_features, len(np.unique(y)))
    batch = args.batch_size
    shapes = [(batch, fan_in, fan_out) for fan_in, fan_out in zip(sizes, sizes[1:])]
    env, gemm, cores_busy = report_machine([shapes], args.threads)
    print(
        f"data: Fashion-MNIST train, {n_samples} x {n_features}; network "
        f"{'-'.join(map(str, sizes))}; batch {batch}; {args.repeats} round(s), "
        "medians; one process per measurement"
        + (" (in-process run)" if args.in_process else "")
    )

    print("\nmeasuring ...", file=sys.stderr)
    runs = measure_items(__file__, X, y, worker, args, keys, {"batch_size": batch})

    flops = epoch_flops(n_samples, sizes)
    summary = report(runs, keys, n_samples, flops, sizes)
    print_noise_notes(
        summary,
        args.threads or blas_threads(),
        {key: ITEMS[key][0] for key in keys},
    )
    goals = report_goals(runs)
    if args.json:
        write_json(
            args.json,
            {
                "benchmark": "finetune",
                "args": vars(args),
                "environment": env,
                "gemm_rate": gemm,
                "cores_busy_at_start": cores_busy,
                "layer_sizes": sizes,
                "flops_per_epoch": flops,
                "results": summary,
                "goals": goals,
            },
        )
    return 0


def report(runs, keys, n_samples, flops, sizes):
    summary = summarize(runs)
    rows = []
    for key in keys:
        s = summary[key]
        vs_gemm = paired_ratio(runs, "gemm", key)
        s.update(
            label=ITEMS[key][0],
            gflops=rate(flops / 1e9, s["wall"]),
            samples_per_s=rate(n_samples, s["wall"]),
            of_gemm_rate=vs_gemm,
            speedup_vs_sklearn_f32=paired_ratio(runs, "sklearn-f32", key),
            speedup_vs_sklearn_f64=paired_ratio(runs, "sklearn-f64", key),
            runs=runs[key],
        )
        rows.append(
            [
                s["label"],
                fmt_seconds(s),
                fmt(s["spread"] and 100 * s["spread"], ".0f", "%"),
                fmt(s["cpu_per_wall"], ".2f"),
                fmt(s["samples_per_s"], ".0f"),
                fmt(s["gflops"], ".1f"),
                fmt(vs_gemm and 100 * vs_gemm, ".0f", "%"),
                fmt(s["speedup_vs_sklearn_f32"], ".2f", "x"),
                fmt(s["speedup_vs_sklearn_f64"], ".2f", "x"),
                fmt(s["peak_mib"], ".0f"),
                fmt(s["extra_mib"], ".0f"),
            ]
        )
    headers = [
        "item",
        "s/epoch",
        "spread",
        "CPU/wall",
        "samples/s",
        "GFLOP/s",
        "of GEMM",
        "vs MLP32",
        "vs MLP64",
        "peak MiB",
        "+MiB",
    ]
    print_table(
        headers,
        rows,
        title=f"Fine-tuning {'-'.join(map(str, sizes))}, one epoch of "
        f"{n_samples} rows ({flops / 1e9:.1f} GFLOP of GEMMs)",
    )
    print(
        "vs X = X's time / this row's time (above 1: this row is faster), "
        "median of per-round ratios; spread = (max - min) / median time.\n"
        "f32/f64 = input dtype. GFLOP/s counts 6*n*sum(fan_in*fan_out) minus "
        "the first layer's input gradient, which nobody computes."
    )
    return summary


def report_goals(runs):
    print()
    return speed_goals(
        runs,
        what="epoch",
        floor_goal=GOAL_GEMM,
        rival="MLPClassifier",
        rival_goals=(GOAL_SKLEARN_F32, GOAL_SKLEARN_F64),
    )


if __name__ == "__main__":
    sys.exit(main())
