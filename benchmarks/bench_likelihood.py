"""Log-likelihoods of RBMs trained by CD-1, CD-10 and PCD, by AIS.

Fashion-MNIST binarised at 0.5 (Salakhutdinov & Murray's treatment of
MNIST): RBMs of ``--hidden`` units trained for ``--epochs`` epochs with CD-1,
CD-10 and persistent CD, then ``log Z`` of each estimated by annealed
importance sampling (``--chains`` chains, ``--temperatures`` inverse
temperatures, the paper's schedule). The table gives the average
log-likelihood per image, in nats, on the training and test images with the
AIS interval, next to the pseudo-log-likelihood and the reconstruction error
(the proxies), and the seconds of training and of the AIS run. For
orientation, the paper reports about -86.3 nats on binarised MNIST for a
500-unit RBM trained with CD-25. Results: benchmarks/README.md.
"""

import sys
import time
import warnings

import numpy as np
from _common import (
    count,
    limit_threads,
    load_data,
    make_parser,
    print_data,
    print_table,
    report_machine,
    write_results,
)

QUICK = {
    "n_samples": 2000,
    "n_test": 500,
    "hidden": 50,
    "epochs": 1,
    "chains": 20,
    "temperatures": 500,
}
FULL = {
    "n_test": 10000,
    "hidden": 500,
    "epochs": 10,
    "chains": 100,
    "temperatures": 14500,
}
TRAINING = {
    "CD-1": {},
    "CD-10": {"n_gibbs_steps": 10},
    "PCD": {"persistent": True, "learning_rate": 0.01},
}


def parse_args(argv=None):
    parser = make_parser(
        __doc__, "--n-test", "--threads", items=TRAINING, quick=QUICK, full=FULL
    )
    parser.add_argument("--hidden", type=count, metavar="H", help="hidden units")
    parser.add_argument("--epochs", type=count, metavar="E", help="training epochs")
    parser.add_argument("--chains", type=count, metavar="M", help="AIS chains")
    parser.add_argument(
        "--temperatures", type=count, metavar="K", help="AIS inverse temperatures"
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with limit_threads(args.threads):
        return run(args)


def run(args):
    """The benchmark, under the thread limit of ``args``."""
    from skdbn import RBM
    from skdbn.likelihood import ais_log_partition, log_likelihood

    machine = report_machine([], args.threads)
    data = load_data(args.data_dir, args.n_samples, args.n_test)
    print_data(
        data,
        args,
        "binarised at 0.5",
        f"RBM({args.hidden}), {args.epochs} epochs, AIS {args.chains} chains x "
        f"{args.temperatures} temperatures",
    )
    X = (data.X_train > 0.5).astype(np.float32)
    X_test = (data.X_test > 0.5).astype(np.float32)
    results, rows = {}, []
    for name, settings in TRAINING.items():
        if name in args.skip:
            continue
        print(f"  {name} ...", file=sys.stderr, flush=True)
        rbm = RBM(args.hidden, n_iter=args.epochs, random_state=0, **settings)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rbm.fit(X)
        train_seconds = time.perf_counter() - start
        log_z = ais_log_partition(
            rbm,
            X,
            n_chains=args.chains,
            n_temperatures=args.temperatures,
            random_state=0,
        )
        low, high = log_z.interval
        reconstruction = rbm.inverse_transform(rbm.transform(X_test))
        result = {
            "train_ll": float(log_likelihood(rbm, X, log_z).mean()),
            "test_ll": float(log_likelihood(rbm, X_test, log_z).mean()),
            "log_z": log_z.log_z,
            "log_z_interval": [low, high],
            "log_z_std_error": log_z.std_error,
            "test_pll": float(rbm.score_samples(X_test).mean()),
            "test_reconstruction": float(
                ((X_test - reconstruction) ** 2).sum(axis=1).mean()
            ),
            "train_seconds": train_seconds,
            "ais_seconds": log_z.seconds,
        }
        results[name] = result
        # The interval on log Z moves every row's log-likelihood the other way.
        below, above = log_z.log_z - high, log_z.log_z - low
        rows.append(
            [
                name,
                f"{result['train_ll']:.2f}",
                f"{result['test_ll']:.2f}",
                f"[{result['test_ll'] + below:.2f}, {result['test_ll'] + above:.2f}]",
                f"{result['test_pll']:.2f}",
                f"{result['test_reconstruction']:.2f}",
                f"{train_seconds:.1f}",
                f"{log_z.seconds:.1f}",
            ]
        )
    print_table(
        [
            "training",
            "train log p",
            "test log p",
            "test interval",
            "test PLL",
            "test recon.",
            "train s",
            "AIS s",
        ],
        rows,
        title="Average per image, nats (log p by AIS; interval: log Z +- 3 "
        "standard errors of the mean weight)",
    )
    write_results(args, "likelihood", **machine, results=results)
    return results


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
