"""Confident learning: any classifier's out-of-fold probabilities -> suspected wrong labels."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from imblearn.under_sampling.base import BaseCleaningSampler
from scipy.stats import binom
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils import check_random_state
from skorch import NeuralNet

from .._core._data import take_rows
from .._core._detector import DETECTOR_CONSTRAINTS, MAX_RATE_CONSTRAINT, NoiseDetectorMixin
from .._core._validation import HasMethods, StrOptions
from ..exceptions import UnflaggedNoiseWarning
from ..noise import confident_joint, estimate_noise_rate
from ..noise._label_model import anchor_disagreement, estimate_label_noise

__all__ = ["ConfidentLearningDetector"]

FILTERS = ("random_and_one_way", "prune_by_noise_rate", "prune_by_class", "both",
           "confident_learning", "predicted_neq_given")
RANKINGS = ("self_confidence", "normalized_margin", "posterior")
# How far a row of probabilities may sum from 1: float32 softmax outputs are within 1e-6;
# logits or decision_function scores are far outside.
_SUM_TOLERANCE = 1e-3
# How far the anchors' disagreement may exceed the default rule's noise rate before a
# warning. Measured gaps (scratch, 3 seeds): clean Fashion-MNIST with the core net
# 0.00-0.02, symmetric 5-40% noise 0.01-0.10 (the anchors of a weak model hold other
# classes' rows); learned pair flips 0.09-0.20 there and 0.35 on digits with a
# logistic regression.
_ANCHOR_GAP = 0.1


def _default_estimator():
    # The core net at the detectors' 10 warm-up epochs: on digits and Fashion-MNIST its
    # out-of-fold probabilities found the flipped labels far better than a standardised
    # logistic regression (AUPRC 0.99 vs 0.93 and 0.92-0.94 vs 0.63-0.69 at 20-40%
    # symmetric noise), and it takes images. Built at fit time, never stored by __init__.
    from .._core._base import NoisyNetClassifier

    return NoisyNetClassifier(max_epochs=10)


def check_pred_proba(pred_proba, classes, name: str = "pred_proba") -> np.ndarray:
    """``pred_proba`` as float64 rows that sum to 1, one column per class, or a ValueError.

    Parameters
    ----------
    pred_proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities, columns in the order of ``classes``.
    classes : ndarray of shape (n_classes,)
        The sorted labels that occur in y.
    name : str, default='pred_proba'
        How the array is named in error messages.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
        Renormalised so that every row sums to exactly 1.
    """
    try:
        P = np.asarray(pred_proba, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of probabilities; it could not be read "
                         f"as numbers ({exc}).") from None
    if P.ndim != 2:
        raise ValueError(f"{name} must be 2-D, (n_samples, n_classes); got shape {P.shape}. "
                         "Pass the output of predict_proba.")
    if P.shape[1] != len(classes):
        raise ValueError(
            f"{name} has {P.shape[1]} columns but y holds {len(classes)} classes "
            f"{np.asarray(classes)[:10].tolist()}. The columns must be the classes in "
            "sorted order, and every class needs at least one labelled row (its average "
            "self-confidence is its threshold); drop the columns of classes absent from y, "
            "or the rows of classes absent from the columns.")
    if not np.all(np.isfinite(P)):
        raise ValueError(f"{name} contains {int(np.sum(~np.isfinite(P)))} NaN or infinite "
                         "values; pass finite probabilities.")
    if P.min() < 0 or P.max() > 1 + _SUM_TOLERANCE:
        raise ValueError(f"{name} must hold probabilities in [0, 1]; got values in "
                         f"[{P.min():.4g}, {P.max():.4g}]. Pass predict_proba output, not "
                         "decision_function scores or logits.")
    sums = P.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > _SUM_TOLERANCE)
    if bad.size:
        raise ValueError(f"every row of {name} must sum to 1; {bad.size} rows do not (row "
                         f"{bad[0]} sums to {sums[bad[0]]:.4g}). Pass predict_proba output, "
                         "not decision_function scores, logits or one-vs-rest outputs.")
    return P / sums[:, None]


def class_thresholds(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-class threshold t_j: the mean of ``proba[:, j]`` over the rows labelled j."""
    counts = np.bincount(y, minlength=proba.shape[1])
    return np.bincount(y, weights=proba[np.arange(len(y)), y],
                       minlength=proba.shape[1]) / np.maximum(counts, 1)


def _lowest(values: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` of ``rows`` with the lowest ``values`` (one per row; ties by position)."""
    return rows[np.argsort(values, kind="stable")[:k]]


def _prune_cells(proba: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """For each off-diagonal cell (i, j), the ``counts[i, j]`` rows labelled i with the
    largest margin p_j - p_i (only class i's rows are read: O(n_classes * n))."""
    n, n_classes = proba.shape
    given = proba[np.arange(n), y]
    mask = np.zeros(n, dtype=bool)
    for i in range(n_classes):
        rows = np.flatnonzero(y == i)
        for j in range(n_classes):
            k = int(round(counts[i, j]))
            if j != i and k > 0:
                mask[_lowest(given[rows] - proba[rows, j], rows, k)] = True
    return mask


def flag_label_issues(proba: np.ndarray, y: np.ndarray, joint: np.ndarray,
                      filter_by: str, random_posterior: np.ndarray | None = None,
                      excess: np.ndarray | None = None) -> np.ndarray:
    """The rows confident learning calls mislabeled, by one of its rules.

    ``joint`` is the calibrated confident joint of :func:`sknoisy.noise.confident_joint`
    (counts of given label i and estimated true label j). The prune rules are those of
    Northcutt et al. (2021), section 3.2. ``'random_and_one_way'`` reads
    ``random_posterior`` (per row, of :func:`~sknoisy.noise._label_model.fit_random_labels`)
    and ``excess`` (:func:`~sknoisy.noise._label_model.one_way_excess`).
    """
    n, n_classes = proba.shape
    given = proba[np.arange(n), y]
    if filter_by == "predicted_neq_given":
        return proba.argmax(axis=1) != y
    if filter_by == "confident_learning":
        # Off the diagonal of the confident joint: the given label is below its class
        # threshold and some class is at or above its own (that class is then not y).
        t = class_thresholds(proba, y)
        return (given < t[y]) & (proba >= t).any(axis=1)
    if filter_by == "random_and_one_way":
        mask = (random_posterior > 0.5) | _prune_cells(proba, y, excess)
    elif filter_by == "prune_by_noise_rate":
        mask = _prune_cells(proba, y, joint)
    else:
        # Prune by class: in each class i the n_i - C_ii rows least confident in it.
        by_class = np.zeros(n, dtype=bool)
        for i in range(n_classes):
            rows = np.flatnonzero(y == i)
            n_off = int(round(len(rows) - joint[i, i]))
            by_class[_lowest(given[rows], rows, max(n_off, 0))] = True
        mask = by_class if filter_by == "prune_by_class" else (
            by_class & _prune_cells(proba, y, joint))
    # The counts come from a model, not from each row: a row the model still puts in
    # its given class was picked only to fill a count, so it is not flagged.
    return mask & (proba.argmax(axis=1) != y)


def noise_score(proba: np.ndarray, y: np.ndarray, rank_by: str,
                joint: np.ndarray | None = None) -> np.ndarray:
    """Per-row noise score in [0, 1] (higher = more likely mislabeled).

    ``joint`` (the calibrated confident joint) is needed for ``rank_by='posterior'``.
    """
    n = len(y)
    given = proba[np.arange(n), y]
    if rank_by == "self_confidence":
        return 1.0 - given
    if rank_by == "posterior":
        # T[i, j] = P(given i | true j): the joint normalised over each true class.
        true_counts = joint.sum(axis=0)
        T = np.divide(joint, true_counts, out=np.zeros_like(joint), where=true_counts > 0)
        # Bayes with p as the true-class posterior: P(true = i | x, given = i)
        # = T_ii p_i / sum_j T_ij p_j; a row no class explains is as suspect as can be.
        evidence = np.einsum("nj,nj->n", T[y], proba)
        kept = T[y, y] * given
        return np.where(evidence > 0, 1.0 - kept / np.where(evidence > 0, evidence, 1.0),
                        1.0)
    others = proba.copy()
    others[np.arange(n), y] = -np.inf
    # Normalized margin: (1 - (p_y - max_{j != y} p_j)) / 2, 0 when the model is sure of
    # the given label and 1 when it is sure of another.
    return (1.0 - given + others.max(axis=1)) / 2.0


class ConfidentLearningDetector(NoiseDetectorMixin, BaseCleaningSampler):
    """Confident learning: flag the labels that out-of-fold probabilities contradict.

    ``estimator`` is fitted ``cv`` times; each fit predicts the probabilities of the rows
    it was not trained on, so every row gets out-of-fold probabilities ``p`` (or pass
    them yourself with ``estimator='precomputed'``). For each class ``j`` the threshold
    ``t_j`` is the mean of ``p_j`` over the rows labelled ``j``. The calibrated confident
    joint (:func:`sknoisy.noise.confident_joint`) counts the rows of given label ``i``
    whose true class is estimated to be ``j``. ``filter_by`` picks which rows to flag,
    ``rank_by`` scores every row.

    A model's confident mistakes on clean but ambiguous rows land in the confident
    joint too (on clean Fashion-MNIST, 10-13% of the rows), so by default only the
    wrong labels that ambiguity cannot explain are flagged: labels drawn at random,
    found by a model comparison (a mixture of the temperature-scaled probabilities and
    uniformly random labels, kept only when its BIC is lower), and one-way swaps
    (pairs of classes whose confident-joint cells differ by more than two-way
    confusion allows, a binomial test at a 5% false-discovery rate).

    Parameters
    ----------
    estimator : classifier with predict_proba, 'precomputed' or None, default=None
        Any scikit-learn classifier (a Pipeline, gradient boosting, a
        :class:`~sknoisy.NoisyNetClassifier`, ...); it is cloned for each fold, never
        fitted in place. Where the detector's ``random_state`` is an int, every
        ``random_state`` parameter of the estimator (inside a Pipeline too) is set to
        it. Images reach a skorch net as they are and other estimators flattened to
        rows. ``None`` uses ``NoisyNetClassifier(max_epochs=10)`` (the module chosen by
        X's shape), the warm-up length of the other detectors. ``'precomputed'``: X
        *is* the out-of-fold probabilities, shape (n_samples, n_classes), columns in
        sorted label order, and nothing is trained.
    cv : int, cross-validation generator or iterable, default=5
        Folds for the out-of-fold probabilities. An int means ``StratifiedKFold(cv,
        shuffle=True, random_state=random_state)``; every class needs at least ``cv``
        rows. A splitter must put each row in exactly one test fold and every class
        in every training fold. Ignored with ``estimator='precomputed'``.
    filter_by : {'random_and_one_way', 'prune_by_noise_rate', 'prune_by_class', \
'both', 'confident_learning', 'predicted_neq_given'}, default='random_and_one_way'
        Which rows to flag. ``'random_and_one_way'``: the rows whose label is more
        likely random than not (posterior of the random-label component above 0.5),
        and for each one-way swap ``(i, j)`` the ``excess`` rows labelled ``i`` with
        the largest margin ``p_j - p_i`` (see ``one_way_excess_``); safe on clean
        data, but labels that two classes share both ways are left alone. The other
        rules are Northcutt et al.'s (section 3.2); ``'prune_by_noise_rate'`` is
        cleanlab's default. ``'confident_learning'``:
        the rows off the diagonal of the confident joint (given label below its
        threshold, another class at or above its own). ``'prune_by_class'``: in each
        class ``i`` the ``n_i - C_ii`` rows least confident in their label.
        ``'prune_by_noise_rate'``: for each off-diagonal cell ``(i, j)`` the ``C_ij``
        rows labelled ``i`` with the largest margin ``p_j - p_i``. ``'both'``: flagged
        by the two prune rules. ``'predicted_neq_given'``: the argmax is not the
        given label. With every rule but ``'confident_learning'`` a row whose argmax
        is its given label is never flagged.
    rank_by : {'self_confidence', 'normalized_margin', 'posterior'}, \
default='self_confidence'
        ``noise_scores_`` of a row labelled ``i``: ``1 - p_i`` (self-confidence);
        ``(1 - p_i + max_{j != i} p_j) / 2`` (normalized margin); or ``'posterior'``,
        ``1 - T_ii p_i / sum_j T_ij p_j``, the probability that the label is wrong by
        Bayes' rule if ``p`` were the true-class posterior and
        ``T_ij = C_ij / sum_k C_kj`` (the confident joint normalised over each true
        class, an estimate of P(given i | true j)) the noise process. The posterior
        ranks far better under class-dependent noise (pairs of classes swapped) and
        somewhat worse under uniform noise on hard data; see Notes.
    max_noise_rate : float in (0, 1], default=0.5
        Never flag more than this share of the rows (the highest scores are kept);
        flagging more needs this explicit setting, and a
        :class:`~sknoisy.exceptions.MostRowsFlaggedWarning` gives the numbers when the
        cap applies.
    action : {'drop', 'relabel'}, default='drop'
        Drop the flagged rows, or relabel them to ``suggested_labels_``.
    sampling_strategy : str, list or callable, default='all'
        Classes to clean (imbalanced-learn's cleaning-sampler convention).
    random_state : int, RandomState instance or None, default=None
        Shuffles the folds of an int ``cv`` and seeds the estimator's clones.
        ``None`` keeps the estimator's own ``random_state`` and draws the folds anew
        on every fit.
    verbose : int, default=0
        1 prints how many rows were flagged, the estimated noise rate and (default
        rule) its parts and the confident joint's off-diagonal share, what cleanlab's
        rule would flag; 2 adds the count per class. The estimator's own output is
        its ``verbose``.
    accelerator : accelerate.Accelerator or None, default=None
        Train the fold models data-parallel over the processes of a launch: every
        ``accelerator`` parameter of the estimator (a sknoisy network, inside a
        Pipeline too) is set to it, with its ``device`` set to the accelerator's. The
        folds are drawn from process 0's seed, so every process cuts the same ones.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The sorted labels.
    pred_proba_ : ndarray of shape (n_samples, n_classes)
        The out-of-fold probabilities read (or the ones given), rows summing to 1.
    class_thresholds_ : ndarray of shape (n_classes,)
        ``t_j``, the mean ``p_j`` over the rows labelled ``j``.
    confident_joint_ : ndarray of shape (n_classes, n_classes)
        Estimated counts of (given label, true label), rows summing to the label
        counts (:func:`sknoisy.noise.confident_joint`).
    noise_scores_ : ndarray of shape (n_samples,)
        In [0, 1], higher = more likely mislabeled (see ``rank_by``).
    random_label_rate_ : float
        Share of the labels the mixture explains as drawn uniformly at random (0
        when the model comparison prefers no random labels); a random label is wrong
        with probability ``(n_classes - 1) / n_classes``.
    anchor_disagreement_ : float
        Share of the anchors (the 10% of each predicted class the model is surest of)
        whose label is another class: near 0 on clean data, near the noise rate under
        class-conditional noise whether or not the model learned it. When it is
        significantly above the default rule's ``noise_rate_`` plus 0.1 (one-sided
        binomial test, 5%), an :class:`~sknoisy.exceptions.UnflaggedNoiseWarning`
        says so.
    one_way_excess_ : ndarray of shape (n_classes, n_classes)
        Estimated rows labelled ``i`` whose class is ``j`` beyond the pair's two-way
        confusion, for the significantly one-way pairs; zero elsewhere.
    noise_rate_ : float
        The estimated fraction of wrong labels. With ``'random_and_one_way'``:
        ``random_label_rate_ * (n_classes - 1) / n_classes`` plus the one-way excess
        over ``n_samples``; with the other rules the off-diagonal share of
        ``confident_joint_``. The flagged share is close to it except for
        ``'confident_learning'`` and ``'predicted_neq_given'``.
    is_noisy_ : ndarray of bool of shape (n_samples,)
        Samples dropped (or relabeled).
    sample_indices_ : ndarray of shape (n_kept,)
        Rows kept in the resampled data.
    suggested_labels_ : ndarray of shape (n_samples,)
        The argmax of ``pred_proba_`` as the caller's label values: the relabeling
        target, and a candidate fix for any row.
    n_features_in_ : int
        Number of input features (of classes, with ``estimator='precomputed'``).
    input_shape_ : tuple of int
        Shape of one sample.
    sampling_strategy_ : dict
        The classes cleaned (imbalanced-learn's convention).

    See Also
    --------
    find_noisy_labels : scores and mask in one call, also from ``pred_proba``.
    sknoisy.metrics.label_issue_summary : what was flagged, without ground truth.
    O2UNoiseDetector, BMMLabelCleaner : detectors that read one network's training losses.

    Notes
    -----
    Cost: ``cv`` fits of the estimator on ``(cv - 1) / cv`` of the rows, plus O(n_samples
    * n_classes) for the rest. The probabilities must be out-of-sample: a model's
    probabilities on its own training rows agree with the labels it memorised, wrong
    ones included. The method assumes that the errors depend on the true class, not on
    the row (class-conditional noise), and that the model ranks its own class's rows
    above the others', so it is only as good as the estimator's probabilities: an
    estimator that cannot separate the classes flags noise everywhere.

    The default rule assumes that ambiguity is two-way: two classes that are hard to
    tell apart are mistaken for each other about equally often. A model that
    systematically misplaces part of a class breaks that on clean data (7% of the
    rows flagged with a logistic regression on synthetic classes of two clusters
    each, ``detectors.md``), and swaps that go both ways are not flagged.
    ``filter_by='prune_by_noise_rate'`` flags what cleanlab flags.

    Measured (``benchmarks/results/confident.md`` and ``detectors.md``, 3 seeds): the
    default scores rank exactly as cleanlab's default on the same probabilities. On
    clean Fashion-MNIST (core net, 3 folds) the default rule flagged 0.4-0.6% of the
    rows, cleanlab's 9-12%; at 5% and 10% symmetric noise within a point of the
    truth, at precision 0.68-0.76 (cleanlab's rule 0.26-0.48). It flags fewer rows
    than are wrong where the model learns the noise: 18% at 30% pair flips on
    Fashion-MNIST (precision 0.95), 1% on digits with a logistic regression, nothing
    at 40% symmetric noise with boosting on wine's 124 rows; an
    :class:`~sknoisy.exceptions.UnflaggedNoiseWarning` then names cleanlab's rule.
    ``rank_by='posterior'`` raised AUPRC under pair-flip 30% noise (0.55 -> 0.74 on
    Fashion-MNIST with the core net) and lowered it under symmetric 20% noise there
    (0.91 -> 0.85).

    References
    ----------
    .. [1] C. Northcutt, L. Jiang, I. Chuang. "Confident Learning: Estimating
       Uncertainty in Dataset Labels". JAIR 70, 2021.

    Examples
    --------
    Any classifier with ``predict_proba``; here the first 100 digits get a wrong
    label at random:

    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sknoisy.detectors import ConfidentLearningDetector
    >>> X, y = load_digits(return_X_y=True)
    >>> y[:100] = (y[:100] + np.random.default_rng(0).integers(1, 10, 100)) % 10
    >>> model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    >>> det = ConfidentLearningDetector(model, random_state=0).fit(X, y)
    >>> flagged = det.is_noisy_
    >>> round(det.noise_rate_, 3), int(flagged[:100].sum()), int(flagged[100:].sum())
    (0.049, 76, 5)

    cleanlab's rule finds fewer of them and flags more correct labels:

    >>> cl = ConfidentLearningDetector(model, filter_by="prune_by_noise_rate",
    ...                                random_state=0).fit(X, y)
    >>> int(cl.is_noisy_[:100].sum()), int(cl.is_noisy_[100:].sum())
    (61, 24)

    Probabilities you already have (out-of-fold!) are read as they are:

    >>> again = ConfidentLearningDetector("precomputed").fit(det.pred_proba_, y)
    >>> bool((again.is_noisy_ == det.is_noisy_).all())
    True
    """

    _relabel_supported = True
    _parameter_constraints: dict = {
        **BaseCleaningSampler._parameter_constraints,
        **DETECTOR_CONSTRAINTS,
        # Any classifier, not only a NoisyNetClassifier: the probabilities are all it reads.
        "estimator": [HasMethods(["fit", "predict_proba"]), StrOptions({"precomputed"}), None],
        "cv": ["cv_object"],
        "filter_by": [StrOptions(set(FILTERS))],
        "rank_by": [StrOptions(set(RANKINGS))],
        **MAX_RATE_CONSTRAINT,
    }

    def __init__(self, estimator=None, *, cv=5, filter_by="random_and_one_way",
                 rank_by="self_confidence", max_noise_rate=0.5, action="drop",
                 sampling_strategy="all", random_state=None, verbose=0,
                 accelerator=None):
        self.estimator = estimator
        self.cv = cv
        self.filter_by = filter_by
        self.rank_by = rank_by
        self.max_noise_rate = max_noise_rate
        self.action = action
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.accelerator = accelerator
        self.verbose = verbose

    def _check_X_y(self, X, y, accept_sparse=None):
        if isinstance(self.estimator, str) and self.estimator == "precomputed":
            # Name the probabilities in the error, before the generic checks on X do.
            check_pred_proba(X, np.arange(np.shape(X)[1] if np.ndim(X) == 2 else 0),
                             name="X (the probabilities, estimator='precomputed')")
        return super()._check_X_y(X, y, accept_sparse)

    def _score_noise(self, X, y_encoded):
        if isinstance(self.estimator, str):
            proba = X
        else:
            proba = self._out_of_fold_proba(X, y_encoded)
        P = check_pred_proba(proba, self.classes_, name="the probabilities")
        self.pred_proba_ = P
        self.class_thresholds_ = class_thresholds(P, y_encoded)
        self.confident_joint_ = confident_joint(P, y_encoded)
        noise = estimate_label_noise(P, y_encoded, self.confident_joint_)
        self.random_label_rate_ = noise.random.rate
        self.one_way_excess_ = noise.excess
        self.anchor_disagreement_, n_anchors = anchor_disagreement(P, y_encoded)
        if self.filter_by == "random_and_one_way":
            self.noise_rate_ = noise.rate
            self._warn_if_noise_left(n_anchors)
        else:
            self.noise_rate_ = estimate_noise_rate(proba=P, y=y_encoded,
                                                   method="confident_joint")
        # The mixin asks for the flags (_flag_noisy) apart from the scores, but the rules
        # need the labels, which only this hook sees; the mask waits here until then.
        self._flags = flag_label_issues(P, y_encoded, self.confident_joint_, self.filter_by,
                                        noise.random.posterior, noise.excess)
        return noise_score(P, y_encoded, self.rank_by, self.confident_joint_)

    def _flag_noisy(self, scores):
        return self.__dict__.pop("_flags")

    def _warn_if_noise_left(self, n_anchors: int) -> None:
        # Warn only when the anchors disagree significantly more often than the rule's
        # rate plus a margin: a handful of anchors (small data) proves nothing.
        expected = min(self.noise_rate_ + _ANCHOR_GAP, 1.0)
        disagreeing = int(round(self.anchor_disagreement_ * n_anchors))
        if binom.sf(disagreeing - 1, n_anchors, expected) < 0.05:
            warnings.warn(
                f"{type(self).__name__}: the rows the model is surest of disagree with "
                f"their labels {self.anchor_disagreement_:.0%} of the time, but the "
                f"default rule estimates {self.noise_rate_:.0%} of wrong labels (random "
                "labels and one-way swaps). The model may have learned class-dependent "
                "noise, or be too weak for this data; filter_by='prune_by_noise_rate' "
                "flags what cleanlab flags.", UnflaggedNoiseWarning, stacklevel=7)

    def _report_note(self) -> str:
        if self.filter_by != "random_and_one_way":
            return ""
        n = len(self.is_noisy_)
        off_diagonal = 1.0 - np.trace(self.confident_joint_) / n
        # The gap between the two tells a user what the default rule chose to leave.
        return (f" (random labels {self.random_label_rate_:.3f}, one-way swaps "
                f"{self.one_way_excess_.sum() / n:.3f}); the confident joint puts "
                f"{off_diagonal:.1%} off its diagonal, which filter_by='prune_by_noise_rate' "
                "would flag")

    def _suggest_labels(self, X, y_encoded):
        return self.pred_proba_.argmax(axis=1)

    # -- the out-of-fold probabilities ------------------------------------------------------
    def _splits(self, X, y_encoded, seed):
        counts = np.bincount(y_encoded, minlength=len(self.classes_))
        if isinstance(self.cv, Integral):
            smallest = int(np.argmin(counts))
            if counts[smallest] < self.cv:
                label = self.classes_[smallest]
                label = getattr(label, "item", lambda: label)()  # numpy scalar -> its value
                raise ValueError(
                    f"{type(self).__name__}: class {label!r} has {counts[smallest]} samples "
                    f"but cv={self.cv}; lower cv or merge/drop that class.")
            cv = StratifiedKFold(self.cv, shuffle=True, random_state=seed)
        else:
            cv = check_cv(self.cv, y_encoded, classifier=True)
        splits = list(cv.split(X, y_encoded))
        tested = np.bincount(np.concatenate([test for _, test in splits]),
                             minlength=len(y_encoded))
        if np.any(tested != 1):
            raise ValueError(
                f"{type(self).__name__}: cv must put every row in exactly one test fold "
                f"(a KFold-like splitter); {int(np.sum(tested == 0))} rows are in none and "
                f"{int(np.sum(tested > 1))} in several.")
        for train, _ in splits:
            missing = np.flatnonzero(np.bincount(y_encoded[train],
                                                 minlength=len(counts)) == 0)
            if missing.size:
                raise ValueError(
                    f"{type(self).__name__}: a training fold of cv has no row of class "
                    f"{self.classes_[missing[:1]].tolist()[0]!r}, so its model cannot give "
                    "that class a probability; use a stratified splitter or an int cv.")
        return splits

    def _seed(self):
        """One int seed from ``random_state`` for folds and models (None stays None)."""
        if self.random_state is None or isinstance(self.random_state, Integral):
            return self.random_state
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _out_of_fold_proba(self, X, y_encoded):
        estimator = _default_estimator() if self.estimator is None else self.estimator
        from .._core._base import NoisyNetClassifier

        # A skorch net takes images as they are (it builds a CNN); other classifiers rows.
        if not isinstance(estimator, NeuralNet):
            X = np.asarray(X).reshape(len(X), -1)  # a memory map stays one (a view)
        reads_lazily = isinstance(estimator, NoisyNetClassifier)

        def rows(positions):
            # A memory-mapped X gives a sknoisy net lazy folds (read batch by batch);
            # another classifier needs its fold as an array, read into memory.
            part = take_rows(X, positions)
            return part if reads_lazily else np.asarray(part)

        seed = self._seed()
        accelerator = self.accelerator
        if accelerator is not None and seed is None and int(accelerator.num_processes) > 1:
            from .._core._distributed import DataParallel

            # Every process must cut the same folds: process 0's seed.
            seed = DataParallel(accelerator).broadcast(
                int(np.random.randint(np.iinfo(np.int32).max)))
        seeded = {}
        if seed is not None:
            seeded = {name: seed for name in estimator.get_params(deep=True)
                      if name == "random_state" or name.endswith("__random_state")}
        if accelerator is not None:
            for name in estimator.get_params(deep=True):
                if name == "accelerator" or name.endswith("__accelerator"):
                    prefix = name[:-len("accelerator")]
                    seeded.update({name: accelerator,
                                   prefix + "device": accelerator.device})
        proba = np.zeros((len(X), len(self.classes_)))
        for train, test in self._splits(X, y_encoded, seed):
            model = clone(estimator).set_params(**seeded).fit(rows(train), y_encoded[train])
            # Columns follow the fold model's classes_, which are the codes it saw.
            columns = np.asarray(getattr(model, "classes_", np.arange(len(self.classes_))))
            proba[np.ix_(test, columns.astype(np.int64))] = model.predict_proba(rows(test))
        return proba
