"""Noise detectors: find mislabeled samples and drop or relabel them before training.

Detectors are imbalanced-learn cleaning samplers, so in a :class:`sknoisy.Pipeline`
they clean the training data during fit and are skipped at predict time.
"""

from ._bmm import BMMLabelCleaner
from ._bootstrapping import DynamicBootstrappingClassifier
from ._functional import find_noisy_labels
from ._mixture import BetaMixture1D, normalize_losses
from ._o2u import O2UNoiseDetector
from ._rate import estimate_noise_rate

__all__ = [
    "BMMLabelCleaner",
    "BetaMixture1D",
    "DynamicBootstrappingClassifier",
    "O2UNoiseDetector",
    "estimate_noise_rate",
    "find_noisy_labels",
    "normalize_losses",
]
