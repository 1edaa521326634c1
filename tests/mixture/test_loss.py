"""normalize_losses and fit_loss_mixture: BMM's Beta fit and DivideMix's Gaussian fit."""

import numpy as np
import pytest

from sknoisy.mixture import (
    BetaMixture1D,
    GaussianLossMixture,
    fit_loss_mixture,
    normalize_losses,
)


def _losses(n_clean=800, n_noisy=200, seed=0):
    """Small losses for clean samples, large ones for mislabeled samples."""
    rng = np.random.default_rng(seed)
    return np.r_[rng.gamma(2.0, 0.1, n_clean), rng.normal(2.5, 0.3, n_noisy)]


def test_normalize_losses_maps_percentiles_and_clamps():
    losses = np.linspace(-5, 5, 1001)
    out = normalize_losses(losses)
    assert out.min() == pytest.approx(1e-3) and out.max() == pytest.approx(1 - 1e-3)
    assert out[500] == pytest.approx(0.5, abs=1e-3)
    assert np.all(np.diff(out) >= 0)
    assert np.all(normalize_losses(np.ones(5)) == 1e-3)


@pytest.mark.parametrize("mixture, cls", [("beta", BetaMixture1D),
                                          ("gaussian", GaussianLossMixture)])
def test_fit_loss_mixture_separates_bimodal_losses(mixture, cls):
    losses = _losses()
    fitted, normalized = fit_loss_mixture(losses, mixture, random_state=0)
    assert isinstance(fitted, cls) and normalized.shape == losses.shape
    post = fitted.posterior_noisy(normalized)
    assert post[:800].max() < 0.1 and post[800:].min() > 0.9
    order = np.argsort(losses)
    assert np.all(np.diff(post[order]) >= -1e-12)


def test_fit_loss_mixture_normalisations():
    losses = _losses()
    _, beta = fit_loss_mixture(losses, "beta")
    np.testing.assert_array_equal(beta, normalize_losses(losses))
    _, gaussian = fit_loss_mixture(losses, "gaussian")
    np.testing.assert_allclose(gaussian, (losses - losses.min()) / np.ptp(losses))


def test_fit_loss_mixture_beta_fits_the_in_range_samples_only():
    losses = _losses()
    fitted, normalized = fit_loss_mixture(losses)
    low, high = np.percentile(losses, [5, 95])
    reference = BetaMixture1D().fit(normalized[(losses >= low) & (losses <= high)])
    np.testing.assert_array_equal(fitted.alphas_, reference.alphas_)
    np.testing.assert_array_equal(fitted.weights_, reference.weights_)


def test_fit_loss_mixture_gaussian_is_deterministic_with_random_state():
    losses = _losses(seed=3)
    first, normalized = fit_loss_mixture(losses, "gaussian", random_state=4)
    second, _ = fit_loss_mixture(losses, "gaussian", random_state=4)
    np.testing.assert_array_equal(first.posterior_noisy(normalized),
                                  second.posterior_noisy(normalized))


@pytest.mark.parametrize("mixture", ["beta", "gaussian"])
def test_fit_loss_mixture_constant_losses_look_equally_clean(mixture):
    fitted, normalized = fit_loss_mixture(np.full(20, 0.7), mixture, random_state=0)
    post = fitted.posterior_noisy(normalized)
    assert np.all(np.isfinite(post)) and np.ptp(post) == 0


@pytest.mark.parametrize("losses, mixture, match", [
    ([0.1, np.nan, 0.3], "beta", "NaN"),
    ([0.1, np.inf, 0.3], "gaussian", "infinite"),
    (np.ones((3, 2)), "beta", "1-D"),
    ([0.5], "gaussian", "at least 2"),
    ([], "beta", "empty"),
    ([0.1, 0.9], "gmm", "mixture must be one of"),
    ([0.1, 0.9], None, "mixture must be one of"),
])
def test_fit_loss_mixture_rejects_bad_input(losses, mixture, match):
    with pytest.raises(ValueError, match=match):
        fit_loss_mixture(losses, mixture)
