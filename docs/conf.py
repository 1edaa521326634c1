"""Sphinx configuration of the sknoisy documentation.

Build: ``make docs`` (``sphinx-build -W --keep-going -b html docs docs/_build/html``).
Nothing is executed or downloaded at build time: notebooks are rendered from their
committed outputs and the benchmark tables are read from ``benchmarks/``.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import sknoisy  # noqa: E402
import sknoisy_docs  # noqa: E402

project = "sknoisy"
author = "the sknoisy developers"
copyright = "2026, the sknoisy developers"
version = release = sknoisy.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
    "sknoisy_docs",
]

exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints"]
templates_path = ["_templates"]
root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# -- API reference ---------------------------------------------------------------------
# The API page lists every name in the packages' __all__ (see _ext/sknoisy_docs.py).
sknoisy_docs.write_api_page(HERE)
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # the numpydoc Parameters section already gives the types
autodoc_member_order = "bysource"
# sknoisy subclasses skorch, torch and scikit-learn classes whose docstrings are not
# numpydoc: never borrow a parent's docstring, and list only sknoisy's own members.
autodoc_inherit_docstrings = False
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- Notebooks: rendered from their committed outputs, never executed ------------------
NOTEBOOKS = ["tabular", "images"]
sknoisy_docs.copy_notebooks(HERE, NOTEBOOKS)
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# -- HTML ------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sknoisy {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False

# Benchmark result files are Markdown sections that start at "##", included into a page
# below its own headings; MyST would flag the first heading level of each.
suppress_warnings = ["myst.header"]
