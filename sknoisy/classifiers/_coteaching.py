"""Co-teaching and Co-teaching+: two networks that choose each other's training samples."""

from __future__ import annotations

import copy
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from skorch.utils import to_tensor

from .._core._base import NoisyNetClassifier
from .._core._record import RECORD_NAME, PerSampleRecord
from .._core._validation import Interval, StrOptions
from ..noise import estimate_noise_rate
from ._schedules import forget_rate_schedule

__all__ = ["CoTeachingClassifier"]


def _estimate_noise_rate(proba: np.ndarray, y: np.ndarray) -> float:
    # Imported on use: only forget_rate='auto' needs the detectors package.
    from ..noise import estimate_noise_rate

    return float(estimate_noise_rate(proba=proba, y=y, method="confident_joint"))


def _n_keep(forget_rate: float, n: int) -> int:
    # round() stops float error (0.7 * 10 = 7.000000000000001) from keeping one more.
    return max(1, math.ceil(round((1.0 - forget_rate) * n, 6)))


def _smallest(losses: torch.Tensor, candidates: torch.Tensor, k: int) -> torch.Tensor:
    """Positions (into the batch) of the ``k`` candidates with the smallest loss."""
    order = torch.argsort(losses[candidates], stable=True)
    return candidates[order[:k]]


class CoTeachingClassifier(NoisyNetClassifier):
    """Co-teaching (and Co-teaching+): two networks teach each other on small-loss samples.

    Two networks of the same architecture, initialised differently, are trained
    together. In every batch each network ranks its own per-sample losses and keeps
    the ``R(T)`` fraction with the smallest loss, ``R(T) = 1 - tau * min(T ** c / T_k,
    1)`` after ``T`` epochs of training (so the first epoch keeps every sample);
    network 1 is then updated on the samples network 2 kept and
    vice versa (Han et al., 2018). Small-loss samples are likely to be correctly
    labelled, and because the two networks make different mistakes, exchanging the
    selections stops each from confirming its own errors.

    With ``variant='plus'`` (Co-teaching+, Yu et al., 2019), after ``init_epoch``
    epochs the candidates of each batch are first restricted to the samples on which
    the two networks' predicted classes disagree, which keeps the networks from
    converging to each other; the small-loss rule then keeps ``R(T)`` of those.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The architecture of both networks (see :class:`sknoisy.NoisyNetClassifier`);
        ``module__*`` parameters apply to both. A module *instance* is copied for the
        second network and its layers' ``reset_parameters`` are called, so the two
        start from different weights.
    forget_rate : float in [0, 1) or 'auto', default='auto'
        ``tau``, the fraction of each batch finally dropped. The paper sets it to the
        noise rate; give it when it is known. ``'auto'`` (the default; formerly a fixed
        0.2, which dropped a fifth of every batch of clean data, or of data a detector
        had already cleaned: see ``benchmarks/results/defaults.md``) estimates ``tau``
        during the ramp: the first
        epoch trains on every sample; at the end of each of the first ``num_gradual``
        epochs ``tau`` is set to the confident-joint noise rate
        (:func:`sknoisy.noise.estimate_noise_rate`) of the mean of the two
        networks' class probabilities, recorded for each sample during its training
        step of that epoch by a :class:`~sknoisy.callbacks.PerSampleRecord` (no extra
        pass; an ``(n_samples, n_classes)`` buffer, freed at the end of fit), and
        it is fixed from then on. Early estimates are high (undertrained networks) but
        weigh little, since the ramp drops only ``tau * T / T_k`` after ``T`` epochs. See
        ``benchmarks/results/coteaching.md`` for its accuracy.
    num_gradual : int, default=10
        ``T_k``: the epochs over which the dropped fraction ramps up from 0 to
        ``tau``; epoch ``warmup_epochs + T_k + 1`` is the first to drop ``tau``.
    exponent : float, default=1.0
        ``c``: shape of the ramp, ``min(T ** c / T_k, 1)``; 1 is linear.
    variant : {'standard', 'plus'}, default='standard'
        ``'standard'`` is Co-teaching, ``'plus'`` is Co-teaching+.
    init_epoch : int, default=20
        Co-teaching+ only: epochs of standard Co-teaching before the disagreement
        restriction starts (from epoch ``init_epoch + 1``; 0 restricts from the first
        epoch). 20 is the reference code's value for CIFAR-10.
    predict_with : {'first', 'mean'}, default='first'
        Predict with the first network, or average both networks' class
        probabilities.
    warmup_epochs : int, default=0
        Epochs in which both networks train on every sample with plain cross
        entropy (whatever ``criterion`` is) before the ramp of ``R(T)`` starts; ``T``
        then counts the epochs after the warm-up. The paper has none: its ramp,
        which drops nothing in the first epoch, is the warm-up.
    **kwargs
        Every parameter of :class:`sknoisy.NoisyNetClassifier` (``max_epochs``,
        ``lr``, ``optimizer__*``, ``device``, ``random_state``, ...). One optimizer
        holds both networks' parameters; since each network's loss depends only on
        its own parameters, this is the same as one optimizer per network.

    Attributes
    ----------
    module_, module2_ : torch.nn.Module
        The two networks.
    forget_rate_ : float
        The ``tau`` used (``forget_rate``, or the estimate when it is ``'auto'``).
    forget_rate_estimated_ : bool
        Whether ``forget_rate_`` is the final estimate of ``forget_rate='auto'``
        (False while it is still being re-estimated during the ramp).
    history_ : skorch History
        Besides skorch's entries, per epoch: ``forget_rate`` (the fraction dropped
        that epoch, ``tau * min(T ** c / T_k, 1)``), ``kept_loss`` and
        ``dropped_loss`` (mean per-sample loss, under the network that ranked them,
        of the candidates each network kept and of those it dropped; NaN when none
        was dropped) and ``disagreement`` (fraction of training samples on which the
        two networks' predicted classes differed). ``train_loss`` is the mean of the
        two networks' losses.
    classes_, n_features_in_, input_shape_
        As in :class:`sknoisy.NoisyNetClassifier`.

    See Also
    --------
    sknoisy.NoisyNetClassifier : The training core; one network, any criterion.

    Notes
    -----
    The per-sample losses come from ``criterion`` (cross-entropy by default; a robust
    loss from :mod:`sknoisy.losses` also works). Each network's loss is the mean over
    the samples its peer kept, with ``sample_weight`` applied; a batch keeps at least
    one sample. The dropped fraction of Co-teaching+ applies to the size of the
    disagreement set; when the networks agree on a whole batch, the small-loss rule
    is applied to the whole batch. This differs from the reference code of
    Co-teaching+, which then trains on every sample of the batch unselected, and
    which applies softmax twice before ranking (here the ranking uses the raw
    losses). Unlike the reference code of Co-teaching, both networks predict in
    evaluation mode (no dropout) and the loss is divided by the kept count once.

    With ``predict_with='mean'``, the networks' output at predict time is the log of
    the averaged probabilities, so the default softmax of ``predict_proba`` returns
    exactly the averaged probabilities.

    Training costs about twice plain training: two forward and two backward passes
    per batch.

    References
    ----------
    .. [1] B. Han et al., "Co-teaching: Robust training of deep neural networks with
       extremely noisy labels", NeurIPS 2018.
    .. [2] X. Yu et al., "How does disagreement help generalization against label
       corruption?", ICML 2019.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknoisy.classifiers import CoTeachingClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = CoTeachingClassifier(forget_rate=0.2, num_gradual=5, max_epochs=40,
    ...                            lr=1e-2, random_state=0).fit(X, y)
    >>> [round(r, 2) for r in clf.history[:7, "forget_rate"]]
    [0.0, 0.04, 0.08, 0.12, 0.16, 0.2, 0.2]
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    _parameter_constraints: dict = {
        **NoisyNetClassifier._parameter_constraints,
        "forget_rate": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "num_gradual": [Interval(Integral, 1, None, closed="left")],
        "exponent": [Interval(Real, 0, None, closed="neither")],
        "variant": [StrOptions({"standard", "plus"})],
        "init_epoch": [Interval(Integral, 0, None, closed="left")],
        "predict_with": [StrOptions({"first", "mean"})],
    }

    def __init__(
        self,
        module=None,
        *,
        forget_rate="auto",
        num_gradual=10,
        exponent=1.0,
        variant="standard",
        init_epoch=20,
        predict_with="first",
        **kwargs,
    ):
        super().__init__(module, **kwargs)
        self.forget_rate = forget_rate
        self.num_gradual = num_gradual
        self.exponent = exponent
        self.variant = variant
        self.init_epoch = init_epoch
        self.predict_with = predict_with

    def _check_params(self) -> None:
        super()._check_params()
        for name in ("forget_rate", "num_gradual", "exponent", "init_epoch"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{type(self).__name__}: {name} must be a number, not the "
                                f"bool {value!r}.")

    # -- the two networks ---------------------------------------------------------------------
    def initialize_module(self):
        super().initialize_module()
        # Built right after the first network under the same seeded RNG, so the
        # initial weights differ yet are reproducible.
        self.module2_ = self._build_peer()
        return self

    def _build_peer(self) -> torch.nn.Module:
        kwargs = self.get_params_for("module")
        if not (isinstance(self.module, torch.nn.Module) and not kwargs):
            return self.build_module(self.module, kwargs)
        # A bare instance cannot be rebuilt, so copy it and draw fresh weights: two
        # identical networks would select the same samples forever.
        peer = copy.deepcopy(self.module_)
        for layer in peer.modules():
            if callable(getattr(layer, "reset_parameters", None)):
                layer.reset_parameters()
        pairs = list(zip(peer.parameters(), self.module_.parameters()))
        if pairs and all(torch.equal(a, b) for a, b in pairs):
            warnings.warn(
                f"{type(self).__name__}: the module instance's layers have no "
                "reset_parameters(), so both networks start from the same weights and "
                "Co-teaching reduces to one network; pass the module class instead.",
                UserWarning, stacklevel=3)
        return peer

    def _infer_peer(self, Xi, **fit_params) -> torch.Tensor:
        return self.module2_(to_tensor(Xi, device=self.device), **fit_params)

    # -- per-epoch state --------------------------------------------------------------------
    @property
    def _default_callbacks(self):
        callbacks = super()._default_callbacks
        # isinstance first: set_params may have stored an invalid (array) value, which
        # fit rejects with a clear message; building callbacks must not fail before that.
        if isinstance(self.forget_rate, str) and self.forget_rate == "auto":
            # The mean of both networks' probabilities during the ramp's epochs: what the
            # automatic rate is estimated from, and only for as long as it is.
            ramp_end = self.num_gradual + (self.warmup_epochs
                                           if isinstance(self.warmup_epochs, Integral) else 0)
            callbacks.append((RECORD_NAME, PerSampleRecord(
                stop_epoch=ramp_end, proba=True, keep_results=False)))
        return callbacks

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        if self.forget_rate != "auto":
            self.forget_rate_ = float(self.forget_rate)
            self.forget_rate_estimated_ = False
        elif not (self.current_epoch() > 0 and getattr(self, "forget_rate_estimated_", False)):
            if self.current_epoch() == 0:
                # None: no estimate yet, so the first epoch drops nothing.
                self.forget_rate_ = None
            self.forget_rate_estimated_ = False

    def _update_estimate(self, last_epoch: int) -> None:
        """Re-estimate ``forget_rate_`` from epoch ``last_epoch``, the last one recorded."""
        if self.forget_rate != "auto" or self.forget_rate_estimated_:
            return
        record = self.per_sample_record()
        if not record.n_recorded_:
            return
        proba = record.epoch_proba().cpu().numpy().astype(np.float64)
        self.forget_rate_ = float(estimate_noise_rate(proba=proba, y=record.targets(),
                                                      method="confident_joint"))
        # The estimate from the end of the ramp is final.
        self.forget_rate_estimated_ = last_epoch >= self.warmup_epochs + self.num_gradual

    def current_forget_rate(self) -> float:
        """Fraction of each batch dropped in the current epoch (``len(history_)``).

        Returns
        -------
        float
            ``tau * min(T ** c / T_k, 1)`` with ``T`` the epochs trained since the
            warm-up; 0 during the warm-up, in the first epoch after it, and before
            ``forget_rate='auto'`` has a first estimate.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sknoisy.classifiers import CoTeachingClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = CoTeachingClassifier(forget_rate=0.3, max_epochs=3, random_state=0)
        >>> round(clf.fit(X, y).current_forget_rate(), 2)
        0.06
        """
        if getattr(self, "forget_rate_", None) is None:
            return 0.0
        return forget_rate_schedule(self.current_epoch() - self.warmup_epochs,
                                    self.forget_rate_, self.num_gradual, self.exponent)

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                               **kwargs)
        self._update_estimate(last_epoch=self.current_epoch() - 1)
        # Loss sums stay on the device (no per-batch sync); counts are Python ints.
        self._fit_state.epoch_sums = torch.zeros(3, device=self.device)
        self._fit_state.epoch_counts = [0, 0, 0]

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                             **kwargs)
        kept_sum, dropped_sum, disagree_n = self._fit_state.epoch_sums.tolist()
        kept_n, dropped_n, seen_n = self._fit_state.epoch_counts
        self.history.record("forget_rate", self.current_forget_rate())
        self.history.record("kept_loss", kept_sum / kept_n if kept_n else float("nan"))
        self.history.record("dropped_loss",
                            dropped_sum / dropped_n if dropped_n else float("nan"))
        self.history.record("disagreement", disagree_n / seen_n if seen_n else float("nan"))

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        # The record still holds the last epoch here (skorch notifies the net first).
        self._update_estimate(last_epoch=self.current_epoch())

    # -- the training step ------------------------------------------------------------------
    def _per_sample_losses(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # The core's per-sample loss: cross entropy during the warm-up, then criterion.
        losses = self.get_per_sample_loss(logits, y, training=True)
        if losses.ndim != 1:
            raise ValueError(
                f"{type(self).__name__} ranks samples by their loss, but criterion "
                f"{type(self.criterion_).__name__} returns a loss of shape "
                f"{tuple(losses.shape)} per batch; use a criterion that accepts "
                "reduction='none'.")
        return losses

    def _candidates(self, disagree: torch.Tensor) -> torch.Tensor:
        """Batch positions the small-loss rule chooses from."""
        n = len(disagree)
        if self.variant == "plus" and self.current_epoch() > self.init_epoch:
            rows = torch.nonzero(disagree).squeeze(1)
            if len(rows):
                return rows
        return torch.arange(n, device=disagree.device)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        indices = getattr(batch, "indices", None)
        logits1 = self.infer(Xi, **fit_params)
        logits2 = self._infer_peer(Xi, **fit_params)
        losses1 = self._per_sample_losses(logits1, yi)
        losses2 = self._per_sample_losses(logits2, yi)
        with torch.no_grad():
            # argmax of logits equals argmax of probabilities: no softmax needed here.
            disagree = logits1.argmax(dim=1) != logits2.argmax(dim=1)
            candidates = self._candidates(disagree)
            k = _n_keep(self.current_forget_rate(), len(candidates))
            kept_by_1 = _smallest(losses1.detach(), candidates, k)
            kept_by_2 = _smallest(losses2.detach(), candidates, k)
        # Cross update: each network learns from the samples its peer found clean.
        loss1 = self.reduce_loss(losses1[kept_by_2],
                                 None if indices is None else indices[kept_by_2])
        loss2 = self.reduce_loss(losses2[kept_by_1],
                                 None if indices is None else indices[kept_by_1])
        (loss1 + loss2).backward()
        self._record_batch(losses1.detach(), losses2.detach(), candidates, kept_by_1,
                           kept_by_2, disagree)
        with torch.no_grad():
            proba = (torch.softmax(logits1.detach(), dim=1)
                     + torch.softmax(logits2.detach(), dim=1)) / 2
        return {"loss": (loss1.detach() + loss2.detach()) / 2, "y_pred": logits1,
                "losses": (losses1.detach() + losses2.detach()) / 2, "proba": proba}

    def _record_batch(self, losses1, losses2, candidates, kept_by_1, kept_by_2, disagree):
        state = getattr(self, "_fit_state", None)
        if state is None or not hasattr(state, "epoch_sums"):
            return  # a step run by hand outside fit's epochs
        kept = losses1[kept_by_1].sum() + losses2[kept_by_2].sum()
        pool = losses1[candidates].sum() + losses2[candidates].sum()
        state.epoch_sums += torch.stack([kept, pool - kept, disagree.sum().to(kept.dtype)])
        state.epoch_counts[0] += 2 * len(kept_by_1)
        state.epoch_counts[1] += 2 * (len(candidates) - len(kept_by_1))
        state.epoch_counts[2] += len(disagree)

    # -- prediction -----------------------------------------------------------------------------
    def evaluation_step(self, batch, training=False):
        if self.predict_with == "first":
            return super().evaluation_step(batch, training=training)
        self.check_is_fitted()
        Xi = batch[0] if isinstance(batch, (tuple, list)) else batch
        with torch.set_grad_enabled(training):
            self._set_training(training)
            log_p = torch.stack([torch.log_softmax(self.infer(Xi), dim=-1),
                                 torch.log_softmax(self._infer_peer(Xi), dim=-1)])
            # log of the mean probability, computed stably in log space.
            return torch.logsumexp(log_p, dim=0) - math.log(2.0)
