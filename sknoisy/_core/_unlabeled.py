"""Rows without a label: finding them, and what the estimators that learn from them share.

A label is missing when it is ``None``, NaN or pandas ``NA`` (also inside pandas nullable
``Int64``/``string`` and categorical data), or equal to an estimator's ``unlabeled_label``
when the user sets one (scikit-learn's semi-supervised ``-1`` convention, on request
only: in sknoisy ``-1`` is otherwise an ordinary class). The estimators in
:data:`ACCEPTS_UNLABELED` use such rows as unlabeled data; every other estimator rejects
them with :func:`reject_missing_labels`.

Encoded labels mark an unlabeled row with :data:`UNLABELED` (``-1``), never a class
position: a loss that forgot the mask fails on it instead of training on a made-up class.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import accuracy_score

from ._data import take_rows

__all__ = ["ACCEPTS_UNLABELED", "UNLABELED", "SemiSupervisedMixin", "fill_unlabeled",
           "labeled_part", "labeled_targets", "missing_label_mask", "reject_missing_labels"]

# The encoded label of a row without one.
UNLABELED = -1

# Public estimators that learn from unlabeled rows (named in the error of the others).
ACCEPTS_UNLABELED = ("DivideMixClassifier", "DistilledStudentClassifier",
                     "MutualLearningClassifier")


def _values(y) -> np.ndarray:
    """``y`` as a numpy array, a column vector flattened (its other checks come later)."""
    values = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values.ravel()
    return values


def missing_label_mask(y, unlabeled_label=None) -> np.ndarray:
    """Which entries of ``y`` have no label.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels: a list, a numpy array or a pandas Series / Index / Categorical.
    unlabeled_label : scalar or None, default=None
        A label value that also means "no label" (for example ``-1``, scikit-learn's
        semi-supervised convention). ``None``: only ``None``, NaN and pandas ``NA``.

    Returns
    -------
    mask : ndarray of shape (n_samples,), bool
        True where the label is missing. All False for targets that are not 1-D (their
        shape is rejected by the label checks).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> missing_label_mask([1, None, -1]).tolist()
    [False, True, False]
    >>> missing_label_mask(np.array([1, np.nan, -1]), unlabeled_label=-1).tolist()
    [False, True, True]
    >>> missing_label_mask(pd.Series(["a", pd.NA], dtype="string")).tolist()
    [False, True]
    """
    if hasattr(y, "isna") and np.ndim(y) == 1:
        # pandas knows its own missing markers (NA of nullable dtypes, NaN categories).
        mask = np.asarray(y.isna(), dtype=bool)
        values = None
    else:
        values = _values(y)
        if values.ndim != 1:
            return np.zeros(len(values) if values.ndim else 0, dtype=bool)
        if values.dtype.kind in "fc":
            mask = np.isnan(values)
        elif values.dtype == object:
            mask = np.asarray(pd.isna(values), dtype=bool)
        else:
            mask = np.zeros(len(values), dtype=bool)
    if unlabeled_label is None or (isinstance(unlabeled_label, Real)
                                   and np.isnan(unlabeled_label)):
        return mask
    values = _values(y) if values is None else values
    present = np.flatnonzero(~mask)
    if values.dtype.kind in "biuf" and isinstance(unlabeled_label, Real):
        equal = values[present] == unlabeled_label
    else:
        # One comparison per value: numpy compares arrays of strings with a number
        # (or objects with pandas scalars) in ways that differ between versions.
        equal = np.array([value == unlabeled_label for value in values[present].tolist()],
                         dtype=bool)
    mask = mask.copy()
    mask[present[equal]] = True
    return mask


def reject_missing_labels(estimator, y) -> None:
    """Raise a ``ValueError`` naming the rows of ``y`` without a label, if any.

    For every estimator that needs a label on each row; the message names the
    estimators that learn from unlabeled rows instead.

    Parameters
    ----------
    estimator : object
        Named in the message.
    y : array-like of shape (n_samples,)
        The labels passed to ``fit``.

    Examples
    --------
    >>> reject_missing_labels(None, [0, 1, 1])
    >>> reject_missing_labels(None, [0, None, 1])
    Traceback (most recent call last):
    ...
    ValueError: NoneType: y has 1 missing label (None, NaN or pandas NA) of 3, at row [1]; ...
    """
    if y is None:
        return
    rows = np.flatnonzero(missing_label_mask(y))
    if len(rows) == 0:
        return
    name = type(estimator).__name__
    shown = rows[:10].tolist()
    where = f"row{'s' if len(rows) > 1 else ''} {shown}{' ...' if len(rows) > 10 else ''}"
    raise ValueError(
        f"{name}: y has {len(rows)} missing label{'s' if len(rows) > 1 else ''} (None, NaN "
        f"or pandas NA) of {len(missing_label_mask(y))}, at {where}; {name} needs a label "
        "on every row. Drop those rows, or use an estimator that learns from unlabeled "
        f"rows: {', '.join(ACCEPTS_UNLABELED)}.")


def labeled_part(y, labeled: np.ndarray):
    """The entries of ``y`` at the rows ``labeled`` marks, keeping the label type.

    A pandas object is indexed by position (a nullable ``Int64`` Series without its
    ``NA`` becomes ``int64``); an object array whose remaining labels are all integers
    (or all floats) becomes an integer (float) array, as ``np.asarray`` would have made
    it without the missing entries.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels, some missing.
    labeled : ndarray of shape (n_samples,), bool
        The rows to keep.

    Returns
    -------
    ndarray of shape (labeled.sum(),)

    Examples
    --------
    >>> import numpy as np
    >>> labeled_part([3, None, 5], np.array([True, False, True]))
    array([3, 5])
    """
    rows = np.flatnonzero(labeled)
    if hasattr(y, "iloc"):
        return y.iloc[rows].to_numpy()
    if hasattr(y, "isna"):  # pandas Index or Categorical
        return np.asarray(y[rows])
    values = _values(y)[rows]
    if values.dtype == object:
        items = values.tolist()
        if items and all(isinstance(v, (Integral, np.integer)) and not isinstance(v, bool)
                         for v in items):
            return np.asarray(items, dtype=np.int64)
        if items and all(isinstance(v, (float, np.floating)) for v in items):
            return np.asarray(items, dtype=np.float64)
    return values


def fill_unlabeled(codes: np.ndarray, labeled: np.ndarray) -> np.ndarray:
    """Encoded labels of all rows: ``codes`` on the labeled rows, :data:`UNLABELED` elsewhere.

    Parameters
    ----------
    codes : ndarray of shape (labeled.sum(),)
        Class positions of the labeled rows, in row order.
    labeled : ndarray of shape (n_samples,), bool
        Which rows have a label.

    Returns
    -------
    ndarray of shape (n_samples,), int64

    Examples
    --------
    >>> import numpy as np
    >>> fill_unlabeled(np.array([2, 0]), np.array([True, False, True])).tolist()
    [2, -1, 0]
    """
    full = np.full(len(labeled), UNLABELED, dtype=np.int64)
    full[labeled] = codes
    return full


def labeled_targets(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch's encoded labels made safe for a loss, and which rows have one.

    Parameters
    ----------
    y : torch.Tensor of shape (N,), long
        Encoded labels, :data:`UNLABELED` for rows without one.

    Returns
    -------
    targets : torch.Tensor of shape (N,), long
        ``y`` with unlabeled rows set to class 0: only valid where ``labeled``.
    labeled : torch.Tensor of shape (N,), bool

    Examples
    --------
    >>> import torch
    >>> targets, labeled = labeled_targets(torch.tensor([2, -1]))
    >>> targets.tolist(), labeled.tolist()
    ([2, 0], [True, False])
    """
    labeled = y >= 0
    return y.clamp_min(0), labeled


class SemiSupervisedMixin:
    """What the estimators that learn from unlabeled rows share, beside the core's checks.

    Listed first in the bases of such an estimator, which stores an ``unlabeled_label``
    parameter. The core's ``fit`` then accepts rows without a label (see
    :func:`missing_label_mask`): ``classes_`` come from the labeled rows alone, the
    encoded labels mark the others :data:`UNLABELED`, and early stopping holds out
    labeled rows only. ``score`` ignores unlabeled rows.

    Examples
    --------
    >>> from sknoisy.classifiers import MutualLearningClassifier
    >>> X = [[0.0], [0.1], [1.0], [1.1], [0.5]]
    >>> clf = MutualLearningClassifier(max_epochs=2, random_state=0)
    >>> clf.fit(X, ["a", "a", "b", "b", None]).classes_
    array(['a', 'b'], dtype=object)
    """

    _accepts_unlabeled_rows = True

    def _check_params(self) -> None:
        super()._check_params()
        if isinstance(self.unlabeled_label, (bool, np.bool_)):
            raise TypeError(
                f"{type(self).__name__}: unlabeled_label is the label value that marks a "
                f"row as unlabeled (for example -1), not the bool {self.unlabeled_label!r}.")
        classes = getattr(self, "classes", None)
        if self.unlabeled_label is not None and classes is not None \
                and any(c == self.unlabeled_label for c in np.asarray(classes).tolist()):
            raise ValueError(
                f"{type(self).__name__}: classes={list(classes)} contains unlabeled_label="
                f"{self.unlabeled_label!r}, which marks rows without a label; remove it "
                "from classes or choose another unlabeled_label.")

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy on the rows of ``(X, y)`` that have a label; unlabeled rows are ignored.

        A label is missing as in ``fit`` (``None``, NaN, pandas ``NA``, or
        ``unlabeled_label``), so in ``GridSearchCV`` a test fold's unlabeled rows
        neither count as errors nor raise.

        Parameters
        ----------
        X : array-like
            Inputs of the shape seen in fit.
        y : array-like of shape (n_samples,)
            True labels, some possibly missing.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows (those of unlabeled rows are dropped with them).

        Returns
        -------
        score : float
            Mean (weighted) accuracy over the labeled rows.

        Raises
        ------
        ValueError
            If no row of ``y`` has a label.
        """
        labeled = ~missing_label_mask(y, getattr(self, "unlabeled_label", None))
        if not labeled.any():
            raise ValueError(
                f"{type(self).__name__}.score: every label in y is missing, so there is "
                "nothing to score; score on rows with labels.")
        rows = np.flatnonzero(labeled)
        X_labeled = take_rows(X, rows)
        weights = None if sample_weight is None else np.asarray(sample_weight)[rows]
        return float(accuracy_score(labeled_part(y, labeled), self.predict(X_labeled),
                                    sample_weight=weights))
