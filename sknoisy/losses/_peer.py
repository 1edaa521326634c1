"""Peer loss: cross entropy minus cross entropy on randomly re-paired outputs and labels."""

from __future__ import annotations

import math
from numbers import Real

import torch

from .._core._validation import Interval
from ._base import (BaseLoss, check_generator, check_logits_target, gather_target,
                    random_permutation)

__all__ = ["PeerLoss"]


class PeerLoss(BaseLoss):
    """Peer loss with cross entropy as the base loss.

    For a batch of ``N`` outputs ``f(x_i)`` with labels ``y_i``, draw two independent random
    permutations ``j`` and ``k`` of the batch and compute, per sample::

        loss_i = CE(f(x_i), y_i) - alpha * CE_peer(f(x_{j_i}), y_{k_i})
        CE_peer(f(x), y) = -log(max(p_y, eps))

    The peer term reuses the batch's own outputs: no extra forward pass. Pairing a random
    output with an independent random label estimates the loss the model would get on
    uninformative data; subtracting it penalises fitting the label marginal (and the noise).

    Parameters
    ----------
    alpha : float, default=1.0
        Weight of the peer term, ``>= 0``. 1.0 is the paper's basic peer loss; ``alpha = 0``
        is plain cross entropy. The paper trains the first epochs at ``alpha = 0`` and then
        ramps it up; the classifier does that by setting ``alpha`` on this module.
    eps : float, default=1e-7
        Floor for the peer probability, in ``(0, 1)``. The peer term is unbounded below
        (minimising ``-CE`` pushes ``p -> 0`` for ever); with the floor the peer CE is at
        most ``-log(eps)`` (about 16.1) and samples at the floor get no further gradient.
    reduction : {'none', 'mean', 'sum'}, default='mean'
        ``'none'`` returns shape (N,) (sample ``i`` paired with the ``i``-th draw);
        ``'mean'`` / ``'sum'`` average or add over samples.

    See Also
    --------
    sknoisy.PeerLossClassifier : trains a net with this loss and the alpha schedule.

    Notes
    -----
    The permutation ``j`` is drawn before ``k``, both with ``torch.randperm`` on the
    generator's device; with ``alpha == 0`` nothing is drawn. The clean term is an ordinary
    cross entropy, bounded below by 0, so it needs no floor. Values can be negative.

    References
    ----------
    .. [1] Y. Liu and H. Guo, "Peer Loss Functions: Learning from Noisy Labels without
       Knowing Noise Rates", ICML 2020.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import PeerLoss
    >>> logits = torch.tensor([[0.0, 0.0], [0.0, 0.0]])  # every CE is log 2
    >>> target = torch.tensor([0, 1])
    >>> PeerLoss(alpha=0.5)(logits, target, generator=torch.Generator().manual_seed(0))
    tensor(0.3466)
    >>> PeerLoss(alpha=0.0, reduction="none")(logits, target)
    tensor([0.6931, 0.6931])
    """

    _parameter_constraints: dict = {
        **BaseLoss._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "eps": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(self, *, alpha: float = 1.0, eps: float = 1e-7,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.alpha = alpha
        self.eps = eps
        self._check_params()

    def forward(self, logits: torch.Tensor, target: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Compute the loss.

        Parameters
        ----------
        logits : torch.Tensor of shape (N, C)
            Unnormalised class scores.
        target : torch.Tensor of shape (N,)
            Class indices in ``[0, C)``.
        generator : torch.Generator or None, default=None
            Source of the two permutations; pass a seeded generator for reproducible draws.
            ``None`` uses torch's default generator.

        Returns
        -------
        torch.Tensor
            Shape (N,) if ``reduction='none'``, else a 0-dim tensor.
        """
        logits, target = check_logits_target(logits, target, type(self).__name__)
        check_generator(generator, type(self).__name__)
        log_p = logits.log_softmax(dim=1)
        values = -gather_target(log_p, target)
        alpha = float(self.alpha)
        if alpha != 0.0:
            n_samples = logits.shape[0]
            output_index = random_permutation(n_samples, generator, logits.device)
            label_index = random_permutation(n_samples, generator, logits.device)
            peer_log_p = log_p[output_index, target[label_index]]
            # Clamping the log-probability is clamping p at eps, with zero gradient below.
            peer_ce = -peer_log_p.clamp(min=math.log(float(self.eps)))
            values = values - alpha * peer_ce
        return self._reduce(values)
