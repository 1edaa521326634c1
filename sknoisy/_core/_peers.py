"""Several networks in one estimator: Co-teaching and JoCoR train two, mutual learning K.

:class:`MultiNetworkMixin` goes before :class:`~sknoisy.NoisyNetClassifier` in a method's
bases. It builds the extra networks right after ``module_`` as ``module2_``,
``module3_``, ... Because their names end in ``_`` and they are set inside skorch's
``initialize_module``, skorch registers them as modules: they move to ``device``, the one
optimizer skorch builds holds their parameters, they pickle with the net, and
:class:`~sknoisy._core._early_stopping.BestEpochStopping` restores every one of them to
its best epoch. The mixin also runs network ``k`` on a batch (:meth:`infer_network`) and
predicts with the first network or with the mean of all networks' probabilities
(``predict_with``).
"""

from __future__ import annotations

import copy
import math
import warnings

import torch
from skorch.utils import to_tensor

__all__ = ["MultiNetworkMixin", "network_name", "per_sample_kl"]


def network_name(k: int) -> str:
    """skorch's name of network ``k`` (counted from 0): ``'module'``, ``'module2'``, ...

    Parameters
    ----------
    k : int
        Position of the network, 0 for the first.

    Returns
    -------
    str
        The attribute is this name plus ``'_'``.

    Examples
    --------
    >>> [network_name(k) for k in range(3)]
    ['module', 'module2', 'module3']
    """
    return "module" if k == 0 else f"module{k + 1}"


def per_sample_kl(target_logits: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """``KL(softmax(target_logits) || softmax(logits))`` of each row, shape (N,).

    Summed over classes, computed from log-probabilities (finite for finite logits).
    Gradients flow into both arguments; detach ``target_logits`` for a fixed target.

    Parameters
    ----------
    target_logits : torch.Tensor of shape (N, C)
        Logits of the distribution the KL is taken *from* (``p`` in ``KL(p || q)``).
    logits : torch.Tensor of shape (N, C)
        Logits of the other distribution (``q``).

    Returns
    -------
    torch.Tensor of shape (N,)

    Examples
    --------
    >>> import torch
    >>> p = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    >>> per_sample_kl(p, p)
    tensor([0., 0.])
    >>> round(float(per_sample_kl(torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 2.0]]))), 4)
    0.4338
    """
    return torch.nn.functional.kl_div(
        torch.log_softmax(logits, dim=1), torch.log_softmax(target_logits, dim=1),
        reduction="none", log_target=True).sum(dim=1)


class MultiNetworkMixin:
    """Extra networks for a :class:`~sknoisy.NoisyNetClassifier` subclass.

    A subclass lists the mixin first (``class M(MultiNetworkMixin, NoisyNetClassifier)``),
    says how many networks it trains in :meth:`_network_count` and stores a
    ``predict_with`` parameter (``'first'`` or ``'mean'``). Every network has the
    architecture of ``module`` (``module__*`` parameters apply to all of them) and its
    own initial weights, drawn one after the other from the fit's seeded generator, so
    they differ yet are reproducible.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknoisy.classifiers import MutualLearningClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MutualLearningClassifier(n_networks=3, max_epochs=2, random_state=0).fit(X, y)
    >>> [type(net).__name__ for net in clf.networks()]
    ['MLP', 'MLP', 'MLP']
    >>> import torch
    >>> clf.infer_network(2, torch.zeros(4, 4)).shape
    torch.Size([4, 3])
    """

    def _network_count(self) -> int:
        """How many networks the method trains (2 unless a subclass says otherwise)."""
        return 2

    def networks(self) -> list:
        """The trained networks, first (``module_``) to last.

        Returns
        -------
        list of torch.nn.Module

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sknoisy.classifiers import CoTeachingClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = CoTeachingClassifier(max_epochs=1, random_state=0).fit(X, y)
        >>> clf.networks()[1] is clf.module2_
        True
        """
        networks, k = [], 0
        # The networks built by the last fit, whatever n_networks says now.
        while hasattr(self, network_name(k) + "_"):
            networks.append(getattr(self, network_name(k) + "_"))
            k += 1
        return networks

    def initialize_module(self):
        super().initialize_module()
        count = self._network_count()
        for k in range(1, count):
            setattr(self, network_name(k) + "_", self._build_peer())
        # A refit with fewer networks must not keep the old extra ones registered (the
        # optimizer and early stopping would still see them); skorch's __delattr__
        # unregisters them.
        k = count
        while hasattr(self, network_name(k) + "_"):
            delattr(self, network_name(k) + "_")
            k += 1
        return self

    def _build_peer(self) -> torch.nn.Module:
        kwargs = self.get_params_for("module")
        if not (isinstance(self.module, torch.nn.Module) and not kwargs):
            return self.build_module(self.module, kwargs)
        # A bare instance cannot be rebuilt, so copy it and draw fresh weights: identical
        # networks would make the same choices forever.
        peer = copy.deepcopy(self.module_)
        for layer in peer.modules():
            if callable(getattr(layer, "reset_parameters", None)):
                layer.reset_parameters()
        pairs = list(zip(peer.parameters(), self.module_.parameters()))
        if pairs and all(torch.equal(a, b) for a, b in pairs):
            warnings.warn(
                f"{type(self).__name__}: the module instance's layers have no "
                "reset_parameters(), so all networks start from the same weights and "
                "the method reduces to one network; pass the module class instead.",
                UserWarning, stacklevel=3)
        return peer

    def infer_network(self, k: int, Xi, **fit_params) -> torch.Tensor:
        """Logits of network ``k`` (0 is ``module_``) on a batch, as skorch's ``infer``.

        Parameters
        ----------
        k : int
            Position of the network, from 0 to the number of networks minus 1.
        Xi : torch.Tensor or array-like
            A batch of inputs as the training step receives it (already standardised by
            the core's dataset).
        **fit_params
            Passed to the network's ``forward``.

        Returns
        -------
        torch.Tensor of shape (n, n_classes)

        Examples
        --------
        >>> import torch
        >>> from sklearn.datasets import load_iris
        >>> from sknoisy.classifiers import CoTeachingClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = CoTeachingClassifier(max_epochs=1, random_state=0).fit(X, y)
        >>> Xt = torch.as_tensor(X[:2], dtype=torch.float32)
        >>> torch.equal(clf.infer_network(0, Xt), clf.infer(Xt))
        True
        """
        if k == 0:
            return self.infer(Xi, **fit_params)
        network = getattr(self, network_name(k) + "_")
        return network(to_tensor(Xi, device=self.device), **fit_params)

    def _per_sample_losses(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # The core's per-sample loss: cross entropy during the warm-up, then criterion.
        losses = self.get_per_sample_loss(logits, y, training=True)
        if losses.ndim != 1:
            raise ValueError(
                f"{type(self).__name__} needs one loss per sample, but criterion "
                f"{type(self.criterion_).__name__} returns a loss of shape "
                f"{tuple(losses.shape)} per batch; use a criterion that accepts "
                "reduction='none'.")
        return losses

    def combined_logits(self, logits: list) -> torch.Tensor:
        """The prediction ``predict_with`` makes of the networks' ``logits``.

        Parameters
        ----------
        logits : list of torch.Tensor of shape (n, n_classes)
            One entry per network, first network first.

        Returns
        -------
        torch.Tensor of shape (n, n_classes)
            The first network's logits (``'first'``), or the log of the mean of the
            networks' probabilities (``'mean'``), whose softmax is that mean.

        Examples
        --------
        >>> import torch
        >>> from sknoisy.classifiers import MutualLearningClassifier
        >>> clf = MutualLearningClassifier(predict_with="mean")
        >>> logits = [torch.tensor([[0.0, 10.0]]), torch.tensor([[10.0, 0.0]])]
        >>> clf.combined_logits(logits).softmax(dim=1)
        tensor([[0.5000, 0.5000]])
        """
        if self.predict_with == "first":
            return logits[0]
        log_p = torch.stack([torch.log_softmax(z, dim=-1) for z in logits])
        # Averaged in log space, so no probability underflows.
        return torch.logsumexp(log_p, dim=0) - math.log(len(logits))

    def evaluation_step(self, batch, training=False):
        if self.predict_with == "first":
            return super().evaluation_step(batch, training=training)
        self.check_is_fitted()
        Xi = batch[0] if isinstance(batch, (tuple, list)) else batch
        with torch.set_grad_enabled(training):
            self._set_training(training)
            return self.combined_logits([self.infer_network(k, Xi)
                                         for k in range(len(self.networks()))])
