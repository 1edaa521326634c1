"""Knowledge-distillation loss: cross entropy plus temperature-scaled KL to a teacher."""

from __future__ import annotations

from numbers import Real

import torch

from .._core._validation import Interval
from ._base import BaseLoss, check_logits_target, gather_target

__all__ = ["DistillationLoss"]


class DistillationLoss(BaseLoss):
    """Knowledge-distillation loss of Hinton et al.

    For student logits ``z_s``, label ``y``, temperature ``T`` and softened teacher
    distribution ``t``, per sample::

        loss = (1 - alpha) * CE(z_s, y) + alpha * T**2 * KL(t || softmax(z_s / T))
        KL(t || s) = sum_k t_k * (log t_k - log s_k)          (summed over classes)

    The teacher is given either as logits, ``t = softmax(teacher_logits / T)``, or as
    probabilities (e.g. a scikit-learn model's ``predict_proba``), ``t = p**(1/T) / sum_k
    p_k**(1/T)``, which is the same distribution when ``p = softmax(teacher_logits)``.

    Parameters
    ----------
    alpha : float, default=0.5
        Weight of the distillation term, in ``[0, 1]``; 0 is plain cross entropy on ``y``,
        1 ignores the labels. 0.5 weighs the two equally.
    temperature : float, default=4.0
        Softening temperature ``T > 0``. Hinton et al. found temperatures of about 2.5 to 4
        best for small students (sknoisy's default nets are small).
    reduction : {'none', 'mean', 'sum'}, default='mean'
        ``'none'`` returns shape (N,); ``'mean'`` averages over samples (the KL term is then
        torch's ``'batchmean'``, never a mean over ``N * C`` elements); ``'sum'`` adds them.

    See Also
    --------
    LabelSmoothingLoss : distillation from a uniform "teacher".

    Notes
    -----
    The ``T**2`` factor keeps the soft term's gradient on the same scale as the hard term's
    when ``T`` changes (soft gradients shrink as ``1 / T**2``). The teacher is a constant: its
    tensors are detached. Teacher probabilities are renormalised after the ``1/T`` power, so
    rows need not sum exactly to 1, but they must be finite, non-negative and not all zero.
    Zero teacher probabilities are handled exactly (``0 * log 0 = 0``).

    References
    ----------
    .. [1] G. Hinton, O. Vinyals and J. Dean, "Distilling the Knowledge in a Neural
       Network", NeurIPS 2014 Deep Learning Workshop, arXiv:1503.02531.
    .. [2] L. Yuan, F. E. H. Tay, G. Li, T. Wang and J. Feng, "Revisiting Knowledge
       Distillation via Label Smoothing Regularization", CVPR 2020.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import DistillationLoss
    >>> student = torch.tensor([[0.0, 0.0]])
    >>> target = torch.tensor([0])
    >>> loss = DistillationLoss(alpha=1.0, temperature=2.0)
    >>> loss(student, target, teacher_probs=torch.tensor([[0.5, 0.5]]))  # same distribution
    tensor(0.)
    >>> loss(student, target, teacher_logits=torch.tensor([[2.0, 0.0]]))  # 4 * KL
    tensor(0.4438)
    """

    _parameter_constraints: dict = {
        **BaseLoss._parameter_constraints,
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, *, alpha: float = 0.5, temperature: float = 4.0,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.alpha = alpha
        self.temperature = temperature
        self._check_params()

    def forward(self, student_logits: torch.Tensor, target: torch.Tensor, *,
                teacher_logits: torch.Tensor | None = None,
                teacher_probs: torch.Tensor | None = None) -> torch.Tensor:
        """Compute the loss; give exactly one of ``teacher_logits`` and ``teacher_probs``.

        Parameters
        ----------
        student_logits : torch.Tensor of shape (N, C)
            The student's unnormalised class scores.
        target : torch.Tensor of shape (N,)
            Class indices in ``[0, C)``.
        teacher_logits : torch.Tensor of shape (N, C) or None, default=None
            The teacher's unnormalised class scores.
        teacher_probs : torch.Tensor of shape (N, C) or None, default=None
            The teacher's class probabilities.

        Returns
        -------
        torch.Tensor
            Shape (N,) if ``reduction='none'``, else a 0-dim tensor.
        """
        name = type(self).__name__
        student_logits, target = check_logits_target(student_logits, target, name)
        temperature = float(self.temperature)
        alpha = float(self.alpha)
        teacher_log_t = teacher_log_distribution(
            name, student_logits, teacher_logits, teacher_probs, temperature)
        ce = -gather_target(student_logits.log_softmax(dim=1), target)
        student_log_s = (student_logits / temperature).log_softmax(dim=1)
        teacher_t = teacher_log_t.exp()
        # xlogy gives 0 * log 0 = 0 where the teacher puts no mass (teacher_log_t = -inf).
        kl = (torch.xlogy(teacher_t, teacher_t) - teacher_t * student_log_s).sum(dim=1)
        values = (1.0 - alpha) * ce + (alpha * temperature ** 2) * kl
        return self._reduce(values)


def teacher_log_distribution(name: str, student_logits: torch.Tensor,
                             teacher_logits: torch.Tensor | None,
                             teacher_probs: torch.Tensor | None,
                             temperature: float) -> torch.Tensor:
    """The teacher's log-distribution at ``temperature``, checked against the student's.

    Exactly one of ``teacher_logits`` (``log_softmax(z_t / T)``) and ``teacher_probs``
    (``log`` of ``p**(1/T)`` renormalised) is given; the result is detached, on the
    student's device and dtype. ``name`` goes into error messages.
    """
    if (teacher_logits is None) == (teacher_probs is None):
        raise ValueError(f"{name}: pass exactly one of teacher_logits and teacher_probs "
                         "(as keyword arguments).")
    kind, teacher = (("teacher_logits", teacher_logits) if teacher_probs is None
                     else ("teacher_probs", teacher_probs))
    if not isinstance(teacher, torch.Tensor) or not teacher.is_floating_point():
        got = teacher.dtype if isinstance(teacher, torch.Tensor) else type(teacher).__name__
        raise TypeError(f"{name}: {kind} must be a floating torch tensor; got {got}.")
    if teacher.shape != student_logits.shape:
        raise ValueError(f"{name}: {kind} must have the student's shape "
                         f"{tuple(student_logits.shape)}; got {tuple(teacher.shape)}.")
    teacher = teacher.detach().to(device=student_logits.device, dtype=student_logits.dtype)
    if teacher_probs is None:
        return (teacher / temperature).log_softmax(dim=1)
    invalid = (~torch.isfinite(teacher)).any() | (teacher < 0).any() \
        | (teacher.sum(dim=1) <= 0).any()
    if not teacher.is_meta and bool(invalid):
        raise ValueError(f"{name}: teacher_probs must be finite and non-negative with a "
                         "positive sum in every row; got a row that is not.")
    # softmax(log p / T) is p**(1/T) renormalised, computed without forming p**(1/T).
    return (teacher.log() / temperature).log_softmax(dim=1)
