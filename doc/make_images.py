"""Render the pictures that README shows, from the gallery examples.

Run from the repository root: ``python doc/make_images.py``. It runs
``examples/plot_rbm_filters.py`` and ``examples/plot_autoencoder_vs_pca.py``
and saves their displays to ``doc/images/``.
"""

import runpy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "doc" / "images"


def render(example, name, figure):
    plt.show = lambda *args, **kwargs: None
    namespace = runpy.run_path(str(ROOT / "examples" / example))
    figure(namespace).savefig(IMAGES / name, dpi=90, bbox_inches="tight")
    plt.close("all")
    print(f"wrote doc/images/{name}")


if __name__ == "__main__":
    IMAGES.mkdir(parents=True, exist_ok=True)
    render("plot_rbm_filters.py", "rbm_filters.png", lambda ns: ns["display"].figure_)
    render(
        "plot_autoencoder_vs_pca.py",
        "reconstructions.png",
        lambda ns: plt.figure(plt.get_fignums()[-1]),
    )
