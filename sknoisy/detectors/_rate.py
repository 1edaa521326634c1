"""Estimate the fraction of mislabeled samples from per-sample losses."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._mixture import _as_finite_1d, fit_loss_mixture

__all__ = ["estimate_noise_rate"]


def estimate_noise_rate(losses: ArrayLike) -> float:
    """Estimate the noise rate as the mean posterior of the high-loss Beta component.

    The losses are normalised by their 5th and 95th percentiles
    (:func:`normalize_losses`), a two-component :class:`BetaMixture1D` is fitted on the
    samples inside that range (as :class:`BMMLabelCleaner` does), and the mean over
    all samples of the monotone ``P(noisy | loss)`` is returned. Unlike the mixing
    weight of the fitted range, this counts the top 5% of losses (almost surely noisy
    when the rate is above 5%), which the weight alone misses. Losses should come from
    a network that has fitted the clean samples but not yet memorised the noisy ones
    (after a warm-up, before late training).

    Parameters
    ----------
    losses : array-like of shape (n_samples,)
        Per-sample training losses (or any score where mislabeled samples are higher).

    Returns
    -------
    noise_rate : float
        Estimated fraction of mislabeled samples, in [0, 1). ``0.0`` when the losses
        have no spread (nothing separates two groups).

    See Also
    --------
    BetaMixture1D : the mixture fitted here.
    BMMLabelCleaner : flags the samples themselves with the same mixture.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.detectors import estimate_noise_rate
    >>> rng = np.random.default_rng(0)
    >>> losses = np.concatenate([rng.gamma(1.0, 0.2, 800), rng.normal(3.0, 0.5, 200)])
    >>> round(estimate_noise_rate(losses), 1)
    0.2
    """
    x = _as_finite_1d(losses, "losses")
    if x.size < 2:
        raise ValueError(f"estimate_noise_rate needs at least 2 losses; got {x.size}.")
    low, high = np.percentile(x, [5, 95])
    if high <= low:
        return 0.0
    mixture, normalized = fit_loss_mixture(x)
    return float(min(np.mean(mixture.posterior_noisy(normalized)), 1.0 - 1e-6))
