"""Inputs read batch by batch: a memory-mapped X never has to fit in memory.

A ``numpy.memmap`` (or any array whose memory is a memory map, such as
``np.load(path, mmap_mode='r')``) given to ``fit``, ``predict`` or a detector stays on
disk; so does a ``torch.utils.data.Dataset`` of samples (images read from files), whose
items are read when a batch needs them. Validation and the standardisation statistics
read X chunk by chunk, the hold-out split and cross-validation folds are
:class:`LazyRows` (row positions, not copies), and the training and prediction loops
read, cast and standardise one batch at a time through :class:`LazyArrayDataset`.
What is held in memory is O(n_samples): row positions, labels and the per-sample
state of the methods.
"""

from __future__ import annotations

import mmap

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["CHUNK_ELEMENTS", "LazyArrayDataset", "LazyRows", "is_lazy", "iter_chunks",
           "mean_and_std"]

# Values read at once when a lazy X is scanned (validation, statistics): 256 KB of float32,
# small beside any data worth memory-mapping, large enough that the Python loop costs
# nothing next to the reads.
CHUNK_ELEMENTS = 2**16


def is_lazy(X) -> bool:
    """Whether ``X`` is read batch by batch: a memory map, a torch Dataset or a LazyRows.

    Parameters
    ----------
    X : object
        Anything passed as X.

    Returns
    -------
    bool
        True for a ``numpy.memmap``, an array viewing one (``np.asarray(memmap)``,
        ``np.load(..., mmap_mode='r')``), a ``torch.utils.data.Dataset`` or a
        :class:`LazyRows`.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     X = np.memmap(os.path.join(tmp, "X.f32"), dtype="float32", mode="w+", shape=(4, 2))
    ...     is_lazy(X), is_lazy(np.asarray(X)), is_lazy(np.zeros((4, 2)))
    ...     del X
    (True, True, False)
    """
    if isinstance(X, (LazyRows, Dataset)):
        return True
    base = X if isinstance(X, np.ndarray) else None
    while base is not None:
        if isinstance(base, (np.memmap, mmap.mmap)):
            return True
        base = getattr(base, "base", None)
    return False


def rows_per_chunk(X) -> int:
    """Rows of ``X`` that make about :data:`CHUNK_ELEMENTS` values (at least one)."""
    per_row = int(np.prod(X.shape[1:], dtype=np.int64)) if X.ndim > 1 else 1
    return max(1, CHUNK_ELEMENTS // max(per_row, 1))


def iter_chunks(X, rows: int | None = None):
    """Yield consecutive blocks of rows of ``X`` as in-memory arrays.

    Parameters
    ----------
    X : array-like or LazyRows
        Indexable by row slices.
    rows : int or None, default=None
        Rows per block; ``None``: about :data:`CHUNK_ELEMENTS` values per block.

    Yields
    ------
    chunk : ndarray
        ``X[start:start + rows]``, read from disk for a memory map.

    Examples
    --------
    >>> [len(c) for c in iter_chunks(np.zeros((5, 2)), rows=2)]
    [2, 2, 1]
    """
    step = rows_per_chunk(X) if rows is None else int(rows)
    for start in range(0, len(X), step):
        yield X[start:start + step]


def mean_and_std(X) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (ddof=0) of 2-D ``X`` cast to float32.

    The rows are read in chunks, so a memory-mapped X is never copied whole. The
    results are bitwise those of ``X32.mean(axis=0, dtype=np.float64)`` and
    ``X32.std(axis=0, dtype=np.float64)`` for ``X32 = X.astype(np.float32)``: numpy
    adds the rows of a C-ordered array one after the other, and so does this function,
    each chunk being added to the running sum as its first row. A memory-mapped X and
    the same data in memory therefore give the same statistics, hence the same model.

    Parameters
    ----------
    X : ndarray, memmap or LazyRows of shape (n_samples, n_features)

    Returns
    -------
    mean, std : ndarray of shape (n_features,), float64

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(1000, 3)).astype(np.float32)
    >>> mean, std = mean_and_std(X)
    >>> bool(np.array_equal(mean, X.mean(axis=0, dtype=np.float64)))
    True
    >>> bool(np.array_equal(std, X.std(axis=0, dtype=np.float64)))
    True
    """
    n, d = X.shape
    total = np.zeros(d)
    for chunk in iter_chunks(X):
        total = _sequential_sum(total, np.asarray(chunk, dtype=np.float32))
    mean = total / n
    squares = np.zeros(d)
    for chunk in iter_chunks(X):
        deviation = np.asarray(chunk, dtype=np.float32) - mean
        np.multiply(deviation, deviation, out=deviation)
        squares = _sequential_sum(squares, deviation)
    return mean, np.sqrt(squares / n)


def _sequential_sum(running: np.ndarray, chunk: np.ndarray) -> np.ndarray:
    # ((running + row_0) + row_1) + ...: one float64 buffer with the running sum on top,
    # reduced over its rows, is the order numpy uses on the whole array.
    buffer = np.empty((len(chunk) + 1, len(running)))
    buffer[0] = running
    buffer[1:] = chunk
    return np.add.reduce(buffer, axis=0)


def _item(dataset, i) -> np.ndarray:
    """Sample ``i`` of a torch Dataset as float32 (the first element of a tuple item)."""
    item = dataset[int(i)]
    if isinstance(item, (tuple, list)):
        item = item[0]
    if isinstance(item, torch.Tensor):
        item = item.detach().cpu().numpy()
    return np.asarray(item, dtype=np.float32)


class LazyRows:
    """Rows ``rows`` of ``X``, read from ``X`` only when indexed: a lazy ``X[rows]``.

    The hold-out split of a memory-mapped X and the folds of cross-validation are
    held this way, so no selection of rows is copied into memory. It has ``shape``,
    ``ndim``, ``dtype`` and ``len``; indexing it reads the rows it names, and
    ``np.asarray`` reads all of them (what a scikit-learn estimator needs). Over a
    torch Dataset, a row is an item's sample (the first element of an ``(x, y)``
    item), read as float32.

    Parameters
    ----------
    X : ndarray, memmap, torch Dataset or LazyRows
        Where the rows come from (a LazyRows of a LazyRows is flattened).
    rows : array-like of int or None, default=None
        Positions of the rows in ``X``; ``None``: all of them.

    Examples
    --------
    >>> X = np.arange(10.0).reshape(5, 2)
    >>> view = LazyRows(X, [4, 1, 3])
    >>> view.shape, view[0].tolist(), view[1:].tolist()
    ((3, 2), [8.0, 9.0], [[2.0, 3.0], [6.0, 7.0]])
    >>> LazyRows(view, [2]).rows.tolist()
    [3]
    """

    def __init__(self, X, rows=None) -> None:
        shape = None
        if isinstance(X, LazyRows):
            shape = getattr(X, "_item_shape", None)
            X, rows = X.X, (X.rows if rows is None else X.rows[np.asarray(rows, np.intp)])
        self.X = X
        self.rows = np.arange(len(X)) if rows is None else np.asarray(rows, dtype=np.intp)
        # Items of a Dataset are read one by one; their shape is the first item's.
        self.reads_items = isinstance(X, Dataset)
        if shape is not None:
            self._item_shape = shape
        elif self.reads_items:
            if len(X) == 0:
                raise ValueError("X is a Dataset with no items; at least one is needed.")
            self._item_shape = _item(X, 0).shape

    @property
    def shape(self) -> tuple:
        rest = self._item_shape if self.reads_items else self.X.shape[1:]
        return (len(self.rows), *rest)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self):
        return np.dtype(np.float32) if self.reads_items else self.X.dtype

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key):
        if isinstance(key, tuple):
            block = self[key[0]]
            return block[(slice(None), *key[1:]) if np.ndim(self.rows[key[0]]) else key[1:]]
        rows = self.rows[key]
        if not self.reads_items:
            return self.X[rows]
        if np.ndim(rows) == 0:
            return _item(self.X, rows)
        out = np.empty((len(rows), *self._item_shape), dtype=np.float32)
        for k, i in enumerate(rows):
            out[k] = _item(self.X, i)
        return out

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self[:], dtype=dtype)

    def __repr__(self) -> str:
        return f"LazyRows(shape={self.shape}, dtype={self.dtype})"


class LazyArrayDataset(Dataset):
    """A lazy X (and encoded targets) served batch by batch, cast and standardised per batch.

    The training loop's :class:`~sknoisy._core._data.TensorBatchIterator` asks it for
    whole batches (:meth:`take`); each batch is read from ``X``, cast to float32,
    standardised with ``mean`` and ``scale`` (when given) and moved to ``device``. The
    values are exactly those the in-memory path computes on the whole array, since
    casting and standardising are element by element.

    Parameters
    ----------
    X : memmap or LazyRows
        The inputs, left where they are (a LazyRows reads a torch Dataset's items).
    y : ndarray or Tensor, default=None
        Integer-encoded targets (held on ``device``: O(n_samples)).
    device : str or torch.device, default='cpu'
        Where batches go.
    mean, scale : ndarray of shape (n_features,) or None, default=None
        Standardisation statistics; ``None``: inputs are only cast.

    Examples
    --------
    >>> X = LazyRows(np.arange(6.0).reshape(3, 2), [0, 1, 2])
    >>> ds = LazyArrayDataset(X, np.array([0, 1, 0]), mean=np.ones(2, "float32"),
    ...                       scale=np.full(2, 2.0, "float32"))
    >>> Xb, yb, rows = ds.take(torch.tensor([2, 0]))
    >>> Xb.tolist(), yb.tolist()
    ([[1.5, 2.0], [-0.5, 0.0]], [0, 0])
    """

    # Batches are gathered with CPU row positions, whatever the device.
    index_device = torch.device("cpu")

    def __init__(self, X, y=None, device="cpu", mean=None, scale=None) -> None:
        self.X = X
        self.device = torch.device(device)
        self.y = None if y is None else torch.as_tensor(y, dtype=torch.long, device=device)
        self.mean = mean
        self.scale = scale

    def __len__(self) -> int:
        return len(self.X)

    def read(self, positions: np.ndarray) -> np.ndarray:
        """Rows ``positions`` of X as float32, standardised when statistics are set."""
        block = np.array(self.X[positions], dtype=np.float32, copy=None)
        if self.mean is not None:
            # In place on the rows just read (a new array): the same float32 operations
            # as on the whole array, without two more batch-sized temporaries.
            block -= self.mean
            block /= self.scale
        return block

    def take(self, rows: torch.Tensor):
        """The batch of rows ``rows`` (CPU positions): inputs, targets, positions on device."""
        Xb = torch.as_tensor(self.read(rows.numpy())).to(self.device)
        indices = rows.to(self.device)
        return Xb, (self.y[indices] if self.y is not None else None), indices

    def __getitem__(self, i):
        # Per-sample access for code that insists on it (a stratified ValidSplit).
        x = torch.as_tensor(self.read(np.array([i]))[0])
        return x, (self.y[i].cpu() if self.y is not None else torch.tensor(0))
