"""Instance-dependent label noise (Xia et al., 2020).

Each sample gets its own flip rate and its own distribution over wrong classes, both
depending on its features through a random linear projection.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import truncnorm

from .._core._validation import check_array

__all__ = ["instance_transition_rows"]

# Spread of the per-sample flip rates around the nominal rate, as in Xia et al. (2020).
_RATE_STD = 0.1


def _check_features(X, n_samples: int) -> np.ndarray:
    if X is None:
        raise ValueError("noise_type='instance' draws noise from the features: pass X "
                         "(array of shape (n_samples, n_features) or images).")
    X = check_array(X, dtype=np.float64, allow_nd=True, ensure_2d=False, input_name="X")
    if X.ndim < 2:
        raise ValueError(f"X must have one row per sample (2-D or more); got shape {X.shape}.")
    if X.shape[0] != n_samples:
        raise ValueError(f"X has {X.shape[0]} rows but y has {n_samples} labels; they must match.")
    return X.reshape(n_samples, -1)


def instance_flip_rates(noise_rate: float, n_samples: int, rng) -> np.ndarray:
    """Per-sample flip rates from N(noise_rate, 0.1^2) truncated to [0, 1].

    At ``noise_rate`` 0 or 1 the rates are exactly that value: a truncated normal at the
    edge of [0, 1] would otherwise have a mean about 0.08 away from it.
    """
    if noise_rate in (0.0, 1.0):
        return np.full(n_samples, noise_rate)
    lo, hi = (0.0 - noise_rate) / _RATE_STD, (1.0 - noise_rate) / _RATE_STD
    return truncnorm.rvs(lo, hi, loc=noise_rate, scale=_RATE_STD, size=n_samples,
                         random_state=rng)


def instance_transition_rows(codes: np.ndarray, X, n_classes: int, noise_rate: float,
                             rng) -> np.ndarray:
    """Per-sample transition rows of instance-dependent noise, shape (n_samples, C).

    Row ``i`` keeps the given class with probability ``1 - q_i`` and spreads ``q_i`` over
    the other classes by ``softmax(x_i W[:, y_i, :])`` with the own class masked out, where
    ``W`` has shape (n_features, C, C) with standard-normal entries.
    """
    n = codes.shape[0]
    X = _check_features(X, n)
    q = instance_flip_rates(noise_rate, n, rng)
    W = rng.standard_normal((X.shape[1], n_classes, n_classes))
    logits = np.empty((n, n_classes))
    # One matrix product per class rather than per sample.
    for c in range(n_classes):
        rows = codes == c
        if rows.any():
            logits[rows] = X[rows] @ W[:, c, :]
    idx = np.arange(n)
    logits[idx, codes] = -np.inf
    logits -= logits.max(axis=1, keepdims=True)
    P = np.exp(logits)
    P *= (q / P.sum(axis=1))[:, None]
    P[idx, codes] = 1.0 - q
    return P
