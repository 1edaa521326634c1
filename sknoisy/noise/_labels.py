"""Label containers for noise generation: encode any labels to positions, decode back.

Noise is drawn on integer positions ``0..C-1`` in ``classes`` order; this module turns the
caller's labels (numpy, lists, pandas Series or Categorical, any hashable values) into those
positions and rebuilds a container of the caller's kind from noisy positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LabelCodec"]


def _has_missing(values: np.ndarray) -> bool:
    if values.dtype.kind == "f":
        return bool(np.isnan(values).any())
    if values.dtype.kind == "O":
        return bool(pd.isna(values).any())
    return False


@dataclass
class LabelCodec:
    """Positions of ``y`` in ``classes`` plus what is needed to rebuild ``y``'s container.

    Build it with :meth:`from_labels`; :meth:`decode` turns noisy positions back into labels
    of the input's kind (ndarray with a compatible dtype, pandas Series with the same index,
    name and dtype, or pandas Categorical with the same dtype).

    Examples
    --------
    >>> codec = LabelCodec.from_labels(np.array(["b", "a", "b"]))
    >>> codec.codes.tolist(), codec.classes.tolist()
    ([1, 0, 1], ['a', 'b'])
    >>> codec.decode(np.array([0, 0, 1])).tolist()
    ['a', 'a', 'b']
    """

    codes: np.ndarray
    classes: np.ndarray
    container: Any
    values: np.ndarray

    @classmethod
    def from_labels(cls, y, classes=None) -> LabelCodec:
        """Validate ``y`` (1-D, no missing values) and encode it against ``classes``.

        ``classes`` defaults to the categories of a categorical ``y`` (its declared label
        set, in its order), otherwise to ``np.unique(y)``.
        """
        if isinstance(y, (str, bytes)) or np.ndim(y) == 0:
            raise TypeError(f"y must be a 1-D array-like of labels; got {type(y).__name__}.")
        if isinstance(y, pd.DataFrame):
            raise ValueError(f"y must be 1-D; got a DataFrame of shape {y.shape}. "
                             "Pass a single column, e.g. df['label'].")
        container = y
        if isinstance(y, pd.Series):
            values = y.to_numpy()
            categories = y.cat.categories if isinstance(y.dtype, pd.CategoricalDtype) else None
        elif isinstance(y, pd.Categorical):
            values = np.asarray(y)
            categories = y.categories
        else:
            values = np.asarray(y)
            categories = None
            container = None
        if values.ndim != 1:
            raise ValueError(f"y must be 1-D; got an array of shape {values.shape}. "
                             "Use np.ravel(y) for a column vector.")
        if values.shape[0] == 0:
            raise ValueError("y is empty; pass at least one label.")
        if _has_missing(values):
            raise ValueError("y contains missing values (NaN/None); noise can only be added "
                             "to known labels. Drop or impute those rows first.")

        if classes is None:
            classes = np.asarray(categories) if categories is not None else np.unique(values)
        else:
            if isinstance(classes, (str, bytes)) or np.ndim(classes) != 1:
                raise ValueError(f"classes must be a 1-D array-like of labels; got {classes!r}.")
            classes = np.asarray(classes)
        index = pd.Index(classes)
        if not index.is_unique:
            dup = index[index.duplicated()].tolist()
            raise ValueError(f"classes must not repeat a label; got duplicates {dup!r}.")
        if len(classes) < 2:
            raise ValueError(f"label noise needs at least 2 classes; got "
                             f"classes={classes.tolist()!r}. Pass the full label set with "
                             "`classes=`.")
        if categories is not None:
            foreign = index.difference(categories)
            if len(foreign):
                raise ValueError(f"classes {foreign.tolist()!r} are not categories of the "
                                 "categorical y, so they cannot be stored in its output; add them "
                                 "with y.cat.add_categories(...) first.")

        codes = index.get_indexer(values)
        unknown = codes < 0
        if unknown.any():
            missing = pd.unique(values[unknown])[:5].tolist()
            raise ValueError(f"y contains labels {missing!r} that are not in classes="
                             f"{classes.tolist()!r}; add them to `classes` or omit `classes`.")
        return cls(codes=codes.astype(np.intp), classes=classes, container=container,
                   values=values)

    def _output_dtype(self) -> np.dtype:
        dtype = self.values.dtype
        if dtype.kind in "US" and self.classes.dtype.kind == dtype.kind:
            # Widen fixed-width strings so a longer class name is not truncated.
            return np.promote_types(dtype, self.classes.dtype)
        if dtype.kind == "O":
            return dtype
        try:
            cast = self.classes.astype(dtype)
            if np.array_equal(cast, self.classes):
                return dtype
        except (TypeError, ValueError, OverflowError):
            pass
        return np.result_type(dtype, self.classes.dtype)

    def decode(self, codes: np.ndarray):
        """Return labels for ``codes`` in the input's container kind (input left untouched)."""
        dtype = self._output_dtype()
        out = self.values.astype(dtype, copy=True)
        changed = codes != self.codes
        out[changed] = self.classes[codes[changed]]
        if isinstance(self.container, pd.Series):
            return pd.Series(out, index=self.container.index, name=self.container.name,
                             dtype=self.container.dtype)
        if isinstance(self.container, pd.Categorical):
            return pd.Categorical(out, dtype=self.container.dtype)
        return out
