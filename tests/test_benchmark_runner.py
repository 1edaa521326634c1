"""The benchmark runner: tiny real runs, the summary arithmetic and the output folder rules."""

import math
import runpy
import sys

import numpy as np
import pandas as pd
import pytest

from sknoisy import NoisyNetClassifier
from sknoisy.benchmark import (
    METHODS,
    BenchmarkResult,
    Method,
    format_markdown,
    prepare_output,
    run_benchmark,
    summarise,
    write_outputs,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits_run():
    return run_benchmark("digits", "symmetric", 0.4, methods=["ce", "bmm"], seeds=1,
                         epochs=2, progress=False)


def test_run_benchmark_measures_each_method(digits_run):
    records = digits_run.records
    assert list(records["method"]) == ["ce", "bmm"]
    assert records["accuracy"].between(0, 1).all()
    assert (records["fit_time"] > 0).all() and (records["cpu_time"] > 0).all()
    ce, bmm = records.set_index("method").loc[["ce", "bmm"], "auprc"]
    assert math.isnan(ce) and 0 < bmm <= 1
    # The realised rate is the share of flipped training labels (1257 digits).
    assert abs(records["realised_rate"].iloc[0] - 0.4) < 0.05
    flipped, scores = digits_run.detection[("digits", "symmetric", 0.4)]
    assert flipped.shape == (1257,) and set(scores) == {"bmm"}


def test_write_outputs_table_and_plots(digits_run, tmp_path):
    out = tmp_path / "new" / "out"
    paths = write_outputs(digits_run, out, command="sknoisy benchmark --epochs 2")
    names = sorted(p.name for p in paths)
    assert names == ["accuracy_digits_symmetric.png", "pr_digits_symmetric_0.4.png",
                     "results.csv", "results.md"]
    for name in names:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == PNG_MAGIC
    text = (out / "results.md").read_text()
    assert "sknoisy benchmark --epochs 2" in text
    assert "| method | clean-test accuracy | detection AUPRC |" in text
    rows = [line for line in text.splitlines() if line.startswith("| ce |")
            or line.startswith("| bmm |")]
    assert len(rows) == 2 and "—" in rows[0] and "—" not in rows[1].split("|")[3]
    assert len(pd.read_csv(out / "results.csv")) == 2


def test_run_benchmark_alternates_methods_and_always_runs_ce():
    result = run_benchmark("wine", "pairflip", [0.2], methods=["gce"], seeds=[3, 4],
                           epochs=1, progress=False)
    records = result.records
    assert set(records["method"]) == {"ce", "gce"}
    order = records.pivot(index="seed", columns="method", values="order")
    assert order.loc[3].tolist() == [0, 1] and order.loc[4].tolist() == [1, 0]


def test_summarise_time_ratio_and_spread():
    records = pd.DataFrame({
        "dataset": "d", "noise_type": "symmetric", "noise_rate": 0.2, "seed": [0, 0, 1, 1],
        "method": ["ce", "slow", "slow", "ce"], "accuracy": [0.5, 0.6, 0.8, 0.7],
        "auprc": [np.nan, 0.9, 0.7, np.nan], "fit_time": [1.0, 3.0, 5.0, 3.0],
        "cpu_time": [1.0, 1.0, 2.0, 2.0], "realised_rate": 0.2, "order": [0, 1, 0, 1]})
    summary = summarise(BenchmarkResult(records=records, config={"methods": ["ce", "slow"]}))
    slow = summary.set_index("method").loc["slow"]
    assert slow["time_ratio"] == pytest.approx(8.0 / 4.0)
    assert slow["cpu_ratio"] == pytest.approx(3.0 / 3.0)
    assert slow["accuracy_mean"] == pytest.approx(0.7)
    assert slow["accuracy_std"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    assert slow["auprc_mean"] == pytest.approx(0.8)
    assert "| slow | 0.700 ± 0.141 | 0.800 ± 0.141 | 4.0 | 2.00 | 1.00 |" in format_markdown(
        BenchmarkResult(records=records, config={"methods": ["ce", "slow"], "seeds": [0, 1]}))


def test_registry_takes_a_new_method_in_one_line(monkeypatch):
    monkeypatch.setitem(METHODS, "small_net", Method(
        lambda c: NoisyNetClassifier(module__hidden_sizes=(4,), **c.net_params()),
        "a tiny net"))
    result = run_benchmark("wine", methods=["small_net"], seeds=1, epochs=1, progress=False)
    assert set(result.records["method"]) == {"ce", "small_net"}


@pytest.mark.parametrize("kwargs, match", [
    ({"datasets": "mnist"}, "unknown datasets"),
    ({"methods": ["nope"]}, "unknown methods"),
    ({"noise_rates": 1.0}, r"\[0, 1\)"),
    ({"noise_types": "asymmetric"}, "needs 10 classes"),
    ({"seeds": 0}, "positive count"),
    ({"epochs": 0}, "positive int"),
])
def test_run_benchmark_rejects_bad_config(kwargs, match):
    config = dict(datasets="wine", methods=["ce"], seeds=1, epochs=1, progress=False)
    with pytest.raises(ValueError, match=match):
        run_benchmark(**{**config, **kwargs})


def test_output_folder_never_replaces_foreign_files(digits_run, tmp_path):
    (tmp_path / "results.md").write_text("someone else's notes")
    (tmp_path / "keep.txt").write_text("unrelated")
    with pytest.raises(FileExistsError, match="--force"):
        write_outputs(digits_run, tmp_path)
    assert (tmp_path / "results.md").read_text() == "someone else's notes"
    write_outputs(digits_run, tmp_path, force=True)
    # Its own files from a previous run are replaced without force; stale ones removed.
    only_ce = BenchmarkResult(
        records=digits_run.records[digits_run.records["method"] == "ce"],
        config=digits_run.config, descriptions=digits_run.descriptions)
    written = write_outputs(only_ce, tmp_path)
    assert not (tmp_path / "pr_digits_symmetric_0.4.png").exists()
    assert (tmp_path / "keep.txt").read_text() == "unrelated"
    assert "| bmm |" not in (tmp_path / "results.md").read_text()
    assert len(written) == 3
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        prepare_output(tmp_path / "file", digits_run.config)


def test_cleanlab_baseline_scores_every_training_sample():
    pytest.importorskip("cleanlab")
    result = run_benchmark("wine", "symmetric", 0.3, methods=["cleanlab"], seeds=1, epochs=2,
                           progress=False)
    flipped, scores = result.detection[("wine", "symmetric", 0.3)]
    assert scores["cleanlab"].shape == flipped.shape
    assert np.all((scores["cleanlab"] >= 0) & (scores["cleanlab"] <= 1))


def test_python_m_sknoisy_benchmark(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    monkeypatch.setattr(sys, "argv", ["sknoisy.benchmark", "--datasets", "wine", "--methods",
                                      "ce", "--seeds", "1", "--epochs", "1", "--quiet",
                                      "--out", str(out)])
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("sknoisy.benchmark", run_name="__main__")
    assert exc.value.code == 0
    assert (out / "results.md").exists()
    assert "| ce |" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["sknoisy.benchmark", "--noise-rates", "1.5", "--out",
                                      str(out)])
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("sknoisy.benchmark", run_name="__main__")
    assert exc.value.code == 2
    assert "[0, 1)" in capsys.readouterr().err
