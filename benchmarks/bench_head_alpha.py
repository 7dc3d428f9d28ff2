"""Test accuracy against the head's L2 strength, ``head_alpha``.

What is measured
----------------
``DBNClassifier`` trains its head on the frozen pretrained features with
the objective ``mean loss + head_alpha / (2 n) ||W||^2`` (n the training
rows), the objective of ``LogisticRegression(C=1 / head_alpha)`` divided by
n. This script fits the same classifier at several ``head_alpha`` values
and reports, for each, the head's training loss, the largest head weight
after the head stage, and the test accuracy after the head alone and after
fine-tuning, on three data sets:

``digits``
    scikit-learn's 8x8 digits / 16, a stratified 75/25 split,
    ``DBNClassifier()`` at its defaults.
``breast_cancer``
    scikit-learn's breast cancer data, ``MinMaxScaler`` fitted on the
    training part (clipped), a stratified 75/25 split, at the defaults.
``fashion``
    the first ``--n-samples`` Fashion-MNIST training images against the
    first ``--n-test`` test images, ``DBNClassifier((500,), pretrain_epochs=5,
    max_iter=--max-iter, dropout=0.2, learning_rate="cosine")``.

Each data set also runs from a Glorot start (``pretrain_epochs=0``) with
``dropout=0.2``, the case where a weakly regularised head starts
fine-tuning from large weights. Accuracies are medians over ``--repeats``
seeds. The default ``head_alpha`` is the value that does best over all rows.

Run: ``python benchmarks/bench_head_alpha.py`` (Fashion-MNIST from
``--data-dir`` or ``SKDBN_FASHION_MNIST_DIR``, by default
``/usr/share/datasets/fashion-mnist``; ``--skip fashion`` without it).
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from skdbn import DBNClassifier

DEFAULT_ALPHAS = (1e-4, 1e-2, 0.1, 1.0, 10.0)


def _split(X, y, seed):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, stratify=y, random_state=seed
    )
    scaler = MinMaxScaler(clip=True).fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def datasets(args):
    """Each data set as ``(name, split(seed), params)``."""
    digits = load_digits(return_X_y=True)
    cancer = load_breast_cancer(return_X_y=True)
    sets = [
        ("digits", lambda seed: _split(digits[0] / 16, digits[1], seed), {}),
        ("breast_cancer", lambda seed: _split(*cancer, seed), {}),
    ]
    if "fashion" not in args.skip:
        from skdbn.datasets import load_fashion_mnist

        try:
            X, y = load_fashion_mnist(args.data_dir, kind="train", return_X_y=True)
            X_t, y_t = load_fashion_mnist(args.data_dir, kind="test", return_X_y=True)
        except FileNotFoundError as exc:
            raise SystemExit(f"error: {exc} (or --skip fashion)") from None
        fashion = (X[: args.n_samples], X_t[: args.n_test])
        labels = (y[: args.n_samples], y_t[: args.n_test])
        sets.append(
            (
                "fashion",
                lambda seed: (*fashion, *labels),
                {
                    "hidden_layer_sizes": (500,),
                    "pretrain_epochs": 5,
                    "max_iter": args.max_iter,
                    "dropout": 0.2,
                    "learning_rate": "cosine",
                },
            )
        )
    return sets


def run_one(split, params, head_alpha, seed):
    X_train, X_test, y_train, y_test = split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # (Dropout acts in fine-tuning only: the head alone is fitted without.)
        head_params = {**params, "dropout": 0.0}
        head = DBNClassifier(
            **head_params, head_alpha=head_alpha, fine_tune=False, random_state=seed
        ).fit(X_train, y_train)
        start = time.perf_counter()
        full = DBNClassifier(**params, head_alpha=head_alpha, random_state=seed)
        full.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    return {
        "head_loss": head.head_loss_,
        "head_max_weight": float(np.abs(head.coefs_[-1]).max()),
        "head_accuracy": head.score(X_test, y_test),
        "accuracy": full.score(X_test, y_test),
        "seconds": seconds,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alphas", type=float, nargs="+", default=DEFAULT_ALPHAS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--n-samples", type=int, default=10000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--max-iter", type=int, default=10)
    args = parser.parse_args()
    header = (
        f"{'data':<14}{'start':<8}{'head_alpha':>11}{'head loss':>11}"
        f"{'max |W|':>9}{'head acc':>10}{'acc':>8}{'fit s':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, split, params in datasets(args):
        if name in args.skip:
            continue
        for start, extra in (
            ("rbm", {}),
            ("glorot", {"pretrain_epochs": 0, "dropout": 0.2}),
        ):
            for head_alpha in args.alphas:
                runs = [
                    run_one(split(seed), {**params, **extra}, head_alpha, seed)
                    for seed in range(args.repeats)
                ]
                med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
                print(
                    f"{name:<14}{start:<8}{head_alpha:>11g}{med['head_loss']:>11.4f}"
                    f"{med['head_max_weight']:>9.2f}{med['head_accuracy']:>10.4f}"
                    f"{med['accuracy']:>8.4f}{med['seconds']:>8.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
