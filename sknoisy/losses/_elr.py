"""Early-learning regularisation (ELR): cross entropy plus a pull towards running targets."""

from __future__ import annotations

from numbers import Integral, Real

import torch
import torch.nn.functional as F

from .._core._validation import Interval
from ._base import BaseLoss, check_logits_target

__all__ = ["ELRLoss"]

# The reference code clamps the probabilities to [1e-4, 1 - 1e-4]; it keeps
# 1 - <p, t> >= 1e-4, so the logarithm and its gradient stay finite.
_CLAMP = 1e-4


class ELRLoss(BaseLoss):
    """Early-learning regularisation: cross entropy plus agreement with running targets.

    Early in training a network predicts the true class of most mislabelled samples;
    later it memorises their wrong labels. ELR keeps, for every training row ``i``, a
    running average ``t_i`` of the network's past predictions and rewards agreement
    with it, so the early, mostly correct predictions hold back the memorisation. With
    ``p_i`` the softmax output clamped to ``[1e-4, 1 - 1e-4]``, each training call does::

        t_i  <- beta * t_i + (1 - beta) * p_i / sum(p_i)      (detached)
        loss_i = CE(logits_i, y_i) + lam * log(1 - <p_i, t_i>)

    The regulariser decreases as ``p_i`` agrees with ``t_i``; its gradient vanishes on
    rows whose prediction already matches the target and grows where the label pulls
    the network away from it.

    Parameters
    ----------
    beta : float, default=0.7
        Momentum of the running targets, in ``[0, 1)``. 0.7 is the paper's value for
        CIFAR-10 (0.9 for CIFAR-100).
    lam : float, default=3.0
        Weight of the regulariser, ``>= 0``; 0 is cross entropy. 3 is the paper's value
        for CIFAR-10 (7 for CIFAR-100).
    n_samples : int or None, default=None
        Rows of the training set, for standalone use: the running targets are then
        allocated at the first training call, on the logits' device and with their
        number of classes. sknoisy's classifiers size them at the start of every fit
        (see Notes), so leave it ``None`` there.
    reduction : {'none', 'mean', 'sum'}, default='mean'
        ``'none'`` returns shape (N,); ``'mean'`` / ``'sum'`` average or add over samples.

    Attributes
    ----------
    running_targets : torch.Tensor of shape (n_samples, n_classes) or None
        The targets ``t``, a registered buffer (it follows ``.to(device)``, is saved in
        ``state_dict()`` and pickled); zeros for rows not seen yet; ``None`` before
        allocation.

    See Also
    --------
    BootstrappingLoss : mixes the label with the current prediction instead of a
        running average of past ones.

    Notes
    -----
    **Rows.** ``forward`` takes ``indices``, the positions of the batch's rows in the
    training set, and needs them in training mode. Through
    :class:`sknoisy.NoisyNetClassifier` the core passes them (a criterion whose
    ``forward`` takes ``indices`` gets them) and calls :meth:`prepare_sample_state` when
    training begins: a fresh fit starts from zero targets, a warm start
    (``warm_start=True``, ``partial_fit``) keeps them when the training set has the
    same size. A method with its own training step that gives no row positions
    (:class:`~sknoisy.classifiers.CoTeachingClassifier`), or a custom
    ``iterator_train`` whose batches carry no ``indices``, gets a ``ValueError``.

    **Evaluation mode is plain cross entropy** and leaves the targets untouched: skorch
    puts the criterion in evaluation mode for the validation loss, where ``indices``
    are positions in the validation set, whose rows have no running target; a
    validation loss measured against training rows' targets would mean nothing.

    **As in the reference code,** the targets are updated before the regulariser is
    computed, from the clamped probabilities renormalised to sum to 1, and the
    regulariser uses the clamped (not renormalised) probabilities. During the
    classifier's ``warmup_epochs`` the criterion is not called, so the targets start
    after the warm-up. With ``mixup_alpha`` each step scores the mixed batch against
    both rows' labels, so every row's target moves twice per step, towards the mixed
    prediction. This is ELR, not ELR+ (the paper's version with two networks, weight
    averaging and mixup). Memory: one ``(n_samples, n_classes)`` buffer on the device.

    References
    ----------
    .. [1] S. Liu, J. Niles-Weed, N. Razavian and C. Fernandez-Granda, "Early-Learning
       Regularization Prevents Memorization of Noisy Labels", NeurIPS 2020.

    Examples
    --------
    Standalone, with the size of the training set; rows 0 and 3 of four:

    >>> import torch
    >>> from sknoisy.losses import ELRLoss
    >>> elr = ELRLoss(n_samples=4, reduction="none")
    >>> logits, target = torch.tensor([[2.0, 0.0], [0.0, 0.0]]), torch.tensor([0, 1])
    >>> elr(logits, target, indices=torch.tensor([0, 3]))
    tensor([-0.6846,  0.2056])
    >>> elr.running_targets
    tensor([[0.2642, 0.0358],
            [0.0000, 0.0000],
            [0.0000, 0.0000],
            [0.1500, 0.1500]])
    >>> elr.eval()(logits, target)  # evaluation mode: cross entropy, no update
    tensor([0.1269, 0.6931])

    Through the training core, which passes the rows and sizes the targets:

    >>> from sklearn.datasets import load_iris
    >>> from sknoisy import NoisyNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NoisyNetClassifier(criterion=ELRLoss, criterion__lam=3.0, max_epochs=5,
    ...                          random_state=0).fit(X, y)
    >>> clf.criterion_.running_targets.shape
    torch.Size([150, 3])
    """

    _parameter_constraints: dict = {
        **BaseLoss._parameter_constraints,
        "beta": [Interval(Real, 0, 1, closed="left")],
        "lam": [Interval(Real, 0, None, closed="left")],
        "n_samples": [None, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, beta: float = 0.7, lam: float = 3.0, n_samples: int | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.beta = beta
        self.lam = lam
        self.n_samples = n_samples
        self._check_params()
        self.register_buffer("running_targets", None)

    def prepare_sample_state(self, n_samples: int, n_classes: int,
                             device: torch.device | str = "cpu", keep: bool = False) -> None:
        """Allocate zero running targets for ``n_samples`` rows and ``n_classes`` classes.

        sknoisy's classifiers call this when training begins.

        Parameters
        ----------
        n_samples : int
            Rows of the training set.
        n_classes : int
            Classes (columns of the logits).
        device : torch.device or str, default='cpu'
            Where the targets live (the training device).
        keep : bool, default=False
            Keep the current targets (moved to ``device``) if they have this shape: a
            warm start continues from them.

        Examples
        --------
        >>> elr = ELRLoss()
        >>> elr.prepare_sample_state(5, 3)
        >>> elr.running_targets.shape
        torch.Size([5, 3])
        """
        current = self.running_targets
        if keep and current is not None and tuple(current.shape) == (n_samples, n_classes):
            self.running_targets = current.to(device)
            return
        self.running_targets = torch.zeros((n_samples, n_classes), device=device)

    def forward(self, logits: torch.Tensor, target: torch.Tensor,
                indices: torch.Tensor | None = None) -> torch.Tensor:
        """Compute the loss, updating the rows' running targets in training mode.

        Parameters
        ----------
        logits : torch.Tensor of shape (N, C)
            Unnormalised class scores.
        target : torch.Tensor of shape (N,)
            Class indices in ``[0, C)``.
        indices : torch.Tensor of shape (N,) or None, default=None
            Positions of the rows in the training set; required in training mode,
            ignored in evaluation mode.

        Returns
        -------
        torch.Tensor
            Shape (N,) if ``reduction='none'``, else a 0-dim tensor.
        """
        name = type(self).__name__
        logits, target = check_logits_target(logits, target, name)
        ce = F.cross_entropy(logits, target, reduction="none")
        if not self.training:
            return self._reduce(ce)
        rows = self._check_rows(indices, logits)
        proba = logits.softmax(dim=1).clamp(_CLAMP, 1.0 - _CLAMP)
        with torch.no_grad():
            current = proba.detach()
            targets = (float(self.beta) * self.running_targets[rows].to(current.dtype)
                       + (1.0 - float(self.beta)) * current / current.sum(dim=1, keepdim=True))
            self.running_targets[rows] = targets.to(self.running_targets.dtype)
        regulariser = torch.log1p(-(proba * targets).sum(dim=1))
        return self._reduce(ce + float(self.lam) * regulariser)

    def _check_rows(self, indices, logits: torch.Tensor) -> torch.Tensor:
        """The row positions as int64 on the targets' device, allocating lazily."""
        name = type(self).__name__
        n_rows, n_classes = logits.shape
        if indices is None:
            raise ValueError(
                f"{name} keeps a running target per training row and needs the rows' "
                "positions in training mode: call it as criterion(logits, target, "
                "indices=rows), or put it in evaluation mode (plain cross entropy). "
                "sknoisy's NoisyNetClassifier passes them from its training step; a method "
                "with its own step (CoTeachingClassifier) or an iterator_train whose "
                "batches have no .indices does not, so use ELRLoss with NoisyNetClassifier "
                "and its default iterator_train.")
        if not isinstance(indices, torch.Tensor):
            indices = torch.as_tensor(indices)
        if indices.is_floating_point() or indices.dtype == torch.bool or indices.is_complex():
            raise TypeError(f"{name}: indices must hold integer row positions; got dtype "
                            f"{indices.dtype}.")
        if tuple(indices.shape) != (n_rows,):
            raise ValueError(f"{name}: indices must have shape ({n_rows},) to match the "
                             f"logits; got shape {tuple(indices.shape)}.")
        if self.running_targets is None:
            if self.n_samples is None:
                raise ValueError(
                    f"{name} has no running targets yet: pass n_samples=<rows in the "
                    "training set> to use it on its own, or call "
                    "prepare_sample_state(n_samples, n_classes). sknoisy's classifiers do "
                    "this when training begins.")
            self.prepare_sample_state(int(self.n_samples), n_classes, device=logits.device)
        n_samples, n_target_classes = self.running_targets.shape
        if n_target_classes != n_classes:
            raise ValueError(f"{name}: the running targets have {n_target_classes} classes "
                             f"but the logits have {n_classes} columns.")
        rows = indices.to(device=self.running_targets.device, dtype=torch.long)
        # One host sync per batch: an out-of-range row would otherwise be a device-side
        # assert on CUDA. Meta tensors hold no values.
        if (rows.numel() and not rows.is_meta
                and bool(((rows < 0) | (rows >= n_samples)).any())):
            raise ValueError(
                f"{name}: row positions must lie in [0, {n_samples}), the rows its running "
                f"targets were sized for; got values from {int(rows.min())} to "
                f"{int(rows.max())}. A warm start must train on the same rows, or refit.")
        return rows
