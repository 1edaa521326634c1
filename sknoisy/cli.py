"""The ``sknoisy`` command: find suspect labels in a CSV/Parquet file, run the benchmark.

``sknoisy detect data.csv --label-column y`` ranks the rows of a table by how likely
their label is wrong; ``sknoisy benchmark`` runs :mod:`sknoisy.benchmark`. Errors in the
input end the command with exit status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ._registry import METHODS, MissingDependencyError, detector_names, make_detector

__all__ = ["build_parser", "encode_features", "main", "read_table"]

_READERS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".parquet": "parquet",
            ".pq": "parquet"}

# Files larger than this are streamed (--chunksize's default), in chunks of this many rows:
# a table of a million rows and twenty numeric columns is about 160 MB as Parquet and
# 400 MB as CSV, several times that as a pandas DataFrame.
STREAM_ABOVE_BYTES = 100 * 2**20
DEFAULT_CHUNK_ROWS = 100_000


class InputError(Exception):
    """A problem with the user's input, reported as one line with exit status 2."""


def _format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz" and len(suffixes) > 1:
        suffixes = suffixes[:-1]
    kind = _READERS.get(suffixes[-1] if suffixes else "")
    if kind is None:
        raise InputError(f"{path}: unknown file type {path.suffix!r}; use .csv, .tsv or "
                         ".parquet (optionally .csv.gz).")
    return kind


def read_table(path) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet file into a DataFrame, chosen by the file's extension.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.tsv``, ``.txt`` (comma-separated), ``.parquet`` or ``.pq``; text
        files may be gzipped (``.csv.gz``).

    Returns
    -------
    table : pandas.DataFrame

    Raises
    ------
    InputError
        If the file is missing, of an unknown type, unreadable or empty.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sknoisy.cli import read_table
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "t.csv"
    ...     _ = path.write_text("a,y\\n1,x\\n2,z\\n")
    ...     read_table(path).shape
    (2, 2)
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file.")
    kind = _format(path)
    try:
        if kind == "parquet":
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, sep="\t" if kind == "tsv" else ",")
    except Exception as exc:  # pandas raises many types for a bad file; all mean "unreadable"
        detail = " ".join(str(exc).split())[:200]
        raise InputError(f"{path}: cannot read it as {kind} ({type(exc).__name__}: "
                         f"{detail}).") from exc
    if table.empty:
        raise InputError(f"{path}: the table has no rows.")
    return table


def encode_features(table: pd.DataFrame, max_categories: int = 20):
    """Turn a table's columns into a float32 feature matrix for a network.

    Numeric and boolean columns are standardised (missing values: the column median);
    text/categorical columns with at most ``max_categories`` distinct values are
    one-hot encoded (missing values, when there are some: a category of their own).
    Anything else is an error naming the columns.

    Parameters
    ----------
    table : pandas.DataFrame
        The feature columns only.
    max_categories : int, default=20
        Most distinct values a text column may have to be one-hot encoded.

    Returns
    -------
    X : ndarray of shape (n_rows, n_features), float32
    notes : list of str
        What was done that the user should know (imputed columns).

    Raises
    ------
    InputError
        For high-cardinality text columns, date/time columns or no columns at all.

    Examples
    --------
    >>> import pandas as pd
    >>> from sknoisy.cli import encode_features
    >>> table = pd.DataFrame({"size": [1.0, 2.0, 3.0], "colour": ["red", "blue", "red"]})
    >>> X, notes = encode_features(table)
    >>> X.shape, notes
    ((3, 3), [])
    """
    if table.shape[1] == 0:
        raise InputError("no feature columns left; keep at least one column besides the "
                         "label.")
    numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])
               or pd.api.types.is_bool_dtype(table[c])]
    temporal = [c for c in table.columns if pd.api.types.is_datetime64_any_dtype(table[c])
                or pd.api.types.is_timedelta64_dtype(table[c])]
    categorical = [c for c in table.columns if c not in numeric and c not in temporal]
    too_many = {c: int(table[c].nunique()) for c in categorical
                if table[c].nunique() > max_categories}
    if temporal:
        raise InputError(f"date/time columns {temporal} are not supported; drop them with "
                         "--drop-columns or turn them into numbers first.")
    if too_many:
        listed = ", ".join(f"{c!r} ({n} distinct values)" for c, n in too_many.items())
        raise InputError(f"columns {listed} look like text or identifiers (more than "
                         f"{max_categories} distinct values), which cannot be one-hot "
                         "encoded; drop them with --drop-columns or raise --max-categories.")
    notes, parts = [], []
    if numeric:
        values = table[numeric].astype(np.float64)
        missing = [c for c in numeric if values[c].isna().any()]
        if missing:
            notes.append(f"missing values in {missing} replaced by the column median")
            values = values.fillna(values.median()).fillna(0.0)
        std = values.std(ddof=0).replace(0.0, 1.0)
        parts.append(((values - values.mean()) / std).to_numpy())
    if categorical:
        for column in categorical:
            values = table[column].astype("string")
            parts.append(pd.get_dummies(values, dummy_na=bool(values.isna().any()),
                                        dtype=np.float64).to_numpy())
    return np.hstack(parts).astype(np.float32), notes


def _check_label(table: pd.DataFrame, column: str, path: Path):
    if column not in table.columns:
        raise InputError(f"{path}: no column {column!r}; the columns are "
                         f"{list(map(str, table.columns))[:30]}.")
    labels = table[column]
    missing = labels.isna()
    if missing.any():
        rows = list(table.index[missing][:5])
        raise InputError(f"{path}: the label column {column!r} has {int(missing.sum())} "
                         f"missing values (rows {rows}{'...' if missing.sum() > 5 else ''}); "
                         "fill or remove those rows first.")
    values = labels.to_numpy()
    if values.dtype == object:
        # Mixed types (a column of mostly numbers with a stray word) compare as text.
        values = labels.astype(str).to_numpy()
    if len(np.unique(values)) < 2:
        raise InputError(f"{path}: the label column {column!r} has a single class "
                         f"({values[0]!r}); there is nothing to detect.")
    return values


def _epoch_params(method: str, epochs) -> dict:
    """--epochs as the detector understands it: its warm-up, or its network's length."""
    if epochs is None:
        return {}
    if "warmup_epochs" in make_detector(method).get_params(deep=False):
        return {"warmup_epochs": epochs}
    # A detector that trains its network to the end (confident learning's folds).
    from ._core._base import NoisyNetClassifier
    return {"estimator": NoisyNetClassifier(max_epochs=epochs)}


def _ranked(table, label_column, labels, detector) -> pd.DataFrame:
    scores = detector.noise_scores_
    out = pd.DataFrame({
        "row_index": table.index, "noise_score": scores, "is_suspect": detector.is_noisy_,
        "given_label": labels, "suggested_label": detector.suggested_labels_,
    })
    rest = table.drop(columns=[label_column])
    rest = rest[[c for c in rest.columns if c not in out.columns]]
    out = pd.concat([out.reset_index(drop=True), rest.reset_index(drop=True)], axis=1)
    order = np.argsort(-scores, kind="stable")
    out = out.iloc[order].reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def _write(frame: pd.DataFrame, out: Path) -> None:
    kind = _format(out)
    if kind == "parquet":
        frame.to_parquet(out, index=False)
    else:
        frame.to_csv(out, index=False, sep="\t" if kind == "tsv" else ",")


def _fit_detector(args, X, labels, path):
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    detector = make_detector(args.method, random_state=args.random_state,
                             **_epoch_params(args.method, args.epochs))
    start = time.perf_counter()
    try:
        detector.fit(X, labels)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from exc
    return detector, time.perf_counter() - start


def _print_summary(args, n_rows, n_features, detector, seconds, notes, ranked, out):
    """The summary and the top suspects; ``ranked`` needs only the printed columns."""
    n_flag = int(detector.is_noisy_.sum())
    print(f"sknoisy detect: {n_rows} rows, {len(detector.classes_)} classes, "
          f"{n_features} features, method {args.method} ({seconds:.1f} s).")
    for note in notes:
        print(f"Note: {note}.")
    print(f"Estimated noise rate: {detector.noise_rate_:.3f}; {n_flag} rows flagged as "
          "suspect.")
    print(f"Top {min(args.top, n_rows)} suspects:")
    columns = ["rank", "row_index", "given_label", "suggested_label", "noise_score"]
    print(ranked[columns].head(args.top).to_string(index=False, float_format="%.3f"))
    print(f"Wrote {n_rows} ranked rows to {out}." if out is not None else
          "Pass --out suspects.csv to save every row ranked by noise score.")


def _detect(args) -> int:
    path = Path(args.data)
    out = Path(args.out) if args.out else None
    if out is not None:
        if out.resolve() == path.resolve():
            raise InputError(f"--out {out} is the input file; sknoisy never overwrites its "
                             "input. Choose another name.")
        _format(out)
        if out.exists() and not args.force:
            raise InputError(f"--out {out} already exists; pass --force to replace it or "
                             "choose another name.")
    for option, value in (("--epochs", args.epochs), ("--top", args.top),
                          ("--max-categories", args.max_categories),
                          ("--chunksize", args.chunksize)):
        if value is not None and value < 1:
            raise InputError(f"{option} must be a positive int; got {value}.")
    chunksize = args.chunksize
    if chunksize is None and path.is_file() and path.stat().st_size > STREAM_ABOVE_BYTES:
        chunksize = DEFAULT_CHUNK_ROWS
    if chunksize is not None:
        return _detect_streaming(args, path, out, chunksize)
    table = read_table(path)
    labels = _check_label(table, args.label_column, path)
    drop = list(args.drop_columns or [])
    unknown = [c for c in drop if c not in table.columns]
    if unknown:
        raise InputError(f"--drop-columns {unknown} are not columns of {path}.")
    if args.label_column in drop:
        raise InputError(f"--drop-columns includes the label column {args.label_column!r}.")
    X, notes = encode_features(table.drop(columns=[args.label_column, *drop]),
                               args.max_categories)
    detector, seconds = _fit_detector(args, X, labels, path)
    ranked = _ranked(table, args.label_column, labels, detector)
    if out is not None:
        _write(ranked, out)
    _print_summary(args, len(table), X.shape[1], detector, seconds, notes, ranked, out)
    return 0


def _read_error(path: Path, kind: str, exc: Exception) -> InputError:
    detail = " ".join(str(exc).split())[:200]
    return InputError(f"{path}: cannot read it as {kind} ({type(exc).__name__}: {detail}).")


def _detect_streaming(args, path: Path, out, chunksize: int) -> int:
    """``_detect`` for a table read in chunks; the features live in a memory map on disk.

    Same checks, messages, encoding and output as the in-memory path; a column with
    too many categories is reported without counting all its values.
    """
    from . import _table_stream as stream

    if not path.is_file():
        raise InputError(f"{path}: no such file.")
    kind = _format(path)
    drop = list(args.drop_columns or [])
    with tempfile.TemporaryDirectory(prefix="sknoisy-detect-") as tmp:
        tmp = Path(tmp)
        try:
            scan = stream.scan_table(path, kind, chunksize, args.label_column, set(drop),
                                     args.max_categories)
        except stream.StreamError as exc:
            raise InputError(str(exc)) from exc
        except Exception as exc:  # pandas/pyarrow raise many types for a bad file
            raise _read_error(path, kind, exc) from exc
        stream.check_scan(scan, path, args.label_column, drop, args.max_categories)
        try:
            filled = stream.medians(path, kind, chunksize, scan)
            X = stream.encode_to_memmap(path, kind, chunksize, scan, filled,
                                        tmp / "features.f32")
        except Exception as exc:
            raise _read_error(path, kind, exc) from exc
        imputed = [c for c in scan.numeric() if scan.features[c].missing]
        notes = [f"missing values in {imputed} replaced by the column median"] if imputed else []
        notes.append(f"read in {scan.n_chunks} chunk(s) of up to {chunksize} rows; the "
                     f"{X.nbytes / 2**20:.1f} MiB of features were memory-mapped from a "
                     "temporary file, not held in memory")
        detector, seconds = _fit_detector(args, X, scan.labels, path)
        ranking = stream.ranking_columns(scan.labels, detector)
        if out is not None:
            stream.write_ranked(path, kind, chunksize, scan, ranking, args.label_column,
                                out, _format(out), tmp)
        top = ranking.iloc[np.argsort(ranking["rank"].to_numpy())[:args.top]]
        _print_summary(args, scan.n_rows, X.shape[1], detector, seconds, notes, top, out)
        del X
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``sknoisy`` command and its subcommands.

    Returns
    -------
    parser : argparse.ArgumentParser

    Examples
    --------
    >>> from sknoisy.cli import build_parser
    >>> args = build_parser().parse_args(["detect", "data.csv", "--label-column", "y"])
    >>> args.command, args.method, args.out
    ('detect', 'o2u', None)
    """
    from .benchmark import add_benchmark_arguments
    from .benchmark._cli import DESCRIPTION, EPILOG

    parser = argparse.ArgumentParser(
        prog="sknoisy", description="Learning with noisy labels: find suspect labels in a "
        "table, or benchmark the methods.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    detect = sub.add_parser(
        "detect", help="rank the rows of a CSV/Parquet file by how likely their label is "
        "wrong", description="Rank the rows of a CSV/Parquet file by how likely their label "
        "is wrong (O2U-Net or a Beta mixture on per-sample losses of a small network).")
    detect.add_argument("data", help="input file: .csv, .tsv, .parquet (never modified)")
    detect.add_argument("--label-column", required=True, help="name of the label column")
    detect.add_argument("--method", choices=detector_names(), default="o2u",
                        help="; ".join(f"{name}: {METHODS[name].detector.split(':')[1]}"
                                       for name in detector_names()) + " (default: o2u)")
    detect.add_argument("--out", default=None,
                        help="write every row ranked by noise score here (.csv/.parquet)")
    detect.add_argument("--force", action="store_true", help="replace an existing --out")
    detect.add_argument("--drop-columns", type=lambda s: [c for c in s.split(",") if c],
                        default=None, help="comma-separated columns to ignore (ids, text)")
    detect.add_argument("--max-categories", type=int, default=20,
                        help="one-hot encode text columns with at most this many distinct "
                             "values (default: 20)")
    detect.add_argument("--epochs", type=int, default=None,
                        help="epochs of the detector's network: O2U's and BMM's warm-up, "
                             "each cross-validation fit of 'confident' (default: the "
                             "detector's, 10)")
    detect.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    detect.add_argument("--top", type=int, default=10, help="suspects printed (default: 10)")
    detect.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's choice)")
    detect.add_argument("--chunksize", type=int, default=None,
                        help="read the file this many rows at a time and keep the features "
                             "in a float32 memory map in a temporary directory ($TMPDIR), "
                             "for tables larger than memory (default: stream files over "
                             f"{STREAM_ABOVE_BYTES // 2**20} MB, {DEFAULT_CHUNK_ROWS} rows "
                             "at a time)")
    bench = sub.add_parser(
        "benchmark", help="benchmark noisy-label methods against cross-entropy, from "
        "options or a configuration file", description=DESCRIPTION,
        epilog=EPILOG % {"prog": "sknoisy benchmark"},
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_benchmark_arguments(bench)
    return parser


def main(argv=None) -> int:
    """Run the ``sknoisy`` command; return its exit status.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments (None: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 2 on bad usage or bad input (a one-line message on stderr).

    Examples
    --------
    >>> from sknoisy.cli import main
    >>> main(["detect", "missing.csv", "--label-column", "y"])
    2
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if args.command == "benchmark":
        from .benchmark import benchmark_main

        # Parsed again by the runner's own front end, which also reads --config files.
        return benchmark_main(argv[argv.index("benchmark") + 1:], prog="sknoisy benchmark")
    try:
        return _detect(args)
    except (InputError, ValueError, FileExistsError, FileNotFoundError,
            MissingDependencyError) as exc:
        message = " ".join(str(exc).split())
        print(f"sknoisy {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
