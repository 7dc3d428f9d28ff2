"""The generative DBN trained with the recipe of Hinton, Osindero & Teh (2006).

``GenerativeDBNClassifier((500, 500, 2000))`` on the Fashion-MNIST images
with the paper's schedule (its section 6): every RBM, the top one with the
labels included, trained for 30 sweeps (``--pretrain-epochs``) on
mini-batches of 100, then 300 epochs of up-down fine-tuning
(``--up-down-epochs``) whose top RBM runs 3 Gibbs steps for the first
third, 6 for the second and 10 for the last, which is
``up_down_gibbs_steps=(3, 6, 10)``. The three thirds run as three warm
starts of 3, 6 and 10 steps (the same training: tests/test_generative.py
checks the equality) so that the model is scored between them.

After the greedy stage and after each third the table gives the test and
train accuracy (classifying by the top RBM's free energies) and how often
a separately trained classifier (``LogisticRegression`` on the training
images; its accuracy on the real test images is printed as its ceiling)
recognises ``--dreams`` class-conditional dreams per class (1000 Gibbs
steps with the label clamped) as their class (per class in the JSON);
each row is printed as soon as it is measured. ``--figure`` draws 10
dreams per class of the final model.

Not the paper's: its data (handwritten digits, which this machine does not
have), its 44,000/10,000 split for choosing the settings and its 59 last
epochs on all 60,000 images, and its balanced mini-batches (10 images of
each class in every batch; skdbn shuffles). Its learning rates are not
given in the paper; skdbn's defaults are used.

Example::

    python benchmarks/bench_generative_paper.py --quick   # 3000 rows
"""

import sys
import time
import warnings

import numpy as np
from _common import (
    limit_threads,
    load_data,
    make_parser,
    print_data,
    print_table,
    report_machine,
    write_results,
)
from bench_generative import draw_samples
from sklearn.exceptions import ConvergenceWarning

from skdbn.datasets import FASHION_MNIST_CLASSES

QUICK = {"n_test": 1000, "pretrain_epochs": 1, "up_down_epochs": 3, "dreams": 10}
FULL = {"pretrain_epochs": 30, "up_down_epochs": 300, "dreams": 100}
GIBBS_SCHEDULE = (3, 6, 10)  # the paper's, one per third of up-down
DREAM_GIBBS_STEPS = 1000
GOAL_GREEDY_ERROR = 0.025  # on handwritten digits (not measurable here)
GOAL_DREAMS = 0.90


def dream_recognition(model, judge, n_per_class, seed):
    """Fraction of ``n_per_class`` dreams per class the judge gives their
    class, over all classes and per class, and the dreams."""
    wanted = np.repeat(model.classes_, n_per_class)
    images, _ = model.sample(
        len(wanted), y=wanted, n_gibbs_steps=DREAM_GIBBS_STEPS, random_state=seed
    )
    hits = (judge.predict(images) == wanted).reshape(len(model.classes_), -1)
    return float(hits.mean()), hits.mean(axis=1).tolist(), images


def run_recipe(args, data, report):
    """Greedy stage, then the three thirds of up-down; ``report`` each row."""
    from sklearn.linear_model import LogisticRegression

    from skdbn import GenerativeDBNClassifier
    from skdbn._generative import _gibbs_schedule

    X, y, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
    start = time.perf_counter()
    judge = LogisticRegression(max_iter=200).fit(X, y)
    report(
        "judge",
        {
            "label": "LogisticRegression judge (real images)",
            "test": judge.score(X_test, y_test),
            "train": judge.score(X, y),
            "seconds": time.perf_counter() - start,
        },
    )
    model = GenerativeDBNClassifier(
        tuple(args.hidden),
        pretrain_epochs=args.pretrain_epochs,
        batch_size=args.batch_size,
        up_down_epochs=0,
        warm_start=True,
        random_state=0,
    )
    # The thirds as up_down_gibbs_steps=(3, 6, 10) splits the epochs.
    schedule = _gibbs_schedule(GIBBS_SCHEDULE, args.up_down_epochs)
    thirds = [schedule.count(steps) for steps in GIBBS_SCHEDULE]
    stages = [("greedy", 0, None)] + [
        (f"up-down, CD-{steps}", epochs, steps)
        for epochs, steps in zip(thirds, GIBBS_SCHEDULE)
        if epochs
    ]
    done = 0
    for name, epochs, gibbs_steps in stages:
        if gibbs_steps is not None:
            model.set_params(up_down_epochs=epochs, up_down_gibbs_steps=gibbs_steps)
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
        done += epochs
        recognised, per_class, images = dream_recognition(
            model, judge, args.dreams, seed=0
        )
        label = f"greedy ({args.pretrain_epochs} sweeps per RBM)"
        if epochs:
            label = f"+ {epochs} up-down epochs, CD-{gibbs_steps} ({done} in all)"
        report(
            name,
            {
                "label": label,
                "test": model.score(X_test, y_test),
                "train": model.score(X, y),
                "dreams": recognised,
                "dreams_per_class": per_class,
                "seconds": seconds,
                "up_down_epochs": done,
            },
        )
    return model, images


def main(argv=None):
    parser = make_parser(
        __doc__, "--n-test", "--batch-size", "--threads", quick=QUICK, full=FULL
    )
    parser.add_argument("--hidden", type=int, nargs="+", default=[500, 500, 2000])
    parser.add_argument("--pretrain-epochs", type=int, help="per RBM (default 30)")
    parser.add_argument("--up-down-epochs", type=int, help="in all (default 300)")
    parser.add_argument("--dreams", type=int, help="per class (default 100)")
    parser.add_argument("--figure", metavar="PNG", help="draw 10 dreams per class")
    args = parser.parse_args(argv)
    data = load_data(args.data_dir, args.n_samples, args.n_test)
    machine = report_machine([], args.threads)
    print_data(
        data,
        args,
        f"network {tuple(args.hidden)}",
        f"{args.pretrain_epochs} CD-1 epochs per RBM",
        f"{args.up_down_epochs} up-down epochs, CD-{GIBBS_SCHEDULE} by thirds",
        f"{args.dreams} dreams per class",
    )
    results = {}
    header = ["stage", "test acc", "train acc", "dreams recognised", "fit s"]

    def cells(row):
        dreams = f"{row['dreams']:.3f}" if "dreams" in row else "-"
        test, train, seconds = row["test"], row["train"], row["seconds"]
        return [row["label"], f"{test:.4f}", f"{train:.4f}", dreams, f"{seconds:.1f}"]

    def report(key, row):
        results[key] = row
        print("  ".join(cells(row)), flush=True)
        write_results(args, "generative_paper", **machine, results=results)

    with limit_threads(args.threads):
        model, images = run_recipe(args, data, report)
    print_table(
        header,
        [cells(row) for row in results.values()],
        title=f"Generative DBN {tuple(args.hidden)}, the paper's recipe",
    )
    final = results[list(results)[-1]]
    verdict = "PASS" if final["dreams"] >= GOAL_DREAMS else "FAIL"
    print(
        f"{verdict}  dreams recognised as their class {final['dreams']:.3f} "
        f"(goal >= {GOAL_DREAMS}; set for handwritten digits)"
    )
    print(
        f"SKIP  greedy test error <= {GOAL_GREEDY_ERROR} and up-down <= 0.015 are "
        "goals on handwritten digits, which this benchmark does not load"
    )
    if args.figure:
        names = [str(c) for c in model.classes_]
        if data.name == "Fashion-MNIST":
            names = [FASHION_MNIST_CLASSES[int(c)] for c in model.classes_]
        per_class = np.arange(len(images)).reshape(len(names), -1)[:, :10].ravel()
        draw_samples(
            args.figure,
            images[per_class],
            names,
            title="The paper's recipe: 10 dreams per class (1000 Gibbs steps, "
            "label clamped)",
        )
        print(f"10 dreams per class written to {args.figure}")
    return results


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sys.exit(0 if main() else 1)
