"""``sknoisy detect`` on a table read in chunks: the in-memory result, bounded memory."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

import sknoisy.cli
from sknoisy._table_stream import encode_to_memmap, medians, scan_table
from sknoisy.cli import encode_features, main

FAST = ["--epochs", "3", "--random-state", "0", "--threads", "1"]


pytestmark = pytest.mark.usefixtures("restore_torch_threads")


@pytest.fixture(scope="module")
def frame():
    """Numbers with missing values, a text column, and columns whose type changes
    between chunks of 50 rows (ints then floats; digits then words)."""
    X, y = make_blobs(n_samples=180, centers=3, cluster_std=0.8, random_state=0)
    names = np.array(["oak", "pine", "birch"])
    labels = names[y]
    labels[::6] = names[(y[::6] + 1) % 3]
    rng = np.random.RandomState(0)
    table = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1],
                          "count": rng.randint(0, 5, len(y)).astype(float),
                          "soil": rng.choice(["clay", "sand"], len(y)), "species": labels,
                          "code": [str(i % 3) if i < 120 else "z" for i in range(len(y))]})
    table.loc[[3, 100], "x1"] = np.nan
    table.loc[[150], "soil"] = None
    table.loc[170:, "count"] = np.nan
    return table


def _run(args, capsys):
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_streamed_detect_writes_what_the_in_memory_detect_writes(suffix, frame, tmp_path,
                                                                 capsys):
    src = tmp_path / f"data.{suffix}"
    frame.to_csv(src, index=False) if suffix == "csv" else frame.to_parquet(src, index=False)
    read = pd.read_csv if suffix == "csv" else pd.read_parquet
    outputs = {}
    for name, extra in [("memory", []), ("streamed", ["--chunksize", "50"])]:
        out = tmp_path / f"{name}.{suffix}"
        status, stdout, _ = _run(["detect", src, "--label-column", "species", "--out", out,
                                  "--method", "bmm", *extra, *FAST], capsys)
        assert status == 0
        outputs[name] = (read(out), stdout)
    (memory, memory_log), (streamed, streamed_log) = outputs["memory"], outputs["streamed"]
    assert "read in 4 chunk(s) of up to 50 rows" in streamed_log
    assert "read in" not in memory_log
    assert list(streamed.columns) == list(memory.columns)
    pd.testing.assert_frame_equal(streamed, memory, check_exact=False, rtol=1e-5)


def test_streamed_encoding_is_encode_features(frame, tmp_path):
    src = tmp_path / "data.csv"
    frame.to_csv(src, index=False)
    scan = scan_table(src, "csv", 50, "species", set(), 20)
    X = encode_to_memmap(src, "csv", 50, scan, medians(src, "csv", 50, scan),
                         tmp_path / "X.f32")
    expected, _ = encode_features(pd.read_csv(src).drop(columns=["species"]))
    assert isinstance(X, np.memmap)
    np.testing.assert_allclose(X, expected, rtol=1e-6, atol=1e-6)


def test_large_files_stream_by_default(frame, tmp_path, capsys, monkeypatch):
    src = tmp_path / "data.csv"
    frame.to_csv(src, index=False)
    monkeypatch.setattr(sknoisy.cli, "STREAM_ABOVE_BYTES", src.stat().st_size - 1)
    monkeypatch.setattr(sknoisy.cli, "DEFAULT_CHUNK_ROWS", 100)
    status, stdout, _ = _run(["detect", src, "--label-column", "species", *FAST], capsys)
    assert status == 0 and "read in 2 chunk(s) of up to 100 rows" in stdout


@pytest.mark.parametrize("change, options, expected", [
    (lambda t: t.assign(species="oak"), [], "single class"),
    (lambda t: t.assign(species=t.species.where(t.index % 70 != 5)), [],
     "3 missing values (rows [5, 75, 145])"),
    (lambda t: t.assign(note=[f"n{i}" for i in range(len(t))]), [],
     "'note' (more than 20 distinct values)"),
    (lambda t: t, ["--drop-columns", "nope"], "--drop-columns ['nope']"),
    (lambda t: t, ["--label-column", "kind"], "no column 'kind'"),
])
def test_streamed_detect_reports_bad_input_like_the_in_memory_one(change, options, expected,
                                                                  frame, tmp_path, capsys):
    src = tmp_path / "data.csv"
    change(frame).to_csv(src, index=False)
    label = [] if "--label-column" in options else ["--label-column", "species"]
    status, _, stderr = _run(["detect", src, *label, *options, "--chunksize", "50", *FAST],
                             capsys)
    assert status == 2
    assert stderr.startswith("sknoisy detect: error:") and stderr.count("\n") == 1
    assert expected in stderr


def test_streamed_detect_holds_chunks_not_the_table(frame, tmp_path, capsys):
    # 5,000 rows x 80 numeric columns: 3 MiB as float64. Read whole, Python and numpy
    # allocated 11 MiB at once (the table, its float copies, the encoded features);
    # streamed 125 rows at a time, 2 MiB, most of it fixed-size buffers.
    small = tmp_path / "small.csv"
    frame.to_csv(small, index=False)
    args = ["--method", "bmm", "--chunksize", "125", *FAST]
    # A first run imports what the command needs: imports are allocations too.
    assert main(["detect", str(small), "--label-column", "species", "--out",
                 str(tmp_path / "small.parquet"), *args]) == 0
    rng = np.random.default_rng(0)
    values = rng.normal(size=(5000, 80))
    table = pd.DataFrame(values, columns=[f"f{i}" for i in range(80)])
    table["label"] = np.where(values[:, 0] > 0, "a", "b")
    src = tmp_path / "big.csv"
    table.to_csv(src, index=False, float_format="%.3f")
    del table
    tracemalloc.start()
    try:
        status = main(["detect", str(src), "--label-column", "label", "--out",
                       str(tmp_path / "out.parquet"), *args])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    capsys.readouterr()
    assert status == 0
    assert peak < values.nbytes, f"peak {peak / 2**20:.1f} MiB"
    ranked = pd.read_parquet(tmp_path / "out.parquet", columns=["rank", "row_index", "f0"])
    assert list(ranked["rank"]) == list(range(1, 5001))
    np.testing.assert_allclose(ranked["f0"], values[ranked["row_index"], 0], atol=5e-4)
