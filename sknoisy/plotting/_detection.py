"""Precision-recall curves for noise detection."""

from __future__ import annotations

from collections.abc import Mapping

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import average_precision_score, precision_recall_curve

from ._common import check_1d_finite, check_mask, get_ax, import_pyplot

if TYPE_CHECKING:  # matplotlib is optional: only type checkers import it here
    from matplotlib.axes import Axes

__all__ = ["plot_precision_recall"]


def plot_precision_recall(
    is_noisy_true: ArrayLike,
    scores_by_method: Mapping[str, ArrayLike] | ArrayLike,
    *,
    ax: Axes | None = None,
) -> Axes:
    """Precision-recall curves of noise detectors, AUPRC in the legend.

    "Positive" means mislabeled: precision is the fraction of flagged samples whose
    label is really wrong, recall the fraction of wrong labels that are flagged. The
    dashed horizontal line is a detector that flags at random; its precision is the
    realised noise rate.

    Parameters
    ----------
    is_noisy_true : array-like of bool of shape (n_samples,)
        True where the given label is wrong. Must contain both True and False.
    scores_by_method : dict of str to array-like, or array-like of shape (n_samples,)
        Noise scores (higher = more likely mislabeled), one array per method. A
        single array is plotted under the name "scores".
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on: one step curve per method, then the chance line.

    Notes
    -----
    AUPRC is computed as average precision
    (:func:`sklearn.metrics.average_precision_score`), the step-wise area under the
    curve drawn, not a trapezoidal one, which would be optimistic.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sknoisy.plotting import plot_precision_recall
    >>> is_noisy = np.array([0, 0, 0, 0, 0, 0, 1, 1], dtype=bool)
    >>> perfect = np.array([.1, .2, .1, .3, .2, .1, .9, .8])
    >>> one_miss = np.array([.1, .2, .1, .3, .95, .1, .9, .8])
    >>> ax = plot_precision_recall(is_noisy, {"perfect": perfect, "one miss": one_miss})
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['perfect (AUPRC = 1.000)', 'one miss (AUPRC = 0.583)', 'chance (noise rate = 0.250)']
    """
    plt = import_pyplot()
    mask = np.asarray(is_noisy_true)
    # check_mask rejects a non-1-D array before it looks at the length.
    mask = check_mask(mask, len(mask) if mask.ndim == 1 else 0, "is_noisy_true")
    if mask.all() or not mask.any():
        raise ValueError(
            "is_noisy_true must contain both noisy (True) and clean (False) samples for "
            f"precision and recall to be defined; got {int(mask.sum())} noisy out of "
            f"{mask.size}."
        )
    if isinstance(scores_by_method, Mapping):
        if not scores_by_method:
            raise ValueError("scores_by_method is an empty dict; pass at least one method's "
                             "scores.")
        items = list(scores_by_method.items())
    else:
        items = [("scores", scores_by_method)]
    checked = []
    for name, scores in items:
        label = f"scores_by_method[{name!r}]" if isinstance(scores_by_method, Mapping) \
            else "scores_by_method"
        scores = check_1d_finite(scores, label)
        if scores.size != mask.size:
            raise ValueError(
                f"{label} has {scores.size} scores but is_noisy_true has {mask.size} "
                "entries; pass one score per sample."
            )
        checked.append((str(name), scores))

    ax = get_ax(ax, plt)
    for name, scores in checked:
        precision, recall, _ = precision_recall_curve(mask, scores)
        auprc = average_precision_score(mask, scores)
        ax.plot(recall, precision, drawstyle="steps-post", linewidth=1.8,
                label=f"{name} (AUPRC = {auprc:.3f})")
    rate = float(mask.mean())
    ax.axhline(rate, color="gray", linestyle="--", linewidth=1.0,
               label=f"chance (noise rate = {rate:.3f})")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("recall (share of mislabeled samples found)")
    ax.set_ylabel("precision (share of flagged samples mislabeled)")
    ax.set_title("Noise detection: precision-recall")
    ax.legend(loc="best")
    return ax
