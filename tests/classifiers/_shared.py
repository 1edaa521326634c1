"""Data and helpers shared by the classifier tests."""

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import train_test_split

from sknoisy.noise import make_label_noise


def three_classes(n_samples: int = 160):
    """A small 3-class, 8-feature problem, float32."""
    X, y = make_classification(n_samples=n_samples, n_features=8, n_informative=5,
                               n_classes=3, random_state=0)
    return X.astype(np.float32), y


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def noisy_digits(seed: int, rate: float = 0.4):
    """Digits split 70/30 (seed), training labels with ``rate`` symmetric noise.

    Returns X_train, X_test, y_noisy, y_test and the small fast network settings the
    "beats cross-entropy" tests train with (25 epochs: long enough for cross-entropy to
    memorise the noise).
    """
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32), y, test_size=0.3, random_state=seed, stratify=y)
    y_noisy, _ = make_label_noise(y_train, "symmetric", rate, random_state=seed)
    params = dict(max_epochs=25, lr=1e-2, batch_size=64, module__hidden_sizes=(32,),
                  early_stopping=False, random_state=seed)
    return X_train, X_test, y_noisy, y_test, params


def small_noisy_digits(seed: int):
    """500 digits (pixels in [0, 1]) with 40% symmetric noise, the rest as clean test rows.

    Returns X_train, y_noisy, X_test, y_test and the network settings (30 epochs, a
    32-unit layer) under which cross-entropy memorises the noise (about 0.61-0.66 on the
    clean test rows for seeds 0-3).
    """
    import functools

    from sknoisy.modules import MLP

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    order = np.random.RandomState(seed).permutation(len(X))
    train, test = order[:500], order[500:]
    y_noisy, _ = make_label_noise(y[train], "symmetric", 0.4, random_state=seed)
    params = dict(max_epochs=30, lr=1e-2, batch_size=64, early_stopping=False,
                  module=functools.partial(MLP, hidden_sizes=(32,)), random_state=seed)
    return X[train], y_noisy, X[test], y[test], params
