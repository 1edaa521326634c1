import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from sknoisy.noise import confident_joint
from sknoisy.noise._label_model import estimate_label_noise, fit_random_labels, one_way_excess

from ..detectors._data import ambiguous_labels as _ambiguous


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("sharpen", [1.0, 2.0])
def test_labels_that_follow_the_model_are_not_random(seed, sharpen):
    # Ambiguity, even seen through an over-confident model, is not label noise:
    # the temperature absorbs the over-confidence and BIC keeps the simpler model.
    proba, y, _ = _ambiguous(seed=seed, sharpen=sharpen)
    fit = fit_random_labels(proba, y)
    assert fit.rate == 0.0 and fit.bic_gain <= 0 and not fit.posterior.any()
    assert fit.temperature == pytest.approx(sharpen, rel=0.15)


@pytest.mark.parametrize("rate", [0.05, 0.3])
def test_random_labels_are_counted_and_found(rate):
    proba, y, rng = _ambiguous(seed=3)
    redrawn = rng.random(len(y)) < rate
    y = np.where(redrawn, rng.integers(0, 5, len(y)), y)
    fit = fit_random_labels(proba, y)
    assert fit.bic_gain > 0
    assert fit.rate == pytest.approx(redrawn.mean(), abs=0.03)
    assert roc_auc_score(redrawn, fit.posterior) > 0.75


def test_random_label_rate_of_labels_all_random_is_one():
    proba, _, rng = _ambiguous(seed=4)
    y = rng.integers(0, 5, len(proba))
    assert fit_random_labels(proba, y).rate > 0.95


def test_one_way_excess_keeps_only_significant_asymmetry():
    joint = np.array([[500., 40., 3.], [42., 500., 1.], [30., 2., 400.]])
    excess = one_way_excess(joint)
    # 40 vs 42 is two-way confusion; 30 vs 3 is one-way (rows labelled 2 that are
    # really 0); 3 vs 1 and 2 vs 1 are too few to tell.
    expected = np.zeros((3, 3))
    expected[2, 0] = 27.0
    np.testing.assert_array_equal(excess, expected)
    assert not one_way_excess(joint, alpha=1e-12).any()
    assert not one_way_excess(np.diag([10., 20.])).any()


def test_one_way_excess_controls_false_discoveries_over_pairs():
    # 45 pairs with even, sizeable two-way confusion: under BH at 5%, a pair is
    # declared one-way only if its imbalance survives the multiplicity correction.
    rng = np.random.default_rng(0)
    joint = np.full((10, 10), 0.0)
    upper = np.triu_indices(10, 1)
    total = rng.integers(20, 60, len(upper[0]))
    split = rng.binomial(total, 0.5)
    joint[upper] = split
    joint[upper[1], upper[0]] = total - split
    assert not one_way_excess(joint).any()
    joint[3, 7], joint[7, 3] = 80, 10  # one real one-way swap
    excess = one_way_excess(joint)
    assert excess[3, 7] == 70 and np.count_nonzero(excess) == 1


def test_estimate_sums_random_and_one_way_parts():
    proba, y, rng = _ambiguous(seed=5)
    redrawn = rng.random(len(y)) < 0.1
    y = np.where(redrawn, rng.integers(0, 5, len(y)), y)
    # Relabel a third of the rows the model is surest are class 1 as class 2.
    ones = np.flatnonzero(proba.argmax(axis=1) == 1)
    swapped = ones[np.argsort(-proba[ones, 1])[: len(ones) // 3]]
    y[swapped] = 2
    estimate = estimate_label_noise(proba, y, confident_joint(proba, y))
    counts = np.bincount(y, minlength=5)
    wrong_random = estimate.random.rate * 4 / 5
    assert estimate.rate == pytest.approx(wrong_random + estimate.excess.sum() / len(y))
    np.testing.assert_allclose(estimate.per_class,
                               wrong_random + estimate.excess.sum(axis=1) / counts)
    # The swap is found in its direction: labelled 2, truly 1.
    assert estimate.excess[2, 1] > 0.5 * len(swapped) and estimate.excess[1, 2] == 0
