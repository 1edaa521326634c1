"""A training-core net that records each sample's loss during the SGD step.

The detectors train this net and read its per-sample statistics. Losses are taken from
the forward pass the optimiser step already makes (no extra pass over the data), kept
in O(n_samples) buffers on the training device: the current epoch's losses, a running
mean and a running sum of squared deviations (Welford's algorithm) of the
epoch-mean-subtracted losses, and the last epoch's predicted class (and, on request,
its predicted probabilities, O(n_samples x n_classes), for the noise-rate estimate).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch

from .._core._base import NoisyNetClassifier
from .._core._validation import Interval, StrOptions

__all__ = ["NET_CONSTRAINTS", "LossRecorderNet", "net_kwargs"]


def net_kwargs(detector, **overrides) -> dict:
    """Keyword arguments for the detector's internal LossRecorderNet."""
    kwargs = {
        "module": detector.module,
        "optimizer": detector.optimizer,
        "batch_size": detector.batch_size,
        "device": detector.device,
        "random_state": detector.random_state,
        "verbose": detector.verbose,
    }
    extra = dict(detector.net_params or {})
    if detector.optimizer is torch.optim.SGD and "optimizer__momentum" not in extra:
        kwargs["optimizer__momentum"] = 0.9
    kwargs.update(extra)
    kwargs.update(overrides)
    return kwargs


NET_CONSTRAINTS: dict = {
    "optimizer": [type],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "net_params": [dict, None],
    "action": [StrOptions({"drop", "relabel"})],
}


class LossRecorderNet(NoisyNetClassifier):
    """NoisyNetClassifier that keeps per-sample loss statistics over the last epochs.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        As for :class:`~sknoisy.NoisyNetClassifier`.
    record_from : int, default=0
        Number of epochs trained before recording starts; epochs
        ``record_from + 1 .. max_epochs`` are recorded.
    cycle_length : int or None, default=None
        When set, the recorded epochs use O2U-Net's cyclical learning rate with this
        cycle length (in epochs) between ``lr_max`` and ``lr_min``.
    lr_max, lr_min : float or None, default=None
        Cyclical learning-rate bounds (r1 > r2 in the O2U-Net paper).
    record_trajectories : bool, default=False
        Also keep every recorded epoch's losses, an O(epochs x n_samples) array.
    record_proba : bool, default=False
        Also keep the softmax probabilities each sample got during its SGD step of the
        last recorded epoch (``last_proba_``), an O(n_samples x n_classes) buffer.
    **kwargs
        Any :class:`~sknoisy.NoisyNetClassifier` parameter.

    Attributes
    ----------
    loss_mean_ : ndarray of shape (n_samples,)
        Mean over recorded epochs of (loss - that epoch's mean loss).
    loss_var_ : ndarray of shape (n_samples,)
        Population variance of the same quantity.
    last_loss_ : ndarray of shape (n_samples,)
        Raw losses of the last recorded epoch.
    last_pred_ : ndarray of shape (n_samples,)
        Encoded class predicted for each sample during the last recorded epoch.
    loss_trajectories_ : ndarray of shape (n_recorded_epochs, n_samples)
        Only with ``record_trajectories=True``.
    last_proba_ : ndarray of shape (n_samples, n_classes)
        Only with ``record_proba=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.detectors._recording import LossRecorderNet
    >>> X = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    >>> y = (X[:, 0] > 0).astype(int)
    >>> net = LossRecorderNet(max_epochs=3, record_from=1, random_state=0).fit(X, y)
    >>> net.loss_mean_.shape, int(net.n_recorded_)
    ((40,), 2)
    """

    def __init__(self, module=None, *, record_from=0, cycle_length=None, lr_max=None,
                 lr_min=None, record_trajectories=False, record_proba=False, **kwargs):
        super().__init__(module, **kwargs)
        self.record_from = record_from
        self.cycle_length = cycle_length
        self.lr_max = lr_max
        self.lr_min = lr_min
        self.record_trajectories = record_trajectories
        self.record_proba = record_proba

    def fit_arrays(self, X, y):
        n, device = len(X), self.device
        self.epoch_loss_buf_ = torch.zeros(n, device=device)
        self.seen_buf_ = torch.zeros(n, dtype=torch.bool, device=device)
        self.count_buf_ = torch.zeros(n, device=device)
        self.mean_buf_ = torch.zeros(n, device=device)
        self.m2_buf_ = torch.zeros(n, device=device)
        self.pred_buf_ = torch.zeros(n, dtype=torch.long, device=device)
        self.epoch_index_ = 0
        self.n_recorded_ = 0
        self.trajectories_ = [] if self.record_trajectories else None
        self.proba_buf_ = (torch.zeros((n, len(self.classes_)), device=device)
                           if self.record_proba else None)
        super().fit_arrays(X, y)
        self.loss_mean_ = self.mean_buf_.cpu().numpy().astype(np.float64)
        self.loss_var_ = (self.m2_buf_ / self.count_buf_.clamp(min=1)).cpu().numpy().astype(
            np.float64)
        self.last_loss_ = self.epoch_loss_buf_.cpu().numpy().astype(np.float64)
        self.last_pred_ = self.pred_buf_.cpu().numpy()
        if self.trajectories_ is not None:
            self.loss_trajectories_ = np.stack(self.trajectories_) if self.trajectories_ \
                else np.empty((0, n))
        if self.proba_buf_ is not None:
            self.last_proba_ = self.proba_buf_.cpu().numpy()
        for name in ("epoch_loss_buf_", "seen_buf_", "count_buf_", "mean_buf_", "m2_buf_",
                     "pred_buf_", "trajectories_", "proba_buf_"):
            vars(self).pop(name, None)

    def _recording(self) -> bool:
        return self.epoch_index_ > self.record_from and hasattr(self, "seen_buf_")

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self.epoch_index_ = getattr(self, "epoch_index_", 0) + 1
        if self.cycle_length and self._recording():
            t = self.epoch_index_ - self.record_from
            c = int(self.cycle_length)
            s = (1 + (t - 1) % c) / c
            lr = (1 - s) * self.lr_max + s * self.lr_min
            for group in self.optimizer_.param_groups:
                group["lr"] = lr
            self.history.record("lr", lr)

    def get_loss(self, y_pred, y_true, X=None, training=False, indices=None):
        losses = self.criterion_(y_pred, y_true)
        if training and indices is not None and self._recording():
            with torch.no_grad():
                self.epoch_loss_buf_[indices] = losses.detach().float()
                self.seen_buf_[indices] = True
                self.pred_buf_[indices] = y_pred.detach().argmax(dim=1)
                if self.proba_buf_ is not None:
                    self.proba_buf_[indices] = torch.softmax(y_pred.detach().float(), dim=1)
        return self.reduce_loss(losses, indices)

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)
        if not self._recording():
            return
        seen = self.seen_buf_
        if not bool(seen.any()):
            return
        # Subtracting the epoch's mean loss removes the drift of the loss level across
        # the learning-rate cycle, so epochs are comparable (O2U-Net).
        centred = self.epoch_loss_buf_ - self.epoch_loss_buf_[seen].mean()
        count = self.count_buf_ + seen.float()
        delta = torch.where(seen, centred - self.mean_buf_, torch.zeros_like(centred))
        self.mean_buf_ += delta / count.clamp(min=1)
        self.m2_buf_ += delta * (centred - self.mean_buf_)
        self.count_buf_ = count
        self.n_recorded_ += 1
        if self.trajectories_ is not None:
            row = torch.where(seen, centred, torch.full_like(centred, float("nan")))
            self.trajectories_.append(row.cpu().numpy())
        seen.zero_()
