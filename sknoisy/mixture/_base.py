"""What the one-variable loss mixtures share: tags, ``predict`` and ``score``."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import DensityMixin

__all__ = ["LossMixtureMixin"]


class LossMixtureMixin(DensityMixin):
    """Shared behaviour of a two-component mixture over per-sample losses.

    A subclass implements ``fit``, ``predict_proba`` (columns by increasing mean),
    ``score_samples`` and ``posterior_noisy``.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # A 1-D array is the natural shape of per-sample losses.
        tags.input_tags.one_d_array = True
        tags.target_tags.required = False
        return tags

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Index of the most probable component for each value.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Values to score.

        Returns
        -------
        components : ndarray of shape (n_samples,)
            Indices into ``means_`` (increasing): the last is the high-loss component.
        """
        return np.argmax(self.predict_proba(X), axis=1)

    def score(self, X: ArrayLike, y: None = None) -> float:
        """Mean log-density of the mixture over the values.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Values to score.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean of :meth:`score_samples`; higher means the data fit the mixture better.
        """
        return float(np.mean(self.score_samples(X)))
