"""Dynamic bootstrapping (Arazo et al., 2019): a loss corrected by each sample's P(noisy)."""

from __future__ import annotations

from numbers import Integral

import torch
import torch.nn.functional as F

from .._core._base import NoisyNetClassifier
from .._core._validation import Interval, StrOptions
from ._mixture import fit_loss_mixture

__all__ = ["DynamicBootstrappingClassifier"]

# Arazo et al. keep the weights away from 0 and 1 so no sample is trusted (or
# distrusted) completely.
_W_MIN, _W_MAX = 1e-4, 1 - 1e-4


class DynamicBootstrappingClassifier(NoisyNetClassifier):
    """Classifier trained on targets mixed with its own predictions, per-sample weighted.

    After ``warmup_epochs`` of cross-entropy, the target of sample ``i`` becomes
    ``(1 - w_i) y_i + w_i z_i``, where ``z_i`` is the network's own (detached)
    prediction and ``w_i = P(noisy | loss_i)`` comes from a two-component
    :class:`BetaMixture1D` fitted on the per-sample cross-entropy losses. The mixture
    is refitted at the end of every epoch on the losses recorded during that epoch's
    SGD steps (no extra pass over the data).

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        As for :class:`~sknoisy.NoisyNetClassifier`.
    warmup_epochs : int, default=10
        Plain cross-entropy epochs before bootstrapping starts; the mixture is first
        fitted at the end of the last warm-up epoch.
    mode : {'hard', 'soft'}, default='hard'
        ``'hard'``: ``z_i`` is the predicted class (one-hot); ``'soft'``: the
        predicted probabilities.
    **kwargs
        Any :class:`~sknoisy.NoisyNetClassifier` parameter (``max_epochs``, ``lr``,
        ``module__hidden_sizes``, ...). The loss is cross-entropy; ``criterion`` is
        not used for training.

    Attributes
    ----------
    noise_weights_ : ndarray of shape (n_samples,)
        The last ``w_i`` (P(noisy)) of each training sample.
    mixture_ : BetaMixture1D
        The last fitted mixture.
    classes_ : ndarray of shape (n_classes,)
        The sorted labels.

    See Also
    --------
    BMMLabelCleaner : uses the same mixture to drop or relabel samples instead.

    Notes
    -----
    Both ``'hard'`` and ``'soft'`` detach the prediction, so no gradient flows through
    the target. The mixture is fitted on the samples inside the 5th-95th percentile
    range of the losses, as in the paper.

    References
    ----------
    .. [1] E. Arazo, D. Ortego, P. Albert, N. O'Connor, K. McGuinness. "Unsupervised
       Label Noise Modeling and Loss Correction". ICML 2019.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sknoisy.detectors import DynamicBootstrappingClassifier
    >>> X, y = make_blobs(n_samples=300, centers=3, random_state=0)
    >>> clf = DynamicBootstrappingClassifier(warmup_epochs=5, max_epochs=10, lr=1e-2,
    ...                                      random_state=0).fit(X, y)
    >>> clf.noise_weights_.shape
    (300,)
    >>> clf.score(X, y) > 0.8
    True
    """

    _parameter_constraints: dict = {
        **NoisyNetClassifier._parameter_constraints,
        "warmup_epochs": [Interval(Integral, 1, None, closed="left")],
        "mode": [StrOptions({"hard", "soft"})],
    }

    def __init__(self, module=None, *, warmup_epochs=10, mode="hard", **kwargs):
        super().__init__(module, **kwargs)
        self.warmup_epochs = warmup_epochs
        self.mode = mode

    def fit_arrays(self, X, y):
        n = len(X)
        self.epoch_loss_buf_ = torch.zeros(n, device=self.device)
        self.weight_buf_ = torch.zeros(n, device=self.device)
        self.epoch_index_ = 0
        self.bootstrapping_ = False
        super().fit_arrays(X, y)
        self.noise_weights_ = self.weight_buf_.cpu().numpy().astype("float64")
        for name in ("epoch_loss_buf_", "weight_buf_"):
            vars(self).pop(name, None)

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self.epoch_index_ = getattr(self, "epoch_index_", 0) + 1

    def get_loss(self, y_pred, y_true, X=None, training=False, indices=None):
        ce = F.cross_entropy(y_pred, y_true, reduction="none")
        if not (training and indices is not None and hasattr(self, "weight_buf_")):
            return self.reduce_loss(ce, indices)
        self.epoch_loss_buf_[indices] = ce.detach()
        if not self.bootstrapping_:
            return self.reduce_loss(ce, indices)
        w = self.weight_buf_[indices]
        log_p = F.log_softmax(y_pred, dim=1)
        if self.mode == "hard":
            own = F.nll_loss(log_p, log_p.detach().argmax(dim=1), reduction="none")
        else:
            own = -(log_p.detach().exp() * log_p).sum(dim=1)
        return self.reduce_loss((1 - w) * ce + w * own, indices)

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)
        if not hasattr(self, "weight_buf_") or self.epoch_index_ < self.warmup_epochs:
            return
        losses = self.epoch_loss_buf_.cpu().numpy().astype("float64")
        self.mixture_, normalized = fit_loss_mixture(losses)
        weights = self.mixture_.posterior_noisy(normalized).clip(_W_MIN, _W_MAX)
        self.weight_buf_ = torch.as_tensor(weights, dtype=torch.float32, device=self.device)
        self.bootstrapping_ = True
        self.history.record("mean_noise_weight", float(weights.mean()))
