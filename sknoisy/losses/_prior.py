"""The class-prior penalty of Tanaka et al. (2018): keep the mean prediction near a prior."""

from __future__ import annotations

import torch

from ._base import check_logits_target

__all__ = ["prior_penalty"]


def prior_penalty(logits: torch.Tensor, prior: torch.Tensor | None = None) -> torch.Tensor:
    """``KL(prior || mean prediction)`` over a batch: one value, not one per sample.

    Under heavy label noise a network can collapse onto a few classes (every sample
    predicted as the class most labels were flipped to); the penalty grows when the
    batch's mean softmax moves away from ``prior``. M-DYR-H (Arazo et al., 2019) and
    DivideMix (Li et al., 2020) add it to their loss, after Tanaka et al. (2018).

    Parameters
    ----------
    logits : torch.Tensor of shape (N, C)
        Unnormalised class scores of the batch.
    prior : torch.Tensor of shape (C,) or None, default=None
        The class distribution the mean prediction should stay near; ``None`` is
        uniform.

    Returns
    -------
    torch.Tensor
        A 0-dim tensor, ``sum_k prior_k * log(prior_k / mean_n softmax(logits)_nk)``;
        0 when the mean prediction equals the prior.

    Notes
    -----
    Classes with prior 0 contribute nothing. The mean is taken over the batch, so the
    penalty asks for balanced predictions over a batch, not for uncertain ones: each
    sample may still be predicted confidently.

    References
    ----------
    .. [1] D. Tanaka, D. Ikami, T. Yamasaki, K. Aizawa. "Joint Optimization Framework for
       Learning with Noisy Labels". CVPR 2018.
    .. [2] E. Arazo, D. Ortego, P. Albert, N. O'Connor, K. McGuinness. "Unsupervised
       Label Noise Modeling and Loss Correction". ICML 2019.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import prior_penalty
    >>> prior_penalty(torch.tensor([[2.0, 0.0], [0.0, 2.0]]))  # mean prediction uniform
    tensor(0.)
    >>> round(float(prior_penalty(torch.tensor([[4.0, 0.0], [4.0, 0.0]]))), 4)
    1.325
    """
    logits, _ = check_logits_target(
        logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device),
        "prior_penalty")
    n_classes = logits.shape[1]
    if prior is None:
        prior = torch.full((n_classes,), 1.0 / n_classes, dtype=logits.dtype,
                           device=logits.device)
    elif tuple(prior.shape) != (n_classes,):
        raise ValueError(f"prior_penalty: prior must hold one probability per class, shape "
                         f"({n_classes},); got {tuple(prior.shape)}.")
    # log of the mean probability, computed stably from the log-probabilities.
    log_mean = torch.logsumexp(logits.log_softmax(dim=1), dim=0) - torch.log(
        torch.tensor(float(len(logits)), dtype=logits.dtype, device=logits.device))
    positive = prior > 0
    return (prior[positive] * (torch.log(prior[positive]) - log_mean[positive])).sum()
