"""End-to-end tests of the ``sknoisy`` command on generated CSV and Parquet files."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import average_precision_score

from sknoisy.cli import encode_features, main

FAST = ["--epochs", "4", "--random-state", "0", "--threads", "1"]


# --threads sets torch's global thread count; give other test files theirs back.
pytestmark = pytest.mark.usefixtures("restore_torch_threads")


@pytest.fixture(scope="module")
def table():
    X, y = make_blobs(n_samples=180, centers=3, cluster_std=0.8, random_state=0)
    names = np.array(["oak", "pine", "birch"])
    labels = names[y]
    flipped = np.zeros(len(y), dtype=bool)
    flipped[::6] = True  # 30 of 180 rows (17%) get the next class's name
    labels[flipped] = names[(y[flipped] + 1) % 3]
    rng = np.random.RandomState(0)
    frame = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1],
                          "soil": rng.choice(["clay", "sand"], len(y)),
                          "species": labels})
    return frame, flipped


@pytest.fixture
def csv_file(tmp_path, table):
    path = tmp_path / "data.csv"
    table[0].to_csv(path, index=False)
    return path


def _run(args, capsys):
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_detect_writes_ranked_rows_and_keeps_input(csv_file, tmp_path, table, capsys):
    before = csv_file.read_bytes()
    out = tmp_path / "suspects.csv"
    status, stdout, _ = _run(["detect", csv_file, "--label-column", "species", "--out", out,
                              *FAST], capsys)
    assert status == 0
    assert csv_file.read_bytes() == before
    ranked = pd.read_csv(out)
    frame, flipped = table
    assert len(ranked) == len(frame)
    assert list(ranked["rank"]) == list(range(1, len(frame) + 1))
    assert np.all(np.diff(ranked["noise_score"]) <= 0)
    # Every row keeps its original index, its given label and its features.
    assert sorted(ranked["row_index"]) == list(range(len(frame)))
    original = frame.set_index(pd.RangeIndex(len(frame))).loc[ranked["row_index"]]
    assert list(ranked["given_label"]) == list(original["species"])
    np.testing.assert_allclose(ranked["x0"], original["x0"])
    assert set(ranked["suggested_label"]) <= {"oak", "pine", "birch"}
    # Flipped rows are ranked first far more often than chance.
    scores = np.empty(len(frame))
    scores[ranked["row_index"]] = ranked["noise_score"]
    assert average_precision_score(flipped, scores) > 0.5
    assert "Estimated noise rate" in stdout and "Top 10 suspects" in stdout


def test_cli_detect_parquet_with_bmm(tmp_path, table, capsys):
    src = tmp_path / "data.parquet"
    table[0].to_parquet(src, index=False)
    out = tmp_path / "suspects.parquet"
    status, stdout, _ = _run(["detect", src, "--label-column", "species", "--method", "bmm",
                              "--out", out, *FAST], capsys)
    assert status == 0
    ranked = pd.read_parquet(out)
    assert len(ranked) == len(table[0])
    assert ranked["noise_score"].between(0, 1).all()
    assert "method bmm" in stdout


def test_cli_detect_without_out_only_prints(csv_file, tmp_path, capsys):
    status, stdout, _ = _run(["detect", csv_file, "--label-column", "species", "--top", "3",
                              *FAST], capsys)
    assert status == 0
    assert "Top 3 suspects" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


def _error_cases(tmp_path, frame):
    cases = {}
    cases["missing label column"] = (["--label-column", "kind"], "no column 'kind'")
    one_class = frame.assign(species="oak")
    one_class.to_csv(tmp_path / "one.csv", index=False)
    cases["single class"] = (["--label-column", "species"], "single class", "one.csv")
    missing = frame.astype({"species": object}).copy()
    missing.loc[[3, 7], "species"] = None
    missing.to_csv(tmp_path / "missing.csv", index=False)
    cases["missing labels"] = (["--label-column", "species"], "2 missing values", "missing.csv")
    (tmp_path / "bad.parquet").write_bytes(b"this is not parquet")
    cases["unreadable"] = (["--label-column", "species"], "cannot read", "bad.parquet")
    (tmp_path / "data.xlsx").write_bytes(b"x")
    cases["unknown type"] = (["--label-column", "species"], "unknown file type", "data.xlsx")
    cases["absent file"] = (["--label-column", "species"], "no such file", "absent.csv")
    text = frame.assign(comment=[f"note {i}" for i in range(len(frame))])
    text.to_csv(tmp_path / "text.csv", index=False)
    cases["text column"] = (["--label-column", "species"], "'comment' (180 distinct", "text.csv")
    cases["unknown drop column"] = (["--label-column", "species", "--drop-columns", "nope"],
                                    "--drop-columns ['nope']")
    cases["bad top"] = (["--label-column", "species", "--top", "0"], "--top must be a positive")
    return cases


@pytest.mark.parametrize("case", ["missing label column", "single class", "missing labels",
                                  "unreadable", "unknown type", "absent file", "text column",
                                  "unknown drop column", "bad top"])
def test_cli_detect_bad_input_exits_2_with_one_line(case, csv_file, tmp_path, table, capsys):
    options, expected, *name = _error_cases(tmp_path, table[0])[case]
    path = tmp_path / (name[0] if name else "data.csv")
    before = path.read_bytes() if path.exists() else None
    status, stdout, stderr = _run(["detect", path, *options, *FAST], capsys)
    assert status == 2
    assert stderr.startswith("sknoisy detect: error:") and stderr.count("\n") == 1
    assert expected in stderr
    if before is not None:
        assert path.read_bytes() == before


def test_cli_detect_drop_columns_makes_text_data_usable(tmp_path, table, capsys):
    frame = table[0].assign(comment=[f"note {i}" for i in range(len(table[0]))])
    path = tmp_path / "text.csv"
    frame.to_csv(path, index=False)
    status, stdout, _ = _run(["detect", path, "--label-column", "species",
                              "--drop-columns", "comment", *FAST], capsys)
    assert status == 0
    assert "4 features" in stdout  # x0, x1 and soil one-hot as clay / sand


def test_cli_detect_refuses_to_overwrite(csv_file, tmp_path, capsys):
    out = tmp_path / "suspects.csv"
    out.write_text("precious\n")
    status, _, stderr = _run(["detect", csv_file, "--label-column", "species", "--out", out,
                              *FAST], capsys)
    assert status == 2 and "--force" in stderr
    assert out.read_text() == "precious\n"
    before = csv_file.read_bytes()
    for force in ([], ["--force"]):
        status, _, stderr = _run(["detect", csv_file, "--label-column", "species", "--out",
                                  csv_file, *force, *FAST], capsys)
        assert status == 2 and "never overwrites its input" in stderr
    assert csv_file.read_bytes() == before
    status, _, _ = _run(["detect", csv_file, "--label-column", "species", "--out", out,
                         "--force", *FAST], capsys)
    assert status == 0 and "rank" in out.read_text().splitlines()[0]


def test_encode_features_one_hot_and_imputes():
    table = pd.DataFrame({"a": [1.0, np.nan, 3.0, 5.0], "flag": [True, False, True, True],
                          "colour": ["red", None, "blue", "red"]})
    X, notes = encode_features(table)
    # a, flag, then colour as blue / red / missing
    assert X.shape == (4, 5) and X.dtype == np.float32
    assert np.isfinite(X).all()
    assert notes and "'a'" in notes[0]
    np.testing.assert_allclose(X[:, 2:].sum(axis=1), 1.0)
    np.testing.assert_allclose(X[:, 0].mean(), 0.0, atol=1e-6)


@pytest.mark.parametrize("command, options", [
    ("detect", ["--label-column", "o2u: O2UNoiseDetector; bmm: BMMLabelCleaner"]),
    ("benchmark", ["--noise-rates", "--config", "--part", "--per-epoch", "--memory",
                   "--reference", "benchmarks/configs/", "ce_early_stop"]),
])
def test_cli_help_of_each_subcommand(command, options, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in options:
        assert option in text


def test_cli_detect_methods_come_from_the_registry(csv_file, monkeypatch, capsys):
    from sknoisy._registry import METHODS, Method

    # A registered detector is a --method choice; one whose optional package is missing
    # stays listed and is refused by name.
    monkeypatch.setitem(METHODS, "needs_cleanlab", Method(
        lambda c: None, "a detector on cleanlab", requires=("cleanlab",),
        detector="sknoisy.detectors:BMMLabelCleaner"))
    monkeypatch.setitem(sys.modules, "cleanlab", None)
    status, _, stderr = _run(["detect", csv_file, "--label-column", "species", "--method",
                              "needs_cleanlab", *FAST], capsys)
    assert status == 2
    assert stderr.startswith("sknoisy detect: error: method 'needs_cleanlab' needs the "
                             "optional package cleanlab: pip install cleanlab")


def test_cli_benchmark_subcommand_writes_results(tmp_path, capsys):
    out = tmp_path / "bench"
    status, stdout, _ = _run(["benchmark", "--datasets", "wine", "--methods", "ce",
                              "--seeds", "1", "--epochs", "1", "--quiet", "--threads", "1",
                              "--out", out], capsys)
    assert status == 0
    text = (out / "results.md").read_text()
    assert "| ce |" in text and "sknoisy benchmark --datasets wine" in text
    assert "| ce |" in stdout and "| ce_early_stop |" in stdout


def test_cli_benchmark_runs_a_configuration_file(tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text('datasets = ["wine"]\nmethods = ["gce"]\nnoise = ["pairflip:0.2"]\n')
    out = tmp_path / "bench"
    status, stdout, _ = _run(["benchmark", "--config", config, "--seeds", "1", "--epochs",
                              "1", "--quiet", "--threads", "1", "--out", out], capsys)
    assert status == 0
    text = (out / "results.md").read_text()
    assert "| gce |" in text and "| method | pairflip 0.2 |" in text
    assert f"sknoisy benchmark --config {config}" in text
    status, _, stderr = _run(["benchmark", "--config", tmp_path / "absent.toml"], capsys)
    assert status == 2 and "no such file" in stderr


def test_cli_console_entry_point_exit_status(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sknoisy.cli", "detect",
                           str(tmp_path / "absent.csv"), "--label-column", "y"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"sknoisy detect: error: {tmp_path / 'absent.csv'}: no such file."]


def test_cli_detect_confident_learning_takes_epochs_as_its_network_length(csv_file, tmp_path,
                                                                          table, capsys):
    out = tmp_path / "suspects.csv"
    status, stdout, _ = _run(["detect", csv_file, "--label-column", "species", "--out", out,
                              "--method", "confident", "--epochs", 3], capsys)
    assert status == 0
    ranked = pd.read_csv(out)
    scores = np.empty(len(ranked))
    scores[ranked["row_index"]] = ranked["noise_score"]
    assert average_precision_score(table[1], scores) > 0.5
