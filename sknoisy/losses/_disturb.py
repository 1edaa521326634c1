"""DisturbLabel: random label replacement on the loss layer, as a regulariser."""

from __future__ import annotations

from numbers import Integral, Real

import torch
import torch.nn.functional as F

from .._core._validation import Interval
from ._base import BaseLoss, check_generator, check_logits_target, draw_device

__all__ = ["DisturbLabelLoss"]


class DisturbLabelLoss(BaseLoss):
    """Apply a base criterion after randomly replacing some targets (DisturbLabel).

    In training mode (``module.training`` is True), each target in the batch is, with
    probability ``alpha``, replaced by a class drawn uniformly from ``num_classes`` classes
    (possibly the same class), independently per sample and per call. The base criterion is
    then applied to the disturbed targets. In evaluation mode targets are left untouched.

    Parameters
    ----------
    base : torch.nn.Module or None, default=None
        Criterion called as ``base(logits, target)``. ``None`` means cross entropy. A base
        that returns per-sample losses (shape (N,), i.e. built with ``reduction='none'``) is
        reduced with this module's ``reduction``; a base that returns a 0-dim tensor (e.g.
        ``DMILoss`` or a ``reduction='mean'`` criterion) is returned as is, which requires
        ``reduction != 'none'``.
    alpha : float, default=0.1
        Probability of replacing each target, in ``[0, 1]``. The paper uses 0.1 (10%) on
        MNIST and CIFAR; ``alpha = 0`` applies ``base`` to the given targets.
    num_classes : int or None, default=None
        Classes to draw replacements from, ``0 .. num_classes - 1``; ``None`` uses
        ``logits.shape[1]``. Must not exceed ``logits.shape[1]``.
    reduction : {'none', 'mean', 'sum'}, default='mean'
        Applied to the base's per-sample losses: ``'none'`` returns shape (N,).

    See Also
    --------
    LabelSmoothingLoss : the deterministic expectation of this disturbance.

    Notes
    -----
    DisturbLabel adds label noise on purpose: in expectation the disturbed one-hot target is
    ``(1 - alpha) * onehot(y) + alpha / C``, the ``over='all'`` label-smoothing target, so it
    acts as a regulariser (against over-fitting, including over-fitting noisy labels) rather
    than as a noise-robust loss. Draws use ``torch.rand`` then ``torch.randint`` on the
    generator's device.

    References
    ----------
    .. [1] L. Xie, J. Wang, Z. Wei, M. Wang and Q. Tian, "DisturbLabel: Regularizing CNN on
       the Loss Layer", CVPR 2016.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import DisturbLabelLoss
    >>> logits = torch.tensor([[4.0, 0.0]]).repeat(1000, 1)
    >>> target = torch.zeros(1000, dtype=torch.long)
    >>> loss = DisturbLabelLoss(alpha=0.0)
    >>> loss(logits, target)  # nothing replaced: cross entropy
    tensor(0.0181)
    >>> loss = DisturbLabelLoss(alpha=1.0)
    >>> noisy = loss(logits, target, generator=torch.Generator().manual_seed(0))
    >>> bool(0.5 < noisy < 2.9)  # about half the targets became class 1 (CE 4.0181)
    True
    >>> _ = loss.eval()
    >>> loss(logits, target)  # evaluation mode: no disturbance
    tensor(0.0181)
    """

    _parameter_constraints: dict = {
        **BaseLoss._parameter_constraints,
        "base": [None, callable],
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "num_classes": [None, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, base: torch.nn.Module | None = None, alpha: float = 0.1,
                 num_classes: int | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.base = base
        self.alpha = alpha
        self.num_classes = num_classes
        self._check_params()

    def forward(self, logits: torch.Tensor, target: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Compute the base loss on (possibly) disturbed targets.

        Parameters
        ----------
        logits : torch.Tensor of shape (N, C)
            Unnormalised class scores.
        target : torch.Tensor of shape (N,)
            Class indices in ``[0, C)``; not modified.
        generator : torch.Generator or None, default=None
            Source of the replacement draws; ``None`` uses torch's default generator.

        Returns
        -------
        torch.Tensor
            Shape (N,) if ``reduction='none'``, else a 0-dim tensor.
        """
        name = type(self).__name__
        logits, target = check_logits_target(logits, target, name)
        check_generator(generator, name)
        alpha = float(self.alpha)
        if self.training and alpha > 0.0:
            target = self._disturb(logits, target, alpha, generator)
        if self.base is None:
            values = F.cross_entropy(logits, target, reduction="none")
        else:
            values = self.base(logits, target)
        if values.dim() == 0:
            if self.reduction == "none":
                raise ValueError(f"{name}: reduction='none' needs per-sample losses, but base "
                                 f"{type(self.base).__name__} returned a scalar; build the base "
                                 "with reduction='none'.")
            return values
        return self._reduce(values)

    def _disturb(self, logits: torch.Tensor, target: torch.Tensor, alpha: float,
                 generator: torch.Generator | None) -> torch.Tensor:
        n_samples, n_columns = logits.shape
        n_classes = n_columns if self.num_classes is None else int(self.num_classes)
        if n_classes > n_columns:
            raise ValueError(f"{type(self).__name__}: num_classes={n_classes} exceeds the "
                             f"{n_columns} logit columns; lower num_classes or leave it None.")
        where = draw_device(generator, logits.device)
        replace = torch.rand(n_samples, generator=generator, device=where) < alpha
        drawn = torch.randint(0, n_classes, (n_samples,), generator=generator, device=where)
        return torch.where(replace.to(logits.device), drawn.to(logits.device), target)
