"""Noise-rate estimation: the confident joint on probabilities, the Beta mixture on losses."""

import numpy as np
import pytest

from sknoisy.noise import confident_joint, estimate_noise_rate


def _oracle_proba(y_true, n_classes, confidence, rng):
    """Probabilities of an imperfect but informative classifier of the true labels."""
    n = len(y_true)
    proba = rng.dirichlet(np.ones(n_classes), n) * (1 - confidence)
    proba[np.arange(n), y_true] += confidence
    return proba


@pytest.mark.parametrize("kind, rate", [("symmetric", 0.2), ("symmetric", 0.6),
                                        ("pairflip", 0.3)])
def test_confident_joint_rate_recovers_flip_rate(kind, rate):
    rng = np.random.default_rng(1)
    n, n_classes = 6000, 5
    y_true = rng.integers(0, n_classes, n)
    flip = rng.random(n) < rate
    if kind == "symmetric":
        other = (y_true + rng.integers(1, n_classes, n)) % n_classes
    else:
        other = (y_true + 1) % n_classes
    y = np.where(flip, other, y_true)
    proba = _oracle_proba(y_true, n_classes, 0.7, rng)
    assert estimate_noise_rate(proba=proba, y=y) == pytest.approx(flip.mean(), abs=0.03)


def test_confident_joint_rows_sum_to_label_counts_and_input_untouched():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(4), 300)
    y = rng.integers(0, 4, 300)
    before = proba.copy()
    joint = confident_joint(proba, y)
    np.testing.assert_allclose(joint.sum(axis=1), np.bincount(y, minlength=4))
    assert np.all(joint >= 0)
    np.testing.assert_array_equal(proba, before)


def test_confident_joint_keeps_self_confident_samples_on_diagonal():
    # Label 0 with its own probability above class 0's threshold stays on the diagonal
    # even though class 1 is more probable and above its threshold.
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.45, 0.55], [0.1, 0.9]])
    y = np.array([0, 0, 1, 1])
    joint = confident_joint(proba, y)
    # t_0 = 0.55: the second sample (p_0 = 0.2) is counted as class 1.
    np.testing.assert_allclose(joint, [[1.0, 1.0], [0.0, 2.0]])


def test_estimate_noise_rate_clean_labels_give_zero():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 500)
    proba = _oracle_proba(y, 3, 0.8, rng)
    assert estimate_noise_rate(proba=proba, y=y) == 0.0


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5])
def test_estimate_noise_rate_mixture_recovers_bimodal_rate(rate):
    rng = np.random.default_rng(0)
    n = 5000
    n_noisy = int(rate * n)
    losses = np.r_[rng.gamma(1.5, 0.15, n - n_noisy), rng.normal(2.5, 0.5, n_noisy)]
    assert estimate_noise_rate(losses) == pytest.approx(rate, abs=0.05)


def test_estimate_noise_rate_mixture_edge_cases():
    assert estimate_noise_rate(np.full(10, 2.0)) == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        estimate_noise_rate([1.0])
    with pytest.raises(ValueError, match="1-D"):
        estimate_noise_rate(np.ones((3, 3)))


def test_estimate_noise_rate_method_dispatch_and_errors():
    rng = np.random.default_rng(0)
    losses = np.r_[rng.gamma(1.5, 0.15, 800), rng.normal(2.5, 0.5, 200)]
    assert estimate_noise_rate(losses) == estimate_noise_rate(losses, method="mixture")
    with pytest.raises(ValueError, match="method"):
        estimate_noise_rate(losses, method="guess")
    with pytest.raises(ValueError, match="proba"):
        estimate_noise_rate(losses, method="confident_joint")
    with pytest.raises(ValueError, match="losses"):
        estimate_noise_rate(method="mixture")
    proba = rng.dirichlet(np.ones(3), 10)
    with pytest.raises(ValueError, match="y"):
        estimate_noise_rate(proba=proba)
    with pytest.raises(ValueError, match="proba"):
        estimate_noise_rate(proba=proba[:, 0], y=np.zeros(10, int))
    with pytest.raises(ValueError, match="0..2"):
        estimate_noise_rate(proba=proba, y=np.full(10, 3))
    with pytest.raises(TypeError, match="y"):
        estimate_noise_rate(proba=proba, y=np.array(["a"] * 10))
    with pytest.raises(ValueError, match="one label per row"):
        estimate_noise_rate(proba=proba, y=np.zeros(9, int))
