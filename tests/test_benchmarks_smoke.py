"""Smoke tests of the benchmark scripts: they run and print their tables.

Each script runs as a subprocess, the way a user runs it, on a tiny subset
of Fashion-MNIST with one BLAS thread. The numbers are not checked (a few
hundred rows and one epoch say nothing about speed or accuracy), only that
the script exits cleanly and prints the rows and goal lines it promises.
Skipped when the Fashion-MNIST files are absent. Each script starts its own
Python and loads Fashion-MNIST (about 80 s for the tiny runs on 2 cores), so
all of them belong to the full tier (marker ``slow``,
``SKDBN_FULL_TESTS=1``).
"""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
TIMEOUT = 300

pytestmark = pytest.mark.slow

AUTOENCODER_ROWS = [
    "PCA(30)",
    "autoencoder, pretrained only",
    "autoencoder, pretrained + fine-tuned",
    "autoencoder, random init + fine-tuned",
]
FASHION_ROWS = [
    "DBNClassifier (500, 500, 2000)",
    "LogisticRegression",
    "BernoulliRBM(500) + LogisticRegression",
    "MLPClassifier (500, 500, 2000)",
    "SVC (C=10, rbf)",  # the published block
]
TINY_FASHION_ROWS = [
    "DBNClassifier (32, 64)",
    "LogisticRegression",
    "BernoulliRBM(500) + LogisticRegression",
    "MLPClassifier (32, 64)",
    "SVC (C=10, rbf)",
]


@pytest.fixture(scope="module", autouse=True)
def fashion_mnist():
    if not BENCHMARKS.is_dir():  # an sdist ships the tests, not the benchmarks
        pytest.skip("benchmarks/ is not in this copy of skdbn")
    from skdbn.datasets import load_fashion_mnist

    try:
        load_fashion_mnist(kind="test", return_X_y=True)
    except FileNotFoundError as exc:
        pytest.skip(f"Fashion-MNIST is not installed: {exc}")


def run_script(name, *args, json_path=None):
    """Run ``benchmarks/<name>`` with one BLAS thread; return its stdout."""
    cmd = [sys.executable, str(BENCHMARKS / name), *args]
    if json_path is not None:
        cmd += ["--json", str(json_path)]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert done.returncode == 0, (
        f"{' '.join(cmd)} exited with {done.returncode}:\n"
        f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    assert "FAILED" not in done.stderr, done.stderr[-3000:]
    return done.stdout


def table_row(stdout, label):
    """The printed table row starting with ``label``, split into cells."""
    for line in stdout.splitlines():
        if line.startswith(label + "  "):
            return line[len(label) :].split()
    raise AssertionError(f"no row {label!r} in:\n{stdout}")


def goal_lines(stdout):
    return re.findall(r"^(PASS|FAIL|SKIP)  (.*)$", stdout, flags=re.MULTILINE)


def check_verdicts(goals):
    """Each PASS/FAIL must follow from the figures printed with it.

    Lines read "... 1.79x faster ... (goal >= 1.7)", "... 0.28 (goal >=
    0.905)", "... fit 12.0 s (goal < 600 s)" or "A 68.76 < B 69.60 ...";
    figures within rounding of their goal are not judged. Returns the number
    of verdicts checked.
    """
    number = r"([0-9]+(?:\.[0-9]+)?)"
    judged = 0
    for verdict, text in goals:
        if verdict == "SKIP" or "not measured" in text:
            continue
        goal = re.search(r"\(goal (<=|>=|<|>) " + number, text)
        if goal:
            head = text[: goal.start()]
            ratio = re.findall(number + r" ?x\b", head)
            value = float(ratio[-1] if ratio else re.findall(number, head)[-1])
            op, target = goal.group(1), float(goal.group(2))
        else:
            pair = re.search(number + r" (<|>) \D*?" + number, text)
            assert pair, text
            value, op, target = (
                float(pair.group(1)),
                pair.group(2),
                float(pair.group(3)),
            )
        if abs(value - target) <= 0.01 * max(1.0, abs(target)):
            continue
        met = value < target if "<" in op else value > target
        assert verdict == ("PASS" if met else "FAIL"), text
        judged += 1
    return judged


def test_bench_autoencoder_tiny(tmp_path):
    stdout = run_script(
        "bench_autoencoder.py",
        "--quick",
        *("--n-samples", "600", "--n-test", "500"),
        *("--pretrain-epochs", "1", "--finetune-epochs", "1"),
        json_path=tmp_path / "autoencoder.json",
    )
    for label in AUTOENCODER_ROWS:
        error = float(table_row(stdout, label)[0])
        assert math.isfinite(error) and error > 0
    assert table_row(stdout, "autoencoder, pretrained + fine-tuned")[2:4] == [
        "1",
        "1",
    ]
    assert table_row(stdout, "autoencoder, random init + fine-tuned")[2:4] == [
        "0",
        "1",
    ]
    goals = goal_lines(stdout)
    assert len(goals) == 2
    assert {verdict for verdict, _ in goals} <= {"PASS", "FAIL"}
    assert check_verdicts(goals) == len(goals)

    report = json.loads((tmp_path / "autoencoder.json").read_text())
    assert report["benchmark"] == "autoencoder"
    assert report["results"]["dbn"]["finetune_epochs"] == 1
    assert report["results"]["random"]["finetune_epochs"] == 1
    assert report["results"]["dbn"]["pretrain_epochs"] == [1, 1, 1, 1]
    assert report["results"]["random"]["pretrain_epochs"] == [0, 0, 0, 0]


def test_bench_fashion_mnist_tiny(tmp_path):
    stdout = run_script(
        "bench_fashion_mnist.py",
        "--quick",
        *("--n-samples", "600", "--n-test", "500", "--hidden", "32", "64"),
        *("--pretrain-epochs", "1", "--max-iter", "1", "--mlp-max-iter", "1"),
        *("--rbm-n-iter", "1", "--logreg-max-iter", "50"),
        json_path=tmp_path / "fashion.json",
    )
    for label in TINY_FASHION_ROWS:
        accuracy = float(table_row(stdout, label)[0])
        assert 0 <= accuracy <= 1
    assert "not the full Fashion-MNIST" in stdout
    goals = goal_lines(stdout)
    assert len(goals) == 3
    assert {verdict for verdict, _ in goals} <= {"PASS", "FAIL"}
    assert check_verdicts(goals) == len(goals)

    report = json.loads((tmp_path / "fashion.json").read_text())
    assert set(report["results"]) == {"dbn", "logreg", "rbm-logreg", "mlp"}
    assert report["results"]["dbn"]["epochs"] == "1,1+1"


def test_bench_fashion_mnist_skip():
    """Skipped baselines leave their rows out and their goal unmeasured."""
    stdout = run_script(
        "bench_fashion_mnist.py",
        "--quick",
        *("--n-samples", "300", "--n-test", "200", "--hidden", "32", "64"),
        *("--pretrain-epochs", "1", "--max-iter", "1"),
        *("--skip", "logreg", "rbm-logreg", "mlp"),
    )
    assert table_row(stdout, "DBNClassifier (32, 64)")
    assert "MLPClassifier (32, 64)  " not in stdout
    verdicts = {text.split(" (")[0]: verdict for verdict, text in goal_lines(stdout)}
    assert [v for t, v in verdicts.items() if "MLPClassifier" in t] == ["SKIP"]


def test_bench_rbm_tiny():
    stdout = run_script(
        "bench_rbm.py",
        "--quick",
        *("--n-samples", "1000", "--sizes", "500"),
        "--skip",
        *("torch", "skdbn-f64", "skdbn-epoch", "skdbn-pcd", "sklearn-f64"),
    )
    seconds = {}
    for label in ("GEMM-only floor f32", "skdbn CD-1 fit f32", "BernoulliRBM fit f32"):
        seconds[label] = float(table_row(stdout, label)[0])
        assert seconds[label] > 0
    # An epoch does the floor's products and more.
    assert seconds["skdbn CD-1 fit f32"] > 0.5 * seconds["GEMM-only floor f32"]
    goals = goal_lines(stdout)
    assert goals
    check_verdicts(goals)


def test_bench_pretraining_tiny(tmp_path):
    stdout = run_script(
        "bench_pretraining.py",
        "--quick",
        *("--n-samples", "600", "--n-test", "300", "--hidden", "32", "16"),
        *("--pretrain-epochs", "2", "--max-iter", "2"),
        json_path=tmp_path / "pretraining.json",
    )
    report = json.loads((tmp_path / "pretraining.json").read_text())
    assert set(report["results"]) == {"rbm", "autoencoder", "denoising", "none"}
    for item, result in report["results"].items():
        row = table_row(stdout, item)
        assert float(row[0]) == pytest.approx(result["test_accuracy"], abs=1e-4)
        assert 0 <= result["test_accuracy"] <= 1 and result["fit_seconds"] > 0
        epochs = 0 if item == "none" else 2
        assert [len(c) for c in result["pretraining_curves"]] == [epochs, epochs]
    assert "smoke run" in stdout


@pytest.mark.parametrize(
    "name, args, rows",
    [
        pytest.param("bench_autoencoder.py", [], AUTOENCODER_ROWS, id="autoencoder"),
        pytest.param("bench_fashion_mnist.py", [], FASHION_ROWS, id="fashion_mnist"),
        pytest.param(
            "bench_rbm.py", ["--skip", "torch"], ["skdbn CD-1 fit f32"], id="rbm"
        ),
        pytest.param(
            "bench_finetune.py",
            [],
            ["skdbn fit f32", "MLPClassifier fit f32"],
            id="finetune",
        ),
    ],
)
def test_quick_runs(name, args, rows, tmp_path):
    stdout = run_script(name, "--quick", *args, json_path=tmp_path / "out.json")
    for label in rows:
        assert table_row(stdout, label)
    assert goal_lines(stdout)
    assert json.loads((tmp_path / "out.json").read_text())["goals"]


def test_bench_generative_tiny(tmp_path):
    figure = tmp_path / "dreams.png"
    stdout = run_script(
        "bench_generative.py",
        "--quick",
        *("--n-samples", "600", "--n-test", "300", "--hidden", "16", "32"),
        *("--max-iter", "1", "--figure", str(figure)),
        json_path=tmp_path / "generative.json",
    )
    report = json.loads((tmp_path / "generative.json").read_text())["results"]
    greedy = table_row(stdout, "GenerativeDBNClassifier, greedy only")
    assert float(greedy[0]) == pytest.approx(report["greedy"]["test"], abs=1e-4)
    tuned = table_row(stdout, "  + 1 up-down epochs")
    assert float(tuned[0]) == pytest.approx(report["up_down"]["test"], abs=1e-4)
    assert len(report["up_down_curve"]) == 1
    cd = report["cd_epoch_seconds"]
    assert len(cd) == 2 and all(s > 0 for s in cd)
    ratio = float(table_row(stdout, "up-down (top CD-3)")[1])
    assert ratio == pytest.approx(report["up_down_epoch_seconds"] / sum(cd), abs=0.01)
    # A PNG of 10 labelled rows of 10 images: the figure draw_samples makes
    # (0.7 inch per image plus the labels' and the title's margins, at 80 dpi).
    data = figure.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = (
        int.from_bytes(data[16:20], "big"),
        int.from_bytes(data[20:24], "big"),
    )
    assert (width, height) == (
        round((0.7 * 10 + 1.4) * 80),
        round((0.7 * 10 + 0.5) * 80),
    )


def test_bench_generative_paper_tiny(tmp_path):
    stdout = run_script(
        "bench_generative_paper.py",
        "--quick",
        *("--n-samples", "600", "--n-test", "300", "--hidden", "16", "32"),
        *("--up-down-epochs", "4", "--dreams", "5"),
        json_path=tmp_path / "paper.json",
    )
    report = json.loads((tmp_path / "paper.json").read_text())["results"]
    assert list(report) == [
        "judge",
        "greedy",
        "up-down, CD-3",
        "up-down, CD-6",
        "up-down, CD-10",
    ]
    # 4 epochs by thirds, epoch e in third e * 3 // 4: 2, 1 and 1.
    assert [report[k]["up_down_epochs"] for k in list(report)[1:]] == [0, 2, 3, 4]
    for row in report.values():
        cells = table_row(stdout, row["label"])
        assert float(cells[0]) == pytest.approx(row["test"], abs=1e-4)
        if "dreams" in row:
            assert 0 <= row["dreams"] <= 1
            # 5 dreams per class of 10 classes: a multiple of 1/50.
            assert row["dreams"] * 50 == pytest.approx(round(row["dreams"] * 50))
            assert len(row["dreams_per_class"]) == 10
            assert np.mean(row["dreams_per_class"]) == pytest.approx(row["dreams"])
    assert [verdict for verdict, _ in goal_lines(stdout)] in (
        ["PASS", "SKIP"],
        ["FAIL", "SKIP"],
    )


def test_bench_curves_tiny(tmp_path):
    stdout = run_script(
        "bench_curves.py",
        "--quick",
        *("--n-samples", "600", "--n-test", "300", "--hidden", "16"),
        *("--max-iter", "2"),
        json_path=tmp_path / "curves.json",
    )
    report = json.loads((tmp_path / "curves.json").read_text())["results"]
    assert len(report["accuracy"]) == 2
    for epoch, (train, test) in enumerate(report["accuracy"], start=1):
        row = table_row(stdout, str(epoch))
        assert float(row[1]) == pytest.approx(train, abs=1e-4)
        assert float(row[2]) == pytest.approx(test, abs=1e-4)
        assert 0 <= test <= 1


def test_bench_busy_quick():
    # One round idle and beside one busy core (the script's own competing
    # process, which it must stop): every fit has a row per load, and the
    # goal's verdict follows from the slowdowns it prints.
    stdout = run_script("bench_busy.py", "--quick", "--loads", "idle", "1 busy core")
    for fit in (
        "DBNClassifier (skdbn)",
        "MLPClassifier",
        "BernoulliRBM + LogisticRegression",
    ):
        rows = [line for line in stdout.splitlines() if line.startswith(fit + "  ")]
        assert len(rows) == 2, stdout
        for row in rows:
            cells = row[len(fit) :].split()
            default, one, ratio = (float(c) for c in cells[-4:-1])
            assert default > 0 and one > 0
            assert math.isclose(ratio, default / one, abs_tol=0.02)
    goal = re.search(
        r"goal (met|NOT met): .* takes ([0-9.]+)x .*MLPClassifier ([0-9.]+)x", stdout
    )
    assert goal, stdout
    dbn, mlp = float(goal.group(2)), float(goal.group(3))
    assert (goal.group(1) == "met") == (dbn <= 2.0 and dbn <= mlp)


def test_bench_onnx_tiny(tmp_path):
    pytest.importorskip("skl2onnx", reason="the onnx extra is not installed")
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    stdout = run_script(
        "bench_onnx.py",
        "--quick",
        *("--n-samples", "600", "--n-rows", "200", "--calls", "5"),
        *("--hidden", "16", "8"),
        json_path=tmp_path / "onnx.json",
    )
    results = json.loads((tmp_path / "onnx.json").read_text())["results"]
    for what in ("1 row", "200 rows"):
        own, ort = (float(x) for x in table_row(stdout, what)[:2])
        assert own == pytest.approx(1e3 * results[f"{what}: skdbn"], abs=1e-3)
        assert ort == pytest.approx(1e3 * results[f"{what}: onnxruntime"], abs=1e-3)


def test_bench_likelihood_tiny(tmp_path):
    stdout = run_script(
        "bench_likelihood.py",
        "--quick",
        *("--n-samples", "300", "--n-test", "100", "--hidden", "8"),
        *("--chains", "10", "--temperatures", "50"),
        json_path=tmp_path / "likelihood.json",
    )
    results = json.loads((tmp_path / "likelihood.json").read_text())["results"]
    assert set(results) == {"CD-1", "CD-10", "PCD"}
    for name, result in results.items():
        row = table_row(stdout, name)
        assert float(row[1]) == pytest.approx(result["test_ll"], abs=0.01)
        assert result["test_ll"] < 0 and result["ais_seconds"] > 0


def test_bench_memory_tiny(tmp_path):
    stdout = run_script(
        "bench_memory.py",
        "--quick",
        *("--n-samples", "300", "--epochs", "1", "--sizes", "8", "8,8"),
        json_path=tmp_path / "memory.json",
    )
    results = json.loads((tmp_path / "memory.json").read_text())["results"]
    sizes = results["sizes x dropout"]
    # Three folds: (8,) and (8, 8) with two dropouts each, 3 * (2 + 4) layers
    # without memory; with it one first and one second layer per fold.
    assert (sizes["layers_without"], sizes["layers_with"]) == (18, 6)
    assert all(result["identical_scores"] for result in results.values())
    assert table_row(stdout, "sizes x dropout")[-1] == "yes"


def test_bench_blas_tiny(tmp_path):
    stdout = run_script(
        "bench_blas.py", "--repeats", "1", json_path=tmp_path / "blas.json"
    )
    report = json.loads((tmp_path / "blas.json").read_text())
    assert set(report) == {"CD-1 784->500", "fine-tuning 784-500-500-2000-10"}
    for name, result in report.items():
        numpy_ms, scipy_ms, ratio = table_row(stdout, name)
        assert float(numpy_ms) == pytest.approx(result["numpy_ms"], abs=1e-3)
        assert float(scipy_ms) == pytest.approx(result["scipy_ms"], abs=1e-3)
        # One round: the ratio is the two medians' quotient.
        assert result["scipy_over_numpy"] == pytest.approx(
            result["scipy_ms"] / result["numpy_ms"]
        )
        assert float(ratio.rstrip("x")) == pytest.approx(
            result["scipy_over_numpy"], abs=0.01
        )
