"""Tests for plot_precision_recall and plot_suspicious_images."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sknoisy.plotting import plot_precision_recall, plot_suspicious_images  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


IS_NOISY = np.array([0, 0, 0, 0, 0, 0, 1, 1], dtype=bool)
PERFECT = np.array([0.1, 0.2, 0.1, 0.3, 0.2, 0.1, 0.9, 0.8])
# One clean sample ranked first: the noisy ones come 2nd and 3rd, so
# average precision = 0.5 * 1/2 + 0.5 * 2/3 = 7/12.
ONE_MISS = np.array([0.1, 0.2, 0.1, 0.3, 0.95, 0.1, 0.9, 0.8])


def test_plot_precision_recall_dict_legend_has_auprc():
    ax = plot_precision_recall(IS_NOISY, {"perfect": PERFECT, "one miss": ONE_MISS})
    assert isinstance(ax, Axes)
    assert len(ax.get_lines()) == 3  # two curves + chance line
    assert _legend(ax) == ["perfect (AUPRC = 1.000)", f"one miss (AUPRC = {7 / 12:.3f})",
                           "chance (noise rate = 0.250)"]
    chance = ax.get_lines()[-1]
    np.testing.assert_allclose(chance.get_ydata(), 0.25)
    perfect = ax.get_lines()[0]
    # A perfect ranking reaches recall 1 at precision 1.
    assert any(r == 1.0 and p == 1.0 for r, p in zip(perfect.get_xdata(), perfect.get_ydata()))


def test_plot_precision_recall_single_array_on_given_ax():
    _, given = plt.subplots()
    ax = plot_precision_recall(IS_NOISY.astype(int), -PERFECT, ax=given)
    assert ax is given
    legend = _legend(ax)
    assert legend[0].startswith("scores (AUPRC = ")
    # Reversed perfect scores rank both noisy samples last: AP = 0.5*(1/7) + 0.5*(2/8).
    assert legend[0] == f"scores (AUPRC = {0.5 / 7 + 0.5 * 2 / 8:.3f})"


@pytest.mark.parametrize(
    "mask, scores, match",
    [
        (IS_NOISY, {"a": PERFECT[:-1]}, r"scores_by_method\['a'\] has 7 scores"),
        (IS_NOISY, PERFECT[:5], "scores_by_method has 5 scores but is_noisy_true has 8"),
        (np.zeros(8, bool), PERFECT, "must contain both noisy"),
        (IS_NOISY, {}, "empty dict"),
        (IS_NOISY, {"a": np.r_[PERFECT[:-1], np.nan]}, "NaN"),
        (np.linspace(0, 1, 8), PERFECT, "must hold booleans"),
    ],
)
def test_plot_precision_recall_invalid_input(mask, scores, match):
    with pytest.raises(ValueError, match=match):
        plot_precision_recall(mask, scores)


@pytest.fixture
def gray_images():
    rng = np.random.RandomState(0)
    return rng.rand(12, 6, 6)


def test_plot_suspicious_images_top_scores_in_order(gray_images):
    given = np.arange(12) % 3
    suggested = (np.arange(12) + 1) % 3
    scores = np.random.RandomState(1).permutation(12) / 12.0
    fig = plot_suspicious_images(gray_images, given, suggested, scores, n=5, ncols=3,
                                 class_names=["cat", "dog", "eel"])
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 5
    order = np.argsort(-scores)[:5]
    names = ["cat", "dog", "eel"]
    for ax, idx in zip(fig.axes, order):
        np.testing.assert_array_equal(ax.images[0].get_array(), gray_images[idx])
        title = ax.get_title()
        assert f"given: {names[given[idx]]}" in title
        assert f"suggested: {names[suggested[idx]]}" in title
        assert to_rgba(ax.title.get_color()) == to_rgba("tab:red")  # labels differ


def test_plot_suspicious_images_flat_inferred_and_explicit_shape():
    flat = np.random.RandomState(0).rand(4, 16)
    fig = plot_suspicious_images(flat, [0] * 4, None, np.arange(4), n=2)
    assert fig.axes[0].images[0].get_array().shape == (4, 4)
    assert "suggested" not in fig.axes[0].get_title()
    assert fig.axes[0].get_title().startswith("given: 0")
    rect = np.random.RandomState(0).rand(3, 24)
    fig = plot_suspicious_images(rect, [1, 2, 3], [1, 2, 3], [0.1, 0.2, 0.3],
                                 image_shape=(4, 6))
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), rect[2].reshape(4, 6))
    assert to_rgba(fig.axes[0].title.get_color()) == to_rgba("black")  # labels agree


def test_plot_suspicious_images_channels_first():
    rng = np.random.RandomState(0)
    rgb = rng.randint(0, 256, size=(3, 3, 5, 7)).astype(np.uint8)
    fig = plot_suspicious_images(rgb, [0, 1, 2], [0, 1, 2], [0.3, 0.2, 0.1])
    shown = np.asarray(fig.axes[0].images[0].get_array())
    assert shown.shape == (5, 7, 3)
    np.testing.assert_allclose(shown, np.moveaxis(rgb[0], 0, -1) / 255.0)
    one_channel = rng.rand(2, 1, 5, 7)
    fig = plot_suspicious_images(one_channel, [0, 1], [0, 1], [0.3, 0.2])
    assert fig.axes[0].images[0].get_array().shape == (5, 7)


def test_plot_suspicious_images_more_requested_than_available(gray_images):
    fig = plot_suspicious_images(gray_images[:3], [0, 1, 2], [0, 1, 2], [1, 2, 3], n=16)
    assert len(fig.axes) == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"scores": np.ones(11)}, "scores has 11 entries but there are 12 images"),
        ({"given_labels": np.zeros(10, int)}, "given_labels must have one label per image"),
        ({"class_names": ["a", "b"]}, "cannot index class_names of length 2"),
        ({"images": np.ones((12, 15))}, "not a square number; pass image_shape"),
        ({"images": np.ones((12, 36)), "image_shape": (5, 7)}, "image_shape=\\(5, 7\\)"),
        ({"images": np.ones((12, 2, 5, 5))}, "no channel axis of size 1, 3 or 4"),
    ],
)
def test_plot_suspicious_images_invalid_input(gray_images, kwargs, match):
    n_figures = len(plt.get_fignums())
    args = {"images": gray_images, "given_labels": np.arange(12) % 3,
            "suggested_labels": np.zeros(12, int), "scores": np.arange(12.0)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        plot_suspicious_images(args.pop("images"), args.pop("given_labels"),
                               args.pop("suggested_labels"), args.pop("scores"), **args)
    assert len(plt.get_fignums()) == n_figures  # nothing half-drawn left behind
