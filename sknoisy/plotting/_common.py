"""Shared helpers for the plotting functions: lazy matplotlib import and input checks."""

from __future__ import annotations

import numbers

import numpy as np

NOISY_COLOR = "tab:red"
CLEAN_COLOR = "tab:blue"
ALL_COLOR = "tab:gray"


def import_pyplot():
    """Return ``matplotlib.pyplot``, or raise ImportError saying how to install it.

    matplotlib is an optional dependency, so it is imported only when a plot is made.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "sknoisy.plotting needs matplotlib, which is not installed. Install it with "
            "`pip install sknoisy[plot]` (or `pip install matplotlib`)."
        ) from exc
    return plt


def get_ax(ax, plt):
    """Return ``ax`` or, when None, the axes of a new figure."""
    if ax is None:
        _, ax = plt.subplots()
        return ax
    if not hasattr(ax, "get_figure") or not hasattr(ax, "plot"):
        raise TypeError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}.")
    return ax


def check_1d_finite(values, name: str) -> np.ndarray:
    """Return ``values`` as a non-empty 1-D float array with finite entries."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers; got {type(values).__name__}.") \
            from exc
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one value per sample); got an array of shape {arr.shape}."
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty; pass at least one value.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} contains {int(np.sum(~np.isfinite(arr)))} NaN or infinite values; "
            "remove or replace them before plotting."
        )
    return arr


def check_mask(mask, n_samples: int, name: str) -> np.ndarray:
    """Return ``mask`` as a 1-D bool array of length ``n_samples``.

    Booleans and 0/1 integers are accepted; anything else is rejected so that a score
    array passed by mistake does not silently become a mask.
    """
    arr = np.asarray(mask)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D boolean mask; got shape {arr.shape}.")
    if arr.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {arr.shape[0]} entries but there are {n_samples} samples; "
            "pass one flag per sample."
        )
    if arr.dtype == bool:
        return arr.copy()
    if arr.dtype.kind in "iuf" and np.all(np.isin(arr, (0, 1))):
        return arr.astype(bool)
    raise ValueError(
        f"{name} must hold booleans (True = noisy) or 0/1; got dtype {arr.dtype} with "
        "other values."
    )


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int; got {value!r} "
                        f"of type {type(value).__name__}.")
    if value < 1:
        raise ValueError(f"{name} must be >= 1; got {value}.")
    return int(value)


def check_bins(bins):
    """Accept an int >= 1, a sequence of edges, or a numpy bin-rule string."""
    if isinstance(bins, str) or np.ndim(bins) == 1:
        return bins
    return check_positive_int(bins, "bins")
