"""BMM label cleaning: a two-component Beta mixture on the warm-up losses gives P(noisy)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from imblearn.under_sampling.base import BaseCleaningSampler

from .._core._detector import NoiseDetectorMixin
from .._core._validation import Interval
from ._mixture import fit_loss_mixture
from ._recording import NET_CONSTRAINTS, LossRecorderNet, net_kwargs

__all__ = ["BMMLabelCleaner"]


class BMMLabelCleaner(NoiseDetectorMixin, BaseCleaningSampler):
    """Flag labels whose warm-up loss falls in the high-loss Beta component (Arazo et al.).

    A network is trained with cross-entropy for ``warmup_epochs``, few enough that it has
    fitted the clean samples but not yet memorised the mislabeled ones. The per-sample
    losses of the last warm-up epoch are normalised (5th-95th percentile to [0, 1],
    clamped to [1e-3, 1 - 1e-3]), a two-component :class:`BetaMixture1D` is fitted, and
    ``noise_scores_`` is the posterior of the higher-mean component, made monotone in the
    loss. Samples whose posterior exceeds ``threshold`` are flagged, so no noise rate
    needs to be known.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The network; ``None`` picks an MLP (2-D X) or a small CNN (images).
    warmup_epochs : int, default=10
        Cross-entropy epochs before the losses are read.
    threshold : float in (0, 1), default=0.5
        Flag samples with ``P(noisy | loss) > threshold``.
    lr : float, default=1e-3
        Learning rate.
    optimizer : torch.optim.Optimizer class, default=torch.optim.Adam
        Optimiser (SGD gets ``momentum=0.9`` unless ``net_params`` sets it).
    batch_size : int, default=128
        Mini-batch size.
    action : {'drop', 'relabel'}, default='drop'
        Drop the flagged samples, or relabel them to the network's prediction.
    sampling_strategy : str, list or callable, default='all'
        Classes to clean (imbalanced-learn's cleaning-sampler convention).
    net_params : dict or None, default=None
        Other :class:`~sknoisy.NoisyNetClassifier` parameters for the network.
    device : str, default='cpu'
        Torch device.
    random_state : int, RandomState instance or None, default=None
        Seeds the network.
    verbose : int, default=0
        Training log verbosity.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The sorted labels.
    noise_scores_ : ndarray of shape (n_samples,)
        P(noisy | loss), non-decreasing in the loss.
    noise_rate_ : float
        Fraction of samples flagged by the threshold (before class protection).
    is_noisy_ : ndarray of bool of shape (n_samples,)
        Samples dropped (or relabeled).
    sample_indices_ : ndarray of shape (n_kept,)
        Rows kept in the resampled data.
    losses_ : ndarray of shape (n_samples,)
        Raw per-sample losses of the last warm-up epoch.
    losses_normalized_ : ndarray of shape (n_samples,)
        The same after percentile normalisation (what the mixture saw).
    mixture_ : BetaMixture1D
        The fitted mixture.
    net_ : LossRecorderNet
        The warm-up network.
    n_features_in_ : int
        Number of input features.

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
    >>> det = BMMLabelCleaner(warmup_epochs=10, lr=1e-2, random_state=0).fit(X, y)
    >>> int(det.is_noisy_[:20].sum()) >= 15, int(det.is_noisy_[20:].sum()) <= 10
    (True, True)
    """

    _relabel_supported = True
    _parameter_constraints: dict = {
        **BaseCleaningSampler._parameter_constraints,
        **NET_CONSTRAINTS,
        "module": "no_validation",
        "warmup_epochs": [Interval(Integral, 1, None, closed="left")],
        "threshold": [Interval(Real, 0, 1, closed="neither")],
        "lr": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, module=None, *, warmup_epochs=10, threshold=0.5, lr=1e-3,
                 optimizer=torch.optim.Adam, batch_size=128, action="drop",
                 sampling_strategy="all", net_params=None, device="cpu",
                 random_state=None, verbose=0):
        self.module = module
        self.warmup_epochs = warmup_epochs
        self.threshold = threshold
        self.lr = lr
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.action = action
        self.sampling_strategy = sampling_strategy
        self.net_params = net_params
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _score_noise(self, X, y_encoded):
        net = LossRecorderNet(**net_kwargs(
            self, lr=self.lr, max_epochs=self.warmup_epochs,
            record_from=self.warmup_epochs - 1, classes=np.arange(len(self.classes_))))
        net.fit(X, y_encoded)
        self.net_ = net
        self.losses_ = net.last_loss_
        self.mixture_, self.losses_normalized_ = fit_loss_mixture(self.losses_)
        return self.mixture_.posterior_noisy(self.losses_normalized_)

    def _flag_noisy(self, scores):
        mask = scores > self.threshold
        self.noise_rate_ = float(mask.mean())
        return mask

    def _suggest_labels(self, X, y_encoded):
        return self.net_.last_pred_

