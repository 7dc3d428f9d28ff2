"""Test accuracy of a DBN classifier on Fashion-MNIST, next to scikit-learn.

Each model is fitted on the first ``--n-samples`` training images and
scored on the first ``--n-test`` test images (default: all 60000 and
10000): ``dbn``, ``DBNClassifier`` with the recipe given on the command
line (default: the recommended recipe, (500, 500, 2000), 10 CD-1 epochs
per layer, the L-BFGS head, 40 epochs of Adam from 1e-3 with a cosine
schedule, dropout 0.2; ``fit`` stops early when the training loss stalls
for ``--n-iter-no-change`` epochs, or with ``--early-stopping`` when the
score on a 10% validation split does), next to scikit-learn's
``LogisticRegression`` on the pixels (``logreg``), ``BernoulliRBM`` +
``LogisticRegression`` (``rbm-logreg``, scikit-learn's RBM example) and
``MLPClassifier`` with the same hidden layers (``mlp``, relu, Adam, no
pretraining; the slowest baseline, hence its own epoch limit). Published
accuracies (Xiao, Rasul & Vollgraf 2017) are quoted below the table, not
measured. benchmarks/README.md gives the goals (full run only) and the
method: one process per fit after a one-epoch warm-up fit; ``--repeats``
defaults to 1, as the fits are seeded and only their times would vary.

Examples::

    python benchmarks/bench_fashion_mnist.py --quick   # 3000 rows, 1-2 epochs
    python benchmarks/bench_fashion_mnist.py --skip mlp --json results/fmnist.json
    python benchmarks/bench_fashion_mnist.py --solver sgd \\
        --learning-rate-init 0.05 --dropout 0.2 --early-stopping --max-iter 60
"""

import sys
import warnings

import numpy as np
from _common import (
    Runner,
    fmt,
    goal_line,
    layer_shapes,
    load_data,
    make_parser,
    measure,
    print_data,
    print_noise_notes,
    print_table,
    report_machine,
    summarize,
    warmup_indices,
    worker_main,
    write_results,
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
QUICK = {"pretrain_epochs": 1, "max_iter": 2, "mlp_max_iter": 2, "rbm_n_iter": 1}
FULL = {
    "repeats": 1,  # a fit takes minutes and is seeded: rounds only repeat the timing
    "pretrain_epochs": 10,
    "max_iter": 40,
    "mlp_max_iter": 30,
    "rbm_n_iter": 10,
}


def learning_rate(text):
    """argparse type of a CD learning rate: 'auto' or a number."""
    return text if text == "auto" else float(text)


def add_pretrain_learning_rate(parser):
    """``--pretrain-learning-rate``, shared with bench_autoencoder.py."""
    parser.add_argument(
        "--pretrain-learning-rate",
        nargs="+",
        type=learning_rate,
        default=["auto"],
        metavar="LR",
        help="CD learning rate, one for all layers or one per layer; 'auto' "
        "(default) is skdbn's: 0.1 between Bernoulli layers, 0.001 below a "
        "linear layer",
    )


def one_or_per_layer(values):
    """One value for all layers, or the list of one per layer."""
    return values[0] if len(values) == 1 else values


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


def worker(spec, data):
    """Fit one model (timed) after a warm-up, then score it."""
    from sklearn.exceptions import ConvergenceWarning

    key = spec["item"]
    X, y = data.X_train, data.y_train
    model = make_model(key, spec)
    with warnings.catch_warnings():
        # Capped epochs and iterations are the recipe, not a problem here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        rows = warmup_indices(y)
        one_epoch_copy(key, model).fit(X[rows], y[rows])
        result = measure(model.fit, X, y)
    result.update(
        test_accuracy=float(model.score(data.X_test, data.y_test)),
        train_accuracy=float(model.score(X, y)),
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


def parse_args(argv):
    from skdbn._training import LEARNING_RATE_SCHEDULES

    parser = make_parser(
        __doc__,
        "--n-test",
        "--repeats",
        "--batch-size",
        "--threads",
        "--in-process",
        items=ITEMS,
        skip_help="models not to fit",
        quick=QUICK,
        full=FULL,
    )
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
    args = parser.parse_args(argv)
    args.pretrain_learning_rate = one_or_per_layer(args.pretrain_learning_rate)
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker_main(args.worker, worker)
    keys = [key for key in ITEMS if key not in args.skip]
    data = load_data(args.data_dir, args.n_samples, args.n_test)
    sizes = [data.X_train.shape[1], *args.hidden]
    machine = report_machine([layer_shapes(args.batch_size, sizes)], args.threads)
    print_data(data, args)
    print(f"DBN recipe: {recipe(args)}")

    print("\nfitting ...", file=sys.stderr)
    with Runner(__file__, data, worker, args) as runner:
        runs = runner.measure(keys, vars(args))
    summary = report(runs, keys, args, data)
    print_published()
    goals = report_goals(summary, data.full)
    write_results(
        args,
        "fashion_mnist",
        **machine,
        results=summary,
        published=[
            {"model": m, "test_accuracy": a, "source": s} for m, a, s in PUBLISHED
        ],
        goals=goals,
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


def report(runs, keys, args, data):
    summary = summarize(runs, ("test_accuracy", "train_accuracy"), ("epochs",))
    labels = {
        "dbn": f"DBNClassifier {tuple(args.hidden)}",
        "logreg": "LogisticRegression",
        "rbm-logreg": f"BernoulliRBM({args.rbm_components}) + LogisticRegression",
        "mlp": f"MLPClassifier {tuple(args.hidden)}",
    }
    rows = []
    for key in keys:
        s = summary[key]
        s["label"] = labels[key]
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
        title=f"Measured here: fitted on {data.X_train.shape[0]} training images, "
        f"scored on {data.X_test.shape[0]} test images",
    )
    print(
        "epochs: DBN = CD epochs per layer + fine-tuning epochs; MLP = epochs; "
        "'it' = L-BFGS iterations.\nfit s = wall time of fit (median over "
        "rounds); peak MiB = peak RSS during fit, +MiB = what fit added."
    )
    print_noise_notes(summary, args.threads, labels)
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
    return [
        goal_line(
            None if acc is None else acc >= GOAL_ACCURACY,
            f"DBN test accuracy {fmt(acc, '.4f')} (goal >= {GOAL_ACCURACY})",
        ),
        goal_line(
            None if acc is None or mlp is None else acc > mlp,
            f"DBN test accuracy {fmt(acc, '.4f')} > MLPClassifier's "
            f"{fmt(mlp, '.4f')} in the same run",
        ),
        goal_line(
            None if wall is None else wall < GOAL_FIT_SECONDS,
            f"DBN fit {fmt(wall, '.1f')} s (goal < {GOAL_FIT_SECONDS:.0f} s)",
        ),
    ]


if __name__ == "__main__":
    sys.exit(main())
