"""O2U-Net's cyclical learning rate, as a torch scheduler for skorch's ``LRScheduler``."""

from __future__ import annotations

from numbers import Integral, Real

import torch

__all__ = ["O2UCyclicLR", "o2u_learning_rate"]


def o2u_learning_rate(epoch: int, *, base_lr: float, warmup_epochs: int, cycle_length: int,
                      lr_max: float, lr_min: float) -> float:
    """Learning rate of training epoch ``epoch`` (counted from 1) in O2U-Net.

    Epochs ``1 .. warmup_epochs`` (stage 1) use ``base_lr``. In epoch ``t`` of stage 2
    (``t = epoch - warmup_epochs``), ``s(t) = (1 + ((t - 1) mod c)) / c`` and
    ``lr(t) = (1 - s(t)) * r1 + s(t) * r2`` with ``r1 = lr_max`` and ``r2 = lr_min``
    (Huang et al., 2019): every cycle of ``c`` epochs falls linearly towards ``r2``.

    Parameters
    ----------
    epoch : int
        The epoch, from 1.
    base_lr : float
        Stage-1 learning rate.
    warmup_epochs : int
        Length of stage 1.
    cycle_length : int
        ``c``, epochs per cycle.
    lr_max, lr_min : float
        ``r1 > r2``.

    Returns
    -------
    float

    Examples
    --------
    >>> [round(o2u_learning_rate(e, base_lr=0.01, warmup_epochs=1, cycle_length=2,
    ...                          lr_max=0.05, lr_min=0.01), 3) for e in range(1, 6)]
    [0.01, 0.03, 0.01, 0.03, 0.01]
    """
    if epoch <= warmup_epochs:
        return float(base_lr)
    t = epoch - warmup_epochs
    s = (1 + (t - 1) % cycle_length) / cycle_length
    return (1 - s) * float(lr_max) + s * float(lr_min)


class O2UCyclicLR(torch.optim.lr_scheduler.LRScheduler):
    """O2U-Net's learning rate: constant for a warm-up, then linear cycles from r1 to r2.

    A torch scheduler stepped once per epoch, meant as skorch's
    ``LRScheduler(policy=O2UCyclicLR, ...)`` (which steps it at the end of every epoch
    and can ``simulate`` it). The optimizer's initial learning rate is stage 1's; see
    :func:`o2u_learning_rate` for the formula.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        The optimizer whose learning rates are set.
    warmup_epochs : int, default=10
        Epochs at the optimizer's initial learning rate.
    cycle_length : int, default=5
        Epochs per cycle (``c``).
    lr_max : float, default=0.05
        ``r1``, the high end of each cycle.
    lr_min : float, default=0.005
        ``r2``, reached in the last epoch of each cycle; must be below ``lr_max``.
    last_epoch : int, default=-1
        Index of the last epoch (torch's convention; skorch sets it on resume).

    Examples
    --------
    >>> from skorch.callbacks import LRScheduler
    >>> from sknoisy.callbacks import O2UCyclicLR
    >>> schedule = LRScheduler(policy=O2UCyclicLR, warmup_epochs=2, cycle_length=3,
    ...                        lr_max=0.04, lr_min=0.01)
    >>> schedule.simulate(steps=8, initial_lr=0.02).round(3).tolist()
    [0.02, 0.02, 0.03, 0.02, 0.01, 0.03, 0.02, 0.01]
    """

    def __init__(self, optimizer, warmup_epochs: int = 10, cycle_length: int = 5,
                 lr_max: float = 0.05, lr_min: float = 0.005, last_epoch: int = -1) -> None:
        for name, value in (("warmup_epochs", warmup_epochs), ("cycle_length", cycle_length)):
            low = 1 if name == "cycle_length" else 0
            if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
                raise ValueError(f"O2UCyclicLR: {name} must be an integer >= {low}; got "
                                 f"{value!r}.")
        for name, value in (("lr_max", lr_max), ("lr_min", lr_min)):
            if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
                raise ValueError(f"O2UCyclicLR: {name} must be a positive number; got "
                                 f"{value!r}.")
        if lr_max <= lr_min:
            raise ValueError(f"O2UCyclicLR: lr_max must be greater than lr_min (r1 > r2); "
                             f"got lr_max={lr_max} and lr_min={lr_min}.")
        self.warmup_epochs = warmup_epochs
        self.cycle_length = cycle_length
        self.lr_max = lr_max
        self.lr_min = lr_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        # last_epoch counts completed steps: the epoch about to be trained is one more.
        return [o2u_learning_rate(self.last_epoch + 1, base_lr=base,
                                  warmup_epochs=self.warmup_epochs,
                                  cycle_length=self.cycle_length, lr_max=self.lr_max,
                                  lr_min=self.lr_min) for base in self.base_lrs]
