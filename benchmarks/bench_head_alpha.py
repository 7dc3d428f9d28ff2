"""Test accuracy against the head's L2 strength, ``head_alpha``.

``DBNClassifier`` fits its head on the frozen pretrained features with the
objective ``mean loss + head_alpha / (2 n) ||W||^2`` (n the training rows),
``LogisticRegression(C=1 / head_alpha)``'s divided by n. This script fits
the same classifier at several ``head_alpha`` values (``--alphas``) and
prints the head's training loss, its largest weight and the test accuracy
after the head alone and after fine-tuning, medians over ``--repeats``
seeds; from RBM pretraining and from a Glorot start (``pretrain_epochs=0``,
``dropout=0.2``: a weakly regularised head then starts fine-tuning from
large weights); on three data sets: ``digits`` (/ 16) and
``breast_cancer`` (``MinMaxScaler``), stratified 75/25 splits, at the
defaults; ``fashion``, the first ``--n-samples`` Fashion-MNIST training
images against the first ``--n-test`` test images,
``DBNClassifier((500,), pretrain_epochs=5, max_iter=--max-iter,
dropout=0.2, learning_rate="cosine")`` (``--skip fashion`` without the
data). Results: benchmarks/README.md.
"""

import sys
import warnings

import numpy as np
from _common import count, load_data, make_parser, measure, print_table, write_results
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

DATASETS = ("digits", "breast_cancer", "fashion")
DEFAULT_ALPHAS = (1e-4, 1e-2, 0.1, 1.0, 10.0)
QUICK = {"n_samples": 2000, "n_test": 1000, "max_iter": 2}
FULL = {"n_samples": 10000, "n_test": 10000, "max_iter": 10}


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
        try:
            data = load_data(args.data_dir, args.n_samples, args.n_test)
        except SystemExit as exc:
            raise SystemExit(f"{exc} (or --skip fashion)") from None
        split = (data.X_train, data.X_test, data.y_train, data.y_test)
        fashion = {
            "hidden_layer_sizes": (500,),
            "pretrain_epochs": 5,
            "max_iter": args.max_iter,
            "dropout": 0.2,
            "learning_rate": "cosine",
        }
        sets.append(("fashion", lambda seed: split, fashion))
    return [entry for entry in sets if entry[0] not in args.skip]


def run_one(split, params, head_alpha, seed):
    from skdbn import DBNClassifier

    X_train, X_test, y_train, y_test = split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # (Dropout acts in fine-tuning only: the head alone is fitted without.)
        head_params = {**params, "dropout": 0.0}
        head = DBNClassifier(
            **head_params, head_alpha=head_alpha, fine_tune=False, random_state=seed
        ).fit(X_train, y_train)
        full = DBNClassifier(**params, head_alpha=head_alpha, random_state=seed)
        seconds = measure(full.fit, X_train, y_train)["wall"]
    return {
        "head_loss": head.head_loss_,
        "head_max_weight": float(np.abs(head.coefs_[-1]).max()),
        "head_accuracy": head.score(X_test, y_test),
        "accuracy": full.score(X_test, y_test),
        "seconds": seconds,
    }


def main(argv=None):
    parser = make_parser(
        __doc__,
        "--n-test",
        items=DATASETS,
        skip_help="data sets left out",
        quick=QUICK,
        full=FULL,
    )
    parser.add_argument("--repeats", type=count, help="seeds (default 3)")
    parser.add_argument(
        "--alphas",
        type=float,
        nargs="+",
        default=DEFAULT_ALPHAS,
        help="head_alpha values (default: 1e-4 0.01 0.1 1 10)",
    )
    parser.add_argument(
        "--max-iter", type=int, help="fine-tuning epochs, Fashion-MNIST"
    )
    args = parser.parse_args(argv)
    results, rows = [], []
    for name, split, params in datasets(args):
        for start, extra in (
            ("rbm", {}),
            ("glorot", {"pretrain_epochs": 0, "dropout": 0.2}),
        ):
            for head_alpha in args.alphas:
                print(
                    f"  {name}, {start}, head_alpha {head_alpha:g} ...", file=sys.stderr
                )
                runs = [
                    run_one(split(seed), {**params, **extra}, head_alpha, seed)
                    for seed in range(args.repeats)
                ]
                med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
                results.append(
                    {"data": name, "start": start, "head_alpha": head_alpha, **med}
                )
                rows.append(
                    [
                        name,
                        start,
                        f"{head_alpha:g}",
                        f"{med['head_loss']:.4f}",
                        f"{med['head_max_weight']:.2f}",
                        f"{med['head_accuracy']:.4f}",
                        f"{med['accuracy']:.4f}",
                        f"{med['seconds']:.1f}",
                    ]
                )
    print_table(
        ["data", "start", "head_alpha", "head loss", "max |W|", "head acc", "acc"]
        + ["fit s"],
        rows,
        title=f"DBNClassifier by head_alpha: medians over {args.repeats} seed(s)",
    )
    write_results(args, "head_alpha", results=results)


if __name__ == "__main__":
    main()
