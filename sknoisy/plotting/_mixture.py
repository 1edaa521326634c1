"""Normalised-loss histogram with a fitted Beta mixture drawn over it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from ._common import (
    CLEAN_COLOR, NOISY_COLOR, check_1d_finite, check_bins, get_ax, import_pyplot,
)

if TYPE_CHECKING:  # matplotlib is optional: only type checkers import it here
    from matplotlib.axes import Axes

__all__ = ["plot_beta_mixture"]

# BMM clamps normalised losses to [1e-3, 1 - 1e-3]; evaluating the pdfs on the same
# range avoids the infinities a Beta pdf with a shape parameter < 1 has at 0 or 1.
_EPS = 1e-3


def _mixture_params(mixture):
    """Read ``weights_``, ``alphas_``, ``betas_`` from a fitted mixture and check them."""
    missing = [a for a in ("weights_", "alphas_", "betas_") if not hasattr(mixture, a)]
    if missing:
        raise TypeError(
            f"mixture must be a fitted Beta mixture with attributes weights_, alphas_ and "
            f"betas_ (e.g. a fitted sknoisy BetaMixture1D); {type(mixture).__name__} lacks "
            f"{', '.join(missing)}. Call its fit method first."
        )
    params = {}
    for name in ("weights_", "alphas_", "betas_"):
        arr = np.asarray(getattr(mixture, name), dtype=np.float64)
        if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
            raise ValueError(f"mixture.{name} must be a non-empty 1-D array of finite "
                             f"numbers; got {arr!r}.")
        params[name] = arr
    weights, alphas, betas = params["weights_"], params["alphas_"], params["betas_"]
    if not weights.size == alphas.size == betas.size:
        raise ValueError(
            "mixture.weights_, alphas_ and betas_ must have one entry per component; got "
            f"sizes {weights.size}, {alphas.size} and {betas.size}."
        )
    if np.any(weights < 0) or np.any(alphas <= 0) or np.any(betas <= 0):
        raise ValueError(
            "mixture must have weights_ >= 0 and alphas_, betas_ > 0; got weights_="
            f"{weights}, alphas_={alphas}, betas_={betas}."
        )
    return weights, alphas, betas


def plot_beta_mixture(
    losses_normalised: ArrayLike,
    mixture: object,
    *,
    bins: int | ArrayLike | str = 50,
    ax: Axes | None = None,
) -> Axes:
    """Density histogram of normalised losses with the Beta mixture fitted to them.

    Draws the histogram (as a density), each weighted component pdf
    ``w_k * Beta(x; a_k, b_k)`` and their sum. With two components, the one with the
    lower mean ``a / (a + b)`` is labelled clean and the other noisy, as in BMM label
    cleaning (Arazo et al., 2019).

    Parameters
    ----------
    losses_normalised : array-like of shape (n_samples,)
        Per-sample losses normalised to [0, 1].
    mixture : object
        A fitted Beta mixture: any object with 1-D attributes ``weights_``,
        ``alphas_`` and ``betas_`` of equal length (such as a fitted
        :class:`sknoisy.BetaMixture1D`). The pdfs are computed with
        :data:`scipy.stats.beta`.
    bins : int, sequence or str, default=50
        Histogram bins over [0, 1], as for :func:`numpy.histogram_bin_edges`.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on, with one line per component and one for the mixture.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from sknoisy.plotting import plot_beta_mixture
    >>> rng = np.random.RandomState(0)
    >>> losses = np.r_[rng.beta(2, 8, 300), rng.beta(8, 2, 100)]
    >>> bmm = SimpleNamespace(weights_=[0.75, 0.25], alphas_=[2, 8], betas_=[8, 2])
    >>> ax = plot_beta_mixture(losses, bmm, bins=20)
    >>> [line.get_label() for line in ax.get_lines()]
    ['clean component (w=0.75)', 'noisy component (w=0.25)', 'mixture']
    """
    plt = import_pyplot()
    losses = check_1d_finite(losses_normalised, "losses_normalised")
    if losses.min() < 0.0 or losses.max() > 1.0:
        raise ValueError(
            "losses_normalised must lie in [0, 1]; got values in "
            f"[{losses.min():.4g}, {losses.max():.4g}]. Normalise the losses first, e.g. "
            "(loss - min) / (max - min) after clipping to the 5th-95th percentiles."
        )
    weights, alphas, betas = _mixture_params(mixture)
    bins = check_bins(bins)
    ax = get_ax(ax, plt)

    edges = np.histogram_bin_edges(losses, bins=bins, range=(0.0, 1.0))
    heights, _, _ = ax.hist(losses, bins=edges, density=True, color="lightgray",
                            edgecolor="white", label="normalised losses")
    x = np.linspace(_EPS, 1.0 - _EPS, 400)
    pdfs = weights[:, None] * stats.beta.pdf(x[None, :], alphas[:, None], betas[:, None])
    if weights.size == 2:
        clean = int(np.argmin(alphas / (alphas + betas)))
        names = {clean: "clean component", 1 - clean: "noisy component"}
        colors = {clean: CLEAN_COLOR, 1 - clean: NOISY_COLOR}
    else:
        names = {k: f"component {k}" for k in range(weights.size)}
        colors = {k: f"C{k}" for k in range(weights.size)}
    for k in range(weights.size):
        ax.plot(x, pdfs[k], color=colors[k], linewidth=1.8,
                label=f"{names[k]} (w={weights[k]:.2f})")
    total = pdfs.sum(axis=0)
    ax.plot(x, total, color="black", linestyle="--", linewidth=1.5, label="mixture")

    # A shape parameter < 1 sends the pdf to infinity at an edge; cap the view so the
    # histogram stays readable.
    inner = (x > 0.01) & (x < 0.99)
    top = max(float(np.max(heights)), float(np.max(total[inner])))
    ax.set_ylim(0.0, 1.1 * top if top > 0 else 1.0)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("normalised per-sample loss")
    ax.set_ylabel("density")
    ax.set_title("Beta mixture on per-sample losses")
    ax.legend()
    return ax
