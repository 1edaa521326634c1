"""The benchmark runner and its registry: tiny real runs, the summary arithmetic, the
configuration files and the output folder rules."""

import argparse
import importlib
import math
import runpy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from sknoisy import NoisyNetClassifier
from sknoisy._registry import (
    MethodContext,
    MissingDependencyError,
    check_available,
    make_detector,
)
from sknoisy.benchmark import (
    METHODS,
    BenchmarkResult,
    Method,
    add_benchmark_arguments,
    benchmark_main,
    config_argv,
    format_markdown,
    load_config,
    parse_noise,
    prepare_output,
    run_benchmark,
    summarise,
    write_outputs,
)
from sknoisy.benchmark._measure import FitJob, _run_job
from sknoisy.benchmark._runner import _check_config
from sknoisy.detectors import find_noisy_labels

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = dict(seeds=1, epochs=2, progress=False)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits_run():
    return run_benchmark("digits", noise="symmetric:0.4", methods=["bmm"], n_train=300,
                         per_epoch=True, **TINY)


def test_run_benchmark_measures_each_method(digits_run):
    records = digits_run.records.set_index("method")
    # CE and CE stopped at its best noisy-validation epoch are in every run.
    assert list(records.index) == ["ce", "ce_early_stop", "bmm"]
    assert (records["fit_time"] > 0).all() and (records["cpu_time"] > 0).all()
    assert records["n_train"].eq(300).all()
    assert abs(records["realised_rate"].iloc[0] - 0.4) < 0.06
    # The detection metrics are those of the scores kept for the plots.
    flipped, scores = digits_run.detection[("digits", 300, "symmetric", 0.4)]
    assert flipped.shape == (300,) and set(scores) == {"bmm"}
    assert records.loc["bmm", "auprc"] == pytest.approx(
        average_precision_score(flipped, scores["bmm"]))
    assert math.isnan(records.loc["ce", "auprc"])
    # The detection stage is timed inside the pipeline's fit.
    assert 0 < records.loc["bmm", "detect_time"] < records.loc["bmm", "fit_time"]
    assert 0 < records.loc["bmm", "flagged"] < 1
    assert records.loc["ce_early_stop", "best_epoch"] in (1, 2)


def test_per_epoch_curves_give_the_peak(digits_run):
    records = digits_run.records.set_index("method")
    curve = digits_run.curves[("digits", 300, "symmetric", 0.4, 0, "ce")]
    assert len(curve) == 2
    assert records.loc["ce", "peak_accuracy"] == max(curve)
    assert records.loc["ce", "peak_epoch"] == int(np.argmax(curve)) + 1
    # The last epoch's clean-test accuracy is what the fitted net scores.
    assert records.loc["ce", "accuracy"] == pytest.approx(curve[-1])


def test_write_outputs_tables_and_plots(digits_run, tmp_path):
    out = tmp_path / "new" / "out"
    paths = write_outputs(digits_run, out, command="sknoisy benchmark --epochs 2")
    names = sorted(p.name for p in paths)
    assert names == ["accuracy_digits_symmetric.png", "curves.csv",
                     "pr_digits_symmetric_0.4.png", "results.csv", "results.md"]
    for name in names:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == PNG_MAGIC
    text = (out / "results.md").read_text()
    assert "sknoisy benchmark --epochs 2" in text
    assert "| method | symmetric 0.4 | fit time (s) | time / ce (CPU) | time / ce (wall) |" \
        in text
    assert "| *realised noise* |" in text
    for section in ("### Peak clean-test accuracy", "### Noise detection",
                    "### Noise-rate estimates"):
        assert section in text
    assert len(pd.read_csv(out / "results.csv")) == 3
    curves = pd.read_csv(out / "curves.csv")
    assert set(curves["method"]) == {"ce", "ce_early_stop", "bmm"}
    assert set(curves["epoch"]) == {1, 2}


def test_run_benchmark_alternates_methods():
    result = run_benchmark("wine", "pairflip", [0.2], methods=["gce"], seeds=[3, 4],
                           epochs=1, progress=False)
    order = result.records.pivot(index="seed", columns="method", values="order")
    assert order.loc[3, ["ce", "ce_early_stop", "gce"]].tolist() == [0, 1, 2]
    assert order.loc[4, ["ce", "ce_early_stop", "gce"]].tolist() == [2, 0, 1]


def test_noise_settings_sizes_and_reference_time():
    result = run_benchmark("wine", noise="uniform:0.3,symmetric:0.1", methods=["hand_loop"],
                           n_train=[60, 100], reference="hand_loop", **TINY)
    records = result.records
    assert list(dict.fromkeys(zip(records["noise_type"], records["noise_rate"]))) == [
        ("uniform", 0.3), ("symmetric", 0.1)]
    assert sorted(records["n_train"].unique()) == [60, 100]
    summary = summarise(result).set_index(["n_train", "noise_type", "method"])
    assert summary.loc[(60, "uniform", "hand_loop"), "time_ratio"] == pytest.approx(1.0)
    text = format_markdown(result)
    # The settings keep the order they were given in.
    assert "| method | uniform 0.3 | symmetric 0.1 |" in text
    assert "time / hand_loop (CPU)" in text and "## wine, 60 training rows" in text


def test_summarise_time_ratio_and_spread():
    records = pd.DataFrame({
        "dataset": "d", "n_train": 10, "noise_type": "symmetric", "noise_rate": 0.2,
        "seed": [0, 0, 1, 1], "method": ["ce", "slow", "slow", "ce"],
        "accuracy": [0.5, 0.6, 0.8, 0.7], "auprc": [np.nan, 0.9, 0.7, np.nan],
        "fit_time": [1.0, 3.0, 5.0, 3.0], "cpu_time": [1.0, 1.0, 2.0, 2.0],
        "rate_estimate": [np.nan, 0.25, 0.1, np.nan], "realised_rate": 0.2,
        "order": [0, 1, 0, 1]})
    result = BenchmarkResult(records=records, config={"methods": ["ce", "slow"],
                                                      "seeds": [0, 1]})
    slow = summarise(result).set_index("method").loc["slow"]
    assert slow["time_ratio"] == pytest.approx(8.0 / 4.0)
    assert slow["cpu_ratio"] == pytest.approx(3.0 / 3.0)
    assert slow["accuracy_mean"] == pytest.approx(0.7)
    assert slow["accuracy_std"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    assert slow["auprc_mean"] == pytest.approx(0.8)
    assert slow["rate_error_max"] == pytest.approx(0.1)
    text = format_markdown(result)
    assert "| slow | 0.700 ± 0.141 | 4.00 | 1.00 | 2.00 |" in text
    assert "| symmetric 0.2 | 0.200 | 0.175 ± 0.106 [0.100] |" in text


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(),
                    reason="peak memory is read from Linux's /proc")
def test_memory_is_measured_per_fit_and_tabled_against_size():
    job = FitJob("wine", "ce", MethodContext(n_classes=3, epochs=1, seed=0))
    row, curve, scores, _ = _run_job(job)
    assert row["peak_mib"] >= 0 and row["data_mib"] > 0 and curve is None and scores is None
    records = pd.DataFrame({
        "dataset": "s", "n_train": [1000, 1000, 3000, 3000], "noise_type": "symmetric",
        "noise_rate": 0.2, "seed": 0, "method": ["ce", "det"] * 2, "accuracy": 0.5,
        "fit_time": 1.0, "cpu_time": 1.0, "realised_rate": 0.2, "order": [0, 1, 0, 1],
        "peak_mib": [80.0, 80.0, 80.0, 80.0 + 2000 * 100 / 2**20], "data_mib": 0.1})
    text = format_markdown(BenchmarkResult(records=records, config={"seeds": [0]}))
    assert "| n_train | data MiB | ce fit MiB | det fit MiB |" in text
    assert "- det: 100 bytes per training row" in text


def test_detectors_alone_rates_and_the_method_numbers():
    result = run_benchmark("wine", noise="symmetric:0.2", methods=[
        "o2u_detect", "cj_rate", "distill_cv"], detector_epochs=1, **TINY)
    records = result.records.set_index("method")
    # A detector alone classifies nothing; all of its fit is detection.
    assert math.isnan(records.loc["o2u_detect", "accuracy"])
    assert records.loc["o2u_detect", "detect_time"] == records.loc["o2u_detect", "fit_time"]
    assert 0 <= records.loc["cj_rate", "rate_estimate"] < 1
    assert 0 <= records.loc["distill_cv", "teacher_accuracy"] <= 1
    text = format_markdown(result)
    assert "| noise | realised | o2u_detect | cj_rate |" in text
    assert "| distill_cv | teacher accuracy |" in text


def test_registry_takes_a_new_method_in_one_line(monkeypatch):
    monkeypatch.setitem(METHODS, "small_net", Method(
        lambda c: NoisyNetClassifier(module__hidden_sizes=(4,), **c.net_params()),
        "a tiny net"))
    result = run_benchmark("wine", methods=["small_net"], seeds=1, epochs=1, progress=False)
    assert set(result.records["method"]) == {"ce", "ce_early_stop", "small_net"}
    assert "- `small_net`: a tiny net." in format_markdown(result)


def test_missing_optional_package_is_reported_by_name(monkeypatch, capsys):
    # None in sys.modules makes `import cleanlab` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "cleanlab", None)
    message = "method 'cleanlab' needs the optional package cleanlab: pip install cleanlab"
    with pytest.raises(MissingDependencyError, match=message):
        check_available("cleanlab")
    with pytest.raises(MissingDependencyError, match=message):
        run_benchmark("wine", methods=["cleanlab"], **TINY)
    assert benchmark_main(["--datasets", "wine", "--methods", "cleanlab", "--quiet"]) == 2
    assert message in capsys.readouterr().err
    # Over all methods, the entry stays listed and is skipped with the reason.
    assert "cleanlab" in METHODS
    monkeypatch.setattr("sknoisy.benchmark._runner.METHODS", {
        name: METHODS[name] for name in ("ce", "ce_early_stop", "cleanlab")})
    result = run_benchmark("wine", methods=None, seeds=1, epochs=1, progress=False)
    assert "cleanlab" not in set(result.records["method"])
    assert result.skipped and message in result.skipped[0]
    assert "Not run (optional package missing):" in format_markdown(result)
    # A detector needing it is refused by name by find_noisy_labels as well.
    monkeypatch.setitem(METHODS, "fake", Method(
        lambda c: None, "a detector on cleanlab", detector="sknoisy.detectors:BMMLabelCleaner",
        requires=("cleanlab",)))
    with pytest.raises(MissingDependencyError, match="method 'fake' needs the optional"):
        find_noisy_labels(np.zeros((10, 2)), np.arange(10) % 2, method="fake")


def test_broken_import_of_sknoisy_fails_loudly(monkeypatch):
    real = importlib.import_module

    def broken(name, *args, **kwargs):
        if name == "sknoisy.losses":
            raise ImportError("cannot import name 'GCELoss' (simulated broken module)")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", broken)
    with pytest.raises(ImportError, match="simulated broken module"):
        run_benchmark("wine", methods=["gce"], seeds=1, epochs=1, progress=False)
    # Not skipped as if optional, not dropped from the default run either.
    monkeypatch.setattr("sknoisy.benchmark._runner.METHODS", {
        name: METHODS[name] for name in ("ce", "ce_early_stop", "gce")})
    with pytest.raises(ImportError, match="simulated broken module"):
        run_benchmark("wine", methods=None, seeds=1, epochs=1, progress=False)


def test_detector_entries_serve_find_noisy_labels():
    assert type(make_detector("o2u", warmup_epochs=3)).__name__ == "O2UNoiseDetector"
    with pytest.raises(ValueError,
                       match=r"method must be one of \['o2u', 'bmm', 'confident'\]"):
        make_detector("gce")
    with pytest.raises(TypeError, match="no parameter"):
        make_detector("bmm", cycle_length=3)


@pytest.mark.parametrize("kwargs, match", [
    ({"datasets": "mnist"}, "unknown datasets"),
    ({"methods": ["nope"]}, "unknown methods"),
    ({"noise_rates": 1.0}, r"\[0, 1\)"),
    ({"noise": "symmetric"}, "'type:rate'"),
    ({"noise": "gaussian:0.2"}, "unknown noise type"),
    ({"noise_types": "asymmetric"}, "needs 10 classes"),
    ({"seeds": 0}, "positive count"),
    ({"epochs": 0}, "positive int"),
    ({"n_train": [50, 0]}, "n_train must be a positive int"),
    ({"n_train": 500}, "wine has 124 train rows"),
    ({"reference": "nope"}, "unknown time reference"),
])
def test_run_benchmark_rejects_bad_config(kwargs, match):
    config = dict(datasets="wine", methods=["ce"], seeds=1, epochs=1, progress=False)
    with pytest.raises(ValueError, match=match):
        run_benchmark(**{**config, **kwargs})


def test_parse_noise():
    assert parse_noise(["pairflip:0.45", ("uniform", 0.1)]) == [("pairflip", 0.45),
                                                                ("uniform", 0.1)]


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
    assert not (tmp_path / "curves.csv").exists()
    assert (tmp_path / "keep.txt").read_text() == "unrelated"
    assert "| bmm |" not in (tmp_path / "results.md").read_text()
    assert len(written) == 3
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        prepare_output(tmp_path / "file", digits_run.config)


def test_cleanlab_detection_and_time_against_it():
    pytest.importorskip("cleanlab")
    result = run_benchmark("wine", "symmetric", 0.3, methods=["bmm", "cleanlab"],
                           detector_epochs=1, **TINY)
    flipped, scores = result.detection[("wine", 124, "symmetric", 0.3)]
    assert scores["cleanlab"].shape == flipped.shape
    assert np.all((scores["cleanlab"] >= 0) & (scores["cleanlab"] <= 1))
    records = result.records.set_index("method")
    assert 0 < records.loc["cleanlab", "detect_time"] < records.loc["cleanlab", "fit_time"]
    text = format_markdown(result)
    assert "detection CPU time / cleanlab |" in text
    cleanlab_row = next(line for line in text.splitlines()
                        if line.startswith("| symmetric 0.3 (") and "| cleanlab |" in line)
    assert cleanlab_row.endswith("| 1.00 |")


CONFIG = """\
# two parts sharing the dataset
datasets = ["wine"]
methods = ["gce"]
epochs = 50
net_params = {module__hidden_sizes = [8]}

[low]
noise = ["symmetric:0.1"]

[high]
noise = ["symmetric:0.3", "pairflip:0.2"]
per_epoch = true
"""


def test_configuration_file_parts_and_overrides(tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text(CONFIG)
    parts = load_config(path)
    assert list(parts) == ["low", "high"]
    assert parts["high"]["net_params"] == {"module__hidden_sizes": [8]}
    out = tmp_path / "out"
    # Options given on the command line win over the file's (a smoke-size run).
    argv = ["--config", str(path), "--epochs", "1", "--seeds", "1", "--quiet", "--out",
            str(out)]
    assert benchmark_main(argv, prog="sknoisy benchmark") == 0
    low = (out / "low" / "results.md").read_text()
    high = (out / "high" / "results.md").read_text()
    assert "Epoch budget: 1 for every method" in low
    assert "| method | symmetric 0.3 | pairflip 0.2 |" in high
    assert (out / "high" / "curves.csv").exists() and not (out / "low" / "curves.csv").exists()
    # Each part records the one command that regenerates it.
    assert f"sknoisy benchmark --config {path} --epochs 1" in high
    assert high.split("```")[1].strip().endswith("--part high")
    assert benchmark_main(argv + ["--part", "middle"]) == 2
    assert "has no part(s) ['middle']" in capsys.readouterr().err
    path.write_text(CONFIG.replace("epochs = 50", "epoch = 50"))
    assert benchmark_main(argv) == 2
    assert "unknown option 'epoch'" in capsys.readouterr().err


def test_repository_configurations_are_valid():
    pytest.importorskip("cleanlab")  # the detectors configuration runs it
    folder = Path(__file__).resolve().parents[1] / "benchmarks" / "configs"
    parser = add_benchmark_arguments(argparse.ArgumentParser())
    files = sorted(folder.glob("*.toml"))
    assert {f.stem for f in files} >= {"core", "losses", "coteaching", "detectors",
                                       "noise_rate", "detector_memory", "distillation"}
    for path in files:
        for name, options in load_config(path).items():
            args = parser.parse_args(config_argv(options, parser, f"{path} [{name}]"))
            config = _check_config(args.datasets, args.noise_types, args.noise_rates,
                                   args.methods, args.seeds, args.epochs, noise=args.noise,
                                   n_train=args.n_train, reference=args.reference,
                                   net_params=args.net_params)
            assert "ce_early_stop" in config["methods"], path


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


def test_default_entries_are_the_library_defaults():
    # Run as the defaults configuration runs them (30 epochs, early_stopping='auto',
    # standardize=True), every default_* entry is its estimator as a user would
    # construct it, bar the seed (and what an entry names, such as JoCoR's variant).
    from sklearn.base import clone

    ctx = MethodContext(n_classes=3, epochs=30, seed=4,
                        net_kwargs={"early_stopping": "auto", "standardize": True})
    names = [name for name in METHODS if name.startswith("default_")]
    assert len(names) >= 7
    for name in names:
        built = METHODS[name].build(ctx)
        steps = [step for _, step in built.steps] if hasattr(built, "steps") else [built]
        chosen = getattr(METHODS[name].build, "chosen_params", {})
        for step in steps:
            fresh = clone(step).set_params(random_state=None)
            expected = type(step)(**chosen).get_params(deep=False)
            assert fresh.get_params(deep=False) == expected, name
            assert step.random_state == 4


def test_defaults_configuration_keeps_the_core_defaults():
    # The harness turns early stopping and standardisation off for method comparisons;
    # the defaults table must turn each back to the library's own default.
    import tomllib
    from pathlib import Path

    from sknoisy import NoisyNetClassifier

    path = Path(__file__).parents[1] / "benchmarks" / "configs" / "defaults.toml"
    net_params = tomllib.loads(path.read_text())["net_params"]
    core = NoisyNetClassifier().get_params(deep=False)
    overridden = set(MethodContext(n_classes=2, epochs=1, seed=0).net_params()) - {
        "max_epochs", "random_state", "device"}
    assert overridden <= set(net_params)
    assert all(net_params[name] == core[name] for name in net_params)


def test_label_regularisation_entries_run_with_per_epoch_curves():
    # Class-relation smoothing fits a reference net first (its own stage), and Tf-KD self
    # clones its network, per-epoch callback included: the clone shares the clock.
    from sknoisy.benchmark import fit_and_measure, load_benchmark_dataset

    data = load_benchmark_dataset("wine")
    ctx = MethodContext(n_classes=3, epochs=2, seed=0)
    for name in ["knowledge_refinery", "class_relation_smoothing", "distill_reg_cs",
                 "distill_self_cs"]:
        row, curve, _, _ = fit_and_measure(name, ctx, data, data.y_train,
                                           np.zeros(len(data.y_train), bool), per_epoch=True)
        assert len(curve) == 2 and 0 <= row["accuracy"] <= 1, name
        assert row["fit_time"] > 0, name
    row, _, _, _ = fit_and_measure("class_relation_smoothing", ctx, data, data.y_train,
                                   np.zeros(len(data.y_train), bool))
    assert row["similarity_time"] > 0 and row["similarity_time"] < row["fit_time"]
