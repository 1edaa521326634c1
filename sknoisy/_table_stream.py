"""``sknoisy detect`` on tables larger than memory: read in chunks, features memory-mapped.

The table is read ``chunksize`` rows at a time (pandas' chunked CSV reader, pyarrow's
Parquet batches) in a few passes: one to learn the columns (kinds, categories, means
and spreads, labels), one per group of numeric columns with missing values (their
medians), one to write the encoded features into a float32 memory map in a temporary
directory, and one to write the ranked rows. The encoding is that of
:func:`sknoisy.cli.encode_features`; the detector then reads the memory map batch by
batch. What is held in memory is one chunk plus O(n_rows) arrays (labels, scores).
"""

from __future__ import annotations

import math
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["ColumnScan", "StreamError", "TableScan", "check_scan", "encode_to_memmap",
           "iter_table", "medians", "ranking_columns", "scan_table", "write_ranked"]


class StreamError(ValueError):
    """A problem with the table found while streaming it (reported like ``InputError``)."""


def _is_numeric(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def _is_temporal(dtype) -> bool:
    return pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype)


def iter_table(path: Path, kind: str, chunksize: int, *, columns=None, as_text=()):
    """Yield the table's rows as DataFrames of at most ``chunksize`` rows.

    Parameters
    ----------
    path : Path
        A CSV/TSV (optionally gzipped) or Parquet file.
    kind : {'csv', 'tsv', 'parquet'}
        The format.
    chunksize : int
        Rows per chunk.
    columns : list of str or None, default=None
        Read only these columns.
    as_text : collection of str, default=()
        CSV columns read as text (Parquet columns have one type each).

    Yields
    ------
    chunk : pandas.DataFrame
        Indexed by the rows' positions in the file.
    """
    start = 0
    if kind == "parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        # A pandas index saved in the file is not a feature.
        meta = parquet.schema_arrow.pandas_metadata or {}
        index_columns = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
        names = [n for n in parquet.schema_arrow.names if n not in index_columns]
        chunks = (batch.to_pandas() for batch in parquet.iter_batches(
            batch_size=chunksize, columns=list(columns) if columns is not None else names))
    else:
        chunks = pd.read_csv(path, sep="\t" if kind == "tsv" else ",", chunksize=chunksize,
                             usecols=columns, dtype={c: str for c in as_text} or None)
    for chunk in chunks:
        chunk.index = pd.RangeIndex(start, start + len(chunk))
        start += len(chunk)
        yield chunk


@dataclass
class ColumnScan:
    """What one pass learned about a feature column."""

    kinds: set = field(default_factory=set)
    count: int = 0          # non-missing values (numeric)
    mean: float = 0.0
    m2: float = 0.0         # sum of squared deviations from the mean
    missing: int = 0
    categories: set = field(default_factory=set)
    too_many: bool = False
    has_missing: bool = False

    def add_numeric(self, values: pd.Series) -> None:
        v = values.astype(np.float64).to_numpy()
        present = v[~np.isnan(v)]
        self.missing += len(v) - len(present)
        if len(present):
            # Chan et al.'s merge of (count, mean, m2) of two groups.
            mean = float(present.mean())
            m2 = float(((present - mean) ** 2).sum())
            total = self.count + len(present)
            delta = mean - self.mean
            self.mean += delta * len(present) / total
            self.m2 += m2 + delta * delta * self.count * len(present) / total
            self.count = total

    def add_categorical(self, values: pd.Series, max_categories: int) -> None:
        text = values.astype("string")
        self.has_missing |= bool(text.isna().any())
        if not self.too_many:
            self.categories.update(text.dropna().unique().tolist())
            self.too_many = len(self.categories) > max_categories

    def fill_and_spread(self, median: float) -> tuple[float, float]:
        """Mean and standard deviation once the missing values are set to ``median``."""
        n = self.count + self.missing
        delta = median - self.mean
        mean = self.mean + delta * self.missing / n
        m2 = self.m2 + delta * delta * self.count * self.missing / n
        std = math.sqrt(m2 / n)
        return mean, (std if std != 0.0 else 1.0)


@dataclass
class TableScan:
    """What the scan of a table learned: its columns, labels and size."""

    columns: list
    features: dict
    dtypes: dict
    label_kinds: set
    labels: np.ndarray
    n_rows: int
    n_chunks: int
    missing_labels: int
    first_missing: list
    as_text: set

    def numeric(self) -> list:
        return [c for c, s in self.features.items() if s.kinds == {"numeric"}]

    def temporal(self) -> list:
        return [c for c, s in self.features.items() if "temporal" in s.kinds]

    def categorical(self) -> list:
        return [c for c, s in self.features.items()
                if "temporal" not in s.kinds and s.kinds != {"numeric"}]


def scan_table(path, kind, chunksize, label_column, drop, max_categories) -> TableScan:
    """Learn the columns, labels and size of a table in one pass (two for mixed columns).

    A CSV column that parses as numbers in some chunks and as text in others is text,
    as pandas would read it whole; it is then read again as text throughout.
    """
    as_text: set = set()
    while True:
        scan = _scan_once(path, kind, chunksize, label_column, drop, max_categories, as_text)
        mixed = {c for c, s in scan.features.items() if len(s.kinds) > 1}
        if len(scan.label_kinds) > 1:
            mixed.add(label_column)
        if not (mixed - as_text) or kind == "parquet":
            return scan
        as_text |= mixed


def _scan_once(path, kind, chunksize, label_column, drop, max_categories, as_text):
    features: dict = {}
    dtypes: dict = {}
    labels, first_missing = [], []
    n_rows = n_chunks = missing_labels = 0
    columns = None
    label_kinds: set = set()
    for chunk in iter_table(path, kind, chunksize, as_text=as_text):
        if columns is None:
            columns = list(chunk.columns)
            if label_column not in columns:
                raise StreamError(f"{path}: no column {label_column!r}; the columns are "
                                  f"{list(map(str, columns))[:30]}.")
            features = {c: ColumnScan() for c in columns if c != label_column and c not in drop}
            dtypes = {c: set() for c in columns if c != label_column}
        n_chunks += 1
        n_rows += len(chunk)
        label = chunk[label_column]
        missing = label.isna().to_numpy()
        missing_labels += int(missing.sum())
        first_missing.extend(chunk.index[missing][:5 - len(first_missing)].tolist())
        label_kinds.add("numeric" if _is_numeric(label.dtype) else "text")
        labels.append(label.to_numpy())
        for column, seen in dtypes.items():
            seen.add(chunk[column].dtype)
        for column, scan in features.items():
            values = chunk[column]
            if _is_temporal(values.dtype):
                scan.kinds.add("temporal")
            elif _is_numeric(values.dtype):
                scan.kinds.add("numeric")
                scan.add_numeric(values)
            else:
                scan.kinds.add("text")
                scan.add_categorical(values, max_categories)
    if columns is None or n_rows == 0:
        raise StreamError(f"{path}: the table has no rows.")
    # Label values: as pandas gives them for the whole column; text when any chunk was.
    values = np.concatenate(labels) if labels else np.array([])
    if values.dtype == object:
        present = ~pd.isna(values)
        values[present] = values[present].astype(str)
    return TableScan(columns, features, dtypes, label_kinds, values, n_rows, n_chunks,
                     missing_labels, first_missing, set(as_text))


def check_scan(scan: TableScan, path, label_column: str, drop: list,
               max_categories: int) -> None:
    """The in-memory path's checks on labels, dropped columns and features (same messages).

    A column with too many categories is reported without counting all its values.
    """
    labels = scan.labels
    if scan.missing_labels:
        rows, more = scan.first_missing, "..." if scan.missing_labels > 5 else ""
        raise StreamError(f"{path}: the label column {label_column!r} has "
                          f"{scan.missing_labels} missing values (rows {rows}{more}); "
                          "fill or remove those rows first.")
    if len(np.unique(labels)) < 2:
        raise StreamError(f"{path}: the label column {label_column!r} has a single class "
                          f"({labels[0]!r}); there is nothing to detect.")
    unknown = [c for c in drop if c not in scan.columns]
    if unknown:
        raise StreamError(f"--drop-columns {unknown} are not columns of {path}.")
    if label_column in drop:
        raise StreamError(f"--drop-columns includes the label column {label_column!r}.")
    if not scan.features:
        raise StreamError("no feature columns left; keep at least one column besides the "
                          "label.")
    temporal = scan.temporal()
    if temporal:
        raise StreamError(f"date/time columns {temporal} are not supported; drop them with "
                          "--drop-columns or turn them into numbers first.")
    too_many = [c for c in scan.categorical() if scan.features[c].too_many]
    if too_many:
        listed = ", ".join(f"{c!r} (more than {max_categories} distinct values)"
                           for c in too_many)
        raise StreamError(f"columns {listed} look like text or identifiers, which cannot be "
                          "one-hot encoded; drop them with --drop-columns or raise "
                          "--max-categories.")


def ranking_columns(labels: np.ndarray, detector) -> pd.DataFrame:
    """The ranking columns of every row, in input order, from a fitted detector."""
    scores = detector.noise_scores_
    rank = np.empty(len(scores), dtype=np.int64)
    rank[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return pd.DataFrame({
        "rank": rank, "row_index": np.arange(len(scores)), "noise_score": scores,
        "is_suspect": detector.is_noisy_, "given_label": labels,
        "suggested_label": detector.suggested_labels_,
    })


def medians(path, kind, chunksize, scan: TableScan, budget_bytes: int = 2**27) -> dict:
    """Median of every numeric column with missing values (one pass per group of columns).

    A median needs the whole column; columns are read a few at a time so that at most
    ``budget_bytes`` of values are held.
    """
    wanted = [c for c in scan.numeric() if scan.features[c].missing]
    per_pass = max(1, budget_bytes // max(8 * scan.n_rows, 1))
    result = {}
    for start in range(0, len(wanted), per_pass):
        group = wanted[start:start + per_pass]
        parts = {c: [] for c in group}
        for chunk in iter_table(path, kind, chunksize, columns=group, as_text=scan.as_text):
            for c in group:
                parts[c].append(chunk[c].astype(np.float64).to_numpy())
        for c in group:
            values = np.concatenate(parts[c])
            values = values[~np.isnan(values)]
            # An empty column is filled with 0, as encode_features does.
            result[c] = float(np.median(values)) if len(values) else 0.0
    return result


def encode_to_memmap(path, kind, chunksize, scan: TableScan, filled: dict, out: Path):
    """Write the encoded features of every row into a float32 memory map at ``out``.

    Numeric columns: missing values set to their median, then standardised with the
    mean and spread of the filled column; text columns one-hot encoded over their
    sorted categories, plus a column for missing values when there are some. This is
    :func:`sknoisy.cli.encode_features`, computed chunk by chunk.

    Returns
    -------
    X : numpy.memmap of shape (n_rows, n_features), read-only
    """
    numeric, categorical = scan.numeric(), scan.categorical()
    centre, spread = {}, {}
    for c in numeric:
        centre[c], spread[c] = scan.features[c].fill_and_spread(filled.get(c, 0.0))
    categories = {c: sorted(scan.features[c].categories) for c in categorical}
    width = len(numeric) + sum(len(categories[c]) + scan.features[c].has_missing
                               for c in categorical)
    X = np.memmap(out, dtype=np.float32, mode="w+", shape=(scan.n_rows, width))
    start = 0
    for chunk in iter_table(path, kind, chunksize, columns=numeric + categorical,
                            as_text=scan.as_text):
        parts = []
        if numeric:
            values = chunk[numeric].astype(np.float64)
            if filled:
                values = values.fillna(filled)
            parts.append(((values - pd.Series(centre)) / pd.Series(spread)).to_numpy())
        for c in categorical:
            cats = categories[c]
            codes = pd.Categorical(chunk[c].astype("string"), categories=cats).codes
            block = np.zeros((len(chunk), len(cats) + scan.features[c].has_missing))
            present = codes >= 0
            block[np.flatnonzero(present), codes[present]] = 1.0
            if scan.features[c].has_missing:
                block[~present, -1] = 1.0
            parts.append(block)
        X[start:start + len(chunk)] = np.hstack(parts).astype(np.float32)
        start += len(chunk)
    X.flush()
    del X
    return np.memmap(out, dtype=np.float32, mode="r", shape=(scan.n_rows, width))


def _uniform_dtypes(scan: TableScan, rest: list) -> dict:
    """One dtype per output column, so that chunks read apart write as one table."""
    dtypes = {}
    for c in rest:
        seen = scan.dtypes[c]
        categorical = any(isinstance(d, pd.CategoricalDtype) for d in seen)
        if len(seen) > 1 or categorical:
            # Integers in some chunks and floats (missing values) in others are floats;
            # anything else mixed (or categories that differ between chunks) is text.
            numeric = not categorical and all(_is_numeric(d) for d in seen)
            dtypes[c] = np.float64 if numeric else "string"
    return dtypes


def write_ranked(path, kind, chunksize, scan: TableScan, ranking: pd.DataFrame,
                 label_column: str, out: Path, out_kind: str, tmp: Path) -> None:
    """Write every input row, most suspect first, without holding the table in memory.

    ``ranking`` holds the ranking columns, one row per input row in input order. The
    rows are bucketed by rank into files of at most ``chunksize`` rows in ``tmp`` (one
    pass over the input), then each bucket is sorted and appended to ``out``: an
    external bucket sort, so memory holds one chunk or one bucket at a time.
    """
    rest = [c for c in scan.columns if c != label_column and c not in ranking.columns]
    dtypes = _uniform_dtypes(scan, rest)
    ranks = ranking["rank"].to_numpy()
    by_rank = ranking.index.to_numpy()[np.argsort(ranks, kind="stable")]
    n_buckets = math.ceil(scan.n_rows / chunksize)
    buckets = [tmp / f"bucket{b}.pkl" for b in range(n_buckets)]
    handles = [open(b, "wb") for b in buckets]
    try:
        for chunk in iter_table(path, kind, chunksize, columns=rest, as_text=scan.as_text):
            # copy() consolidates the parser's one block per column into one per dtype,
            # so that the pieces pickle small and concatenate fast.
            chunk = (chunk.astype(dtypes) if dtypes else chunk).copy()
            rows = chunk.index.to_numpy()
            which = (ranks[rows] - 1) // chunksize
            for b in np.unique(which):
                pickle.dump(chunk[which == b], handles[b], protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        for handle in handles:
            handle.close()
    writer = None
    try:
        for b, bucket in enumerate(buckets):
            pieces = []
            with open(bucket, "rb") as handle:
                while True:
                    try:
                        pieces.append(pickle.load(handle))
                    except EOFError:
                        break
            os.remove(bucket)
            part = pd.concat(pieces)
            rows = by_rank[b * chunksize:(b + 1) * chunksize]
            frame = pd.concat([ranking.loc[rows].reset_index(drop=True),
                               part.loc[rows].reset_index(drop=True)], axis=1)
            writer = _append(frame, out, out_kind, writer, first=b == 0)
    finally:
        if writer is not None:
            writer.close()


def _append(frame, out, out_kind, writer, *, first):
    if out_kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False,
                                     schema=None if writer is None else writer.schema)
        if writer is None:
            writer = pq.ParquetWriter(out, table.schema)
        writer.write_table(table)
        return writer
    frame.to_csv(out, mode="w" if first else "a", header=first, index=False,
                 sep="\t" if out_kind == "tsv" else ",")
    return None
