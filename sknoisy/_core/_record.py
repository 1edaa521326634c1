"""``PerSampleRecord``: per-sample losses of every training step, kept as running statistics.

Every sknoisy net returns, from its training step, the per-sample losses of the batch
(``losses``) beside skorch's ``loss`` and ``y_pred``; skorch hands that step dict to
``on_batch_end`` together with the batch, whose ``indices`` are the rows' positions in
the training set. This callback writes those values into buffers of one entry per
training sample, on the training device, and folds each recorded epoch into running
statistics at ``on_epoch_end``. It is the one place where methods get per-sample state:
the detectors read its statistics after fit, Co-teaching's automatic forget rate and
dynamic bootstrapping read the last epoch's values between epochs.

Ordering: skorch notifies the net itself before its callbacks, so in the net's own
``on_epoch_begin`` the record holds the epoch that just finished, and in the net's
``on_train_end`` it still holds its buffers.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from skorch.callbacks import Callback

from ._distributed import data_parallel

__all__ = ["RECORD_NAME", "PerSampleRecord", "per_sample_cross_entropy", "prediction_logits"]

# The callback name under which sknoisy's methods and detectors install their record.
RECORD_NAME = "per_sample_record"


def prediction_logits(output):
    """The (N, C) logits a module's ``output`` predicts with.

    skorch's convention for modules with several outputs: the first element of a
    tuple is the prediction, the rest are for the criterion (DropMax's network returns
    its expected-mask logits first, then the class, retain and auxiliary logits).
    A plain tensor is returned unchanged.
    """
    return output[0] if isinstance(output, tuple) else output


def per_sample_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each sample's given label, shape (N,)."""
    return torch.nn.functional.cross_entropy(prediction_logits(logits), target,
                                             reduction="none")


class PerSampleRecord(Callback):
    """Record each training sample's loss (and class probabilities) during training.

    Parameters
    ----------
    start_epoch : int, default=1
        First recorded epoch, counted from 1 as ``len(net.history)``.
    stop_epoch : int or None, default=None
        Last recorded epoch; ``None`` records to the end.
    proba : bool or 'mean', default=False
        Also keep each sample's class probabilities from its last recorded step: an
        ``(n_samples, n_classes)`` buffer. A step dict with a ``proba`` entry (the mean
        of Co-teaching's two networks) is used as is; otherwise ``softmax(y_pred)``.
        ``'mean'`` also averages them over the recorded epochs (a second buffer of the
        same size), for estimates that must not rest on one epoch's weights.
    trajectories : bool, default=False
        Also keep every recorded epoch's centred losses: ``(n_epochs, n_samples)``.
    eval_pass : bool, default=False
        At the end of each recorded epoch, pass the training set once through the
        network in evaluation mode and record those losses instead of the ones seen
        during the SGD steps (whose weights moved within the epoch). Costs one extra
        forward pass over the data per recorded epoch.
    loss : callable or None, default=None
        ``loss(logits, targets) -> (N,) tensor`` to record instead of the losses the
        net trains with, for example :func:`per_sample_cross_entropy` when the mixture
        of a method must see the cross-entropy of the given label whatever the training
        loss (dynamic bootstrapping). ``None`` records the step's ``losses`` (in an
        evaluation pass: the net's ``get_per_sample_loss``).
    keep_results : bool, default=True
        Keep the statistics as numpy arrays after fit. Methods that only need the
        values during training set False, so nothing is left on the fitted net.

    Attributes
    ----------
    n_recorded_ : int
        Number of epochs folded into the statistics.
    loss_mean_ : ndarray of shape (n_samples,)
        Mean over recorded epochs of each sample's loss minus that epoch's mean loss
        (the centring removes the drift of the loss level between epochs).
    loss_var_ : ndarray of shape (n_samples,)
        Population variance of the same centred loss (Welford's algorithm).
    last_loss_ : ndarray of shape (n_samples,)
        Raw losses of the last recorded epoch.
    last_pred_ : ndarray of shape (n_samples,)
        Encoded class predicted for each sample in the last recorded epoch.
    last_proba_ : ndarray of shape (n_samples, n_classes)
        Only with ``proba=True`` or ``'mean'``.
    mean_proba_ : ndarray of shape (n_samples, n_classes)
        Only with ``proba='mean'``: each sample's probabilities averaged over the
        recorded epochs in which it was seen.
    loss_trajectories_ : ndarray of shape (n_epochs_recorded, n_samples)
        Only with ``trajectories=True``; NaN where a sample was not seen.

    Notes
    -----
    Memory is O(n_samples) on the training device (five buffers), plus
    O(n_samples x n_classes) with ``proba=True``; nothing is copied to the host
    before the end of fit. A sample not seen in a recorded epoch (``drop_last``)
    keeps its statistics unchanged for that epoch. In data-parallel training (a net
    with an ``accelerator``) each process records the rows it trained on, and at the
    end of every recorded epoch one all-reduce merges the epoch's values (losses,
    predictions, probabilities) of all rows into every process before they are
    folded, so the statistics equal those of one process seeing every row.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy import NoisyNetClassifier
    >>> from sknoisy.callbacks import PerSampleRecord
    >>> X = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    >>> y = (X[:, 0] > 0).astype(int)
    >>> net = NoisyNetClassifier(max_epochs=3, random_state=0, callbacks=[
    ...     ("record", PerSampleRecord(start_epoch=2))]).fit(X, y)
    >>> record = dict(net.callbacks_)["record"]
    >>> record.n_recorded_, record.loss_mean_.shape
    (2, (40,))
    """

    def __init__(self, start_epoch: int = 1, stop_epoch: int | None = None,
                 proba: bool = False, trajectories: bool = False, eval_pass: bool = False,
                 loss=None, keep_results: bool = True) -> None:
        self.start_epoch = start_epoch
        self.stop_epoch = stop_epoch
        self.proba = proba
        self.trajectories = trajectories
        self.eval_pass = eval_pass
        self.loss = loss
        self.keep_results = keep_results

    # -- lifecycle ------------------------------------------------------------------------
    def initialize(self):
        self._check_params()
        self.buffers_ = None
        return self

    def _check_params(self) -> None:
        for name in ("start_epoch", "stop_epoch"):
            value = getattr(self, name)
            if value is None and name == "stop_epoch":
                continue
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
                raise ValueError(f"PerSampleRecord: {name} must be an integer >= 1 (epochs "
                                 f"count from 1); got {value!r}.")
        if self.proba not in (True, False, "mean"):
            raise ValueError(f"PerSampleRecord: proba must be True, False or 'mean'; got "
                             f"{self.proba!r}.")

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        n = len(X)
        device = net.device
        self.buffers_ = {
            "loss": torch.zeros(n, device=device),
            "seen": torch.zeros(n, dtype=torch.bool, device=device),
            "count": torch.zeros(n, device=device),
            "mean": torch.zeros(n, device=device),
            "m2": torch.zeros(n, device=device),
            "pred": torch.zeros(n, dtype=torch.long, device=device),
        }
        if self.proba:
            self.buffers_["proba"] = torch.zeros((n, len(net.classes_)), device=device)
        if self.proba == "mean":
            self.buffers_["proba_sum"] = torch.zeros((n, len(net.classes_)), device=device)
        self.trajectory_rows_ = [] if self.trajectories else None
        self.targets_ = y
        self.n_recorded_ = 0
        for name in ("loss_mean_", "loss_var_", "last_loss_", "last_pred_", "last_proba_",
                     "mean_proba_", "loss_trajectories_"):
            vars(self).pop(name, None)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if self.buffers_ is None:
            return
        if self.keep_results:
            buffers = self.buffers_
            self.loss_mean_ = _host(buffers["mean"])
            self.loss_var_ = _host(buffers["m2"] / buffers["count"].clamp(min=1))
            self.last_loss_ = _host(buffers["loss"])
            self.last_pred_ = buffers["pred"].cpu().numpy()
            if self.proba:
                self.last_proba_ = _host(buffers["proba"])
            if self.proba == "mean":
                self.mean_proba_ = _host(buffers["proba_sum"]
                                         / buffers["count"].clamp(min=1)[:, None])
            if self.trajectory_rows_ is not None:
                self.loss_trajectories_ = (np.stack(self.trajectory_rows_) if self.trajectory_rows_
                                           else np.empty((0, len(buffers["loss"]))))
        self.buffers_ = self.trajectory_rows_ = self.targets_ = None

    # -- what methods read during training ------------------------------------------------
    def recording(self, net) -> bool:
        """Whether the current epoch (``len(net.history)``) is recorded."""
        epoch = len(net.history)
        return self.buffers_ is not None and epoch >= self.start_epoch and (
            self.stop_epoch is None or epoch <= self.stop_epoch)

    def epoch_losses(self) -> torch.Tensor:
        """Raw per-sample losses of the last recorded epoch, on the training device."""
        return self._live("loss")

    def epoch_proba(self) -> torch.Tensor:
        """Class probabilities of the last recorded epoch (needs ``proba=True``)."""
        if not self.proba:
            raise AttributeError("PerSampleRecord was built with proba=False; pass "
                                 "proba=True to record class probabilities.")
        return self._live("proba")

    def targets(self) -> np.ndarray:
        """The encoded training labels the record was sized for."""
        self._live("loss")
        return np.asarray(self.targets_)

    def _live(self, name: str) -> torch.Tensor:
        if getattr(self, "buffers_", None) is None:
            raise RuntimeError("PerSampleRecord holds buffers only during fit; read "
                               "loss_mean_, last_loss_, ... after it.")
        return self.buffers_[name]

    # -- recording ----------------------------------------------------------------------------
    def on_batch_end(self, net, batch=None, training=False, **step):
        if not training or self.eval_pass or not self.recording(net):
            return
        indices = getattr(batch, "indices", None)
        logits = prediction_logits(step.get("y_pred"))
        if self.loss is not None and indices is not None:
            with torch.no_grad():
                losses = self.loss(logits.detach(), batch[1])
        else:
            losses = step.get("losses")
        if indices is None or losses is None:
            raise RuntimeError(
                f"PerSampleRecord needs row indices and per-sample losses from each "
                f"training step; {type(net).__name__} gave "
                f"{'no batch.indices' if indices is None else 'no losses in its step'}. "
                "Keep sknoisy's default iterator_train and train_step_single.")
        self._store(indices, losses, logits, step.get("proba"))

    def _store(self, indices, losses, logits, proba) -> None:
        buffers = self.buffers_
        with torch.no_grad():
            buffers["loss"][indices] = losses.detach().float()
            buffers["seen"][indices] = True
            if logits is not None:
                buffers["pred"][indices] = logits.detach().argmax(dim=1)
            if self.proba:
                if proba is None:
                    proba = torch.softmax(logits.detach().float(), dim=1)
                buffers["proba"][indices] = proba.detach().float()

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if not self.recording(net):
            return
        if self.eval_pass:
            self._evaluate(net, dataset_train)
        self._merge_processes(net)
        buffers = self.buffers_
        seen = buffers["seen"]
        if not bool(seen.any()):
            return
        losses = buffers["loss"]
        centred = losses - losses[seen].mean()
        count = buffers["count"] + seen.float()
        delta = torch.where(seen, centred - buffers["mean"], torch.zeros_like(centred))
        buffers["mean"] += delta / count.clamp(min=1)
        buffers["m2"] += delta * (centred - buffers["mean"])
        buffers["count"] = count
        if self.proba == "mean":
            buffers["proba_sum"] += buffers["proba"] * seen.float()[:, None]
        self.n_recorded_ += 1
        if self.trajectory_rows_ is not None:
            row = torch.where(seen, centred, torch.full_like(centred, float("nan")))
            self.trajectory_rows_.append(row.cpu().numpy().astype(np.float64))
        seen.zero_()

    def _merge_processes(self, net) -> None:
        """In data-parallel training, put every process's rows into every process's buffers.

        Each process recorded the rows it trained on; after this the epoch's values of
        all rows are everywhere, so the statistics folded from them (and anything a
        method computes from them) are the same on every process.
        """
        parallel = data_parallel(net)
        if parallel is None:
            return
        names = [name for name in ("loss", "pred", "proba") if name in self.buffers_]
        merged, seen = parallel.merge([self.buffers_[name] for name in names],
                                      self.buffers_["seen"])
        self.buffers_.update(zip(names, merged))
        self.buffers_["seen"] = seen

    def _evaluate(self, net, dataset) -> None:
        """One eval-mode pass over the training rows, recording their losses."""
        for batch, output in evaluation_pass(net, dataset):
            Xi, yi = batch
            logits = prediction_logits(output)
            if self.loss is not None:
                losses = self.loss(logits, yi)
            else:
                losses = net.get_per_sample_loss(output, yi, X=Xi, training=False,
                                                 indices=batch.indices)
            self._store(batch.indices, losses, logits, None)


def evaluation_pass(net, dataset):
    """Yield ``(batch, output)`` for each batch of ``dataset`` in evaluation mode.

    The rows come in order (the evaluation iterator does not shuffle), without
    gradients; the next training step puts the module back in training mode.
    """
    net._set_training(False)
    with torch.no_grad():
        for batch in net.get_iterator(dataset, training=False):
            yield batch, net.infer(batch[0])


def _host(tensor: torch.Tensor) -> np.ndarray:
    return tensor.cpu().numpy().astype(np.float64)
