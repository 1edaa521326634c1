"""Mixup's per-batch draw (Zhang et al. 2018) for the core's training step.

One mixing coefficient ``l ~ Beta(alpha, alpha)`` and one permutation of the batch per
training step: the network sees ``l * x + (1 - l) * x[perm]`` and each row's loss is the
same mixture of the losses of its two labels. The draws come from the fit's seeded CPU
generator, so a seed fixes them wherever the batch lives.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from scipy.special import betaincinv

__all__ = ["MixupDraw", "draw_mixup"]


class MixupDraw(NamedTuple):
    """The coefficient and the partner of every row of one mixed batch.

    Attributes
    ----------
    lam : float
        Weight of each row itself, in ``[0, 1]``.
    perm : torch.Tensor of shape (N,)
        Row ``i`` is mixed with row ``perm[i]`` of the same batch.

    Examples
    --------
    >>> import torch
    >>> draw = MixupDraw(0.75, torch.tensor([1, 0]))
    >>> draw.mix(torch.tensor([[4.0], [0.0]]))
    tensor([[3.],
            [1.]])
    """

    lam: float
    perm: torch.Tensor

    def mix(self, values: torch.Tensor) -> torch.Tensor:
        """``lam * values + (1 - lam) * values[perm]``."""
        return self.lam * values + (1.0 - self.lam) * values[self.perm]

    def partners(self, values):
        """``values[perm]``, or ``None`` for ``None`` (a batch without row indices)."""
        return None if values is None else values[self.perm]


def draw_mixup(alpha: float, n: int, generator: torch.Generator | None = None,
               device: torch.device | str = "cpu") -> MixupDraw:
    """Draw ``l ~ Beta(alpha, alpha)`` and a permutation of ``range(n)``.

    Parameters
    ----------
    alpha : float
        Both Beta parameters, > 0.
    n : int
        Rows in the batch.
    generator : torch.Generator or None, default=None
        CPU generator for both draws; ``None`` uses torch's global one.
    device : torch.device or str, default='cpu'
        Where the permutation is needed.

    Returns
    -------
    MixupDraw

    Examples
    --------
    >>> import torch
    >>> a = draw_mixup(0.4, 5, torch.Generator().manual_seed(0))
    >>> b = draw_mixup(0.4, 5, torch.Generator().manual_seed(0))
    >>> a.lam == b.lam and torch.equal(a.perm, b.perm) and 0 <= a.lam <= 1
    True
    """
    # torch's Beta sampler takes no generator; the inverse CDF of one seeded uniform does.
    uniform = torch.rand((), generator=generator, dtype=torch.float64).item()
    lam = float(betaincinv(alpha, alpha, uniform))
    perm = torch.randperm(n, generator=generator).to(device)
    return MixupDraw(lam, perm)
