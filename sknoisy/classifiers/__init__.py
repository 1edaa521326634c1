"""Classifiers for noisy labels, each a subclass of the shared training core."""

from ._bootstrapping import DynamicBootstrappingClassifier
from ._coteaching import CoTeachingClassifier
from ._distillation import DistilledStudentClassifier
from ._dividemix import DivideMixClassifier
from ._mutual import MutualLearningClassifier
from ._peer import PeerLossClassifier

__all__ = [
    "CoTeachingClassifier",
    "DistilledStudentClassifier",
    "DivideMixClassifier",
    "DynamicBootstrappingClassifier",
    "MutualLearningClassifier",
    "PeerLossClassifier",
]
