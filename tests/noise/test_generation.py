"""Tests for sknoisy.noise: label-noise generation and transition matrices."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sknoisy.noise import make_label_noise, transition_matrix
from sknoisy.noise._instance import instance_flip_rates, instance_transition_rows

FAST = settings(max_examples=30, deadline=None, derandomize=True)
SEEDS = st.integers(0, 2**31 - 1)
RATES = st.floats(0.0, 1.0)


def _within_binomial(count, n, p, n_sigma=5.0):
    """Is ``count`` within n_sigma standard deviations (+1 for discreteness) of Binomial(n, p)?"""
    return abs(count - n * p) <= n_sigma * math.sqrt(n * p * (1 - p)) + 1


def _balanced(n, n_classes):
    return np.arange(n) % n_classes


# ---------------------------------------------------------------- realised flip rates

@FAST
@given(seed=SEEDS, rate=RATES, n_classes=st.integers(2, 8),
       noise_type=st.sampled_from(["symmetric", "uniform", "pairflip"]))
def test_make_label_noise_flip_rate_matches_nominal(seed, rate, n_classes, noise_type):
    n = 2000
    y = _balanced(n, n_classes)
    _, flipped = make_label_noise(y, noise_type, rate, random_state=seed)
    # 'uniform' redraws over all C classes, so 1/C of its redraws land on the true class.
    p = rate * (n_classes - 1) / n_classes if noise_type == "uniform" else rate
    assert _within_binomial(flipped.sum(), n, p)


@FAST
@given(seed=SEEDS, rate=RATES, preset=st.sampled_from(["mnist", "cifar10"]))
def test_make_label_noise_asymmetric_preset_flips_only_mapped_classes(seed, rate, preset):
    y = _balanced(3000, 10)
    mapping = {"mnist": {7: 1, 2: 7, 3: 8, 5: 6, 6: 5},
               "cifar10": {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}}[preset]
    y_noisy, flipped = make_label_noise(y, preset, rate, random_state=seed)
    mapped = np.isin(y, list(mapping))
    assert not flipped[~mapped].any()
    assert all(y_noisy[i] == mapping[y[i]] for i in np.flatnonzero(flipped))
    assert _within_binomial(flipped[mapped].sum(), mapped.sum(), rate)


@FAST
@given(seed=SEEDS, rate=st.floats(0.01, 0.99))
def test_make_label_noise_instance_rate_close_to_nominal(seed, rate):
    # Near the edges too: a normal centred at the rate and truncated to [0, 1] would
    # realise 0.09 at 0.05 and 0.12 at 0.10; the centre is moved so the mean is the rate.
    n, n_classes = 3000, 4
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    y = _balanced(n, n_classes)
    _, flipped = make_label_noise(y, "instance", rate, X=X, random_state=seed)
    # Flips are Bernoulli(q_i) with mean(q_i) = r: the variance of their sum is at
    # most n/4.
    assert abs(flipped.sum() - n * rate) <= 5 * math.sqrt(n / 4)


@pytest.mark.parametrize("rate", [1e-4, 0.05, 0.1, 0.5, 0.9, 0.9999])
def test_instance_flip_rates_average_the_requested_rate(rate):
    q = instance_flip_rates(rate, 200_000, np.random.RandomState(0))
    assert q.min() >= 0.0 and q.max() <= 1.0
    assert abs(q.mean() - rate) < 2e-3
    if 0.05 <= rate <= 0.95:
        assert 0.03 < q.std() < 0.101   # still spread per sample (at most 0.1), as in Xia et al.


# ----------------------------------------------------------------- transition matrices

@FAST
@given(n_classes=st.integers(2, 12), rate=RATES,
       noise_type=st.sampled_from(["symmetric", "uniform", "pairflip"]))
def test_transition_matrix_is_row_stochastic(n_classes, rate, noise_type):
    T = transition_matrix(noise_type, n_classes, rate)
    assert T.shape == (n_classes, n_classes)
    assert (T >= 0).all()
    np.testing.assert_allclose(T.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("preset", ["mnist", "cifar10"])
@pytest.mark.parametrize("rate", [0.0, 0.35, 1.0])
def test_transition_matrix_presets_are_row_stochastic(preset, rate):
    T = transition_matrix(preset, 10, rate)
    assert (T >= 0).all()
    np.testing.assert_allclose(T.sum(axis=1), 1.0)


def test_transition_matrix_hand_computed_values():
    # symmetric, C=4, r=0.3: stay 0.7, each other class 0.3/3.
    T = transition_matrix("symmetric", 4, 0.3)
    np.testing.assert_allclose(np.diag(T), 0.7)
    np.testing.assert_allclose(T[0, 1:], 0.1)
    # uniform, C=4, r=0.4: stay 0.6 + 0.4/4 = 0.7, each other class 0.1.
    T = transition_matrix("uniform", 4, 0.4)
    np.testing.assert_allclose(np.diag(T), 0.7)
    np.testing.assert_allclose(T[3, :3], 0.1)
    # pairflip, C=3, r=0.25.
    np.testing.assert_allclose(transition_matrix("pairflip", 3, 0.25),
                               [[0.75, 0.25, 0], [0, 0.75, 0.25], [0.25, 0, 0.75]])
    # MNIST preset at 0.4: 7->1, 5<->6, class 0 untouched.
    T = transition_matrix("mnist", 10, 0.4)
    assert T[7, 1] == pytest.approx(0.4) and T[7, 7] == pytest.approx(0.6)
    assert T[5, 6] == pytest.approx(0.4) and T[6, 5] == pytest.approx(0.4)
    assert T[0, 0] == 1.0 and T[1, 1] == 1.0
    T = transition_matrix("cifar10", 10, 0.2)
    assert T[9, 1] == pytest.approx(0.2) and T[2, 0] == pytest.approx(0.2)
    assert T[4, 7] == pytest.approx(0.2) and T[3, 5] == pytest.approx(0.2)
    assert T[5, 3] == pytest.approx(0.2) and T[8, 8] == 1.0
    # Custom position map.
    T = transition_matrix({0: 2}, 3, 0.5)
    np.testing.assert_allclose(T, [[0.5, 0, 0.5], [0, 1, 0], [0, 0, 1]])


@pytest.mark.parametrize("noise_type,n_classes", [("symmetric", 4), ("uniform", 4),
                                                  ("pairflip", 4), ("cifar10", 10)])
def test_make_label_noise_empirical_transitions_match_matrix(noise_type, n_classes):
    n_per_class, rate = 3000, 0.4
    y = _balanced(n_per_class * n_classes, n_classes)
    y_noisy, _ = make_label_noise(y, noise_type, rate, random_state=0)
    T = transition_matrix(noise_type, n_classes, rate)
    counts = np.zeros((n_classes, n_classes))
    np.add.at(counts, (y, y_noisy), 1)
    for i in range(n_classes):
        for j in range(n_classes):
            assert _within_binomial(counts[i, j], n_per_class, T[i, j]), (i, j)


def test_make_label_noise_user_matrix_matches_frequencies_and_skips_zeros():
    T = np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.2, 0.0, 0.8]])
    y = np.repeat(["a", "b", "c"], 4000)
    y_noisy, flipped = make_label_noise(y, T, random_state=3)
    pos = {"a": 0, "b": 1, "c": 2}
    counts = np.zeros((3, 3))
    np.add.at(counts, ([pos[v] for v in y], [pos[v] for v in y_noisy]), 1)
    assert counts[0, 2] == counts[1, 0] == counts[1, 2] == counts[2, 1] == 0
    for i in range(3):
        for j in range(3):
            assert _within_binomial(counts[i, j], 4000, T[i, j])
    np.testing.assert_array_equal(flipped, y_noisy != y)


def test_make_label_noise_identity_matrix_changes_nothing():
    y = np.array([3, 1, 2, 2, 1])
    y_noisy, flipped = make_label_noise(y, np.eye(3), random_state=0)
    np.testing.assert_array_equal(y_noisy, y)
    assert not flipped.any()


# ------------------------------------------------------------ per-type structural facts

@FAST
@given(seed=SEEDS, rate=RATES, n_classes=st.integers(2, 6))
def test_make_label_noise_pairflip_maps_to_next_class_only(seed, rate, n_classes):
    # Non-contiguous labels in a custom order: "next" follows `classes`, not value order.
    classes = np.array([42, 3, 17, 8, 99, 5])[:n_classes]
    y = classes[_balanced(600, n_classes)]
    y_noisy, flipped = make_label_noise(y, "pairflip", rate, classes=classes, random_state=seed)
    nxt = {classes[i]: classes[(i + 1) % n_classes] for i in range(n_classes)}
    expected = np.array([nxt[v] for v in y])
    np.testing.assert_array_equal(y_noisy[flipped], expected[flipped])
    np.testing.assert_array_equal(y_noisy[~flipped], y[~flipped])


@FAST
@given(seed=SEEDS, n_classes=st.integers(2, 6))
def test_make_label_noise_symmetric_rate_one_changes_every_label(seed, n_classes):
    y = _balanced(500, n_classes)
    y_noisy, flipped = make_label_noise(y, "symmetric", 1.0, random_state=seed)
    assert flipped.all()
    assert (y_noisy != y).all()


def test_make_label_noise_symmetric_spreads_over_other_classes():
    n_classes, n = 5, 20000
    y = np.zeros(n, dtype=int)
    y_noisy, flipped = make_label_noise(y, "symmetric", 1.0, classes=range(n_classes),
                                        random_state=1)
    counts = np.bincount(y_noisy, minlength=n_classes)
    assert counts[0] == 0
    for c in range(1, n_classes):
        assert _within_binomial(counts[c], n, 1 / (n_classes - 1))


def test_make_label_noise_rate_zero_keeps_labels():
    y = np.array(["x", "y", "z", "x"])
    for noise_type in ["symmetric", "uniform", "pairflip"]:
        y_noisy, flipped = make_label_noise(y, noise_type, 0.0, random_state=0)
        np.testing.assert_array_equal(y_noisy, y)
        assert not flipped.any()
    X = np.arange(8.0).reshape(4, 2)
    y_noisy, flipped = make_label_noise(y, "instance", 0.0, X=X, random_state=0)
    assert not flipped.any()


def test_make_label_noise_dict_mapping_on_string_labels():
    y = np.array(["cat", "dog", "bird"] * 200)
    y_noisy, flipped = make_label_noise(y, {"cat": "dog"}, 1.0, random_state=0)
    np.testing.assert_array_equal(flipped, y == "cat")
    assert (y_noisy[y == "cat"] == "dog").all()
    np.testing.assert_array_equal(y_noisy[y != "cat"], y[y != "cat"])


def test_instance_rows_are_stochastic_and_feature_determined():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 3))
    X[10] = X[20]  # same features and label -> same transition row
    codes = np.arange(50) % 3
    codes[10] = codes[20] = 1
    P = instance_transition_rows(codes, X, 3, 0.4, np.random.RandomState(5))
    assert (P >= 0).all()
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_allclose(P[10, [0, 2]] / P[10, [0, 2]].sum(),
                               P[20, [0, 2]] / P[20, [0, 2]].sum())
    # The kept mass is 1 - q_i, q_i ~ N(0.4, 0.1^2) truncated to [0, 1] (Xia et al.): the
    # flip rates centre on the nominal rate (5 standard errors of the mean of 50) and vary.
    q = 1 - P[np.arange(50), codes]
    assert abs(q.mean() - 0.4) < 5 * 0.1 / math.sqrt(50)
    assert 0.05 < q.std() < 0.15


def test_make_label_noise_instance_rate_one_flips_everything_and_takes_images():
    X = np.random.RandomState(0).normal(size=(40, 4, 4))  # image-shaped input is flattened
    y = _balanced(40, 3)
    y_noisy, flipped = make_label_noise(y, "instance", 1.0, X=X, random_state=0)
    assert flipped.all()


# ------------------------------------------------------------- label kinds and purity

@FAST
@given(seed=SEEDS, rate=RATES)
def test_make_label_noise_pandas_series_round_trips(seed, rate):
    y = pd.Series(["lo", "mid", "high", "mid"] * 25, index=np.arange(100) * 3 + 7, name="grade")
    y_noisy, flipped = make_label_noise(y, "symmetric", rate, random_state=seed)
    assert isinstance(y_noisy, pd.Series)
    assert y_noisy.index.equals(y.index) and y_noisy.name == "grade"
    assert y_noisy.dtype == y.dtype
    assert set(y_noisy) <= {"lo", "mid", "high"}
    np.testing.assert_array_equal(flipped, (y_noisy != y).to_numpy())


def test_make_label_noise_categorical_preserved_and_uses_all_categories():
    dtype = pd.CategoricalDtype(["a", "b", "c"], ordered=True)
    y = pd.Series(pd.Categorical(["a", "b"] * 300, dtype=dtype), index=range(600, 0, -1))
    y_noisy, flipped = make_label_noise(y, "pairflip", 1.0)
    assert y_noisy.dtype == dtype and y_noisy.index.equals(y.index)
    # Categories are the label set: "b" flips to the unused category "c".
    assert (y_noisy[y == "b"] == "c").all() and (y_noisy[y == "a"] == "b").all()
    assert flipped.all()
    raw = pd.Categorical(["x", "y", "x"])
    out, _ = make_label_noise(raw, "pairflip", 1.0)
    assert isinstance(out, pd.Categorical) and out.dtype == raw.dtype
    assert list(out) == ["y", "x", "y"]


def test_make_label_noise_numpy_dtype_kept_and_strings_widened():
    y = np.array([10, 30, 20], dtype=np.int32)
    out, _ = make_label_noise(y, "pairflip", 1.0)
    assert out.dtype == np.int32 and out.tolist() == [20, 10, 30]
    y = np.array(["a", "b"])
    out, _ = make_label_noise(y, "pairflip", 1.0, classes=["a", "b", "ccc"])
    assert out.tolist() == ["b", "ccc"]
    out, _ = make_label_noise([1, 2], "pairflip", 1.0)  # a list gives an ndarray
    assert isinstance(out, np.ndarray) and out.tolist() == [2, 1]


@pytest.mark.parametrize("noise_type", ["symmetric", "uniform", "pairflip", "cifar10",
                                        "instance"])
def test_make_label_noise_same_seed_same_output(noise_type):
    y = _balanced(300, 10)
    X = np.random.RandomState(0).normal(size=(300, 5))
    a, fa = make_label_noise(y, noise_type, 0.5, X=X, random_state=11)
    b, fb = make_label_noise(y, noise_type, 0.5, X=X, random_state=11)
    c, _ = make_label_noise(y, noise_type, 0.5, X=X, random_state=12)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fa, fb)
    assert (a != c).any()


def test_make_label_noise_does_not_modify_input():
    y = np.array([0, 1, 2, 1, 0] * 20)
    y_copy = y.copy()
    s = pd.Series(y.astype(str), index=np.arange(100) + 5)
    s_copy = s.copy()
    X = np.random.RandomState(0).normal(size=(100, 2))
    X_copy = X.copy()
    for noise_type in ["symmetric", "uniform", "pairflip", "instance"]:
        y_noisy, flipped = make_label_noise(y, noise_type, 1.0, X=X, random_state=0)
        assert flipped.any() and y_noisy is not y
        make_label_noise(s, noise_type, 1.0, X=X, random_state=0)
    np.testing.assert_array_equal(y, y_copy)
    pd.testing.assert_series_equal(s, s_copy)
    np.testing.assert_array_equal(X, X_copy)


# ---------------------------------------------------------------------------- errors

@pytest.mark.parametrize("rate", [-0.1, 1.1, float("nan")])
def test_make_label_noise_rejects_rate_out_of_range(rate):
    with pytest.raises(ValueError, match="noise_rate"):
        make_label_noise([0, 1, 2], "symmetric", rate)


def test_make_label_noise_rejects_non_numeric_or_missing_rate():
    with pytest.raises(TypeError, match="noise_rate"):
        make_label_noise([0, 1, 2], "symmetric", "0.2")
    with pytest.raises(ValueError, match="noise_rate is required"):
        make_label_noise([0, 1, 2], "symmetric")


@pytest.mark.parametrize("noise_type,match", [
    ("gaussian", "noise_type must be one of"),
    ("asymmetric", "needs a mapping"),
    ({"a": "zzz"}, "not in classes"),
    ({"a": "a"}, "to itself"),
])
def test_make_label_noise_rejects_bad_noise_type(noise_type, match):
    with pytest.raises(ValueError, match=match):
        make_label_noise(["a", "b", "c"], noise_type, 0.3)


def test_make_label_noise_rejects_wrong_noise_type_kind():
    with pytest.raises(TypeError, match="noise_type"):
        make_label_noise([0, 1], 3, 0.3)


def test_make_label_noise_preset_needs_ten_classes():
    with pytest.raises(ValueError, match="10 classes"):
        make_label_noise([0, 1, 2], "mnist", 0.3)
    with pytest.raises(ValueError, match="10 classes"):
        transition_matrix("cifar10", 5, 0.3)


def test_make_label_noise_instance_needs_valid_x():
    with pytest.raises(ValueError, match="pass X"):
        make_label_noise([0, 1, 0], "instance", 0.3)
    with pytest.raises(ValueError, match="rows but y has"):
        make_label_noise([0, 1, 0], "instance", 0.3, X=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        make_label_noise([0, 1, 0], "instance", 0.3, X=[[0.0], [np.nan], [1.0]])


@pytest.mark.parametrize("T,match", [
    (np.full((2, 3), 1 / 3), "square"),
    (np.eye(4), "4 classes|3 classes"),
    (np.array([[1.2, -0.2, 0], [0, 1, 0], [0, 0, 1]]), "nonnegative"),
    (np.array([[0.5, 0.4, 0], [0, 1, 0], [0, 0, 1]]), "row 0 sums"),
])
def test_make_label_noise_rejects_bad_transition_matrix(T, match):
    with pytest.raises(ValueError, match=match):
        make_label_noise([0, 1, 2], T)


def test_make_label_noise_matrix_requires_rate_none():
    with pytest.raises(ValueError, match="noise_rate must be None"):
        make_label_noise([0, 1, 2], np.eye(3), 0.2)


def test_make_label_noise_rejects_bad_labels():
    with pytest.raises(ValueError, match="not in classes"):
        make_label_noise([0, 1, 5], "symmetric", 0.2, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="missing"):
        make_label_noise(np.array([0.0, np.nan, 1.0]), "symmetric", 0.2)
    with pytest.raises(ValueError, match="1-D"):
        make_label_noise(np.zeros((4, 1)), "symmetric", 0.2)
    with pytest.raises(ValueError, match="at least 2 classes"):
        make_label_noise([1, 1, 1], "symmetric", 0.2)
    with pytest.raises(ValueError, match="duplicates"):
        make_label_noise([0, 1], "symmetric", 0.2, classes=[0, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        make_label_noise([], "symmetric", 0.2)
    cat = pd.Categorical(["a", "b"])
    with pytest.raises(ValueError, match="add_categories"):
        make_label_noise(cat, "symmetric", 0.2, classes=["a", "b", "c"])


def test_transition_matrix_rejects_instance_and_bad_sizes():
    with pytest.raises(ValueError, match="no single matrix"):
        transition_matrix("instance", 3, 0.2)
    with pytest.raises(ValueError, match="n_classes"):
        transition_matrix("symmetric", 1, 0.2)
    with pytest.raises(ValueError, match="noise_rate"):
        transition_matrix("symmetric", 3, 1.5)
