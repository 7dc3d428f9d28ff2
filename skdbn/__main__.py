"""``python -m skdbn``: a DBN classifier on scikit-learn's digits, beside baselines.

Trains on a stratified 75% of the bundled 8x8 digits (scaled to [0, 1]) and
prints test accuracy and fit time for a DBNClassifier next to
LogisticRegression, a BernoulliRBM + LogisticRegression pipeline and
MLPClassifier, all fitted in the same run.
"""

import argparse
import sys
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM, MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from . import DBNClassifier, __version__

# The recipe for digits-sized images (doc/user_guide.rst, "Recipes").
DEMO_DBN_PARAMS = dict(hidden_layer_sizes=(256, 256), dropout=0.2)


def _models(random_state):
    scale = MinMaxScaler(clip=True)
    return {
        "LogisticRegression": make_pipeline(scale, LogisticRegression(max_iter=2000)),
        "BernoulliRBM + LogisticRegression": make_pipeline(
            scale,
            BernoulliRBM(
                n_components=256,
                learning_rate=0.06,
                n_iter=20,
                random_state=random_state,
            ),
            LogisticRegression(max_iter=2000),
        ),
        "MLPClassifier": make_pipeline(
            scale, MLPClassifier(max_iter=1000, random_state=random_state)
        ),
        "DBNClassifier (skdbn)": make_pipeline(
            scale, DBNClassifier(**DEMO_DBN_PARAMS, random_state=random_state)
        ),
    }


def run(random_state=0, out=sys.stdout):
    """Fit every model and print the table; return ``{name: (accuracy, seconds)}``."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=random_state
    )
    print(
        f"skdbn {__version__}: scikit-learn digits, {len(X_train)} training and "
        f"{len(X_test)} test images (stratified 25% holdout), "
        f"random_state={random_state}\n",
        file=out,
    )
    results = {}
    width = 36
    print(f"{'model':<{width}} {'accuracy':>9} {'fit time':>9}", file=out)
    print("-" * (width + 20), file=out)
    for name, model in _models(random_state).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
        accuracy = model.score(X_test, y_test)
        results[name] = (accuracy, seconds)
        print(f"{name:<{width}} {accuracy:>9.4f} {seconds:>8.2f}s", file=out)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skdbn",
        description="Train a DBNClassifier on scikit-learn's digits beside baselines.",
    )
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    run(args.random_state)


if __name__ == "__main__":
    main()
