"""Label smoothing in its two common forms."""

from __future__ import annotations

from numbers import Real

import torch

from .._core._validation import Interval, StrOptions
from ._base import BaseLoss, gather_target

__all__ = ["LabelSmoothingLoss"]


class LabelSmoothingLoss(BaseLoss):
    """Cross entropy against a smoothed label distribution.

    With ``C`` classes (read from ``logits.shape[1]``), label ``y`` and smoothing
    ``epsilon``, the target distribution ``t`` is::

        over='all':    t = (1 - epsilon) * onehot(y) + epsilon / C
                       (so t_y = 1 - epsilon + epsilon / C)
        over='others': t_y = 1 - epsilon,  t_k = epsilon / (C - 1) for k != y

    and the loss is ``-sum_k t_k * log p_k``.

    Parameters
    ----------
    epsilon : float, default=0.1
        Mass moved away from the given label, in ``[0, 1)``; 0 is plain cross entropy.
        0.1 is the value of Szegedy et al. and the one Lukasik et al. found helpful under
        label noise.
    over : {'all', 'others'}, default='all'
        Where the moved mass goes: uniformly over all ``C`` classes (Szegedy et al.; the
        form of ``torch.nn.CrossEntropyLoss(label_smoothing=...)``) or only over the
        ``C - 1`` other classes (needs ``C >= 2``).
    reduction : {'none', 'mean', 'sum'}, default='mean'
        ``'none'`` returns shape (N,); ``'mean'`` / ``'sum'`` average or add over samples.

    See Also
    --------
    BootstrappingLoss : mixes the label with the model's own prediction instead.

    Notes
    -----
    The two forms coincide after reparametrising: ``over='all'`` with ``epsilon`` equals
    ``over='others'`` with ``epsilon * (C - 1) / C``. The loss is computed from
    ``log_softmax`` in closed form (no target matrix), so it stays finite for extreme logits.

    References
    ----------
    .. [1] C. Szegedy, V. Vanhoucke, S. Ioffe, J. Shlens and Z. Wojna, "Rethinking the
       Inception Architecture for Computer Vision", CVPR 2016.
    .. [2] M. Lukasik, S. Bhojanapalli, A. K. Menon and S. Kumar, "Does Label Smoothing
       Mitigate Label Noise?", ICML 2020.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import LabelSmoothingLoss
    >>> logits = torch.tensor([[0.0, 0.0, 0.0]])  # uniform prediction: any target gives log 3
    >>> LabelSmoothingLoss(epsilon=0.3)(logits, torch.tensor([0]))
    tensor(1.0986)
    >>> logits = torch.tensor([[1.0, 0.0, 0.0]])
    >>> LabelSmoothingLoss(epsilon=0.0)(logits, torch.tensor([0]))  # plain CE
    tensor(0.5514)
    """

    _parameter_constraints: dict = {
        **BaseLoss._parameter_constraints,
        "epsilon": [Interval(Real, 0, 1, closed="left")],
        "over": [StrOptions({"all", "others"})],
    }

    def __init__(self, *, epsilon: float = 0.1, over: str = "all",
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.epsilon = epsilon
        self.over = over
        self._check_params()

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """One loss value per sample, for validated inputs (see ``BaseLoss.forward``)."""
        n_classes = logits.shape[1]
        eps = float(self.epsilon)
        log_p = logits.log_softmax(dim=1)
        label_log_p = gather_target(log_p, target)
        total_log_p = log_p.sum(dim=1)
        if self.over == "all":
            values = -((1.0 - eps) * label_log_p + (eps / n_classes) * total_log_p)
        else:
            if n_classes < 2:
                raise ValueError("LabelSmoothingLoss: over='others' needs at least 2 classes; "
                                 f"got logits with {n_classes} column(s).")
            values = -((1.0 - eps) * label_log_p
                       + (eps / (n_classes - 1)) * (total_log_p - label_log_p))
        return values
