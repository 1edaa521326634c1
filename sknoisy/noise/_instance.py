"""Instance-dependent label noise (Xia et al., 2020).

Each sample gets its own flip rate and its own distribution over wrong classes, both
depending on its features through a random linear projection.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
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


def _truncated_mean(loc: float) -> float:
    lo, hi = (0.0 - loc) / _RATE_STD, (1.0 - loc) / _RATE_STD
    # scipy also computes the skew far in a tail, where it overflows harmlessly.
    with np.errstate(invalid="ignore", over="ignore"):
        return float(truncnorm.mean(lo, hi, loc=loc, scale=_RATE_STD))


def rate_location(noise_rate: float) -> float:
    """Centre of the normal whose truncation to [0, 1] has mean ``noise_rate``.

    Xia et al. (2020) centre the normal at the rate itself, but truncation at 0 pulls
    the mean up near the edges (0.09 at a nominal 0.05, 0.12 at 0.10), so the noise
    would be heavier than asked; the centre is moved until the mean is the rate.
    """
    if abs(_truncated_mean(noise_rate) - noise_rate) < 1e-9:
        return noise_rate
    # The truncated mean increases with the centre; far below 0 it is about
    # std**2 / |centre| (and symmetrically above 1), which gives a bracket for any rate.
    reach = 1.0 + _RATE_STD ** 2 / min(noise_rate, 1.0 - noise_rate)
    return float(brentq(lambda loc: _truncated_mean(loc) - noise_rate, -reach,
                        1.0 + reach, xtol=1e-10))


def instance_flip_rates(noise_rate: float, n_samples: int, rng) -> np.ndarray:
    """Per-sample flip rates with mean ``noise_rate``: a normal of spread 0.1 truncated to [0, 1].

    The normal is centred by :func:`rate_location` so that the truncated rates average
    ``noise_rate``. At ``noise_rate`` 0 or 1 the rates are exactly that value.
    """
    if noise_rate in (0.0, 1.0):
        return np.full(n_samples, noise_rate)
    loc = rate_location(noise_rate)
    lo, hi = (0.0 - loc) / _RATE_STD, (1.0 - loc) / _RATE_STD
    return truncnorm.rvs(lo, hi, loc=loc, scale=_RATE_STD, size=n_samples,
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
