"""Classifiers for noisy labels, each a subclass of the shared training core."""

from ._bootstrapping import DynamicBootstrappingClassifier
from ._coteaching import CoTeachingClassifier
from ._d2l import D2LClassifier
from ._distillation import DistilledStudentClassifier
from ._dividemix import DivideMixClassifier
from ._mutual import MutualLearningClassifier
from ._peer import PeerLossClassifier

__all__ = [
    "CoTeachingClassifier",
    "D2LClassifier",
    "DistilledStudentClassifier",
    "DivideMixClassifier",
    "DynamicBootstrappingClassifier",
    "MutualLearningClassifier",
    "PeerLossClassifier",
]
