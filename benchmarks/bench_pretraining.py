"""Greedy pretraining by RBMs, autoencoders and denoising autoencoders, or none.

What is measured
----------------
The same ``DBNClassifier`` (default: the Fashion-MNIST recipe, (500, 500,
2000), 10 pretraining epochs per layer, the L-BFGS softmax head, 40 epochs
of Adam fine-tuning from 1e-3 with a cosine schedule, dropout 0.2), fitted
on the Fashion-MNIST training images and scored on the test images, with:

``rbm``
    ``pretraining="rbm"``: CD-1 RBMs (the default);
``autoencoder``
    ``pretraining="autoencoder"``: one-layer autoencoders trained by Adam;
``denoising``
    the same with ``pretrain_noise`` (default 0.2) masking noise;
``none``
    ``pretrain_epochs=0``: Glorot-initialised layers, as ``MLPClassifier``.

The table gives test and training accuracy, the fit time and the fit time
per training row. The models are fitted one after the other in this process
(a fit takes minutes, so a process of its own per fit changes nothing that
matters here); ``CPU/wall`` near the number of BLAS threads means the run
had the cores.

Examples
--------
Smoke run on 3000 rows, 1 pretraining and 2 fine-tuning epochs::

    python benchmarks/bench_pretraining.py --quick
"""

import argparse
import sys
import time
import warnings

from _common import load_data, print_table, write_json
from sklearn.exceptions import ConvergenceWarning

ITEMS = ("rbm", "autoencoder", "denoising", "none")


def make_model(item, args):
    from skdbn import DBNClassifier

    params = dict(
        hidden_layer_sizes=tuple(args.hidden),
        pretrain_epochs=args.pretrain_epochs,
        learning_rate_init=1e-3,
        learning_rate="cosine",
        dropout=0.2,
        max_iter=args.max_iter,
        batch_size=100,
        random_state=0,
    )
    if item == "autoencoder":
        params["pretraining"] = "autoencoder"
    elif item == "denoising":
        params.update(pretraining="autoencoder", pretrain_noise=args.noise)
    elif item == "none":
        params["pretrain_epochs"] = 0
    return DBNClassifier(**params)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--n-samples", type=int, default=None)
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--hidden", type=int, nargs="+", default=[500, 500, 2000])
    parser.add_argument("--pretrain-epochs", type=int, default=None)
    parser.add_argument("--max-iter", type=int, default=None)
    parser.add_argument("--noise", type=float, default=0.2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip", nargs="+", default=[], choices=ITEMS)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    quick = {"n_samples": 3000, "n_test": 1000, "pretrain_epochs": 1, "max_iter": 2}
    full = {"n_samples": 60000, "n_test": 10000, "pretrain_epochs": 10, "max_iter": 40}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv=None):
    args = parse_args(argv)
    X, y = load_data(args.data_dir, args.n_samples)
    from skdbn.datasets import load_fashion_mnist

    X_test, y_test = load_fashion_mnist(args.data_dir, kind="test", return_X_y=True)
    X_test, y_test = X_test[: args.n_test], y_test[: args.n_test]
    print(
        f"Fashion-MNIST: {len(X)} training and {len(X_test)} test images; "
        f"network {tuple(args.hidden)}, {args.pretrain_epochs} pretraining "
        f"epochs per layer, {args.max_iter} fine-tuning epochs"
    )
    if len(X) < 60000:
        print("(not the full Fashion-MNIST: a smoke run)")
    results, rows = {}, []
    for item in ITEMS:
        if item in args.skip:
            continue
        model = make_model(item, args)
        print(f"fitting {item} ...", flush=True)
        wall, cpu = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        test, train = model.score(X_test, y_test), model.score(X, y)
        results[item] = {
            "test_accuracy": test,
            "train_accuracy": train,
            "fit_seconds": wall,
            "cpu_per_wall": cpu / wall,
            "fine_tuning_epochs": model.n_iter_,
            "pretraining_curves": model.pretraining_curves_,
        }
        rows.append(
            [
                item,
                f"{test:.4f}",
                f"{train:.4f}",
                f"{wall:.1f}",
                f"{1e3 * wall / len(X):.2f}",
                f"{cpu / wall:.2f}",
            ]
        )
    print_table(
        ["pretraining", "test acc", "train acc", "fit s", "ms/row", "CPU/wall"],
        rows,
        title="DBNClassifier by pretraining, same network and fine-tuning",
    )
    if args.json:
        write_json(
            args.json,
            {"benchmark": "pretraining", "args": vars(args), "results": results},
        )
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
