"""The generative DBN on Fashion-MNIST: greedy, after up-down, and dreams.

``GenerativeDBNClassifier`` with the network of Hinton, Osindero & Teh
(2006), (500, 500, 2000), on the Fashion-MNIST images: the test accuracy
after greedy pretraining alone (``up_down_epochs=0``; 10 CD-1 epochs per
layer below the top, 30 for the top RBM, as ``pretrain_epochs="auto"``
chooses), then after ``--up-down-epochs`` epochs of up-down fine-tuning
continued from that model (``warm_start=True``), classifying by the top
RBM's free energies, next to ``DBNClassifier``
with ``bench_fashion_mnist.py``'s recipe in the same run; the time of one
up-down epoch against one CD-1 epoch of each RBM of the stack, on its real
input (median of 3); with ``--figure``, 10 generated images per class
(1000 Gibbs steps in the top RBM) as a PNG.

Example::

    python benchmarks/bench_generative.py --quick   # 3000 rows
"""

import sys
import warnings

import numpy as np
from _common import (
    interleave,
    limit_threads,
    load_data,
    make_parser,
    measure,
    print_data,
    print_table,
    report_machine,
    summarize,
    write_results,
)
from sklearn.exceptions import ConvergenceWarning

from skdbn.datasets import FASHION_MNIST_CLASSES

QUICK = {"n_test": 1000, "pretrain_epochs": 1, "up_down_epochs": 1, "max_iter": 2}
FULL = {"pretrain_epochs": 10, "up_down_epochs": 20, "max_iter": 40}


def draw_samples(path, images, row_names, *, title, shape=(28, 28)):
    """Save a grid of ``images`` (one row per name, in order) with row labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    n_rows = len(row_names)
    n_cols = len(images) // n_rows
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(0.7 * n_cols + 1.4, 0.7 * n_rows + 0.5),
        squeeze=False,
        constrained_layout=True,
    )
    for i, ax in enumerate(axes.flat):
        ax.imshow(images[i].reshape(shape), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if i % n_cols == 0:
            ax.set_ylabel(row_names[i // n_cols], rotation=0, ha="right", va="center")
    fig.suptitle(title)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def time_cd_epochs(model, X, y, batch_size, repeats=3):
    """Median seconds of one CD-1 epoch of each RBM of ``model``'s stack.

    Each RBM is timed on its real input: the data passed up the stack, the
    labels beside the top RBM's.
    """
    from scipy.linalg.blas import sgemm
    from scipy.special import expit

    from skdbn import RBM

    # The products go through scipy's BLAS, the one training uses: numpy's
    # own would leave its threads spinning against the timed runs.
    inputs = [X]
    for W, b in zip(model.recognition_coefs_, model.recognition_intercepts_):
        # (sgemm returns a column-major array: RBM.fit would copy it.)
        layer = expit(sgemm(1.0, inputs[-1], W) + b)
        inputs.append(np.ascontiguousarray(layer, dtype=np.float32))
    labels = (y[:, None] == model.classes_[None, :]).astype(np.float32)
    inputs[-1] = np.hstack([labels, inputs[-1]])
    sizes = [W.shape[1] for W in model.recognition_coefs_]
    sizes.append(model.top_rbm_.n_components)
    layers = {
        f"CD-1, RBM {i + 1}": (data, size)
        for i, (data, size) in enumerate(zip(inputs, sizes))
    }

    def one_epoch(name):
        data, size = layers[name]
        rbm = RBM(size, batch_size=batch_size, n_iter=1, random_state=0)
        return measure(rbm.fit, data)

    runs = interleave(list(layers), repeats, one_epoch)
    return [summary["wall"] for summary in summarize(runs).values()]


def fit_and_time(args, data):
    """Fit and score both models; time the fits and the epochs."""
    from skdbn import DBNClassifier, GenerativeDBNClassifier

    X, y, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
    hidden = tuple(args.hidden)
    # As pretrain_epochs="auto" does: the top RBM trains 3 times as long.
    epochs = [args.pretrain_epochs] * (len(hidden) - 1) + [3 * args.pretrain_epochs]
    model = GenerativeDBNClassifier(
        hidden,
        pretrain_epochs=epochs,
        batch_size=args.batch_size,
        up_down_epochs=0,
        up_down_learning_rate=args.up_down_learning_rate,
        warm_start=True,
        random_state=0,
    )
    greedy_seconds = measure(model.fit, X, y)["wall"]
    greedy = {"test": model.score(X_test, y_test), "train": model.score(X, y)}
    model.set_params(up_down_epochs=args.up_down_epochs)
    up_down_seconds = measure(model.fit, X, y)["wall"]  # continues (warm start)
    tuned = {"test": model.score(X_test, y_test), "train": model.score(X, y)}
    results = {
        "greedy": {**greedy, "fit_seconds": greedy_seconds},
        "up_down": {**tuned, "fit_seconds": greedy_seconds + up_down_seconds},
        "up_down_curve": model.up_down_curve_,
        "up_down_epoch_seconds": up_down_seconds / max(1, args.up_down_epochs),
        "cd_epoch_seconds": time_cd_epochs(model, X, y, args.batch_size),
    }
    if not args.skip_dbn_classifier:
        dbn = DBNClassifier(
            hidden,
            pretrain_epochs=args.pretrain_epochs,
            batch_size=args.batch_size,
            learning_rate="cosine",
            dropout=0.2,
            max_iter=args.max_iter,
            random_state=0,
        )
        seconds = measure(dbn.fit, X, y)["wall"]
        scores = {"test": dbn.score(X_test, y_test), "train": dbn.score(X, y)}
        results["dbn_classifier"] = {**scores, "fit_seconds": seconds}
    return model, results


def main(argv=None):
    parser = make_parser(
        __doc__, "--n-test", "--batch-size", "--threads", quick=QUICK, full=FULL
    )
    parser.add_argument("--hidden", type=int, nargs="+", default=[500, 500, 2000])
    parser.add_argument("--pretrain-epochs", type=int)
    parser.add_argument("--up-down-epochs", type=int)
    parser.add_argument("--up-down-learning-rate", type=float, default=0.01)
    parser.add_argument("--max-iter", type=int, help="of the DBNClassifier")
    parser.add_argument("--skip-dbn-classifier", action="store_true")
    parser.add_argument("--figure", metavar="PNG", help="draw the samples there")
    args = parser.parse_args(argv)
    data = load_data(args.data_dir, args.n_samples, args.n_test)
    machine = report_machine([], args.threads)
    hidden = tuple(args.hidden)
    print_data(
        data,
        args,
        f"network {hidden}",
        f"{args.pretrain_epochs} pretraining epochs per layer",
        f"{args.up_down_epochs} up-down epochs",
    )
    with limit_threads(args.threads):
        model, results = fit_and_time(args, data)

    rows = [["GenerativeDBNClassifier, greedy only", results["greedy"]]]
    rows.append([f"  + {args.up_down_epochs} up-down epochs", results["up_down"]])
    if "dbn_classifier" in results:
        label = f"DBNClassifier, backprop, {args.max_iter} epochs"
        rows.append([label, results["dbn_classifier"]])
    print_table(
        ["model", "test acc", "train acc", "fit s"],
        [
            [label, f"{r['test']:.4f}", f"{r['train']:.4f}", f"{r['fit_seconds']:.1f}"]
            for label, r in rows
        ],
        title=f"Generative DBN {hidden} against DBNClassifier",
    )
    cd_epochs = results["cd_epoch_seconds"]
    up_down_epoch = results["up_down_epoch_seconds"]
    print_table(
        ["epoch", "seconds", "ratio"],
        [
            *[[f"CD-1, RBM {i + 1}", f"{s:.2f}", ""] for i, s in enumerate(cd_epochs)],
            [f"CD-1, all {len(cd_epochs)} RBMs", f"{sum(cd_epochs):.2f}", "1.00"],
            [
                f"up-down (top CD-{model.up_down_gibbs_steps})",
                f"{up_down_epoch:.2f}",
                f"{up_down_epoch / sum(cd_epochs):.2f}",
            ],
        ],
        title=f"Epoch time, batch {args.batch_size}",
    )
    if args.figure:
        classes = np.repeat(model.classes_, 10)
        images, _ = model.sample(len(classes), y=classes, random_state=0)
        names = [str(c) for c in model.classes_]
        if data.name == "Fashion-MNIST":
            names = [FASHION_MNIST_CLASSES[int(c)] for c in model.classes_]
        draw_samples(
            args.figure,
            images,
            names,
            title="GenerativeDBNClassifier: 10 dreams per class (1000 Gibbs "
            "steps, label clamped)",
        )
        print(f"10 samples per class (one class per row) written to {args.figure}")
    write_results(args, "generative", **machine, results=results)
    return results


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sys.exit(0 if main() else 1)
