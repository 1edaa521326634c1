"""Symmetric cross entropy: cross entropy plus reverse cross entropy."""

from __future__ import annotations

import math
from numbers import Real

import torch

from .._core._validation import Interval
from ._base import BaseLoss, target_log_prob

__all__ = ["SCELoss"]


class SCELoss(BaseLoss):
    """Symmetric cross entropy (SCE).

    For a sample with label ``y`` and softmax output ``p`` over ``C`` classes::

        SCE = alpha * CE + beta * RCE
        CE  = -log p_y
        RCE = -sum_k p_k * log(clamp(onehot(y)_k, 1e-4, 1)) = -A * (1 - p_y)

    where ``A = log(1e-4)`` is the value that replaces ``log 0`` in the reverse term. The
    number of classes is read from ``logits.shape[1]``.

    Parameters
    ----------
    alpha : float, default=0.1
        Weight of cross entropy, ``>= 0``. The paper's CIFAR-10 setting (alpha=0.1,
        beta=1.0).
    beta : float, default=1.0
        Weight of reverse cross entropy, ``>= 0``. ``alpha`` and ``beta`` may not both be 0.
    A : float, default=math.log(1e-4)
        The stand-in for ``log 0`` (``< 0``), about -9.21. This is what the paper's reference
        code computes (``log(clamp(onehot, 1e-4, 1))`` with the natural log). The paper's text
        quotes ``A = -4`` (the base-10 logarithm of the same clamp); pass ``A=-4.0`` for that
        scale. Only the product ``beta * A`` matters.
    reduction : {'none', 'mean', 'sum'}, default='mean'
        ``'none'`` returns shape (N,); ``'mean'`` / ``'sum'`` average or add over samples.

    See Also
    --------
    MAELoss : RCE is MAE scaled by ``-A``.
    GCELoss : another CE / robust-loss interpolation.

    Notes
    -----
    With one-hot labels RCE is ``-A`` times MAE, so it is bounded (``0 <= RCE <= -A``) and
    noise-tolerant, while the CE term keeps the fit fast on hard classes. The reverse term is
    computed in closed form from ``log_softmax``, so it stays finite when ``p_y -> 0``.

    References
    ----------
    .. [1] Y. Wang, X. Ma, Z. Chen, Y. Luo, J. Yi and J. Bailey, "Symmetric Cross Entropy for
       Robust Learning with Noisy Labels", ICCV 2019.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import SCELoss
    >>> logits, target = torch.tensor([[0.0, 0.0]]), torch.tensor([0])
    >>> SCELoss(alpha=1.0, beta=0.0)(logits, target)  # CE = log 2
    tensor(0.6931)
    >>> SCELoss(alpha=0.0, beta=1.0, A=-4.0)(logits, target)  # 4 * (1 - 0.5)
    tensor(2.)
    """

    _parameter_constraints: dict = {
        **BaseLoss._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "A": [Interval(Real, None, 0, closed="neither")],
    }

    def __init__(self, *, alpha: float = 0.1, beta: float = 1.0, A: float = math.log(1e-4),
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.alpha = alpha
        self.beta = beta
        self.A = A
        self._check_params()
        if alpha == 0 and beta == 0:
            raise ValueError("SCELoss: alpha and beta are both 0, which gives a constant loss; "
                             "set at least one of them > 0 (the paper uses alpha=0.1, beta=1.0).")

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """One loss value per sample, for validated inputs (see ``BaseLoss.forward``)."""
        log_p = target_log_prob(logits, target)
        ce = -log_p
        rce = float(self.A) * torch.expm1(log_p)  # -A * (1 - p_y)
        return float(self.alpha) * ce + float(self.beta) * rce
