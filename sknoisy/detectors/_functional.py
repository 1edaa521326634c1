"""``find_noisy_labels``: noise scores and a mask without handling an estimator."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._bmm import BMMLabelCleaner
from ._o2u import O2UNoiseDetector

__all__ = ["find_noisy_labels"]

_METHODS = {"o2u": O2UNoiseDetector, "bmm": BMMLabelCleaner}


def find_noisy_labels(X: ArrayLike, y: ArrayLike, method: str = "o2u",
                      **params) -> tuple[np.ndarray, np.ndarray]:
    """Score every sample's label and flag the likely wrong ones.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or image array
        Inputs.
    y : array-like of shape (n_samples,)
        Labels of any hashable type.
    method : {'o2u', 'bmm'}, default='o2u'
        :class:`O2UNoiseDetector` or :class:`BMMLabelCleaner`.
    **params
        Parameters of that detector (``noise_rate``, ``warmup_epochs``,
        ``random_state``, ...).

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Noise scores, higher = more likely mislabeled.
    is_noisy : ndarray of bool of shape (n_samples,)
        The samples the detector flags (classes that would vanish keep their least
        suspicious samples, with a warning).

    See Also
    --------
    O2UNoiseDetector, BMMLabelCleaner : the estimators behind each method.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sknoisy.detectors import find_noisy_labels
    >>> X, y = make_blobs(n_samples=200, centers=2, random_state=0)
    >>> y[:20] = 1 - y[:20]
    >>> scores, is_noisy = find_noisy_labels(X, y, method="bmm", warmup_epochs=10,
    ...                                      lr=1e-2, random_state=0)
    >>> scores.shape, bool(scores[:20].mean() > scores[20:].mean())
    ((200,), True)
    """
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"find_noisy_labels: method must be one of {sorted(_METHODS)}; "
                         f"got {method!r}.")
    detector = _METHODS[method]()
    unknown = sorted(set(params) - set(detector.get_params(deep=False)))
    if unknown:
        raise TypeError(f"find_noisy_labels: {type(detector).__name__} has no parameter(s) "
                        f"{unknown}; valid ones are {sorted(detector.get_params(deep=False))}.")
    detector.set_params(**params).fit(X, y)
    return detector.noise_scores_, detector.is_noisy_
