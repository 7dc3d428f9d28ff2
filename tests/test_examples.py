"""Every gallery example runs, and draws what it says it draws."""

import runpy
import warnings
from pathlib import Path

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("plot_*.py")) if EXAMPLES.is_dir() else []

# Figures each example draws (every plt.subplots, and one per display).
FIGURES = {
    "plot_autoencoder_vs_pca.py": 2,
    "plot_dbn_vs_mlp.py": 1,
    "plot_generative_dreams.py": 2,
    "plot_grid_search.py": 1,
    "plot_partial_fit_memmap.py": 0,
    "plot_progress_bar.py": 1,
    "plot_rbm_filters.py": 2,
}


@pytest.mark.skipif(not SCRIPTS, reason="examples/ is not in this copy of skdbn")
def test_every_example_is_listed():
    assert sorted(p.name for p in SCRIPTS) == sorted(FIGURES)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs(script, monkeypatch, capsys):
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        namespace = runpy.run_path(str(script), run_name="__main__")
    assert len(plt.get_fignums()) == FIGURES[script.name]
    if script.name == "plot_dbn_vs_mlp.py":
        scores = namespace["scores"]
        assert scores["DBN (256, 256)"] > 0.97
    if script.name == "plot_generative_dreams.py":
        assert namespace["dbn"].score(namespace["X_test"], namespace["y_test"]) > 0.93
    if script.name == "plot_autoencoder_vs_pca.py":
        # README's picture and its caption come from this example.
        errors = namespace["display"].errors_
        assert errors["DBNTransformer"] == pytest.approx(0.64, abs=0.05)
        assert errors["PCA(8)"] == pytest.approx(1.78, abs=0.01)
    if script.name == "plot_partial_fit_memmap.py":
        out = capsys.readouterr().out
        assert float(out.rsplit("accuracy", 1)[1]) > 0.8
    plt.close("all")
