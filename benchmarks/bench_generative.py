"""The generative DBN on Fashion-MNIST: greedy, after up-down, and dreams.

What is measured
----------------
``GenerativeDBNClassifier`` with the network of Hinton, Osindero & Teh
(2006), (500, 500, 2000), fitted on the Fashion-MNIST training images:

- test accuracy after greedy pretraining alone (``up_down_epochs=0``), then
  after ``--up-down-epochs`` epochs of up-down fine-tuning continued from
  that model (``warm_start=True``), classifying by the top RBM's free
  energies;
- next to it, in the same run, ``DBNClassifier`` with the Fashion-MNIST
  recipe of ``bench_fashion_mnist.py`` (backpropagation fine-tuning);
- the time of one up-down epoch against one CD-1 epoch of the same three
  RBMs (784-500, 500-500 and the top 510-2000, each timed on its real
  input, median of 3), both with ``batch_size=100``;
- a figure of 10 generated images per class (rows), 1000 Gibbs steps in
  the top RBM, written as a PNG (``--figure``).

Pretraining runs 10 CD-1 epochs per layer below the top and 30 for the
top RBM (what ``pretrain_epochs="auto"`` would choose on 60000 rows at
batch 100); the paper ran 30 epochs per layer on MNIST, then 300 epochs
of up-down fine-tuning, where the default here is 20.

Examples
--------
Smoke run on 3000 rows::

    python benchmarks/bench_generative.py --quick
"""

import argparse
import statistics
import sys
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
from _common import load_data, print_table, write_json
from sklearn.exceptions import ConvergenceWarning


def write_png(path, image):
    """Write a grayscale image (2-D array in [0, 1]) as an 8-bit PNG."""
    pixels = np.clip(np.round(255 * np.asarray(image)), 0, 255).astype(np.uint8)
    height, width = pixels.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in pixels)

    def chunk(kind, data):
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (
        width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    )
    Path(path).write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def tile(images, n_rows, shape=(28, 28), gap=2):
    """Images (one per row of ``images``) as a grid with ``n_rows`` rows."""
    n_cols = int(np.ceil(len(images) / n_rows))
    h, w = shape
    grid = np.ones((n_rows * (h + gap) + gap, n_cols * (w + gap) + gap))
    for i, image in enumerate(images):
        r, c = divmod(i, n_cols)
        top, left = gap + r * (h + gap), gap + c * (w + gap)
        grid[top : top + h, left : left + w] = image.reshape(shape)
    return grid


def time_cd_epochs(model, X, y, repeats=3):
    """Median seconds of one CD-1 epoch of each RBM of ``model``'s stack."""
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
    seconds = []
    for data, size in zip(inputs, sizes):
        times = []
        for repeat in range(repeats):
            rbm = RBM(size, batch_size=100, n_iter=1, random_state=repeat)
            start = time.perf_counter()
            rbm.fit(data)
            times.append(time.perf_counter() - start)
        seconds.append(statistics.median(times))
    return seconds


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--n-samples", type=int, default=None)
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--hidden", type=int, nargs="+", default=[500, 500, 2000])
    parser.add_argument("--pretrain-epochs", type=int, default=None)
    parser.add_argument("--up-down-epochs", type=int, default=None)
    parser.add_argument("--up-down-learning-rate", type=float, default=0.01)
    parser.add_argument("--max-iter", type=int, default=None)
    parser.add_argument("--skip-dbn-classifier", action="store_true")
    parser.add_argument("--figure", metavar="PNG", default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    quick = {
        "n_samples": 3000,
        "n_test": 1000,
        "pretrain_epochs": 1,
        "up_down_epochs": 1,
        "max_iter": 2,
    }
    full = {
        "n_samples": 60000,
        "n_test": 10000,
        "pretrain_epochs": 10,
        "up_down_epochs": 20,
        "max_iter": 40,
    }
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv=None):
    args = parse_args(argv)
    from skdbn import DBNClassifier, GenerativeDBNClassifier
    from skdbn.datasets import load_fashion_mnist

    X, y = load_data(args.data_dir, args.n_samples)
    X_test, y_test = load_fashion_mnist(args.data_dir, kind="test", return_X_y=True)
    X_test, y_test = X_test[: args.n_test], y_test[: args.n_test]
    hidden = tuple(args.hidden)
    print(
        f"Fashion-MNIST: {len(X)} training and {len(X_test)} test images; "
        f"network {hidden}, {args.pretrain_epochs} pretraining epochs per "
        f"layer, {args.up_down_epochs} up-down epochs"
    )
    if len(X) < 60000:
        print("(not the full Fashion-MNIST: a smoke run)")

    # As pretrain_epochs="auto" does: the top RBM trains 3 times as long.
    epochs = [args.pretrain_epochs] * (len(hidden) - 1) + [3 * args.pretrain_epochs]
    model = GenerativeDBNClassifier(
        hidden,
        pretrain_epochs=epochs,
        batch_size=100,
        up_down_epochs=0,
        up_down_learning_rate=args.up_down_learning_rate,
        warm_start=True,
        random_state=0,
    )
    start = time.perf_counter()
    model.fit(X, y)
    greedy_seconds = time.perf_counter() - start
    greedy = {"test": model.score(X_test, y_test), "train": model.score(X, y)}
    model.set_params(up_down_epochs=args.up_down_epochs)
    start = time.perf_counter()
    model.fit(X, y)
    up_down_seconds = time.perf_counter() - start
    tuned = {"test": model.score(X_test, y_test), "train": model.score(X, y)}
    up_down_epoch = up_down_seconds / max(1, args.up_down_epochs)
    cd_epochs = time_cd_epochs(model, X, y)

    rows = [
        [
            "GenerativeDBNClassifier, greedy only",
            f"{greedy['test']:.4f}",
            f"{greedy['train']:.4f}",
            f"{greedy_seconds:.1f}",
        ],
        [
            f"  + {args.up_down_epochs} up-down epochs",
            f"{tuned['test']:.4f}",
            f"{tuned['train']:.4f}",
            f"{greedy_seconds + up_down_seconds:.1f}",
        ],
    ]
    results = {
        "greedy": {**greedy, "fit_seconds": greedy_seconds},
        "up_down": {**tuned, "fit_seconds": greedy_seconds + up_down_seconds},
        "up_down_curve": model.up_down_curve_,
        "up_down_epoch_seconds": up_down_epoch,
        "cd_epoch_seconds": cd_epochs,
    }
    if not args.skip_dbn_classifier:
        dbn = DBNClassifier(
            hidden,
            pretrain_epochs=args.pretrain_epochs,
            batch_size=100,
            learning_rate="cosine",
            dropout=0.2,
            max_iter=args.max_iter,
            random_state=0,
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            dbn.fit(X, y)
        seconds = time.perf_counter() - start
        scores = {"test": dbn.score(X_test, y_test), "train": dbn.score(X, y)}
        rows.append(
            [
                f"DBNClassifier, backprop, {args.max_iter} epochs",
                f"{scores['test']:.4f}",
                f"{scores['train']:.4f}",
                f"{seconds:.1f}",
            ]
        )
        results["dbn_classifier"] = {**scores, "fit_seconds": seconds}
    print_table(
        ["model", "test acc", "train acc", "fit s"],
        rows,
        title=f"Generative DBN {hidden} against DBNClassifier",
    )
    print_table(
        ["epoch", "seconds", "ratio"],
        [
            *[[f"CD-1, RBM {i + 1}", f"{s:.2f}", ""] for i, s in enumerate(cd_epochs)],
            ["CD-1, all three RBMs", f"{sum(cd_epochs):.2f}", "1.00"],
            [
                f"up-down (top CD-{model.up_down_gibbs_steps})",
                f"{up_down_epoch:.2f}",
                f"{up_down_epoch / sum(cd_epochs):.2f}",
            ],
        ],
        title="Epoch time, batch 100",
    )
    if args.figure:
        classes = np.repeat(model.classes_, 10)
        images, _ = model.sample(len(classes), y=classes, random_state=0)
        write_png(args.figure, tile(images, n_rows=len(model.classes_)))
        print(f"10 samples per class (one class per row) written to {args.figure}")
    if args.json:
        write_json(
            args.json,
            {"benchmark": "generative", "args": vars(args), "results": results},
        )
    return results


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sys.exit(0 if main() else 1)
