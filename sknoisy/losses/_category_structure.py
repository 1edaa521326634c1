"""Category-structure distillation: intra- and inter-class relations of class centroids."""

from __future__ import annotations

from numbers import Real

import torch
import torch.nn.functional as F
from torch import nn

from .._core._validation import Interval, check_params
from ._base import check_logits_target
from ._distillation import teacher_log_distribution

__all__ = ["CategoryStructureLoss"]


class CategoryStructureLoss(nn.Module):
    """Category-structure relation loss between a student and a teacher (a batch loss).

    Within a batch, let ``g_i`` be a model's softened class distribution for row ``i``
    (student: ``softmax(z_i / T)``; teacher: its probabilities tempered like
    :class:`DistillationLoss`'s, ``p**(1/T)`` renormalised) and ``c_k`` the mean of
    ``g_i`` over the batch's rows labelled ``k`` (the category centroid). The two
    category structures are::

        intra-category:  u_i  = g_i - c_{y_i}        (each row relative to its class)
        inter-category:  v_jk = c_j - c_k             (class centroids relative to each
                                                        other, classes j < k in the batch)

    and the loss matches the student's structures to the teacher's::

        L_intra = mean_i      || u_i(student)  - u_i(teacher)  ||^2
        L_inter = mean_{j<k}  || v_jk(student) - v_jk(teacher) ||^2
        loss    = T**2 * (intra_weight * L_intra + inter_weight * L_inter)

    Parameters
    ----------
    intra_weight : float, default=1.0
        Weight of the intra-category term, ``>= 0``.
    inter_weight : float, default=1.0
        Weight of the inter-category term, ``>= 0``.
    temperature : float, default=4.0
        Softening temperature ``T > 0`` of both distributions (the default of
        :class:`DistillationLoss`).

    See Also
    --------
    DistillationLoss : the per-sample KD loss this is added to.
    sknoisy.classifiers.DistilledStudentClassifier : ``category_structure=w`` adds
        ``w`` times this loss to each training batch.

    Notes
    -----
    Chen et al. define the structures on the networks' feature embeddings. A sknoisy
    teacher may be any scikit-learn classifier with only ``predict_proba``, so here both
    structures live in the space of softened class distributions, the same space for
    student and teacher: relation vectors are compared directly, without the
    normalisation or projection that embeddings of different sizes would need. At high
    ``T``, ``softmax(z / T)`` is about ``(1 + (z - mean(z)) / T) / C``, so the squared
    differences shrink as ``1 / T**2``; the ``T**2`` factor keeps the loss's scale (and
    gradient) comparable across temperatures, as it does for the KD term. Classes with a
    single row in the batch contribute nothing to ``L_intra``; a batch with one class
    has ``L_inter = 0``. Centroids are taken over the given labels, noisy or not. The
    teacher's tensors are detached. Returns one value per batch: no ``reduction`` and no
    per-sample weights.

    References
    ----------
    .. [1] Z. Chen, X. Zheng, H. Shen, Z. Zeng, Y. Zhou and R. Zhao, "Improving
       Knowledge Distillation via Category Structure", ECCV 2020.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import CategoryStructureLoss
    >>> teacher = torch.tensor([[2.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    >>> target = torch.tensor([0, 0, 1])
    >>> loss = CategoryStructureLoss(temperature=1.0)
    >>> loss(teacher, target, teacher_logits=teacher)  # same outputs: same structure
    tensor(0.)
    >>> loss(teacher + torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 1.0]]), target,
    ...      teacher_logits=teacher)  # class 1's centroid moved: inter-category term
    tensor(0.0103)
    """

    _parameter_constraints: dict = {
        "intra_weight": [Interval(Real, 0, None, closed="left")],
        "inter_weight": [Interval(Real, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, *, intra_weight: float = 1.0, inter_weight: float = 1.0,
                 temperature: float = 4.0) -> None:
        super().__init__()
        self.intra_weight = intra_weight
        self.inter_weight = inter_weight
        self.temperature = temperature
        check_params(self)

    def forward(self, student_logits: torch.Tensor, target: torch.Tensor, *,
                teacher_logits: torch.Tensor | None = None,
                teacher_probs: torch.Tensor | None = None) -> torch.Tensor:
        """Compute the batch loss; give exactly one of ``teacher_logits`` and ``teacher_probs``.

        Parameters
        ----------
        student_logits : torch.Tensor of shape (N, C)
            The student's unnormalised class scores, N >= 1.
        target : torch.Tensor of shape (N,)
            Class indices in ``[0, C)``: the labels that define the categories.
        teacher_logits : torch.Tensor of shape (N, C) or None, default=None
            The teacher's unnormalised class scores.
        teacher_probs : torch.Tensor of shape (N, C) or None, default=None
            The teacher's class probabilities.

        Returns
        -------
        torch.Tensor
            A 0-dim tensor.
        """
        name = type(self).__name__
        student_logits, target = check_logits_target(student_logits, target, name)
        n_samples, n_classes = student_logits.shape
        if n_samples == 0:
            raise ValueError(f"{name}: the batch is empty; class centroids need at least "
                             "one sample.")
        temperature = float(self.temperature)
        teacher_t = teacher_log_distribution(name, student_logits, teacher_logits,
                                             teacher_probs, temperature).exp()
        student_s = (student_logits / temperature).softmax(dim=1)
        onehot = F.one_hot(target, n_classes).to(student_s.dtype)
        counts = onehot.sum(dim=0)
        # Both structures depend on student and teacher only through their difference:
        # u_s - u_t = (g_s - g_t) - (c_s - c_t)[y], v_s - v_t = d_j - d_k.
        gap = student_s - teacher_t
        centroid_gap = (onehot.T @ gap) / counts.clamp(min=1.0).unsqueeze(1)
        intra = ((gap - centroid_gap[target]) ** 2).sum(dim=1).mean()
        present = counts > 0
        pairs = (present.unsqueeze(0) & present.unsqueeze(1)).triu(diagonal=1)
        pair_dist = ((centroid_gap.unsqueeze(1) - centroid_gap.unsqueeze(0)) ** 2).sum(dim=2)
        inter = (pair_dist * pairs).sum() / pairs.sum().clamp(min=1)
        return temperature ** 2 * (float(self.intra_weight) * intra
                                   + float(self.inter_weight) * inter)

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self._parameter_constraints)
