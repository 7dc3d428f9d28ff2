"""skdbn on torch tensors (array API dispatch) next to skdbn on NumPy arrays.

What is measured
----------------
Each measurement runs on the NumPy path of skdbn and on torch tensors on one
device (``--device``) under ``sklearn.config_context(array_api_dispatch=True)``,
in the same run, on the Fashion-MNIST training images (784 features, float32
in [0, 1]); the data are put on the device once, before any timing:

``rbm``
    One CD-1 epoch: ``RBM(n_components=500, batch_size=100, n_iter=1,
    random_state=0).fit(X)``, input validation and initialisation included
    (``bench_rbm.py``'s ``skdbn-f32``).
``finetune``
    One fine-tuning epoch of the 784-500-500-2000-10 ``DBNClassifier`` with
    ``solver="sgd"``, ``momentum=0.9``, batch 100, timed as
    ``bench_finetune.py`` does: the model is built, untimed, by ``fit``
    with ``pretrain_epochs=0``, ``head_max_iter=0``, ``max_iter=0`` and
    ``warm_start=True``; the timed call is ``fit(X, y)`` with ``max_iter=1``
    (validation and one epoch).
``recipe`` (only with ``--recipe``: minutes on a CPU)
    The whole Fashion-MNIST recipe of ``bench_fashion_mnist.py`` (its
    default options: (500, 500, 2000), 10 CD-1 epochs per layer, the L-BFGS
    head, 40 epochs of Adam with a cosine schedule, dropout 0.2): the fit
    time and the accuracy on the test images.
``reference``
    A hand-written PyTorch CD-1 epoch on the device, the yardstick of the
    skdbn device epoch: the same model and update as ``RBM`` (W of shape
    (500, 784), visible and hidden biases, learning rate 0.1, momentum 0.5
    as in skdbn's first epochs, weight decay 2e-4 on W only; hidden means,
    sampled hidden states, mean-field reconstruction, both gradient
    statistics from hidden means, velocity ``momentum * velocity + lr *
    (gradient - decay * W)``), the whole training set on the device, one
    shuffled index per epoch, a seeded ``torch.Generator``, initialisation
    included as in ``fit``.

The table gives, per measurement, the NumPy seconds, the device seconds,
NumPy / device (above 1: the device is faster), the device seconds over the
hand-written epoch's (CD-1 only) and the test accuracy (recipe only). A
skdbn call on torch that raises, or whose fitted weights are not torch
tensors on the device (a silent NumPy fallback), is reported in its row as
an error, with the message below the table; the other rows still run.

How
---
The shared method (benchmarks/README.md), with one difference: everything
runs in this process, as the device's context and the data on it are set
up once. Each item makes an untimed warm-up call on ~1000 rows (first-call
costs, CUDA kernels and allocator) before its first timing. On CUDA the
device is synchronised before each timer starts and before it stops.
``SCIPY_ARRAY_API=1`` is set before scipy is imported (scikit-learn's array
API dispatch needs it), so the NumPy rows run with it set too. On a CPU
device torch gets as many threads as NumPy's BLAS (``--threads`` sets
both); when the cores are busy, torch's threads suffer even more than
BLAS's.

Examples
--------
Smoke run (2000 rows, small networks; scikit-learn's digits if
Fashion-MNIST is not installed)::

    python benchmarks/bench_array_api.py --quick

The epochs on a GPU, then the whole recipe too::

    python benchmarks/bench_array_api.py --device cuda
    python benchmarks/bench_array_api.py --device cuda --recipe --json fmnist-gpu.json
"""

import os

# scikit-learn's array API dispatch refuses to run unless scipy's own support
# was switched on before scipy was first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import argparse
import sys
import warnings
from collections import namedtuple
from contextlib import contextmanager, nullcontext

import bench_fashion_mnist as fashion
import bench_finetune as finetune
import numpy as np
from _common import (
    blas_threads,
    count,
    cpu_model,
    field,
    fmt,
    interleave,
    limit_threads,
    load_data,
    make_parser,
    measure,
    paired_ratio,
    print_data,
    print_table,
    report_machine,
    summarize,
    warmup_indices,
    warmup_rows,
    write_results,
)

try:
    import torch
except ImportError:  # checked in parse_args, with a message
    torch = None

SEED = 0
CD_LEARNING_RATE = 0.1  # RBM's learning_rate="auto" between Bernoulli units
CD_MOMENTUM = 0.5  # RBM's initial_momentum, used in its first five epochs
CD_WEIGHT_DECAY = 2e-4  # RBM's weight_decay

ITEMS = ("rbm", "finetune", "reference")
QUICK = {
    "n_samples": 2000,
    "n_test": 1000,
    "n_components": 100,
    "hidden": [100, 100, 200],
}
FULL = {"n_components": 500, "hidden": [500, 500, 2000]}


# -- backends -------------------------------------------------------------------------


class NotOnDeviceError(RuntimeError):
    """skdbn returned something other than torch tensors on the device."""


class Backend:
    """Where skdbn computes; the data are converted for it once."""

    def __init__(self):
        self._copies = {}

    def put(self, data, part):
        """``data``'s array ``part`` ("X_train", ...) on this backend."""
        if part not in self._copies:
            self._copies[part] = self.asarray(getattr(data, part))
        return self._copies[part]

    def warmup(self, data):
        """The warm-up rows (the first ones plus one per class) on this backend."""
        rows = warmup_indices(data.y_train)
        return self.asarray(data.X_train[rows]), self.asarray(data.y_train[rows])


class NumpyInputs(Backend):
    """skdbn's NumPy path: arrays as they are, no dispatch."""

    name = "NumPy"

    def asarray(self, array):
        return array

    def context(self):
        return nullcontext()

    def sync(self):
        pass

    def check(self, value, what):
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{what} is a {type(value).__name__}, not a numpy array")


class TorchInputs(Backend):
    """Torch tensors on one device, under scikit-learn's array API dispatch."""

    def __init__(self, device):
        super().__init__()
        self.device = torch.device(device)
        self.name = f"torch-{self.device}"

    def asarray(self, array):
        return torch.asarray(array, device=self.device)

    def context(self):
        import sklearn

        return sklearn.config_context(array_api_dispatch=True)

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def check(self, value, what):
        """Refuse a result computed elsewhere: its time would mislead."""
        if not isinstance(value, torch.Tensor):
            raise NotOnDeviceError(
                f"{what} is a {type(value).__module__}.{type(value).__name__}, "
                "not a torch tensor: skdbn did not compute with torch"
            )
        if value.device.type != self.device.type:
            raise NotOnDeviceError(f"{what} is on {value.device}, not {self.device}")


def to_numpy(array):
    if torch is not None and isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy()
    return np.asarray(array)


# -- the hand-written reference -------------------------------------------------------


def hand_written_cd1_epoch(X, n_components, batch_size, seed=SEED):
    """One epoch of CD-1 in plain PyTorch, from a fresh start, on ``X``'s device.

    The same model and update as ``skdbn.RBM`` in its first epoch (see
    ``skdbn._rbm_numerics.cd_step``). Returns the mean squared reconstruction
    error per row.
    """
    lr, momentum, decay = CD_LEARNING_RATE, CD_MOMENTUM, CD_WEIGHT_DECAY
    n_samples, n_visible = X.shape
    device, dtype = X.device, X.dtype
    generator = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        W = torch.randn(
            n_components, n_visible, generator=generator, device=device, dtype=dtype
        ).mul_(0.01)
        b_h = torch.zeros(n_components, device=device, dtype=dtype)
        p = X.mean(dim=0).clamp_(1e-3, 1 - 1e-3)
        b_v = torch.log(p / (1 - p))  # Hinton's guide: log odds of the data
        dW, db_h, db_v = (torch.zeros_like(t) for t in (W, b_h, b_v))
        squared_error = torch.zeros((), device=device, dtype=dtype)

        order = torch.randperm(n_samples, generator=generator, device=device)
        for rows in order.split(batch_size):
            n = rows.shape[0]
            v_pos = X.index_select(0, rows)
            h_pos = torch.addmm(b_h, v_pos, W.t()).sigmoid_()
            h_sample = torch.bernoulli(h_pos, generator=generator)
            v_neg = torch.addmm(b_v, h_sample, W).sigmoid_()  # mean field
            h_neg = torch.addmm(b_h, v_neg, W.t()).sigmoid_()

            residual = (v_pos - v_neg).view(-1)
            squared_error += torch.dot(residual, residual)

            step = lr / n
            dW.mul_(momentum).addmm_(h_pos.t(), v_pos, alpha=step)
            dW.addmm_(h_neg.t(), v_neg, alpha=-step).add_(W, alpha=-lr * decay)
            db_h.mul_(momentum).add_(h_pos.sum(0) - h_neg.sum(0), alpha=step)
            db_v.mul_(momentum).add_(residual.view(n, n_visible).sum(0), alpha=step)
            W += dW
            b_h += db_h
            b_v += db_v
    error = float(squared_error) / n_samples  # waits for the device
    if not np.isfinite(error):
        raise FloatingPointError("the hand-written CD-1 epoch diverged")
    return error


# -- the items ------------------------------------------------------------------------


#: ``run()`` is timed; ``score()``, when given, is not: it returns more fields
Work = namedtuple("Work", "run score", defaults=(None,))


class Timer:
    """``interleave``'s measurement of one item on one backend.

    Prepares the item (and warms it up) on its first call only, so that
    every round times the same work on the same device data.
    """

    def __init__(self, prepare, backend):
        self.prepare = prepare
        self.backend = backend
        self.work = None

    def __call__(self):
        if self.work is None:
            self.work = self.prepare()
        self.backend.sync()
        result = measure(self.run_and_wait)
        if self.work.score is not None:
            result.update(self.work.score())
        return result

    def run_and_wait(self):
        self.work.run()
        self.backend.sync()  # on CUDA, the time of the queued kernels too


@contextmanager
def quietly(warm_up=False):
    """Silence the ConvergenceWarning of capped epochs (every warning in warm-ups)."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Warning if warm_up else ConvergenceWarning)
        yield


def prepare_rbm(backend, data, args):
    from skdbn import RBM

    def run(X):
        with backend.context():
            rbm = RBM(
                n_components=args.n_components,
                batch_size=args.batch_size,
                n_iter=1,
                random_state=SEED,
            ).fit(X)
        backend.check(rbm.components_, "RBM.components_")

    run(backend.asarray(warmup_rows(data.X_train)))
    X = backend.put(data, "X_train")
    return Work(lambda: run(X))


def prepare_finetune(backend, data, args):
    """bench_finetune.py's DBNClassifier, built but not trained, for one epoch."""
    X, y = backend.put(data, "X_train"), backend.put(data, "y_train")
    with backend.context(), quietly():
        clf = finetune.built_dbn(X, y, args.batch_size, args.hidden)
    backend.check(clf.coefs_[0], "DBNClassifier.coefs_[0]")
    clf.set_params(max_iter=1)

    def run(X, y, warm_up=False):
        with backend.context(), quietly(warm_up):
            clf.fit(X, y)  # warm start: validation and one epoch
        backend.check(clf.coefs_[0], "DBNClassifier.coefs_[0]")

    run(*backend.warmup(data), warm_up=True)
    return Work(lambda: run(X, y))


def prepare_recipe(backend, data, args):
    X, y = backend.put(data, "X_train"), backend.put(data, "y_train")
    X_test = backend.put(data, "X_test")
    model = fashion.make_model("dbn", vars(args.recipe_options))
    with backend.context(), quietly(warm_up=True):
        fashion.one_epoch_copy("dbn", model).fit(*backend.warmup(data))

    def run():
        with backend.context(), quietly():
            model.fit(X, y)
        backend.check(model.coefs_[0], "DBNClassifier.coefs_[0]")

    def score():
        with backend.context():
            predicted = to_numpy(model.predict(X_test))
        return {"test_accuracy": float(np.mean(predicted == data.y_test))}

    return Work(run, score)


def prepare_reference(device, data, args):
    def run(X):
        hand_written_cd1_epoch(X, args.n_components, args.batch_size)

    run(device.asarray(warmup_rows(data.X_train)))
    X = device.put(data, "X_train")
    return Work(lambda: run(X))


def timers_for(item, backends, data, args):
    """The timers of one table row, keyed "numpy", "device" (and "reference").

    The ``rbm`` row holds the hand-written epoch too, so that the two are
    timed back to back.
    """
    prepare = {
        "rbm": prepare_rbm,
        "finetune": prepare_finetune,
        "recipe": prepare_recipe,
    }[item]
    timers = {}
    if item not in args.skip:
        for key, backend in backends.items():
            timers[key] = Timer(
                lambda backend=backend: prepare(backend, data, args), backend
            )
    if item == "rbm" and "reference" not in args.skip:
        device = backends["device"]
        timers["reference"] = Timer(
            lambda: prepare_reference(device, data, args), device
        )
    return timers


# -- the report -----------------------------------------------------------------------


def print_report(results, args, data):
    device = results["device_name"]
    n_train, n_features = data.X_train.shape
    sizes = "-".join(map(str, [n_features, *args.hidden, len(np.unique(data.y_train))]))
    labels = {
        "rbm": f"RBM CD-1 epoch, {n_features}->{args.n_components}",
        "finetune": f"fine-tuning epoch, {sizes}, sgd",
        "recipe": f"recipe fit, {sizes}",
        "reference": "hand-written torch CD-1 epoch, "
        f"{n_features}->{args.n_components}",
    }
    notes = []  # the errors, numbered in the table, in full below it

    def time_cell(label, backend_name, summary):
        if summary is None:
            return "-"
        if summary.get("error"):
            message = summary["error"].strip().splitlines()[0]
            notes.append(f"[{len(notes) + 1}] {label}, {backend_name}: {message}")
            return f"{message.split(':')[0]} [{len(notes)}]"
        return fmt(summary["wall"], ".3f")

    rows = []
    for item, runs in results["rows"].items():
        summary = summarize(runs)
        if "numpy" in runs or "device" in runs:
            rows.append(
                [
                    labels[item],
                    time_cell(labels[item], "NumPy", summary.get("numpy")),
                    time_cell(
                        labels[item], f"skdbn on {device}", summary.get("device")
                    ),
                    fmt(paired_ratio(runs, "numpy", "device"), ".2f", "x"),
                    fmt(paired_ratio(runs, "device", "reference"), ".2f", "x"),
                    fmt(field(runs.get("numpy", []), "test_accuracy"), ".4f"),
                    fmt(field(runs.get("device", []), "test_accuracy"), ".4f"),
                ]
            )
        if "reference" in runs:
            reference = summary["reference"]
            label = labels["reference"]
            rows.append(
                [label, "-", time_cell(label, device, reference), "-"]
                + ["1.00x" if reference["wall"] is not None else "-", "-", "-"]
            )
    recipe = "recipe" in results["rows"]
    print_table(
        [
            "what",
            "NumPy s",
            f"{device} s",
            f"NumPy/{device}",
            "vs hand-written",
            "NumPy acc",
            f"{device} acc",
        ],
        rows,
        title=f"skdbn on NumPy and on {device}: {n_train} training rows, batch "
        f"{args.batch_size}, median of {args.repeats} round(s)"
        + (f" ({args.recipe_repeats} for the recipe)" if recipe else ""),
    )
    print(
        f"NumPy/{device} = NumPy seconds / {device} seconds (above 1: the device "
        "is faster); vs hand-written = skdbn's\n"
        f"{device} seconds / the hand-written torch epoch's; ratios are medians "
        "of per-round ratios. acc = test accuracy"
        + (f" on {data.X_test.shape[0]} test images." if recipe else ".")
    )
    for note in notes:
        print(note)
    rbm = results["rows"].get("rbm")
    if rbm and "reference" in rbm:
        print_reference_comparison(rbm, device)


def print_reference_comparison(runs, device):
    summary = summarize(runs)
    reference = summary["reference"]["wall"]
    if reference is None:
        print(f"\nhand-written torch CD-1 epoch on {device}: failed")
        return
    print(f"\nhand-written torch CD-1 epoch on {device}: {reference:.3f} s")
    for key, name in (("numpy", "NumPy"), ("device", device)):
        if key not in runs:
            continue  # --skip rbm
        own = summary[key]["wall"]
        if own is None:
            print(f"  skdbn on {name}: no time (error above)")
            continue
        ratio = paired_ratio(runs, key, "reference")
        print(
            f"  skdbn on {name}: {own:.3f} s, {fmt(ratio, '.2f')}x the hand-written "
            "epoch's time"
        )


# -- command line ---------------------------------------------------------------------


def parse_args(argv):
    parser = make_parser(
        __doc__,
        "--n-test",
        "--repeats",
        "--batch-size",
        "--threads",
        items=ITEMS,
        quick=QUICK,
        full=FULL,
        quick_note=", the recipe's --quick epochs; scikit-learn's digits when "
        "Fashion-MNIST is missing",
    )
    # --n-samples was --n-train here before the scripts shared one parser.
    parser.add_argument(
        "--n-train", dest="n_samples", type=count, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--device",
        metavar="DEVICE",
        help="torch device: cpu, cuda or cuda:N (default: cuda if available, else cpu)",
    )
    parser.add_argument(
        "--n-components",
        metavar="H",
        type=count,
        help=f"hidden units of the RBM (default {FULL['n_components']})",
    )
    parser.add_argument(
        "--hidden",
        metavar="H",
        type=count,
        nargs="+",
        help="hidden layers of the DBN (default: 500 500 2000)",
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="print the traceback of each failing measurement",
    )
    recipe_group = parser.add_argument_group("the Fashion-MNIST recipe")
    recipe_group.add_argument(
        "--recipe",
        action="store_true",
        help="also fit bench_fashion_mnist.py's whole recipe on both backends "
        "(minutes on a CPU)",
    )
    recipe_group.add_argument(
        "--recipe-repeats",
        metavar="R",
        type=count,
        default=1,
        help="rounds of the recipe (default 1: the fits are seeded)",
    )
    recipe_group.add_argument(
        "--pretrain-epochs",
        metavar="E",
        type=int,
        help="CD-1 epochs per layer (default: the recipe's 10; 1 with --quick)",
    )
    recipe_group.add_argument(
        "--max-iter",
        metavar="E",
        type=int,
        help="fine-tuning epochs (default: the recipe's 40; 2 with --quick)",
    )
    args = parser.parse_args(argv)

    if torch is None:
        raise SystemExit(
            "error: this benchmark needs PyTorch: `pip install torch` (the CPU "
            "build is enough for --device cpu)"
        )
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(args.device)
    except RuntimeError as exc:
        raise SystemExit(f"error: --device {args.device}: {exc}") from None
    if device.type not in ("cpu", "cuda"):
        raise SystemExit(f"error: --device takes cpu or cuda[:N], not {args.device}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(
            f"error: --device {args.device}, but CUDA is not available to torch "
            f"{torch.__version__}"
        )
    return args


def recipe_options(args):
    """``bench_fashion_mnist.py``'s options for its DBN, as it parses ours."""
    argv = ["--hidden", *map(str, args.hidden), "--batch-size", str(args.batch_size)]
    if args.quick:
        argv.append("--quick")
    if args.pretrain_epochs is not None:
        argv += ["--pretrain-epochs", str(args.pretrain_epochs)]
    if args.max_iter is not None:
        argv += ["--max-iter", str(args.max_iter)]
    return fashion.parse_args(argv)


def describe_device(device):
    """Print the torch device and return its name (the CPU's model on a CPU)."""
    if device.type == "cuda":
        index = (
            device.index if device.index is not None else torch.cuda.current_device()
        )
        name = f"{torch.cuda.get_device_name(index)} (CUDA {torch.version.cuda})"
    else:
        name = cpu_model() or "CPU"
    print(f"device: {device}, {name}")
    return name


def main(argv=None):
    args = parse_args(argv)
    device = TorchInputs(args.device)
    backends = {"numpy": NumpyInputs(), "device": device}
    if device.device.type == "cpu":
        torch.set_num_threads(args.threads or blas_threads())
    data = load_data(
        args.data_dir, args.n_samples, args.n_test, digits_if_missing=args.quick
    )
    machine = report_machine(
        [(args.batch_size, data.X_train.shape[1], args.n_components)], args.threads
    )
    machine["environment"]["device"] = describe_device(device.device)
    print_data(data, args, "float32", "one process")
    rows = ["rbm", "finetune"]
    args.recipe_options = recipe_options(args) if args.recipe else None
    if args.recipe:
        rows.append("recipe")
        print(f"recipe: {fashion.recipe(args.recipe_options)}", flush=True)

    results = {"device_name": device.name, "rows": {}}
    with limit_threads(args.threads):
        for item in rows:
            timers = timers_for(item, backends, data, args)
            if not timers:
                continue
            repeats = args.recipe_repeats if item == "recipe" else args.repeats
            print(f"\n{item}: measuring ...", file=sys.stderr)
            results["rows"][item] = interleave(
                list(timers),
                repeats,
                lambda key, timers=timers: timers[key](),
                show_traceback=args.traceback,
            )
            del timers  # the models and their buffers
            if device.device.type == "cuda":
                torch.cuda.empty_cache()
    if not results["rows"]:
        raise SystemExit("error: nothing to measure")

    print_report(results, args, data)
    write_results(args, "array_api", **machine, data=data.name, results=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
