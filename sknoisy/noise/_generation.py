"""Synthetic label noise: draw noisy labels from a chosen noise model."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from .._core._validation import check_rate
from ._instance import instance_transition_rows
from ._labels import LabelCodec
from ._transition import (
    ASYMMETRIC_PRESETS,
    NOISE_TYPES,
    check_position_mapping,
    check_transition_matrix,
    preset_mapping,
)

__all__ = ["make_label_noise"]


def _sample_rows(P: np.ndarray, rng) -> np.ndarray:
    """Draw one class per row of the row-stochastic ``P`` by inverse-CDF sampling."""
    cdf = np.cumsum(P, axis=1)
    u = rng.random(P.shape[0])
    # side='right' semantics: a class with zero probability (cdf step of 0) is never chosen.
    draw = (cdf <= u[:, None]).sum(axis=1)
    # Rounding can leave cdf[-1] a hair below u; fall back to the last possible class.
    last_possible = P.shape[1] - 1 - np.argmax(P[:, ::-1] > 0, axis=1)
    return np.minimum(draw, last_possible)


def _sample_from_matrix(codes: np.ndarray, T: np.ndarray, rng) -> np.ndarray:
    """Draw a noisy class for each sample from row ``T[codes[i]]`` (loops over classes only)."""
    cdf = np.cumsum(T, axis=1)
    last_possible = T.shape[1] - 1 - np.argmax(T[:, ::-1] > 0, axis=1)
    u = rng.random(codes.shape[0])
    out = np.empty_like(codes)
    for c in range(T.shape[0]):
        rows = codes == c
        if rows.any():
            draw = np.searchsorted(cdf[c], u[rows], side="right")
            out[rows] = np.minimum(draw, last_possible[c])
    return out


def _mapping_to_positions(mapping: dict, classes: np.ndarray) -> dict[int, int]:
    """Turn a ``{from_label: to_label}`` map into class positions."""
    lookup = {label: pos for pos, label in enumerate(classes.tolist())}
    out = {}
    for src, dst in mapping.items():
        for label in (src, dst):
            if label not in lookup:
                raise ValueError(f"the noise_type mapping uses label {label!r}, which is not in "
                                 f"classes={classes.tolist()!r}.")
        out[lookup[src]] = lookup[dst]
    return check_position_mapping(out, len(classes), what="the noise_type mapping")


def _flip_by_mapping(codes, mapping: dict[int, int], n_classes: int, rate: float, rng):
    target = np.arange(n_classes)
    target[list(mapping)] = list(mapping.values())
    flip = rng.random(codes.shape[0]) < rate
    return np.where(flip, target[codes], codes)


def make_label_noise(y, noise_type, noise_rate: float | None = None, *, X=None, classes=None,
                     random_state=None):
    """Corrupt labels with synthetic noise from a chosen noise model.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Clean labels of any hashable kind: ints (contiguous or not), strings, a pandas
        Series (any dtype, including categorical) or a pandas Categorical. Never modified.
    noise_type : str, dict or array-like of shape (n_classes, n_classes)
        The noise model; ``r`` is ``noise_rate`` and ``C`` the number of classes:

        - ``'symmetric'``: with probability ``r`` the label moves to one of the other
          ``C - 1`` classes, chosen uniformly (``T[i, j] = r / (C - 1)``). Flip rate ``r``.
        - ``'uniform'``: with probability ``r`` the label is redrawn uniformly from all
          ``C`` classes, the true one included. Flip rate ``r (C - 1) / C``.
        - ``'pairflip'``: with probability ``r``, class ``i`` becomes class ``(i + 1) mod C``
          (positions in ``classes`` order).
        - ``'mnist'``, ``'cifar10'``: asymmetric presets on class positions 0..9 in
          ``classes`` order (MNIST 7->1, 2->7, 3->8, 5<->6; CIFAR-10 9->1, 2->0, 4->7,
          3<->5); they need exactly 10 classes.
        - dict ``{from_label: to_label}``: custom asymmetric noise; a sample of a mapped
          class gets the mapped label with probability ``r``, other classes stay clean.
        - ``'instance'``: instance-dependent noise (Xia et al., 2020); needs ``X``. Each
          sample's flip rate is drawn from a normal of spread 0.1 truncated to [0, 1]
          and centred so that the rates average ``r`` (exactly ``r`` when ``r`` is 0 or
          1), and its wrong label from a softmax of a random projection of its
          features, so similar samples get similar wrong labels. Xia et al. centre the
          normal at ``r``, which realises about 0.09 at ``r = 0.05`` and 0.12 at 0.10;
          here the realised rate is ``r`` up to sampling error.
        - a transition matrix ``T`` (rows = true class, columns = noisy class, both in
          ``classes`` order): square, ``C x C``, nonnegative, rows summing to 1 within 1e-6.
    noise_rate : float or None, default=None
        Rate ``r`` in [0, 1]. Required for every string or dict ``noise_type`` and must be
        None for a transition matrix, which fixes the rates itself.
    X : array-like of shape (n_samples, ...), default=None
        Features, used only by ``'instance'`` (flattened per sample; finite values).
    classes : array-like of shape (n_classes,), default=None
        The full, ordered label set. Defaults to the categories of a categorical ``y``,
        otherwise ``np.unique(y)``. Labels of ``y`` outside it raise ``ValueError``.
    random_state : int, RandomState instance or None, default=None
        Seeds all draws; the same seed gives the same output.

    Returns
    -------
    y_noisy : ndarray, pandas Series or pandas Categorical of shape (n_samples,)
        A new container of the input's kind: a Series keeps its index, name and dtype, a
        Categorical its dtype, an ndarray its dtype kind (fixed-width strings are widened
        if a longer class name is drawn); a list gives an ndarray.
    is_flipped : ndarray of bool of shape (n_samples,)
        True exactly where ``y_noisy != y``.

    See Also
    --------
    transition_matrix : The matrix ``T`` of each class-conditional model.

    Notes
    -----
    Sampling is vectorised: one uniform draw per sample against the cumulative transition
    row of that sample (or a direct draw for the simple models), never a Python loop over
    samples. Instance noise costs O(n_samples * n_features * C) time and
    O(n_features * C^2) memory for the projection. ``X`` is used as given: its scale sets
    how peaked each sample's wrong-label distribution is (Xia et al. project normalized
    inputs), while the flip rates do not depend on it.

    References
    ----------
    .. [1] Xia, X. et al. (2020). Part-dependent label noise: Towards
       instance-dependent label noise. NeurIPS.
    .. [2] Han, B. et al. (2018). Co-teaching: Robust training of deep neural networks with
       extremely noisy labels. NeurIPS (pairflip and symmetric noise).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array(["cat", "dog", "cat", "bird", "dog", "bird"])
    >>> # classes default to the sorted labels: bird -> cat -> dog -> bird
    >>> y_noisy, flipped = make_label_noise(y, "pairflip", 1.0)
    >>> y_noisy.tolist()
    ['dog', 'bird', 'dog', 'cat', 'bird', 'cat']
    >>> flipped.tolist()
    [True, True, True, True, True, True]
    >>> y_noisy, flipped = make_label_noise(np.arange(1000) % 5, "symmetric", 0.3,
    ...                                     random_state=0)
    >>> bool(abs(flipped.mean() - 0.3) < 0.05)
    True
    """
    codec = LabelCodec.from_labels(y, classes)
    codes, n_classes = codec.codes, len(codec.classes)
    rng = check_random_state(random_state)

    is_matrix = not isinstance(noise_type, (str, dict)) and np.ndim(noise_type) == 2
    if is_matrix:
        if noise_rate is not None:
            raise ValueError(f"noise_rate must be None when noise_type is a transition matrix "
                             f"(the matrix fixes the rates); got noise_rate={noise_rate!r}.")
        T = check_transition_matrix(noise_type, n_classes)
        noisy = _sample_from_matrix(codes, T, rng)
        return codec.decode(noisy), noisy != codes

    if not isinstance(noise_type, (str, dict)):
        raise TypeError(f"noise_type must be one of {list(NOISE_TYPES)}, a dict "
                        f"{{from_label: to_label}} or a (C, C) transition matrix; got "
                        f"{type(noise_type).__name__}.")
    if noise_rate is None:
        raise ValueError(f"noise_rate is required for noise_type={noise_type!r}; pass a "
                         "float in [0, 1].")
    rate = check_rate(noise_rate, "noise_rate", closed_right=True)

    if isinstance(noise_type, dict):
        mapping = _mapping_to_positions(noise_type, codec.classes)
        noisy = _flip_by_mapping(codes, mapping, n_classes, rate, rng)
    elif noise_type == "symmetric":
        flip = rng.random(codes.shape[0]) < rate
        # An offset in 1..C-1 can never land back on the true class.
        offset = rng.randint(1, n_classes, size=codes.shape[0])
        noisy = np.where(flip, (codes + offset) % n_classes, codes)
    elif noise_type == "uniform":
        flip = rng.random(codes.shape[0]) < rate
        noisy = np.where(flip, rng.randint(0, n_classes, size=codes.shape[0]), codes)
    elif noise_type == "pairflip":
        flip = rng.random(codes.shape[0]) < rate
        noisy = np.where(flip, (codes + 1) % n_classes, codes)
    elif noise_type in ASYMMETRIC_PRESETS:
        mapping = preset_mapping(noise_type, n_classes)
        noisy = _flip_by_mapping(codes, mapping, n_classes, rate, rng)
    elif noise_type == "instance":
        P = instance_transition_rows(codes, X, n_classes, rate, rng)
        noisy = _sample_rows(P, rng)
    elif noise_type == "asymmetric":
        raise ValueError("noise_type='asymmetric' needs a mapping: pass a preset ('mnist', "
                         "'cifar10') or a dict {from_label: to_label} as noise_type.")
    else:
        raise ValueError(f"noise_type must be one of {list(NOISE_TYPES)}, a dict "
                         f"{{from_label: to_label}} or a (C, C) transition matrix; got "
                         f"{noise_type!r}.")
    noisy = noisy.astype(np.intp, copy=False)
    return codec.decode(noisy), noisy != codes
