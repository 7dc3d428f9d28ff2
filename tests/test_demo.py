"""``python -m skdbn``: the numbers README shows come from this run."""

import io

import pytest

from skdbn.__main__ import run


@pytest.mark.slow  # trains four models on the digits: the full tier
def test_demo_dbn_beats_the_baselines_and_prints_them():
    out = io.StringIO()
    results = run(random_state=0, out=out)
    dbn = results["DBNClassifier (skdbn)"][0]
    assert dbn >= 0.98
    for name, (accuracy, seconds) in results.items():
        assert dbn >= accuracy and seconds > 0
        assert name in out.getvalue()
