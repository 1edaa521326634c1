"""A two-component Gaussian mixture on per-sample losses, as DivideMix fits it.

Li, Socher and Hoi (2020) min-max normalise each sample's loss and fit a two-component
Gaussian mixture with a short EM run; the posterior of the higher-mean component is the
probability that a label is wrong. This wraps scikit-learn's ``GaussianMixture`` with
that configuration and the same ``posterior_noisy`` as :class:`BetaMixture1D`.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted

from .._core._validation import Interval, check_params
from ._base import LossMixtureMixin
from ._validation import validate_column

__all__ = ["GaussianLossMixture"]


class GaussianLossMixture(LossMixtureMixin, BaseEstimator):
    """Two-component 1-D Gaussian mixture whose higher-mean component is "noisy".

    A thin wrapper of scikit-learn's :class:`~sklearn.mixture.GaussianMixture` with
    DivideMix's settings (Li et al., 2020): two components, ``max_iter=10``,
    ``tol=1e-2``, ``reg_covar=5e-4``. Components are reported sorted by mean, so the
    last one is the high-loss component, and :meth:`posterior_noisy` is its posterior
    made non-decreasing in the loss.

    **Input.** One variable: ``X`` of shape ``(n_samples,)`` or ``(n_samples, 1)`` (a
    list, NumPy array, pandas Series or one-column DataFrame) of finite values, usually
    min-max normalised losses (:func:`fit_loss_mixture` with ``mixture='gaussian'`` does
    that). More than one column, NaN or infinite values, sparse or complex input raise
    a ``ValueError`` (``TypeError`` for sparse input).

    Parameters
    ----------
    max_iter : int, default=10
        Maximum number of EM iterations. DivideMix's short run: the mixture is refitted
        every epoch, and a rough fit is enough to split the losses.
    tol : float, default=1e-2
        EM stops when the lower bound changes by less than ``tol``.
    reg_covar : float, default=5e-4
        Added to each variance, so a component cannot collapse on one value.
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means initialisation of ``GaussianMixture``.

    Attributes
    ----------
    gmm_ : sklearn.mixture.GaussianMixture
        The fitted scikit-learn mixture (its components in its own order).
    means_ : ndarray of shape (2,)
        Component means, increasing.
    variances_ : ndarray of shape (2,)
        Component variances, in the order of ``means_``.
    weights_ : ndarray of shape (2,)
        Mixing weights, in the order of ``means_``.
    converged_ : bool
        Whether EM met ``tol`` within ``max_iter`` iterations. With the default 10
        iterations it often does not, by design; no warning is raised for it.
    n_iter_ : int
        EM iterations run.
    lower_bound_ : float
        Lower bound of the mean log-likelihood at the last iteration.
    n_features_in_ : int
        Always 1.
    feature_names_in_ : ndarray of shape (1,)
        The column name, when ``X`` was a one-column DataFrame with a string name.

    See Also
    --------
    fit_loss_mixture : normalises per-sample losses and fits this mixture on them.
    BetaMixture1D : the Beta alternative of Arazo et al. (2019).

    Notes
    -----
    With unequal variances the posterior of the higher-mean component is not monotone:
    the wider component wins again far in its tail. The log-ratio of the two weighted
    densities is a parabola in ``x``; :meth:`posterior_noisy` holds it at its vertex
    on the side where it would decrease, so a larger loss never looks cleaner. Between
    the vertex and the other side it equals :meth:`predict_proba`'s last column.

    References
    ----------
    .. [1] J. Li, R. Socher, S. C. H. Hoi. "DivideMix: Learning with Noisy Labels as
       Semi-supervised Learning". ICLR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.mixture import GaussianLossMixture
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(0.2, 0.05, 700), rng.normal(0.8, 0.05, 300)])
    >>> gmm = GaussianLossMixture(random_state=0).fit(x)
    >>> gmm.means_.round(1), gmm.weights_.round(1)
    (array([0.2, 0.8]), array([0.7, 0.3]))
    >>> gmm.posterior_noisy([0.1, 0.5, 0.9]).round(2).tolist()
    [0.0, 0.12, 1.0]
    """

    _parameter_constraints: dict = {
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, max_iter: int = 10, tol: float = 1e-2, reg_covar: float = 5e-4,
                 random_state=None) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.reg_covar = reg_covar
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: None = None) -> GaussianLossMixture:
        """Fit the two-component mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Values to model (normalised losses).
        y : None
            Ignored.

        Returns
        -------
        self : GaussianLossMixture
            The fitted mixture.
        """
        check_params(self)
        x = validate_column(self, X, reset=True)
        if x.size < 2:
            # "1 sample" is the wording scikit-learn's checks expect for a single row.
            raise ValueError(f"GaussianLossMixture: got {x.size} sample(s); two components "
                             "need at least 2. Pass more data.")
        gmm = GaussianMixture(n_components=2, max_iter=self.max_iter, tol=self.tol,
                              reg_covar=self.reg_covar, random_state=self.random_state)
        with warnings.catch_warnings():
            # The short EM run is deliberate (DivideMix refits every epoch), and data with
            # one distinct value leave k-means one cluster: converged_ records the first;
            # the second still yields a valid (one-sided) mixture.
            warnings.simplefilter("ignore", ConvergenceWarning)
            gmm.fit(x[:, None])
        order = np.argsort(gmm.means_[:, 0], kind="stable")
        self.gmm_ = gmm
        self.means_ = gmm.means_[order, 0]
        self.variances_ = gmm.covariances_.reshape(-1)[order]
        self.weights_ = gmm.weights_[order]
        self.converged_ = bool(gmm.converged_)
        self.n_iter_ = int(gmm.n_iter_)
        self.lower_bound_ = float(gmm.lower_bound_)
        return self

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Posterior probability of each component for each value.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Values to score.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Columns in the order of ``means_`` (increasing).
        """
        check_is_fitted(self)
        x = validate_column(self, X, reset=False)
        order = np.argsort(self.gmm_.means_[:, 0], kind="stable")
        return self.gmm_.predict_proba(x[:, None])[:, order]

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Log-density of the mixture at each value.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Values to score.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.gmm_.score_samples(validate_column(self, X, reset=False)[:, None])

    def posterior_noisy(self, X: ArrayLike) -> np.ndarray:
        """P(higher-mean component | x), made non-decreasing in x.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Values to score (normalised losses).

        Returns
        -------
        p_noisy : ndarray of shape (n_samples,)
            Values in [0, 1], non-decreasing in ``X``.
        """
        check_is_fitted(self)
        x = validate_column(self, X, reset=False)
        (m0, m1), (v0, v1), (w0, w1) = self.means_, self.variances_, self.weights_
        # d/dx of log(w1 N(x; m1, v1)) - log(w0 N(x; m0, v0)) vanishes at the vertex
        # below. If the noisy component is wider (v1 > v0) the log-ratio falls left of
        # the vertex, so x is held at it from below; if it is narrower, the log-ratio
        # falls right of the vertex, so x is held at it from above.
        if v1 != v0:
            vertex = (m0 * v1 - m1 * v0) / (v1 - v0)
            x = np.maximum(x, vertex) if v1 > v0 else np.minimum(x, vertex)
        with np.errstate(divide="ignore"):  # a vanished component has weight 0
            log_ratio = (np.log(w1) - np.log(w0) - 0.5 * (np.log(v1) - np.log(v0))
                         - (x - m1) ** 2 / (2 * v1) + (x - m0) ** 2 / (2 * v0))
        return expit(log_ratio)
