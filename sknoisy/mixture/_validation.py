"""Input checks shared by the loss mixtures and the noise-rate estimators."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.utils.validation import validate_data

__all__ = ["check_1d_finite", "validate_column"]


def check_1d_finite(values: ArrayLike, name: str) -> np.ndarray:
    """Return ``values`` as a non-empty 1-D float64 array of finite numbers.

    Raises ``ValueError`` naming ``name`` for a wrong shape, an empty array, or NaN and
    infinite entries, so callers never pass on a silently wrong result.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per sample); got shape {x.shape}.")
    if x.size == 0:
        raise ValueError(f"{name} is empty; pass at least one value.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains {int(np.sum(~np.isfinite(x)))} NaN or infinite "
                         "values; remove or replace them first.")
    return x


def validate_column(estimator, X: ArrayLike, *, reset: bool) -> np.ndarray:
    """Validate the input of a one-variable mixture; return it as a 1-D float64 array.

    ``X`` may be a vector of shape (n_samples,) or one column of shape (n_samples, 1);
    scikit-learn's ``validate_data`` does the rest (finite values, dtype, sparse and
    complex input, ``n_features_in_`` and ``feature_names_in_``).
    """
    if not sp.issparse(X) and np.ndim(X) <= 1:
        # validate_data wants 2-D input: a vector (or a scalar) becomes one column.
        X = np.reshape(np.asarray(X), (-1, 1))
    X = validate_data(estimator, X, reset=reset, dtype=np.float64)
    if X.shape[1] != 1:
        raise ValueError(
            f"{type(estimator).__name__} models one variable: X must have shape "
            f"(n_samples,) or (n_samples, 1); got shape {X.shape}. Pass one column.")
    return X[:, 0]
