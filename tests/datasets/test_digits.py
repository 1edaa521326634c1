"""Tests for sknoisy.datasets.load_digits."""

import numpy as np
import sklearn.datasets

from sknoisy.datasets import load_digits


def test_load_digits_scaled_float32_flat():
    data = load_digits()
    reference = sklearn.datasets.load_digits()
    assert data.data.shape == (1797, 64) and data.data.dtype == np.float32
    assert data.data.min() == 0.0 and data.data.max() == 1.0
    np.testing.assert_allclose(data.data * 16.0, reference.data, atol=1e-5)
    np.testing.assert_array_equal(data.target, reference.target)
    assert list(data.target_names) == list(range(10))
    assert data.images.shape == (1797, 8, 8) and data.images.dtype == np.float32
    assert "digits" in data.DESCR.lower()
    assert len(data.feature_names) == 64


def test_load_digits_as_images():
    data = load_digits(as_images=True)
    assert data.data.shape == (1797, 8, 8)
    np.testing.assert_array_equal(data.data, data.images)
    np.testing.assert_array_equal(data.data.reshape(1797, 64), load_digits().data)


def test_load_digits_return_X_y():
    X, y = load_digits(return_X_y=True)
    assert X.shape == (1797, 64) and y.shape == (1797,)
    X_img, y_img = load_digits(return_X_y=True, as_images=True)
    assert X_img.shape == (1797, 8, 8)
    np.testing.assert_array_equal(y, y_img)
    assert np.bincount(y).min() > 170  # about 180 per class


def test_load_digits_returns_independent_arrays():
    first = load_digits()
    first.data[:] = -1.0
    assert load_digits().data.min() == 0.0
