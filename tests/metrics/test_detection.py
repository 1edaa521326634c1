"""Tests for sknoisy.metrics: precision at k and the noise-detection report.

Expected values are worked out by hand in the comments next to each assertion.
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sknoisy.metrics import noise_detection_report, precision_at_k

FAST = settings(max_examples=40, deadline=None, derandomize=True)

TRUTH = [True, False, True, True, False, False]
SCORES = [0.9, 0.8, 0.7, 0.1, 0.2, 0.3]


def test_precision_at_k_hand_computed():
    # Ranking: idx0 (noisy), idx1 (clean), idx2 (noisy), idx5, idx4, idx3 (noisy).
    assert precision_at_k(TRUTH, SCORES, k=1) == 1.0
    assert precision_at_k(TRUTH, SCORES, k=2) == 0.5
    assert precision_at_k(TRUTH, SCORES, k=3) == pytest.approx(2 / 3)
    # float 0.5 of 6 samples -> 3; int 1 is a count but float 1.0 is "all samples".
    assert precision_at_k(TRUTH, SCORES, k=0.5) == pytest.approx(2 / 3)
    assert precision_at_k(TRUTH, SCORES, k=1.0) == 0.5
    # k=None with scores: top n_noisy_true = 3 -> 2/3.
    assert precision_at_k(TRUTH, SCORES) == pytest.approx(2 / 3)


def test_precision_at_k_float_fraction_rounds_half_up():
    truth = [True] * 7 + [False] * 93
    scores = np.linspace(1, 0, 100)  # the 7 noisy samples rank first
    # 0.07 * 100 is 7.000000000000001 in floats; it must mean 7 (not 8) -> 7/7.
    assert precision_at_k(truth, scores, k=0.07) == 1.0
    # 0.29 * 100 is 28.999999999999996; it must mean 29 (not 28) -> 7/29.
    assert precision_at_k(truth, scores, k=0.29) == pytest.approx(7 / 29)
    # 0.01 * 100 = 1 -> 1/1; 0.001 * 100 = 0.1 -> at least 1 sample.
    assert precision_at_k(truth, scores, k=0.001) == 1.0
    # 0.25 * 10 = 2.5 exactly -> half up to 3: 1 noisy of 3.
    assert precision_at_k([True] + [False] * 9, np.arange(10, 0, -1), k=0.25) == \
        pytest.approx(1 / 3)


def test_precision_at_k_ties_use_expectation():
    truth = [True, False, False, True]
    scores = [1, 1, 1, 0]
    # k=2 falls inside the tie group {0, 1, 2} (1 noisy of 3): 2 * 1/3 hits / 2 = 1/3.
    assert precision_at_k(truth, scores, k=2) == pytest.approx(1 / 3)
    # k=4 takes everything: 2 noisy / 4.
    assert precision_at_k(truth, scores, k=4) == 0.5
    # Constant scores give the noise rate at every k, whatever the sample order.
    assert precision_at_k([True, True, False, False, False], [0.0] * 5, k=2) == \
        pytest.approx(0.4)


@FAST
@given(data=st.data(), n=st.integers(1, 30))
def test_precision_at_k_order_invariant_and_tie_expectation(data, n):
    truth = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    scores = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)),
                      dtype=float)
    k = data.draw(st.integers(1, n))
    perm = np.random.RandomState(data.draw(st.integers(0, 1000))).permutation(n)
    p = precision_at_k(truth, scores, k=k)
    # The documented tie rule: every sample above the k-th highest score is taken, and the
    # remaining m places go to a uniform random subset of the samples tied with it.
    kth = np.sort(scores)[::-1][k - 1]
    above, tied = scores > kth, scores == kth
    m = k - above.sum()
    assert p == pytest.approx((truth[above].sum() + m * truth[tied].mean()) / k)
    assert precision_at_k(truth[perm], scores[perm], k=k) == pytest.approx(p)


@FAST
@given(data=st.data(), n=st.integers(2, 40))
def test_precision_at_k_perfect_scores_give_one(data, n):
    truth = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if not truth.any():
        truth[0] = True
    scores = truth + np.random.RandomState(0).uniform(0, 0.5, n)
    assert precision_at_k(truth, scores) == 1.0
    assert noise_detection_report(truth, scores)["recall_at_true_rate"] == 1.0


def test_precision_at_k_mask_defaults_to_flagged_count():
    truth = [True, False, False, True, True]
    mask = np.array([True, True, False, False, True])
    # 3 flagged, 2 of them noisy.
    assert precision_at_k(truth, mask) == pytest.approx(2 / 3)
    # k=4: the 3 flagged + 1 of the tie group {2, 3} (1 noisy of 2): (2 + 0.5) / 4.
    assert precision_at_k(truth, mask, k=4) == pytest.approx(0.625)
    # An empty mask selects nothing: precision undefined -> nan.
    assert math.isnan(precision_at_k(truth, np.zeros(5, dtype=bool)))


def test_precision_at_k_accepts_int_truth_and_pandas():
    truth = pd.Series([1, 0, 1, 1, 0, 0], index=list("abcdef"))
    assert precision_at_k(truth, pd.Series(SCORES), k=3) == pytest.approx(2 / 3)
    assert precision_at_k(np.array(TRUTH, dtype=float), SCORES, k=2) == 0.5


def test_noise_detection_report_hand_computed():
    truth = [True, False, True, False, False]
    scores = [0.9, 0.3, 0.4, 0.5, 0.1]
    rep = noise_detection_report(truth, scores, k=3)
    assert rep["n_samples"] == 5 and rep["n_noisy_true"] == 2
    assert rep["true_rate"] == pytest.approx(0.4)
    # Top 2: idx0 (noisy, 0.9), idx3 (clean, 0.5) -> 1 hit of 2.
    for key in ["precision_at_true_rate", "recall_at_true_rate", "f1_at_true_rate"]:
        assert rep[key] == pytest.approx(0.5)
    # Top 3 adds idx2 (noisy): P = 2/3, R = 2/2, F1 = 2*2 / (3 + 2).
    assert rep["k"] == 3
    assert rep["precision_at_k"] == pytest.approx(2 / 3)
    assert rep["recall_at_k"] == 1.0
    assert rep["f1_at_k"] == pytest.approx(0.8)
    # AUROC: noisy 0.9 beats all 3 clean, noisy 0.4 beats 0.3 and 0.1 -> 5/6.
    assert rep["auroc"] == pytest.approx(5 / 6)
    # AP: recall steps of 0.5 at precision 1 (rank 1) and 2/3 (rank 3).
    assert rep["auprc"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert "mask_precision" not in rep


def test_noise_detection_report_mask_metrics():
    truth = [True, False, True, False, False]
    mask = np.array([True, True, False, False, False])
    rep = noise_detection_report(truth, mask)
    # tp=1, fp=1, fn=1.
    assert rep["n_flagged"] == 2
    assert rep["mask_precision"] == pytest.approx(0.5)
    assert rep["mask_recall"] == pytest.approx(0.5)
    assert rep["mask_f1"] == pytest.approx(0.5)
    # Mask AUROC over 2 noisy x 3 clean pairs: (1 vs 1) 0.5, (1 vs 0) 1, (1 vs 0) 1,
    # (0 vs 1) 0, (0 vs 0) 0.5, (0 vs 0) 0.5 -> 3.5 / 6.
    assert rep["auroc"] == pytest.approx(3.5 / 6)
    assert "k" not in rep


@pytest.mark.parametrize("truth", [[False] * 4, [True] * 4])
def test_noise_detection_report_single_class_truth_gives_nan_without_warning(truth):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = noise_detection_report(truth, [0.1, 0.2, 0.3, 0.4], k=2)
    assert math.isnan(rep["auroc"]) and math.isnan(rep["auprc"])
    if truth[0]:
        # All noisy: any selection is all hits; top 2 of 4 -> recall 0.5, F1 2*2/(2+4).
        assert rep["precision_at_true_rate"] == 1.0
        assert rep["recall_at_k"] == 0.5 and rep["f1_at_k"] == pytest.approx(4 / 6)
    else:
        # All clean: top-k precision 0, recall has nothing to recover.
        assert math.isnan(rep["precision_at_true_rate"])
        assert rep["precision_at_k"] == 0.0 and math.isnan(rep["recall_at_k"])


@pytest.mark.parametrize("func", [precision_at_k, noise_detection_report])
def test_metrics_reject_bad_inputs(func):
    with pytest.raises(ValueError, match="scores has 2"):
        func([True, False, True], [0.1, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        func([True, False], [0.1, np.nan])
    with pytest.raises(ValueError, match="1-D"):
        func(np.zeros((2, 2), dtype=bool), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="boolean-like"):
        func([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="boolean-like"):
        func(["yes", "no"], [0.1, 0.2])
    with pytest.raises(TypeError, match="scores must be numeric"):
        func([True, False], ["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        func([], [])


@pytest.mark.parametrize("k,err", [(0, ValueError), (7, ValueError), (1.5, ValueError),
                                   (0.0, ValueError), (True, TypeError), ("3", TypeError)])
def test_metrics_reject_bad_k(k, err):
    with pytest.raises(err, match="k must be"):
        precision_at_k(TRUTH, SCORES, k=k)
    with pytest.raises(err, match="k must be"):
        noise_detection_report(TRUTH, SCORES, k=k)
