"""Validation of X, y and sample weights for sknoisy estimators.

Every estimator validates its inputs here, so the rules (what X may look like, how
labels are encoded, what an error says) are the same across methods.
"""

from __future__ import annotations

import warnings

import numpy as np
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_consistent_length

from torch.utils.data import Dataset

from ._lazy import LazyRows, is_lazy, iter_chunks
from ._unlabeled import labeled_part, missing_label_mask, reject_missing_labels
from ._validation import _check_feature_names, check_array

__all__ = ["check_labels", "check_partial_labels", "check_sample_weight", "check_X",
           "encode_labels"]


def _reject_non_numeric_columns(estimator, X) -> None:
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return
    bad = [name for name, dtype in dtypes.items()
           if not (is_numeric_dtype(dtype) or is_bool_dtype(dtype))]
    if bad:
        raise TypeError(
            f"{type(estimator).__name__}: X has non-numeric columns {list(bad)}. Encode them first "
            "(for example with sklearn.preprocessing.OneHotEncoder in a ColumnTransformer) or drop them."
        )


def check_X(estimator, X, *, reset: bool) -> np.ndarray:
    """Return X as a C-contiguous float32 array of 2 to 4 dimensions (lazy X: as it is).

    On ``reset`` the estimator's ``n_features_in_``, ``input_shape_`` and (for
    DataFrames) ``feature_names_in_`` are set; otherwise X is checked against them.
    The caller's array is never modified: float64 input is copied when cast. A
    memory-mapped X is checked chunk by chunk and returned as it is (any numeric
    dtype): it is read, cast and standardised batch by batch later. A torch Dataset
    becomes a :class:`~sknoisy._core._lazy.LazyRows` over its items; only its first
    item is checked (reading them all would be a pass over the files).
    """
    _reject_non_numeric_columns(estimator, X)
    _check_feature_names(estimator, X, reset=reset)
    if isinstance(X, Dataset):
        X = LazyRows(X)
    if is_lazy(X):
        _check_lazy_X(estimator, X)
    else:
        X = check_array(X, dtype=np.float32, order="C", allow_nd=True, input_name="X",
                        estimator=estimator)
    if X.ndim > 4:
        raise ValueError(
            f"{type(estimator).__name__}: X must be 2-D (n_samples, n_features) or images "
            f"(n_samples, H, W) / (n_samples, C, H, W); got an array with shape {X.shape}."
        )
    shape = tuple(int(s) for s in X.shape[1:])
    if reset:
        estimator.input_shape_ = shape
        estimator.n_features_in_ = int(np.prod(shape))
        return X
    expected = getattr(estimator, "input_shape_", None)
    if expected is not None and shape != tuple(expected):
        if len(shape) == 1 and len(expected) == 1:
            raise ValueError(
                f"X has {shape[0]} features, but {type(estimator).__name__} is expecting "
                f"{expected[0]} features as input."
            )
        raise ValueError(
            f"X has sample shape {shape}, but {type(estimator).__name__} was fitted on samples "
            f"of shape {tuple(expected)}."
        )
    return X


def _check_lazy_X(estimator, X) -> None:
    # The same checks (and messages) as an in-memory X, one chunk at a time, so that
    # no float32 copy of the whole array is made; the first chunk is checked even when
    # empty, which reports an X with no rows. Items of a Dataset: the first one only.
    if getattr(X, "reads_items", False):
        check_array(X[:1], dtype=np.float32, allow_nd=True, input_name="X",
                    estimator=estimator)
        return
    for chunk in iter_chunks(X) if len(X) else [X[:0]]:
        check_array(chunk, dtype=np.float32, allow_nd=True, input_name="X",
                    estimator=estimator)


def check_labels(estimator, y, n_samples: int | None = None) -> np.ndarray:
    """Return y as a 1-D numpy array of classification labels (any hashable type)."""
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None.")
    # Before any conversion: pandas' nullable NA would otherwise surface as a mixed-type
    # or "ambiguous truth value" error that hides the real problem.
    reject_missing_labels(estimator, y)
    if hasattr(y, "to_numpy"):  # pandas Series / Categorical / Index keep their values
        y = y.to_numpy()
    y = np.asarray(y) if not isinstance(y, np.ndarray) else y
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the "
            "shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning, stacklevel=3,
        )
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(
            f"{type(estimator).__name__}: y must be 1-D (one label per sample); got an array "
            f"with shape {y.shape}. Multi-label and multi-output targets are not supported."
        )
    if y.dtype == object:
        kinds = {type(v) for v in y}
        if len(kinds) > 1 and not all(issubclass(k, (int, np.integer)) for k in kinds) \
                and not all(issubclass(k, str) for k in kinds):
            raise TypeError(
                f"{type(estimator).__name__}: y mixes label types {sorted(k.__name__ for k in kinds)}; "
                "use one type for all labels (for example convert them all to str)."
            )
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(f"{type(estimator).__name__}: y contains NaN or infinity.")
    if y.dtype.kind in "fc" or type_of_target(y) == "continuous":
        check_classification_targets(y)
    if n_samples is not None:
        check_consistent_length(np.empty(n_samples), y)
    return y


def check_partial_labels(estimator, y, n_samples: int | None = None, *,
                         unlabeled_label=None) -> tuple[np.ndarray, np.ndarray]:
    """Validate labels of which some may be missing; return the present ones and where.

    For the estimators that learn from unlabeled rows. A label is missing when it is
    ``None``, NaN, pandas ``NA`` or equal to ``unlabeled_label``; the present labels
    pass :func:`check_labels` (so ``classes_`` are taken from them alone).

    Parameters
    ----------
    estimator : object
        Named in error messages.
    y : array-like of shape (n_samples,)
        The labels passed to ``fit``.
    n_samples : int or None, default=None
        The number of rows of X, checked against ``len(y)``.
    unlabeled_label : scalar or None, default=None
        A label value that means "no label" (for example ``-1``).

    Returns
    -------
    labels : ndarray of shape (n_labeled,)
        The labels of the labeled rows, in row order.
    labeled : ndarray of shape (n_samples,), bool
        Which rows have a label.

    Raises
    ------
    ValueError
        If no row has a label, or the labeled rows hold fewer than 2 classes.
    """
    name = type(estimator).__name__
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    labeled = ~missing_label_mask(y, unlabeled_label)
    if n_samples is not None:
        check_consistent_length(np.empty(n_samples), labeled)
    if labeled.all():
        return check_labels(estimator, y, n_samples=n_samples), labeled
    if not labeled.any():
        raise ValueError(
            f"{name}: every one of the {len(labeled)} labels in y is missing; at least "
            "the rows of 2 classes need labels (unlabeled rows only add to them).")
    labels = check_labels(estimator, labeled_part(y, labeled))
    present = np.unique(labels)
    if len(present) < 2:
        raise ValueError(
            f"{name} needs labeled rows of at least 2 classes; the {len(labels)} labeled "
            f"rows of y (the other {int((~labeled).sum())} are unlabeled) hold 1 class: "
            f"{present.tolist()}.")
    return labels, labeled


def encode_labels(estimator, y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Map labels to positions in ``classes``; unknown labels raise ``ValueError``."""
    codes = np.searchsorted(classes, y)
    codes = np.clip(codes, 0, len(classes) - 1)
    unknown = classes[codes] != y
    if np.any(unknown):
        raise ValueError(
            f"{type(estimator).__name__}: y contains labels {list(np.unique(y[unknown])[:5])} not in "
            f"the classes {list(classes)}. Refit without warm_start, or pass the full label set as "
            "`classes`."
        )
    return codes.astype(np.int64)


def check_sample_weight(estimator, sample_weight, n_samples: int) -> np.ndarray | None:
    """Return sample weights rescaled to mean 1 (so the loss scale does not depend on them)."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim != 1 or len(w) != n_samples:
        raise ValueError(
            f"{type(estimator).__name__}: sample_weight must have shape ({n_samples},); got "
            f"{w.shape}."
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{type(estimator).__name__}: sample_weight must be finite and non-negative.")
    if w.sum() <= 0:
        raise ValueError(f"{type(estimator).__name__}: sample_weight sums to zero; no sample would count.")
    return (w / w.mean()).astype(np.float32)
