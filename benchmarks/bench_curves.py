"""Training and test accuracy after every fine-tuning epoch of a recipe.

``DBNClassifier`` with the Fashion-MNIST recipe of ``bench_fashion_mnist.py``
((500, 500, 2000), 10 CD-1 epochs per layer, the L-BFGS head, Adam from
1e-3 with a cosine schedule, ``dropout=0.2``, ``--max-iter`` epochs),
fitted on the Fashion-MNIST training images. A callback (scikit-learn's
callback API, ``set_callbacks``) scores the model on the training and the
test images after every fine-tuning epoch, outside the timed epochs (the
time printed is ``history_``'s), so the table shows where the test
accuracy stops following the training accuracy. ``--figure`` draws both
curves to a PNG (matplotlib needed).

Example::

    python benchmarks/bench_curves.py --quick   # 3000 rows
"""

import sys
import warnings

from _common import (
    limit_threads,
    load_data,
    make_parser,
    print_data,
    print_table,
    report_machine,
    write_results,
)
from sklearn.exceptions import ConvergenceWarning

QUICK = {"n_test": 1000, "pretrain_epochs": 1, "max_iter": 3}
FULL = {"pretrain_epochs": 10, "max_iter": 40}


class AccuracyCurves:
    """Callback: training and test accuracy after each fine-tuning epoch."""

    def __init__(self, train, test):
        self.train, self.test = train, test
        self.rows = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        parent = context.parent
        if (
            fitted_estimator is None
            or context.task_name != "epoch"
            or parent is None
            or parent.task_name != "fine-tuning"
        ):
            return False
        self.rows.append(
            (fitted_estimator.score(*self.train), fitted_estimator.score(*self.test))
        )
        return False


def main(argv=None):
    parser = make_parser(
        __doc__, "--n-test", "--batch-size", "--threads", quick=QUICK, full=FULL
    )
    parser.add_argument("--hidden", type=int, nargs="+", default=[500, 500, 2000])
    parser.add_argument("--pretrain-epochs", type=int)
    parser.add_argument("--max-iter", type=int)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--figure", metavar="PNG", help="draw the curves there")
    args = parser.parse_args(argv)
    from skdbn import DBNClassifier

    data = load_data(args.data_dir, args.n_samples, args.n_test)
    X, y, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
    machine = report_machine([], args.threads)
    print_data(data, args, f"network {tuple(args.hidden)}", f"dropout {args.dropout}")
    curves = AccuracyCurves((X, y), (X_test, y_test))
    model = DBNClassifier(
        tuple(args.hidden),
        pretrain_epochs=args.pretrain_epochs,
        batch_size=args.batch_size,
        learning_rate="cosine",
        dropout=args.dropout,
        max_iter=args.max_iter,
        random_state=0,
    ).set_callbacks(curves)
    with warnings.catch_warnings(), limit_threads(args.threads):
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    fit_seconds = sum(record["seconds"] for record in model.history_)
    epochs = [r for r in model.history_ if r["stage"] == "fine-tuning"]
    rows = [
        [
            str(r["epoch"]),
            f"{r['loss']:.4f}",
            f"{train:.4f}",
            f"{test:.4f}",
            f"{train - test:.4f}",
        ]
        for r, (train, test) in zip(epochs, curves.rows)
    ]
    print_table(
        ["epoch", "train loss", "train acc", "test acc", "gap"],
        rows,
        title="DBNClassifier fine-tuning, accuracy after each epoch",
    )
    best = max(range(len(curves.rows)), key=lambda i: curves.rows[i][1])
    print(
        f"best test accuracy {curves.rows[best][1]:.4f} after epoch {best + 1}; "
        f"final {curves.rows[-1][1]:.4f}; {fit_seconds:.1f} s in training epochs"
    )
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.5))
        x = range(1, len(curves.rows) + 1)
        ax.plot(x, [r[0] for r in curves.rows], label="training images")
        ax.plot(x, [r[1] for r in curves.rows], label="test images")
        ax.set_xlabel("fine-tuning epoch")
        ax.set_ylabel("accuracy")
        ax.set_title(f"DBNClassifier {tuple(args.hidden)} on Fashion-MNIST")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.figure, dpi=100)
        print(f"curves written to {args.figure}")
    write_results(
        args,
        "curves",
        **machine,
        results={"accuracy": curves.rows, "history": model.history_},
    )
    return curves.rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
