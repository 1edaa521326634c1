"""BetaMixture1D: EM recovers known mixtures; the noisy posterior is monotone and finite."""

import numpy as np
import pytest

from sknoisy.mixture import BetaMixture1D


def _draw(weights, alphas, betas, n, seed):
    rng = np.random.default_rng(seed)
    comp = rng.choice(len(weights), size=n, p=weights)
    return rng.beta(np.asarray(alphas)[comp], np.asarray(betas)[comp])


@pytest.mark.parametrize("weights, alphas, betas", [
    ((0.7, 0.3), (2.0, 8.0), (8.0, 2.0)),
    ((0.8, 0.2), (1.0, 6.0), (9.0, 2.0)),
    ((0.5, 0.5), (3.0, 10.0), (12.0, 4.0)),
])
def test_beta_mixture_recovers_known_parameters(weights, alphas, betas):
    x = _draw(weights, alphas, betas, 20000, seed=1)
    bmm = BetaMixture1D().fit(x)
    np.testing.assert_allclose(bmm.weights_, weights, atol=0.04)
    np.testing.assert_allclose(bmm.alphas_, alphas, rtol=0.2)
    np.testing.assert_allclose(bmm.betas_, betas, rtol=0.2)
    assert np.all(np.diff(bmm.means_) > 0)
    assert bmm.weights_.sum() == pytest.approx(1.0)


def test_beta_mixture_posterior_noisy_is_monotone_and_bounded():
    x = _draw((0.6, 0.4), (0.7, 5.0), (6.0, 1.5), 5000, seed=2)
    bmm = BetaMixture1D().fit(x)
    grid = np.linspace(0, 1, 1001)
    post = bmm.posterior_noisy(grid)
    assert np.all(np.diff(post) >= -1e-12)
    assert post.min() >= 0 and post.max() <= 1
    assert post[0] < 0.05 and post[-1] > 0.95
    # the raw posterior agrees with the monotone one where it is already increasing
    raw = bmm.predict_proba(grid)[:, -1]
    mid = (grid > 0.3) & (grid < 0.7)
    np.testing.assert_allclose(post[mid], raw[mid], atol=0.05)


def test_beta_mixture_is_finite_at_edges_and_on_degenerate_data():
    bmm = BetaMixture1D().fit(np.r_[np.zeros(50), np.ones(50)])
    for values in (bmm.pdf([0.0, 1.0]), bmm.predict_proba([0.0, 1.0]),
                   bmm.posterior_noisy([0.0, 1.0]), bmm.score_samples([0.0, 0.5, 1.0])):
        assert np.all(np.isfinite(values))
    const = BetaMixture1D().fit(np.full(100, 0.3))
    assert np.all(np.isfinite(const.alphas_)) and np.all(const.alphas_ > 0)
    assert np.all(np.isfinite(const.posterior_noisy([0.1, 0.3, 0.9])))


def test_beta_mixture_pdf_integrates_to_one():
    bmm = BetaMixture1D().fit(_draw((0.7, 0.3), (2, 8), (8, 2), 3000, seed=3))
    grid = np.linspace(1e-3, 1 - 1e-3, 20001)
    assert np.trapezoid(bmm.pdf(grid), grid) == pytest.approx(1.0, abs=0.01)
    np.testing.assert_allclose(bmm.predict_proba(grid[::100]).sum(axis=1), 1.0)
    assert bmm.score(grid[::100]) == pytest.approx(np.mean(np.log(bmm.pdf(grid[::100]))))


def test_beta_mixture_clamps_values_outside_unit_interval_with_a_warning():
    x = _draw((0.7, 0.3), (2, 8), (8, 2), 500, seed=4)
    with pytest.warns(UserWarning, match=r"2 of 502 values lie outside \[0, 1\]"):
        shifted = BetaMixture1D().fit(np.r_[x, -0.5, 1.5])
    with pytest.warns(UserWarning, match="normalize_losses"):
        clamped = shifted.posterior_noisy([-0.5, 1.5])
    np.testing.assert_allclose(clamped, shifted.posterior_noisy([0.0, 1.0]))


def test_beta_mixture_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        BetaMixture1D().fit([0.2, np.nan])
    with pytest.raises(ValueError, match="infinity"):
        BetaMixture1D().fit([0.2, np.inf])
    with pytest.raises(ValueError, match="n_components"):
        BetaMixture1D(n_components=0).fit([0.2, 0.5])
    with pytest.raises(ValueError, match="fewer than n_components=3"):
        BetaMixture1D(n_components=3).fit([0.2, 0.5])


def test_point_mass_at_the_edge_stays_a_component_at_the_edge():
    # Losses of a memorised clean majority all clamp to eps: that component's variance is
    # ~0, so its shapes exceed the cap; they are scaled together, keeping its mean at
    # eps (clipping each alone made it Beta(1e4, 1e4), a spike at 0.5, and the mixture
    # collapsed onto one component).
    rng = np.random.default_rng(0)
    x = np.concatenate([np.full(600, 1e-3), rng.uniform(0.3, 1.0, 400)])
    bmm = BetaMixture1D().fit(x)
    assert bmm.means_[0] < 0.01
    assert bmm.weights_[0] == pytest.approx(0.6, abs=0.02)
    posterior = bmm.posterior_noisy(x)
    assert posterior[:600].max() < 0.01 and posterior[600:].min() > 0.9
