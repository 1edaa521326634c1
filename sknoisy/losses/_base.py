"""Shared plumbing for the sknoisy criteria: parameter checks, input checks, reduction.

Every loss in :mod:`sknoisy.losses` is a plain :class:`torch.nn.Module`. Unlike the
estimators, a criterion validates its constructor arguments in ``__init__``: skorch builds the
criterion once per ``initialize`` and a bad value should fail there, not inside the first batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._core._validation import StrOptions, check_params, validate_parameter_constraints

__all__ = [
    "BaseLoss",
    "check_generator",
    "check_logits_target",
    "draw_device",
    "gather_target",
    "random_permutation",
    "reduce_loss",
    "target_log_prob",
]

_REDUCTIONS = ("none", "mean", "sum")


def reduce_loss(values: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce per-sample losses of shape (N,) the way torch's built-in criteria do.

    Parameters
    ----------
    values : torch.Tensor of shape (N,)
        One loss value per sample.
    reduction : {'none', 'mean', 'sum'}
        ``'none'`` returns ``values`` unchanged, ``'mean'`` their average (NaN for an empty
        batch, as in :func:`torch.nn.functional.cross_entropy`), ``'sum'`` their total.

    Returns
    -------
    torch.Tensor
        Shape (N,) for ``'none'``, a 0-dim tensor otherwise.

    Examples
    --------
    >>> import torch
    >>> reduce_loss(torch.tensor([1.0, 3.0]), "mean")
    tensor(2.)
    >>> reduce_loss(torch.tensor([1.0, 3.0]), "sum")
    tensor(4.)
    """
    if reduction == "none":
        return values
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    raise ValueError(f"reduction must be one of {_REDUCTIONS}; got {reduction!r}.")


def check_logits_target(
    logits: torch.Tensor, target: torch.Tensor, owner: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Check a (logits, target) pair and return it ready for the loss arithmetic.

    Half-precision logits are upcast to float32 because log-probabilities of confidently
    wrong samples (about -200 for logits in [-100, 100]) lose all precision in float16.

    Parameters
    ----------
    logits : torch.Tensor of shape (N, C)
        Unnormalised scores, floating dtype.
    target : torch.Tensor of shape (N,)
        Class indices in ``[0, C)``, integer dtype.
    owner : str
        Name of the calling criterion, used in error messages.

    Returns
    -------
    logits : torch.Tensor of shape (N, C)
        float32 or float64.
    target : torch.Tensor of shape (N,)
        int64, on the logits' device.

    Raises
    ------
    TypeError
        If either argument is not a tensor, ``logits`` is not floating or ``target`` is
        not an integer tensor.
    ValueError
        If the shapes do not match or a target is outside ``[0, C)``.

    Examples
    --------
    >>> import torch
    >>> logits, target = check_logits_target(
    ...     torch.zeros(2, 3), torch.tensor([0, 2], dtype=torch.int32), "MyLoss")
    >>> target.dtype
    torch.int64
    """
    if not isinstance(logits, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise TypeError(f"{owner}: logits and target must be torch tensors; got "
                        f"{type(logits).__name__} and {type(target).__name__}.")
    if not logits.is_floating_point():
        raise TypeError(f"{owner}: logits must be a floating tensor; got dtype {logits.dtype}.")
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise TypeError(f"{owner}: target must hold integer class indices (int64); got dtype "
                        f"{target.dtype}. Soft or one-hot targets are not supported: pass "
                        "target.argmax(1) or use DistillationLoss for soft labels.")
    if logits.dim() != 2:
        raise ValueError(f"{owner}: logits must have shape (N, C); got shape "
                         f"{tuple(logits.shape)}.")
    if target.dim() != 1 or target.shape[0] != logits.shape[0]:
        raise ValueError(f"{owner}: target must have shape ({logits.shape[0]},) to match logits "
                         f"{tuple(logits.shape)}; got shape {tuple(target.shape)}.")
    n_classes = logits.shape[1]
    if n_classes < 1:
        raise ValueError(f"{owner}: logits must have at least one class column; got shape "
                         f"{tuple(logits.shape)}.")
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    target = target.to(device=logits.device, dtype=torch.long)
    # One host sync per batch; an out-of-range index would otherwise be a device-side assert
    # on CUDA, which kills the process instead of raising. Meta tensors hold no values.
    if (target.numel() and not target.is_meta
            and bool(((target < 0) | (target >= n_classes)).any())):
        raise ValueError(f"{owner}: target values must lie in [0, {n_classes}) for logits with "
                         f"{n_classes} columns; got values from {int(target.min())} to "
                         f"{int(target.max())}. Encode labels as 0..C-1 first.")
    return logits, target


def gather_target(values: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Pick ``values[i, target[i]]`` for every row ``i``.

    Parameters
    ----------
    values : torch.Tensor of shape (N, C)
    target : torch.Tensor of shape (N,), int64

    Returns
    -------
    torch.Tensor of shape (N,)

    Examples
    --------
    >>> import torch
    >>> gather_target(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([1, 0]))
    tensor([2., 3.])
    """
    return values.gather(1, target.unsqueeze(1)).squeeze(1)


def check_generator(generator: torch.Generator | None, owner: str) -> None:
    """Raise ``TypeError`` unless ``generator`` is ``None`` or a ``torch.Generator``.

    Parameters
    ----------
    generator : torch.Generator or None
        The value to check.
    owner : str
        Name of the calling criterion, used in the message.

    Examples
    --------
    >>> import torch
    >>> check_generator(torch.Generator().manual_seed(0), "PeerLoss")
    """
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"{owner}: generator must be a torch.Generator or None; got "
                        f"{type(generator).__name__}. Build one with "
                        "torch.Generator(device).manual_seed(seed).")


def draw_device(generator: torch.Generator | None, device: torch.device) -> torch.device:
    """Return the device random numbers must be drawn on for ``generator``.

    A CPU generator cannot draw on CUDA, so draws happen on the generator's own device and
    are then moved; the same seed thus gives the same numbers wherever the logits live.

    Parameters
    ----------
    generator : torch.Generator or None
        Source of randomness; ``None`` means torch's default generator of ``device``.
    device : torch.device
        Where the draws are needed.

    Returns
    -------
    torch.device

    Examples
    --------
    >>> import torch
    >>> draw_device(torch.Generator(), torch.device("meta"))
    device(type='cpu')
    """
    return device if generator is None else generator.device


def random_permutation(n: int, generator: torch.Generator | None,
                       device: torch.device) -> torch.Tensor:
    """Return a random permutation of ``range(n)`` on ``device``, drawn from ``generator``.

    Parameters
    ----------
    n : int
        Length of the permutation.
    generator : torch.Generator or None
        Source of randomness; ``None`` uses torch's default generator of ``device``.
    device : torch.device
        Where the result is needed.

    Returns
    -------
    torch.Tensor of shape (n,), int64

    Examples
    --------
    >>> import torch
    >>> perm = random_permutation(4, torch.Generator().manual_seed(0), torch.device("cpu"))
    >>> sorted(perm.tolist())
    [0, 1, 2, 3]
    """
    return torch.randperm(n, generator=generator,
                          device=draw_device(generator, device)).to(device)


class BaseLoss(nn.Module):
    """Base class for sknoisy criteria that return one loss per sample before reducing.

    Subclasses declare ``_parameter_constraints`` (merged with this class's), call
    ``super().__init__(reduction=reduction)``, assign their own arguments unchanged and end
    ``__init__`` with ``self._check_params()``. A criterion on ``(logits, target)``
    implements ``per_sample``; the shared ``forward`` checks the inputs and reduces.

    Parameters
    ----------
    reduction : {'none', 'mean', 'sum'}, default='mean'
        ``'none'``: one value per sample, shape (N,); ``'mean'``: their average;
        ``'sum'``: their total. The sknoisy classifiers ask for ``'none'``.

    Examples
    --------
    >>> import torch
    >>> class NegLogProb(BaseLoss):
    ...     def per_sample(self, logits, target):
    ...         return -gather_target(logits.log_softmax(1), target)
    >>> NegLogProb(reduction="sum")(torch.zeros(2, 2), torch.tensor([0, 1]))
    tensor(1.3863)
    """

    _parameter_constraints: dict = {"reduction": [StrOptions(set(_REDUCTIONS))]}

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction
        # Only ``reduction`` exists yet; subclasses check the full set once they are assigned.
        validate_parameter_constraints(
            {"reduction": BaseLoss._parameter_constraints["reduction"]},
            {"reduction": reduction}, caller_name=type(self).__name__)

    def _check_params(self) -> None:
        check_params(self)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Parameters
        ----------
        logits : torch.Tensor of shape (N, C)
            Unnormalised class scores.
        target : torch.Tensor of shape (N,)
            Class indices in ``[0, C)``.

        Returns
        -------
        torch.Tensor
            Shape (N,) if ``reduction='none'``, else a 0-dim tensor.
        """
        logits, target = check_logits_target(logits, target, type(self).__name__)
        return self._reduce(self.per_sample(logits, target))

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """One loss value per sample, shape (N,), for inputs already checked.

        Criteria with the ``(logits, target)`` signature implement only this; criteria
        that need more inputs (peer, distillation) override ``forward`` instead.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement per_sample or forward.")

    def _reduce(self, values: torch.Tensor) -> torch.Tensor:
        return reduce_loss(values, self.reduction)

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self._parameter_constraints
                         if not isinstance(getattr(self, name), nn.Module))


def target_log_prob(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return ``log softmax(logits)[i, target[i]]`` computed stably.

    Parameters
    ----------
    logits : torch.Tensor of shape (N, C)
    target : torch.Tensor of shape (N,), int64

    Returns
    -------
    torch.Tensor of shape (N,)
        Always finite for finite logits (about -200 for logits [-100, 100] and target 0).

    Examples
    --------
    >>> import torch
    >>> target_log_prob(torch.tensor([[-100.0, 100.0]]), torch.tensor([0]))
    tensor([-200.])
    """
    return -F.cross_entropy(logits, target, reduction="none")
