"""Smoke test of benchmarks/bench_array_api.py on torch's CPU build.

Runs the script as a user does (``--quick``, digits when Fashion-MNIST is
absent) and checks its JSON: every measured row, skdbn on torch included,
has a finite positive time, so a torch path that raises or falls back to
NumPy fails here. A subprocess run of the script: the full tier (marker
``slow``, ``SKDBN_FULL_TESTS=1``) runs it.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.slow
def test_bench_array_api_quick(tmp_path):
    if not BENCHMARKS.is_dir():  # an sdist ships the tests, not the benchmarks
        pytest.skip("benchmarks/ is not in this copy of skdbn")
    pytest.importorskip("torch")
    out = tmp_path / "array_api.json"
    subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "bench_array_api.py"),
            "--quick",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--data-dir",
            str(tmp_path / "absent"),  # digits: runs without Fashion-MNIST
            "--json",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    rows = json.loads(out.read_text())["results"]["rows"]
    assert set(rows) == {"rbm", "finetune"}
    for name, row in rows.items():
        for side in ("numpy", "device"):
            walls = [m["wall"] for m in row[side]]
            assert walls and all(math.isfinite(w) and w > 0 for w in walls), (
                name,
                side,
                row,
            )
    assert all(m["wall"] > 0 for m in rows["rbm"]["reference"])
