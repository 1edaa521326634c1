"""Default PyTorch modules that sknoisy estimators build when no ``module`` is given."""

from ._convnet import ConvNet
from ._mlp import MLP

__all__ = ["MLP", "ConvNet"]
