"""Teachers for knowledge distillation: soft labels from any scikit-learn classifier.

A student network needs, for every training row, the teacher's probability of each of
*its* classes. This module turns a teacher into that matrix: it fits the teacher when
needed (optionally out of fold, so the soft labels of a row never come from a model that
saw that row's label), aligns the teacher's ``classes_`` to the student's and builds the
hand-made distribution of teacher-free distillation.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from .._core._data import take_rows

__all__ = ["CrossFittedTeacher", "align_proba", "is_fitted", "reg_distribution",
           "take_rows"]


def is_fitted(estimator) -> bool:
    """Whether ``estimator`` can predict without being fitted first.

    An object without ``fit`` (for example a hand-written wrapper that only predicts)
    counts as fitted: there is nothing the student could fit.

    Parameters
    ----------
    estimator : object
        A classifier with ``predict_proba``.

    Returns
    -------
    bool

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> is_fitted(LogisticRegression())
    False
    >>> is_fitted(LogisticRegression().fit([[0.0], [1.0]], [0, 1]))
    True
    """
    if not hasattr(estimator, "fit"):
        return True
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def align_proba(proba, teacher_classes, classes, owner: str = "teacher") -> np.ndarray:
    """Reorder a teacher's probability columns to the student's ``classes``.

    Columns are matched by label value, never by position, so a teacher whose
    ``classes_`` are in another order (or a subset of the student's) gives the right
    soft labels. Student classes the teacher does not know get probability 0; rows are
    renormalised to sum to 1.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_teacher_classes)
        The teacher's ``predict_proba`` output.
    teacher_classes : array-like of shape (n_teacher_classes,)
        The teacher's ``classes_``, in column order.
    classes : array-like of shape (n_classes,)
        The student's ``classes_``.
    owner : str, default='teacher'
        How to call the teacher in error messages.

    Returns
    -------
    ndarray of shape (n_samples, n_classes), float64

    Raises
    ------
    ValueError
        If the teacher knows a class the student does not, or the shapes disagree, or
        a row has no positive, finite probability.

    Examples
    --------
    >>> align_proba([[0.9, 0.1]], ["b", "a"], ["a", "b", "c"])
    array([[0.1, 0.9, 0. ]])
    """
    proba = np.asarray(proba, dtype=np.float64)
    teacher_classes = np.asarray(teacher_classes)
    position = {label: i for i, label in enumerate(np.asarray(classes).tolist())}
    if proba.ndim != 2 or proba.shape[1] != len(teacher_classes):
        raise ValueError(
            f"{owner}: predict_proba returned shape {proba.shape}, which does not match its "
            f"{len(teacher_classes)} classes_; the teacher must return one column per class.")
    unknown = [label for label in teacher_classes.tolist() if label not in position]
    if unknown:
        raise ValueError(
            f"{owner} knows classes {unknown[:5]} that the student does not (student classes "
            f"{list(position)[:10]}). Fit the teacher on the same label set, or pass the full "
            "label set to the student as `classes`.")
    aligned = np.zeros((len(proba), len(position)))
    aligned[:, [position[label] for label in teacher_classes.tolist()]] = proba
    totals = aligned.sum(axis=1, keepdims=True)
    if not np.all(np.isfinite(aligned)) or np.any(aligned < 0) or np.any(totals <= 0):
        raise ValueError(f"{owner}: predict_proba returned negative, non-finite or all-zero "
                         "probabilities; a teacher must return a distribution per row.")
    return aligned / totals


def reg_distribution(y_encoded: np.ndarray, n_classes: int, confidence: float) -> np.ndarray:
    """The hand-made teacher of Tf-KD reg: ``confidence`` on the label, the rest spread.

    Parameters
    ----------
    y_encoded : ndarray of shape (n_samples,)
        Labels encoded as 0..n_classes-1.
    n_classes : int
        Number of classes (at least 2).
    confidence : float
        Probability of the given label, ``(1 - confidence) / (n_classes - 1)`` elsewhere.

    Returns
    -------
    ndarray of shape (n_samples, n_classes), float64

    Examples
    --------
    >>> reg_distribution(np.array([1]), 3, 0.9)
    array([[0.05, 0.9 , 0.05]])
    """
    y_encoded = np.asarray(y_encoded)
    proba = np.full((len(y_encoded), n_classes), (1.0 - confidence) / (n_classes - 1))
    proba[np.arange(len(y_encoded)), y_encoded] = confidence
    return proba


def _fit(estimator, X, y, sample_weight):
    if sample_weight is not None and has_fit_parameter(estimator, "sample_weight"):
        return estimator.fit(X, y, sample_weight=sample_weight)
    return estimator.fit(X, y)


class CrossFittedTeacher(ClassifierMixin, BaseEstimator):
    """A teacher fitted k times, each copy predicting the fold it did not see.

    ``fit`` splits the data into ``cv`` stratified folds, fits a clone of ``estimator``
    on all folds but one and predicts the held-out fold: ``oof_proba_`` holds these
    out-of-fold probabilities for every training row, so a memorised (noisy) label never
    becomes its own soft label. On new data ``predict_proba`` averages the fold models.

    Parameters
    ----------
    estimator : classifier with ``predict_proba``
        The teacher to cross-fit; it is cloned, never fitted in place.
    cv : int, default=3
        Number of stratified folds, at least 2.
    random_state : int, RandomState instance or None, default=None
        Shuffles the rows before splitting.

    Attributes
    ----------
    estimators_ : list of estimators
        The fold models, in fold order.
    classes_ : ndarray of shape (n_classes,)
        Sorted labels seen in fit.
    oof_proba_ : ndarray of shape (n_samples, n_classes)
        Out-of-fold probabilities of the training rows, columns ordered as ``classes_``.

    See Also
    --------
    sklearn.model_selection.cross_val_predict : The same out-of-fold predictions
        without keeping the fold models.

    Notes
    -----
    A fold may lack a rare class; its model then gives that class probability 0.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> teacher = CrossFittedTeacher(LogisticRegression(max_iter=500), cv=3,
    ...                              random_state=0).fit(X, y)
    >>> teacher.oof_proba_.shape, len(teacher.estimators_)
    ((150, 3), 3)
    """

    def __init__(self, estimator, cv: int = 3, random_state=None) -> None:
        self.estimator = estimator
        self.cv = cv
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        """Fit one clone of ``estimator`` per fold and record out-of-fold probabilities.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, ...)
            Training inputs, passed to the teacher as given.
        y : array-like of shape (n_samples,)
            Labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the fold models whose ``fit`` accepts it.

        Returns
        -------
        self : CrossFittedTeacher
        """
        if isinstance(self.cv, bool) or not isinstance(self.cv, Integral) or self.cv < 2:
            raise ValueError(f"CrossFittedTeacher: cv must be an int >= 2; got {self.cv!r}.")
        y = np.asarray(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        weights = None if sample_weight is None else np.asarray(sample_weight)
        folds = StratifiedKFold(int(self.cv), shuffle=True, random_state=self.random_state)
        self.oof_proba_ = np.zeros((len(y), len(self.classes_)))
        self.estimators_ = []
        # Stratified on class positions: any hashable labels (an object array of ints,
        # which scikit-learn's type_of_target calls 'unknown', included) can be split.
        for train, test in folds.split(np.zeros(len(y)), codes):
            model = _fit(clone(self.estimator), take_rows(X, train), y[train],
                         None if weights is None else weights[train])
            self.oof_proba_[test] = align_proba(
                model.predict_proba(take_rows(X, test)), model.classes_, self.classes_,
                owner=f"teacher {type(model).__name__}")
            self.estimators_.append(model)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Average of the fold models' probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        total = sum(align_proba(model.predict_proba(X), model.classes_, self.classes_)
                    for model in self.estimators_)
        return total / len(self.estimators_)

    def predict(self, X) -> np.ndarray:
        """Label with the highest averaged probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
