"""Test data the detector tests share."""

import numpy as np
from sklearn.datasets import make_classification


def noisy_three_classes(n_samples: int, n_features: int, n_informative: int,
                        class_sep: float):
    """Separable 3-class data with 30% of the labels flipped, as strings.

    Returns X, the noisy labels, the clean labels and the flip mask.
    """
    X, y = make_classification(n_samples=n_samples, n_features=n_features,
                               n_informative=n_informative, n_redundant=0, n_classes=3,
                               n_clusters_per_class=1, class_sep=class_sep, flip_y=0,
                               random_state=0)
    rng = np.random.default_rng(0)
    flipped = rng.random(len(y)) < 0.3
    y_noisy = y.copy()
    y_noisy[flipped] = (y[flipped] + rng.integers(1, 3, flipped.sum())) % 3
    names = np.array(["cat", "dog", "eel"])
    return X, names[y_noisy], names[y], flipped


def ambiguous_labels(n: int = 3000, n_classes: int = 5, seed: int = 0,
                     sharpen: float = 1.0):
    """Out-of-fold-like probabilities of varied confidence and clean labels drawn from
    them: every wrong-looking label is ambiguity, none is noise.

    ``sharpen`` > 1 returns an over-confident model's view of the same rows. Returns the
    probabilities, the labels and the generator, for drawing noise on top.
    """
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, n_classes))
    logits[np.arange(n), rng.integers(0, n_classes, n)] += rng.uniform(0, 6, n)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (proba.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    seen = np.exp(logits * sharpen)
    return seen / seen.sum(axis=1, keepdims=True), y, rng
