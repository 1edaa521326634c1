"""Dimensionality-driven learning (D2L, Ma et al. 2018): targets paced by the LID."""

from __future__ import annotations

import copy
import inspect
import math
from numbers import Integral

import numpy as np
import torch

from .._core._base import NoisyNetClassifier
from .._core._data import _base_and_rows
from .._core._layers import capture_layer, last_linear
from .._core._record import per_sample_cross_entropy
from .._core._validation import Interval, StrOptions
from ..losses import BootstrappingLoss

__all__ = ["D2LClassifier"]

# The reference code's turning-point rule: the new LID lies more than this many standard
# deviations above the mean of the previous window.
_TURNING_STDS = 2.0
# Distance ratios r_i / r_k below this (duplicate points) are clamped, as the reference
# code adds 1e-8 inside the logarithm, so one duplicate cannot make the estimate 0.
_MIN_RATIO = 1e-8
# Key of the seed of the LID samples among the fit's derived seeds (FitState.child_seed).
_LID_SEED_KEY = (4, 1)


def lid_mle(features: torch.Tensor, n_neighbors: int) -> torch.Tensor:
    """Maximum-likelihood LID of each point among the other points of ``features``.

    ``LID(x) = -k / sum_{i=1..k} log(r_i(x) / r_k(x))``, with ``r_i(x)`` the Euclidean
    distance from ``x`` to its ``i``-th nearest neighbour in the batch (``x`` itself
    excluded) and ``k = min(n_neighbors, len(features) - 1)``.

    Parameters
    ----------
    features : torch.Tensor of shape (n_points, n_dims)
        The representations of one batch (more dimensions are flattened).
    n_neighbors : int
        ``k``, at least 2.

    Returns
    -------
    torch.Tensor of shape (n_points,)
        float64; NaN for a point whose ``k`` neighbours all coincide with it.
    """
    points = features.detach().flatten(1).double()
    k = min(int(n_neighbors), len(points) - 1)
    distances = torch.cdist(points, points)
    # Column 0 of each sorted row is the point itself (distance 0).
    nearest = distances.sort(dim=1).values[:, 1:k + 1]
    farthest = nearest[:, -1:]
    ratios = (nearest / farthest).clamp(min=_MIN_RATIO)
    lids = -k / torch.log(ratios).sum(dim=1)
    return torch.where(farthest.squeeze(1) > 0, lids, torch.full_like(lids, float("nan")))


def turning_point(lids: np.ndarray, warmup_epochs: int, window: int) -> bool:
    """Whether the last of ``lids`` (one per epoch so far) is D2L's turning point.

    True when more than ``warmup_epochs + window`` values exist and the last exceeds
    the mean of the ``window`` values before it by more than twice their standard
    deviation (the reference code's rule).
    """
    if len(lids) <= warmup_epochs + window:
        return False
    previous = np.asarray(lids[-window - 1:-1], dtype=np.float64)
    return bool(lids[-1] - np.mean(previous) > _TURNING_STDS * np.std(previous))


def d2l_alpha(lids: np.ndarray, max_epochs: int) -> float:
    """``alpha_i = exp(-(i / T) * LID_i / min_{j < i} LID_j)``, with ``i = len(lids) - 1``.

    ``lids[j]`` is the LID at the start of epoch ``j + 1`` (after ``j`` epochs), so
    ``i`` is the number of epochs completed and ``T = max_epochs``.
    """
    i = len(lids) - 1
    smallest = np.nanmin(np.asarray(lids[:-1], dtype=np.float64))
    return float(math.exp(-(i / max_epochs) * lids[-1] / smallest))


class D2LClassifier(NoisyNetClassifier):
    """Dimensionality-driven learning: labels blended with predictions once the LID rises.

    Early in training a network's deep representations compress (their local
    intrinsic dimensionality, LID, falls) while it learns the patterns shared by the
    correctly labelled samples; when it starts fitting the wrong labels, the
    dimensionality rises again. D2L (Ma et al., 2018) watches the LID of the
    penultimate representation and, from that turning point on, trains on a blend of
    the given label and the network's own prediction, trusting the label less as the
    dimensionality grows.

    At the start of every epoch ``i + 1`` (after ``i`` epochs), ``lid_sample_size``
    training rows drawn at random are passed through the network in evaluation mode;
    a forward hook on the penultimate layer reads their representations, and each
    row's LID is estimated by maximum likelihood from its ``k = n_neighbors`` nearest
    neighbours within its batch of ``lid_batch_size`` rows::

        LID(x) = -k / sum_{j=1..k} log(r_j(x) / r_k(x))

    ``LID_i`` is the mean over the rows. Training is cross-entropy until the turning
    point: the first epoch after ``warmup_epochs + window`` epochs whose ``LID_i``
    exceeds the mean of the previous ``window`` values by more than two standard
    deviations. From then on, each epoch trains on the target
    ``alpha_i * y + (1 - alpha_i) * y_hat``, with ``y_hat`` the network's prediction,
    ``T = max_epochs`` and::

        alpha_i = exp(-(i / T) * LID_i / min_{j < i} LID_j)

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        As for :class:`~sknoisy.NoisyNetClassifier`.
    warmup_epochs : int, default=5
        Epochs before the turning point is looked for (the reference code's
        ``init_epoch``: 5 on MNIST and SVHN, 10 on CIFAR-10, 20 on CIFAR-100); the
        first possible turning point is epoch ``warmup_epochs + window + 1``.
    window : int, default=5
        Number of previous LID values the new one is compared with (the reference
        code's ``epoch_win``); at least 2.
    n_neighbors : int, default=20
        ``k`` of the LID estimate (the paper's value); at least 2. A batch of fewer
        than ``k + 1`` rows uses all its other rows.
    lid_sample_size : int, default=1280
        Training rows drawn (without replacement) each epoch for the estimate (the
        paper's 10 batches of 128); all rows when the training set is smaller.
    lid_batch_size : int, default=128
        Rows per LID batch: each row's neighbours are searched within its batch. A
        last batch smaller than ``n_neighbors + 1`` rows joins the one before.
    mode : {'hard', 'soft'}, default='hard'
        ``y_hat``: the one-hot predicted class (``'hard'``, the reference code) or the
        predicted probabilities (``'soft'``; then, as in soft bootstrapping, the
        prediction in the target is not detached: an entropy-minimisation term).
    representation : str or None, default=None
        Name of the layer (as in ``module_.named_modules()``) whose output is the
        representation. ``None`` takes the input of the network's last
        ``torch.nn.Linear`` (its classifier), which is the penultimate representation
        of :class:`~sknoisy.modules.MLP` and :class:`~sknoisy.modules.ConvNet`.
    criterion : torch.nn.Module class or instance, default=BootstrappingLoss
        The loss after the turning point: a criterion whose ``forward`` takes a
        per-sample label weight ``beta`` (``alpha_i`` here), like
        :class:`~sknoisy.losses.BootstrappingLoss`, which D2L's target is; built with
        ``mode`` and ``reduction='none'``.
    **kwargs
        Any :class:`~sknoisy.NoisyNetClassifier` parameter (``max_epochs``, ``lr``,
        ``module__hidden_sizes``, ...).

    Attributes
    ----------
    lid_ : ndarray of shape (n_epochs,)
        ``LID_i`` of every epoch in ``history_`` (the LID of the network each epoch
        started from; NaN where no estimate was possible).
    turning_epoch_ : int or None
        The first epoch (counted from 1, as ``len(history_)``) trained on the blended
        target; ``None`` when the LID never turned.
    classes_, n_features_in_, n_samples_fit_, input_shape_, module_, history_
        As in :class:`~sknoisy.NoisyNetClassifier`; ``history_`` also has ``lid``
        (``LID_i``) and ``d2l_alpha`` (the label's weight that epoch; 1 before the
        turning point).

    See Also
    --------
    DynamicBootstrappingClassifier : the same blended target, weighted per sample by a
        loss mixture instead of by the epoch's dimensionality.
    sknoisy.losses.BootstrappingLoss : the blend with a fixed weight.

    Notes
    -----
    The LID is read through a torch forward hook that exists only during the
    estimate, so the fitted network carries none. A LID that cannot be estimated
    (all neighbours of the sampled rows coincide) is replaced by the previous one, as
    in the reference code. The reference code also reloads, at the turning point,
    the checkpoint saved at the end of the previous epoch, that is, the weights the
    network already has; no rollback is done here. With ``mixup_alpha > 0`` the
    prediction in the target is the one for the mixed batch. Cost: one
    evaluation-mode pass over ``lid_sample_size`` rows and their pairwise distances
    per epoch.

    References
    ----------
    .. [1] X. Ma, Y. Wang, M. E. Houle, S. Zhou, S. M. Erfani, S.-T. Xia, S. Wijewickrema
       and J. Bailey, "Dimensionality-Driven Learning with Noisy Labels", ICML 2018.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sknoisy.classifiers import D2LClassifier
    >>> X, y = make_blobs(n_samples=300, centers=3, random_state=0)
    >>> clf = D2LClassifier(warmup_epochs=2, window=3, max_epochs=10, lr=1e-2,
    ...                     random_state=0).fit(X, y)
    >>> clf.lid_.shape
    (10,)
    >>> bool(clf.score(X, y) > 0.8)
    True
    """

    _parameter_constraints: dict = {
        **NoisyNetClassifier._parameter_constraints,
        "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "window": [Interval(Integral, 2, None, closed="left")],
        "n_neighbors": [Interval(Integral, 2, None, closed="left")],
        "lid_sample_size": [Interval(Integral, 3, None, closed="left")],
        "lid_batch_size": [Interval(Integral, 3, None, closed="left")],
        "mode": [StrOptions({"hard", "soft"})],
        "representation": [None, str],
    }

    def __init__(self, module=None, *, warmup_epochs=5, window=5, n_neighbors=20,
                 lid_sample_size=1280, lid_batch_size=128, mode="hard", representation=None,
                 criterion=BootstrappingLoss, **kwargs):
        super().__init__(module, criterion=criterion, **kwargs)
        self.warmup_epochs = warmup_epochs
        self.window = window
        self.n_neighbors = n_neighbors
        self.lid_sample_size = lid_sample_size
        self.lid_batch_size = lid_batch_size
        self.mode = mode
        self.representation = representation

    def initialize_criterion(self):
        criterion = self.criterion
        forward = getattr(criterion, "forward", None)
        try:
            takes_beta = "beta" in inspect.signature(forward).parameters
        except (TypeError, ValueError):
            takes_beta = False
        if not takes_beta:
            raise TypeError(f"{type(self).__name__}: criterion {criterion!r} must take a "
                            "per-sample label weight beta in forward, like "
                            "sknoisy.losses.BootstrappingLoss.")
        settings = {**self.get_params_for("criterion"), "mode": self.mode,
                    "reduction": "none"}
        if isinstance(criterion, torch.nn.Module):
            criterion = copy.deepcopy(criterion)
            for key, value in settings.items():
                setattr(criterion, key, value)
        else:
            criterion = criterion(**settings)
        self.criterion_ = criterion
        return self

    # -- the representation and its LID -------------------------------------------------
    def representation_layer(self) -> tuple[torch.nn.Module, bool]:
        """The layer the representation is read from, and whether it is its input.

        Returns
        -------
        layer : torch.nn.Module
            The module named ``representation``, or the network's last
            ``torch.nn.Linear``.
        read_input : bool
            True when the representation is the layer's input (the default: the
            classifier's input), False when it is the named layer's output.
        """
        layers = dict(self.module_.named_modules())
        if self.representation is not None:
            if self.representation not in layers:
                names = [name for name in layers if name]
                raise ValueError(
                    f"{type(self).__name__}: representation={self.representation!r} is not "
                    f"a layer of {type(self.module_).__name__}; choose one of {names}.")
            return layers[self.representation], False
        linear = last_linear(self.module_)
        if linear is None:
            raise ValueError(
                f"{type(self).__name__}: {type(self.module_).__name__} has no nn.Linear "
                "classifier whose input is the penultimate representation; name the "
                "layer to read with representation='<name in module_.named_modules()>'.")
        return linear, True

    def representations(self, X: torch.Tensor) -> torch.Tensor:
        """The representation of a batch ``X`` under the current network, eval mode.

        Parameters
        ----------
        X : torch.Tensor
            A batch of (standardised) inputs on the training device.

        Returns
        -------
        torch.Tensor of shape (n_rows, n_dims)
        """
        layer, read_input = self.representation_layer()
        training = self.module_.training
        self._set_training(False)
        try:
            with capture_layer(layer, read_input=read_input) as captured, torch.no_grad():
                self.infer(X)
        finally:
            self._set_training(training)
        if not captured:
            raise RuntimeError(f"{type(self).__name__}: the representation layer was not "
                               "called in the network's forward pass; set representation "
                               "to a layer that is.")
        return captured[-1].flatten(1)

    def _estimate_lid(self, dataset) -> float:
        """Mean LID of ``lid_sample_size`` random training rows; NaN if none is defined."""
        base, rows = _base_and_rows(dataset)
        n = len(base) if rows is None else len(rows)
        if n < 3:
            return float("nan")
        state = self._fit_state
        picked = torch.randperm(n, generator=state.lid_generator)[:min(self.lid_sample_size, n)]
        if rows is not None:
            picked = rows[picked]
        batches = list(torch.split(picked, int(self.lid_batch_size)))
        if len(batches) > 1 and len(batches[-1]) < self.n_neighbors + 1:
            batches[-2:] = [torch.cat(batches[-2:])]
        # take() serves a batch the way training sees it (a memory-mapped X is read,
        # cast and standardised batch by batch).
        lids = [lid_mle(self.representations(base.take(batch.to(base.index_device))[0]),
                        self.n_neighbors) for batch in batches if len(batch) >= 3]
        values = torch.cat(lids)
        values = values[torch.isfinite(values)]
        return float(values.mean()) if len(values) else float("nan")

    # -- the schedule -------------------------------------------------------------------
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        state = self._fit_state
        state.lid_generator = torch.Generator().manual_seed(state.child_seed(*_LID_SEED_KEY))
        # A warm start continues the schedule of the epochs already in the history.
        state.turning_epoch = getattr(self, "turning_epoch_", None) \
            if self.current_epoch() > 0 else None
        state.alpha = 1.0

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        state = self._fit_state
        lid = self._estimate_lid(dataset_train)
        lids = self._history_lids()
        if not (np.isfinite(lid) and lid > 0) and len(lids):
            lid = lids[-1]
        self.history.record("lid", lid)
        lids = np.append(lids, lid)
        epoch = self.current_epoch()
        if state.turning_epoch is None and turning_point(lids, self.warmup_epochs,
                                                          self.window):
            state.turning_epoch = epoch
        state.alpha = 1.0
        if state.turning_epoch is not None:
            state.alpha = d2l_alpha(lids, self.max_epochs)
        self.history.record("d2l_alpha", state.alpha)

    def _history_lids(self) -> np.ndarray:
        """The LIDs of the epochs before the current one (NaN where none was recorded)."""
        return np.array([row.get("lid", np.nan) for row in list(self.history)[:-1]],
                        dtype=np.float64)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self.lid_ = np.array([row.get("lid", np.nan) for row in self.history],
                             dtype=np.float64)
        self.turning_epoch_ = self._fit_state.turning_epoch

    def get_per_sample_loss(self, y_pred, y_true, X=None, training=False, indices=None):
        """The blended-target loss with ``beta = alpha_i`` after the turning point; else CE.

        Validation losses are always cross-entropy on the given labels.
        """
        state = getattr(self, "_fit_state", None)
        if not training or state is None or state.turning_epoch is None:
            return per_sample_cross_entropy(y_pred, y_true)
        beta = torch.full((len(y_true),), float(state.alpha), device=y_pred.device)
        return self.criterion_(y_pred, y_true, beta=beta)
