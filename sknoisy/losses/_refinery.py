"""Knowledge Refinery: learning from a decoupled label with learned class relations."""

from __future__ import annotations

from numbers import Integral, Real

import torch
from torch import nn

from .._core._validation import Interval
from ._base import BaseLoss, gather_target

__all__ = ["KnowledgeRefineryLoss"]


def non_target_columns(target: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Column indices of the ``C - 1`` non-target classes of every row, in order.

    Row ``i`` holds ``0 .. C-1`` without ``target[i]``: column ``j`` is ``j`` below the
    target and ``j + 1`` from it on. Pure arithmetic (no boolean indexing), so the
    shape is known without reading values (meta tensors, no host sync).

    Examples
    --------
    >>> import torch
    >>> non_target_columns(torch.tensor([0, 2]), 3)
    tensor([[1, 2],
            [0, 1]])
    """
    columns = torch.arange(n_classes - 1, device=target.device)
    return columns + (columns.unsqueeze(0) >= target.unsqueeze(1)).long()


class KnowledgeRefineryLoss(BaseLoss):
    """Knowledge Refinery (KR): cross entropy plus a learned non-target label.

    The label of a sample is decoupled into its target part (the given class) and a
    residual part, a distribution over the ``C - 1`` other classes that encodes how the
    classes relate. The residual labels come from a learnable ``C x C`` matrix ``S``
    (``residual_relations``), initialised at zero, so the first residual labels are
    uniform, and learned jointly with the network: no pre-trained teacher. For logits
    ``z``, label ``y`` and ``z_res``, ``S_res`` the entries of ``z`` and of row ``y`` of
    ``S`` without column ``y``::

        p_res = softmax(z_res)                 (the network's non-target distribution)
        q_res = softmax(S_res)                 (the residual label of class y)
        loss  = CE_eps(z, y) + alpha * KL(p_res || q_res)

    with ``CE_eps`` cross entropy against ``(1 - epsilon) * onehot(y) + epsilon / C``
    (plain cross entropy for ``epsilon=0``, the paper's hard label). As in the paper's
    algorithm the two parts have their own gradients: the network gets those of
    ``CE_eps + alpha * KL(p_res || q_res)`` (``q_res`` held constant) and the matrix
    those of ``alpha * KL(q_res || p_res)`` (``p_res`` held constant), so each row of
    ``S`` follows the average non-target prediction of its class while the network is
    pulled towards it. The returned value is the first expression.

    Parameters
    ----------
    alpha : float, default=1.0
        Weight of the residual term, ``>= 0``; 0 is cross entropy (``CE_eps``). Our
        default; the paper tunes it per task.
    epsilon : float, default=0.0
        Label smoothing of the target part, in ``[0, 1)``; 0 keeps the hard label.
    num_classes : int or None, default=None
        Size of the relation matrix. ``None`` sizes it from the logits: sknoisy's
        classifiers create it when the network is initialised, before the optimizer is
        built; on its own the matrix is created at the first call, so build your
        optimizer after that call or give ``num_classes``.
    reduction : {'none', 'mean', 'sum'}, default='mean'
        ``'none'`` returns shape (N,); ``'mean'`` / ``'sum'`` average or add over samples.

    Attributes
    ----------
    residual_relations : torch.nn.Parameter of shape (num_classes, num_classes) or None
        The learnable matrix ``S`` (its diagonal is never used); ``None`` until sized.
        A registered parameter: skorch's optimizer trains it with the network's
        weights (``NoisyNetClassifier`` builds the optimizer from
        ``get_all_learnable_params``, which includes the criterion's parameters).

    See Also
    --------
    LabelSmoothingLoss : a fixed, uniform non-target label.
    ClassRelationSmoothingLoss : a fixed, user-given or estimated non-target label.
    DistillationLoss : a non-target label from a pre-trained teacher.

    Notes
    -----
    The residual term never changes the predicted probability of the given class:
    ``p_res`` is invariant to the target logit. It shapes how the remaining mass is
    spread, towards the class relations the network itself finds on average. The paper
    trains network and matrix by SGD with the same learning rate (the matrix's step
    scaled by ``alpha``); here they share the classifier's optimizer, weight decay
    included. :meth:`relation_matrix` returns the current residual labels. During the
    classifier's ``warmup_epochs`` the criterion is not called and the matrix stays at
    zero. Early stopping restores the network's weights, not the matrix.

    References
    ----------
    .. [1] Q. Ding, S. Wu, T. Dai, H. Sun, J. Guo, Z.-H. Fu and S. Xia, "Knowledge
       Refinery: Learning from Decoupled Label", AAAI 2021.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import KnowledgeRefineryLoss
    >>> kr = KnowledgeRefineryLoss(num_classes=3, reduction="none")
    >>> kr.relation_matrix()  # zero relations: uniform residual labels
    tensor([[0.0000, 0.5000, 0.5000],
            [0.5000, 0.0000, 0.5000],
            [0.5000, 0.5000, 0.0000]])
    >>> logits, target = torch.tensor([[2.0, 1.0, 0.0]]), torch.tensor([0])
    >>> kr(logits, target)  # CE 0.4076 + KL(softmax([1, 0]) || [0.5, 0.5]) 0.1109
    tensor([0.5186], grad_fn=<AddBackward0>)

    Through the core, which sizes the matrix before building the optimizer:

    >>> from sklearn.datasets import load_iris
    >>> from sknoisy import NoisyNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NoisyNetClassifier(criterion=KnowledgeRefineryLoss, max_epochs=5, lr=1e-2,
    ...                          random_state=0).fit(X, y)
    >>> bool(clf.criterion_.residual_relations.abs().max() > 0)  # learned, no longer zero
    True
    """

    _parameter_constraints: dict = {
        **BaseLoss._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "epsilon": [Interval(Real, 0, 1, closed="left")],
        "num_classes": [None, Interval(Integral, 2, None, closed="left")],
    }

    def __init__(self, *, alpha: float = 1.0, epsilon: float = 0.0,
                 num_classes: int | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.alpha = alpha
        self.epsilon = epsilon
        self.num_classes = num_classes
        self._check_params()
        self.register_parameter("residual_relations", None)
        if num_classes is not None:
            self.prepare_classes(int(num_classes))

    def prepare_classes(self, n_classes: int,
                        device: torch.device | str | None = None) -> None:
        """Create a zero relation matrix for ``n_classes`` classes.

        sknoisy's classifiers call this when they initialise the network, before the
        optimizer is built, so a fresh fit starts from uniform residual labels; a warm
        start does not initialise, so it keeps the learned matrix.

        Parameters
        ----------
        n_classes : int
            Number of classes (columns of the logits), at least 2.
        device : torch.device, str or None, default=None
            Where to create the matrix; ``None`` keeps the current matrix's device (the
            CPU for a new one). skorch moves the criterion to the training device after
            initialising it.

        Examples
        --------
        >>> kr = KnowledgeRefineryLoss()
        >>> kr.prepare_classes(4)
        >>> kr.residual_relations.shape
        torch.Size([4, 4])
        """
        name = type(self).__name__
        n_classes = int(n_classes)
        if n_classes < 2:
            raise ValueError(f"{name}: the residual label needs at least 2 classes; got "
                             f"{n_classes}.")
        if self.num_classes is not None and int(self.num_classes) != n_classes:
            raise ValueError(f"{name}: num_classes={self.num_classes} but the data have "
                             f"{n_classes} classes; leave num_classes=None to size the "
                             "matrix from the data.")
        current = self.residual_relations
        if device is None and current is not None:
            device = current.device
        self.residual_relations = nn.Parameter(torch.zeros(n_classes, n_classes,
                                                           device=device))

    def relation_matrix(self) -> torch.Tensor:
        """The current residual labels: row ``k`` is ``softmax`` of row ``k`` of ``S``
        over the classes other than ``k``, with 0 on the diagonal.

        Returns
        -------
        torch.Tensor of shape (num_classes, num_classes)
            Detached; every row sums to 1.

        Examples
        --------
        >>> KnowledgeRefineryLoss(num_classes=2).relation_matrix()
        tensor([[0., 1.],
                [1., 0.]])
        """
        if self.residual_relations is None:
            raise ValueError(f"{type(self).__name__} has no relation matrix yet: give "
                             "num_classes, call it once, or fit a classifier with it.")
        relations = self.residual_relations.detach()
        diagonal = torch.eye(len(relations), dtype=torch.bool, device=relations.device)
        return relations.masked_fill(diagonal, float("-inf")).softmax(dim=1)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """One loss value per sample, for validated inputs (see ``BaseLoss.forward``)."""
        name = type(self).__name__
        n_classes = logits.shape[1]
        if n_classes < 2:
            raise ValueError(f"{name}: the residual label needs at least 2 classes; got "
                             f"logits with {n_classes} column(s).")
        if self.residual_relations is None:
            self.prepare_classes(n_classes, device=logits.device)
        relations = self.residual_relations
        if relations.shape != (n_classes, n_classes):
            raise ValueError(f"{name}: the relation matrix is {tuple(relations.shape)} but "
                             f"the logits have {n_classes} columns.")
        eps, alpha = float(self.epsilon), float(self.alpha)
        log_p = logits.log_softmax(dim=1)
        hard = -((1.0 - eps) * gather_target(log_p, target)
                 + (eps / n_classes) * log_p.sum(dim=1))
        # The non-target entries of the logits and of each row's relations, (N, C - 1).
        others = non_target_columns(target, n_classes)
        log_p_res = logits.gather(1, others).log_softmax(dim=1)
        rows = relations.to(device=logits.device, dtype=logits.dtype)[target]
        log_q_res = rows.gather(1, others).log_softmax(dim=1)
        p_res, q_res = log_p_res.exp(), log_q_res.exp()
        # Network: KL(p_res || q_res) with the residual label constant.
        residual = (p_res * (log_p_res - log_q_res.detach())).sum(dim=1)
        # Matrix: KL(q_res || p_res) with the prediction constant. Added as
        # (u - u.detach()), it contributes its gradient and nothing to the value.
        update = (q_res * (log_q_res - log_p_res.detach())).sum(dim=1)
        return hard + alpha * residual + alpha * (update - update.detach())
