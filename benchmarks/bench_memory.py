"""A grid search with and without ``memory``: the same scores, less pretraining.

``GridSearchCV(DBNClassifier(...), grid, cv=3)`` on the first ``--n-samples``
Fashion-MNIST training images (``pretrain_epochs="auto"``, ``--epochs``
fine-tuning epochs), run without ``memory`` and with a fresh cache folder,
for two grids: over the layer sizes and ``dropout``
(``--sizes``, default ``(500,)``, ``(500, 500)``, ``(500, 500, 2000)``, and
dropout 0 and 0.2), and over fine-tuning settings alone at the largest
size (``alpha`` and ``dropout``). For each: the wall time of both searches,
their ratio, the number of layers each pretrained, and whether their
``cv_results_`` test scores are identical. Goals (issue "Grid search
over layer sizes that pretrains each layer once"): at least 1.5 times
faster on the first grid, 2.5 times on the second. Results:
benchmarks/README.md.
"""

import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _common import (
    count,
    goal_line,
    limit_threads,
    load_data,
    make_parser,
    print_data,
    print_table,
    report_machine,
    write_results,
)

QUICK = {"n_samples": 1500, "sizes": ["32", "32,32", "32,32,64"], "epochs": 2}
FULL = {"n_samples": 20000, "sizes": ["500", "500,500", "500,500,2000"], "epochs": 5}


def parse_args(argv=None):
    parser = make_parser(__doc__, "--threads", quick=QUICK, full=FULL)
    parser.add_argument(
        "--sizes", nargs="+", metavar="H,H", help="hidden layer sizes to search"
    )
    parser.add_argument(
        "--epochs",
        type=count,
        metavar="E",
        help="fine-tuning epochs of every candidate (pretraining: 'auto')",
    )
    return parser.parse_args(argv)


def search(grid, X, y, epochs, memory):
    """Fit the search; its test scores and seconds."""
    from sklearn.model_selection import GridSearchCV

    from skdbn import DBNClassifier

    model = DBNClassifier(max_iter=epochs, memory=memory, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = GridSearchCV(model, grid, cv=3, refit=False).fit(X, y)
    seconds = time.perf_counter() - start
    scores = np.stack([fitted.cv_results_[f"split{i}_test_score"] for i in range(3)])
    return scores, seconds


def main(argv=None):
    args = parse_args(argv)
    with limit_threads(args.threads):
        return run(args)


def run(args):
    """The benchmark, under the thread limit of ``args``."""
    machine = report_machine([], args.threads)
    data = load_data(args.data_dir, args.n_samples, digits_if_missing=args.quick)
    sizes = [tuple(int(h) for h in size.split(",")) for size in args.sizes]
    print_data(data, args, f"sizes {sizes}, {args.epochs} fine-tuning epochs, cv=3")
    grids = {
        "sizes x dropout": {"hidden_layer_sizes": sizes, "dropout": [0.0, 0.2]},
        "fine-tuning only": {
            "hidden_layer_sizes": [sizes[-1]],
            "alpha": [1e-4, 1e-2],
            "dropout": [0.0, 0.2],
        },
    }
    goals = {"sizes x dropout": 1.5, "fine-tuning only": 2.5}
    rows, results = [], {}
    for name, grid in grids.items():
        n_candidates = int(np.prod([len(v) for v in grid.values()]))
        layers_without = 3 * sum(
            len(size) * n_candidates // len(grid["hidden_layer_sizes"])
            for size in grid["hidden_layer_sizes"]
        )
        print(f"  {name}: without memory ...", file=sys.stderr, flush=True)
        plain, plain_s = search(grid, data.X_train, data.y_train, args.epochs, None)
        with tempfile.TemporaryDirectory() as folder:
            print(f"  {name}: with memory ...", file=sys.stderr, flush=True)
            cached, cached_s = search(
                grid, data.X_train, data.y_train, args.epochs, folder
            )
            layers_with = len(list(Path(folder).rglob("output.pkl")))
        identical = bool(np.array_equal(plain, cached))
        results[name] = {
            "seconds_without": plain_s,
            "seconds_with": cached_s,
            "speedup": plain_s / cached_s,
            "layers_without": layers_without,
            "layers_with": layers_with,
            "identical_scores": identical,
        }
        rows.append(
            [
                name,
                f"{plain_s:.1f}",
                f"{cached_s:.1f}",
                f"{plain_s / cached_s:.2f}",
                f"{layers_without} / {layers_with}",
                "yes" if identical else "NO",
            ]
        )
    print_table(
        [
            "grid",
            "without s",
            "with s",
            "speed-up",
            "layers pretrained",
            "identical scores",
        ],
        rows,
        title="GridSearchCV(cv=3), without and with memory",
    )
    for name, goal in goals.items():
        speedup = results[name]["speedup"]
        goal_line(speedup >= goal, f"{name}: {speedup:.2f}x faster (goal {goal}x)")
    write_results(args, "memory", **machine, results=results)
    return results


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
