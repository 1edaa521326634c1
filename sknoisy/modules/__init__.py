"""PyTorch modules: the defaults sknoisy estimators build when no ``module`` is given
(:class:`MLP`, :class:`ConvNet`), and DropMax's network (:class:`DropMaxNet`,
:class:`DropMaxHead`) for :class:`sknoisy.losses.DropMaxLoss`.
"""

from ._convnet import ConvNet
from ._dropmax import DropMaxHead, DropMaxNet
from ._mlp import MLP

__all__ = ["MLP", "ConvNet", "DropMaxHead", "DropMaxNet"]
