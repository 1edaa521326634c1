"""Fit a two-component mixture on per-sample losses: the Beta one of BMM, DivideMix's Gaussian."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._beta import BetaMixture1D
from ._gaussian import GaussianLossMixture
from ._validation import check_1d_finite

__all__ = ["fit_loss_mixture", "normalize_losses"]

_MIXTURES = ("beta", "gaussian")
# Distance from 0 and 1 that normalised losses keep, so Beta densities stay finite.
NORMALIZE_EPS = 1e-3


def normalize_losses(losses: ArrayLike, *, eps: float = NORMALIZE_EPS) -> np.ndarray:
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

    See Also
    --------
    fit_loss_mixture : normalises the losses this way and fits a Beta mixture on them.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.mixture import normalize_losses
    >>> normalize_losses(np.arange(101.0))[[0, 50, 100]].round(3)
    array([0.001, 0.5  , 0.999])
    """
    x = check_1d_finite(losses, "losses")
    low, high = percentile_bounds(x)
    if high <= low:
        return np.full(x.shape, eps)
    return np.clip((x - low) / (high - low), eps, 1.0 - eps)


def percentile_bounds(losses: np.ndarray) -> tuple[float, float]:
    """The 5th and 95th percentiles that :func:`normalize_losses` maps to 0 and 1.

    A method that normalises new losses the same way (dynamic bootstrapping, batch by
    batch) keeps these bounds from the fit.
    """
    low, high = np.percentile(losses, [5, 95])
    return float(low), float(high)


def _min_max(x: np.ndarray) -> np.ndarray:
    low, high = x.min(), x.max()
    # Losses with no spread carry no evidence of noise: all map to 0, the clean end.
    return (x - low) / (high - low) if high > low else np.zeros_like(x)


def fit_loss_mixture(
    losses: ArrayLike, mixture: str = "beta", *, random_state=None,
) -> tuple[BetaMixture1D | GaussianLossMixture, np.ndarray]:
    """Normalise per-sample losses and fit a two-component mixture on them.

    The fitted mixture's ``posterior_noisy(normalized)`` is then each sample's
    probability of being mislabeled: the posterior of the higher-mean (high-loss)
    component, non-decreasing in the loss.

    - ``'beta'`` (BMM, Arazo et al., 2019): losses are mapped to [0, 1] by their 5th and
      95th percentiles and clamped to ``[1e-3, 1 - 1e-3]`` (:func:`normalize_losses`);
      a :class:`BetaMixture1D` is fitted on the samples inside the percentile range
      only (those outside would pile up at the clamped edges), and scores all of them.
    - ``'gaussian'`` (DivideMix, Li et al., 2020): losses are min-max normalised to
      [0, 1] and a :class:`GaussianLossMixture` (scikit-learn's ``GaussianMixture`` with
      ``n_components=2, max_iter=10, tol=1e-2, reg_covar=5e-4``) is fitted on all of
      them.

    Parameters
    ----------
    losses : array-like of shape (n_samples,)
        Per-sample losses (higher = worse fit), at least 2, all finite.
    mixture : {'beta', 'gaussian'}, default='beta'
        Which mixture to fit.
    random_state : int, RandomState instance or None, default=None
        Seeds the Gaussian mixture's initialisation. The Beta mixture is deterministic
        and ignores it.

    Returns
    -------
    mixture : BetaMixture1D or GaussianLossMixture
        The fitted mixture; ``mixture.posterior_noisy(normalized)`` gives P(noisy).
    normalized : ndarray of shape (n_samples,)
        The normalised losses, in the order of ``losses``.

    Raises
    ------
    ValueError
        If ``losses`` is not 1-D, has fewer than 2 values or NaN or infinite ones, or
        ``mixture`` is not a known name.

    See Also
    --------
    sknoisy.noise.estimate_noise_rate : the noise rate from the Beta mixture's posterior.

    Notes
    -----
    Percentile normalisation makes the Beta fit robust to a few extreme losses; min-max
    normalisation is DivideMix's choice and lets one very large loss compress the others
    towards 0, which the Gaussian mixture tolerates better than a Beta one would.

    References
    ----------
    .. [1] E. Arazo, D. Ortego, P. Albert, N. O'Connor, K. McGuinness. "Unsupervised
       Label Noise Modeling and Loss Correction". ICML 2019.
    .. [2] J. Li, R. Socher, S. C. H. Hoi. "DivideMix: Learning with Noisy Labels as
       Semi-supervised Learning". ICLR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.mixture import fit_loss_mixture
    >>> rng = np.random.default_rng(0)
    >>> losses = np.concatenate([rng.gamma(2.0, 0.1, 800), rng.normal(2.5, 0.3, 200)])
    >>> bmm, normalized = fit_loss_mixture(losses)
    >>> p_noisy = bmm.posterior_noisy(normalized)
    >>> float(p_noisy[:800].mean().round(2)), float(p_noisy[800:].mean().round(2))
    (0.0, 1.0)
    >>> gmm, normalized = fit_loss_mixture(losses, "gaussian", random_state=0)
    >>> int((gmm.posterior_noisy(normalized) > 0.5).sum())
    200
    """
    if not (isinstance(mixture, str) and mixture in _MIXTURES):
        raise ValueError(f"mixture must be one of {_MIXTURES}; got {mixture!r}.")
    x = check_1d_finite(losses, "losses")
    if x.size < 2:
        raise ValueError(f"fit_loss_mixture needs at least 2 losses to fit two components; "
                         f"got {x.size}.")
    if mixture == "gaussian":
        normalized = _min_max(x)
        return GaussianLossMixture(random_state=random_state).fit(normalized), normalized
    normalized = normalize_losses(x)
    low, high = percentile_bounds(x)
    inside = (x >= low) & (x <= high)
    sample = normalized[inside] if inside.sum() >= 2 else normalized
    return BetaMixture1D().fit(sample), normalized
