"""Determinant-based mutual information loss (L_DMI), a batch-level criterion."""

from __future__ import annotations

from numbers import Real

import torch
import torch.nn.functional as F
from torch import nn

from .._core._validation import Interval, check_params
from ._base import check_logits_target

__all__ = ["DMILoss"]


class DMILoss(nn.Module):
    """Determinant-based mutual information loss.

    For a batch of ``N`` samples with labels ``y`` and softmax outputs ``p`` over ``C``
    classes, let ``U = onehot(y)^T p / N`` (a ``C x C`` estimate of the joint distribution of
    given label and prediction). The paper's loss is ``-log |det U|``; sknoisy computes::

        loss = -log |det(C * U)| = -log |det U| - C * log C

    from the singular values of ``C * U`` (``log |det M| = sum_i log sigma_i``), with every
    singular value below ``eps`` raised to ``eps``.

    Parameters
    ----------
    eps : float, default=1e-6
        Floor for the singular values of ``C * U``, in ``(0, 1)``. It only matters when ``U``
        is (nearly) singular, e.g. when a class is absent from the batch: the loss is then
        finite (at most ``-C * log(eps)``) and its gradient finite (the clamped directions get
        none) instead of ``inf`` / ``NaN``.

    See Also
    --------
    GCELoss, SCELoss : per-sample robust losses.

    Notes
    -----
    **Always a scalar.** DMI is defined on the whole batch (through one determinant), so it
    has no per-sample form and this class takes no ``reduction`` argument: ``forward``
    returns a 0-dim tensor. The sknoisy classifiers pass ``reduction='none'`` only to
    criteria whose constructor accepts it, so they use this loss as a batch loss (no
    per-sample weights or sample selection).

    **Scale.** ``det U`` is of order ``C ** -C`` (about ``1e-10`` for ``C = 10``) even for a
    perfect classifier, which makes the ``log(|det U| + eps)`` of the reference code depend
    on ``C`` and the batch size. Multiplying ``U`` by ``C`` only shifts the loss by the
    constant ``C * log C`` (gradients unchanged) and puts it on a readable scale: for any
    batch ``0 <= |det(C U)| <= 1``, so ``loss >= 0`` with 0 reached by confident, correct
    predictions on a class-balanced batch. Going through singular values rather than ``det``
    avoids both underflow for large ``C`` and the infinite gradient of ``log |det|`` at
    singular matrices.

    **Use.** At a uniform prediction ``U`` has rank one, so the loss is flat there; as in the
    paper, start from a model pre-trained with cross entropy and use batches well larger than
    ``C`` so that every class appears. DMI measures information, not agreement: relabelling
    the classes by any permutation leaves ``|det U|`` unchanged (see the example), which is
    another reason to start from a CE-trained model.

    References
    ----------
    .. [1] Y. Xu, P. Cao, Y. Kong and Y. Wang, "L_DMI: A Novel Information-theoretic Loss
       Function for Training Deep Nets Robust to Label Noise", NeurIPS 2019.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import DMILoss
    >>> logits = torch.tensor([[9.0, 0.0], [0.0, 9.0], [9.0, 0.0], [0.0, 9.0]])
    >>> target = torch.tensor([0, 1, 0, 1])
    >>> DMILoss()(logits, target)  # confident, correct and balanced: close to 0
    tensor(0.0002)
    >>> DMILoss()(logits, torch.tensor([1, 0, 1, 0]))  # classes swapped: same |det U|
    tensor(0.0002)
    """

    _parameter_constraints: dict = {"eps": [Interval(Real, 0, 1, closed="neither")]}

    def __init__(self, *, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        check_params(self)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Compute the batch loss.

        Parameters
        ----------
        logits : torch.Tensor of shape (N, C)
            Unnormalised class scores, N >= 1.
        target : torch.Tensor of shape (N,)
            Class indices in ``[0, C)``.

        Returns
        -------
        torch.Tensor
            A 0-dim tensor.
        """
        logits, target = check_logits_target(logits, target, type(self).__name__)
        n_samples, n_classes = logits.shape
        if n_samples == 0:
            raise ValueError("DMILoss: the batch is empty; the joint matrix U needs at least "
                             "one sample.")
        probs = logits.softmax(dim=1)
        onehot = F.one_hot(target, n_classes).to(probs.dtype)
        # Dense matmul rather than index_add: deterministic on CUDA, and C x C is small.
        scaled_joint = (onehot.T @ probs) * (n_classes / n_samples)
        singular_values = torch.linalg.svdvals(scaled_joint)
        return -torch.log(singular_values.clamp(min=float(self.eps))).sum()

    def extra_repr(self) -> str:
        return f"eps={self.eps!r}"
