"""Generalized cross entropy (Lq) and its q = 1 end point, mean absolute error."""

from __future__ import annotations

import math
from numbers import Real

import torch

from .._core._validation import Interval
from ._base import BaseLoss, target_log_prob

__all__ = ["GCELoss", "MAELoss"]


def _lq_from_log_prob(log_p: torch.Tensor, q: float) -> torch.Tensor:
    # (1 - p**q) / q written as -expm1(q log p) / q: exact as q -> 0 (where it tends to
    # -log p) and as p -> 1, and never forms p**q from an underflowed p.
    return -torch.expm1(q * log_p) / q


class GCELoss(BaseLoss):
    """Generalized cross entropy (Lq loss), optionally truncated.

    For a sample with label ``y`` and softmax probability ``p_y`` the loss is::

        Lq(p_y) = (1 - p_y ** q) / q

    It interpolates between cross entropy (the limit ``q -> 0``) and the noise-robust mean
    absolute error ``1 - p_y`` (``q = 1``). Its value lies in ``[0, 1/q]``.

    With ``k`` set, the truncated loss of the paper is used::

        loss = Lq(p_y)  if p_y > k
        loss = Lq(k)    if p_y <= k      (a constant: those samples get zero gradient)

    so samples the model finds very unlikely under their given label (likely mislabeled)
    stop pulling on the model.

    Parameters
    ----------
    q : float, default=0.7
        Exponent in ``(0, 1]``. 0.7 is the value the paper uses in all its experiments.
        Tiny values (e.g. ``1e-6``) are computed stably and give cross entropy.
    k : float or None, default=None
        Truncation threshold in ``(0, 1)``; ``None`` gives the plain Lq loss. The paper's
        truncated experiments use ``k=0.5``.
    reduction : {'none', 'mean', 'sum'}, default='mean'
        ``'none'`` returns shape (N,); ``'mean'`` / ``'sum'`` average or add over samples.

    See Also
    --------
    MAELoss : the ``q = 1`` end point.
    SCELoss : another CE / robust-loss combination.

    Notes
    -----
    The paper's truncated Lq prunes in stages: every 10 epochs (from epoch 40 on) it sets a
    per-sample weight to 0 for samples with ``p_y <= k`` and keeps it fixed until the next
    stage. This criterion applies the rule on the fly in every batch instead, which needs no
    per-sample state; the loss of a truncated sample is the constant ``Lq(k)``, so the loss
    curve stays continuous at ``p_y = k``. Two consequences measured in our benchmark
    (benchmarks/RESULTS.md): from a random start with many classes every sample has
    ``p_y < k`` and nothing is learned, so use ``warmup_epochs`` in the classifier; and
    even after a warm-up, truncating in every batch can lose accuracy that the staged
    rule would keep. Prefer plain GCE (``k=None``) unless you have checked ``k``.

    The value ``p_y ** q`` is computed as ``exp(q * log_softmax(logits)_y)`` so the loss and its
    gradient stay finite when ``p_y`` underflows to 0.

    References
    ----------
    .. [1] Z. Zhang and M. R. Sabuncu, "Generalized Cross Entropy Loss for Training Deep
       Neural Networks with Noisy Labels", NeurIPS 2018.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import GCELoss
    >>> logits = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    >>> target = torch.tensor([0, 1])
    >>> GCELoss(q=1.0, reduction="none")(logits, target)  # 1 - p_y
    tensor([0.5000, 0.8808])
    >>> GCELoss(q=0.5, k=0.2, reduction="none")(logits, target)  # 2nd sample: p_y = 0.12 <= k
    tensor([0.5858, 1.1056])
    """

    _parameter_constraints: dict = {
        **BaseLoss._parameter_constraints,
        "q": [Interval(Real, 0, 1, closed="right")],
        "k": [None, Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(self, *, q: float = 0.7, k: float | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.q = q
        self.k = k
        self._check_params()

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """One loss value per sample, for validated inputs (see ``BaseLoss.forward``)."""
        q = float(self.q)
        log_p = target_log_prob(logits, target)
        values = _lq_from_log_prob(log_p, q)
        if self.k is not None:
            k = float(self.k)
            floor_value = -math.expm1(q * math.log(k)) / q
            # torch.where routes zero gradient to the untaken branch, and that branch's own
            # gradient is finite, so truncated samples get an exact zero (no NaN).
            values = torch.where(log_p > math.log(k), values, values.new_tensor(floor_value))
        return values


class MAELoss(BaseLoss):
    """Mean absolute error between the one-hot label and the softmax output, halved.

    For a sample with label ``y`` and softmax probability vector ``p``::

        loss = 1 - p_y  =  sum_k |onehot(y)_k - p_k| / 2

    Parameters
    ----------
    reduction : {'none', 'mean', 'sum'}, default='mean'
        ``'none'`` returns shape (N,); ``'mean'`` / ``'sum'`` average or add over samples.

    See Also
    --------
    GCELoss : ``GCELoss(q=1.0)`` gives the same values.

    Notes
    -----
    Scaling: the L1 distance used by Ghosh et al. is ``sum_k |onehot_k - p_k| = 2 (1 - p_y)``.
    sknoisy uses half of it, ``1 - p_y``, so the loss lies in ``[0, 1]`` and equals
    ``GCELoss(q=1)``. Multiply the learning rate by 2 to reproduce the unscaled form. MAE is
    symmetric (the loss summed over all labels is constant), hence provably robust to
    symmetric label noise, but it fits slowly, especially with many classes.

    References
    ----------
    .. [1] A. Ghosh, H. Kumar and P. S. Sastry, "Robust Loss Functions under Label Noise for
       Deep Neural Networks", AAAI 2017.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import MAELoss
    >>> MAELoss(reduction="none")(torch.tensor([[0.0, 0.0], [2.0, 0.0]]), torch.tensor([0, 1]))
    tensor([0.5000, 0.8808])
    """

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self._check_params()

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """One loss value per sample, for validated inputs (see ``BaseLoss.forward``)."""
        return _lq_from_log_prob(target_log_prob(logits, target), 1.0)
