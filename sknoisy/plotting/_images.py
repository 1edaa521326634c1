"""Grid of the images a detector finds most suspicious."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ._common import NOISY_COLOR, check_1d_finite, check_positive_int, import_pyplot

if TYPE_CHECKING:  # matplotlib is optional: only type checkers import it here
    from matplotlib.figure import Figure

__all__ = ["plot_suspicious_images"]

_CHANNEL_COUNTS = (1, 3, 4)


def _to_displayable(images, image_shape) -> np.ndarray:
    """Return images as (N, H, W) or (N, H, W, C) with C in {3, 4}."""
    arr = np.asarray(images)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"images must be numeric; got dtype {arr.dtype}.")
    if arr.ndim < 2:
        raise ValueError(f"images must have one row per sample (2-D to 4-D); got shape "
                         f"{arr.shape}.")
    n_total = arr.shape[0]
    per_sample = math.prod(arr.shape[1:])
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
        if len(shape) not in (2, 3) or math.prod(shape) != per_sample:
            raise ValueError(
                f"image_shape={tuple(image_shape)} does not fit images of shape {arr.shape}: "
                f"give (H, W), (C, H, W) or (H, W, C) whose product is {per_sample}."
            )
        arr = arr.reshape(n_total, *shape)
    elif arr.ndim == 2:
        side = math.isqrt(per_sample)
        if side * side != per_sample:
            raise ValueError(
                f"images are flat with {per_sample} values each, which is not a square "
                "number; pass image_shape=(H, W)."
            )
        arr = arr.reshape(n_total, side, side)
    if arr.ndim == 4:
        if arr.shape[1] in _CHANNEL_COUNTS:
            arr = np.moveaxis(arr, 1, -1)
        elif arr.shape[-1] not in _CHANNEL_COUNTS:
            raise ValueError(
                f"images of shape {arr.shape} have no channel axis of size 1, 3 or 4 in "
                "position 1 (N, C, H, W) or last (N, H, W, C)."
            )
        if arr.shape[-1] == 1:
            arr = arr[..., 0]
    elif arr.ndim != 3:
        raise ValueError(f"images must be (N, H, W), (N, C, H, W) or flat (N, H*W); got "
                         f"shape {np.asarray(images).shape}.")
    return arr


def _rgb_in_unit_range(arr: np.ndarray) -> np.ndarray:
    """Colour images as floats in [0, 1], which is what imshow expects."""
    out = arr.astype(np.float64)
    lo, hi = float(out.min()), float(out.max())
    if arr.dtype.kind in "iu" and lo >= 0 and hi <= 255:
        return out / 255.0
    if lo < 0.0 or hi > 1.0:
        out = (out - lo) / (hi - lo) if hi > lo else np.zeros_like(out)
    return out


def _label_text(label, class_names, name: str) -> str:
    if class_names is None:
        return str(label.item() if isinstance(label, np.generic) else label)
    if isinstance(class_names, Mapping):
        if label not in class_names:
            raise ValueError(f"{name} contains {label!r}, which class_names has no entry for.")
        return str(class_names[label])
    if not isinstance(label, numbers.Integral) or not 0 <= label < len(class_names):
        raise ValueError(
            f"{name} contains {label!r}, which cannot index class_names of length "
            f"{len(class_names)}; labels must be ints in [0, {len(class_names)}) or pass "
            "class_names as a dict."
        )
    return str(class_names[int(label)])


def _check_labels(labels, n_total: int, name: str) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n_total:
        raise ValueError(f"{name} must have one label per image ({n_total}); got shape "
                         f"{arr.shape}.")
    return arr


def plot_suspicious_images(
    images: ArrayLike,
    given_labels: ArrayLike,
    suggested_labels: ArrayLike | None,
    scores: ArrayLike,
    *,
    n: int = 16,
    image_shape: tuple[int, ...] | None = None,
    class_names: Sequence[str] | Mapping | None = None,
    ncols: int = 8,
) -> Figure:
    """Show the ``n`` images with the highest noise scores and their labels.

    Each panel is titled with the given label, the suggested one (for example a
    detector's or a classifier's prediction) and the score; titles are red where the
    two labels differ. Panels are ordered by decreasing score.

    Parameters
    ----------
    images : array-like of shape (N, H, W), (N, C, H, W) or (N, H*W)
        The images. Flat rows are reshaped with ``image_shape`` or, when it is None,
        into squares. ``(N, H, W, C)`` is accepted when axis 1 is not a channel
        count (1, 3 or 4). Grayscale images share one colour scale.
    given_labels : array-like of shape (N,)
        The (possibly wrong) labels in the data.
    suggested_labels : array-like of shape (N,) or None
        Labels proposed instead; None omits them from the titles.
    scores : array-like of shape (N,)
        Noise scores, higher = more likely mislabeled.
    n : int, default=16
        Number of images shown (all of them if there are fewer).
    image_shape : tuple of int, default=None
        Shape of one image, ``(H, W)``, ``(C, H, W)`` or ``(H, W, C)``, used to
        reshape each row.
    class_names : sequence of str or dict, default=None
        Names shown instead of the labels: indexed by integer label for a sequence,
        looked up for a dict.
    ncols : int, default=8
        Panels per row.

    Returns
    -------
    fig : matplotlib Figure
        A figure with exactly ``min(n, N)`` axes, one per image.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sknoisy.plotting import plot_suspicious_images
    >>> images = np.random.RandomState(0).rand(10, 64)
    >>> given = np.arange(10) % 3
    >>> suggested = np.array([0, 1, 2, 0, 1, 0, 0, 1, 2, 0])
    >>> scores = np.arange(10) / 10
    >>> fig = plot_suspicious_images(images, given, suggested, scores, n=4,
    ...                              class_names=["zero", "one", "two"], ncols=2)
    >>> len(fig.axes)
    4
    >>> fig.axes[0].get_title()
    'given: zero\\nsuggested: zero\\nscore: 0.9'
    """
    plt = import_pyplot()
    arr = _to_displayable(images, image_shape)
    n_total = arr.shape[0]
    scores = check_1d_finite(scores, "scores")
    if scores.size != n_total:
        raise ValueError(f"scores has {scores.size} entries but there are {n_total} images; "
                         "pass one score per image.")
    given = _check_labels(given_labels, n_total, "given_labels")
    suggested = (None if suggested_labels is None
                 else _check_labels(suggested_labels, n_total, "suggested_labels"))
    n_shown = min(check_positive_int(n, "n"), n_total)
    ncols = min(check_positive_int(ncols, "ncols"), n_shown)
    nrows = math.ceil(n_shown / ncols)
    top = np.argsort(-scores, kind="stable")[:n_shown]

    shown = arr[top]
    gray = shown.ndim == 3
    if gray:
        vmin, vmax = float(shown.min()), float(shown.max())
    else:
        shown = _rgb_in_unit_range(shown)
    # Titles are built before the figure so that a bad label leaves no orphan figure.
    titles, differs = [], []
    for idx in top:
        g_text = _label_text(given[idx], class_names, "given_labels")
        lines = [f"given: {g_text}"]
        if suggested is None:
            differs.append(False)
        else:
            s_text = _label_text(suggested[idx], class_names, "suggested_labels")
            lines.append(f"suggested: {s_text}")
            differs.append(s_text != g_text)
        lines.append(f"score: {scores[idx]:.3g}")
        titles.append("\n".join(lines))

    # Constrained layout, unlike tight_layout, keeps three-line titles off the row above.
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.8 * ncols, 2.4 * nrows + 0.4),
                             squeeze=False, layout="constrained")
    flat_axes = axes.ravel()
    for pos, ax in enumerate(flat_axes[:n_shown]):
        if gray:
            ax.imshow(shown[pos], cmap="gray", vmin=vmin, vmax=vmax)
        else:
            ax.imshow(shown[pos])
        ax.set_title(titles[pos], fontsize=8, color=NOISY_COLOR if differs[pos] else "black")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in flat_axes[n_shown:]:
        fig.delaxes(ax)
    fig.suptitle(f"Top {n_shown} suspicious samples by noise score")
    return fig
