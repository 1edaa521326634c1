"""What a detector flagged, per class, on data whose true labels nobody knows."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.utils import Bunch

from ..detectors._confident import check_pred_proba
from ..noise import confident_joint
from ..noise._label_model import estimate_label_noise
from ._detection import _as_1d

__all__ = ["label_issue_summary"]


def _labels(values, name: str, n: int | None = None) -> np.ndarray:
    if hasattr(values, "to_numpy"):  # a pandas Series or Categorical keeps its values
        values = values.to_numpy()
    arr = _as_1d(values, name)
    if n is not None and len(arr) != n:
        raise ValueError(f"{name} has {len(arr)} entries but y has {n}; give one per row "
                         "of y, in the same order.")
    return arr


def _fill_from_detector(detector, scores, is_noisy, suggested, proba):
    """Take what the caller left out from a fitted detector's attributes."""
    if not hasattr(detector, "noise_scores_"):
        raise ValueError(f"detector must be a fitted sknoisy detector (with noise_scores_ "
                         f"and is_noisy_); got {type(detector).__name__} without them. "
                         "Fit it on the same rows first.")
    return (detector.noise_scores_ if scores is None else scores,
            detector.is_noisy_ if is_noisy is None else is_noisy,
            getattr(detector, "suggested_labels_", None) if suggested is None else suggested,
            getattr(detector, "pred_proba_", None) if proba is None else proba)


def label_issue_summary(y: ArrayLike, scores: ArrayLike | None = None,
                        is_noisy: ArrayLike | None = None, *,
                        suggested_labels: ArrayLike | None = None,
                        pred_proba: ArrayLike | None = None, detector=None,
                        top: int | None = 20) -> Bunch:
    """Summarise the suspected label errors of a dataset without ground truth.

    :func:`noise_detection_report` needs the true flip mask; on real data nobody has
    it. This report says what a detector flagged: how many rows per class, the
    estimated share of wrong labels per class, which given labels the suggested ones
    replace, and the most suspect rows to review first.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The given labels, of any sortable type, in the order the detector saw them.
    scores : array-like of shape (n_samples,), default=None
        Noise scores, higher = more likely mislabeled (``noise_scores_``). Required
        unless ``detector`` is given.
    is_noisy : array-like of bool of shape (n_samples,), default=None
        The flagged rows (``is_noisy_``). Required unless ``detector`` is given.
    suggested_labels : array-like of shape (n_samples,), default=None
        The label the detector believes in for each row (``suggested_labels_``);
        without it (and without ``pred_proba``) the confusion table is empty.
    pred_proba : array-like of shape (n_samples, n_classes), default=None
        Out-of-fold probabilities, columns in sorted label order. They give the
        per-class noise estimate (random labels plus one-way swaps, as
        :class:`~sknoisy.detectors.ConfidentLearningDetector` estimates them by
        default), the suggested labels (argmax) when none are given, and each
        suspect's probability of its given label.
    detector : fitted detector, default=None
        Where ``scores``, ``is_noisy``, ``suggested_labels`` and ``pred_proba`` are
        read from when not given (``noise_scores_``, ``is_noisy_``,
        ``suggested_labels_``, ``pred_proba_``), and ``noise_rate_``.
    top : int or None, default=20
        Rows in ``top_suspects``; None lists every row.

    Returns
    -------
    summary : :class:`~sklearn.utils.Bunch`
        - ``per_class``: DataFrame indexed by label: ``n_labeled`` (rows with that
          given label), ``n_flagged``, ``flagged_share``, ``estimated_noise_rate``
          (share of that class's labels estimated wrong with ``pred_proba``: the
          wrong share of the random labels plus the class's one-way swaps out of
          its ``n_i`` rows, see ``ConfidentLearningDetector``; else the flagged
          share),
          ``n_suggested`` (rows whose suggested label it is) and ``flagged_mostly_as``
          (the most common suggested label among its flagged rows).
        - ``confusion``: DataFrame of the flagged rows, given label (index) x
          suggested label (columns), counts.
        - ``top_suspects``: DataFrame of the ``top`` highest-scored rows: ``row``
          (position in y), ``given_label``, ``suggested_label``, ``noise_score``,
          ``flagged``, and with ``pred_proba`` ``given_label_proba``.
        - ``n_samples``, ``n_flagged``, ``noise_rate`` (the detector's
          ``noise_rate_`` if given, else the random-plus-one-way estimate with
          ``pred_proba``, else the flagged share).

    Raises
    ------
    ValueError
        If lengths differ, scores are not finite, the mask is not boolean, or
        neither the arrays nor a detector are given.

    See Also
    --------
    noise_detection_report : the same detectors scored against a known flip mask.
    sknoisy.plotting.plot_label_issues : the per-class table or the confusion, drawn.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_predict
    >>> from sknoisy.detectors import find_noisy_labels
    >>> from sknoisy.metrics import label_issue_summary
    >>> X, y = load_iris(return_X_y=True)
    >>> labels = np.array(["setosa", "versicolor", "virginica"])[y]
    >>> labels[[0, 60, 120]] = ["virginica", "setosa", "versicolor"]
    >>> proba = cross_val_predict(LogisticRegression(max_iter=1000), X, labels, cv=5,
    ...                           method="predict_proba")
    >>> scores, is_noisy = find_noisy_labels(y=labels, pred_proba=proba)
    >>> summary = label_issue_summary(labels, scores, is_noisy, pred_proba=proba, top=3)
    >>> summary.per_class[["n_labeled", "n_flagged", "estimated_noise_rate"]].round(3)
                n_labeled  n_flagged  estimated_noise_rate
    setosa             50          1                 0.022
    versicolor         50          1                 0.022
    virginica          50          1                 0.022
    >>> summary.confusion
    suggested   setosa  versicolor  virginica
    given
    setosa           0           1          0
    versicolor       0           0          1
    virginica        1           0          0
    >>> summary.top_suspects[["row", "given_label", "suggested_label", "flagged"]]
       row given_label suggested_label  flagged
    0    0   virginica          setosa     True
    1   60      setosa      versicolor     True
    2  120  versicolor       virginica     True
    """
    if detector is not None:
        scores, is_noisy, suggested_labels, pred_proba = _fill_from_detector(
            detector, scores, is_noisy, suggested_labels, pred_proba)
    if scores is None or is_noisy is None:
        raise ValueError("label_issue_summary needs scores and is_noisy (or a fitted "
                         "detector to read them from).")
    given = _labels(y, "y")
    n = len(given)
    if n == 0:
        raise ValueError("y is empty; pass the labels of at least one row.")
    score = np.asarray(_labels(scores, "scores", n), dtype=np.float64)
    if not np.all(np.isfinite(score)):
        raise ValueError("scores contains NaN or infinite values; pass finite scores.")
    mask = _labels(is_noisy, "is_noisy", n)
    if mask.dtype != bool:
        raise ValueError(f"is_noisy must be a boolean mask (True = flagged); got dtype "
                         f"{mask.dtype}.")
    if top is not None and (isinstance(top, bool) or not isinstance(top, numbers.Integral)
                            or top < 1):
        raise ValueError(f"top must be a positive int or None; got {top!r}.")
    classes = np.unique(given)
    codes = np.searchsorted(classes, given)
    proba = estimate = None
    if pred_proba is not None:
        proba = check_pred_proba(pred_proba, classes)
        if len(proba) != n:
            raise ValueError(f"pred_proba has {len(proba)} rows but y has {n}.")
        estimate = estimate_label_noise(proba, codes, confident_joint(proba, codes))
        if suggested_labels is None:
            suggested_labels = classes[proba.argmax(axis=1)]
    suggested = None if suggested_labels is None else _labels(suggested_labels,
                                                              "suggested_labels", n)

    counts = np.bincount(codes, minlength=len(classes))
    flagged = np.bincount(codes[mask], minlength=len(classes))
    per_class = pd.DataFrame({"n_labeled": counts, "n_flagged": flagged,
                              "flagged_share": flagged / counts},
                             index=pd.Index(classes, name=None))
    per_class["estimated_noise_rate"] = (estimate.per_class if estimate is not None
                                         else per_class["flagged_share"])
    if suggested is not None:
        table = pd.crosstab(pd.Series(given[mask], name="given"),
                            pd.Series(suggested[mask], name="suggested"))
        per_class["n_suggested"] = pd.Series(suggested).value_counts().reindex(
            classes, fill_value=0).to_numpy()
        per_class["flagged_mostly_as"] = [
            table.loc[label].idxmax() if label in table.index and table.loc[label].any()
            else None for label in classes]
    else:
        table = pd.DataFrame(index=pd.Index([], name="given"),
                             columns=pd.Index([], name="suggested"), dtype=np.int64)

    order = np.argsort(-score, kind="stable")[:top]
    suspects = pd.DataFrame({"row": order, "given_label": given[order],
                             "suggested_label": None if suggested is None else
                             suggested[order],
                             "noise_score": score[order], "flagged": mask[order]})
    if proba is not None:
        suspects["given_label_proba"] = proba[order, codes[order]]
    if detector is not None and hasattr(detector, "noise_rate_"):
        rate = float(detector.noise_rate_)
    elif estimate is not None:
        rate = estimate.rate
    else:
        rate = float(mask.mean())
    return Bunch(per_class=per_class, confusion=table, top_suspects=suspects,
                 n_samples=n, n_flagged=int(mask.sum()), noise_rate=rate)
