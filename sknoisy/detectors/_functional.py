"""``find_noisy_labels``: noise scores and a mask without handling an estimator."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._registry import make_detector

__all__ = ["find_noisy_labels"]


def find_noisy_labels(X: ArrayLike, y: ArrayLike, method: str = "o2u",
                      **params) -> tuple[np.ndarray, np.ndarray]:
    """Score every sample's label and flag the likely wrong ones.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or image array
        Inputs.
    y : array-like of shape (n_samples,)
        Labels of any hashable type.
    method : str, default='o2u'
        A noise detector of sknoisy's method registry: 'o2u'
        (:class:`O2UNoiseDetector`) or 'bmm' (:class:`BMMLabelCleaner`); the same
        names as ``sknoisy detect --method``.
    **params
        Parameters of that detector (``noise_rate``, ``warmup_epochs``,
        ``estimator``, ``random_state``, ...).

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Noise scores, higher = more likely mislabeled.
    is_noisy : ndarray of bool of shape (n_samples,)
        The samples the detector flags (classes that would vanish keep their least
        suspicious samples, with a warning).

    Raises
    ------
    ValueError
        If ``method`` is not a registered detector.
    TypeError
        If a parameter is not one of that detector's.

    See Also
    --------
    O2UNoiseDetector, BMMLabelCleaner : the estimators behind each method.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sknoisy import NoisyNetClassifier
    >>> from sknoisy.detectors import find_noisy_labels
    >>> X, y = make_blobs(n_samples=200, centers=2, random_state=0)
    >>> y[:20] = 1 - y[:20]
    >>> scores, is_noisy = find_noisy_labels(
    ...     X, y, method="bmm", warmup_epochs=10, estimator=NoisyNetClassifier(lr=1e-2),
    ...     random_state=0)
    >>> scores.shape, bool(scores[:20].mean() > scores[20:].mean())
    ((200,), True)
    """
    detector = make_detector(method, **params).fit(X, y)
    return detector.noise_scores_, detector.is_noisy_
