"""sknoisy: learning from noisily labeled data with scikit-learn estimators on skorch nets."""

from ._core._base import NoisyNetClassifier
from .classifiers import (
    CoTeachingClassifier,
    D2LClassifier,
    DistilledStudentClassifier,
    DivideMixClassifier,
    DynamicBootstrappingClassifier,
    MutualLearningClassifier,
    PeerLossClassifier,
)
from .detectors import (
    BMMLabelCleaner,
    ConfidentLearningDetector,
    O2UNoiseDetector,
    find_noisy_labels,
)
from .mixture import BetaMixture1D
from .pipeline import Pipeline, make_pipeline

__version__ = "0.1.0.dev0"

__all__ = [
    "BMMLabelCleaner",
    "BetaMixture1D",
    "CoTeachingClassifier",
    "ConfidentLearningDetector",
    "D2LClassifier",
    "DistilledStudentClassifier",
    "DivideMixClassifier",
    "DynamicBootstrappingClassifier",
    "MutualLearningClassifier",
    "NoisyNetClassifier",
    "O2UNoiseDetector",
    "PeerLossClassifier",
    "Pipeline",
    "__version__",
    "find_noisy_labels",
    "make_pipeline",
]
