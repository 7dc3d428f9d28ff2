"""Prediction by onnxruntime against skdbn's own ``predict``.

The Fashion-MNIST recipe's network, ``DBNClassifier((500, 500, 2000))``
(784-500-500-2000-10), exported with ``skl2onnx.to_onnx`` and run by
``onnxruntime`` on the CPU: the latency of one row (median over ``--calls``
single-row calls) and the time of ``--n-rows`` rows at once, next to
``DBNClassifier.predict_proba`` on the same rows, interleaved over
``--repeats`` rounds. Speed does not depend on the weights' values, so the
network is fitted briefly (no pretraining, one epoch). The outputs are
checked equal (to 1e-5) before timing. Needs ``pip install "skdbn[onnx]"``.
Results: benchmarks/README.md.
"""

import sys
import time
import warnings

import numpy as np
from _common import (
    count,
    interleave,
    limit_threads,
    load_data,
    make_parser,
    median,
    print_data,
    print_table,
    report_machine,
    summarize,
    write_results,
)

QUICK = {"n_samples": 1000, "n_rows": 1000, "calls": 50, "hidden": (64, 64, 128)}
FULL = {"n_samples": 2000, "n_rows": 10000, "calls": 500, "hidden": (500, 500, 2000)}


def parse_args(argv=None):
    parser = make_parser(__doc__, "--repeats", "--threads", quick=QUICK, full=FULL)
    parser.add_argument("--n-rows", type=count, metavar="N", help="rows of the batch")
    parser.add_argument(
        "--calls", type=count, metavar="C", help="single-row calls per round"
    )
    parser.add_argument(
        "--hidden", type=count, nargs="+", metavar="H", help="hidden layer sizes"
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with limit_threads(args.threads):
        return run(args)


def run(args):
    """The benchmark, under the thread limit of ``args``."""
    try:
        import onnxruntime
        from skl2onnx import to_onnx
    except ImportError:
        raise SystemExit(
            'error: needs skl2onnx and onnxruntime: pip install "skdbn[onnx]"'
        ) from None
    from skdbn import DBNClassifier

    machine = report_machine([], args.threads)
    data = load_data(args.data_dir, args.n_samples, 0, digits_if_missing=args.quick)
    print_data(
        data,
        args,
        f"network {data.X_train.shape[1]}-" + "-".join(map(str, args.hidden)) + "-10",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DBNClassifier(
            tuple(args.hidden), pretrain_epochs=0, max_iter=1, random_state=0
        ).fit(data.X_train, data.y_train)
    onx = to_onnx(model, data.X_train[:1], options={"zipmap": False})
    options = onnxruntime.SessionOptions()
    if args.threads:
        options.intra_op_num_threads = args.threads
    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    name = session.get_inputs()[0].name
    rng = np.random.default_rng(0)
    rows = data.X_train[rng.integers(0, len(data.X_train), args.n_rows)]
    _, proba = session.run(None, {name: rows})
    gap = float(np.abs(proba - model.predict_proba(rows)).max())
    if not gap < 1e-5:
        raise SystemExit(f"error: onnxruntime differs from skdbn by {gap:.3g}")

    single = {
        "skdbn": lambda row: model.predict_proba(row),
        "onnxruntime": lambda row: session.run(None, {name: row}),
    }

    def run(item):
        what, engine = item.split(": ")
        call = single[engine]
        if what == "1 row":
            times = []
            for i in range(args.calls):
                row = rows[i % len(rows)][None, :]
                start = time.perf_counter()
                call(row)
                times.append(time.perf_counter() - start)
            return {"wall": median(times), "cpu": None}
        start = time.perf_counter()
        call(rows)
        return {"wall": time.perf_counter() - start, "cpu": None}

    items = [
        f"{what}: {engine}"
        for what in ("1 row", f"{args.n_rows} rows")
        for engine in single
    ]
    summary = summarize(interleave(items, args.repeats, run))
    table = []
    for what in ("1 row", f"{args.n_rows} rows"):
        own = summary[f"{what}: skdbn"]["wall"]
        ort = summary[f"{what}: onnxruntime"]["wall"]
        table.append([what, f"{own * 1e3:.3f}", f"{ort * 1e3:.3f}", f"{own / ort:.2f}"])
    print_table(
        ["prediction", "skdbn ms", "onnxruntime ms", "skdbn / onnxruntime"],
        table,
        title=f"predict_proba, medians of {args.repeats} rounds "
        f"(1 row: median of {args.calls} calls); outputs equal to {gap:.1e}",
    )
    write_results(
        args, "onnx", **machine, results={k: v["wall"] for k, v in summary.items()}
    )
    return summary


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
