"""O2U-Net noise detection: per-sample loss statistics under a cyclical learning rate."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from imblearn.under_sampling.base import BaseCleaningSampler
from skorch.callbacks import Callback, LRScheduler

from .._core._base import NoisyNetClassifier
from .._core._detector import DETECTOR_CONSTRAINTS, MAX_RATE_CONSTRAINT, NoiseDetectorMixin
from .._core._record import PerSampleRecord, evaluation_pass, prediction_logits
from .._core._validation import Interval, StrOptions
from ..noise import confident_joint, estimate_noise_rate
from ..noise._label_model import fit_random_labels, one_way_excess
from ._cyclic_lr import O2UCyclicLR

__all__ = ["O2UNoiseDetector"]


class _EarlyRandomLabels(Callback):
    """Fit the random-label model to the network's probabilities after early epochs.

    At the end of each of ``epochs`` an evaluation pass over the training rows gives
    their class probabilities, and the mixture weight of
    :func:`~sknoisy.noise._label_model.fit_random_labels` goes to ``rates_``. The
    reading stops after the first fit below an earlier one: the fits rise while the
    network learns the classes and fall once it fits the wrong labels.
    """

    def __init__(self, epochs: tuple[int, ...]) -> None:
        self.epochs = epochs

    def initialize(self):
        self.rates_ = {}
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.rates_ = {}
        self.targets_ = np.asarray(y)

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        rates = list(self.rates_.values())
        if len(net.history) not in self.epochs or (rates and rates[-1] < max(rates)):
            return
        logits = torch.cat([prediction_logits(output).float().cpu()
                            for _, output in evaluation_pass(net, dataset_train)])
        self.rates_[len(net.history)] = fit_random_labels(
            torch.softmax(logits, dim=1).numpy(), self.targets_).rate

    def on_train_end(self, net, **kwargs):
        self.targets_ = None


class O2UNoiseDetector(NoiseDetectorMixin, BaseCleaningSampler):
    """Flag mislabeled samples by their loss under a cyclical learning rate (O2U-Net).

    Stage 1 trains a network normally for ``warmup_epochs``. Stage 2 continues for
    ``n_cycles * cycle_length`` epochs with a cyclical learning rate that swings the
    network between underfitting and overfitting: in epoch ``t`` of stage 2,
    ``s(t) = (1 + ((t - 1) mod c)) / c`` and ``lr(t) = (1 - s(t)) r1 + s(t) r2`` with
    ``r1 = lr_max > r2 = lr_min``. Each sample's loss is recorded during the SGD step,
    the epoch's mean loss is subtracted, and a running mean and variance are kept per
    sample. Mislabeled samples keep a high loss across the cycles. The stage-3
    retraining is the job of the estimator that follows in a Pipeline.

    Parameters
    ----------
    estimator : NoisyNetClassifier or None, default=None
        The network whose per-sample losses are read; it is cloned, never fitted in
        place. ``None`` uses ``NoisyNetClassifier(optimizer=torch.optim.SGD, lr=0.01,
        optimizer__momentum=0.9)`` (the module chosen by X's shape). Its ``lr`` is the
        stage-1 learning rate; its ``max_epochs`` is replaced by
        ``warmup_epochs + n_cycles * cycle_length``. Reach its parameters as
        ``estimator__lr`` (``o2unoisedetector__estimator__lr`` in a pipeline). Its own
        ``warmup_epochs`` (cross-entropy before a robust criterion) is unrelated to
        this detector's.
        It trains on every row, since every row needs a score: its
        ``early_stopping='auto'`` is off here, and ``early_stopping=True`` is refused.
    noise_rate : float in [0, 1) or 'auto', default='auto'
        Fraction of samples to flag (the highest scores). ``'auto'`` takes the larger
        of two estimates from the probabilities this network gives its own rows:

        - *the label model* of :class:`~sknoisy.detectors.ConfidentLearningDetector`,
          random labels plus one-way swaps. Random labels: the mixture of the
          network's (temperature-scaled) probabilities and uniformly random labels,
          kept only when its BIC is lower, fitted to an evaluation pass over the
          training rows after each warm-up epoch from the second, until a fit falls
          below an earlier one (the largest fit counts), times
          ``(n_classes - 1) / n_classes``: the network has then learned the classes
          but not yet the wrong labels, and an ambiguous row is not taken for a
          random label. One-way swaps: the excess of one direction over the other
          in the confident joint of the probabilities each row got during its SGD
          steps in stage 2, averaged over the stage-2 epochs.
        - *the off-diagonal of that stage-2 joint*
          (:func:`sknoisy.noise.estimate_noise_rate`). Where every row is about as
          easy as the next (few classes, heavy noise), random labels look like a
          less confident network and the label model can read nothing; the joint still
          counts them. It also counts the mistakes of a network that cannot fit the
          data (2.7-3.5% of clean labels on synthetic sets it fits to 63-84%
          accuracy), and misses wrong labels the network has fitted by stage 2
          (alone it flagged 4.6% of 3,000 Fashion-MNIST images at 9.8% flipped,
          3 seeds, where the larger estimate flags 8.7%).

        Pair flips that the network learns early stay partly unseen. Each random-label
        reading costs a forward pass over the rows.
    warmup_epochs : int, default=10
        Stage-1 epochs at the estimator's learning rate.
    n_cycles : int, default=2
        Number of learning-rate cycles in stage 2.
    cycle_length : int, default=5
        Epochs per cycle (``c``).
    lr_max : float, default=0.05
        Largest cyclical learning rate (``r1``): a cycle starts at
        ``(1 - 1/c) r1 + r2 / c`` and decreases linearly.
    lr_min : float, default=0.005
        Smallest cyclical learning rate (``r2``), reached in the last epoch of a cycle.
    max_noise_rate : float in (0, 1], default=0.5
        Never flag more than this share of the rows: an estimated rate above it is
        capped (with a :class:`~sknoisy.exceptions.MostRowsFlaggedWarning` giving the
        numbers), and a given ``noise_rate`` above it is an error. Raise it to remove
        more than half of the data on purpose.
    variance_weight : float, default=0.0
        ``noise_scores_ = mean + variance_weight * std`` of the centred losses.
    action : {'drop', 'relabel'}, default='drop'
        Drop the flagged samples, or relabel them to the class the network predicted
        during the last epoch.
    sampling_strategy : str, list or callable, default='all'
        Classes to clean (imbalanced-learn's cleaning-sampler convention).
    record_trajectories : bool, default=False
        Also store ``loss_trajectories_``, every stage-2 epoch's centred losses: an
        O(n_epochs x n_samples) array, for plotting only.
    random_state : int, RandomState instance or None, default=None
        Given to the estimator's clone (its initialisation and shuffling); ``None``
        keeps the estimator's own ``random_state``.
    accelerator : accelerate.Accelerator or None, default=None
        Train the network data-parallel over the processes of a launch: given to the
        estimator's clone with ``device=accelerator.device`` (see ``accelerator`` in
        :class:`~sknoisy.NoisyNetClassifier`). The per-sample losses are merged across
        the processes every epoch, so every process gets the same scores.
    verbose : int, default=0
        1 prints how many rows were flagged and the noise rate used; 2 adds the count
        per class. The network's own training log is its ``verbose``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The sorted labels.
    noise_scores_ : ndarray of shape (n_samples,)
        Higher = more likely mislabeled.
    noise_rate_ : float
        The rate used to flag samples (given or estimated).
    random_label_rate_ : float
        Only with ``noise_rate='auto'``: the share of labels the early epochs'
        random-label mixture draws at random (0 when its model comparison prefers
        none, or when training has fewer than 2 epochs).
    one_way_excess_ : ndarray of shape (n_classes, n_classes)
        Only with ``noise_rate='auto'``: estimated rows labelled ``i`` whose class is
        ``j`` beyond the pair's two-way confusion in the stage-2 confident joint, for
        the significantly one-way pairs (:func:`~sknoisy.noise._label_model.one_way_excess`);
        zero elsewhere.
    joint_noise_rate_ : float
        Only with ``noise_rate='auto'``: the off-diagonal share of the stage-2
        confident joint.
    is_noisy_ : ndarray of bool of shape (n_samples,)
        Samples dropped (or relabeled).
    sample_indices_ : ndarray of shape (n_kept,)
        Rows kept in the resampled data.
    suggested_labels_ : ndarray of shape (n_samples,)
        The class the network predicted for each row during its last recorded epoch,
        as the caller's label values: the relabeling target, and a candidate fix for
        any row.
    loss_mean_, loss_std_ : ndarray of shape (n_samples,)
        Mean and standard deviation over stage-2 epochs of each sample's centred loss.
    loss_trajectories_ : ndarray of shape (n_cycles * cycle_length, n_samples)
        Only with ``record_trajectories=True``.
    estimator_ : NoisyNetClassifier
        The trained network. Its ``history_`` has the learning rate of every epoch
        (``event_lr``); its ``callbacks_`` hold the
        :class:`~sknoisy.callbacks.PerSampleRecord` the scores come from.
    n_features_in_ : int
        Number of input features.
    input_shape_ : tuple of int
        Shape of one sample.
    sampling_strategy_ : dict
        The classes cleaned (imbalanced-learn's convention).

    See Also
    --------
    BMMLabelCleaner : flags samples by a Beta mixture on the warm-up losses.
    find_noisy_labels : the same without an estimator.

    Notes
    -----
    The learning rate is changed once per epoch (the cycle length is counted in
    epochs) by skorch's ``LRScheduler`` with :class:`~sknoisy.callbacks.O2UCyclicLR`.
    Memory is O(n_samples): five per-sample buffers on the network's device, two
    ``(n_samples, n_classes)`` ones with ``noise_rate='auto'``, and at each random-label
    reading a few ``(n_samples, n_classes)`` float64 arrays on the host (330 bytes per
    row in all at 5 classes, against 193 without the readings). The
    scores rank samples by their mean centred loss (the paper's criterion);
    ``variance_weight > 0`` adds the variance the paper also mentions.

    References
    ----------
    .. [1] J. Huang, L. Qu, R. Jia, B. Zhao. "O2U-Net: A Simple Noisy Label Detection
       Approach for Deep Neural Networks". ICCV 2019.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sknoisy.detectors import O2UNoiseDetector
    >>> X, y = make_blobs(n_samples=200, centers=2, random_state=0)
    >>> y[:20] = 1 - y[:20]
    >>> det = O2UNoiseDetector(noise_rate=0.1, warmup_epochs=5, random_state=0)
    >>> X_clean, y_clean = det.fit_resample(X, y)
    >>> X_clean.shape
    (180, 2)
    >>> int(det.is_noisy_[:20].sum()) >= 15
    True
    """

    _relabel_supported = True
    _parameter_constraints: dict = {
        **BaseCleaningSampler._parameter_constraints,
        **DETECTOR_CONSTRAINTS,
        "noise_rate": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "n_cycles": [Interval(Integral, 1, None, closed="left")],
        "cycle_length": [Interval(Integral, 1, None, closed="left")],
        "lr_max": [Interval(Real, 0, None, closed="neither")],
        "lr_min": [Interval(Real, 0, None, closed="neither")],
        "variance_weight": [Interval(Real, 0, None, closed="left")],
        **MAX_RATE_CONSTRAINT,
        "record_trajectories": ["boolean"],
    }

    def __init__(self, estimator=None, *, noise_rate="auto", warmup_epochs=10, n_cycles=2,
                 cycle_length=5, lr_max=0.05, lr_min=0.005, max_noise_rate=0.5,
                 variance_weight=0.0, action="drop", sampling_strategy="all",
                 record_trajectories=False, random_state=None, verbose=0,
                 accelerator=None):
        self.estimator = estimator
        self.noise_rate = noise_rate
        self.warmup_epochs = warmup_epochs
        self.n_cycles = n_cycles
        self.cycle_length = cycle_length
        self.lr_max = lr_max
        self.lr_min = lr_min
        self.max_noise_rate = max_noise_rate
        self.variance_weight = variance_weight
        self.action = action
        self.sampling_strategy = sampling_strategy
        self.record_trajectories = record_trajectories
        self.random_state = random_state
        self.accelerator = accelerator
        self.verbose = verbose

    def _check_params(self) -> None:
        super()._check_params()
        if self.lr_max <= self.lr_min:
            raise ValueError(
                f"O2UNoiseDetector: lr_max must be greater than lr_min (r1 > r2); got "
                f"lr_max={self.lr_max} and lr_min={self.lr_min}. Swap or change them.")
        if self.noise_rate != "auto" and self.noise_rate > self.max_noise_rate:
            raise ValueError(
                f"O2UNoiseDetector: noise_rate={self.noise_rate} would remove more than "
                f"max_noise_rate={self.max_noise_rate} of the rows; set max_noise_rate="
                f"{self.noise_rate} as well if that is intended.")

    def _score_noise(self, X, y_encoded):
        schedule = LRScheduler(policy=O2UCyclicLR, warmup_epochs=self.warmup_epochs,
                               cycle_length=self.cycle_length, lr_max=self.lr_max,
                               lr_min=self.lr_min)
        max_epochs = self.warmup_epochs + self.n_cycles * self.cycle_length
        auto = self.noise_rate == "auto"
        # The random-label model reads the network after each warm-up epoch from the
        # second: when it has learned the classes depends on the data (epoch 2 on
        # Fashion-MNIST, 5-7 on wine's 124 rows, one step per epoch), and it fits
        # wrong labels later than that.
        early = tuple(range(2, min(max(self.warmup_epochs, 2), max_epochs) + 1))
        early_fit = _EarlyRandomLabels(early)
        callbacks = [("o2u_lr", schedule)]
        if auto and early:
            # An evaluation pass: every row read with the same weights. Probabilities
            # taken during the SGD steps mix the weights of a whole epoch, which one
            # temperature cannot absorb, and the mixture then finds random labels in
            # clean data (5% of a clean synthetic set in one of four tries).
            callbacks.append(("o2u_early_random_labels", early_fit))
        record = self._train_network(
            X, y_encoded, max_epochs=max_epochs,
            record=PerSampleRecord(start_epoch=self.warmup_epochs + 1,
                                   proba="mean" if auto else False,
                                   trajectories=self.record_trajectories),
            callbacks=callbacks,
            default=NoisyNetClassifier(optimizer=torch.optim.SGD, lr=0.01,
                                       optimizer__momentum=0.9))
        self.loss_mean_ = record.loss_mean_
        self.loss_std_ = np.sqrt(record.loss_var_)
        if self.record_trajectories:
            self.loss_trajectories_ = record.loss_trajectories_
        scores = self.loss_mean_ + self.variance_weight * self.loss_std_
        if auto:
            # The largest of the fits: a network that has not learned the classes yet
            # sees no random labels, one that has begun to fit them fewer.
            rates = early_fit.rates_.values() if early else ()
            self.random_label_rate_ = float(max(rates, default=0.0))
            # The stage-2 joint is in-sample: it counts the network's mistakes on hard
            # rows both ways, so only its one-way excess is read as swapped labels...
            joint = confident_joint(record.mean_proba_, y_encoded)
            self.one_way_excess_ = one_way_excess(joint)
            n_samples, n_classes = len(y_encoded), len(self.classes_)
            label_model = (self.random_label_rate_ * (n_classes - 1) / n_classes
                           + self.one_way_excess_.sum() / n_samples)
            # ...but where every row is as easy as the next, random labels look like a
            # less confident network and the label model can read nothing (40% noise
            # on three well-separated classes and a wide network); the joint's whole
            # off-diagonal sees them.
            self.joint_noise_rate_ = estimate_noise_rate(proba=record.mean_proba_, y=y_encoded)
            self.noise_rate_ = float(max(label_model, self.joint_noise_rate_))
        else:
            # Estimates of an earlier 'auto' fit would describe other labels.
            for name in ("random_label_rate_", "one_way_excess_", "joint_noise_rate_"):
                vars(self).pop(name, None)
            self.noise_rate_ = float(self.noise_rate)
        return scores

    def _report_note(self) -> str:
        if self.noise_rate != "auto":
            return ""
        return (f", the larger of the label model's (random labels early in training "
                f"{self.random_label_rate_:.3f}, one-way swaps "
                f"{self.one_way_excess_.sum() / len(self.is_noisy_):.3f}) and the stage-2 "
                f"joint's off-diagonal ({self.joint_noise_rate_:.3f})")

    def _suggest_labels(self, X, y_encoded):
        return self._record().last_pred_
