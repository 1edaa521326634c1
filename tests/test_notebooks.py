"""The example notebooks run end to end at a tiny size and match their builder script."""

import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _builder():
    spec = importlib.util.spec_from_file_location("_build_notebooks",
                                                  EXAMPLES / "_build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fashion_mnist_available():
    from sknoisy.datasets import load_fashion_mnist

    try:
        load_fashion_mnist(subset="all", n_samples=10, random_state=0)
    except (OSError, ValueError):
        return False
    return True


@pytest.mark.parametrize("name", ["tabular.ipynb", "images.ipynb"])
def test_notebook_committed_matches_builder(name):
    committed = nbformat.read(EXAMPLES / name, as_version=4)
    built = _builder().build()[name]
    assert [c.source for c in committed.cells] == [c.source for c in built.cells]


@pytest.mark.parametrize("name", ["tabular.ipynb", "images.ipynb"])
def test_committed_outputs_come_from_the_current_code(name):
    committed = nbformat.read(EXAMPLES / name, as_version=4)
    recorded = committed.metadata.get("sknoisy", {})
    rerun = "run `python examples/_build_notebooks.py --execute` and commit the notebooks"
    assert recorded.get("quick") is False, f"{name} was not executed at full size; {rerun}"
    assert recorded.get("fingerprint") == _builder().fingerprint(committed), (
        f"{name}: its outputs come from older code than sknoisy/ or its cells now; {rerun}")


def test_fingerprint_follows_the_code(tmp_path, monkeypatch):
    builder = _builder()
    nb = builder.build()["tabular.ipynb"]
    package = tmp_path / "sknoisy"
    package.mkdir()
    (package / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(builder, "PACKAGE", package)
    before = builder.fingerprint(nb)
    (package / "a.py").write_text("x = 2\n")
    assert builder.fingerprint(nb) != before
    (package / "a.py").write_text("x = 1\n")
    assert builder.fingerprint(nb) == before
    nb.cells[0].source += " "
    assert builder.fingerprint(nb) != before


@pytest.mark.parametrize("name", ["tabular.ipynb", "images.ipynb"])
def test_notebook_runs_in_quick_mode(name, monkeypatch):
    if name == "images.ipynb" and not _fashion_mnist_available():
        pytest.skip("Fashion-MNIST files are absent (apt-get install dataset-fashion-mnist)")
    # The kernel inherits the environment: tiny sizes, one thread; ipykernel draws
    # figures inline (as PNG outputs).
    monkeypatch.setenv("SKNOISY_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = _builder().build()[name]
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # Every notebook draws figures and shows at least one results table.
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert any("text/html" in o.get("data", {}) for o in outputs)
