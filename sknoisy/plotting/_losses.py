"""Per-sample loss plots: a histogram and loss trajectories over epochs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils import check_random_state

from ._common import (
    ALL_COLOR, CLEAN_COLOR, NOISY_COLOR, check_1d_finite, check_bins, check_mask,
    check_positive_int, get_ax, import_pyplot,
)

if TYPE_CHECKING:  # matplotlib is optional: only type checkers import it here
    from matplotlib.axes import Axes

__all__ = ["plot_loss_histogram", "plot_loss_trajectories"]


def plot_loss_histogram(
    losses: ArrayLike,
    is_noisy: ArrayLike | None = None,
    *,
    bins: int | ArrayLike | str = 50,
    ax: Axes | None = None,
) -> Axes:
    """Histogram of per-sample losses, clean and mislabeled samples overlaid.

    Mislabeled samples tend to keep a high loss until the network memorizes them;
    the gap between the two histograms shows how separable they are by loss.

    Parameters
    ----------
    losses : array-like of shape (n_samples,)
        One loss per sample, e.g. a net's ``per-sample`` cross-entropy.
    is_noisy : array-like of bool of shape (n_samples,), default=None
        True where the given label is known to be wrong (for example the mask from
        a noise generator). When None, a single histogram of all samples is drawn.
    bins : int, sequence or str, default=50
        Passed to :func:`numpy.histogram_bin_edges`; both groups share the edges.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sknoisy.plotting import plot_loss_histogram
    >>> rng = np.random.RandomState(0)
    >>> losses = np.r_[rng.gamma(1.0, 0.3, 90), rng.gamma(4.0, 0.8, 10)]
    >>> is_noisy = np.r_[np.zeros(90, bool), np.ones(10, bool)]
    >>> ax = plot_loss_histogram(losses, is_noisy, bins=20)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['clean (n=90)', 'noisy (n=10)']
    """
    plt = import_pyplot()
    losses = check_1d_finite(losses, "losses")
    bins = check_bins(bins)
    ax = get_ax(ax, plt)
    edges = np.histogram_bin_edges(losses, bins=bins)
    if is_noisy is None:
        ax.hist(losses, bins=edges, color=ALL_COLOR, alpha=0.8,
                label=f"all samples (n={losses.size})")
    else:
        mask = check_mask(is_noisy, losses.size, "is_noisy")
        for group, color, name in ((~mask, CLEAN_COLOR, "clean"), (mask, NOISY_COLOR, "noisy")):
            ax.hist(losses[group], bins=edges, color=color, alpha=0.6,
                    label=f"{name} (n={int(group.sum())})")
    ax.set_xlabel("per-sample loss")
    ax.set_ylabel("number of samples")
    ax.set_title("Per-sample loss")
    ax.legend()
    return ax


def plot_loss_trajectories(
    loss_history: ArrayLike,
    is_noisy: ArrayLike | None = None,
    *,
    n_samples: int = 50,
    random_state: int | np.random.RandomState | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Loss of individual samples across epochs, with the clean and noisy group means.

    Parameters
    ----------
    loss_history : array-like of shape (n_epochs, n_samples)
        Row ``e`` holds every sample's loss after (or during) epoch ``e + 1``.
    is_noisy : array-like of bool of shape (n_samples,), default=None
        True where the given label is known to be wrong; trajectories and means are
        then coloured by group. When None, one mean over all samples is drawn.
    n_samples : int, default=50
        Number of individual trajectories drawn, picked at random (all of them if
        there are fewer). The means always use every sample.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of trajectories drawn.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on: ``min(n_samples, n_total)`` thin lines, then one thick
        mean line per group (two with ``is_noisy``, one without; a group with no
        sample gets none).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sknoisy.plotting import plot_loss_trajectories
    >>> epochs = np.arange(1, 11)[:, None]
    >>> history = np.c_[np.tile(2.0 / epochs, 8), np.tile(2.5 - 0.1 * epochs, 2)]
    >>> is_noisy = np.r_[np.zeros(8, bool), np.ones(2, bool)]
    >>> ax = plot_loss_trajectories(history, is_noisy, n_samples=5, random_state=0)
    >>> len(ax.get_lines())
    7
    """
    plt = import_pyplot()
    try:
        history = np.asarray(loss_history, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError("loss_history must be an array of numbers of shape "
                        "(n_epochs, n_samples).") from exc
    if history.ndim != 2 or 0 in history.shape:
        raise ValueError(
            "loss_history must be a non-empty 2-D array of shape (n_epochs, n_samples); "
            f"got shape {history.shape}."
        )
    if not np.all(np.isfinite(history)):
        raise ValueError("loss_history contains NaN or infinite values; remove or replace "
                         "them before plotting.")
    n_drawn = check_positive_int(n_samples, "n_samples")
    n_epochs, n_total = history.shape
    mask = None if is_noisy is None else check_mask(is_noisy, n_total, "is_noisy")
    rng = check_random_state(random_state)
    drawn = np.sort(rng.choice(n_total, size=min(n_drawn, n_total), replace=False))
    ax = get_ax(ax, plt)
    epochs = np.arange(1, n_epochs + 1)

    if mask is None:
        groups = [(np.ones(n_total, bool), ALL_COLOR, "mean")]
    else:
        groups = [(~mask, CLEAN_COLOR, "clean mean"), (mask, NOISY_COLOR, "noisy mean")]
    for group, color, _ in groups:
        cols = drawn[group[drawn]]
        if cols.size:
            ax.plot(epochs, history[:, cols], color=color, alpha=0.25, linewidth=0.8)
    for group, color, name in groups:
        if not group.any():
            continue
        ax.plot(epochs, history[:, group].mean(axis=1), color=color, linewidth=2.5,
                label=f"{name} (n={int(group.sum())})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("per-sample loss")
    ax.set_title("Loss trajectories")
    ax.legend()
    return ax
