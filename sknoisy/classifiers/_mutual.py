"""Deep mutual learning: K networks, each trained on the labels and on the others' predictions."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch

from .._core._base import NoisyNetClassifier
from .._core._peers import MultiNetworkMixin, per_sample_kl
from .._core._unlabeled import SemiSupervisedMixin, labeled_targets
from .._core._validation import Interval, StrOptions

__all__ = ["MutualLearningClassifier", "mimicry_losses"]


def mimicry_losses(logits: list) -> list:
    """Each network's mimicry term of deep mutual learning, one (N,) tensor per network.

    For network ``k`` of ``K``: ``1 / (K - 1) * sum over l != k of KL(p_l || p_k)``,
    ``p = softmax(logits)``, with the peers' ``p_l`` detached, so the term trains
    network ``k`` only.

    Parameters
    ----------
    logits : list of torch.Tensor of shape (N, C)
        The ``K >= 2`` networks' logits on one batch.

    Returns
    -------
    list of torch.Tensor of shape (N,)

    Examples
    --------
    >>> import torch
    >>> same = torch.tensor([[1.0, -1.0]])
    >>> mimicry_losses([same, same])
    [tensor([0.]), tensor([0.])]
    >>> a, b = torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 2.0]])
    >>> [round(float(t), 4) for t in mimicry_losses([a, b])]  # KL(b || a), KL(a || b)
    [0.3278, 0.4338]
    """
    if len(logits) < 2:
        raise ValueError(f"mimicry_losses needs the logits of at least 2 networks; got "
                         f"{len(logits)}.")
    targets = [z.detach() for z in logits]
    return [sum(per_sample_kl(targets[peer], z) for peer in range(len(logits)) if peer != k)
            / (len(logits) - 1) for k, z in enumerate(logits)]


class MutualLearningClassifier(SemiSupervisedMixin, MultiNetworkMixin, NoisyNetClassifier):
    """Deep mutual learning: K networks learn from the labels and from each other.

    ``n_networks`` networks of the same architecture, initialised differently, are
    trained together (Zhang et al., 2018). Network ``k`` minimises its supervised loss
    plus the mean KL divergence from each other network's predicted distribution to
    its own::

        L_k = CE(p_k, y) + 1 / (K - 1) * sum over l != k of KL(p_l || p_k)

    with ``p_l`` detached (a target for network ``k``, not trained by ``L_k``). Each
    network thus also matches its peers' whole predicted distributions, a soft target
    that, unlike the given label, differs between samples of one class; with noisy
    labels this pull towards the peers' consensus slows the memorisation of the wrong
    labels. All networks are updated together in one optimizer step.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The architecture of every network (see :class:`sknoisy.NoisyNetClassifier`);
        ``module__*`` parameters apply to all. A module *instance* is copied for the
        other networks and its layers' ``reset_parameters`` are called.
    n_networks : int, default=2
        ``K``, the number of networks (at least 2). The paper's gains grow a little
        with ``K``; training costs about ``K`` times plain training.
    predict_with : {'mean', 'first'}, default='mean'
        Average the networks' class probabilities (the default), or predict with the
        first network. The networks end close to each other but not identical, and
        averaging the probabilities of K networks is an ensemble: never worse than
        their average log-loss, and it costs only K forward passes at prediction
        (training trains them all anyway). ``'first'`` is the paper's single-network
        evaluation.
    unlabeled_label : int, float, str or None, default=None
        A label value that means "no label", for scikit-learn's semi-supervised
        convention (``unlabeled_label=-1``). ``None``: only ``None``, NaN and pandas
        ``NA`` mark a row as unlabeled, and ``-1`` is an ordinary class.
    **kwargs
        Every parameter of :class:`sknoisy.NoisyNetClassifier` (``max_epochs``,
        ``lr``, ``criterion``, ``warmup_epochs``, ``device``, ``random_state``, ...).
        One optimizer holds every network's parameters; since ``L_k`` depends only on
        network ``k``'s parameters, that is the same as one optimizer per network.

    Attributes
    ----------
    module_, module2_, ... : torch.nn.Module
        The networks (``networks()`` lists them).
    history_ : skorch History
        Besides skorch's entries, per epoch: ``mutual_kl``, the mean over networks
        and training samples of the mimicry term. ``train_loss`` is the mean over
        networks of their objectives.
    classes_, n_features_in_, input_shape_
        As in :class:`sknoisy.NoisyNetClassifier`.

    See Also
    --------
    CoTeachingClassifier : two networks; ``variant='jocor'`` also trains them towards
        agreement, and adds small-loss selection.
    DistilledStudentClassifier : one network learning from a fixed, trained teacher.

    Notes
    -----
    The supervised term is the per-sample loss of ``criterion`` (cross entropy by
    default, plain cross entropy during ``warmup_epochs``; a robust loss from
    :mod:`sknoisy.losses` also works); the mimicry term is always on. Each network's
    objective is averaged over the batch with ``sample_weight`` applied. The paper
    updates the networks one after the other within a step, each seeing the others'
    latest predictions; here they are updated simultaneously from one forward pass
    of each, as in most implementations. The per-sample loss each training step
    reports (to a :class:`~sknoisy.callbacks.PerSampleRecord`) is the mean over
    networks of their objectives, and its class probabilities the mean of the
    networks'. Mixup (``mixup_alpha > 0``) is not supported.

    **Unlabeled rows.** A row whose label is missing (``None``, NaN, pandas ``NA``, or
    ``unlabeled_label``) adds only its mimicry term to each network's objective: it
    has no cross entropy, so the networks learn from it to agree with each other. Its
    objective is averaged over the batch with the labeled rows' (its
    ``sample_weight`` applies to the mimicry term). ``classes_`` come from the
    labeled rows, early stopping holds out labeled rows only, and ``score`` ignores
    unlabeled rows.

    References
    ----------
    .. [1] Y. Zhang, T. Xiang, T. M. Hospedales and H. Lu, "Deep Mutual Learning",
       CVPR 2018.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknoisy.classifiers import MutualLearningClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MutualLearningClassifier(n_networks=3, max_epochs=40, lr=1e-2,
    ...                                random_state=0).fit(X, y)
    >>> len(clf.networks())
    3
    >>> bool(clf.score(X, y) > 0.9)
    True
    >>> bool(clf.history[-1, "mutual_kl"] < clf.history[-1, "train_loss"])
    True
    """

    _parameter_constraints: dict = {
        **NoisyNetClassifier._parameter_constraints,
        "n_networks": [Interval(Integral, 2, None, closed="left")],
        "predict_with": [StrOptions({"first", "mean"})],
        "unlabeled_label": [None, Real, str],
    }

    def __init__(self, module=None, *, n_networks=2, predict_with="mean",
                 unlabeled_label=None, **kwargs):
        super().__init__(module, **kwargs)
        self.n_networks = n_networks
        self.predict_with = predict_with
        self.unlabeled_label = unlabeled_label

    def _check_params(self) -> None:
        super()._check_params()
        if isinstance(self.n_networks, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}: n_networks must be an int >= 2, not the "
                            f"bool {self.n_networks!r}.")

    def _network_count(self) -> int:
        return int(self.n_networks)

    # -- per-epoch state --------------------------------------------------------------------
    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                               **kwargs)
        # Summed on the device (no per-batch sync); the count is a Python int.
        self._fit_state.mimicry_sum = torch.zeros((), device=self.device)
        self._fit_state.mimicry_count = 0

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                             **kwargs)
        count = self._fit_state.mimicry_count
        self.history.record("mutual_kl", self._fit_state.mimicry_sum.item() / count
                            if count else float("nan"))

    # -- the training step ------------------------------------------------------------------
    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        indices = getattr(batch, "indices", None)
        logits = [self.infer_network(k, Xi, **fit_params) for k in range(len(self.networks()))]
        mimicry = mimicry_losses(logits)
        # An unlabeled row (encoded -1) has no supervised term, only its mimicry term.
        targets, labeled = labeled_targets(yi)
        objectives = [torch.where(labeled, self._per_sample_losses(z, targets), 0.0) + m
                      for z, m in zip(logits, mimicry)]
        # L_k depends on network k alone, so the gradient of the sum is each network's own.
        total = sum(self.reduce_loss(objective, indices) for objective in objectives)
        total.backward()
        with torch.no_grad():
            state = getattr(self, "_fit_state", None)
            if state is not None and hasattr(state, "mimicry_sum"):
                state.mimicry_sum += torch.stack(mimicry).detach().mean(dim=0).sum()
                state.mimicry_count += len(yi)
            proba = torch.stack([torch.softmax(z.detach(), dim=1) for z in logits]).mean(dim=0)
            y_pred = self.combined_logits([z.detach() for z in logits])
        return {"loss": total.detach() / len(logits), "y_pred": y_pred,
                "losses": torch.stack(objectives).detach().mean(dim=0), "proba": proba}
