"""DropMax's output head: class logits, retain logits and auxiliary logits in one pass."""

from __future__ import annotations

import copy
import inspect
import math

import torch
import torch.nn.functional as F
from torch import nn

from ._mlp import MLP

__all__ = ["DROPMAX_EPS", "DropMaxHead", "DropMaxNet", "expected_mask_logits"]

#: The constant added to every mask value, ``(z_k + eps) * exp(o_k)``: it keeps a dropped
#: class's term finite in log space. DropMax's reference code uses 1e-20.
DROPMAX_EPS = 1e-20
_LOG_EPS = math.log(DROPMAX_EPS)


def expected_mask_logits(class_logits: torch.Tensor,
                         retain_logits: torch.Tensor) -> torch.Tensor:
    """Logits whose softmax is DropMax's prediction with the expected mask.

    ``o_k + log(rho_k + eps)`` with ``rho = sigmoid(retain_logits)``, so that
    ``softmax`` of the result is ``(rho_k + eps) exp(o_k) / sum_j (rho_j + eps) exp(o_j)``.
    Computed in log space (``logaddexp(log rho, log eps)``): finite for any finite input.

    Parameters
    ----------
    class_logits : torch.Tensor of shape (N, C)
        The class scores ``o``.
    retain_logits : torch.Tensor of shape (N, C)
        Logits of the retain probabilities ``rho``.

    Returns
    -------
    torch.Tensor of shape (N, C)

    Examples
    --------
    >>> import torch
    >>> logits = expected_mask_logits(torch.zeros(1, 2), torch.tensor([[30.0, -30.0]]))
    >>> logits.softmax(dim=1).round(decimals=4)
    tensor([[1., 0.]])
    """
    log_rho = F.logsigmoid(retain_logits)
    return class_logits + torch.logaddexp(log_rho, torch.full_like(log_rho, _LOG_EPS))


class DropMaxHead(nn.Module):
    """The last layer of a DropMax network: three linear branches on the features.

    From the penultimate features ``h`` it computes the class logits
    ``o = W_o h + b_o``, the retain logits ``W_rho h + b_rho`` (``rho =
    sigmoid(.)``, the probability that each class is kept) and the auxiliary logits
    ``W_r h + b_r`` (a one-vs-rest classifier of the label, which the approximate
    posterior of the masks builds on; see :class:`~sknoisy.losses.DropMaxLoss`). It
    returns the tuple ``(prediction_logits, class_logits, retain_logits, aux_logits)``,
    where ``prediction_logits = o + log(rho + eps)`` (:func:`expected_mask_logits`): the
    softmax of the first element is the prediction with the expected mask, and, by
    skorch's convention for modules with several outputs, it is what
    :class:`~sknoisy.NoisyNetClassifier` predicts with.

    Parameters
    ----------
    in_features : int
        Size of the features ``h``.
    n_classes : int
        Number of classes ``C``.
    classifier : torch.nn.Linear or None, default=None
        An existing ``Linear(in_features, n_classes)`` to use as the class-logit branch
        (:class:`DropMaxNet` hands over the base network's classifier, keeping its
        initialisation); ``None`` creates one.

    Examples
    --------
    >>> import torch
    >>> head = DropMaxHead(in_features=8, n_classes=3)
    >>> prediction, class_logits, retain_logits, aux_logits = head(torch.zeros(5, 8))
    >>> prediction.shape, retain_logits.shape
    (torch.Size([5, 3]), torch.Size([5, 3]))
    """

    def __init__(self, in_features: int, n_classes: int,
                 classifier: nn.Linear | None = None) -> None:
        super().__init__()
        if classifier is None:
            classifier = nn.Linear(int(in_features), int(n_classes))
        elif (classifier.in_features, classifier.out_features) != (in_features, n_classes):
            raise ValueError(
                f"DropMaxHead: classifier maps {classifier.in_features} features to "
                f"{classifier.out_features} classes; expected {in_features} -> {n_classes}.")
        self.classifier = classifier
        self.retain = nn.Linear(int(in_features), int(n_classes))
        self.aux = nn.Linear(int(in_features), int(n_classes))

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, ...]:
        class_logits = self.classifier(h)
        retain_logits = self.retain(h)
        return (expected_mask_logits(class_logits, retain_logits), class_logits,
                retain_logits, self.aux(h))


class DropMaxNet(nn.Module):
    """A base network whose classifier layer is replaced by a :class:`DropMaxHead`.

    The base network's last ``torch.nn.Linear`` (its classifier: the last layer of
    :class:`MLP` and of :class:`ConvNet`) becomes the class-logit branch of a
    :class:`DropMaxHead` on the same features, so the network returns DropMax's four
    outputs. Train it with :class:`sknoisy.losses.DropMaxLoss`::

        NoisyNetClassifier(module=DropMaxNet, criterion=DropMaxLoss)

    The core fills in ``n_features``, ``n_classes`` and ``in_channels``; other
    ``module__<name>`` parameters go to the base network (``module__hidden_sizes=(64,)``).

    Parameters
    ----------
    base : torch.nn.Module class or instance, default=None
        The network to convert. A class is built with whichever of ``n_features``,
        ``n_classes`` and ``in_channels`` its constructor takes, plus ``**base_params``;
        an instance is copied (yours is left unchanged). ``None`` is :class:`MLP`, which
        flattens images; pass ``base=ConvNet`` (``module__base=ConvNet``) for the small
        CNN. The last ``nn.Linear`` registered in the base must produce its output.
    n_features : int or None, default=None
        Number of input features, for a base class that takes it.
    n_classes : int or None, default=None
        Number of classes, for a base class that takes it.
    in_channels : int or None, default=None
        Image channels, for a base class that takes it.
    **base_params
        Further arguments of the base class (``hidden_sizes``, ``dropout``, ...).

    See Also
    --------
    sknoisy.losses.DropMaxLoss : the training criterion.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.modules import DropMaxNet
    >>> net = DropMaxNet(n_features=4, n_classes=3, hidden_sizes=(8,))
    >>> prediction, class_logits, retain_logits, aux_logits = net(torch.zeros(2, 4))
    >>> prediction.shape
    torch.Size([2, 3])
    >>> type(net.base.layers[-1]).__name__
    'DropMaxHead'
    """

    def __init__(self, base=None, *, n_features: int | None = None,
                 n_classes: int | None = None, in_channels: int | None = None,
                 **base_params) -> None:
        super().__init__()
        if base is None:
            base = MLP
        if isinstance(base, nn.Module):
            if base_params:
                raise TypeError(
                    f"DropMaxNet: base is an instance, so {sorted(base_params)} cannot be "
                    "applied to it; pass the class (base=MLP) with those parameters, or "
                    "configure the instance yourself.")
            base = copy.deepcopy(base)
        else:
            sizes = {"n_features": n_features, "n_classes": n_classes,
                     "in_channels": in_channels}
            base = base(**{**_accepted(base, sizes), **base_params})
        parent, name, classifier = _last_linear(base)
        setattr(parent, name, DropMaxHead(classifier.in_features, classifier.out_features,
                                          classifier=classifier))
        self.base = base

    def forward(self, X: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.base(X)
        if not (isinstance(out, tuple) and len(out) == 4):
            raise ValueError(
                f"DropMaxNet: the base network {type(self.base).__name__} did not return "
                "the DropMax head's four outputs: its last nn.Linear is not its output "
                "layer. Use a base whose classifier (the last nn.Linear) is the last "
                "operation of forward, or end your own network with a DropMaxHead.")
        return out


def _accepted(factory, sizes: dict) -> dict:
    """The entries of ``sizes`` that ``factory`` takes and that are known."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return {}
    return {name: value for name, value in sizes.items()
            if name in parameters and value is not None}


def _last_linear(module: nn.Module) -> tuple[nn.Module, str, nn.Linear]:
    """The parent, attribute name and module of the last ``nn.Linear`` in ``module``."""
    # named_modules() lists modules in the order they were registered, depth first.
    names = [name for name, child in module.named_modules() if type(child) is nn.Linear]
    found = None
    if names:
        parent_name, _, name = names[-1].rpartition(".")
        parent = module.get_submodule(parent_name)
        found = (parent, name, getattr(parent, name))
    if found is None:
        raise ValueError(f"DropMaxNet: the base network {type(module).__name__} has no "
                         "nn.Linear classifier layer to turn into a DropMax head; end it "
                         "with nn.Linear(n_features, n_classes) or with a DropMaxHead.")
    return found
