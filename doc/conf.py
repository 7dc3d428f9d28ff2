"""Sphinx configuration of skdbn's documentation site.

Build it from the repository root with
``sphinx-build -W -b html doc doc/_build/html`` (``pip install ".[docs]"``).
"""

import os
import sys
import warnings

import matplotlib
from sklearn.exceptions import ConvergenceWarning

matplotlib.use("Agg")
sys.path.insert(0, os.path.abspath(".."))
# doc/make_images.py holds the gallery scraper below.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import skdbn  # noqa: E402

project = "skdbn"
author = "the skdbn developers"
copyright = "2026, the skdbn developers"
release = skdbn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autodoc_default_options = {"members": True}
# The numpydoc docstrings describe each parameter's types in words (array-like,
# sparse matrix, Array API arrays); the type hints are for type checkers.
autodoc_typehints = "none"
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
templates_path = ["_templates"]

html_theme = "pydata_sphinx_theme"
html_title = f"skdbn {release}"
html_static_path = []
html_theme_options = {"navigation_with_keys": False}
# Pages without sub-pages would show an empty "Section Navigation" sidebar.
html_sidebars = {
    "index": [],
    "user_guide": [],
    "api": [],
    "developers": [],
    "changelog": [],
}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    # "Examples using this" on each API page (the class template's
    # minigallery), from the uses the gallery's code makes of skdbn.
    "doc_module": ("skdbn",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skdbn": None},
    # The gallery is the one run of each example: as each finishes, this
    # scraper records the numbers tests/test_examples.py checks and the
    # figures README shows (doc/make_images.py copies them to doc/images/).
    "image_scrapers": ("make_images.record_gallery", "matplotlib"),
}

# Training examples on small data stop at max_iter on purpose: the pages
# leave out scikit-learn's ConvergenceWarning, and show skdbn's own advice
# (a UserWarning) where an example draws it.
warnings.filterwarnings("ignore", category=ConvergenceWarning)
