"""Suspected label errors per class, or where they would go: a label-issue summary drawn."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from ._common import CLEAN_COLOR, NOISY_COLOR, get_ax, import_pyplot

if TYPE_CHECKING:  # matplotlib is optional: only type checkers import it here
    from matplotlib.axes import Axes

__all__ = ["plot_label_issues"]

_KINDS = ("per_class", "confusion")


def plot_label_issues(summary: Mapping, *, kind: str = "per_class",
                      ax: Axes | None = None) -> Axes:
    """Draw a :func:`~sknoisy.metrics.label_issue_summary`: per class, or as a confusion.

    ``kind='per_class'``: one horizontal bar per class, its rows split into kept (blue)
    and flagged (red), labelled with the estimated share of wrong labels.
    ``kind='confusion'``: the flagged rows as a heat map of given label (rows) against
    suggested label (columns), with the counts written in.

    Parameters
    ----------
    summary : Bunch
        The output of :func:`sknoisy.metrics.label_issue_summary`.
    kind : {'per_class', 'confusion'}, default='per_class'
        What to draw.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes

    Raises
    ------
    ValueError
        For an unknown ``kind``, a summary without its tables, or a confusion without
        suggested labels.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sknoisy.metrics import label_issue_summary
    >>> from sknoisy.plotting import plot_label_issues
    >>> y = np.array(["cat"] * 6 + ["dog"] * 4)
    >>> scores = np.linspace(0, 1, 10)
    >>> suggested = np.where(scores > 0.75, np.where(y == "cat", "dog", "cat"), y)
    >>> summary = label_issue_summary(y, scores, scores > 0.75, suggested_labels=suggested)
    >>> ax = plot_label_issues(summary)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['cat', 'dog']
    >>> ax = plot_label_issues(summary, kind="confusion")
    >>> ax.get_ylabel()
    'given label'
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {list(_KINDS)}; got {kind!r}.")
    if not isinstance(summary, Mapping) or "per_class" not in summary:
        raise ValueError("summary must be the output of sknoisy.metrics."
                         f"label_issue_summary; got {type(summary).__name__}.")
    plt = import_pyplot()
    if kind == "confusion":
        table = summary["confusion"]
        if table.size == 0:
            raise ValueError("the summary has no confusion table: it was made without "
                             "suggested labels (pass suggested_labels or pred_proba to "
                             "label_issue_summary), or nothing was flagged.")
        ax = get_ax(ax, plt)
        counts = table.to_numpy()
        image = ax.imshow(counts, cmap="Reds", aspect="auto")
        for (i, j), value in np.ndenumerate(counts):
            if value:
                # Dark cells get white text so the count stays readable.
                ax.text(j, i, str(value), ha="center", va="center",
                        color="white" if value > counts.max() / 2 else "black")
        ax.set_xticks(range(counts.shape[1]), [str(c) for c in table.columns],
                      rotation=45, ha="right")
        ax.set_yticks(range(counts.shape[0]), [str(i) for i in table.index])
        ax.set_xlabel("suggested label")
        ax.set_ylabel("given label")
        ax.set_title("Flagged rows: given vs suggested label")
        ax.figure.colorbar(image, ax=ax, label="flagged rows")
        return ax

    per_class = summary["per_class"]
    ax = get_ax(ax, plt)
    positions = np.arange(len(per_class))
    kept = per_class["n_labeled"] - per_class["n_flagged"]
    ax.barh(positions, kept, color=CLEAN_COLOR, label="kept")
    ax.barh(positions, per_class["n_flagged"], left=kept, color=NOISY_COLOR,
            label="flagged")
    for y, (total, rate) in enumerate(zip(per_class["n_labeled"],
                                          per_class["estimated_noise_rate"])):
        ax.text(total, y, f" {rate:.0%}", va="center")
    ax.set_yticks(positions, [str(label) for label in per_class.index])
    ax.invert_yaxis()  # the first class on top, as in the table
    ax.set_xlabel("rows with that given label")
    ax.set_title("Suspected label errors per class (estimated wrong share at the end)")
    ax.legend(loc="lower right")
    return ax
