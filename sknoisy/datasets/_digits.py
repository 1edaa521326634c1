"""scikit-learn's bundled 8x8 digits, scaled to float32 in [0, 1]."""

from __future__ import annotations

import numpy as np
from sklearn import datasets as _sk_datasets
from sklearn.utils import Bunch

__all__ = ["load_digits"]

# Pixel intensities in the bundled set are counts of set pixels in 4x4 blocks: 0..16.
_MAX_INTENSITY = np.float32(16.0)


def load_digits(
    *, return_X_y: bool = False, as_images: bool = False
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load scikit-learn's 8x8 handwritten digits (1,797 samples, 10 classes).

    A thin wrapper around :func:`sklearn.datasets.load_digits` that scales the pixels
    from 0..16 to float32 in [0, 1], ready for a neural net, and can return the
    samples as 8x8 images so that sknoisy's classifiers pick a small CNN.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_images : bool, default=False
        If True, ``data`` has shape ``(1797, 8, 8)``; otherwise it is flat,
        ``(1797, 64)``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        scikit-learn's field names: ``data`` (float32 in [0, 1], flat or images as
        ``as_images`` says), ``target`` (int labels 0..9), ``target_names``,
        ``images`` (always ``(1797, 8, 8)`` float32 in [0, 1]), ``feature_names``
        and ``DESCR``.
    (data, target) : tuple of ndarray
        When ``return_X_y`` is True.

    See Also
    --------
    load_fashion_mnist : 70,000 real 28x28 images, read from local files.

    Examples
    --------
    >>> from sknoisy.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> X.shape, X.dtype, float(X.min()), float(X.max())
    ((1797, 64), dtype('float32'), 0.0, 1.0)
    >>> load_digits(as_images=True).data.shape
    (1797, 8, 8)
    """
    raw = _sk_datasets.load_digits()
    images = raw.images.astype(np.float32)
    images /= _MAX_INTENSITY
    data = images if as_images else images.reshape(images.shape[0], -1)
    target = raw.target
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        target_names=raw.target_names,
        images=images,
        feature_names=list(raw.feature_names),
        DESCR=raw.DESCR,
    )
