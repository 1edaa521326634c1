"""Reference estimators that only the benchmark uses (they are not sknoisy methods).

``HandLoopClassifier`` and ``StockSkorchClassifier`` train the core's MLP the way a
hand-written PyTorch loop and stock skorch do, so that the training core's overhead can
be timed against them; ``NoiseRateProbe`` reads a noise-rate estimate off a plainly
trained network.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

__all__ = ["HandLoopClassifier", "NoiseRateProbe", "StockSkorchClassifier",
           "hand_loop_classifier", "stock_skorch_classifier"]


@contextmanager
def _seeded(seed: int):
    """Seed torch's global generator for a reference loop, and restore it afterwards."""
    import torch

    # The references mimic user code, which seeds torch globally; sknoisy's own
    # estimators never do, so the global state is handed back untouched.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class _ReferenceTraining(ClassifierMixin, BaseEstimator):
    """The core's MLP trained outside sknoisy's core, for the timing references.

    Parameters
    ----------
    epochs : int, default=3
    hidden_sizes : tuple of int, default=(256, 256)
    lr : float, default=1e-3
    batch_size : int, default=128
    random_state : int, default=0
    device : str, default='cpu'
    """

    def __init__(self, epochs=3, hidden_sizes=(256, 256), lr=1e-3, batch_size=128,
                 random_state=0, device="cpu"):
        self.epochs = epochs
        self.hidden_sizes = hidden_sizes
        self.lr = lr
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device


class HandLoopClassifier(_ReferenceTraining):
    """The core's MLP trained by a plain PyTorch loop: the floor of any training loop.

    Adam, cross-entropy, shuffled mini-batches, ``loss.item()`` logged per batch as a
    hand-written loop does; nothing else.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknoisy.benchmark._baselines import HandLoopClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = HandLoopClassifier(epochs=20, hidden_sizes=(16,), lr=1e-2).fit(X, y)
    >>> bool(clf.score(X, y) > 0.6)
    True
    """

    def fit(self, X, y):
        import torch

        from ..modules import MLP

        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ValueError(f"HandLoopClassifier takes flat rows (2-D X); got shape "
                             f"{X.shape}.")
        self.classes_, codes = np.unique(y, return_inverse=True)
        X_t = torch.as_tensor(X, device=self.device)
        y_t = torch.as_tensor(codes, dtype=torch.int64, device=self.device)
        with _seeded(self.random_state):
            model = MLP(X.shape[1], len(self.classes_), hidden_sizes=tuple(self.hidden_sizes))
            model.to(self.device)
            optimizer = torch.optim.Adam(model.parameters(), lr=self.lr)
            model.train()
            for _ in range(self.epochs):
                order = torch.randperm(len(X_t), device=self.device)
                for start in range(0, len(X_t), self.batch_size):
                    idx = order[start:start + self.batch_size]
                    optimizer.zero_grad()
                    loss = torch.nn.functional.cross_entropy(model(X_t[idx]), y_t[idx])
                    loss.backward()
                    optimizer.step()
                    loss.item()  # the per-batch sync a logging loop pays
        self.model_ = model.eval()
        return self

    def predict(self, X):
        import torch

        check_is_fitted(self)
        with torch.no_grad():
            X_t = torch.as_tensor(np.asarray(X, dtype=np.float32), device=self.device)
            codes = self.model_(X_t).argmax(dim=1).cpu().numpy()
        return self.classes_[codes]


class StockSkorchClassifier(_ReferenceTraining):
    """skorch's own ``NeuralNetClassifier`` on the core's MLP, seeded, no validation split.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknoisy.benchmark._baselines import StockSkorchClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = StockSkorchClassifier(epochs=20, hidden_sizes=(16,), lr=1e-2).fit(X, y)
    >>> bool(clf.score(X, y) > 0.6)
    True
    """

    def fit(self, X, y):
        import torch
        from skorch import NeuralNetClassifier

        from ..modules import MLP

        X = np.asarray(X, dtype=np.float32)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.net_ = NeuralNetClassifier(
            MLP, module__n_features=X.shape[1], module__n_classes=len(self.classes_),
            module__hidden_sizes=tuple(self.hidden_sizes), criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam, lr=self.lr, batch_size=self.batch_size,
            max_epochs=self.epochs, train_split=None, iterator_train__shuffle=True,
            verbose=0, device=self.device)
        with _seeded(self.random_state):
            self.net_.fit(X, codes.astype(np.int64))
        return self

    def predict(self, X):
        check_is_fitted(self)
        return self.classes_[self.net_.predict(np.asarray(X, dtype=np.float32))]


def stock_skorch_classifier(ctx) -> StockSkorchClassifier:
    """The stock-skorch reference for the run described by ``ctx`` (a MethodContext).

    Examples
    --------
    >>> from sknoisy._registry import MethodContext
    >>> from sknoisy.benchmark._baselines import stock_skorch_classifier
    >>> stock_skorch_classifier(MethodContext(n_classes=3, epochs=2, seed=4)).epochs
    2
    """
    return StockSkorchClassifier(**_loop_params(ctx))


def hand_loop_classifier(ctx) -> HandLoopClassifier:
    """The hand-written-loop reference for the run described by ``ctx``.

    Examples
    --------
    >>> from sknoisy._registry import MethodContext
    >>> from sknoisy.benchmark._baselines import hand_loop_classifier
    >>> hand_loop_classifier(MethodContext(n_classes=3, epochs=2, seed=4)).random_state
    4
    """
    return HandLoopClassifier(**_loop_params(ctx))


def _loop_params(ctx) -> dict:
    # The same network and batches as the core network gets in this run.
    kwargs = ctx.net_kwargs
    return dict(epochs=ctx.epochs, random_state=ctx.seed, device=ctx.device,
                hidden_sizes=tuple(kwargs.get("module__hidden_sizes", (256, 256))),
                batch_size=kwargs.get("batch_size", 128), lr=kwargs.get("lr", 1e-3))


class NoiseRateProbe(ClassifierMixin, BaseEstimator):
    """Fit a network plainly, then estimate the noise rate from its training rows.

    Parameters
    ----------
    estimator : classifier with predict_proba
        Fitted on the (noisy) training labels as given.
    method : {'confident_joint', 'mixture'}, default='confident_joint'
        :func:`sknoisy.noise.estimate_noise_rate` on the network's probabilities of
        the training rows (confident joint), or on their cross-entropy losses (Beta
        mixture). Both read an eval-mode pass after training.

    Attributes
    ----------
    estimator_ : the fitted network
    noise_rate_ : float

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sknoisy.benchmark._baselines import NoiseRateProbe
    >>> X, y = load_iris(return_X_y=True)
    >>> probe = NoiseRateProbe(LogisticRegression(max_iter=500)).fit(X, y)
    >>> 0.0 <= probe.noise_rate_ < 0.2
    True
    """

    def __init__(self, estimator, method="confident_joint"):
        self.estimator = estimator
        self.method = method

    def fit(self, X, y):
        from ..noise import estimate_noise_rate

        if self.method not in ("confident_joint", "mixture"):
            raise ValueError(f"NoiseRateProbe: method must be 'confident_joint' or "
                             f"'mixture'; got {self.method!r}.")
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_ = np.asarray(self.estimator_.classes_)
        proba = np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)
        codes = np.searchsorted(self.classes_, np.asarray(y))
        if self.method == "confident_joint":
            self.noise_rate_ = float(estimate_noise_rate(proba=proba, y=codes,
                                                         method="confident_joint"))
        else:
            losses = -np.log(np.clip(proba[np.arange(len(codes)), codes], 1e-12, 1.0))
            self.noise_rate_ = float(estimate_noise_rate(losses, method="mixture"))
        return self

    def predict(self, X):
        check_is_fitted(self)
        return self.estimator_.predict(X)
