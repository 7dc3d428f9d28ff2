"""Reconstruction error of a deep autoencoder on Fashion-MNIST, next to PCA.

What is measured
----------------
The deep autoencoder of Hinton & Salakhutdinov (2006), 784-1000-500-250-30
with logistic units and a linear 30-unit code layer, is fitted on the
training images (the first ``--n-samples``, all 60000 by default) and
scored on the test images (all 10000 by default) by the average squared
reconstruction error per image: the squared difference between an image
and its reconstruction, summed over the 784 pixels, averaged over the
images (``-DBNTransformer.score``, the paper's measure). Models:

``pca``
    ``PCA(n_components=30)`` fitted on the same training images;
    reconstruction ``inverse_transform(transform(X))``.
``dbn``
    ``DBNTransformer((1000, 500, 250, 30), fine_tune=True)``:
    ``--pretrain-epochs`` epochs of CD-1 per layer (the top layer linear,
    ``hidden_unit="auto"``), then the unrolled encoder-decoder fine-tuned
    for ``--finetune-epochs`` epochs on the cross-entropy of the
    reconstruction. The same fit also gives the error of the pretrained
    stack before fine-tuning ("pretrained only"): the up pass through
    ``model.rbms_`` (which fine-tuning does not change) and the down pass
    back, i.e. the ``fine_tune=False`` model with the same pretraining. That
    model is also fitted on its own, in the same worker after the timed
    fit, and its fit time is the pretraining time.
``random``
    The same network with ``pretrain_epochs=0`` (skdbn's RBM
    initialisation, small random weights), fine-tuned for the same number
    of epochs: what pretraining is worth.

Both fine-tunings run exactly ``--finetune-epochs`` epochs (``tol=0`` and
``n_iter_no_change`` equal to the epochs, so no early stop); the epochs
actually run (``len(loss_curve_)``) are reported.

Goals: the fine-tuned autoencoder's test error at most half of PCA's in the
same run; pretraining beats random initialisation at equal fine-tuning
epochs. For comparison, the published MNIST figures (Hinton & Salakhutdinov
2006, Fig. 2) are printed below the table; they are not measured here.

How
---
Each fit runs in a fresh process (the script re-run with ``--worker``),
after an untimed warm-up fit of a one-epoch copy on ~1000 rows; wall time
(``perf_counter``), CPU time of all threads (``process_time``), and the
peak RSS during ``fit`` (see ``_common.py``). ``--repeats R`` runs
everything R times, interleaved, and reports medians (fits are seeded, so
only the times vary). Per-epoch times (pretraining: the pretrained-only
fit over its epochs; fine-tuning: the rest of the pretrained fit over its
epochs), extrapolated to the full 60000 rows when fewer are used, are
printed below the table.

Examples
--------
Smoke run (3000 rows, 2 pretraining and 3 fine-tuning epochs)::

    python benchmarks/bench_autoencoder.py --quick

Full run (about 12 minutes on one core of this project's machine, by
extrapolation from a 10000-row run), results kept::

    python benchmarks/bench_autoencoder.py --json results/autoencoder.json
"""

import sys
import warnings

import numpy as np
from _common import (
    add_n_test_option,
    add_skip_option,
    blas_threads,
    fmt,
    goal_line,
    make_parser,
    measure,
    measure_items,
    print_noise_notes,
    print_table,
    summarize,
    warmup_rows,
    worker_main,
    write_json,
)
from bench_fashion_mnist import (
    FULL_N_TRAIN,
    add_pretrain_learning_rate,
    field,
    one_round_by_default,
    split_rows,
    stack_splits,
    start_quality_run,
)

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

QUICK_DEFAULTS = {"pretrain_epochs": 2, "finetune_epochs": 3}
DEFAULTS = {"pretrain_epochs": 10, "finetune_epochs": 20}


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


def worker(spec, X, y):
    """Fit one model (timed) after a warm-up, then measure its test error."""
    from sklearn.base import clone
    from sklearn.decomposition import PCA
    from sklearn.exceptions import ConvergenceWarning

    key = spec["item"]
    X_train, _, X_test, _ = split_rows(spec, X, y)
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


def make_args_parser():
    parser = make_parser(__doc__.split("\n\n")[0])
    one_round_by_default(parser)
    add_n_test_option(parser)
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
    add_skip_option(parser, ITEMS, "models not to fit")
    return parser


def main(argv=None):
    args = make_args_parser().parse_args(argv)
    if args.worker:
        return worker_main(args.worker, worker)
    run = start_quality_run(args, ITEMS, QUICK_DEFAULTS, DEFAULTS, HIDDEN)
    args, keys, sizes = run.args, run.keys, run.sizes
    if args.pretrain_epochs < 0 or args.finetune_epochs < 0:
        raise SystemExit("--pretrain-epochs and --finetune-epochs must be >= 0")
    X_train, X_test = run.data[0], run.data[2]
    n_train = X_train.shape[0]
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

    spec = {
        "n_train": n_train,
        "batch_size": args.batch_size,
        "pretrain_epochs": args.pretrain_epochs,
        "pretrain_learning_rate": args.pretrain_learning_rate,
        "finetune_epochs": args.finetune_epochs,
        "solver": args.solver,
        "learning_rate_init": args.learning_rate_init,
        "momentum": args.momentum,
        "pretraining": args.pretraining,
        "pretrain_noise": args.pretrain_noise,
    }
    print("\nfitting ...", file=sys.stderr)
    runs = measure_items(__file__, *stack_splits(*run.data), worker, args, keys, spec)

    summary = report(runs, keys, args, n_train, X_test.shape[0])
    print_published()
    goals = report_goals(summary)
    if args.json:
        write_json(
            args.json,
            {
                "benchmark": "autoencoder",
                "args": vars(args),
                "environment": run.env,
                "gemm_rate": run.gemm,
                "cores_busy_at_start": run.cores_busy,
                "layer_sizes": sizes,
                "results": summary,
                "published_mnist": dict(PUBLISHED_MNIST),
                "goals": goals,
            },
        )
    return 0


def report(runs, keys, args, n_train, n_test):
    summary = summarize(runs)
    for key in keys:
        results = runs[key]
        ok = [r for r in results if "error" not in r]
        summary[key].update(
            label=ITEMS[key],
            test_error=field(results, "test_error"),
            pretrain_epochs=ok[-1].get("pretrain_epochs") if ok else None,
            finetune_epochs=ok[-1].get("finetune_epochs") if ok else None,
            loss_curve=ok[-1].get("loss_curve") if ok else None,
            runs=results,
        )
    dbn = summary.get("dbn")
    if dbn is not None:
        dbn["pretrained_test_error"] = field(runs["dbn"], "pretrained_test_error")
        dbn["pretraining_seconds"] = field(runs["dbn"], "pretraining_seconds")
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
    print_noise_notes(summary, args.threads or blas_threads(), ITEMS)
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
