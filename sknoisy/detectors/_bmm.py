"""BMM label cleaning: a two-component Beta mixture on the warm-up losses gives P(noisy)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from imblearn.under_sampling.base import BaseCleaningSampler

from .._core._base import NoisyNetClassifier
from .._core._detector import DETECTOR_CONSTRAINTS, MAX_RATE_CONSTRAINT, NoiseDetectorMixin
from .._core._record import PerSampleRecord
from .._core._validation import Interval, StrOptions
from ..mixture import fit_loss_mixture
from ..noise import estimate_noise_rate

__all__ = ["BMMLabelCleaner"]


class BMMLabelCleaner(NoiseDetectorMixin, BaseCleaningSampler):
    """Flag labels whose warm-up loss falls in the high-loss Beta component (Arazo et al.).

    A network is trained with cross-entropy for ``warmup_epochs``, few enough that it has
    fitted the clean samples but not yet memorised the mislabeled ones. The per-sample
    losses of the last warm-up epoch are normalised (5th-95th percentile to [0, 1],
    clamped to [1e-3, 1 - 1e-3]), a two-component :class:`BetaMixture1D` is fitted, and
    ``noise_scores_`` is the posterior of the higher-mean component, made monotone in the
    loss. Samples whose posterior exceeds ``threshold`` are flagged, so no noise rate
    needs to be known; with ``rate_cap='confident_joint'`` (the default) at most the
    share of rows that the confident joint of the same network's probabilities counts
    as mislabeled is flagged, the highest losses first, so that a mixture fitted on a
    clean or lightly noisy set (whose losses have one mode and a tail) cannot flag the
    bulk of the data.

    Parameters
    ----------
    estimator : NoisyNetClassifier or None, default=None
        The network whose per-sample losses are read; it is cloned, never fitted in
        place, and trained with its own criterion and optimizer for ``warmup_epochs``
        (its ``max_epochs`` is replaced). ``None`` uses ``NoisyNetClassifier()`` (Adam,
        lr 1e-3, the module chosen by X's shape). Its parameters are reachable as
        ``estimator__lr`` (``bmmlabelcleaner__estimator__lr`` in a pipeline).
        It trains on every row, since every row needs a score: its
        ``early_stopping='auto'`` is off here, and ``early_stopping=True`` is refused.
    warmup_epochs : int, default=10
        Training epochs before the losses are read.
    threshold : float in (0, 1), default=0.5
        Flag samples with ``P(noisy | loss) > threshold``.
    rate_cap : {'confident_joint'} or None, default='confident_joint'
        Flag at most ``estimated_rate_`` of the rows: the confident-joint noise rate
        (:func:`sknoisy.noise.estimate_noise_rate`) of the class probabilities each
        sample got in the last warm-up epoch (an ``(n_samples, n_classes)`` buffer, no
        extra pass). ``None`` flags by the threshold alone, as in the paper.
    max_noise_rate : float in (0, 1], default=0.5
        Never flag more than this share of the rows; flagging more needs this explicit
        setting, and a :class:`~sknoisy.exceptions.MostRowsFlaggedWarning` gives the
        numbers when the cap applies.
    mixture : {'beta', 'gaussian'}, default='beta'
        The two-component mixture fitted on the losses
        (:func:`sknoisy.mixture.fit_loss_mixture`): the Beta mixture of Arazo et al.
        on percentile-normalised losses, or DivideMix's Gaussian mixture on min-max
        normalised ones.
    action : {'drop', 'relabel'}, default='drop'
        Drop the flagged samples, or relabel them to the network's prediction.
    sampling_strategy : str, list or callable, default='all'
        Classes to clean (imbalanced-learn's cleaning-sampler convention).
    random_state : int, RandomState instance or None, default=None
        Given to the estimator's clone and to the Gaussian mixture; ``None`` keeps the
        estimator's own ``random_state``.
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
        P(noisy | loss), non-decreasing in the loss.
    noise_rate_ : float
        Fraction of samples flagged (after the caps, before class protection).
    estimated_rate_ : float or None
        The confident-joint noise rate that caps the flags (None with
        ``rate_cap=None``).
    is_noisy_ : ndarray of bool of shape (n_samples,)
        Samples dropped (or relabeled).
    sample_indices_ : ndarray of shape (n_kept,)
        Rows kept in the resampled data.
    suggested_labels_ : ndarray of shape (n_samples,)
        The class the network predicted for each row during its last recorded epoch,
        as the caller's label values: the relabeling target, and a candidate fix for
        any row.
    losses_ : ndarray of shape (n_samples,)
        Raw per-sample losses of the last warm-up epoch.
    losses_normalized_ : ndarray of shape (n_samples,)
        The same after percentile normalisation (what the mixture saw).
    mixture_ : BetaMixture1D or GaussianLossMixture
        The fitted mixture.
    estimator_ : NoisyNetClassifier
        The warm-up network; its ``callbacks_`` hold the
        :class:`~sknoisy.callbacks.PerSampleRecord` the losses come from.
    n_features_in_ : int
        Number of input features.
    input_shape_ : tuple of int
        Shape of one sample.
    sampling_strategy_ : dict
        The classes cleaned (imbalanced-learn's convention).

    See Also
    --------
    O2UNoiseDetector : flags samples by their losses under a cyclical learning rate.
    DynamicBootstrappingClassifier : trains through the noise with the same mixture.

    Notes
    -----
    The losses are those of the last warm-up epoch, recorded during its SGD steps (the
    weights move within the epoch), so no extra pass over the data is made. The
    mixture is fitted on the samples inside the 5th-95th percentile range, as in the
    paper, and evaluated on all. For ``action='relabel'`` the new label is the class the
    network predicted for the sample during that epoch.

    References
    ----------
    .. [1] E. Arazo, D. Ortego, P. Albert, N. O'Connor, K. McGuinness. "Unsupervised
       Label Noise Modeling and Loss Correction". ICML 2019.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sknoisy.detectors import BMMLabelCleaner
    >>> X, y = make_blobs(n_samples=200, centers=2, random_state=0)
    >>> y[:20] = 1 - y[:20]
    >>> from sknoisy import NoisyNetClassifier
    >>> det = BMMLabelCleaner(NoisyNetClassifier(lr=1e-2), warmup_epochs=10,
    ...                       random_state=0).fit(X, y)
    >>> int(det.is_noisy_[:20].sum()) >= 15, int(det.is_noisy_[20:].sum()) <= 10
    (True, True)
    """

    _relabel_supported = True
    _parameter_constraints: dict = {
        **BaseCleaningSampler._parameter_constraints,
        **DETECTOR_CONSTRAINTS,
        "warmup_epochs": [Interval(Integral, 1, None, closed="left")],
        "threshold": [Interval(Real, 0, 1, closed="neither")],
        "mixture": [StrOptions({"beta", "gaussian"})],
        "rate_cap": [StrOptions({"confident_joint"}), None],
        **MAX_RATE_CONSTRAINT,
    }

    def __init__(self, estimator=None, *, warmup_epochs=10, threshold=0.5,
                 rate_cap="confident_joint", max_noise_rate=0.5, mixture="beta",
                 action="drop", sampling_strategy="all", random_state=None, verbose=0,
                 accelerator=None):
        self.estimator = estimator
        self.warmup_epochs = warmup_epochs
        self.threshold = threshold
        self.rate_cap = rate_cap
        self.max_noise_rate = max_noise_rate
        self.mixture = mixture
        self.action = action
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.accelerator = accelerator
        self.verbose = verbose

    def _score_noise(self, X, y_encoded):
        capped = self.rate_cap is not None
        record = self._train_network(
            X, y_encoded, max_epochs=self.warmup_epochs,
            record=PerSampleRecord(start_epoch=self.warmup_epochs, proba=capped),
            default=NoisyNetClassifier())
        self.losses_ = record.last_loss_
        self.estimated_rate_ = (estimate_noise_rate(proba=record.last_proba_, y=y_encoded)
                                if capped else None)
        self.mixture_, self.losses_normalized_ = fit_loss_mixture(
            self.losses_, mixture=self.mixture, random_state=self.random_state)
        return self.mixture_.posterior_noisy(self.losses_normalized_)

    def _flag_noisy(self, scores):
        mask = scores > self.threshold
        if self.estimated_rate_ is not None:
            # The posterior saturates at 1 for many rows; the loss it is monotone in
            # orders them without ties.
            n_max = int(round(self.estimated_rate_ * len(scores)))
            if mask.sum() > n_max:
                mask = np.zeros(len(scores), dtype=bool)
                mask[np.argsort(-self.losses_, kind="stable")[:n_max]] = True
        self.noise_rate_ = float(mask.mean())
        return mask

    def _suggest_labels(self, X, y_encoded):
        return self._record().last_pred_
