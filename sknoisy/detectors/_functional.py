"""``find_noisy_labels``: noise scores and a mask without handling an estimator."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._registry import make_detector
from ._confident import check_pred_proba

__all__ = ["find_noisy_labels"]

# The registered detector that reads given probabilities (estimator='precomputed').
_FROM_PROBA = "confident"


def find_noisy_labels(X: ArrayLike | None = None, y: ArrayLike | None = None,
                      method: str | None = None, *, pred_proba: ArrayLike | None = None,
                      **params) -> tuple[np.ndarray, np.ndarray]:
    """Score every sample's label and flag the likely wrong ones.

    Either a detector is trained on ``(X, y)``, or, with ``pred_proba``, the
    out-of-fold probabilities of your own model are read and nothing is trained
    (confident learning, :class:`ConfidentLearningDetector`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), image array, or None, default=None
        Inputs. Not needed (and ignored but for its length) with ``pred_proba``.
    y : array-like of shape (n_samples,)
        Labels of any hashable type.
    method : str or None, default=None
        A noise detector of sknoisy's method registry: 'o2u'
        (:class:`O2UNoiseDetector`), 'bmm' (:class:`BMMLabelCleaner`) or 'confident'
        (:class:`ConfidentLearningDetector`); the same names as ``sknoisy detect
        --method``. None: 'confident' with ``pred_proba``, else 'o2u'.
    pred_proba : array-like of shape (n_samples, n_classes), default=None
        Out-of-fold predicted probabilities of any model (for example
        ``cross_val_predict(model, X, y, method='predict_proba')``), columns in sorted
        label order (``np.unique(y)``, the order of scikit-learn's ``classes_``);
        every class must occur in ``y``. Only ``method='confident'`` reads them.
    **params
        Parameters of that detector (``noise_rate``, ``warmup_epochs``,
        ``estimator``, ``filter_by``, ``random_state``, ...).

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
        If ``method`` is not a registered detector; with ``pred_proba``: if the
        method cannot read probabilities, if ``X`` or ``y`` has another length, or if
        the probabilities are malformed (wrong shape, NaN, rows not summing to 1, a
        class missing from ``y``).
    TypeError
        If a parameter is not one of that detector's.

    See Also
    --------
    O2UNoiseDetector, BMMLabelCleaner, ConfidentLearningDetector : the estimators
        behind each method.
    sknoisy.metrics.label_issue_summary : what was flagged, per class.

    Examples
    --------
    Any model's out-of-fold probabilities; the labels may be strings:

    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_predict
    >>> from sknoisy.detectors import find_noisy_labels
    >>> X, y = load_iris(return_X_y=True)
    >>> labels = np.array(["setosa", "versicolor", "virginica"])[y]
    >>> labels[[0, 60, 120]] = ["virginica", "setosa", "versicolor"]
    >>> proba = cross_val_predict(LogisticRegression(max_iter=1000), X, labels, cv=5,
    ...                           method="predict_proba")
    >>> scores, is_noisy = find_noisy_labels(y=labels, pred_proba=proba)
    >>> np.flatnonzero(is_noisy)
    array([  0,  60, 120])

    Or a detector that trains its own network:

    >>> from sklearn.datasets import make_blobs
    >>> from sknoisy import NoisyNetClassifier
    >>> X, y = make_blobs(n_samples=200, centers=2, random_state=0)
    >>> y[:20] = 1 - y[:20]
    >>> scores, is_noisy = find_noisy_labels(
    ...     X, y, method="bmm", warmup_epochs=10, estimator=NoisyNetClassifier(lr=1e-2),
    ...     random_state=0)
    >>> scores.shape, bool(scores[:20].mean() > scores[20:].mean())
    ((200,), True)
    """
    if pred_proba is None:
        detector = make_detector("o2u" if method is None else method, **params)
        return _scores_and_mask(detector.fit(X, y))
    method = _FROM_PROBA if method is None else method
    if method != _FROM_PROBA:
        raise ValueError(f"pred_proba is read by method={_FROM_PROBA!r} only (confident "
                         f"learning); got method={method!r}. Drop method, or drop "
                         "pred_proba to let that detector train its own network.")
    if "estimator" in params:
        raise ValueError("pass either pred_proba or estimator, not both: with pred_proba "
                         "nothing is trained.")
    if y is None:
        raise ValueError("y (the given labels) is required with pred_proba; got None.")
    for name, given in (("X", X), ("y", y)):
        if given is not None and len(given) != len(pred_proba):
            raise ValueError(f"{name} has {len(given)} rows but pred_proba has "
                             f"{len(pred_proba)}; give the probabilities of the same rows, "
                             "in the same order.")
    try:
        classes = np.unique(np.asarray(y))
    except TypeError:  # labels of mixed types: the detector's validation says so
        classes = None
    if classes is not None:
        # First, so that the error names pred_proba (the detector sees it as X).
        check_pred_proba(pred_proba, classes)
    detector = make_detector(method, estimator="precomputed", **params)
    return _scores_and_mask(detector.fit(pred_proba, y))


def _scores_and_mask(detector) -> tuple[np.ndarray, np.ndarray]:
    return detector.noise_scores_, detector.is_noisy_
