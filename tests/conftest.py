"""Shared fixtures, and the two test tiers.

The everyday run (``python -m pytest``) skips the tests marked ``slow``;
``SKDBN_FULL_TESTS=1`` switches on the full tier: those tests, the larger
hypothesis profile (below) and, in tests/test_examples.py, the gallery
examples' numbers. ``.ci/run`` runs both tiers, the second with ``-m slow``
so that nothing runs twice.
"""

import importlib.metadata
import os

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@pytest.fixture(scope="session")
def digits():
    """Digits scaled to [0, 1], split with a stratified 25% holdout."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float64)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


@pytest.fixture(scope="session", autouse=True)
def single_blas_thread():
    """Run BLAS on one thread during tests.

    numpy and scipy each bundle an OpenBLAS with its own spinning thread
    pool; on a 2-core machine that is also running other work (or a
    GridSearchCV with n_jobs=2) the pools oversubscribe the cores and small
    solves such as LogisticRegression's slow down a hundredfold. Tests check
    behaviour, not speed, so one thread is both faster and steadier.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


# Hypothesis profiles for the property-based tests (tests/test_properties.py):
# "default" keeps the everyday run to about a minute on two cores; "ci" draws
# four times as many examples, chosen by SKDBN_FULL_TESTS=1 (the switch for the
# full test tier). Each property asks for a multiple of the profile's
# max_examples. HYPOTHESIS_PROFILE=<name> picks a profile explicitly.
try:
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass
else:
    import os as _os

    _hypothesis_settings.register_profile("default", max_examples=50, deadline=None)
    _hypothesis_settings.register_profile("ci", max_examples=200, deadline=None)
    _hypothesis_settings.load_profile(
        _os.environ.get("HYPOTHESIS_PROFILE")
        or ("ci" if _os.environ.get("SKDBN_FULL_TESTS") == "1" else "default")
    )


FULL_TESTS = os.environ.get("SKDBN_FULL_TESTS") == "1"
FULL_TIER_REASON = "full tier: set SKDBN_FULL_TESTS=1"

# Quality tests elsewhere that train full-size models on real data (each
# 10 to 60 s on 2 cores): the full tier runs them. Node ids, without the
# parameters; marking these in their own files would do the same.
QUALITY_TESTS = {
    "tests/test_defaults.py::test_defaults_match_or_beat_mlp_defaults",
    "tests/test_defaults.py::test_readme_recipe_reaches_098_on_digits",
    "tests/test_defaults.py::test_published_relu_recipe_runs_and_learns",
    "tests/test_generative.py::"
    "test_up_down_fine_tuning_raises_test_accuracy_over_greedy_pretraining",
    "tests/test_autoencoder_pretraining.py::"
    "test_autoencoder_pretraining_matches_no_pretraining",
    "tests/test_array_api.py::test_classifier_accuracy_agrees_with_numpy",
    # GenerativeDBNClassifier's docstring example fits the default network.
    "skdbn/_generative.py::skdbn._generative.GenerativeDBNClassifier",
}


@pytest.hookimpl(tryfirst=True)  # before -m selects on the markers
def pytest_collection_modifyitems(config, items):
    """Skip the full tier in the everyday run; mark it in the full run.

    In the everyday run every test marked ``slow`` skips, with one reason. In
    the full run the property-based tests are marked ``slow`` too: they run
    there on the larger hypothesis profile, so ``-m slow`` selects exactly
    what the everyday run skipped or ran small.
    """
    skip = pytest.mark.skip(reason=FULL_TIER_REASON)
    for item in items:
        if item.nodeid.split("[")[0] in QUALITY_TESTS:
            item.add_marker(pytest.mark.slow)
        if FULL_TESTS:
            if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
                item.add_marker(pytest.mark.slow)
        elif "slow" in item.keywords:
            item.add_marker(skip)


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def pytest_report_header(config):
    """Say up front which tier runs and which optional backends are here."""
    if FULL_TESTS:
        tier = "skdbn tests: full tier (SKDBN_FULL_TESTS=1; large hypothesis profile)"
    else:
        tier = (
            f"skdbn tests: everyday tier; tests marked slow skip ({FULL_TIER_REASON!r})"
        )
    optional = []
    for name, distribution, what in (
        ("torch", "torch", "Array API tests on torch"),
        ("array-api-strict", "array-api-strict", "Array API tests"),
        ("matplotlib", "matplotlib", "displays and gallery"),
        ("rich", "rich", "rich progress bar"),
        ("skops", "skops", "skops persistence"),
        ("pandas", "pandas", "DataFrame input checks"),
    ):
        version = _version(distribution)
        if version is None:
            optional.append(f"{name} absent (its {what} skip)")
        else:
            optional.append(f"{name} {version}")
    lines = [tier, "optional: " + ", ".join(optional)]
    if _version("torch") is not None:
        try:
            import torch

            cuda = torch.cuda.is_available()
        except Exception:  # pragma: no cover - a broken torch install
            cuda = False
        if not cuda:
            lines.append("CUDA is not available: the torch-on-CUDA tests skip")
    return lines
