"""sknoisy: learning from noisily labeled data with scikit-learn estimators on skorch nets."""

from ._core._base import NoisyNetClassifier

__version__ = "0.1.0.dev0"

__all__ = ["NoisyNetClassifier", "__version__"]
