"""Sphinx glue for the sknoisy docs: API page from ``__all__``, notebooks, benchmark results.

Three jobs, all run before Sphinx reads the sources:

- ``api.rst`` is written from the ``__all__`` of every module in :data:`API_SECTIONS`, so a
  new public name appears in the API reference without editing any page; for the modules
  in :data:`API_SUBSETS`, only the names listed there. A public name that cannot be
  imported, or a listed one missing from ``__all__``, is a build warning (an error under
  ``-W``).
- ``examples/*.ipynb`` (committed with their outputs) are copied into ``gallery/`` and
  rendered by myst-nb without being executed.
- The ``sknoisy-results`` directive includes ``benchmarks/results/<name>.md`` (Markdown,
  parsed by MyST) where it exists, and says plainly that no result is recorded otherwise.

Members shown on class pages are those sknoisy itself defines and documents: methods
inherited from skorch, torch or scikit-learn, and hook overrides without a docstring of
their own, are left out (their docstrings are not numpydoc and are not ours to document).
"""

from __future__ import annotations

import importlib
import inspect
import os
import shutil
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from docutils.statemachine import StringList
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: (module, section title) in the order of the API page. Every name in each module's
#: ``__all__`` is documented; a name re-exported by ``sknoisy`` from one of these modules
#: is documented once, under that module, and listed as an alias at the top.
API_SECTIONS = [
    ("sknoisy", "Training core"),
    ("sknoisy.classifiers", "Classifiers"),
    ("sknoisy.detectors", "Noise detectors"),
    ("sknoisy.mixture", "Loss mixtures"),
    ("sknoisy.callbacks", "Per-sample record and schedules"),
    ("sknoisy.losses", "Robust losses"),
    ("sknoisy.pipeline", "Pipelines"),
    ("sknoisy.noise", "Synthetic label noise"),
    ("sknoisy.metrics", "Noise-detection metrics"),
    ("sknoisy.datasets", "Datasets"),
    ("sknoisy.plotting", "Plotting"),
    ("sknoisy.modules", "Default networks"),
    ("sknoisy.exceptions", "Warnings and errors"),
    ("sknoisy.benchmark", "Benchmark runner"),
    ("sknoisy.cli", "Command line"),
]

#: Modules of which the API page lists only the names a user calls. The benchmark package
#: also exports the plumbing of ``sknoisy benchmark`` (argument parsing, configuration
#: files, output folders, the per-run measurement), which users reach through the command,
#: not by name; its tests import it from there.
API_SUBSETS = {
    "sknoisy.benchmark": [
        "run_benchmark", "BenchmarkResult", "summarise", "format_markdown", "write_outputs",
        "load_benchmark_dataset", "noisy_labels", "register_method", "Method",
        "MethodContext", "MissingDependencyError",
    ],
}

_PROBLEMS: list[str] = []


def public_names(module_name: str) -> list[str]:
    """Names of ``module_name`` the API page documents.

    Those of its ``__all__`` (dunder names excluded), or its :data:`API_SUBSETS` entry.
    """
    if module_name in API_SUBSETS:
        return list(API_SUBSETS[module_name])
    module = importlib.import_module(module_name)
    return [name for name in getattr(module, "__all__", []) if not name.startswith("__")]


def _first_line(module) -> str:
    doc = inspect.getdoc(module) or ""
    return doc.splitlines()[0] if doc else ""


def api_page() -> tuple[str, list[str]]:
    """Return the reStructuredText of the API page and the problems found on the way."""
    text, problems, _ = _api_page()
    return text, problems


def _api_page() -> tuple[str, list[str], set[str]]:
    problems: list[str] = []
    stubs: set[str] = set()
    objects: dict[str, dict[str, object]] = {}
    for module_name, _ in API_SECTIONS:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # a broken subpackage must fail the build, not vanish
            problems.append(f"cannot import {module_name}: {exc!r}")
            continue
        objects[module_name] = {}
        exported = set(getattr(module, "__all__", []))
        # A listed name that left __all__ (renamed, removed) must fail the build.
        problems += [f"{module_name}.{name} is listed in API_SUBSETS but not in its __all__"
                     for name in API_SUBSETS.get(module_name, []) if name not in exported]
        for name in public_names(module_name):
            try:
                objects[module_name][name] = getattr(module, name)
            except Exception as exc:
                problems.append(f"public name {module_name}.{name} cannot be imported: {exc!r}")

    # Where each object is documented: the first subpackage listing it, else the top level.
    home: dict[int, str] = {}
    for module_name, _ in API_SECTIONS[1:]:
        for name, obj in objects.get(module_name, {}).items():
            home.setdefault(id(obj), f"{module_name}.{name}")

    lines = [
        ".. This page is generated by docs/_ext/sknoisy_docs.py from the packages' __all__.",
        "",
        "API reference",
        "=============",
        "",
        "Every public name of sknoisy, generated from its numpydoc docstring. Class pages",
        "list the methods sknoisy defines; the skorch machinery the estimators inherit",
        "(``partial_fit``, ``save_params``, callbacks, ...) is documented by",
        "`skorch <https://skorch.readthedocs.io>`_.",
        "",
    ]
    aliases = [(name, home[id(obj)]) for name, obj in objects.get("sknoisy", {}).items()
               if id(obj) in home]
    if aliases:
        lines += ["The top-level package re-exports the main estimators:", ""]
        lines += [f"- ``sknoisy.{name}``: :obj:`{target}`" for name, target in aliases]
        lines.append("")

    for module_name, title in API_SECTIONS:
        if module_name not in objects:
            continue
        names = [name for name, obj in objects[module_name].items()
                 if module_name != "sknoisy" or id(obj) not in home]
        if not names:
            continue
        module = importlib.import_module(module_name)
        lines += [f"{title}", "-" * len(title), "", f".. currentmodule:: {module_name}", ""]
        summary = _first_line(module)
        if summary:
            lines += [f":mod:`{module_name}`: {summary}", ""]
        lines += [".. autosummary::", "   :toctree: generated/", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in names]
        lines.append("")
        stubs |= {f"{module_name}.{name}.rst" for name in names}
    return "\n".join(lines), problems, stubs


def _write_if_changed(path: Path, text: str) -> None:
    # Rewriting an unchanged file would make Sphinx re-read it on every build.
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_api_page(srcdir: Path) -> None:
    text, problems, stubs = _api_page()
    _write_if_changed(srcdir / "api.rst", text)
    _PROBLEMS.extend(problems)
    # Stubs of names that left an __all__ would otherwise linger as orphan pages.
    for stub in (srcdir / "generated").glob("*.rst"):
        if stub.name not in stubs:
            stub.unlink()


def copy_notebooks(srcdir: Path, names: list[str]) -> None:
    """Copy the committed notebooks ``examples/<name>.ipynb`` into ``gallery/``."""
    source = srcdir.parent / "examples"
    target = srcdir / "gallery"
    target.mkdir(exist_ok=True)
    for name in names:
        notebook = source / f"{name}.ipynb"
        copy = target / notebook.name
        if not notebook.exists():
            _PROBLEMS.append(f"notebook {notebook} is missing (linked from examples.rst)")
            copy.unlink(missing_ok=True)
            continue
        if not copy.exists() or copy.read_bytes() != notebook.read_bytes():
            shutil.copyfile(notebook, copy)


class BenchmarkResults(Directive):
    """Include ``benchmarks/results/<name>.md`` for each name given (``all``: RESULTS.md).

    Files that exist are parsed as Markdown (MyST); when none of them exists, a note says
    so, so a page can be written before its benchmark has been run.
    """

    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {"missing": directives.unchanged}

    def run(self):
        env = self.state.document.settings.env
        root = Path(env.srcdir).parent / "benchmarks"
        paths = [root / "RESULTS.md" if name == "all" else root / "results" / f"{name}.md"
                 for name in self.arguments[0].split()]
        found = [path for path in paths if path.exists()]
        if paths == [root / "RESULTS.md"] and not found:
            # RESULTS.md is assembled from results/*.md: show those until it exists.
            found = sorted((root / "results").glob("*.md"))
        if not found:
            rels = ", ".join(f"``{path.relative_to(root.parent)}``" for path in paths)
            logger.info("sknoisy-results: none of %s found", rels)
            text = self.options.get(
                "missing", f"No benchmark result is recorded for this yet ({rels} absent).")
            note = nodes.note()
            self.state.nested_parse(StringList(text.splitlines(), str(paths[0])),
                                    self.content_offset, note)
            return [note]
        # Sphinx reads an absolute include path as relative to the source folder.
        here = Path(env.doc2path(env.docname)).parent
        lines = []
        for path in found:
            env.note_dependency(str(path))
            rel_path = os.path.relpath(path, here)
            lines += [f".. include:: {rel_path}", "   :parser: myst_parser.sphinx_", ""]
        self.state_machine.insert_input(StringList(lines, str(found[0])), str(found[0]))
        return []


def _defined_by_sknoisy(obj) -> bool:
    func = obj.fget if isinstance(obj, property) else obj
    func = getattr(func, "__func__", func)
    if not (inspect.isfunction(func) or isinstance(obj, property)):
        return False
    module = getattr(func, "__module__", "") or ""
    return module.split(".")[0] == "sknoisy" and bool(func.__doc__)


def skip_member(app, what, name, obj, skip, options):
    """Show on class pages only members that sknoisy defines and documents."""
    if skip:
        return True
    if what in ("class", "exception"):
        return not _defined_by_sknoisy(obj)
    return None


def report_problems(app) -> None:
    for problem in _PROBLEMS:
        logger.warning("sknoisy docs: %s", problem)


def setup(app):
    app.add_directive("sknoisy-results", BenchmarkResults)
    app.connect("autodoc-skip-member", skip_member)
    app.connect("builder-inited", report_problems)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
