"""A one-dimensional Beta mixture fitted by EM, and the loss normalisation BMM uses.

Per-sample losses of a network trained on noisy labels are bimodal: clean samples are
fitted early (small loss), mislabeled ones late (large loss). Arazo et al. (2019) model the
normalised losses with a two-component Beta mixture; the posterior of the higher-mean
component is the probability that a label is wrong.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, logsumexp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._core._validation import Interval, check_params

__all__ = ["BetaMixture1D", "fit_loss_mixture", "normalize_losses"]

# Shape parameters are kept in [_MIN_SHAPE, _MAX_SHAPE]: a Beta with a shape parameter
# near 0 puts infinite density at an edge, one with a huge shape is a spike, and either
# makes the E-step overflow.
_MIN_SHAPE, _MAX_SHAPE = 1e-2, 1e4
_GRID_SIZE = 2001


def normalize_losses(losses: ArrayLike, *, eps: float = 1e-3) -> np.ndarray:
    """Map per-sample losses to [eps, 1 - eps] by their 5th and 95th percentiles.

    The 5th percentile goes to 0 and the 95th to 1; values outside are clipped, then
    everything is clamped to ``[eps, 1 - eps]`` so that Beta densities stay finite
    (Arazo et al., 2019). Outliers in the loss therefore do not squash the bulk of the
    distribution into a corner.

    Parameters
    ----------
    losses : array-like of shape (n_samples,)
        Per-sample losses (any real values; higher = worse fit).
    eps : float, default=1e-3
        Distance kept from 0 and 1.

    Returns
    -------
    normalized : ndarray of shape (n_samples,)
        The losses in ``[eps, 1 - eps]``; all ``eps`` when the losses have no spread.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.detectors import normalize_losses
    >>> normalize_losses(np.arange(101.0))[[0, 50, 100]].round(3)
    array([0.001, 0.5  , 0.999])
    """
    x = _as_finite_1d(losses, "losses")
    low, high = np.percentile(x, [5, 95])
    if high <= low:
        return np.full(x.shape, eps)
    return np.clip((x - low) / (high - low), eps, 1.0 - eps)


def fit_loss_mixture(losses: np.ndarray) -> tuple[BetaMixture1D, np.ndarray]:
    """Fit a 2-component mixture on the in-range normalised losses; return it and them.

    Samples outside the 5th-95th percentile range are left out of the fit (they would
    pile up at the clamped edges) but are scored like the others.
    """
    normalized = normalize_losses(losses)
    low, high = np.percentile(losses, [5, 95])
    inside = (losses >= low) & (losses <= high)
    sample = normalized[inside] if inside.sum() >= 2 else normalized
    return BetaMixture1D().fit(sample), normalized


def _as_finite_1d(values, name: str) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per sample); got shape {x.shape}.")
    if x.size == 0:
        raise ValueError(f"{name} is empty; pass at least one value.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains {int(np.sum(~np.isfinite(x)))} NaN or infinite "
                         "values; remove or replace them first.")
    return x


def _moments_to_shapes(mean: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted method of moments: alpha = m (m(1-m)/v - 1), beta = alpha (1-m)/m."""
    mean = np.clip(mean, 1e-6, 1 - 1e-6)
    # A Beta's variance is below m(1-m); a zero or too large variance has no Beta, so it
    # is moved just inside the admissible range.
    var = np.clip(var, 1e-10, mean * (1 - mean) * (1 - 1e-6))
    alpha = mean * (mean * (1 - mean) / var - 1)
    beta = alpha * (1 - mean) / mean
    return (np.clip(alpha, _MIN_SHAPE, _MAX_SHAPE), np.clip(beta, _MIN_SHAPE, _MAX_SHAPE))


class BetaMixture1D(BaseEstimator):
    """Mixture of Beta distributions on [0, 1], fitted by EM with a method-of-moments M-step.

    The E-step computes each component's responsibility for each point; the M-step sets
    each component's weight to its mean responsibility and its shapes from the weighted
    mean ``m`` and variance ``v`` of the data: ``alpha = m (m(1-m)/v - 1)``,
    ``beta = alpha (1-m)/m`` (Arazo et al., 2019). Components are sorted by mean, so the
    last one is the high-loss ("noisy") component.

    Parameters
    ----------
    n_components : int, default=2
        Number of Beta components.
    max_iter : int, default=100
        Maximum number of EM iterations.
    tol : float, default=1e-5
        EM stops when the mean log-likelihood changes by less than ``tol``.
    eps : float, default=1e-3
        Data are clamped to ``[eps, 1 - eps]`` before fitting and scoring, so densities
        with a shape parameter below 1 stay finite at the edges.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights (sum to 1), components sorted by increasing mean.
    alphas_ : ndarray of shape (n_components,)
        First shape parameter of each component.
    betas_ : ndarray of shape (n_components,)
        Second shape parameter of each component.
    means_ : ndarray of shape (n_components,)
        ``alphas_ / (alphas_ + betas_)``, increasing.
    n_iter_ : int
        EM iterations run.
    converged_ : bool
        Whether EM met ``tol`` before ``max_iter``.
    lower_bound_ : float
        Mean log-likelihood of the training data at the last iteration.

    See Also
    --------
    BMMLabelCleaner : fits this mixture on per-sample losses to flag noisy labels.
    estimate_noise_rate : the mixture's estimate of the fraction of noisy labels.

    Notes
    -----
    Initialisation is deterministic: the sorted data are cut into ``n_components``
    equal-count slices and each slice seeds one component, so no random state is
    needed. The method-of-moments M-step does not guarantee a monotone likelihood (it
    is not the exact maximum-likelihood update), hence the ``max_iter`` cap.

    References
    ----------
    .. [1] E. Arazo, D. Ortego, P. Albert, N. O'Connor, K. McGuinness. "Unsupervised
       Label Noise Modeling and Loss Correction". ICML 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.detectors import BetaMixture1D
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.beta(2, 8, 700), rng.beta(8, 2, 300)])
    >>> bmm = BetaMixture1D().fit(x)
    >>> bmm.weights_.round(1)
    array([0.7, 0.3])
    >>> bmm.posterior_noisy([0.1, 0.9]).round(2).tolist()
    [0.0, 1.0]
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "eps": [Interval(Real, 0, 0.5, closed="neither")],
    }

    def __init__(self, n_components: int = 2, *, max_iter: int = 100, tol: float = 1e-5,
                 eps: float = 1e-3) -> None:
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol
        self.eps = eps

    def _clamp(self, x, name: str = "x") -> np.ndarray:
        x = _as_finite_1d(np.ravel(x) if np.ndim(x) == 0 else x, name)
        return np.clip(x, self.eps, 1.0 - self.eps)

    def _weighted_log_pdf(self, x: np.ndarray) -> np.ndarray:
        """log(w_k) + log Beta(x; a_k, b_k), shape (n_samples, n_components)."""
        with np.errstate(divide="ignore"):
            log_w = np.log(self.weights_)
        # The closed form is ~20x faster than scipy.stats.beta.logpdf, and x is already
        # clamped away from 0 and 1.
        return (log_w - betaln(self.alphas_, self.betas_)
                + np.log(x)[:, None] * (self.alphas_ - 1)
                + np.log1p(-x)[:, None] * (self.betas_ - 1))

    def fit(self, X: ArrayLike, y=None) -> BetaMixture1D:
        """Fit the mixture to values in [0, 1].

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Values in [0, 1] (normalised losses); they are clamped to
            ``[eps, 1 - eps]``.
        y : None
            Ignored.

        Returns
        -------
        self : BetaMixture1D
            The fitted mixture.
        """
        check_params(self)
        x = np.asarray(X, dtype=np.float64)
        if x.ndim == 2 and x.shape[1] == 1:
            x = x.ravel()
        x = _as_finite_1d(x, "X")
        if np.any((x < 0) | (x > 1)):
            raise ValueError(
                f"BetaMixture1D: X must lie in [0, 1]; got values in [{x.min():.4g}, "
                f"{x.max():.4g}]. Normalise first, for example with normalize_losses.")
        if x.size < self.n_components:
            raise ValueError(f"BetaMixture1D: {x.size} values cannot fit "
                             f"n_components={self.n_components}; pass more data.")
        x = np.clip(x, self.eps, 1.0 - self.eps)
        k = self.n_components
        # Equal-count slices of the sorted data seed the components: deterministic, and
        # it puts the components in increasing order of mean from the start.
        resp = np.zeros((x.size, k))
        resp[np.argsort(x, kind="stable"), np.arange(x.size) * k // x.size] = 1.0
        previous = -np.inf
        self.converged_ = False
        for self.n_iter_ in range(1, self.max_iter + 1):
            self._m_step(x, resp)
            log_prob = self._weighted_log_pdf(x)
            log_norm = logsumexp(log_prob, axis=1)
            resp = np.exp(log_prob - log_norm[:, None])
            self.lower_bound_ = float(np.mean(log_norm))
            if abs(self.lower_bound_ - previous) < self.tol:
                self.converged_ = True
                break
            previous = self.lower_bound_
        self._m_step(x, resp)
        order = np.argsort(self.means_, kind="stable")
        self.weights_, self.alphas_, self.betas_, self.means_ = (
            self.weights_[order], self.alphas_[order], self.betas_[order], self.means_[order])
        self._build_lookup()
        return self

    def _m_step(self, x: np.ndarray, resp: np.ndarray) -> None:
        counts = resp.sum(axis=0)
        # An emptied component keeps a tiny weight and the data's moments rather than
        # dividing by zero.
        safe = np.maximum(counts, 1e-12)
        mean = (resp * x[:, None]).sum(axis=0) / safe
        var = (resp * (x[:, None] - mean) ** 2).sum(axis=0) / safe
        empty = counts < 1e-12
        mean[empty], var[empty] = x.mean(), x.var()
        self.alphas_, self.betas_ = _moments_to_shapes(mean, var)
        self.weights_ = np.maximum(counts, 1e-12) / max(counts.sum(), 1e-12)
        self.weights_ /= self.weights_.sum()
        self.means_ = self.alphas_ / (self.alphas_ + self.betas_)

    def _build_lookup(self) -> None:
        """Tabulate P(last component | x) on a grid, made non-decreasing in x."""
        grid = np.linspace(self.eps, 1.0 - self.eps, _GRID_SIZE)
        post = self._posterior(grid)[:, -1]
        # Left of the lowest component's mean a running minimum from the right pulls
        # down the spurious rise a Beta with alpha < 1 can cause at 0; right of it a
        # running maximum removes the dip where a narrow clean component's tail
        # overtakes the noisy one. The result is non-decreasing everywhere.
        split = int(np.searchsorted(grid, self.means_[0]))
        left = np.minimum.accumulate(post[:split + 1][::-1])[::-1]
        right = np.maximum.accumulate(post[split:])
        self.lookup_grid_ = grid
        self.lookup_posterior_ = np.concatenate([left[:-1], right])

    def _posterior(self, x: np.ndarray) -> np.ndarray:
        log_prob = self._weighted_log_pdf(x)
        return np.exp(log_prob - logsumexp(log_prob, axis=1, keepdims=True))

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Posterior probability of each component for each value.

        Parameters
        ----------
        X : array-like of shape (n_samples,)
            Values in [0, 1].

        Returns
        -------
        proba : ndarray of shape (n_samples, n_components)
            Columns in the order of ``means_`` (increasing).
        """
        check_is_fitted(self)
        return self._posterior(self._clamp(X, "X"))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Index of the most probable component for each value.

        Parameters
        ----------
        X : array-like of shape (n_samples,)
            Values in [0, 1].

        Returns
        -------
        components : ndarray of shape (n_samples,)
        """
        return np.argmax(self.predict_proba(X), axis=1)

    def pdf(self, X: ArrayLike) -> np.ndarray:
        """Density of the fitted mixture at each value.

        Parameters
        ----------
        X : array-like of shape (n_samples,)
            Values in [0, 1] (clamped to ``[eps, 1 - eps]``).

        Returns
        -------
        density : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return np.exp(logsumexp(self._weighted_log_pdf(self._clamp(X, "X")), axis=1))

    def posterior_noisy(self, X: ArrayLike) -> np.ndarray:
        """P(highest-mean component | x), made non-decreasing in x.

        The raw posterior of a Beta mixture need not be monotone (a component with
        ``alpha < 1`` rises again at 0; a narrow low-mean component can dominate far
        in the right tail). A larger loss should never look cleaner, so the posterior is
        tabulated on a fine grid, made monotone, and interpolated.

        Parameters
        ----------
        X : array-like of shape (n_samples,)
            Values in [0, 1].

        Returns
        -------
        p_noisy : ndarray of shape (n_samples,)
            Values in [0, 1], non-decreasing in ``X``.
        """
        check_is_fitted(self)
        return np.interp(self._clamp(X, "X"), self.lookup_grid_, self.lookup_posterior_)

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Log-density of the mixture at each value.

        Parameters
        ----------
        X : array-like of shape (n_samples,)
            Values in [0, 1].

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return logsumexp(self._weighted_log_pdf(self._clamp(X, "X")), axis=1)
