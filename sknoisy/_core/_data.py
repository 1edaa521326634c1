"""Tensor-backed dataset and batch iterator: the fast data path of the training core.

Batches are sliced from tensors that already live on the training device, so an epoch
costs one index permutation plus one gather per batch instead of a per-sample
``__getitem__`` and a collate call. Each batch carries the positions of its rows in the
training set, which is what methods use to keep per-sample state.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from ._lazy import LazyArrayDataset, LazyRows, is_lazy

__all__ = ["IndexedBatch", "TensorBatchIterator", "TensorDataset", "take_rows"]


class TensorDataset(Dataset):
    """Inputs (and optional encoded targets) held as tensors on one device.

    Parameters
    ----------
    X : ndarray or Tensor
        Inputs; shared with the caller's array where possible, never modified.
    y : ndarray or Tensor, default=None
        Integer-encoded targets.
    device : str or torch.device, default='cpu'
        Where the tensors live.

    Examples
    --------
    >>> import numpy as np
    >>> ds = TensorDataset(np.zeros((3, 2), dtype=np.float32), np.array([0, 1, 0]))
    >>> len(ds), ds[1][1].item()
    (3, 1)
    """

    def __init__(self, X, y=None, device="cpu") -> None:
        self.X = torch.as_tensor(X, device=device)
        self.y = None if y is None else torch.as_tensor(y, dtype=torch.long, device=device)

    @property
    def index_device(self) -> torch.device:
        # Batches are gathered on the device the tensors live on.
        return self.X.device

    def take(self, rows: torch.Tensor):
        """The batch of rows ``rows``: inputs, targets and the positions themselves."""
        return self.X[rows], (self.y[rows] if self.y is not None else None), rows

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i):
        # Only used by code that insists on per-sample access (for example skorch's
        # ValidSplit when it stratifies); the training loop slices whole batches.
        return self.X[i], (self.y[i] if self.y is not None else torch.tensor(0))


class IndexedBatch(tuple):
    """An ``(X, y)`` batch that also knows the training-set positions of its rows.

    It unpacks like skorch's ``(X, y)`` pairs, so skorch callbacks and helpers keep
    working, while ``batch.indices`` lets a method look up per-sample state.

    Examples
    --------
    >>> import torch
    >>> b = IndexedBatch(torch.zeros(2, 3), torch.tensor([1, 0]), torch.tensor([7, 4]))
    >>> Xb, yb = b
    >>> b.indices.tolist()
    [7, 4]
    """

    def __new__(cls, X, y, indices):
        batch = super().__new__(cls, (X, y))
        batch.indices = indices
        return batch

    def __reduce__(self):
        return (IndexedBatch, (self[0], self[1], self.indices))


def _base_and_rows(dataset):
    """Return the underlying dataset and the rows a (possibly nested) Subset selects."""
    rows = None
    while isinstance(dataset, Subset):
        sub = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
        rows = sub if rows is None else rows[sub]
        dataset = dataset.dataset
    if not isinstance(dataset, (TensorDataset, LazyArrayDataset)):
        raise TypeError(
            "TensorBatchIterator needs a sknoisy TensorDataset or LazyArrayDataset (or a "
            "Subset of one); got "
            f"{type(dataset).__name__}. Pass array-like X to fit/predict, or set "
            "iterator_train/iterator_valid to torch.utils.data.DataLoader for custom datasets."
        )
    return dataset, rows


class TensorBatchIterator:
    """Iterate over mini-batches of a :class:`TensorDataset` by slicing tensors.

    Parameters
    ----------
    dataset : TensorDataset or torch.utils.data.Subset of one
        The data to iterate over.
    batch_size : int, default=128
        Rows per batch; ``-1`` means the whole dataset in one batch.
    shuffle : bool, default=False
        Draw a new permutation every epoch.
    drop_last : bool, default=False
        Drop the last incomplete batch.
    generator : torch.Generator, default=None
        Source of the permutations (CPU generator), for reproducible shuffling.

    Examples
    --------
    >>> import numpy as np
    >>> ds = TensorDataset(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5))
    >>> [len(b[0]) for b in TensorBatchIterator(ds, batch_size=2)]
    [2, 2, 1]
    """

    def __init__(self, dataset, batch_size=128, shuffle=False, drop_last=False, generator=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator

    def __len__(self) -> int:
        n = len(self.dataset)
        size = n if self.batch_size == -1 else self.batch_size
        return n // size if self.drop_last else math.ceil(n / size)

    def __iter__(self):
        base, rows = _base_and_rows(self.dataset)
        n = len(base) if rows is None else len(rows)
        size = n if self.batch_size == -1 else int(self.batch_size)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
            rows = order if rows is None else rows[order]
        elif rows is None:
            rows = torch.arange(n)
        rows = rows.to(base.index_device)
        stop = n - n % size if self.drop_last else n
        for start in range(0, stop, size):
            yield IndexedBatch(*base.take(rows[start:start + size]))


def take_rows(X, rows: np.ndarray):
    """Rows ``rows`` of X, keeping pandas objects as they are (so names and index survive).

    Parameters
    ----------
    X : array-like, pandas DataFrame or Series
    rows : ndarray of int

    Returns
    -------
    The selected rows, same kind as X (lists become arrays). A memory-mapped X
    gives a :class:`~sknoisy._core._lazy.LazyRows` view: nothing is read.

    Examples
    --------
    >>> take_rows([[1, 2], [3, 4], [5, 6]], np.array([2, 0])).tolist()
    [[5, 6], [1, 2]]
    """
    if hasattr(X, "iloc"):
        return X.iloc[rows]
    if is_lazy(X):
        return LazyRows(X, rows)
    return np.asarray(X)[rows]
