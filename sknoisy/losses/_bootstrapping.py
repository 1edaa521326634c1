"""Bootstrapping losses (soft and hard) of Reed et al."""

from __future__ import annotations

from numbers import Real

import torch

from .._core._validation import Interval, StrOptions
from ._base import BaseLoss, check_logits_target, gather_target

__all__ = ["BootstrappingLoss"]

_DEFAULT_BETA = {"soft": 0.95, "hard": 0.8}


class BootstrappingLoss(BaseLoss):
    """Bootstrapping loss: cross entropy against a mix of the given label and the prediction.

    With softmax output ``p`` and given label ``y``::

        soft: loss = -sum_k (beta * onehot(y)_k + (1 - beta) * p_k) * log p_k
        hard: loss = -sum_k (beta * onehot(y)_k + (1 - beta) * onehot(argmax p)_k) * log p_k

    Parameters
    ----------
    beta : float or None, default=None
        Weight of the given label, in ``[0, 1]``; ``1`` is plain cross entropy. ``None`` uses
        the mode's value from the paper: 0.95 for ``'soft'``, 0.8 for ``'hard'``.
    mode : {'soft', 'hard'}, default='soft'
        Which prediction enters the target: the probability vector or its one-hot argmax
        (ties go to the lowest class index).
    detach : bool, default=False
        Soft mode only: whether ``p`` inside the target is treated as a constant. See Notes;
        the default keeps the paper's objective. Hard mode has no gradient through the argmax
        either way.
    reduction : {'none', 'mean', 'sum'}, default='mean'
        ``'none'`` returns shape (N,); ``'mean'`` / ``'sum'`` average or add over samples.

    See Also
    --------
    LabelSmoothingLoss : mixes the label with a fixed uniform distribution instead.

    Notes
    -----
    The soft loss equals ``beta * CE + (1 - beta) * H(p)`` with ``H(p) = -sum_k p_k log p_k``
    the entropy of the prediction. Without detaching (the default, as in the paper, which
    calls it softmax regression with minimum-entropy regularisation) its gradient with
    respect to the logits is ``beta * (p - onehot(y)) - (1 - beta) * p * (log p + H(p))``:
    cross entropy plus an entropy-minimisation push towards confident predictions.

    With ``detach=True`` the gradient is ``p - (beta * onehot(y) + (1 - beta) * p) =
    beta * (p - onehot(y))``, i.e. exactly ``beta`` times the cross-entropy gradient: the
    prediction term then only changes the loss value, not training. Detaching is meaningful
    only when the target prediction comes from another view of the input (as in dynamic
    bootstrapping with mixup), which this criterion does not do.

    The hard loss needs no such choice: the argmax target has no gradient.

    References
    ----------
    .. [1] S. Reed, H. Lee, D. Anguelov, C. Szegedy, D. Erhan and A. Rabinovich, "Training
       Deep Neural Networks on Noisy Labels with Bootstrapping", ICLR 2015 workshop.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import BootstrappingLoss
    >>> logits = torch.tensor([[2.0, 0.0]])
    >>> target = torch.tensor([1])  # the model prefers class 0
    >>> BootstrappingLoss(mode="hard")(logits, target)  # 0.8 * 2.1269 + 0.2 * 0.1269
    tensor(1.7269)
    >>> BootstrappingLoss(mode="soft", beta=1.0)(logits, target)  # plain cross entropy
    tensor(2.1269)
    """

    _parameter_constraints: dict = {
        **BaseLoss._parameter_constraints,
        "beta": [None, Interval(Real, 0, 1, closed="both")],
        "mode": [StrOptions({"soft", "hard"})],
        "detach": ["boolean"],
    }

    def __init__(self, *, beta: float | None = None, mode: str = "soft", detach: bool = False,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.beta = beta
        self.mode = mode
        self.detach = detach
        self._check_params()

    def forward(self, logits: torch.Tensor, target: torch.Tensor,
                beta: torch.Tensor | None = None,
                prediction: torch.Tensor | None = None) -> torch.Tensor:
        """Compute the loss.

        Parameters
        ----------
        logits : torch.Tensor of shape (N, C)
            Unnormalised class scores.
        target : torch.Tensor of shape (N,)
            Class indices in ``[0, C)``.
        beta : torch.Tensor of shape (N,) or None, default=None
            A label weight per sample, overriding the ``beta`` parameter (dynamic
            bootstrapping gives each sample ``1 - P(noisy)``).
        prediction : torch.Tensor of shape (N, C) or None, default=None
            Class probabilities to bootstrap from instead of ``softmax(logits)``: the
            prediction for another view of the same rows (with mixup, the unmixed
            rows, whose logits are not the ones being trained). Treated as a
            constant; ``'hard'`` takes its argmax, ``'soft'`` its values.

        Returns
        -------
        torch.Tensor
            Shape (N,) if ``reduction='none'``, else a 0-dim tensor.
        """
        logits, target = check_logits_target(logits, target, type(self).__name__)
        if beta is not None and tuple(beta.shape) != (logits.shape[0],):
            raise ValueError(f"{type(self).__name__}: beta must hold one weight per sample, "
                             f"shape ({logits.shape[0]},); got {tuple(beta.shape)}.")
        if prediction is not None and tuple(prediction.shape) != tuple(logits.shape):
            raise ValueError(f"{type(self).__name__}: prediction must have the logits' shape "
                             f"{tuple(logits.shape)}; got {tuple(prediction.shape)}.")
        return self._reduce(self.per_sample(logits, target, beta, prediction))

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor,
                   beta: torch.Tensor | None = None,
                   prediction: torch.Tensor | None = None) -> torch.Tensor:
        """One loss value per sample, for validated inputs (see ``forward``)."""
        if beta is None:
            beta = float(_DEFAULT_BETA[self.mode] if self.beta is None else self.beta)
        log_p = logits.log_softmax(dim=1)
        label_term = -gather_target(log_p, target)
        if prediction is not None:
            prediction = prediction.detach()
            if self.mode == "hard":
                prediction_term = -gather_target(log_p, prediction.argmax(dim=1))
            else:
                prediction_term = -(prediction * log_p).sum(dim=1)
        elif self.mode == "hard":
            prediction_term = -gather_target(log_p, logits.argmax(dim=1))
        else:
            p = log_p.exp()
            if self.detach:
                p = p.detach()
            # p * log p -> 0 as p -> 0 and log_p stays finite, so no 0 * inf here.
            prediction_term = -(p * log_p).sum(dim=1)
        return beta * label_term + (1.0 - beta) * prediction_term
