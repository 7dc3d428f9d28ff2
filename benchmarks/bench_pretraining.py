"""Greedy pretraining by RBMs, autoencoders and denoising autoencoders, or none.

The same ``DBNClassifier`` (default: the Fashion-MNIST recipe, (500, 500,
2000), 10 pretraining epochs per layer, the L-BFGS head, 40 epochs of Adam
from 1e-3 with a cosine schedule, dropout 0.2) with each way of
pretraining its stack: ``rbm`` (CD-1 RBMs), ``autoencoder`` (one-layer
autoencoders by Adam), ``denoising`` (the same with ``--noise`` masking
noise) and ``none`` (``pretrain_epochs=0``, Glorot initialisation). The
table gives test and training accuracy, the fit time and the fit time per
training row. The fits run one after the other in this process (a fit
takes minutes, so a process of its own changes nothing that matters here);
``--repeats`` rounds of them are interleaved (default 1: they are seeded).

Example::

    python benchmarks/bench_pretraining.py --quick   # 3000 rows, 1 + 2 epochs
"""

import sys
import warnings

from _common import (
    fmt,
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

ITEMS = ("rbm", "autoencoder", "denoising", "none")
QUICK = {"n_test": 1000, "pretrain_epochs": 1, "max_iter": 2}
FULL = {"repeats": 1, "pretrain_epochs": 10, "max_iter": 40}


def make_model(item, args):
    from skdbn import DBNClassifier

    params = dict(
        hidden_layer_sizes=tuple(args.hidden),
        pretrain_epochs=args.pretrain_epochs,
        learning_rate_init=1e-3,
        learning_rate="cosine",
        dropout=0.2,
        max_iter=args.max_iter,
        batch_size=args.batch_size,
        random_state=0,
    )
    if item == "autoencoder":
        params["pretraining"] = "autoencoder"
    elif item == "denoising":
        params.update(pretraining="autoencoder", pretrain_noise=args.noise)
    elif item == "none":
        params["pretrain_epochs"] = 0
    return DBNClassifier(**params)


def fit_and_score(item, args, data):
    model = make_model(item, args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = measure(model.fit, data.X_train, data.y_train)
    return {
        **result,
        "test_accuracy": model.score(data.X_test, data.y_test),
        "train_accuracy": model.score(data.X_train, data.y_train),
        "fine_tuning_epochs": model.n_iter_,
        "pretraining_curves": model.pretraining_curves_,
    }


def main(argv=None):
    parser = make_parser(
        __doc__,
        "--n-test",
        "--repeats",
        "--batch-size",
        "--threads",
        items=ITEMS,
        quick=QUICK,
        full=FULL,
    )
    parser.add_argument("--hidden", type=int, nargs="+", default=[500, 500, 2000])
    parser.add_argument("--pretrain-epochs", type=int)
    parser.add_argument("--max-iter", type=int)
    parser.add_argument(
        "--noise", type=float, default=0.2, help="of denoising (default 0.2)"
    )
    args = parser.parse_args(argv)
    data = load_data(args.data_dir, args.n_samples, args.n_test)
    machine = report_machine([], args.threads)
    print_data(
        data,
        args,
        f"network {tuple(args.hidden)}",
        f"{args.pretrain_epochs} pretraining epochs per layer",
        f"{args.max_iter} fine-tuning epochs",
    )
    keys = [item for item in ITEMS if item not in args.skip]
    with limit_threads(args.threads):
        runs = interleave(
            keys, args.repeats, lambda item: fit_and_score(item, args, data)
        )

    results = summarize(
        runs,
        ("test_accuracy", "train_accuracy"),
        ("fine_tuning_epochs", "pretraining_curves"),
    )
    rows = []
    for item, s in results.items():
        s["fit_seconds"] = s["wall"]
        rows.append(
            [
                item,
                fmt(s["test_accuracy"], ".4f"),
                fmt(s["train_accuracy"], ".4f"),
                "failed" if s.get("error") else fmt(s["wall"], ".1f"),
                fmt(s["wall"] and 1e3 * s["wall"] / len(data.X_train), ".2f"),
                fmt(s["cpu_per_wall"], ".2f"),
            ]
        )
    print_table(
        ["pretraining", "test acc", "train acc", "fit s", "ms/row", "CPU/wall"],
        rows,
        title="DBNClassifier by pretraining, same network and fine-tuning",
    )
    write_results(args, "pretraining", **machine, results=results)
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
