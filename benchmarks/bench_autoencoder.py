"""Reconstruction error of a deep autoencoder on Fashion-MNIST, next to PCA.

The deep autoencoder of Hinton & Salakhutdinov (2006), 784-1000-500-250-30
with a linear 30-unit code layer, fitted on the training images and scored
on the test images by the average squared reconstruction error per image
(``-DBNTransformer.score``, the paper's measure), next to ``PCA(30)``
(``pca``): pretrained and fine-tuned (``dbn``; its "pretrained only" row
is the same stack before fine-tuning, whose fit, ``fine_tune=False``, is
timed after the fine-tuned one in the same worker) and fine-tuned from a
random start (``random``, ``pretrain_epochs=0``). Both fine-tunings run
exactly ``--finetune-epochs`` epochs (``tol=0``, no early stop).
benchmarks/README.md gives the rows, the goals and the method: one process
per fit after a one-epoch warm-up fit; ``--repeats`` defaults to 1, as the
fits are seeded. Below the table: seconds per epoch, extrapolated to 60000
rows, and the published MNIST figures (not measured here).

Examples::

    python benchmarks/bench_autoencoder.py --quick  # 3000 rows, 2 CD, 3 FT epochs
    python benchmarks/bench_autoencoder.py --json results/autoencoder.json
"""

import sys
import warnings

import numpy as np
from _common import (
    FULL_N_TRAIN,
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
    warmup_rows,
    worker_main,
    write_results,
)
from bench_fashion_mnist import add_pretrain_learning_rate, one_or_per_layer

HIDDEN = (1000, 500, 250, 30)
CODE_SIZE = HIDDEN[-1]
SEED = 0
ITEMS = {
    "pca": "PCA(30)",
    "dbn": "autoencoder, pretrained + fine-tuned",
    "random": "autoencoder, random init + fine-tuned",
}
PRETRAINED_ONLY = "autoencoder, pretrained only"

#: Hinton & Salakhutdinov 2006, Fig. 2: MNIST test images,
#: 30-dimensional codes, average squared error per image.
PUBLISHED_MNIST = [
    ("deep autoencoder 784-1000-500-250-30", 3.00),
    ("logistic PCA", 8.01),
    ("PCA", 13.87),
]

GOAL_PCA_RATIO = 0.5  # autoencoder error <= this x PCA's error

QUICK = {"pretrain_epochs": 2, "finetune_epochs": 3}
FULL = {"repeats": 1, "pretrain_epochs": 10, "finetune_epochs": 20}


# -- the workers (run in a child process) ---------------------------------------


def squared_error(X, reconstruction):
    """Average over rows of the squared error summed over features."""
    return float(np.mean(np.sum((X - reconstruction) ** 2, axis=1)))


def stack_error(rbms, X):
    """Error of the pretrained stack: up through the RBMs, then back down."""
    H = X
    for rbm in rbms:
        H = rbm.transform(H)
    for rbm in reversed(rbms):
        H = rbm.inverse_transform(H)
    return squared_error(X, H)


def make_autoencoder(spec, pretrain):
    from skdbn import DBNTransformer

    epochs = spec["finetune_epochs"]
    return DBNTransformer(
        HIDDEN,
        fine_tune=True,
        pretrain_epochs=spec["pretrain_epochs"] if pretrain else 0,
        pretrain_learning_rate=spec["pretrain_learning_rate"],
        batch_size=spec["batch_size"],
        solver=spec["solver"],
        learning_rate_init=spec["learning_rate_init"],
        momentum=spec["momentum"],
        pretraining=spec.get("pretraining", "rbm"),
        pretrain_noise=spec.get("pretrain_noise", 0.0),
        max_iter=epochs,
        # Exactly `epochs` epochs for both networks: no early stop.
        tol=0.0,
        n_iter_no_change=max(epochs, 1),
        random_state=SEED,
    )


def worker(spec, data):
    """Fit one model (timed) after a warm-up, then measure its test error."""
    from sklearn.base import clone
    from sklearn.decomposition import PCA
    from sklearn.exceptions import ConvergenceWarning

    key = spec["item"]
    X_train, X_test = data.X_train, data.X_test
    if key == "pca":
        model = PCA(n_components=CODE_SIZE, random_state=SEED)
        clone(model).fit(warmup_rows(X_train))
        result = measure(model.fit, X_train)
        reconstruction = model.inverse_transform(model.transform(X_test))
        result["test_error"] = squared_error(X_test, reconstruction)
        return result

    model = make_autoencoder(spec, pretrain=key == "dbn")
    warm = clone(model).set_params(
        pretrain_epochs=min(model.pretrain_epochs, 1),
        max_iter=min(model.max_iter, 1),
    )
    with warnings.catch_warnings():
        # Every fit runs out of epochs by design; fit warns each time.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.fit(warmup_rows(X_train))
        result = measure(model.fit, X_train)
    result.update(
        test_error=-model.score(X_test),
        pretrain_epochs=[len(curve) for curve in model.pretraining_curves_],
        finetune_epochs=len(model.loss_curve_),
        loss_curve=list(model.loss_curve_),
    )
    if key == "dbn":
        result["pretrained_test_error"] = stack_error(model.rbms_, X_test)
        # Timed directly: the random-initialised fit is no stand-in for the
        # fine-tuning part (its epochs can cost more, on saturated units).
        stack = clone(model).set_params(fine_tune=False)
        result["pretraining_seconds"] = measure(stack.fit, X_train)["wall"]
    return result


# -- the parent ---------------------------------------------------------------------


def parse_args(argv):
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
    parser.add_argument(
        "--pretrain-epochs",
        type=int,
        default=None,
        help="CD-1 epochs per layer (default 10; 2 with --quick)",
    )
    parser.add_argument(
        "--finetune-epochs",
        type=int,
        default=None,
        help="fine-tuning epochs of both autoencoders (default 20; 3 with --quick)",
    )
    add_pretrain_learning_rate(parser)
    parser.add_argument(
        "--solver",
        choices=["adam", "sgd", "lbfgs"],
        default="adam",
        help="fine-tuning optimiser (default adam); with lbfgs (full batch) the "
        "fine-tuning epochs are L-BFGS iterations, which may stop early",
    )
    parser.add_argument(
        "--learning-rate-init",
        type=float,
        default=1e-3,
        help="fine-tuning step size (default 1e-3)",
    )
    parser.add_argument(
        "--momentum", type=float, default=0.9, help="for --solver sgd (default 0.9)"
    )
    parser.add_argument(
        "--pretraining",
        choices=["rbm", "autoencoder"],
        default="rbm",
        help="how the layers are pretrained (default rbm: CD-1 RBMs; "
        "autoencoder: tied one-layer autoencoders by Adam at "
        "--learning-rate-init)",
    )
    parser.add_argument(
        "--pretrain-noise",
        type=float,
        default=0.0,
        help="with --pretraining autoencoder: masking noise (denoising)",
    )
    args = parser.parse_args(argv)
    if args.pretrain_epochs < 0 or args.finetune_epochs < 0:
        raise SystemExit("--pretrain-epochs and --finetune-epochs must be >= 0")
    args.pretrain_learning_rate = one_or_per_layer(args.pretrain_learning_rate)
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker_main(args.worker, worker)
    keys = [key for key in ITEMS if key not in args.skip]
    data = load_data(args.data_dir, args.n_samples, args.n_test)
    sizes = [data.X_train.shape[1], *HIDDEN]
    machine = report_machine([layer_shapes(args.batch_size, sizes)], args.threads)
    print_data(data, args)
    print(
        f"autoencoder: {'-'.join(map(str, sizes))} (linear code layer), "
        + (
            f"CD-1 pretraining {args.pretrain_epochs} epochs per layer (learning "
            f"rate {args.pretrain_learning_rate!r}), "
            if args.pretraining == "rbm"
            else f"autoencoder pretraining {args.pretrain_epochs} epochs per layer "
            f"(noise {args.pretrain_noise:g}), "
        )
        + f"fine-tuning "
        f"{args.finetune_epochs} epochs, {args.solver} "
        f"learning_rate_init={args.learning_rate_init:g}"
        + (f" momentum={args.momentum:g}" if args.solver == "sgd" else "")
        + f", batch {args.batch_size}"
    )

    print("\nfitting ...", file=sys.stderr)
    with Runner(__file__, data, worker, args) as runner:
        runs = runner.measure(keys, vars(args))

    summary = report(runs, keys, args, data)
    print_published()
    goals = report_goals(summary)
    write_results(
        args,
        "autoencoder",
        **machine,
        layer_sizes=sizes,
        results=summary,
        published_mnist=dict(PUBLISHED_MNIST),
        goals=goals,
    )
    return 0


def report(runs, keys, args, data):
    n_train, n_test = data.X_train.shape[0], data.X_test.shape[0]
    summary = summarize(
        runs,
        ("test_error", "pretrained_test_error", "pretraining_seconds"),
        ("pretrain_epochs", "finetune_epochs", "loss_curve"),
    )
    for key in keys:
        summary[key]["label"] = ITEMS[key]
    pca_error = summary.get("pca", {}).get("test_error")

    def row(label, s, error, pretrain, finetune, seconds):
        curve = s.get("loss_curve") or []
        return [
            label,
            fmt(error, ".2f"),
            fmt(error and pca_error and error / pca_error, ".2f", "x"),
            pretrain,
            "-" if finetune is None else str(finetune),
            f"{curve[0]:.1f} -> {curve[-1]:.1f}" if curve else "-",
            seconds,
            fmt(s.get("cpu_per_wall"), ".2f"),
            fmt(s.get("peak_mib"), ".0f"),
            fmt(s.get("extra_mib"), ".0f"),
        ]

    def epochs(s):
        counts = s.get("pretrain_epochs")
        if not counts:
            return "0" if counts is not None else "-"
        return str(counts[0]) if len(set(counts)) == 1 else ",".join(map(str, counts))

    rows = []
    for key in keys:
        s = summary[key]
        seconds = "failed" if s.get("error") else fmt(s["wall"], ".1f")
        if key == "dbn":
            rows.append(
                row(
                    PRETRAINED_ONLY,
                    {},
                    s["pretrained_test_error"],
                    epochs(s),
                    0,
                    fmt(s.get("pretraining_seconds"), ".1f"),
                )
            )
        rows.append(
            row(
                s["label"],
                s,
                s["test_error"],
                "-" if key == "pca" else epochs(s),
                s.get("finetune_epochs"),
                seconds,
            )
        )
    print_table(
        [
            "model",
            "test error",
            "vs PCA",
            "CD ep",
            "FT ep",
            "FT loss 1st -> last",
            "fit s",
            "CPU/wall",
            "peak MiB",
            "+MiB",
        ],
        rows,
        title=f"Deep autoencoder {'-'.join(map(str, [784, *HIDDEN]))} vs PCA: "
        f"fitted on {n_train} training images, scored on {n_test} test images",
    )
    print(
        "test error = average over test images of the squared reconstruction "
        "error summed over pixels\n(lower is better); CD ep = CD-1 epochs per "
        "layer, FT ep = fine-tuning epochs run; FT loss = training\ncross-entropy "
        "per image; fit s = wall time of fit (median over rounds; pretrained "
        "only:\nthe fine_tune=False fit); peak MiB = peak RSS during fit, +MiB = "
        "what fit added."
    )
    print_noise_notes(summary, args.threads, ITEMS)
    extrapolate(summary, args, n_train)
    return summary


def extrapolate(summary, args, n_train):
    """Seconds per epoch, scaled linearly to the full training set."""
    scale = FULL_N_TRAIN / n_train
    dbn = summary.get("dbn", {})
    parts = []
    pretraining = dbn.get("pretraining_seconds")
    if dbn.get("wall") and pretraining is not None and args.finetune_epochs:
        per_epoch = (dbn["wall"] - pretraining) / args.finetune_epochs
        dbn["finetune_seconds_per_epoch_full"] = per_epoch * scale
        parts.append(f"one fine-tuning epoch ~{per_epoch * scale:.0f} s")
    if pretraining and args.pretrain_epochs:
        per_epoch = dbn["pretraining_seconds"] / args.pretrain_epochs
        dbn["pretraining_seconds_per_epoch_full"] = per_epoch * scale
        parts.append(f"one CD epoch of all 4 layers ~{per_epoch * scale:.0f} s")
    if parts and n_train != FULL_N_TRAIN:
        print(f"extrapolated to {FULL_N_TRAIN} training rows: " + "; ".join(parts))
    elif parts:
        print("per epoch: " + "; ".join(parts))


def print_published():
    print_table(
        ["model (30-d codes)", "test error"],
        [[model, f"{error:.2f}"] for model, error in PUBLISHED_MNIST],
        title="Published, not measured here: MNIST (not Fashion-MNIST) test "
        "images, Hinton & Salakhutdinov 2006, Fig. 2",
    )


def report_goals(summary):
    print()
    pca = summary.get("pca", {}).get("test_error")
    dbn = summary.get("dbn", {})
    random = summary.get("random", {})
    ae, rand = dbn.get("test_error"), random.get("test_error")

    ratio_ok = None if ae is None or pca is None else ae <= GOAL_PCA_RATIO * pca
    goals = [
        goal_line(
            ratio_ok,
            f"autoencoder test error {fmt(ae, '.2f')} = "
            f"{fmt(ae and pca and ae / pca, '.2f')} x PCA's {fmt(pca, '.2f')} "
            f"(goal <= {GOAL_PCA_RATIO})",
        )
    ]
    same = dbn.get("finetune_epochs") == random.get("finetune_epochs")
    beats = None if ae is None or rand is None else ae < rand and same
    goals.append(
        goal_line(
            beats,
            f"pretrained {fmt(ae, '.2f')} < random init {fmt(rand, '.2f')} after "
            f"{dbn.get('finetune_epochs', '?')} and "
            f"{random.get('finetune_epochs', '?')} fine-tuning epochs"
            + ("" if same else " (epochs differ!)"),
        )
    )
    return goals


if __name__ == "__main__":
    sys.exit(main())
