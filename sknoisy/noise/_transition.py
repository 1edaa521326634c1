"""Class-conditional noise models as row-stochastic transition matrices.

``T[i, j]`` is the probability that a sample of true class ``i`` (its position in
``classes``) is given label ``j``. Every class-conditional noise type sknoisy generates
has its matrix here, so generated noise can be checked against it.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._core._validation import check_rate

__all__ = ["ASYMMETRIC_PRESETS", "NOISE_TYPES", "transition_matrix"]

# Asymmetric presets in class positions (0..9 in `classes` order), as used in the
# literature: digits that look alike for MNIST, semantically close classes for CIFAR-10.
ASYMMETRIC_PRESETS: dict[str, dict[int, int]] = {
    "mnist": {7: 1, 2: 7, 3: 8, 5: 6, 6: 5},
    "cifar10": {9: 1, 2: 0, 4: 7, 3: 5, 5: 3},
}

NOISE_TYPES = ("symmetric", "uniform", "pairflip", "mnist", "cifar10", "instance")

_PRESET_N_CLASSES = 10


def check_n_classes(n_classes) -> int:
    """Return ``n_classes`` as an int >= 2, or raise naming the parameter."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
        raise TypeError(f"n_classes must be an integer >= 2; got {n_classes!r}.")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2 (noise needs somewhere to flip to); "
                         f"got {n_classes}.")
    return int(n_classes)


def check_position_mapping(mapping: dict, n_classes: int, *, what: str = "mapping") -> dict:
    """Validate an asymmetric ``{from_position: to_position}`` map over ``n_classes``."""
    out = {}
    for src, dst in mapping.items():
        for pos in (src, dst):
            if isinstance(pos, bool) or not isinstance(pos, numbers.Integral) \
                    or not 0 <= pos < n_classes:
                raise ValueError(f"{what} must map class positions in [0, {n_classes - 1}]; "
                                 f"got {src!r} -> {dst!r}.")
        if src == dst:
            raise ValueError(f"{what} maps class {src!r} to itself, which is not noise; "
                             "remove that entry.")
        out[int(src)] = int(dst)
    if not out:
        raise ValueError(f"{what} is empty; give at least one {{from: to}} pair.")
    return out


def preset_mapping(name: str, n_classes: int) -> dict[int, int]:
    """Return the position mapping of an asymmetric preset, checking the class count."""
    if n_classes != _PRESET_N_CLASSES:
        raise ValueError(f"the asymmetric preset {name!r} is defined for 10 classes (positions "
                         f"0..9 in `classes` order); got {n_classes} classes. Pass your own "
                         "mapping as a dict instead.")
    return dict(ASYMMETRIC_PRESETS[name])


def _mapping_matrix(mapping: dict[int, int], n_classes: int, rate: float) -> np.ndarray:
    T = np.eye(n_classes)
    for src, dst in mapping.items():
        T[src, src] = 1.0 - rate
        T[src, dst] = rate
    return T


def transition_matrix(noise_type: str | dict, n_classes: int, noise_rate: float) -> np.ndarray:
    """Row-stochastic label transition matrix of a class-conditional noise model.

    Parameters
    ----------
    noise_type : {'symmetric', 'uniform', 'pairflip', 'mnist', 'cifar10'} or dict
        Noise model (see :func:`make_label_noise`):

        - ``'symmetric'``: the true class is excluded, ``T[i, j] = r / (C - 1)`` for
          ``j != i`` and ``T[i, i] = 1 - r``; the flip rate is ``r``.
        - ``'uniform'``: the label is resampled uniformly over all ``C`` classes with
          probability ``r``, so ``T[i, i] = 1 - r + r / C``; the flip rate is ``r (C-1) / C``.
        - ``'pairflip'``: ``i -> (i + 1) mod C`` with probability ``r``.
        - ``'mnist'`` / ``'cifar10'``: asymmetric presets on class positions (MNIST
          7->1, 2->7, 3->8, 5<->6; CIFAR-10 9->1, 2->0, 4->7, 3<->5); need ``n_classes=10``.
        - dict ``{from_position: to_position}``: a custom asymmetric map; unmapped classes
          keep their label.
    n_classes : int
        Number of classes ``C`` (>= 2).
    noise_rate : float
        Rate ``r`` in [0, 1].

    Returns
    -------
    T : ndarray of shape (n_classes, n_classes)
        Nonnegative, each row sums to 1.

    See Also
    --------
    make_label_noise : Draw noisy labels from these models.

    Examples
    --------
    >>> transition_matrix("pairflip", 3, 0.2)
    array([[0.8, 0.2, 0. ],
           [0. , 0.8, 0.2],
           [0.2, 0. , 0.8]])
    >>> transition_matrix("symmetric", 3, 0.2)[0]
    array([0.8, 0.1, 0.1])
    """
    n_classes = check_n_classes(n_classes)
    rate = check_rate(noise_rate, "noise_rate", closed_right=True)
    if isinstance(noise_type, dict):
        return _mapping_matrix(check_position_mapping(noise_type, n_classes, what="noise_type"),
                               n_classes, rate)
    if not isinstance(noise_type, str):
        raise TypeError(f"noise_type must be one of 'symmetric', 'uniform', 'pairflip', 'mnist', "
                        f"'cifar10' or a dict; got {type(noise_type).__name__}.")
    if noise_type == "symmetric":
        T = np.full((n_classes, n_classes), rate / (n_classes - 1))
        np.fill_diagonal(T, 1.0 - rate)
        return T
    if noise_type == "uniform":
        T = np.full((n_classes, n_classes), rate / n_classes)
        T[np.diag_indices(n_classes)] += 1.0 - rate
        return T
    if noise_type == "pairflip":
        return _mapping_matrix({i: (i + 1) % n_classes for i in range(n_classes)}, n_classes, rate)
    if noise_type in ASYMMETRIC_PRESETS:
        return _mapping_matrix(preset_mapping(noise_type, n_classes), n_classes, rate)
    if noise_type == "instance":
        raise ValueError("noise_type='instance' has a different transition row for every "
                         "sample, so it has no single matrix; use make_label_noise(..., X=X).")
    if noise_type == "asymmetric":
        raise ValueError("noise_type='asymmetric' needs a mapping: pass a preset ('mnist', "
                         "'cifar10') or a dict {from_position: to_position}.")
    raise ValueError(f"noise_type must be one of 'symmetric', 'uniform', 'pairflip', 'mnist', "
                     f"'cifar10' or a dict; got {noise_type!r}.")


def check_transition_matrix(T, n_classes: int) -> np.ndarray:
    """Validate a user transition matrix: (C, C), finite, nonnegative, rows summing to 1."""
    try:
        T = np.array(T, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"a transition matrix noise_type must be a numeric (C, C) array; "
                        f"could not convert it: {exc}") from None
    if T.ndim != 2 or T.shape[0] != T.shape[1]:
        raise ValueError(f"the transition matrix must be square (C, C); got shape {T.shape}.")
    if T.shape[0] != n_classes:
        raise ValueError(f"the transition matrix is {T.shape[0]}x{T.shape[1]} but there are "
                         f"{n_classes} classes; pass `classes=` with the label set its rows "
                         "and columns refer to.")
    if not np.isfinite(T).all() or (T < 0).any():
        raise ValueError("the transition matrix must be finite and nonnegative.")
    sums = T.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
    if bad.size:
        raise ValueError(f"each row of the transition matrix must sum to 1 (within 1e-6); "
                         f"row {int(bad[0])} sums to {sums[bad[0]]!r}.")
    return T / sums[:, None]
