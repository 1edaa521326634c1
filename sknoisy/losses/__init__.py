"""Noise-robust training criteria as plain :class:`torch.nn.Module` losses.

Every criterion takes ``logits`` of shape (N, C) and integer class indices ``target`` of
shape (N,). All but :class:`DMILoss` (a batch-level loss) accept
``reduction='none' | 'mean' | 'sum'``. Pass one to a sknoisy classifier as ``criterion=``;
its constructor arguments are then grid-searchable as ``criterion__<name>``.
"""

from ._bootstrapping import BootstrappingLoss
from ._disturb import DisturbLabelLoss
from ._distillation import DistillationLoss
from ._dmi import DMILoss
from ._gce import GCELoss, MAELoss
from ._peer import PeerLoss
from ._sce import SCELoss
from ._smoothing import LabelSmoothingLoss

__all__ = [
    "BootstrappingLoss",
    "DMILoss",
    "DisturbLabelLoss",
    "DistillationLoss",
    "GCELoss",
    "LabelSmoothingLoss",
    "MAELoss",
    "PeerLoss",
    "SCELoss",
]
