"""Seconds per fine-tuning epoch of a DBN classifier, next to the GEMM floor.

One epoch of backpropagation through the 784-500-500-2000-10 network
(logistic hidden units, softmax output, cross-entropy) on the Fashion-MNIST
training images, SGD with momentum 0.9, batches of 100, by skdbn's
``DBNClassifier`` (``skdbn-f32``, ``skdbn-f64``: float32 and float64
input; ``skdbn-epoch``: the epoch alone, through internal API, for
diagnosis) and scikit-learn's ``MLPClassifier`` (``sklearn-f32``,
``sklearn-f64``), next to the GEMM-only floor (``gemm``): the products of
backpropagation and nothing else. Both classifiers are warm-started, so
that each timed ``fit`` does input validation and one epoch and neither
initialises weights (pretraining speed is ``bench_rbm.py``'s business).
The ``prepare_*`` functions below are what is timed; benchmarks/README.md
lists the items, the flops counted (exactly the products made), the goals
and the method.

Example::

    python benchmarks/bench_finetune.py --quick   # 3000 rows, one round
"""

import sys
import warnings

import numpy as np
from _common import (
    Runner,
    layer_shapes,
    load_data,
    make_parser,
    measure,
    print_data,
    report_machine,
    speed_goals,
    speed_table,
    warmup_indices,
    worker_main,
    write_results,
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


def worker(spec, data):
    """Prepare one item, warm it up, then time one epoch of it."""
    key = spec["item"]
    X, y = data.X_train.astype(ITEMS[key][1], copy=False), data.y_train
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


def built_dbn(X, y, batch_size, hidden=HIDDEN):
    """A DBNClassifier with its network built but not trained (warm start on)."""
    from skdbn import DBNClassifier

    clf = DBNClassifier(
        tuple(hidden),
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

    clf = built_dbn(X, y, batch_size).set_params(max_iter=1)

    def run(data, labels):
        with warnings.catch_warnings():
            # One epoch never converges; fit says so every time.
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(data, labels)

    return run


def prepare_skdbn_epoch(X, y, batch_size):
    from skdbn._training import TrainingState, make_optimizer, run_epochs

    clf = built_dbn(X, y, batch_size)
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
    parser = make_parser(
        __doc__, "--repeats", "--batch-size", "--threads", "--in-process", items=ITEMS
    )
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, worker)
    keys = [key for key in ITEMS if key not in args.skip]

    data = load_data(args.data_dir, args.n_samples)
    n_samples, n_features = data.X_train.shape
    sizes = layer_sizes(n_features, len(np.unique(data.y_train)))
    network = "-".join(map(str, sizes))
    machine = report_machine([layer_shapes(args.batch_size, sizes)], args.threads)
    print_data(data, args, f"network {network}")

    print("\nmeasuring ...", file=sys.stderr)
    with Runner(__file__, data, worker, args) as runner:
        runs = runner.measure(keys, {"batch_size": args.batch_size})
    flops = epoch_flops(n_samples, sizes)
    summary = speed_table(
        runs,
        keys,
        labels={key: ITEMS[key][0] for key in keys},
        flops=dict.fromkeys(ITEMS, flops),
        n_samples=n_samples,
        rivals={"vs MLP32": "sklearn-f32", "vs MLP64": "sklearn-f64"},
        head="item",
        title=f"Fine-tuning {network}, one epoch of {n_samples} rows "
        f"({flops / 1e9:.1f} GFLOP of GEMMs)",
        note="f32/f64 = input dtype. GFLOP/s counts 6*n*sum(fan_in*fan_out) minus "
        "the first layer's input gradient, which nobody computes.",
        threads=args.threads,
    )
    goals = speed_goals(
        runs,
        what="epoch",
        floor_goal=GOAL_GEMM,
        rival="MLPClassifier",
        rival_goals=(GOAL_SKLEARN_F32, GOAL_SKLEARN_F64),
    )
    write_results(
        args,
        "finetune",
        **machine,
        layer_sizes=sizes,
        flops_per_epoch=flops,
        results=summary,
        goals=goals,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
