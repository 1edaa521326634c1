import numpy as np
import pandas as pd
import pytest

from sknoisy.detectors import ConfidentLearningDetector
from sknoisy.metrics import label_issue_summary
from sknoisy.noise import confident_joint
from sknoisy.noise._label_model import estimate_label_noise

# Six rows of 'a', four of 'b'; rows 1 and 7 are confidently the other class.
PROBA = np.array([[.9, .1], [.2, .8], [.8, .2], [.7, .3], [.9, .1], [.6, .4],
                  [.1, .9], [.9, .1], [.2, .8], [.3, .7]])
Y = np.array(["a"] * 6 + ["b"] * 4)


@pytest.fixture(scope="module")
def detector():
    # Ten rows are too few for the default rule's model comparison: cleanlab's rule.
    return ConfidentLearningDetector("precomputed",
                                     filter_by="prune_by_noise_rate").fit(PROBA, Y)


def test_summary_counts_flags_per_class_and_where_they_would_go(detector):
    summary = label_issue_summary(Y, detector=detector, top=3)
    assert summary.n_samples == 10 and summary.n_flagged == 2
    assert summary.noise_rate == detector.noise_rate_
    table = summary.per_class
    assert table.index.tolist() == ["a", "b"]
    assert table["n_labeled"].tolist() == [6, 4] and table["n_flagged"].tolist() == [1, 1]
    assert table["flagged_share"].tolist() == pytest.approx([1 / 6, 1 / 4])
    # The default rule's estimate per class, whatever rule flagged the rows.
    codes = (Y == "b").astype(int)
    np.testing.assert_allclose(table["estimated_noise_rate"], estimate_label_noise(
        PROBA, codes, confident_joint(PROBA, codes)).per_class)
    assert table["n_suggested"].tolist() == [6, 4]  # one row each way
    assert table["flagged_mostly_as"].tolist() == ["b", "a"]
    assert summary.confusion.loc["a", "b"] == 1 and summary.confusion.loc["b", "a"] == 1
    assert summary.confusion.loc["a", "a"] == 0
    top = summary.top_suspects
    assert top["row"].tolist()[:2] == [7, 1] and len(top) == 3
    assert top["flagged"].tolist() == [True, True, False]
    assert top["given_label_proba"].tolist()[:2] == pytest.approx([0.1, 0.2])
    assert top["suggested_label"].tolist()[:2] == ["a", "b"]


def test_summary_from_arrays_alone_uses_the_flagged_share():
    scores = np.linspace(0, 1, 10)
    summary = label_issue_summary(pd.Series(Y), scores, scores > 0.85, top=None)
    assert len(summary.top_suspects) == 10 and summary.confusion.size == 0
    assert summary.noise_rate == pytest.approx(0.2)
    np.testing.assert_allclose(summary.per_class["estimated_noise_rate"], [0, 0.5])
    assert "n_suggested" not in summary.per_class
    assert summary.top_suspects["suggested_label"].isna().all()


def test_summary_with_probabilities_suggests_their_argmax():
    summary = label_issue_summary(Y, 1 - PROBA[np.arange(10), (Y == "b").astype(int)],
                                  np.isin(np.arange(10), [1, 7]), pred_proba=PROBA)
    assert summary.top_suspects["suggested_label"].tolist()[:2] == ["a", "b"]
    assert summary.noise_rate == ConfidentLearningDetector("precomputed").fit(
        PROBA, Y).noise_rate_


@pytest.mark.parametrize("kwargs, match", [
    (dict(), "needs scores and is_noisy"),
    (dict(scores=np.zeros(9), is_noisy=np.zeros(10, bool)), "scores has 9 entries"),
    (dict(scores=np.full(10, np.nan), is_noisy=np.zeros(10, bool)), "NaN"),
    (dict(scores=np.zeros(10), is_noisy=np.zeros(10)), "boolean mask"),
    (dict(scores=np.zeros(10), is_noisy=np.zeros(10, bool), top=0), "top"),
    (dict(scores=np.zeros(10), is_noisy=np.zeros(10, bool), pred_proba=PROBA[:, :1]),
     "1 columns but y holds 2"),
    (dict(detector=ConfidentLearningDetector()), "fitted sknoisy detector"),
])
def test_summary_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        label_issue_summary(Y, **kwargs)


def test_plot_label_issues_draws_both_views(detector):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sknoisy.plotting import plot_label_issues

    summary = label_issue_summary(Y, detector=detector)
    ax = plot_label_issues(summary)
    widths = [patch.get_width() for patch in ax.patches]
    assert widths == [5, 3, 1, 1]  # kept a, kept b, flagged a, flagged b
    ax = plot_label_issues(summary, kind="confusion")
    assert [t.get_text() for t in ax.texts] == ["1", "1"]
    with pytest.raises(ValueError, match="kind"):
        plot_label_issues(summary, kind="pie")
    with pytest.raises(ValueError, match="no confusion table"):
        plot_label_issues(label_issue_summary(Y, np.zeros(10), np.zeros(10, bool)),
                          kind="confusion")
    with pytest.raises(ValueError, match="label_issue_summary"):
        plot_label_issues({"a": 1})
    plt.close("all")
