"""Which wrong labels out-of-fold probabilities can tell from ambiguous inputs.

A model's confident mistakes on a clean but ambiguous row look like label noise to
confident learning. Two kinds of noise leave a trace that ambiguity does not:

* random labels put a floor under every class's probability, which the model's
  (temperature-scaled) probabilities do not have: :func:`fit_random_labels`;
* one-way swaps (class ``i`` labelled ``j`` far more often than ``j`` labelled ``i``)
  make the confident joint asymmetric, while two classes that are hard to tell apart
  are mistaken for each other both ways: :func:`one_way_excess`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize_scalar
from scipy.stats import binom

__all__ = ["LabelNoiseEstimate", "RandomLabelFit", "anchor_disagreement",
           "estimate_label_noise", "fit_random_labels", "one_way_excess"]

# Temperatures searched for the model's probabilities: wide enough for an over- or
# under-confident model, bounded so that the search always ends.
_LOG_TEMPERATURE_BOUNDS = (np.log(1 / 20), np.log(20))
_TINY = 1e-12


class RandomLabelFit(NamedTuple):
    """Result of :func:`fit_random_labels`."""

    #: Mixture weight of the random-label component (0 when the model comparison
    #: prefers no such component). A random label is wrong with probability
    #: ``(n_classes - 1) / n_classes``.
    rate: float
    #: Temperature of the model's probabilities in the chosen model.
    temperature: float
    #: Per-row posterior that the given label was drawn at random.
    posterior: np.ndarray
    #: BIC of the model without random labels minus BIC of the model with them
    #: (positive: random labels explain the labels better).
    bic_gain: float


def _scaled_given(log_proba: np.ndarray, y: np.ndarray, log_temperature: float) -> np.ndarray:
    """Probability of the given label after dividing the log-probabilities by T."""
    z = log_proba / np.exp(log_temperature)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e[np.arange(len(y)), y] / e.sum(axis=1)


def _best_rate(given: np.ndarray, uniform: float) -> tuple[float, float]:
    """The rate maximising sum log((1 - r) * given + r * uniform), and that maximum.

    The objective is concave in ``r``, so its derivative is decreasing: bisection on
    the sign of the derivative finds the maximum in [0, 1].
    """
    def slope(r):
        return np.sum((uniform - given) / ((1 - r) * given + r * uniform))

    lo, hi = 0.0, 1.0
    if slope(0.0) <= 0:
        hi = 0.0
    elif slope(1.0) >= 0:
        lo = 1.0
    else:
        for _ in range(50):  # 2**-50: far below any rate that matters
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if slope(mid) > 0 else (lo, mid)
    rate = (lo + hi) / 2
    return rate, float(np.sum(np.log((1 - rate) * given + rate * uniform)))


def fit_random_labels(proba: ArrayLike, y: ArrayLike) -> RandomLabelFit:
    """Fit "labels follow the model, or are drawn at random" to out-of-fold probabilities.

    Two models of the labels are fitted by maximum likelihood: the given label drawn
    from the temperature-scaled probabilities ``q = softmax(log(p) / T)``, and the
    mixture ``(1 - r) * q + r / n_classes`` in which a share ``r`` of the labels is
    drawn uniformly at random. The mixture is kept only if it has the lower Bayesian
    information criterion (one parameter more); otherwise ``r = 0``.

    The temperature absorbs a model that is over- or under-confident everywhere, so
    the mixture wins only where labels contradict confident predictions more often
    than any temperature allows: the floor that random labels put under every class.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Out-of-fold predicted probabilities, rows summing to 1.
    y : array-like of shape (n_samples,)
        Given labels encoded ``0 .. n_classes - 1``.

    Returns
    -------
    fit : RandomLabelFit
        ``rate``, ``temperature``, the per-row ``posterior`` of a random label and the
        ``bic_gain`` of the mixture.

    Examples
    --------
    Labels drawn from the probabilities themselves (ambiguity, no noise), then a
    tenth of them redrawn at random:

    >>> import numpy as np
    >>> from sknoisy.noise._label_model import fit_random_labels
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(1000, 4))
    >>> logits[np.arange(1000), rng.integers(0, 4, 1000)] += rng.uniform(1, 6, 1000)
    >>> proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    >>> y = np.array([rng.choice(4, p=p) for p in proba])
    >>> fit_random_labels(proba, y).rate
    0.0
    >>> y[:100] = rng.integers(0, 4, size=100)
    >>> round(fit_random_labels(proba, y).rate, 2)
    0.08
    """
    P = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n, n_classes = P.shape
    log_proba = np.log(np.clip(P, _TINY, 1.0))
    uniform = 1.0 / n_classes

    def null_loss(log_t):
        return -np.sum(np.log(np.maximum(_scaled_given(log_proba, y, log_t), _TINY)))

    def mixture_loss(log_t):
        return -_best_rate(np.maximum(_scaled_given(log_proba, y, log_t), _TINY), uniform)[1]

    options = {"xatol": 1e-3}
    null = minimize_scalar(null_loss, bounds=_LOG_TEMPERATURE_BOUNDS, method="bounded",
                           options=options)
    mixture = minimize_scalar(mixture_loss, bounds=_LOG_TEMPERATURE_BOUNDS,
                              method="bounded", options=options)
    # BIC = k log n - 2 log L; the mixture has one parameter more than the null.
    bic_gain = float(2 * (null.fun - mixture.fun) - np.log(n))
    if bic_gain <= 0:
        return RandomLabelFit(0.0, float(np.exp(null.x)), np.zeros(n), bic_gain)
    given = np.maximum(_scaled_given(log_proba, y, mixture.x), _TINY)
    rate, _ = _best_rate(given, uniform)
    posterior = rate * uniform / ((1 - rate) * given + rate * uniform)
    return RandomLabelFit(float(rate), float(np.exp(mixture.x)), posterior, bic_gain)


def one_way_excess(joint: ArrayLike, *, alpha: float = 0.05) -> np.ndarray:
    """Counts by which one direction of a class pair's confusion exceeds the other.

    For each pair of classes ``(i, j)`` the confident joint's cells ``C_ij`` (labelled
    ``i``, estimated true class ``j``) and ``C_ji`` are compared with a one-sided
    binomial test against an even split (the null of two classes mistaken for each
    other equally often). The pairs significant under the Benjamini-Hochberg procedure
    at false-discovery rate ``alpha`` contribute their excess ``|C_ij - C_ji|`` to the
    larger cell.

    Parameters
    ----------
    joint : array-like of shape (n_classes, n_classes)
        The confident joint, :func:`sknoisy.noise.confident_joint`.
    alpha : float, default=0.05
        False-discovery rate over the ``n_classes * (n_classes - 1) / 2`` pairs.

    Returns
    -------
    excess : ndarray of shape (n_classes, n_classes)
        ``excess[i, j]``: estimated number of rows labelled ``i`` whose class is ``j``
        beyond the two-way confusion of the pair; zero on the diagonal and for pairs
        whose asymmetry is not significant.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.noise._label_model import one_way_excess
    >>> one_way_excess(np.array([[900., 10., 5.], [60., 940., 4.], [6., 3., 800.]]))
    array([[ 0.,  0.,  0.],
           [50.,  0.,  0.],
           [ 0.,  0.,  0.]])
    """
    C = np.asarray(joint, dtype=np.float64)
    i, j = np.triu_indices(C.shape[0], k=1)
    upper, lower = np.rint(C[i, j]), np.rint(C[j, i])
    k, m = np.maximum(upper, lower), upper + lower
    # P(X >= k) for X ~ Binomial(m, 1/2); pairs without a majority cannot be one-way.
    p = np.where(k > m - k, binom.sf(k - 1, m, 0.5), 1.0)
    order = np.argsort(p, kind="stable")
    # Benjamini-Hochberg: every pair up to the largest rank r with p_(r) <= alpha r / m.
    below = np.flatnonzero(p[order] <= alpha * np.arange(1, len(p) + 1) / max(len(p), 1))
    significant = order[:below[-1] + 1] if below.size else order[:0]
    excess = np.zeros_like(C)
    for pair in significant:
        high, low = (i[pair], j[pair]), (j[pair], i[pair])
        if C[low] > C[high]:
            high, low = low, high
        excess[high] = C[high] - C[low]
    return excess


class LabelNoiseEstimate(NamedTuple):
    """Result of :func:`estimate_label_noise`."""

    #: The random-label mixture (:func:`fit_random_labels`).
    random: RandomLabelFit
    #: One-way excess counts (:func:`one_way_excess`), given label x true class.
    excess: np.ndarray
    #: Estimated share of wrong labels among the rows of each given label.
    per_class: np.ndarray
    #: Estimated share of wrong labels overall.
    rate: float


def estimate_label_noise(proba: ArrayLike, y: ArrayLike, joint: ArrayLike,
                         *, alpha: float = 0.05) -> LabelNoiseEstimate:
    """Wrong labels = random labels + one-way swaps, from out-of-fold probabilities.

    A random label is wrong with probability ``(n_classes - 1) / n_classes``, so
    every class loses that share of the random-label rate; the one-way excess of
    each given label's row of the confident joint adds its swaps.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Out-of-fold predicted probabilities, rows summing to 1.
    y : array-like of shape (n_samples,)
        Given labels encoded ``0 .. n_classes - 1``.
    joint : array-like of shape (n_classes, n_classes)
        Their confident joint, :func:`sknoisy.noise.confident_joint`.
    alpha : float, default=0.05
        Significance level of :func:`one_way_excess`.

    Returns
    -------
    estimate : LabelNoiseEstimate
        ``random``, ``excess``, ``per_class`` and overall ``rate``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.noise import confident_joint
    >>> from sknoisy.noise._label_model import estimate_label_noise
    >>> proba = np.array([[.9, .1], [.8, .2], [.3, .7], [.2, .8], [.1, .9]])
    >>> y = np.array([0, 0, 1, 1, 1])
    >>> estimate_label_noise(proba, y, confident_joint(proba, y)).rate
    0.0
    """
    y = np.asarray(y, dtype=np.int64)
    n, n_classes = np.shape(proba)
    random = fit_random_labels(proba, y)
    excess = one_way_excess(joint, alpha=alpha)
    counts = np.bincount(y, minlength=n_classes)
    wrong_random = random.rate * (n_classes - 1) / n_classes
    per_class = wrong_random + excess.sum(axis=1) / np.maximum(counts, 1)
    return LabelNoiseEstimate(random, excess, per_class,
                              float(wrong_random + excess.sum() / n))


def anchor_disagreement(proba: ArrayLike, y: ArrayLike, *,
                        share: float = 0.1) -> tuple[float, int]:
    """How often the rows a model is surest of disagree with their labels.

    For each class ``i``, the ``share`` of the rows predicted ``i`` with the highest
    ``proba[:, i]`` are its anchors: on clean data they are the unambiguous examples
    of the class, so their labels agree with ``i``, while wrong labels hit anchors as
    often as any row of their class. Unlike the random-label mixture this needs no
    over-confident model: it also sees noise that the model has learned.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Out-of-fold predicted probabilities.
    y : array-like of shape (n_samples,)
        Given labels encoded ``0 .. n_classes - 1``.
    share : float, default=0.1
        Share of each predicted class taken as its anchors (at least one row).

    Returns
    -------
    disagreement : float
        Share of all anchor rows whose label is not their predicted class.
    n_anchors : int
        How many rows the share is of.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.noise._label_model import anchor_disagreement
    >>> proba = np.array([[.9, .1], [.6, .4], [.2, .8], [.3, .7]])
    >>> anchor_disagreement(proba, [1, 0, 1, 1], share=0.5)
    (0.5, 2)
    """
    P = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    predicted = P.argmax(axis=1)
    disagree = total = 0
    for i in np.unique(predicted):
        rows = np.flatnonzero(predicted == i)
        top = rows[np.argsort(-P[rows, i], kind="stable")[:max(1, int(round(share * len(rows))))]]
        disagree += int(np.sum(y[top] != i))
        total += len(top)
    return disagree / total, total
