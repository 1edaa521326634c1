"""DivideMix (Li, Socher and Hoi, 2020): two networks divide the data for each other; MixMatch."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F

from .._core._augment import augment
from .._core._base import NoisyNetClassifier
from .._core._mixup import MixupDraw, draw_mixup
from .._core._peers import MultiNetworkMixin
from .._core._record import per_sample_cross_entropy
from .._core._unlabeled import SemiSupervisedMixin, labeled_targets
from .._core._validation import Interval, StrOptions
from ..losses import prior_penalty as class_prior_kl
from ..mixture import fit_loss_mixture
from ..noise import estimate_noise_rate

__all__ = ["DivideMixClassifier", "co_refine", "guard_split", "mixmatch_loss", "sharpen",
           "unlabeled_weight"]


def sharpen(proba: torch.Tensor, temperature: float) -> torch.Tensor:
    """Temperature sharpening of each row: ``p ** (1 / T)``, renormalised.

    Computed as ``softmax(log(p) / T)`` so that a small ``T`` cannot underflow a row to
    all zeros.

    Parameters
    ----------
    proba : torch.Tensor of shape (N, C)
        Rows of non-negative values summing to 1.
    temperature : float
        ``T`` > 0; below 1 sharpens, 1 leaves the rows unchanged.

    Returns
    -------
    torch.Tensor of shape (N, C)

    Examples
    --------
    >>> import torch
    >>> sharpen(torch.tensor([[0.75, 0.25]]), 0.5)  # (9/16, 1/16) renormalised
    tensor([[0.9000, 0.1000]])
    """
    tiny = torch.finfo(proba.dtype).tiny
    return torch.softmax(torch.log(proba.clamp_min(tiny)) / temperature, dim=1)


def co_refine(labels: torch.Tensor, clean_proba: torch.Tensor,
              proba: torch.Tensor) -> torch.Tensor:
    """DivideMix's label co-refinement ``w * y + (1 - w) * p`` of each row.

    Parameters
    ----------
    labels : torch.Tensor of shape (N, C)
        One-hot given labels ``y``.
    clean_proba : torch.Tensor of shape (N,)
        ``w``, each row's probability of a clean label (from the peer network's split).
    proba : torch.Tensor of shape (N, C)
        ``p``, the trained network's own prediction (mean over the augmented views).

    Returns
    -------
    torch.Tensor of shape (N, C)
        Not yet sharpened (see :func:`sharpen`).

    Examples
    --------
    >>> import torch
    >>> co_refine(torch.tensor([[1.0, 0.0]]), torch.tensor([0.8]), torch.tensor([[0.5, 0.5]]))
    tensor([[0.9000, 0.1000]])
    """
    w = clean_proba.unsqueeze(1)
    return w * labels + (1.0 - w) * proba


def unlabeled_weight(progress: float, warmup_epochs: int, rampup_epochs: int,
                     lambda_u: float) -> float:
    """Weight of the unlabeled term, ramped up linearly after the warm-up.

    ``lambda_u * clip((progress - warmup_epochs) / rampup_epochs, 0, 1)``, as in the
    DivideMix reference code, where ``progress`` counts epochs from 0 with the fraction
    of the current epoch's batches done (epoch ``e``, batch ``b`` of ``n``: ``e - 1 +
    b / n`` for epochs counted from 1).

    Parameters
    ----------
    progress : float
        Epochs trained so far, fractional.
    warmup_epochs : int
        Epochs of the warm-up.
    rampup_epochs : int
        Epochs over which the weight grows from 0 to ``lambda_u``; 0 gives the full
        weight from the first epoch after the warm-up.
    lambda_u : float
        The final weight.

    Returns
    -------
    float

    Examples
    --------
    >>> unlabeled_weight(10.0, 10, 16, 25.0), unlabeled_weight(18.0, 10, 16, 25.0)
    (0.0, 12.5)
    >>> unlabeled_weight(40.0, 10, 16, 25.0), unlabeled_weight(10.0, 10, 0, 25.0)
    (25.0, 25.0)
    """
    if rampup_epochs <= 0:
        return float(lambda_u) if progress >= warmup_epochs else 0.0
    return float(lambda_u) * float(np.clip((progress - warmup_epochs) / rampup_epochs, 0.0, 1.0))


def mixmatch_loss(logits: torch.Tensor, targets: torch.Tensor, labeled: torch.Tensor, *,
                  lambda_u: float, prior_penalty: float,
                  weights: torch.Tensor | None = None) -> tuple[torch.Tensor, tuple]:
    """DivideMix's loss on a MixMatch-mixed batch.

    ``L = Lx + lambda_u * Lu + prior_penalty * KL(uniform || mean_i p_i)`` with
    ``p = softmax(logits)``; ``Lx`` is the mean over the ``n_x`` rows that came from
    labeled rows of the soft cross-entropy ``-sum_c t_c log p_c``, ``Lu`` the sum over
    the ``n_u`` other rows of the squared error ``mean_c (p_c - t_c) ** 2`` (averaged
    over classes too, as the reference code) divided by ``max(n_u, n_x)``, and the
    prior term is taken over all rows.

    ``max(n_u, n_x)``: the paper draws labeled and unlabeled batches of one size,
    cycling the smaller set, so over an epoch each unlabeled row weighs ``lambda_u *
    n_x / n_u`` times a labeled one. Here batches hold both kinds in the split's
    proportion; dividing by ``n_u`` alone would reproduce that weighting, and with
    few unlabeled rows (little noise) it lets a handful of rows dominate: on clean
    digits it cost 1 to 15 points (the paper sets ``lambda_u=0`` at low noise).
    Dividing by ``max(n_u, n_x)`` keeps the paper's weighting when most rows are
    unlabeled and caps an unlabeled row's weight at ``lambda_u`` times a labeled
    row's otherwise.

    Parameters
    ----------
    logits : torch.Tensor of shape (N, C)
        The network's logits on the mixed inputs.
    targets : torch.Tensor of shape (N, C)
        The mixed soft targets.
    labeled : torch.Tensor of shape (N,), bool
        Whether each mixed row's own (first) row came from the labeled part.
    lambda_u : float
        Weight of ``Lu`` (already ramped).
    prior_penalty : float
        Weight of the uniform-prior term.
    weights : torch.Tensor of shape (N,) or None, default=None
        Per-row weights (mixed sample weights) inside ``Lx`` and ``Lu``.

    Returns
    -------
    loss : torch.Tensor
        The scalar loss.
    parts : tuple of torch.Tensor
        ``(Lx, Lu, prior term)``, each a scalar; an empty part is 0.

    Examples
    --------
    >>> import torch
    >>> logits = torch.zeros(2, 2)
    >>> targets = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    >>> loss, (lx, lu, prior) = mixmatch_loss(logits, targets, torch.tensor([True, False]),
    ...                                       lambda_u=1.0, prior_penalty=1.0)
    >>> round(float(lx), 4), float(lu), float(prior)  # log 2, 0, 0
    (0.6931, 0.0, 0.0)
    """
    log_p = torch.log_softmax(logits, dim=1)
    p = log_p.exp()
    soft_ce = -(targets * log_p).sum(dim=1)
    squared = ((p - targets) ** 2).mean(dim=1)
    if weights is not None:
        soft_ce, squared = soft_ce * weights, squared * weights
    # Masked means (an empty part is 0) without a host sync on the GPU.
    in_x = labeled.to(soft_ce.dtype)
    in_u = 1.0 - in_x
    loss_x = (soft_ce * in_x).sum() / in_x.sum().clamp_min(1.0)
    loss_u = (squared * in_u).sum() / torch.maximum(in_u.sum(), in_x.sum()).clamp_min(1.0)
    prior = class_prior_kl(logits)
    loss = loss_x + lambda_u * loss_u + prior_penalty * prior
    return loss, (loss_x, loss_u, prior)


def guard_split(clean_proba: np.ndarray, labels: np.ndarray, p_threshold: float, *,
                max_fraction: float | None = None,
                min_class_fraction: float = 0.0) -> np.ndarray:
    """The labeled mask of a loss-mixture split, kept from inverting or collapsing.

    Rows with ``clean_proba > p_threshold`` are labeled. Then, if more than
    ``max_fraction`` of the rows are labeled, only that many (rounded up) with the
    highest ``clean_proba`` stay labeled; and every class (by given label) with fewer
    than ``min_class_fraction`` of its rows labeled gets its rows of highest
    ``clean_proba`` labeled up to that share. The class floor wins over the cap.

    Parameters
    ----------
    clean_proba : ndarray of shape (n_samples,)
        Each row's posterior of the clean (low-loss) component.
    labels : ndarray of shape (n_samples,)
        The given (noisy) labels, encoded.
    p_threshold : float
        Rows above it are labeled.
    max_fraction : float or None, default=None
        Cap on the labeled share; ``None``: no cap.
    min_class_fraction : float, default=0.0
        Share of each class's rows kept labeled at least.

    Returns
    -------
    labeled : ndarray of shape (n_samples,), bool

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([0.9, 0.8, 0.7, 0.6, 0.1, 0.2])
    >>> y = np.array([0, 0, 0, 0, 1, 1])
    >>> guard_split(w, y, 0.5).astype(int).tolist()
    [1, 1, 1, 1, 0, 0]
    >>> guard_split(w, y, 0.5, max_fraction=0.5, min_class_fraction=0.5).astype(int).tolist()
    [1, 1, 1, 0, 0, 1]
    """
    clean_proba = np.asarray(clean_proba, dtype=np.float64)
    labels = np.asarray(labels)
    labeled = clean_proba > p_threshold
    if max_fraction is not None:
        cap = int(math.ceil(round(max_fraction * len(labeled), 6)))
        if labeled.sum() > cap:
            order = np.argsort(-clean_proba, kind="stable")
            labeled = np.zeros_like(labeled)
            labeled[order[:cap]] = True
    if min_class_fraction > 0:
        for label in np.unique(labels):
            rows = np.flatnonzero(labels == label)
            need = int(math.ceil(round(min_class_fraction * len(rows), 6)))
            if labeled[rows].sum() < need:
                best = rows[np.argsort(-clean_proba[rows], kind="stable")[:need]]
                labeled[best] = True
    return labeled


class DivideMixClassifier(SemiSupervisedMixin, MultiNetworkMixin, NoisyNetClassifier):
    """DivideMix: each of two networks splits the data for the other; MixMatch on the split.

    Two networks of the same architecture, initialised differently, are trained
    together (Li, Socher and Hoi, 2020). After ``warmup_epochs`` of plain
    cross-entropy on every row, each epoch begins with a split of the training set by
    each network: its per-sample cross-entropy, from an evaluation-mode pass over the
    training rows, is normalised and a two-component mixture is fitted on it; ``w_i``,
    the posterior of the low-loss component, is the probability that row ``i``'s
    label is clean, and rows with ``w_i > p_threshold`` are *labeled*, the others
    *unlabeled* (their labels are ignored). Network A's split trains network B and
    vice versa (co-divide), so a network never confirms its own mistakes.

    In every training batch, each network is trained on the other's split:

    - labeled rows get a co-refined target ``sharpen(w * y + (1 - w) * p, T)``, ``p``
      the network's own mean prediction over ``n_views`` augmented views;
    - unlabeled rows get a co-guessed target ``sharpen(mean of both networks'
      predictions over the views, T)``;
    - all views of all rows are mixed with their targets (MixMatch): ``l ~
      Beta(mixmatch_alpha, mixmatch_alpha)``, ``l = max(l, 1 - l)`` (so each mixed
      row stays closer to its own row), and the network minimises soft
      cross-entropy on the mixed rows that came from labeled rows, plus ``lambda_u(t)``
      times the squared error on those from unlabeled rows, plus ``prior_penalty *
      KL(uniform || mean prediction over the batch)``.

    Predictions average both networks' probabilities.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The architecture of both networks (see :class:`sknoisy.NoisyNetClassifier`);
        ``module__*`` parameters apply to both.
    warmup_epochs : int, default=5
        Epochs in which both networks train with cross-entropy on every row (one
        augmented view) before the first split; at least 1. A split needs networks
        that have learned the easy, clean rows and not yet memorised the noisy ones.
        The paper warms up for 10 of 300 epochs on CIFAR-10; with the default MLP
        and Adam on 10,000 Fashion-MNIST images (one seed), 5 warm-up epochs of 30
        beat 10 at 40% symmetric noise (0.835 against 0.818) and at 80% (0.683
        against 0.604; see the user guide): the later split, after more
        memorisation, was less precise.
    p_threshold : float in [0, 1), default=0.5
        Rows whose clean posterior ``w`` exceeds it are labeled.
    temperature : float, default=0.5
        ``T`` of the sharpening of both kinds of targets.
    mixmatch_alpha : float, default=4
        Both parameters of the Beta draw of MixMatch's ``l``.
    lambda_u : float, default=25
        Final weight of the unlabeled squared error (the paper uses 0 to 150 by noise
        level: 25 at 50% and 80% symmetric noise on CIFAR-10).
    rampup_epochs : int, default=16
        Epochs after the warm-up over which the unlabeled weight grows linearly
        (batch by batch) from 0 to ``lambda_u``, as in the paper; 0 starts at full
        weight.
    prior_penalty : float, default=1.0
        Weight of ``KL(uniform || mean prediction)``, which keeps the networks from
        predicting one class for everything (0 turns it off; for strongly imbalanced
        classes it pulls towards balanced predictions, so lower it there).
    mixture : {'gaussian', 'beta'}, default='gaussian'
        The two-component mixture of the split: the paper's Gaussian one on min-max
        normalised losses (:class:`~sknoisy.mixture.GaussianLossMixture`), or the
        :class:`~sknoisy.BetaMixture1D` on percentile-normalised losses
        (:func:`~sknoisy.mixture.fit_loss_mixture`).
    n_views : int, default=2
        Augmented views of each row per step: predictions are averaged over them
        and each enters the mixed batch.
    augmentation : {'auto', 'shift', 'noise', 'none'} or callable, default='auto'
        How a view is made. ``'shift'``: every image shifted by its own random offset
        of up to ``max_shift`` pixels, for images ((N, H, W) or (N, C, H, W)) and a
        convolutional network; ``'noise'``: gaussian noise of standard deviation
        ``input_noise`` added to each input (2-D inputs are standardised by the core
        unless ``standardize=False``, so that is ``input_noise`` feature standard
        deviations); ``'auto'`` is ``'shift'`` for images and ``'noise'`` for 2-D
        X. An MLP is not shift-invariant: for images fed to an MLP, use ``'noise'``.
        ``'none'``: no augmentation, and a single view whatever ``n_views``. A
        callable ``f(X_batch) -> X_view`` of the batch tensor may draw from
        torch's global random generator, which each fit seeds.
    input_noise : float, default=0.1
        Standard deviation of ``'noise'`` views.
    max_shift : int, default=2
        Largest offset of ``'shift'`` views, in pixels.
    shift_padding : {'zeros', 'reflect'}, default='zeros'
        What fills the border a shift uncovers.
    max_labeled_fraction : 'auto', float in (0, 1] or None, default='auto'
        Cap on the share of rows a split labels (see Notes). ``'auto'``: set at
        the first split after the warm-up, for each network the smaller of the share
        its split labels and the clean share estimated from both networks'
        probabilities (:func:`sknoisy.noise.estimate_noise_rate`, confident joint);
        a number: that cap; ``None``: no cap (the paper).
    min_labeled_fraction : float in [0, 1], default=0.1
        Each class (by given label) keeps at least this share of its rows labeled,
        the ones with the highest ``w``.
    predict_with : {'mean', 'first'}, default='mean'
        Average both networks' probabilities (the paper), or use the first.
    unlabeled_label : int, float, str or None, default=None
        A label value that means "no label", for scikit-learn's semi-supervised
        convention (``unlabeled_label=-1``). ``None``: only ``None``, NaN and pandas
        ``NA`` mark a row as unlabeled, and ``-1`` is an ordinary class.
    **kwargs
        Every parameter of :class:`sknoisy.NoisyNetClassifier` (``max_epochs``,
        ``lr``, ``batch_size``, ``device``, ``random_state``, ...). One optimizer holds
        both networks' parameters. ``criterion`` is not used: the warm-up is
        cross-entropy and the rest DivideMix's own loss. ``mixup_alpha`` must stay 0
        (MixMatch mixes already).

    Attributes
    ----------
    module_, module2_ : torch.nn.Module
        The two networks.
    labeled_masks_ : ndarray of shape (2, n_samples), bool
        The last split each network made (row ``k``: network ``k``'s split, which
        trained the other network), one column per row given to ``fit``, in order;
        all True when training ended in the warm-up. Rows the split never saw are
        False: rows without a label, and the rows early stopping held out (or a
        ``train_split`` of the user's).
    clean_proba_ : ndarray of shape (2, n_samples)
        ``w`` of that split (before the guard); all 1 when training ended in the
        warm-up. NaN for the rows the split never saw (unlabeled or held out).
    max_labeled_fraction_ : ndarray of shape (2,)
        The caps ``max_labeled_fraction='auto'`` set (absent otherwise, or when no
        split happened).
    history_ : skorch History
        Besides skorch's entries, per epoch: ``labeled_fraction`` (mean over the two
        splits of the labeled share, NaN in the warm-up), ``mixture_clean_mean`` (mean
        over the two mixtures of the clean component's mean normalised loss) and
        ``unlabeled_weight`` (``lambda_u(t)`` at the end of the epoch).
    classes_, n_features_in_, input_shape_, n_samples_fit_
        As in :class:`sknoisy.NoisyNetClassifier`.

    See Also
    --------
    CoTeachingClassifier : two networks exchanging small-loss samples, batch by batch.
    DynamicBootstrappingClassifier : one network, mixture weights on its targets.
    sknoisy.mixture.fit_loss_mixture : the split's mixture.

    Notes
    -----
    **Guard against an inverted or collapsed split.** At heavy noise the networks
    memorise the noisy labels left in the labeled part; their losses fall, the next
    split labels more of them, and the split inverts (measured with an MLP on
    Fashion-MNIST at 80% symmetric noise: the labeled share went from 0.29 to 0.82 and
    its precision from 0.63 to 0.24). With ``max_labeled_fraction='auto'`` a
    network's split never labels a larger share of the rows than its first split
    after the warm-up, made before memorisation starts, nor more than the clean share
    estimated then (one minus the confident-joint noise rate of both networks' mean
    probabilities, which runs low at heavy noise: 0.52-0.59 for 80% on digits); rows
    beyond the cap with the lowest ``w`` become unlabeled. The other way,
    ``min_labeled_fraction`` keeps the labeled part from collapsing to (almost)
    nothing, class by class. ``labeled_fraction`` in ``history_`` shows the split
    over the epochs; the user guide has the measurements.

    **Differences from the paper.** A batch is drawn from all training rows by the
    core's iterator and each row is labeled or unlabeled by the current split, where
    the paper draws separate labeled and unlabeled batches of equal size; so the
    mixed batch holds labeled and unlabeled rows in the split's proportion, and the
    unlabeled term is divided by the larger of the two counts, so that a few
    unlabeled rows (little noise) cannot dominate it (``mixmatch_loss`` says why). Both
    networks are updated in every step (one optimizer; each network's loss depends
    on its own parameters only), where the paper trains one network for an epoch,
    then the other. Targets are computed without gradients with both networks in
    evaluation mode, once per view, and shared by both updates. The paper's
    per-epoch loss averaging at 90% noise and its negative-entropy warm-up term for
    asymmetric noise are not implemented. ``sample_weight`` weighs each mixed row by
    the mixture of its two rows' weights.

    **Unlabeled rows.** A row whose label is missing (``None``, NaN, pandas ``NA``, or
    ``unlabeled_label``) is in the unlabeled part of every split: it gets the
    co-guessed target and enters MixMatch like any unlabeled row, weighted by its
    ``sample_weight``. It takes no part in the warm-up's cross-entropy (averaged over
    the labeled rows of each batch) and none in the mixtures, the caps or the class
    floor of the split, which are all computed over the rows with a label (so is
    ``labeled_fraction`` in ``history_``). ``classes_`` come from the labeled rows,
    early stopping holds out labeled rows only, and ``score`` ignores unlabeled
    rows.

    **Cost.** After the warm-up, per batch: ``2 * n_views`` forward passes without
    gradients, and each network's forward and backward pass over ``n_views`` times
    the batch; per epoch, one evaluation pass of both networks over the training set.
    About 4 to 6 times plain cross-entropy per epoch with 2 views.

    The per-sample ``losses`` each training step reports (to a
    :class:`~sknoisy.callbacks.PerSampleRecord`) are the cross-entropy of the given
    labels under both networks' mean prediction (on the first view, after the
    warm-up), not the loss trained on; 0 for unlabeled rows.

    References
    ----------
    .. [1] J. Li, R. Socher, S. C. H. Hoi. "DivideMix: Learning with Noisy Labels as
       Semi-supervised Learning". ICLR 2020.
    .. [2] D. Berthelot et al. "MixMatch: A Holistic Approach to Semi-Supervised
       Learning". NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from sknoisy.classifiers import DivideMixClassifier
    >>> X, y = make_blobs(n_samples=300, centers=3, cluster_std=1.0, random_state=0)
    >>> rng = np.random.default_rng(0)
    >>> flip = rng.random(len(y)) < 0.3
    >>> y_noisy = np.where(flip, (y + 1) % 3, y)
    >>> clf = DivideMixClassifier(warmup_epochs=3, max_epochs=8, lr=1e-2,
    ...                           random_state=0).fit(X, y_noisy)
    >>> clf.labeled_masks_.shape
    (2, 300)
    >>> bool(clf.labeled_masks_[0][flip].mean() < clf.labeled_masks_[0][~flip].mean())
    True
    >>> bool(clf.score(X, y) > 0.85)
    True
    """

    _parameter_constraints: dict = {
        **NoisyNetClassifier._parameter_constraints,
        "warmup_epochs": [Interval(Integral, 1, None, closed="left")],
        "p_threshold": [Interval(Real, 0, 1, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "mixmatch_alpha": [Interval(Real, 0, None, closed="neither")],
        "lambda_u": [Interval(Real, 0, None, closed="left")],
        "rampup_epochs": [Interval(Integral, 0, None, closed="left")],
        "prior_penalty": [Interval(Real, 0, None, closed="left")],
        "mixture": [StrOptions({"gaussian", "beta"})],
        "n_views": [Interval(Integral, 1, None, closed="left")],
        "augmentation": [StrOptions({"auto", "shift", "noise", "none"}), callable],
        "input_noise": [Interval(Real, 0, None, closed="left")],
        "max_shift": [Interval(Integral, 0, None, closed="left")],
        "shift_padding": [StrOptions({"zeros", "reflect"})],
        "max_labeled_fraction": [Interval(Real, 0, 1, closed="right"), StrOptions({"auto"}),
                                 None],
        "min_labeled_fraction": [Interval(Real, 0, 1, closed="both")],
        "predict_with": [StrOptions({"first", "mean"})],
        "unlabeled_label": [None, Real, str],
    }

    def __init__(
        self,
        module=None,
        *,
        warmup_epochs=5,
        p_threshold=0.5,
        temperature=0.5,
        mixmatch_alpha=4.0,
        lambda_u=25.0,
        rampup_epochs=16,
        prior_penalty=1.0,
        mixture="gaussian",
        n_views=2,
        augmentation="auto",
        input_noise=0.1,
        max_shift=2,
        shift_padding="zeros",
        max_labeled_fraction="auto",
        min_labeled_fraction=0.1,
        predict_with="mean",
        unlabeled_label=None,
        **kwargs,
    ):
        super().__init__(module, **kwargs)
        self.warmup_epochs = warmup_epochs
        self.p_threshold = p_threshold
        self.temperature = temperature
        self.mixmatch_alpha = mixmatch_alpha
        self.lambda_u = lambda_u
        self.rampup_epochs = rampup_epochs
        self.prior_penalty = prior_penalty
        self.mixture = mixture
        self.n_views = n_views
        self.augmentation = augmentation
        self.input_noise = input_noise
        self.max_shift = max_shift
        self.shift_padding = shift_padding
        self.max_labeled_fraction = max_labeled_fraction
        self.min_labeled_fraction = min_labeled_fraction
        self.predict_with = predict_with
        self.unlabeled_label = unlabeled_label

    def _check_params(self) -> None:
        super()._check_params()
        for name in ("warmup_epochs", "p_threshold", "temperature", "mixmatch_alpha",
                     "lambda_u", "rampup_epochs", "prior_penalty", "n_views", "input_noise",
                     "max_shift", "max_labeled_fraction", "min_labeled_fraction"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{type(self).__name__}: {name} must be a number, not the "
                                f"bool {value!r}.")
        if self.mixup_alpha > 0:
            raise ValueError(
                f"{type(self).__name__} mixes every batch with MixMatch already "
                f"(mixmatch_alpha); got mixup_alpha={self.mixup_alpha!r}. Use "
                "mixup_alpha=0 and set mixmatch_alpha instead.")

    # -- views --------------------------------------------------------------------------------
    def _augmentation_kind(self, ndim: int):
        if callable(self.augmentation) or self.augmentation != "auto":
            return self.augmentation
        return "shift" if ndim >= 3 else "noise"

    def _views(self, Xi: torch.Tensor, n_views: int | None = None) -> list:
        """``n_views`` (default: the parameter) augmented views of a batch.

        One view, the batch itself, with ``augmentation='none'``.
        """
        kind = self._augmentation_kind(Xi.ndim)
        if isinstance(kind, str) and kind == "none":
            return [Xi]
        generator = getattr(getattr(self, "_fit_state", None), "view_generator", None)
        return [augment(Xi, kind, input_noise=float(self.input_noise),
                        max_shift=int(self.max_shift), padding=self.shift_padding,
                        generator=generator) for _ in range(n_views or self.n_views)]

    # -- the split -------------------------------------------------------------------------------
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        kind = self._augmentation_kind(1 + len(self.input_shape_))
        if isinstance(kind, str) and kind == "shift" and len(self.input_shape_) < 2:
            raise ValueError(
                f"{type(self).__name__}: augmentation='shift' shifts images, but X has "
                f"samples of shape {tuple(self.input_shape_)}; use augmentation='noise' "
                "(or 'auto') for tabular data.")
        state = self._fit_state
        state.n_rows = len(X)
        state.view_generator = torch.Generator(device=self.device).manual_seed(
            state.child_seed(3))
        state.split = None
        if self.current_epoch() == 0:
            # A fresh fit estimates its own cap; a warm start keeps the previous one.
            vars(self).pop("max_labeled_fraction_", None)

    def _evaluation_pass(self, dataset) -> dict:
        """Eval-mode pass of both networks over the training rows.

        Returns, for the rows the split uses (``'used'``: rows seen, so not those of a
        user's validation split, and with a label), each network's cross-entropy
        (``'losses'``, (2, n_used)), the networks' mean probabilities (``'proba'``,
        (n_used, C)) and the labels.
        """
        n = self._fit_state.n_rows
        losses = torch.zeros((2, n), device=self.device)
        proba = torch.zeros((n, len(self.classes_)), device=self.device)
        targets = torch.zeros(n, dtype=torch.long, device=self.device)
        seen = torch.zeros(n, dtype=torch.bool, device=self.device)
        self._set_training(False)
        with torch.no_grad():
            for batch in self.get_iterator(dataset, training=False):
                Xi, yi = batch
                rows = _indices(self, batch)
                logits = [self.infer_network(k, Xi) for k in range(2)]
                safe, _ = labeled_targets(yi)  # unlabeled rows' losses are dropped below
                for k, z in enumerate(logits):
                    losses[k, rows] = per_sample_cross_entropy(z, safe)
                proba[rows] = (torch.softmax(logits[0], 1) + torch.softmax(logits[1], 1)) / 2
                targets[rows] = yi
                seen[rows] = True
        self._set_training(True)
        targets = targets.cpu().numpy()
        # A row without a label has no loss to split on: it stays unlabeled.
        used = seen.cpu().numpy() & (targets >= 0)
        return {"losses": losses.cpu().numpy().astype(np.float64)[:, used],
                "proba": proba.cpu().numpy().astype(np.float64)[used],
                "targets": targets[used], "used": used}

    def _divide(self, dataset) -> None:
        """Split the training rows by each network's losses (for the other network)."""
        state = self._fit_state
        evaluated = self._evaluation_pass(dataset)
        used, targets = evaluated["used"], evaluated["targets"]
        epoch = self.current_epoch()
        clean = np.zeros((2, state.n_rows))
        labeled = np.zeros((2, state.n_rows), dtype=bool)
        weights = [self._clean_proba(evaluated["losses"][k], state.child_seed(2, epoch, k))
                   for k in range(2)]
        caps = self._labeled_caps([float(np.mean(w > self.p_threshold)) for w, _ in weights],
                                  evaluated)
        clean_means = []
        for k, (w, clean_mean) in enumerate(weights):
            clean[k, used] = w
            clean_means.append(clean_mean)
            labeled[k, used] = guard_split(w, targets, self.p_threshold, max_fraction=caps[k],
                                           min_class_fraction=float(self.min_labeled_fraction))
        state.split = (torch.as_tensor(clean, dtype=torch.float32, device=self.device),
                       torch.as_tensor(labeled, device=self.device))
        state.split_summary = (float(labeled[:, used].mean()), float(np.mean(clean_means)))
        state.last_split = (labeled, np.where(used, clean, np.nan))

    def _clean_proba(self, losses: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
        """``w`` of each row and the clean component's mean (normalised loss)."""
        if losses.size < 2 or not np.ptp(losses) > 0:
            # Losses without spread carry no evidence of noise: every row looks clean.
            return np.ones(losses.size), 0.0
        mixture, normalized = fit_loss_mixture(losses, self.mixture, random_state=seed)
        return 1.0 - mixture.posterior_noisy(normalized), float(mixture.means_[0])

    def _labeled_caps(self, fractions: list, evaluated: dict) -> list:
        """Each network's cap on its labeled share (None: no cap)."""
        if self.max_labeled_fraction is None:
            return [None, None]
        if not (isinstance(self.max_labeled_fraction, str)
                and self.max_labeled_fraction == "auto"):
            return [float(self.max_labeled_fraction)] * 2
        if getattr(self, "max_labeled_fraction_", None) is None:
            # Set once, at the first split after the warm-up, before memorisation: the
            # share that split labels, and at most the clean share the confident joint
            # of both networks' probabilities estimates.
            clean_share = 1.0 - float(estimate_noise_rate(
                proba=evaluated["proba"], y=evaluated["targets"], method="confident_joint"))
            self.max_labeled_fraction_ = np.minimum(np.asarray(fractions), clean_share)
        return [float(cap) for cap in self.max_labeled_fraction_]

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                               **kwargs)
        state = self._fit_state
        state.batch_in_epoch = 0
        state.n_batches = max(1, len(self.get_iterator(dataset_train, training=True)))
        state.split_summary = (float("nan"), float("nan"))
        if self.current_epoch() > self.warmup_epochs:
            self._divide(dataset_train)

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                             **kwargs)
        fraction, clean_mean = self._fit_state.split_summary
        self.history.record("labeled_fraction", fraction)
        self.history.record("mixture_clean_mean", clean_mean)
        self.history.record("unlabeled_weight", self._unlabeled_weight(
            self.current_epoch()))

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        state = self._fit_state
        split = getattr(state, "last_split", None)
        if split is None:  # training ended in the warm-up: every row with a label
            has_label = np.broadcast_to(np.asarray(y) >= 0, (2, len(X)))
            split = (has_label.copy(), np.where(has_label, 1.0, np.nan))
        labeled, clean = split
        # One column per row given to fit: early stopping's held-out rows are not in X.
        train_rows = getattr(state, "train_rows", None)
        if train_rows is not None:
            n_given = state.n_rows_given
            labeled = _scatter(labeled, train_rows, n_given, False)
            clean = _scatter(clean, train_rows, n_given, np.nan)
        self.labeled_masks_, self.clean_proba_ = labeled, clean

    def _unlabeled_weight(self, progress: float) -> float:
        return unlabeled_weight(progress, self.warmup_epochs, self.rampup_epochs,
                                self.lambda_u)

    # -- the training step -----------------------------------------------------------------
    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        state = getattr(self, "_fit_state", None)
        split = getattr(state, "split", None)
        if split is None or self.in_warmup():
            return self._warmup_step(Xi, yi, getattr(batch, "indices", None), **fit_params)
        rows = _indices(self, batch)
        progress = self.current_epoch() - 1 + state.batch_in_epoch / state.n_batches
        state.batch_in_epoch += 1
        lambda_u = self._unlabeled_weight(progress)
        views = self._views(Xi)
        n_classes = len(self.classes_)
        with torch.no_grad():
            self._set_training(False)
            # Each network's mean prediction over the views, in evaluation mode.
            mean_proba = [torch.stack([torch.softmax(self.infer_network(k, v, **fit_params), 1)
                                       for v in views]).mean(dim=0) for k in range(2)]
            self._set_training(True)
            guessed = sharpen((mean_proba[0] + mean_proba[1]) / 2, self.temperature)
            # Unlabeled rows (encoded -1) are never in the labeled part of a split, so
            # their placeholder class never reaches a target.
            targets_given, has_label = labeled_targets(yi)
            onehot = F.one_hot(targets_given, n_classes).to(guessed.dtype)
        inputs = torch.cat(views)
        weights = getattr(state, "weights", None)
        clean_proba, labeled_masks = split
        total = 0.0
        for k in range(2):
            peer = 1 - k  # co-divide: the peer's split trains network k
            labeled = labeled_masks[peer][rows]
            with torch.no_grad():
                refined = sharpen(co_refine(onehot, clean_proba[peer][rows], mean_proba[k]),
                                  self.temperature)
                targets = torch.where(labeled[:, None], refined, guessed).repeat(len(views), 1)
            draw = draw_mixup(float(self.mixmatch_alpha), len(inputs),
                              generator=state.generator, device=inputs.device)
            draw = MixupDraw(max(draw.lam, 1.0 - draw.lam), draw.perm)
            logits = self.infer_network(k, draw.mix(inputs), **fit_params)
            row_weights = None if weights is None else draw.mix(
                weights[rows].repeat(len(views)))
            loss, _ = mixmatch_loss(logits, draw.mix(targets), labeled.repeat(len(views)),
                                    lambda_u=lambda_u, prior_penalty=float(self.prior_penalty),
                                    weights=row_weights)
            total = total + loss
        total.backward()
        with torch.no_grad():
            proba = (mean_proba[0] + mean_proba[1]) / 2
            y_pred = self.combined_logits([torch.log(p.clamp_min(torch.finfo(p.dtype).tiny))
                                           for p in mean_proba])
        return {"loss": total.detach() / 2, "y_pred": y_pred,
                "losses": torch.where(has_label, per_sample_cross_entropy(y_pred, targets_given),
                                      0.0),
                "proba": proba}

    def _warmup_step(self, Xi, yi, indices, **fit_params):
        """Cross-entropy on every row of one augmented view, for both networks."""
        view = self._views(Xi, n_views=1)[0]
        logits = [self.infer_network(k, view, **fit_params) for k in range(2)]
        targets, has_label = labeled_targets(yi)
        losses = [torch.where(has_label, per_sample_cross_entropy(z, targets), 0.0)
                  for z in logits]
        # The mean over the batch's labeled rows: unlabeled rows have no loss here.
        scale = len(yi) / has_label.sum().clamp_min(1)
        total = (self.reduce_loss(losses[0], indices)
                 + self.reduce_loss(losses[1], indices)) * scale
        total.backward()
        with torch.no_grad():
            proba = sum(torch.softmax(z.detach(), dim=1) for z in logits) / 2
            y_pred = self.combined_logits([z.detach() for z in logits])
        return {"loss": total.detach() / 2, "y_pred": y_pred,
                "losses": (losses[0].detach() + losses[1].detach()) / 2, "proba": proba}


def _scatter(values: np.ndarray, columns: np.ndarray, n_columns: int, fill) -> np.ndarray:
    """``values`` (2, len(columns)) placed at ``columns`` of a (2, n_columns) array of ``fill``."""
    full = np.full((values.shape[0], n_columns), fill, dtype=values.dtype)
    full[:, columns] = values
    return full


def _indices(net, batch) -> torch.Tensor:
    rows = getattr(batch, "indices", None)
    if rows is None:
        raise RuntimeError(
            f"{type(net).__name__} needs the training-set positions of each batch's rows "
            "(batch.indices) to look up its split; keep sknoisy's default iterator_train "
            "and iterator_valid.")
    return rows
