"""DropMax (Lee et al., 2018): a softmax that drops non-target classes with learned rates."""

from __future__ import annotations

import math
from numbers import Real

import torch
import torch.nn.functional as F

from .._core._validation import Interval
from ..modules._dropmax import DROPMAX_EPS
from ._base import BaseLoss, check_generator, check_logits_target, draw_device

__all__ = ["DropMaxLoss"]

_LOG_EPS = math.log(DROPMAX_EPS)


class DropMaxLoss(BaseLoss):
    """DropMax: cross entropy under random, learned masks over the non-target classes.

    DropMax puts a binary mask ``z_k`` on each class of the softmax,
    ``p(y | x, z) = z_y exp(o_y) / sum_k z_k exp(o_k)``, with the target class always
    kept (``z_y = 1``) and the other classes kept with input-dependent probabilities
    ``rho_k(x)``; each step trains on a different random subset of competing classes,
    and the prediction uses the expected mask ``E[z] = rho``. It needs the four outputs
    of :class:`sknoisy.modules.DropMaxNet` (or a network ending in
    :class:`~sknoisy.modules.DropMaxHead`): the prediction logits, the class logits
    ``o``, the retain logits (``rho = sigmoid``) and the auxiliary logits ``a``.

    In training mode, as in the paper's variational objective and its reference code,
    the masks are drawn from the approximate posterior ``q_k = sigmoid(sg(logit rho_k)
    + a_k)`` (``sg``: no gradient), relaxed (Concrete, temperature ``tau``) so that
    gradients reach ``a``, with ``u_k ~ U(0, 1)``::

        z_k   = sigmoid((logit q_k + log u_k - log(1 - u_k)) / tau),   z_y = 1
        CE    = -log[(z_y + eps) exp(o_y) / sum_k (z_k + eps) exp(o_k)]
        KL    = -log rho_y + sum_{k != y} KL(Bernoulli(q_k) || Bernoulli(rho_k))
        AUX   = -log sigmoid(a_y) - sum_{k != y} log(1 - sigmoid(a_k))
        NEGH  = sum_k [rho_k log rho_k + (1 - rho_k) log(1 - rho_k)]
        loss  = CE + kl_weight * KL + aux_weight * AUX + entropy_weight * NEGH

    ``KL`` pulls the retain probabilities (the only ones known at test time) towards
    the posterior and keeps the target's ``rho_y`` near 1; ``AUX`` trains ``a`` to
    recognise the label, so ``q`` keeps the classes the network confuses with it;
    ``NEGH`` (minus the entropy of ``rho``) keeps the retain probabilities away from
    0 and 1. ``eps = 1e-20``. In evaluation mode the loss is the cross entropy of the
    expected-mask prediction, ``-log softmax(o + log(rho + eps))_y``: what the network
    predicts.

    Parameters
    ----------
    kl_weight : float, default=1.0
        Weight of ``KL``, ``>= 0``. The reference code uses 1.
    aux_weight : float, default=1.0
        Weight of ``AUX``, ``>= 0``. The reference code uses 1.
    entropy_weight : float, default=1.0
        Weight of ``NEGH``, ``>= 0``. The reference code uses 1.
    temperature : float, default=0.1
        ``tau`` of the relaxed Bernoulli masks, ``> 0``; near 0 the masks are nearly
        binary. The reference code uses 0.1.
    reduction : {'none', 'mean', 'sum'}, default='mean'
        ``'none'`` returns shape (N,); ``'mean'`` / ``'sum'`` average or add over samples.

    See Also
    --------
    sknoisy.modules.DropMaxNet : the network whose outputs this criterion reads.
    LabelSmoothingLoss, DisturbLabelLoss : other regularisers of the softmax target.

    Notes
    -----
    DropMax is a regulariser of the softmax (an ensemble of classifiers over random
    subsets of the classes, focused on the confusing ones), not a model of label noise;
    it sits among the label-regularisation methods. Cost: three linear branches instead
    of one on the last layer and a few element-wise operations per class in the loss.
    Masks are drawn with ``torch.rand`` in float32 (from ``generator`` when one is
    given), so a seed gives the same masks in any dtype; through
    :class:`~sknoisy.NoisyNetClassifier` the fit's ``random_state`` seeds them. With
    ``mixup_alpha`` each of the two scorings of a mixed batch draws its own masks.

    References
    ----------
    .. [1] H. B. Lee, J. Lee, S. Kim, E. Yang and S. J. Hwang, "DropMax: Adaptive
       Variational Softmax", NeurIPS 2018.

    Examples
    --------
    The criterion on a DropMax network's outputs; evaluation mode scores the
    expected-mask prediction:

    >>> import torch
    >>> from sknoisy.losses import DropMaxLoss
    >>> from sknoisy.modules import DropMaxNet
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = DropMaxNet(n_features=4, n_classes=3, hidden_sizes=(8,))
    >>> output = net(torch.randn(5, 4))
    >>> target = torch.tensor([0, 1, 2, 0, 1])
    >>> loss = DropMaxLoss()
    >>> loss(output, target, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([])
    >>> expected = torch.nn.functional.cross_entropy(output[0], target)
    >>> bool(torch.isclose(loss.eval()(output, target), expected))
    True

    Through the training core, which predicts with the expected mask:

    >>> from sklearn.datasets import load_iris
    >>> from sknoisy import NoisyNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NoisyNetClassifier(module=DropMaxNet, criterion=DropMaxLoss,
    ...                          module__hidden_sizes=(16,), max_epochs=20, lr=1e-2,
    ...                          random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    >>> bool(clf.score(X, y) > 0.8)
    True
    """

    _parameter_constraints: dict = {
        **BaseLoss._parameter_constraints,
        "kl_weight": [Interval(Real, 0, None, closed="left")],
        "aux_weight": [Interval(Real, 0, None, closed="left")],
        "entropy_weight": [Interval(Real, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, *, kl_weight: float = 1.0, aux_weight: float = 1.0,
                 entropy_weight: float = 1.0, temperature: float = 0.1,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.kl_weight = kl_weight
        self.aux_weight = aux_weight
        self.entropy_weight = entropy_weight
        self.temperature = temperature
        self._check_params()

    def forward(self, output: tuple[torch.Tensor, ...], target: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Compute the loss, drawing fresh masks in training mode.

        Parameters
        ----------
        output : tuple of 4 torch.Tensor of shape (N, C)
            ``(prediction_logits, class_logits, retain_logits, aux_logits)``, as
            returned by :class:`~sknoisy.modules.DropMaxNet`.
        target : torch.Tensor of shape (N,)
            Class indices in ``[0, C)``.
        generator : torch.Generator or None, default=None
            Source of the mask draws; ``None`` uses torch's default generator.

        Returns
        -------
        torch.Tensor
            Shape (N,) if ``reduction='none'``, else a 0-dim tensor.
        """
        name = type(self).__name__
        check_generator(generator, name)
        (prediction, class_logits, retain_logits, aux_logits), target = _check_output(
            output, target, name)
        if not self.training:
            return self._reduce(F.cross_entropy(prediction, target, reduction="none"))
        return self._reduce(self._training_loss(class_logits, retain_logits, aux_logits,
                                                target, generator))

    def _training_loss(self, class_logits, retain_logits, aux_logits, target, generator):
        is_target = F.one_hot(target, class_logits.shape[1]).bool()
        # The approximate posterior's logits: the retain logits are a constant here, so
        # the mask samples train only the auxiliary branch (the reference's stop_gradient).
        posterior_logits = retain_logits.detach() + aux_logits
        where = draw_device(generator, class_logits.device)
        # Drawn in float32 whatever the logits' dtype, so a seed gives the same masks in
        # float32 and float64.
        u = torch.rand(class_logits.shape, generator=generator, device=where).to(
            device=class_logits.device, dtype=class_logits.dtype)
        tiny = torch.finfo(class_logits.dtype).tiny
        u = u.clamp(tiny, 1.0 - torch.finfo(class_logits.dtype).eps)
        noise = torch.log(u) - torch.log1p(-u)
        log_z = F.logsigmoid((posterior_logits + noise) / float(self.temperature))
        log_z = torch.where(is_target, torch.zeros_like(log_z), log_z)
        # log(z + eps) in log space, so a dropped class (z -> 0) stays finite.
        log_mask = torch.logaddexp(log_z, torch.full_like(log_z, _LOG_EPS))
        ce = F.cross_entropy(class_logits + log_mask, target, reduction="none")
        loss = ce
        log_rho, log_not_rho = F.logsigmoid(retain_logits), F.logsigmoid(-retain_logits)
        if self.kl_weight:
            q = torch.sigmoid(posterior_logits)
            log_q, log_not_q = F.logsigmoid(posterior_logits), F.logsigmoid(-posterior_logits)
            bernoulli_kl = q * (log_q - log_rho) + (1.0 - q) * (log_not_q - log_not_rho)
            kl = torch.where(is_target, -log_rho, bernoulli_kl).sum(dim=1)
            loss = loss + float(self.kl_weight) * kl
        if self.aux_weight:
            aux = F.binary_cross_entropy_with_logits(aux_logits, is_target.to(aux_logits.dtype),
                                                     reduction="none").sum(dim=1)
            loss = loss + float(self.aux_weight) * aux
        if self.entropy_weight:
            rho = torch.sigmoid(retain_logits)
            negative_entropy = (rho * log_rho + (1.0 - rho) * log_not_rho).sum(dim=1)
            loss = loss + float(self.entropy_weight) * negative_entropy
        return loss


def _check_output(output, target, name: str) -> tuple:
    """The four DropMax outputs, checked, with the checked target.

    The prediction logits get the shared checks of every criterion (so the messages
    are the usual ones); the other three must be floating tensors of their shape.
    """
    if not (isinstance(output, (tuple, list)) and len(output) == 4):
        got = (f"a tuple of {len(output)}" if isinstance(output, (tuple, list))
               else type(output).__name__)
        raise TypeError(
            f"{name} needs the four outputs of a DropMax network (prediction, class, "
            f"retain and auxiliary logits); got {got}. Train with "
            "module=sknoisy.modules.DropMaxNet, or end your network with a DropMaxHead.")
    prediction, target = check_logits_target(output[0], target, name)
    others = output[1:]
    if not all(isinstance(part, torch.Tensor) and part.is_floating_point()
               for part in others):
        raise TypeError(f"{name}: the four DropMax outputs must be floating tensors; got "
                        f"{[getattr(part, 'dtype', type(part).__name__) for part in output]}.")
    shapes = [tuple(part.shape) for part in output]
    if len(set(shapes)) != 1:
        raise ValueError(f"{name}: the four DropMax outputs must share one shape (N, C); "
                         f"got shapes {shapes}.")
    # The same upcast from half precision as the prediction's.
    return (prediction, *(part.to(prediction.dtype) for part in others)), target
