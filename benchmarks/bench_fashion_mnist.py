"""Test accuracy of a DBN classifier on Fashion-MNIST, next to scikit-learn.

What is measured
----------------
Each model is fitted on the training images (the first ``--n-samples`` of
them, all 60000 by default) and scored on the test images (all 10000 by
default); the table gives test accuracy, training accuracy, epochs, fit
time, CPU/wall and peak memory. The models:

``dbn``
    ``skdbn.DBNClassifier`` with the recipe given on the command line. The
    default is the package's recommended recipe for this kind of data:
    ``hidden_layer_sizes=(500, 500, 2000)``, 10 epochs of CD-1 pretraining
    per layer, a softmax head fitted by L-BFGS on the frozen features, then
    40 epochs (``--max-iter``) of Adam fine-tuning from
    ``learning_rate_init=1e-3`` with a cosine step-size schedule
    (``learning_rate="cosine"``), ``dropout=0.2``, ``alpha=1e-4``. ``fit``
    stops early when the training loss stalls (``tol=1e-4`` for
    ``--n-iter-no-change`` epochs), or with ``--early-stopping`` when the
    score on a 10% validation split does.
``logreg``
    ``LogisticRegression(C=1, max_iter=--logreg-max-iter)`` on the raw
    pixels.
``rbm-logreg``
    ``make_pipeline(BernoulliRBM(n_components=500, learning_rate=0.06,
    n_iter=10, batch_size=--batch-size), LogisticRegression(...))``: one
    RBM layer of features, the classifier of scikit-learn's RBM example.
``mlp``
    ``MLPClassifier((500, 500, 2000), batch_size=--batch-size,
    max_iter=--mlp-max-iter)``, otherwise scikit-learn's defaults (relu,
    Adam, ``learning_rate_init=1e-3``, ``alpha=1e-4``): the same network as
    the DBN, trained by backpropagation alone from a random start; the
    slowest baseline, hence its own epoch limit.

Below the table, a separate block quotes published test accuracies of
scikit-learn classifiers on Fashion-MNIST (Xiao, Rasul & Vollgraf 2017,
arXiv:1708.07747, Table 3); those were not measured here.

Goals (meaningful only for the full 60000/10000 run): DBN test accuracy at
least 0.905; above the MLP's in the same run; DBN fit under 600 s.

How
---
Each fit runs in a fresh process (the script re-run with ``--worker``),
after an untimed warm-up fit of a copy with one epoch on ~1000 rows;
wall time (``perf_counter``), CPU time of all threads (``process_time``),
and the peak RSS during ``fit`` (see ``_common.py``). ``--repeats R`` runs
everything R times, interleaved, and reports medians (the fits are seeded,
so only the times vary). ``--data-dir`` points at any folder of MNIST-format
IDX files (MNIST, KMNIST, ...).

Examples
--------
Smoke run (3000 rows, 1-2 epochs)::

    python benchmarks/bench_fashion_mnist.py --quick

Full run, no MLP (the slowest baseline), results kept::

    python benchmarks/bench_fashion_mnist.py --skip mlp --json results/fmnist.json

A recipe with SGD, dropout and early stopping::

    python benchmarks/bench_fashion_mnist.py --solver sgd \\
        --learning-rate-init 0.05 --dropout 0.2 --early-stopping --max-iter 60
"""

import sys
import warnings
from types import SimpleNamespace

import numpy as np
from _common import (
    add_n_test_option,
    add_skip_option,
    blas_threads,
    finish_args,
    fmt,
    goal_line,
    load_data,
    make_parser,
    measure,
    measure_items,
    median,
    print_noise_notes,
    print_table,
    report_machine,
    summarize,
    warmup_rows,
    worker_main,
    write_json,
)

SEED = 0
ITEMS = {
    "dbn": "DBNClassifier",
    "logreg": "LogisticRegression",
    "rbm-logreg": "BernoulliRBM + LogisticRegression",
    "mlp": "MLPClassifier",
}

#: Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747, Table 3,
#: and the zalandoresearch/fashion-mnist README.
PUBLISHED = [
    ("SVC (C=10, rbf)", 0.897, "Xiao et al. 2017, Table 3"),
    ("GradientBoostingClassifier", 0.880, "Xiao et al. 2017, Table 3"),
    ("RandomForestClassifier", 0.873, "Xiao et al. 2017, Table 3"),
    ("MLPClassifier (relu, (100,))", 0.871, "Xiao et al. 2017, Table 3"),
    ("KNeighborsClassifier", 0.854, "Xiao et al. 2017, Table 3"),
    ("LogisticRegression", 0.842, "Xiao et al. 2017, Table 3"),
    ("MLP 256-128-100", 0.8833, "zalandoresearch/fashion-mnist README"),
]

GOAL_ACCURACY = 0.905
GOAL_FIT_SECONDS = 600.0
FULL_N_TRAIN = 60000
FULL_N_TEST = 10000

#: option -> value under --quick, unless given explicitly
QUICK_DEFAULTS = {
    "pretrain_epochs": 1,
    "max_iter": 2,
    "mlp_max_iter": 2,
    "rbm_n_iter": 1,
}
DEFAULTS = {
    "pretrain_epochs": 10,
    "max_iter": 40,
    "mlp_max_iter": 30,
    "rbm_n_iter": 10,
}


# -- data shared with bench_autoencoder.py ------------------------------------------


def data_name(data_dir):
    return "Fashion-MNIST" if data_dir is None else f"MNIST-format set in {data_dir}"


def load_train_test(data_dir, n_train, n_test):
    """The first ``n_train`` training and ``n_test`` test images and labels.

    ``n_test=None`` takes the whole test split. Exits with the loader's
    message when a file is missing.
    """
    from skdbn.datasets import load_fashion_mnist

    X_train, y_train = load_data(data_dir, n_train)
    try:
        X_test, y_test = load_fashion_mnist(data_dir, kind="test", return_X_y=True)
    except FileNotFoundError as exc:
        raise SystemExit(f"error: {exc}") from None
    if n_test is None:
        n_test = X_test.shape[0]
    if not 1 <= n_test <= X_test.shape[0]:
        raise SystemExit(
            f"--n-test must be between 1 and the {X_test.shape[0]} test images"
        )
    return X_train, y_train, np.ascontiguousarray(X_test[:n_test]), y_test[:n_test]


def stack_splits(X_train, y_train, X_test, y_test):
    """One array pair for :class:`_common.Runner`; ``split_rows`` undoes it."""
    return np.concatenate([X_train, X_test]), np.concatenate([y_train, y_test])


def split_rows(spec, X, y):
    """``(X_train, y_train, X_test, y_test)`` from a worker's stacked data."""
    n = spec["n_train"]
    return X[:n], y[:n], X[n:], y[n:]


def apply_quick_defaults(args, quick_defaults, defaults):
    """Fill options left at None: the quick value under --quick, else the default."""
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick_defaults[name] if args.quick else value)


def learning_rates(values):
    """``--pretrain-learning-rate`` values: one for all layers, or one per layer."""
    rates = []
    for value in values:
        try:
            rates.append(value if value == "auto" else float(value))
        except ValueError:
            raise SystemExit(
                f"--pretrain-learning-rate takes 'auto' or numbers, got {value!r}"
            ) from None
    return rates[0] if len(rates) == 1 else rates


def add_pretrain_learning_rate(parser):
    parser.add_argument(
        "--pretrain-learning-rate",
        nargs="+",
        default=["auto"],
        metavar="LR",
        help="CD learning rate, one for all layers or one per layer; 'auto' "
        "(default) is skdbn's: 0.1 between Bernoulli layers, 0.001 below a "
        "linear layer",
    )


def one_round_by_default(parser):
    """``--repeats`` defaults to 1 here (set in ``main``); say so in ``--help``."""
    for action in parser._actions:
        if action.dest == "repeats":
            action.help = (
                "interleaved rounds; medians are reported (default 1: a fit "
                "takes minutes and is seeded, so rounds only repeat the timing)"
            )


def field(results, name):
    """Median of one field over an item's successful runs (None if absent)."""
    return median([r.get(name) for r in results if "error" not in r])


# -- the workers (run in a child process) ---------------------------------------


def make_model(key, spec):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import BernoulliRBM, MLPClassifier
    from sklearn.pipeline import make_pipeline

    from skdbn import DBNClassifier

    batch = spec["batch_size"]
    logreg = LogisticRegression(max_iter=spec["logreg_max_iter"])
    if key == "dbn":
        return DBNClassifier(
            tuple(spec["hidden"]),
            pretrain_epochs=spec["pretrain_epochs"],
            pretrain_learning_rate=spec["pretrain_learning_rate"],
            batch_size=batch,
            solver=spec["solver"],
            learning_rate_init=spec["learning_rate_init"],
            learning_rate=spec["learning_rate"],
            momentum=spec["momentum"],
            alpha=spec["alpha"],
            dropout=spec["dropout"],
            max_iter=spec["max_iter"],
            early_stopping=spec["early_stopping"],
            n_iter_no_change=spec["n_iter_no_change"],
            random_state=SEED,
        )
    if key == "logreg":
        return logreg
    if key == "rbm-logreg":
        rbm = BernoulliRBM(
            n_components=spec["rbm_components"],
            learning_rate=0.06,
            n_iter=spec["rbm_n_iter"],
            batch_size=batch,
            random_state=SEED,
        )
        return make_pipeline(rbm, logreg)
    return MLPClassifier(
        tuple(spec["hidden"]),
        batch_size=batch,
        max_iter=spec["mlp_max_iter"],
        random_state=SEED,
    )


def one_epoch_copy(key, model):
    """A copy of ``model`` that trains for one epoch, for the warm-up."""
    from sklearn.base import clone

    model = clone(model)
    one = {
        "dbn": {"pretrain_epochs": 1, "max_iter": 1},
        "logreg": {"max_iter": 5},
        "rbm-logreg": {"bernoullirbm__n_iter": 1, "logisticregression__max_iter": 5},
        "mlp": {"max_iter": 1},
    }[key]
    return model.set_params(**one)


def warmup_indices(y):
    """The first rows plus one row of each class, so every class is seen."""
    first = np.arange(warmup_rows(y).shape[0])
    _, first_of_class = np.unique(y, return_index=True)
    return np.union1d(first, first_of_class)


def epochs_run(key, model):
    """Epochs (or solver iterations) the fitted model ran, as text."""
    if key == "dbn":
        pretrain = ",".join(str(len(c)) for c in model.pretraining_curves_)
        return f"{pretrain}+{model.n_iter_}"
    if key == "logreg":
        return f"{int(np.max(model.n_iter_))} it"
    if key == "rbm-logreg":
        rbm, logreg = model[0], model[-1]
        return f"{rbm.n_iter}+{int(np.max(logreg.n_iter_))} it"
    return str(model.n_iter_)


def worker(spec, X, y):
    """Fit one model (timed) after a warm-up, then score it."""
    from sklearn.exceptions import ConvergenceWarning

    key = spec["item"]
    X_train, y_train, X_test, y_test = split_rows(spec, X, y)
    model = make_model(key, spec)
    with warnings.catch_warnings():
        # Capped epochs and iterations are the recipe, not a problem here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        rows = warmup_indices(y_train)
        one_epoch_copy(key, model).fit(X_train[rows], y_train[rows])
        result = measure(model.fit, X_train, y_train)
    result.update(
        test_accuracy=float(model.score(X_test, y_test)),
        train_accuracy=float(model.score(X_train, y_train)),
        epochs=epochs_run(key, model),
    )
    if key == "dbn":
        result.update(
            loss_curve=list(model.loss_curve_),
            validation_scores=model.validation_scores_,
            head_loss=model.head_loss_,
        )
    elif key == "mlp":
        result["loss_curve"] = list(model.loss_curve_)
    return result


# -- the parent ---------------------------------------------------------------------


def make_args_parser():
    from skdbn._training import LEARNING_RATE_SCHEDULES

    parser = make_parser(__doc__.split("\n\n")[0])
    one_round_by_default(parser)
    add_n_test_option(parser)
    add_skip_option(parser, ITEMS, "models not to fit")
    dbn = parser.add_argument_group("DBN recipe")
    dbn.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=[500, 500, 2000],
        help="hidden layer sizes of the DBN and the MLP (default: 500 500 2000)",
    )
    dbn.add_argument(
        "--pretrain-epochs",
        type=int,
        default=None,
        help="CD-1 epochs per layer (default 10; 1 with --quick)",
    )
    add_pretrain_learning_rate(dbn)
    dbn.add_argument(
        "--solver",
        choices=["adam", "sgd", "lbfgs"],
        default="adam",
        help="fine-tuning optimiser (default adam); lbfgs is full batch and "
        "--max-iter then counts its iterations",
    )
    dbn.add_argument("--learning-rate-init", type=float, default=1e-3)
    dbn.add_argument(
        "--learning-rate",
        choices=LEARNING_RATE_SCHEDULES,
        default="cosine",
        help="step-size schedule over the fine-tuning epochs (default cosine, "
        "the recipe's)",
    )
    dbn.add_argument("--momentum", type=float, default=0.9, help="for sgd")
    dbn.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty")
    dbn.add_argument(
        "--dropout", type=float, default=0.2, help="(default 0.2; the recipe's)"
    )
    dbn.add_argument(
        "--max-iter",
        type=int,
        default=None,
        help="fine-tuning epochs at most (default 40; 2 with --quick)",
    )
    dbn.add_argument(
        "--early-stopping",
        action="store_true",
        help="stop on a 10%% validation split and keep the best weights",
    )
    dbn.add_argument("--n-iter-no-change", type=int, default=10)
    base = parser.add_argument_group("baselines")
    base.add_argument(
        "--mlp-max-iter",
        type=int,
        default=None,
        help="MLPClassifier epochs at most (default 30; 2 with --quick)",
    )
    base.add_argument(
        "--rbm-components",
        type=int,
        default=500,
        help="hidden units of the BernoulliRBM (default 500)",
    )
    base.add_argument(
        "--rbm-n-iter",
        type=int,
        default=None,
        help="BernoulliRBM epochs (default 10; 1 with --quick)",
    )
    base.add_argument(
        "--logreg-max-iter",
        type=int,
        default=1000,
        help="L-BFGS iterations of LogisticRegression at most (default 1000)",
    )
    return parser


def start_quality_run(args, items, quick_defaults, defaults, hidden):
    """What both quality benchmarks do first, after parsing their options.

    Settles the options (one round by default: a fit takes minutes and is
    seeded), loads the training and test images, prints the machine, its
    GEMM rate at the network's shapes and the data.

    Returns
    -------
    run : SimpleNamespace
        ``args``, ``keys`` (the items to run), ``data`` (``X_train,
        y_train, X_test, y_test``), ``sizes`` (layer widths, input first),
        ``env``, ``gemm`` and ``cores_busy`` (see ``report_machine``).
    """
    if args.repeats is None:
        args.repeats = 1  # minutes per fit; the fits are seeded
    args = finish_args(args)
    apply_quick_defaults(args, quick_defaults, defaults)
    args.pretrain_learning_rate = learning_rates(args.pretrain_learning_rate)
    keys = [key for key in items if key not in args.skip]
    data = load_train_test(args.data_dir, args.n_samples, args.n_test)
    X_train, X_test = data[0], data[2]
    sizes = [X_train.shape[1], *hidden]
    shapes = [(args.batch_size, a, b) for a, b in zip(sizes, sizes[1:])]
    env, gemm, cores_busy = report_machine([shapes], args.threads)
    print(
        f"data: {data_name(args.data_dir)}, {X_train.shape[0]} training and "
        f"{X_test.shape[0]} test images of {X_train.shape[1]} pixels; "
        f"{args.repeats} round(s), medians; one process per fit"
        + (" (in-process run)" if args.in_process else "")
    )
    return SimpleNamespace(
        args=args,
        keys=keys,
        data=data,
        sizes=sizes,
        env=env,
        gemm=gemm,
        cores_busy=cores_busy,
    )


def main(argv=None):
    args = make_args_parser().parse_args(argv)
    if args.worker:
        return worker_main(args.worker, worker)
    run = start_quality_run(args, ITEMS, QUICK_DEFAULTS, DEFAULTS, args.hidden)
    args, keys = run.args, run.keys
    X_train, y_train, X_test, y_test = run.data
    print(f"DBN recipe: {recipe(args)}")

    spec = {
        "n_train": X_train.shape[0],
        "batch_size": args.batch_size,
        **{
            name: getattr(args, name)
            for name in (
                "hidden",
                "pretrain_epochs",
                "pretrain_learning_rate",
                "solver",
                "learning_rate_init",
                "learning_rate",
                "momentum",
                "alpha",
                "dropout",
                "max_iter",
                "early_stopping",
                "n_iter_no_change",
                "mlp_max_iter",
                "rbm_components",
                "rbm_n_iter",
                "logreg_max_iter",
            )
        },
    }
    print("\nfitting ...", file=sys.stderr)
    runs = measure_items(__file__, *stack_splits(*run.data), worker, args, keys, spec)

    summary = report(runs, keys, args, X_train.shape[0], X_test.shape[0])
    print_published()
    full = (
        args.data_dir is None
        and X_train.shape[0] == FULL_N_TRAIN
        and X_test.shape[0] == FULL_N_TEST
    )
    goals = report_goals(summary, full)
    if args.json:
        write_json(
            args.json,
            {
                "benchmark": "fashion_mnist",
                "args": vars(args),
                "environment": run.env,
                "gemm_rate": run.gemm,
                "cores_busy_at_start": run.cores_busy,
                "results": summary,
                "published": [
                    {"model": m, "test_accuracy": a, "source": s}
                    for m, a, s in PUBLISHED
                ],
                "goals": goals,
            },
        )
    return 0


def recipe(args):
    hidden = ", ".join(map(str, args.hidden))
    text = (
        f"hidden_layer_sizes=({hidden}), pretrain_epochs={args.pretrain_epochs}, "
        f"pretrain_learning_rate={args.pretrain_learning_rate!r}, "
        f"solver={args.solver!r}, learning_rate_init={args.learning_rate_init:g}, "
        f"learning_rate={args.learning_rate!r}, "
    )
    if args.solver == "sgd":
        text += f"momentum={args.momentum:g}, "
    return text + (
        f"alpha={args.alpha:g}, dropout={args.dropout:g}, "
        f"max_iter={args.max_iter}, early_stopping={args.early_stopping}, "
        f"n_iter_no_change={args.n_iter_no_change}, batch_size={args.batch_size}"
    )


def report(runs, keys, args, n_train, n_test):
    summary = summarize(runs)
    labels = {
        "dbn": f"DBNClassifier {tuple(args.hidden)}",
        "logreg": "LogisticRegression",
        "rbm-logreg": f"BernoulliRBM({args.rbm_components}) + LogisticRegression",
        "mlp": f"MLPClassifier {tuple(args.hidden)}",
    }
    rows = []
    for key in keys:
        s = summary[key]
        results = runs[key]
        ok = [r for r in results if "error" not in r]
        s.update(
            label=labels[key],
            test_accuracy=field(results, "test_accuracy"),
            train_accuracy=field(results, "train_accuracy"),
            epochs=ok[-1]["epochs"] if ok else None,
            runs=results,
        )
        rows.append(
            [
                s["label"],
                fmt(s["test_accuracy"], ".4f"),
                fmt(s["train_accuracy"], ".4f"),
                s["epochs"] or "-",
                "failed" if s.get("error") else fmt(s["wall"], ".1f"),
                fmt(s["cpu_per_wall"], ".2f"),
                fmt(s["peak_mib"], ".0f"),
                fmt(s["extra_mib"], ".0f"),
            ]
        )
    headers = ["model", "test acc", "train acc", "epochs", "fit s", "CPU/wall"]
    print_table(
        [*headers, "peak MiB", "+MiB"],
        rows,
        title=f"Measured here: fitted on {n_train} training images, "
        f"scored on {n_test} test images",
    )
    print(
        "epochs: DBN = CD epochs per layer + fine-tuning epochs; MLP = epochs; "
        "'it' = L-BFGS iterations.\nfit s = wall time of fit (median over "
        "rounds); peak MiB = peak RSS during fit, +MiB = what fit added."
    )
    print_noise_notes(summary, args.threads or blas_threads(), labels)
    return summary


def print_published():
    rows = [[model, f"{acc:.4f}", source] for model, acc, source in PUBLISHED]
    rows.append(["DBN / RBM", "-", "none published that we know of"])
    print_table(
        ["model", "test acc", "source"],
        rows,
        title="Published, not measured here: Fashion-MNIST, 60000 train / "
        "10000 test (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747)",
    )


def report_goals(summary, full):
    print()
    if not full:
        print(
            "note: not the full Fashion-MNIST 60000/10000 run; the goals below "
            "are for that run only."
        )
    dbn = summary.get("dbn", {})
    acc = dbn.get("test_accuracy")
    mlp = summary.get("mlp", {}).get("test_accuracy")
    wall = None if dbn.get("error") else dbn.get("wall")

    def check(ok, text):
        return goal_line(None if ok is None else bool(ok), text)

    return [
        check(
            None if acc is None else acc >= GOAL_ACCURACY,
            f"DBN test accuracy {fmt(acc, '.4f')} (goal >= {GOAL_ACCURACY})",
        ),
        check(
            None if acc is None or mlp is None else acc > mlp,
            f"DBN test accuracy {fmt(acc, '.4f')} > MLPClassifier's "
            f"{fmt(mlp, '.4f')} in the same run",
        ),
        check(
            None if wall is None else wall < GOAL_FIT_SECONDS,
            f"DBN fit {fmt(wall, '.1f')} s (goal < {GOAL_FIT_SECONDS:.0f} s)",
        ),
    ]


if __name__ == "__main__":
    sys.exit(main())
