"""Co-teaching, Co-teaching+ and JoCoR: two networks that choose their training samples."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch

from .._core._base import NoisyNetClassifier
from .._core._distributed import data_parallel
from .._core._peers import MultiNetworkMixin, per_sample_kl
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


def _rows(indices: torch.Tensor | None, positions: torch.Tensor) -> torch.Tensor | None:
    """Training-set rows of the batch ``positions`` (for the sample weights)."""
    return None if indices is None else indices[positions]


def jocor_loss(losses1: torch.Tensor, losses2: torch.Tensor, logits1: torch.Tensor,
               logits2: torch.Tensor, co_lambda: float) -> torch.Tensor:
    """JoCoR's joint loss of each sample, shape (N,).

    ``(1 - co_lambda) * (losses1 + losses2) + co_lambda * (KL(p1 || p2) + KL(p2 || p1))``
    with ``p_k = softmax(logits_k)``. ``losses_k`` are the networks' per-sample
    supervised losses (cross entropy in the paper). The agreement term is not detached:
    it pulls each network towards the other (as in the reference code).

    Parameters
    ----------
    losses1, losses2 : torch.Tensor of shape (N,)
        Per-sample supervised loss of each network.
    logits1, logits2 : torch.Tensor of shape (N, C)
        The networks' logits.
    co_lambda : float
        Weight of the agreement term, in [0, 1].

    Returns
    -------
    torch.Tensor of shape (N,)

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[0.0, 0.0]])
    >>> ce = torch.nn.functional.cross_entropy(logits, torch.tensor([0]), reduction="none")
    >>> jocor_loss(ce, ce, logits, logits, co_lambda=0.5)  # identical nets: no KL
    tensor([0.6931])
    """
    agreement = per_sample_kl(logits1, logits2) + per_sample_kl(logits2, logits1)
    return (1.0 - co_lambda) * (losses1 + losses2) + co_lambda * agreement


class CoTeachingClassifier(MultiNetworkMixin, NoisyNetClassifier):
    """Co-teaching, Co-teaching+ and JoCoR: two networks trained on small-loss samples.

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

    With ``variant='jocor'`` (JoCoR, Wei et al., 2020) the two networks are instead
    trained *towards* agreement: each sample's joint loss is ``(1 - co_lambda) *
    (CE(p1, y) + CE(p2, y)) + co_lambda * (KL(p1 || p2) + KL(p2 || p1))``, the ``R(T)``
    fraction of each batch with the smallest joint loss is kept, and both networks are
    updated together on those same samples (one backward pass of their mean joint
    loss). Samples on which the networks disagree have a large agreement term, so they
    are dropped like samples with a large loss.

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
        weigh little, since the ramp drops only ``tau * T / T_k`` after ``T`` epochs
        (the same for every variant). See
        ``benchmarks/results/coteaching.md`` for its accuracy.
    num_gradual : int, default=10
        ``T_k``: the epochs over which the dropped fraction ramps up from 0 to
        ``tau``; epoch ``warmup_epochs + T_k + 1`` is the first to drop ``tau``.
    exponent : float, default=1.0
        ``c``: shape of the ramp, ``min(T ** c / T_k, 1)``; 1 is linear.
    variant : {'standard', 'plus', 'jocor'}, default='standard'
        ``'standard'`` is Co-teaching, ``'plus'`` is Co-teaching+, ``'jocor'`` is
        JoCoR.
    init_epoch : int, default=20
        Co-teaching+ only: epochs of standard Co-teaching before the disagreement
        restriction starts (from epoch ``init_epoch + 1``; 0 restricts from the first
        epoch). 20 is the reference code's value for CIFAR-10.
    co_lambda : float in [0, 1], default=0.9
        JoCoR only (the other variants ignore it): ``lambda``, the weight of the
        symmetric KL agreement term in the joint loss; 0 drops the term (both
        networks then train on the rows with the smallest summed loss), 1 ranks and
        trains on agreement alone. The JoCoR authors report 0.9 as best with their
        CNNs on CIFAR-10 at 20-50% noise (0.65 at 80%, 0.85 on CIFAR-100; their code's
        default, 0.1, is not what they ran). 0.9 also beat 0.1 in quick checks here
        (digits at 40% symmetric noise, 3 seeds: 0.93-0.95 against 0.84-0.89; a
        10,000-image Fashion-MNIST subset, one seed: 0.836 against 0.815 at 40%,
        0.698 against 0.575 at 80%). The best value depends on the data, the noise
        and the network: tune it (``GridSearchCV`` over ``co_lambda``).
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
        holds both networks' parameters. In Co-teaching each network's loss depends
        only on its own parameters, so this is the same as one optimizer per network;
        JoCoR's joint loss depends on both and updates both in one step.

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
        two networks' losses. With JoCoR, ``kept_loss``, ``dropped_loss`` and
        ``train_loss`` are joint losses (the quantity it ranks by).
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

    JoCoR's supervised terms are the per-sample losses of ``criterion`` too (plain
    cross entropy during ``warmup_epochs``); the per-sample loss each training step
    reports (to a :class:`~sknoisy.callbacks.PerSampleRecord`) is the joint loss.
    Like the reference code, the agreement term is not detached, and the kept
    count is ``R(T)`` of the batch; unlike it, the mean is taken with
    ``sample_weight`` and a batch keeps at least one sample.

    With ``predict_with='mean'``, the networks' output at predict time is the log of
    the averaged probabilities, so the default softmax of ``predict_proba`` returns
    exactly the averaged probabilities.

    Training costs about twice plain training: two forward and two backward passes
    per batch.

    In data-parallel training (``accelerator``), each process ranks its part of the
    batch, the rankings are gathered and the small-loss rule keeps ``R(T)`` of the
    whole batch, as one process would; each process trains on its kept rows. The
    ``kept_loss``, ``dropped_loss`` and ``disagreement`` of ``history_`` describe the
    process's own part.

    References
    ----------
    .. [1] B. Han et al., "Co-teaching: Robust training of deep neural networks with
       extremely noisy labels", NeurIPS 2018.
    .. [2] X. Yu et al., "How does disagreement help generalization against label
       corruption?", ICML 2019.
    .. [3] H. Wei, L. Feng, X. Chen and B. An, "Combating noisy labels by agreement: a
       joint training method with co-regularization", CVPR 2020.

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

    JoCoR ranks and trains both networks on one joint loss:

    >>> jocor = CoTeachingClassifier(variant="jocor", co_lambda=0.1, forget_rate=0.2,
    ...                              max_epochs=40, lr=1e-2, random_state=0).fit(X, y)
    >>> bool(jocor.score(X, y) > 0.9)
    True
    """

    _parameter_constraints: dict = {
        **NoisyNetClassifier._parameter_constraints,
        "forget_rate": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "num_gradual": [Interval(Integral, 1, None, closed="left")],
        "exponent": [Interval(Real, 0, None, closed="neither")],
        "variant": [StrOptions({"standard", "plus", "jocor"})],
        "init_epoch": [Interval(Integral, 0, None, closed="left")],
        "co_lambda": [Interval(Real, 0, 1, closed="both")],
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
        co_lambda=0.9,
        predict_with="first",
        **kwargs,
    ):
        super().__init__(module, **kwargs)
        self.forget_rate = forget_rate
        self.num_gradual = num_gradual
        self.exponent = exponent
        self.variant = variant
        self.init_epoch = init_epoch
        self.co_lambda = co_lambda
        self.predict_with = predict_with

    def _check_params(self) -> None:
        super()._check_params()
        for name in ("forget_rate", "num_gradual", "exponent", "init_epoch", "co_lambda"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{type(self).__name__}: {name} must be a number, not the "
                                f"bool {value!r}.")

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
        logits1 = self.infer_network(0, Xi, **fit_params)
        logits2 = self.infer_network(1, Xi, **fit_params)
        losses1 = self._per_sample_losses(logits1, yi)
        losses2 = self._per_sample_losses(logits2, yi)
        with torch.no_grad():
            # argmax of logits equals argmax of probabilities: no softmax needed here.
            disagree = logits1.argmax(dim=1) != logits2.argmax(dim=1)
        if self.variant == "jocor":
            # One joint loss, one selection, one update of both networks.
            joint = jocor_loss(losses1, losses2, logits1, logits2, self.co_lambda)
            with torch.no_grad():
                (kept,), candidates, scale = self._select([joint.detach()], disagree)
            loss = self._kept_loss(joint, kept, indices, scale)
            loss.backward()
            self._record_batch([(joint.detach(), kept)], candidates, disagree)
            loss, losses = loss.detach(), joint.detach()
        else:
            with torch.no_grad():
                (kept_by_1, kept_by_2), candidates, scale = self._select(
                    [losses1.detach(), losses2.detach()], disagree)
            # Cross update: each network learns from the samples its peer found clean.
            loss1 = self._kept_loss(losses1, kept_by_2, indices, scale)
            loss2 = self._kept_loss(losses2, kept_by_1, indices, scale)
            (loss1 + loss2).backward()
            self._record_batch([(losses1.detach(), kept_by_1), (losses2.detach(), kept_by_2)],
                               candidates, disagree)
            loss = (loss1.detach() + loss2.detach()) / 2
            losses = (losses1.detach() + losses2.detach()) / 2
        with torch.no_grad():
            proba = (torch.softmax(logits1.detach(), dim=1)
                     + torch.softmax(logits2.detach(), dim=1)) / 2
        return {"loss": loss, "y_pred": logits1, "losses": losses, "proba": proba}

    def _select(self, rankings: list, disagree: torch.Tensor):
        """The small-loss selection of each ranking of the batch.

        Returns the batch positions each ranking keeps, the candidates and ``scale``:
        ``None`` in one process. In data-parallel training the rankings of every
        process's part are gathered, the selection is made on the whole batch exactly
        as one process would make it, and each process keeps its own rows of it;
        ``scale`` is then ``n_processes / k`` (``k``: rows kept from the whole batch),
        so that the mean over processes of each one's kept-loss sum times ``scale`` is
        the kept mean of the whole batch.
        """
        parallel = data_parallel(self)
        if parallel is None:
            candidates = self._candidates(disagree)
            k = _n_keep(self.current_forget_rate(), len(candidates))
            return [_smallest(r, candidates, k) for r in rankings], candidates, None
        batch, own = parallel.gather_batch(
            torch.stack([*rankings, disagree.to(rankings[0].dtype)], dim=1))
        candidates = self._candidates(batch[:, -1] > 0)
        k = _n_keep(self.current_forget_rate(), len(candidates))

        def mine(positions):
            mask = torch.zeros(len(batch), dtype=torch.bool, device=batch.device)
            mask[positions] = True
            return torch.nonzero(mask[own]).squeeze(1)

        kept = [mine(_smallest(batch[:, j], candidates, k)) for j in range(len(rankings))]
        return kept, mine(candidates), parallel.world / k

    def _kept_loss(self, losses: torch.Tensor, kept: torch.Tensor, indices,
                   scale: float | None) -> torch.Tensor:
        """Weighted mean loss of the kept rows (see :meth:`_select` for ``scale``)."""
        if scale is None:
            return self.reduce_loss(losses[kept], _rows(indices, kept))
        if len(kept) == 0:
            # This process holds none of the kept rows: no gradient from it.
            return losses.sum() * 0.0
        return self.reduce_loss(losses[kept], _rows(indices, kept)) * (len(kept) * scale)

    def _record_batch(self, rankings, candidates, disagree):
        """Add a batch to the epoch's kept/dropped loss sums.

        ``rankings`` holds one ``(losses, kept)`` pair per ranking of the candidates:
        one per network in Co-teaching, the joint loss alone in JoCoR.
        """
        state = getattr(self, "_fit_state", None)
        if state is None or not hasattr(state, "epoch_sums"):
            return  # a step run by hand outside fit's epochs
        kept = sum(losses[rows].sum() for losses, rows in rankings)
        pool = sum(losses[candidates].sum() for losses, _ in rankings)
        state.epoch_sums += torch.stack([kept, pool - kept, disagree.sum().to(kept.dtype)])
        state.epoch_counts[0] += sum(len(rows) for _, rows in rankings)
        state.epoch_counts[1] += sum(len(candidates) - len(rows) for _, rows in rankings)
        state.epoch_counts[2] += len(disagree)
