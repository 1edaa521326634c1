"""Tests for the loss plots: histogram, Beta mixture and trajectories."""

import sys
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from sknoisy.plotting import (  # noqa: E402
    plot_beta_mixture, plot_loss_histogram, plot_loss_trajectories,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def losses_and_mask():
    rng = np.random.RandomState(0)
    losses = np.r_[rng.gamma(1.0, 0.3, 80), rng.gamma(5.0, 0.6, 20)]
    mask = np.r_[np.zeros(80, bool), np.ones(20, bool)]
    return losses, mask


def _patch_heights(ax):
    return np.array([p.get_height() for p in ax.patches])


def test_plot_loss_histogram_overlays_clean_and_noisy(losses_and_mask):
    losses, mask = losses_and_mask
    ax = plot_loss_histogram(losses, mask, bins=10)
    assert isinstance(ax, Axes)
    assert len(ax.patches) == 20  # 10 bars per group
    heights = _patch_heights(ax)
    assert heights[:10].sum() == 80 and heights[10:].sum() == 20
    # Both groups share the bin edges, so bar i of each group starts at the same x.
    lefts = np.array([p.get_x() for p in ax.patches])
    np.testing.assert_allclose(lefts[:10], lefts[10:])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["clean (n=80)", "noisy (n=20)"]


def test_plot_loss_histogram_without_mask_single_group(losses_and_mask):
    losses, _ = losses_and_mask
    ax = plot_loss_histogram(list(losses), bins=7)
    assert len(ax.patches) == 7 and _patch_heights(ax).sum() == 100
    assert "all samples (n=100)" in ax.get_legend().get_texts()[0].get_text()


def test_plot_loss_histogram_uses_given_ax_and_accepts_int_mask(losses_and_mask):
    losses, mask = losses_and_mask
    fig, given = plt.subplots()
    ax = plot_loss_histogram(losses, mask.astype(int), bins=5, ax=given)
    assert ax is given and len(fig.axes) == 1
    assert _patch_heights(ax)[5:].sum() == 20


def test_plot_loss_histogram_does_not_modify_inputs(losses_and_mask):
    losses, mask = losses_and_mask
    before = losses.copy(), mask.copy()
    plot_loss_histogram(losses, mask)
    np.testing.assert_array_equal(losses, before[0])
    np.testing.assert_array_equal(mask, before[1])


@pytest.mark.parametrize(
    "losses, mask, match",
    [
        (np.ones(5), np.zeros(4, bool), "is_noisy has 4 entries but there are 5"),
        (np.ones(3), np.array([0, 1, 2]), "is_noisy must hold booleans"),
        (np.array([1.0, np.nan]), None, "losses contains 1 NaN"),
        (np.ones((2, 2)), None, "losses must be 1-D"),
        (np.array([]), None, "losses is empty"),
    ],
)
def test_plot_loss_histogram_invalid_input(losses, mask, match):
    with pytest.raises(ValueError, match=match):
        plot_loss_histogram(losses, mask)


def test_plot_loss_histogram_rejects_non_axes():
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot_loss_histogram(np.ones(3), ax="left")


def _bmm(weights, alphas, betas):
    return SimpleNamespace(weights_=np.array(weights), alphas_=np.array(alphas),
                           betas_=np.array(betas))


@pytest.mark.parametrize("swap", [False, True])
def test_plot_beta_mixture_components_and_sum(swap):
    rng = np.random.RandomState(0)
    losses = np.r_[rng.beta(2, 6, 300), rng.beta(6, 2, 100)]
    params = [(0.75, 2.0, 6.0), (0.25, 6.0, 2.0)]
    if swap:
        params = params[::-1]
    mixture = _bmm(*zip(*params))
    ax = plot_beta_mixture(losses, mixture, bins=20)
    assert isinstance(ax, Axes)
    lines = ax.get_lines()
    assert len(lines) == 3
    # Whatever the component order, the low-mean one is called clean.
    by_label = {line.get_label().split(" (")[0]: line for line in lines}
    assert set(by_label) == {"clean component", "noisy component", "mixture"}
    clean = by_label["clean component"]
    x, y = clean.get_xdata(), clean.get_ydata()
    np.testing.assert_allclose(y, 0.75 * stats.beta.pdf(x, 2.0, 6.0), rtol=1e-10)
    np.testing.assert_allclose(
        by_label["mixture"].get_ydata(),
        clean.get_ydata() + by_label["noisy component"].get_ydata(), rtol=1e-10)
    # The histogram is a density: bar areas sum to one.
    widths = np.array([p.get_width() for p in ax.patches])
    assert len(ax.patches) == 20
    assert np.sum(widths * _patch_heights(ax)) == pytest.approx(1.0)
    assert ax.get_xlim() == (0.0, 1.0)


def test_plot_beta_mixture_view_capped_when_pdf_explodes():
    # alpha < 1 makes the pdf infinite at 0; the plot must still show the histogram.
    losses = np.random.RandomState(1).beta(0.5, 3.0, 200)
    ax = plot_beta_mixture(losses, _bmm([0.6, 0.4], [0.5, 5.0], [3.0, 2.0]), bins=10)
    assert np.isfinite(ax.get_ylim()[1])
    assert ax.get_ylim()[1] >= _patch_heights(ax).max()


def test_plot_beta_mixture_rejects_losses_outside_unit_interval():
    with pytest.raises(ValueError, match=r"losses_normalised must lie in \[0, 1\]"):
        plot_beta_mixture(np.array([0.2, 1.5]), _bmm([0.5, 0.5], [1, 2], [2, 1]))


def test_plot_beta_mixture_rejects_unfitted_mixture():
    with pytest.raises(TypeError, match="lacks alphas_, betas_"):
        plot_beta_mixture(np.array([0.2, 0.5]), SimpleNamespace(weights_=[1.0]))


@pytest.mark.parametrize(
    "mixture, match",
    [
        (_bmm([0.5, 0.5], [1, 2, 3], [2, 1]), "one entry per component"),
        (_bmm([0.5, 0.5], [0, 2], [2, 1]), "alphas_, betas_ > 0"),
        (_bmm([0.5, np.nan], [1, 2], [2, 1]), "mixture.weights_ must be"),
    ],
)
def test_plot_beta_mixture_rejects_bad_parameters(mixture, match):
    with pytest.raises(ValueError, match=match):
        plot_beta_mixture(np.array([0.2, 0.5]), mixture)


@pytest.fixture
def history_and_mask():
    rng = np.random.RandomState(0)
    n_epochs = 12
    epochs = np.arange(1, n_epochs + 1)[:, None]
    clean = 2.0 / epochs + 0.05 * rng.rand(n_epochs, 70)
    noisy = 2.5 - 0.05 * epochs + 0.05 * rng.rand(n_epochs, 30)
    return np.c_[clean, noisy], np.r_[np.zeros(70, bool), np.ones(30, bool)]


def test_plot_loss_trajectories_lines_and_group_means(history_and_mask):
    history, mask = history_and_mask
    ax = plot_loss_trajectories(history, mask, n_samples=20, random_state=0)
    lines = ax.get_lines()
    assert len(lines) == 22  # 20 trajectories + 2 means
    means = {line.get_label(): line for line in lines if "mean" in line.get_label()}
    assert set(means) == {"clean mean (n=70)", "noisy mean (n=30)"}
    np.testing.assert_allclose(means["clean mean (n=70)"].get_ydata(), history[:, :70].mean(1))
    np.testing.assert_allclose(means["noisy mean (n=30)"].get_ydata(), history[:, 70:].mean(1))
    np.testing.assert_array_equal(lines[0].get_xdata(), np.arange(1, 13))
    # Each thin line is a real column, coloured by its group.
    for line in lines[:20]:
        col = np.flatnonzero(np.all(history == line.get_ydata()[:, None], axis=0))
        assert col.size == 1
        expected = "tab:red" if mask[col[0]] else "tab:blue"
        assert to_rgba(line.get_color()) == to_rgba(expected)


def test_plot_loss_trajectories_reproducible_and_all_when_few(history_and_mask):
    history, mask = history_and_mask
    a = plot_loss_trajectories(history, mask, n_samples=5, random_state=3).get_lines()
    b = plot_loss_trajectories(history, mask, n_samples=5, random_state=3).get_lines()
    for la, lb in zip(a, b):
        np.testing.assert_array_equal(la.get_ydata(), lb.get_ydata())
    ax = plot_loss_trajectories(history[:, :4], n_samples=50)
    assert len(ax.get_lines()) == 5  # all 4 samples + one overall mean
    assert ax.get_lines()[-1].get_label() == "mean (n=4)"


@pytest.mark.parametrize(
    "history, mask, kwargs, err, match",
    [
        (np.ones((12, 100)), np.zeros(12, bool), {}, ValueError, "is_noisy has 12 entries"),
        (np.ones(10), None, {}, ValueError, "shape \\(n_epochs, n_samples\\)"),
        (np.ones((3, 4)), None, {"n_samples": 0}, ValueError, "n_samples must be >= 1"),
        (np.ones((3, 4)), None, {"n_samples": 2.0}, TypeError, "n_samples must be"),
        (np.full((3, 4), np.inf), None, {}, ValueError, "NaN or infinite"),
    ],
)
def test_plot_loss_trajectories_invalid_input(history, mask, kwargs, err, match):
    with pytest.raises(err, match=match):
        plot_loss_trajectories(history, mask, **kwargs)


def test_plotting_without_matplotlib_explains_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install sknoisy\[plot\]"):
        plot_loss_histogram(np.ones(3))
