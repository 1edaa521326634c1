"""Noise detectors: find mislabeled samples and drop or relabel them before training.

Detectors are imbalanced-learn cleaning samplers, so in a :class:`sknoisy.Pipeline`
they clean the training data during fit and are skipped at predict time.
"""

from ._bmm import BMMLabelCleaner
from ._confident import ConfidentLearningDetector
from ._functional import find_noisy_labels
from ._o2u import O2UNoiseDetector

__all__ = [
    "BMMLabelCleaner",
    "ConfidentLearningDetector",
    "O2UNoiseDetector",
    "find_noisy_labels",
]
