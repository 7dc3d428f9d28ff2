"""Every gallery example runs, and draws and prints what it says it does.

Each example runs once per CI run, in the documentation build: sphinx-gallery
runs it, and the scraper in doc/make_images.py records its numbers and
figure count in ``doc/auto_examples/<example>.numbers.json``. The full tier
(``SKDBN_FULL_TESTS=1``, marker ``slow``) checks those numbers when that
record is current (same example source), and otherwise runs the example
itself. ``.ci/run`` builds the documentation before the full tier and sets
``SKDBN_GALLERY_BUILT=1``, under which a missing record fails instead.
"""

import importlib.util
import os
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(EXAMPLES.glob("plot_*.py")) if EXAMPLES.is_dir() else []
MAKE_IMAGES = ROOT / "doc" / "make_images.py"

# Figures each example draws (every plt.subplots, and one per display).
FIGURES = {
    "plot_autoencoder_vs_pca.py": 2,
    "plot_dbn_vs_mlp.py": 1,
    "plot_generative_dreams.py": 2,
    "plot_grid_search.py": 1,
    "plot_log_likelihood.py": 1,
    "plot_partial_fit_memmap.py": 2,
    "plot_progress_bar.py": 1,
    "plot_rbm_filters.py": 2,
}


@pytest.mark.skipif(not SCRIPTS, reason="examples/ is not in this copy of skdbn")
def test_every_example_is_listed():
    assert sorted(p.name for p in SCRIPTS) == sorted(FIGURES)


def _make_images():
    """doc/make_images.py, which records and runs the examples."""
    if not MAKE_IMAGES.is_file():
        pytest.skip("doc/ is not in this copy of skdbn")
    pytest.importorskip("matplotlib")
    spec = importlib.util.spec_from_file_location("make_images", MAKE_IMAGES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_numbers(script):
    make_images = _make_images()
    result = make_images.gallery_record(script.name)
    if result is None:  # no current documentation build: run it here
        if os.environ.get("SKDBN_GALLERY_BUILT") == "1":
            pytest.fail(f"the documentation build left no record of {script.name}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            *_, result = make_images.run_example(script.name)
        make_images.plt.close("all")
    assert result["figures"] == FIGURES[script.name]
    if script.name == "plot_dbn_vs_mlp.py":
        assert result["scores"]["DBN (256, 256)"] > 0.97
    if script.name == "plot_generative_dreams.py":
        assert result["test_accuracy"] > 0.93
    if script.name == "plot_autoencoder_vs_pca.py":
        # README's picture and its caption come from this example.
        errors = result["errors"]
        assert errors["DBNTransformer"] == pytest.approx(0.64, abs=0.05)
        assert errors["PCA(8)"] == pytest.approx(1.78, abs=0.01)
    if script.name == "plot_grid_search.py":
        # Three layers per fold and the refit's two, of 26 the search used.
        assert result["layers"] == [11, 26]
    if script.name == "plot_log_likelihood.py":
        # What the example's text says: the proxies and the log-likelihood
        # rank CD-1 and PCD the opposite ways, beyond the AIS error.
        rows = result["rows"]
        cd1, pcd = rows["CD-1"], rows["PCD"]
        assert pcd["log-likelihood"] - pcd["+-"] > cd1["log-likelihood"] + cd1["+-"]
        assert cd1["reconstruction error"] < pcd["reconstruction error"]
    if script.name == "plot_partial_fit_memmap.py":
        assert result["held_out_accuracy"] > 0.8
