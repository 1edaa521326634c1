"""Peer loss classification: cross entropy minus the loss on randomly re-paired samples."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F

from .._core._base import NoisyNetClassifier
from .._core._validation import Interval
from ..losses import PeerLoss

__all__ = ["PeerLossClassifier"]


def _alpha_problem(value) -> tuple[type, str] | None:
    """Why ``value`` is not a valid peer weight (error class, reason), or ``None``."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        return TypeError, f"{value!r} of type {type(value).__name__} is not a real number"
    if math.isnan(value):
        return ValueError, "NaN is not a valid weight"
    if value < 0:
        return ValueError, f"{value!r} is negative"
    if math.isinf(value):
        return ValueError, "an infinite weight makes the loss infinite"
    return None


def _alpha_kind(alpha, owner: str) -> str:
    """'scalar', 'callable' or 'sequence'; raises TypeError for anything else."""
    if isinstance(alpha, np.ndarray) and alpha.ndim == 0:
        return "scalar"
    if isinstance(alpha, Real) and not isinstance(alpha, (bool, np.bool_)):
        return "scalar"
    if callable(alpha):
        return "callable"
    if isinstance(alpha, np.ndarray) and alpha.ndim == 1:
        return "sequence"
    if isinstance(alpha, Sequence) and not isinstance(alpha, (str, bytes)):
        return "sequence"
    raise TypeError(
        f"{owner}: alpha must be a real number >= 0, a callable epoch -> alpha or a "
        f"sequence of numbers >= 0 (one per epoch); got {alpha!r} of type "
        f"{type(alpha).__name__}.")


class PeerLossClassifier(NoisyNetClassifier):
    """Neural-net classifier trained with peer loss (Liu and Guo, 2020).

    For a mini-batch with outputs ``f(x_i)`` and given labels ``y_i``, the loss of sample
    ``i`` is::

        CE(f(x_i), y_i) - alpha * CE_peer(f(x_j), y_k)

    where ``j`` and ``k`` come from two independent random permutations of the batch and
    ``CE_peer`` is a stable cross entropy (the probability is floored at
    ``criterion__eps``, see :class:`sknoisy.losses.PeerLoss`). The pair ``(x_j, y_k)``
    carries no information about the label of ``x_j``, so its loss measures what the
    network gains by fitting label frequencies alone; subtracting it makes memorising
    random (noisy) labels stop paying. The peer term reuses the batch's own outputs: no
    extra forward pass.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The network (see :class:`sknoisy.NoisyNetClassifier`).
    alpha : float, callable or sequence of float, default=1.0
        Weight of the peer term, ``>= 0`` (1.0 is the paper's basic peer loss; 0 is plain
        cross entropy), or a per-epoch schedule: a callable ``epoch -> alpha`` with
        ``epoch`` counted from 1, or a sequence whose ``t``-th entry (``alpha[t - 1]``) is
        the weight of epoch ``t``, the last entry being held afterwards. A schedule is only
        consulted after the warm-up epochs and is used as given (``alpha_ramp_epochs``
        does not apply to it).
    warmup_epochs : int, default=5
        Epochs trained with plain cross entropy (``alpha = 0``) before the peer term is
        switched on. The peer term pushes the network away from the label marginal, which
        is harmful while the network is still near its random start; five epochs of
        cross entropy are enough for an MLP to learn the easy patterns and short enough
        that it has not yet memorised the noise. Set it to 0 to let ``alpha`` (or the
        schedule) apply from the first epoch.
    alpha_ramp_epochs : int, default=5
        For a number ``alpha``: the epochs after the warm-up over which the peer weight
        rises linearly to ``alpha``, ``alpha * min(s / alpha_ramp_epochs, 1)`` in the
        ``s``-th epoch after the warm-up, as the paper ramps it up rather than
        switching it on at full weight. 0 switches it on at once.
    criterion : PeerLoss class or instance, default=sknoisy.losses.PeerLoss
        The loss; ``criterion__eps`` sets the floor of the peer probability. Its ``alpha``
        is set by this classifier every epoch, so ``criterion__alpha`` is refused.
    **kwargs
        Every other parameter of :class:`sknoisy.NoisyNetClassifier` (``max_epochs``,
        ``lr``, ``module__*``, ``device``, ``random_state``, ...).

    Attributes
    ----------
    alpha_ : float
        The peer weight of the most recent training epoch.
    history_ : skorch History
        Besides skorch's entries, per epoch: ``alpha``, the peer weight used.
    classes_, n_features_in_, input_shape_
        As in :class:`sknoisy.NoisyNetClassifier`.

    See Also
    --------
    sknoisy.losses.PeerLoss : the loss on its own.
    sknoisy.NoisyNetClassifier : the training core, for the other robust losses.

    Notes
    -----
    The permutations are drawn from the fit's seeded generator, so the same
    ``random_state`` gives the same draws and the same model. ``sample_weight`` multiplies
    each sample's whole loss (its cross entropy minus its peer term). Epochs are counted
    over the estimator's life: with ``warm_start=True`` or ``partial_fit`` the schedule
    continues where the previous fit stopped. The validation loss (when ``train_split`` is
    set) is plain cross entropy: the peer term is a random draw with no meaning on
    held-out data. Training losses can be negative; judge training by accuracy.

    A callable schedule is not pickled by value: use a module-level function or a
    :class:`functools.partial` (not a lambda) if the estimator must be pickled.

    References
    ----------
    .. [1] Y. Liu and H. Guo, "Peer Loss Functions: Learning from Noisy Labels without
       Knowing Noise Rates", ICML 2020.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknoisy.classifiers import PeerLossClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = PeerLossClassifier(alpha=[0.1, 0.2, 0.3], warmup_epochs=1, max_epochs=20,
    ...                          lr=1e-2, random_state=0).fit(X, y)
    >>> clf.history[:5, "alpha"]  # epoch 1 is warm-up, then the schedule; last value held
    [0.0, 0.2, 0.3, 0.3, 0.3]
    >>> bool(clf.score(X, y) > 0.8)
    True
    """

    # alpha (a number, a callable or a sequence) is checked in _check_params: no sklearn
    # constraint expresses "a sequence of numbers >= 0".

    _parameter_constraints: dict = {
        **NoisyNetClassifier._parameter_constraints,
        "alpha_ramp_epochs": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, module=None, *, alpha=1.0, warmup_epochs=5, alpha_ramp_epochs=5,
                 criterion=PeerLoss, **kwargs):
        super().__init__(module, criterion=criterion, warmup_epochs=warmup_epochs, **kwargs)
        self.alpha = alpha
        self.alpha_ramp_epochs = alpha_ramp_epochs

    # -- parameters ---------------------------------------------------------------------------
    def _check_params(self) -> None:
        super()._check_params()
        name = type(self).__name__
        kind = _alpha_kind(self.alpha, name)
        if kind == "scalar":
            problem = _alpha_problem(self.alpha)
            if problem is not None:
                error, reason = problem
                raise error(f"{name}: alpha must be a real number >= 0; got {reason}.")
        elif kind == "sequence":
            if len(self.alpha) == 0:
                raise ValueError(f"{name}: alpha is an empty sequence; give one weight per "
                                 "epoch (the last is held) or a single number.")
            for position, value in enumerate(self.alpha):
                problem = _alpha_problem(value)
                if problem is not None:
                    raise ValueError(
                        f"{name}: alpha[{position}] (the weight of epoch {position + 1}) must "
                        f"be a real number >= 0; got {problem[1]}.")
        criterion = self.criterion
        is_peer = (isinstance(criterion, PeerLoss)
                   or (isinstance(criterion, type) and issubclass(criterion, PeerLoss)))
        if not is_peer:
            raise TypeError(
                f"{name}: criterion must be sknoisy.losses.PeerLoss (class or instance); got "
                f"{criterion!r}. For another robust loss use NoisyNetClassifier(criterion=...).")
        if "criterion__alpha" in vars(self):
            raise ValueError(f"{name}: set the peer weight with alpha=..., not "
                             f"criterion__alpha={vars(self)['criterion__alpha']!r}; the "
                             "classifier sets the criterion's alpha every epoch.")

    def alpha_at(self, epoch: int) -> float:
        """Peer weight of training epoch ``epoch`` (counted from 1), warm-up included.

        Parameters
        ----------
        epoch : int
            Epoch number, ``>= 1``.

        Returns
        -------
        alpha : float
            0 during the ``warmup_epochs``; then a number ``alpha`` ramped up over
            ``alpha_ramp_epochs``, or the schedule's value.

        Raises
        ------
        ValueError
            If a callable schedule returns an invalid weight for that epoch.

        Examples
        --------
        >>> from sknoisy.classifiers import PeerLossClassifier
        >>> clf = PeerLossClassifier(alpha=lambda t: 0.1 * t, warmup_epochs=2)
        >>> [round(clf.alpha_at(t), 2) for t in range(1, 6)]
        [0.0, 0.0, 0.3, 0.4, 0.5]
        >>> clf = PeerLossClassifier(alpha=0.8, warmup_epochs=1, alpha_ramp_epochs=4)
        >>> [round(clf.alpha_at(t), 2) for t in range(1, 8)]
        [0.0, 0.2, 0.4, 0.6, 0.8, 0.8, 0.8]
        """
        if epoch <= self.warmup_epochs:
            return 0.0
        kind = _alpha_kind(self.alpha, type(self).__name__)
        if kind == "scalar":
            if self.alpha_ramp_epochs <= 0:
                return float(self.alpha)
            after_warmup = epoch - self.warmup_epochs
            return float(self.alpha) * min(after_warmup / self.alpha_ramp_epochs, 1.0)
        if kind == "sequence":
            return float(self.alpha[min(epoch, len(self.alpha)) - 1])
        value = self.alpha(epoch)
        problem = _alpha_problem(value)
        if problem is not None:
            raise ValueError(f"{type(self).__name__}: the alpha schedule returned an invalid "
                             f"weight for epoch {epoch}: {problem[1]}. It must return a real "
                             "number >= 0.")
        return float(value)

    # -- training -----------------------------------------------------------------------------
    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                               **kwargs)
        self.alpha_ = self.alpha_at(self.current_epoch())
        self.history.record("alpha", self.alpha_)

    def get_per_sample_loss(self, y_pred: torch.Tensor, y_true: torch.Tensor, X=None,
                            training: bool = False,
                            indices: torch.Tensor | None = None) -> torch.Tensor:
        """Per-sample peer loss of the batch (the core weights and averages it).

        Parameters
        ----------
        y_pred : torch.Tensor of shape (N, C)
            Logits of the batch.
        y_true : torch.Tensor of shape (N,)
            Encoded labels.
        X : object, default=None
            The batch's inputs (unused).
        training : bool, default=False
            Whether this is a training step; otherwise the loss is plain cross entropy.
        indices : torch.Tensor of shape (N,) or None, default=None
            Training-set positions of the rows (unused).

        Returns
        -------
        losses : torch.Tensor of shape (N,)

        Examples
        --------
        >>> import torch
        >>> from sknoisy.classifiers import PeerLossClassifier
        >>> clf = PeerLossClassifier()
        >>> logits, y = torch.zeros(2, 2), torch.tensor([0, 1])
        >>> clf.get_per_sample_loss(logits, y)  # not training: cross entropy, log 2
        tensor([0.6931, 0.6931])
        """
        alpha = getattr(self, "alpha_", 0.0) if training else 0.0
        if alpha == 0.0:
            # The core's warm-up loss, so that alpha = 0 trains exactly like the core.
            return F.cross_entropy(y_pred, y_true, reduction="none")
        criterion = self.criterion_
        criterion.alpha = alpha
        state = getattr(self, "_fit_state", None)
        return criterion(y_pred, y_true, generator=None if state is None else state.generator)
