"""skorch callbacks and learning-rate policies that sknoisy's methods are built from.

:class:`PerSampleRecord` is the one facility through which a method keeps per-sample
state (losses, predictions, probabilities, running statistics over epochs); it works on
any sknoisy net. :class:`O2UCyclicLR` is O2U-Net's learning rate as a torch scheduler for
skorch's ``LRScheduler``.
"""

from ._core._record import PerSampleRecord
from .detectors._cyclic_lr import O2UCyclicLR, o2u_learning_rate

__all__ = ["O2UCyclicLR", "PerSampleRecord", "o2u_learning_rate"]
