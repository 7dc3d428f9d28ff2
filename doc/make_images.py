"""README's pictures and the gallery examples' numbers, from one run.

Every gallery example runs once, in the documentation build
(``sphinx-build -W -b html doc doc/_build/html``): ``doc/conf.py`` hands
sphinx-gallery :func:`record_gallery` as an image scraper, which, as each
example finishes, writes

* ``doc/auto_examples/<example>.numbers.json``: the numbers the tests check
  (``tests/test_examples.py`` reads them instead of running the example
  again), with the figure count and a digest of the example's and skdbn's
  sources;
* ``doc/auto_examples/images/readme_<image>.png``: the figures README shows,
  rendered as README wants them.

Run from the repository root, ``python doc/make_images.py`` copies those
figures to ``doc/images/``. Where the documentation has not been built since
the example or skdbn last changed, it runs the example itself instead.
"""

import hashlib
import json
import runpy
import shutil
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
GALLERY = ROOT / "doc" / "auto_examples"
IMAGES = ROOT / "doc" / "images"


# The numbers each example's test checks, read from its namespace at its end.
NUMBERS = {
    "plot_autoencoder_vs_pca.py": lambda ns: {
        "errors": {k: float(v) for k, v in ns["display"].errors_.items()}
    },
    "plot_dbn_vs_mlp.py": lambda ns: {
        "scores": {k: float(v) for k, v in ns["scores"].items()}
    },
    "plot_generative_dreams.py": lambda ns: {
        "test_accuracy": float(ns["dbn"].score(ns["X_test"], ns["y_test"]))
    },
    "plot_grid_search.py": lambda ns: {
        "layers": [int(ns["n_stored"]), int(ns["n_needed"])]
    },
    "plot_log_likelihood.py": lambda ns: {
        "rows": {
            name: {k: float(v) for k, v in row.items()}
            for name, row in ns["rows"].items()
        }
    },
    "plot_partial_fit_memmap.py": lambda ns: {
        "held_out_accuracy": float(
            ns["clf"].score(ns["on_disk"][1500:], ns["y"][1500:])
        )
    },
}

# README's pictures: the example that draws each, and which of its figures.
README_IMAGES = {
    "rbm_filters.png": (
        "plot_rbm_filters.py",
        lambda ns, figures: ns["display"].figure_,
    ),
    "reconstructions.png": (
        "plot_autoencoder_vs_pca.py",
        lambda ns, figures: ns["display"].figure_,
    ),
}


def source_digest(example):
    """md5 of the example and of skdbn's sources: what its numbers depend on."""
    digest = hashlib.md5()
    for path in [EXAMPLES / example, *sorted((ROOT / "skdbn").rglob("*.py"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _save_readme_image(figure, path):
    figure.savefig(path, dpi=90, bbox_inches="tight")


def record(name, namespace, n_figures):
    """The record of one example's run: its numbers and figure count."""
    numbers = NUMBERS.get(name, lambda ns: {})(namespace)
    return {"example": name, "figures": n_figures, **numbers}


# -- the sphinx-gallery scraper ------------------------------------------------

_CURRENT = {"namespace": None, "figures": []}  # the example running now


def record_gallery(block, block_vars, gallery_conf):
    """sphinx-gallery image scraper: record numbers and README figures.

    Listed before "matplotlib" in ``image_scrapers``, so it sees the code
    block's figures before that scraper saves and closes them. It adds no
    reStructuredText.
    """
    if block_vars.get("formatted_exception"):
        return ""  # the example raised: nothing to record (the build fails)
    source = Path(block_vars["src_file"])
    name = source.name
    namespace = block_vars["example_globals"]
    if _CURRENT["namespace"] is not namespace:  # a new example's first block
        _CURRENT.update(namespace=namespace, figures=[])
    figures = _CURRENT["figures"]
    figures.extend(plt.figure(n) for n in plt.get_fignums())
    images = Path(block_vars["target_file"]).parent / "images"
    for image, (example, pick) in README_IMAGES.items():
        if example == name:
            try:
                figure = pick(namespace, figures)
            except (KeyError, IndexError):  # not drawn yet (an earlier block)
                continue
            images.mkdir(parents=True, exist_ok=True)
            _save_readme_image(figure, images / f"readme_{image}")
    try:
        result = record(name, namespace, len(figures))
    except KeyError:  # its numbers come in a later block
        return ""
    result["source_digest"] = source_digest(name)
    target = Path(block_vars["target_file"]).with_suffix(".numbers.json")
    target.write_text(json.dumps(result, indent=1))
    return ""


def gallery_record(name):
    """The record the last documentation build wrote, if still current."""
    path = GALLERY / Path(name).with_suffix(".numbers.json")
    if not path.is_file():
        return None
    result = json.loads(path.read_text())
    if result.get("source_digest") != source_digest(name):
        return None  # the example or skdbn changed since the build
    return result


# -- running an example directly -----------------------------------------------


def run_example(name):
    """Run ``examples/<name>`` here; return (namespace, figures, record)."""
    show = plt.show
    plt.show = lambda *args, **kwargs: None
    plt.close("all")
    try:
        namespace = runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    finally:
        plt.show = show
    figures = [plt.figure(n) for n in plt.get_fignums()]
    return namespace, figures, record(name, namespace, len(figures))


def main():
    IMAGES.mkdir(parents=True, exist_ok=True)
    for image, (example, pick) in README_IMAGES.items():
        built = GALLERY / "images" / f"readme_{image}"
        if built.is_file() and gallery_record(example) is not None:
            shutil.copyfile(built, IMAGES / image)
            print(f"wrote doc/images/{image} (from the gallery build)")
            continue
        namespace, figures, _ = run_example(example)
        _save_readme_image(pick(namespace, figures), IMAGES / image)
        plt.close("all")
        print(f"wrote doc/images/{image} (ran examples/{example})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
