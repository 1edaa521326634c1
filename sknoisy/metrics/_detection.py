"""How well noise scores find the mislabeled samples.

A detector gives each sample a score (higher = more likely mislabeled) or a boolean mask.
These functions compare that against the known flip mask of synthetic noise.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_fscore_support, roc_auc_score

__all__ = ["noise_detection_report", "precision_at_k"]


def _as_1d(values, name: str) -> np.ndarray:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a 1-D array-like; got a {type(values).__name__}.")
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}.")
    return arr


def _check_truth_and_scores(is_noisy_true, scores) -> tuple[np.ndarray, np.ndarray, bool]:
    """Return (truth as bool, scores as float, whether scores was a boolean mask)."""
    truth = _as_1d(is_noisy_true, "is_noisy_true")
    raw = _as_1d(scores, "scores")
    if truth.shape[0] != raw.shape[0]:
        raise ValueError(f"is_noisy_true has {truth.shape[0]} entries but scores has "
                         f"{raw.shape[0]}; give one score per sample.")
    if truth.shape[0] == 0:
        raise ValueError("is_noisy_true and scores are empty; pass at least one sample.")
    if truth.dtype.kind != "b":
        if truth.dtype.kind not in "iuf" or not np.isin(truth, (0, 1)).all():
            raise ValueError("is_noisy_true must be boolean-like (bool, or numbers that are all "
                             f"0 or 1); got dtype {truth.dtype} with values "
                             f"{np.unique(truth)[:5].tolist()!r}.")
        truth = truth.astype(bool)
    is_mask = raw.dtype.kind == "b"
    if not is_mask and raw.dtype.kind not in "iuf":
        raise TypeError(f"scores must be numeric or a boolean mask; got dtype {raw.dtype}.")
    raw = raw.astype(np.float64)
    if not np.isfinite(raw).all():
        raise ValueError(f"scores contains {int((~np.isfinite(raw)).sum())} NaN or infinite "
                         "values; replace them (e.g. with the min or max score) first.")
    return truth, raw, is_mask


def _resolve_k(k, n_samples: int) -> int:
    """Turn an int count or a float fraction in (0, 1] into a count in [1, n_samples]."""
    if isinstance(k, bool) or not isinstance(k, numbers.Real):
        raise TypeError(f"k must be an int count or a float fraction in (0, 1]; got {k!r}.")
    if isinstance(k, numbers.Integral):
        if not 1 <= k <= n_samples:
            raise ValueError(f"k must be between 1 and n_samples={n_samples} when an int; "
                             f"got {k}.")
        return int(k)
    if not (math.isfinite(k) and 0.0 < k <= 1.0):
        raise ValueError(f"k must be in (0, 1] when a float fraction; got {k!r}. Use an int "
                         "for a count.")
    # Round half up, not ceil: 0.1 * 30 is 3.0000000000000004 in floating point.
    return max(1, int(math.floor(k * n_samples + 0.5)))


def _expected_hits(truth: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Expected number of truly noisy samples among the k highest scores.

    Samples tied with the k-th highest score are taken as a random subset of the tie
    group, so the count is its expectation: all strictly higher samples plus
    ``(k - n_higher)`` times the noisy fraction of the tie group. It does not depend on
    sample order.
    """
    if k == 0:
        return 0.0
    kth = np.partition(scores, scores.shape[0] - k)[scores.shape[0] - k]
    higher = scores > kth
    tied = scores == kth
    n_higher = int(higher.sum())
    return float(truth[higher].sum() + (k - n_higher) * truth[tied].mean())


def _prf_at(truth: np.ndarray, scores: np.ndarray, k: int) -> tuple[float, float, float]:
    hits = _expected_hits(truth, scores, k)
    n_true = int(truth.sum())
    precision = hits / k if k else math.nan
    recall = hits / n_true if n_true else math.nan
    f1 = 2.0 * hits / (k + n_true) if (k + n_true) else math.nan
    return precision, recall, f1


def precision_at_k(is_noisy_true, scores, k: int | float | None = None) -> float:
    """Fraction of truly noisy samples among the ``k`` highest-scored samples.

    Parameters
    ----------
    is_noisy_true : array-like of shape (n_samples,)
        True where the label is wrong (bool, or 0/1 numbers).
    scores : array-like of shape (n_samples,)
        Noise scores (higher = more likely noisy) or a boolean mask of flagged samples.
        Only a bool dtype counts as a mask; 0/1 numbers are scores.
    k : int, float or None, default=None
        How many top samples to inspect: an int count in [1, n_samples], or a float
        fraction in (0, 1] of the samples (rounded half up, at least 1). None means the
        number of flagged samples for a mask, and the number of truly noisy samples
        (R-precision) for continuous scores.

    Returns
    -------
    precision : float
        In [0, 1]; nan when ``k`` resolves to 0 (an empty mask, or no noisy samples with
        ``k=None``).

    Notes
    -----
    Ties are resolved deterministically by their expectation: samples tied with the
    k-th highest score count as a uniformly random subset of the tie group, so the result
    never depends on the order of the samples (a detector that gives every sample the
    same score scores the noise rate, not whatever happens to come first). For a mask with
    the default ``k`` this is exactly the precision of the mask.

    Examples
    --------
    >>> precision_at_k([True, False, True, False], [0.9, 0.8, 0.1, 0.2], k=2)
    0.5
    >>> precision_at_k([True, False, True, False], [True, False, True, True])
    0.6666666666666666
    >>> precision_at_k([True, False, False, False], [0.5, 0.5, 0.5, 0.5], k=1)
    0.25
    """
    truth, values, is_mask = _check_truth_and_scores(is_noisy_true, scores)
    if k is None:
        k_int = int(values.sum()) if is_mask else int(truth.sum())
    else:
        k_int = _resolve_k(k, truth.shape[0])
    if k_int == 0:
        return math.nan
    return _expected_hits(truth, values, k_int) / k_int


def noise_detection_report(is_noisy_true, scores, *, k: int | float | None = None) -> dict:
    """Summary of how well noise scores (or a mask) recover the truly mislabeled samples.

    Parameters
    ----------
    is_noisy_true : array-like of shape (n_samples,)
        True where the label is wrong (bool, or 0/1 numbers), e.g. ``is_flipped`` from
        :func:`sknoisy.noise.make_label_noise`.
    scores : array-like of shape (n_samples,)
        Noise scores (higher = more likely noisy) or a boolean mask (bool dtype).
    k : int, float or None, default=None
        If given, also report precision/recall/F1 of the top ``k`` samples (int count or
        float fraction in (0, 1], as in :func:`precision_at_k`).

    Returns
    -------
    report : dict
        - ``n_samples``, ``n_noisy_true``, ``true_rate``: size and true noise rate.
        - ``precision_at_true_rate``, ``recall_at_true_rate``, ``f1_at_true_rate``: of the
          top ``n_noisy_true`` samples (the three are equal by construction; nan when
          there are no noisy samples).
        - ``k``, ``precision_at_k``, ``recall_at_k``, ``f1_at_k``: only when ``k`` is given.
        - ``auprc``: average precision (``sklearn.metrics.average_precision_score``).
        - ``auroc``: area under the ROC curve (``sklearn.metrics.roc_auc_score``).
        - for a mask only: ``n_flagged``, ``mask_precision``, ``mask_recall``, ``mask_f1``.

        Undefined values are nan, never an error: ``auroc`` and ``auprc`` are nan when
        the truth is all clean or all noisy (a ranking needs both kinds); a precision
        with nothing selected, a recall with nothing noisy, and an F1 with neither are nan.

    Notes
    -----
    Top-k quantities resolve ties by expectation (see :func:`precision_at_k`). For a mask,
    AUROC and AUPRC are those of its two-level ranking.

    Examples
    --------
    >>> report = noise_detection_report([True, False, True, False],
    ...                                 [0.9, 0.8, 0.1, 0.2], k=1)
    >>> report["precision_at_true_rate"], report["precision_at_k"], report["auroc"]
    (0.5, 1.0, 0.5)
    >>> noise_detection_report([True, True, False], [True, False, False])["mask_recall"]
    0.5
    """
    truth, values, is_mask = _check_truth_and_scores(is_noisy_true, scores)
    n = truth.shape[0]
    n_true = int(truth.sum())
    report: dict = {"n_samples": n, "n_noisy_true": n_true, "true_rate": n_true / n}
    p, r, f = _prf_at(truth, values, n_true)
    report.update(precision_at_true_rate=p, recall_at_true_rate=r, f1_at_true_rate=f)
    if k is not None:
        k_int = _resolve_k(k, n)
        p, r, f = _prf_at(truth, values, k_int)
        report.update(k=k_int, precision_at_k=p, recall_at_k=r, f1_at_k=f)
    if 0 < n_true < n:
        report["auprc"] = float(average_precision_score(truth, values))
        report["auroc"] = float(roc_auc_score(truth, values))
    else:
        report["auprc"] = report["auroc"] = math.nan
    if is_mask:
        mask = values.astype(bool)
        p, r, f, _ = precision_recall_fscore_support(truth, mask, average="binary",
                                                     zero_division=np.nan)
        report.update(n_flagged=int(mask.sum()), mask_precision=float(p),
                      mask_recall=float(r), mask_f1=float(f))
    return report
