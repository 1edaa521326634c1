"""The documentation: docstring examples run, every public name has one, the site builds."""

import doctest
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sknoisy

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _all_modules():
    names = ["sknoisy"]
    for info in pkgutil.walk_packages(sknoisy.__path__, prefix="sknoisy."):
        names.append(info.name)
    return sorted(names)


def _public_modules():
    """Modules whose ``__all__`` is public API: no ``_private`` part in their dotted name."""
    public = []
    for name in _all_modules():
        if any(part.startswith("_") for part in name.split(".")):
            continue
        if hasattr(importlib.import_module(name), "__all__"):
            public.append(name)
    return public


def _fashion_mnist_available():
    from sknoisy.datasets import load_fashion_mnist

    try:
        load_fashion_mnist(subset="all", n_samples=10, random_state=0)
    except (OSError, ValueError):
        return False
    return True


@pytest.fixture(autouse=True)
def _one_thread_and_quiet_plots():
    # Printed accuracies can move in the last digit with the number of BLAS threads;
    # the examples were recorded with one. Figures: no window, all closed after.
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
    yield
    torch.set_num_threads(threads)
    if plt is not None:
        plt.close("all")


@pytest.mark.parametrize("module_name", _all_modules())
def test_docstring_examples_pass(module_name):
    if module_name.startswith("sknoisy.plotting"):
        pytest.importorskip("matplotlib")
    if module_name == "sknoisy.datasets._fashion_mnist" and not _fashion_mnist_available():
        pytest.skip("Fashion-MNIST files are absent (apt-get install dataset-fashion-mnist)")
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=FLAGS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {module_name} failed"


def _public_names():
    # Names only: an import error then fails one test instead of the whole collection.
    names = []
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        names += [f"{module_name}:{name}" for name in module.__all__
                  if not name.startswith("__")]  # __version__ is data, not API
    return names


_EXAMPLES = re.compile(r"^Examples\n-{8}\n", re.MULTILINE)


@pytest.mark.parametrize("qualname", _public_names())
def test_public_name_has_docstring_with_example(qualname):
    module_name, name = qualname.split(":")
    obj = getattr(importlib.import_module(module_name), name)
    doc = inspect.getdoc(obj)
    assert doc, f"{qualname} has no docstring"
    match = _EXAMPLES.search(doc)
    assert match, f"{qualname}'s docstring has no 'Examples' section"
    assert ">>>" in doc[match.end():], f"{qualname}'s Examples section has no doctest"


def test_public_modules_cover_the_documented_packages():
    # The API reference is generated from these modules' __all__; a subpackage that
    # lost its __all__ would silently drop out of it.
    modules = set(_public_modules())
    for name in ["sknoisy", "sknoisy.classifiers", "sknoisy.detectors", "sknoisy.mixture",
                 "sknoisy.callbacks",
                 "sknoisy.losses", "sknoisy.noise", "sknoisy.metrics", "sknoisy.datasets", "sknoisy.plotting",
                 "sknoisy.modules", "sknoisy.pipeline"]:
        assert name in modules


def _doc_pages():
    skip = {"_build", "generated", "gallery", "jupyter_execute"}
    return sorted(p for p in DOCS.rglob("*.rst") if not skip & set(p.relative_to(DOCS).parts))


@pytest.mark.parametrize("page", _doc_pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_doc_page_examples_pass(page):
    result = doctest.testfile(str(page), module_relative=False, optionflags=FLAGS,
                              report=True)
    assert result.failed == 0, f"{result.failed} example(s) in {page.name} failed"


def _docs_extension():
    """The docs' Sphinx extension module (it builds the API page)."""
    pytest.importorskip("sphinx")
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        return importlib.import_module("sknoisy_docs")
    finally:
        sys.path.remove(str(DOCS / "_ext"))


def test_api_page_lists_every_public_name():
    sknoisy_docs = _docs_extension()
    text, problems = sknoisy_docs.api_page()
    assert problems == []
    listed = set(re.findall(r"^   (\w+)$", text, re.MULTILINE))
    listed |= set(re.findall(r"^- ``sknoisy\.(\w+)``", text, re.MULTILINE))
    documented_modules = {name for name, _ in sknoisy_docs.API_SECTIONS}
    for module_name in documented_modules:
        for name in sknoisy_docs.public_names(module_name):
            assert name in listed, f"{module_name}.{name} is missing from the API page"
    assert set(_public_modules()) <= documented_modules


def test_api_page_lists_the_benchmark_api_not_its_runner_internals():
    sknoisy_docs = _docs_extension()
    text, _ = sknoisy_docs.api_page()
    section = text.split(".. currentmodule:: sknoisy.benchmark\n")[1]
    section = section.split(".. currentmodule::")[0]
    listed = set(re.findall(r"^   (\w+)$", section, re.MULTILINE))
    assert {"run_benchmark", "register_method", "load_benchmark_dataset"} <= listed
    assert not {"benchmark_main", "add_benchmark_arguments", "run_from_args",
                "prepare_output", "config_argv"} & listed


def test_docs_build_without_warnings(tmp_path):
    for tool in ("sphinx", "numpydoc", "myst_nb", "pydata_sphinx_theme"):
        pytest.importorskip(tool)
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert (tmp_path / "html" / "api.html").exists()
    assert (tmp_path / "html" / "user_guide" / "coteaching.html").exists()
