"""GaussianLossMixture: DivideMix's two-component Gaussian mixture on normalised losses."""

import numpy as np
import pytest

from sknoisy.mixture import GaussianLossMixture


def _clusters(n_low=700, n_high=300, sd_low=0.05, sd_high=0.05, seed=0):
    rng = np.random.default_rng(seed)
    return np.r_[rng.normal(0.2, sd_low, n_low), rng.normal(0.8, sd_high, n_high)]


def test_gaussian_mixture_separates_two_clusters():
    x = _clusters()
    gmm = GaussianLossMixture(random_state=0).fit(x)
    np.testing.assert_allclose(gmm.means_, [0.2, 0.8], atol=0.01)
    np.testing.assert_allclose(gmm.weights_, [0.7, 0.3], atol=0.01)
    np.testing.assert_allclose(np.sqrt(gmm.variances_), [0.05, 0.05], atol=0.01)
    post = gmm.posterior_noisy(x)
    assert post[:700].max() < 0.1 and post[700:].min() > 0.9
    np.testing.assert_array_equal(gmm.predict(x), np.r_[np.zeros(700), np.ones(300)])


def test_gaussian_mixture_uses_dividemix_settings():
    gmm = GaussianLossMixture(random_state=3).fit(_clusters())
    params = gmm.gmm_.get_params()
    assert (params["n_components"], params["max_iter"], params["tol"],
            params["reg_covar"], params["random_state"]) == (2, 10, 1e-2, 5e-4, 3)
    assert gmm.n_iter_ <= 10 and isinstance(gmm.converged_, bool)


@pytest.mark.parametrize("sd_low, sd_high", [(0.02, 0.2), (0.2, 0.02)])
def test_gaussian_posterior_noisy_is_monotone_where_the_raw_one_is_not(sd_low, sd_high):
    # A wider noisy component wins again far left of the clean one; a wider clean
    # component wins again far right of the noisy one.
    gmm = GaussianLossMixture(random_state=0).fit(_clusters(sd_low=sd_low, sd_high=sd_high))
    grid = np.linspace(-1.0, 2.0, 3001)
    raw = gmm.predict_proba(grid)[:, 1]
    post = gmm.posterior_noisy(grid)
    assert np.any(np.diff(raw) < -1e-3)
    assert np.all(np.diff(post) >= -1e-12)
    between = (grid > 0.3) & (grid < 0.7)
    np.testing.assert_allclose(post[between], raw[between], atol=1e-9)


def test_gaussian_mixture_is_deterministic_with_random_state():
    x = _clusters(seed=5)
    first = GaussianLossMixture(random_state=7).fit(x)
    second = GaussianLossMixture(random_state=7).fit(x)
    np.testing.assert_array_equal(first.means_, second.means_)
    np.testing.assert_array_equal(first.posterior_noisy(x), second.posterior_noisy(x))


def test_gaussian_mixture_on_constant_data_is_finite_and_quiet(recwarn):
    gmm = GaussianLossMixture(random_state=0).fit(np.zeros(50))
    post = gmm.posterior_noisy(np.zeros(50))
    assert np.all(np.isfinite(post)) and np.ptp(post) == 0
    assert not recwarn.list


def test_gaussian_mixture_rejects_bad_parameters():
    with pytest.raises(ValueError, match="max_iter"):
        GaussianLossMixture(max_iter=0).fit(_clusters())
    with pytest.raises(ValueError, match="reg_covar"):
        GaussianLossMixture(reg_covar=-1.0).fit(_clusters())
