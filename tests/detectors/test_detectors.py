import numpy as np
import pandas as pd
import pytest
import torch
from imblearn.under_sampling.base import BaseCleaningSampler
from imblearn.utils.estimator_checks import parametrize_with_checks
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from skorch.dataset import ValidSplit

from sknoisy import NoisyNetClassifier, make_pipeline
from sknoisy._core._detector import NoiseDetectorMixin
from sknoisy.detectors import BMMLabelCleaner, O2UNoiseDetector, find_noisy_labels
from sknoisy.exceptions import MostRowsFlaggedWarning, VanishingClassWarning

from ._data import noisy_three_classes

NET = {"module__hidden_sizes": (16,), "batch_size": 64}
SGD = {"optimizer": torch.optim.SGD, "optimizer__momentum": 0.9}
FAST = {
    O2UNoiseDetector: dict(warmup_epochs=3, n_cycles=1, cycle_length=2, lr_max=0.05,
                           lr_min=0.005, random_state=0,
                           estimator=NoisyNetClassifier(lr=0.05, **SGD, **NET)),
    BMMLabelCleaner: dict(warmup_epochs=5, random_state=0,
                          estimator=NoisyNetClassifier(lr=1e-2, **NET)),
}


@pytest.fixture(scope="module")
def noisy_data():
    """Separable 3-class data with 30% of the labels flipped, as strings."""
    return noisy_three_classes(n_samples=400, n_features=10, n_informative=6, class_sep=2.5)


@pytest.mark.parametrize("cls", [O2UNoiseDetector, BMMLabelCleaner])
def test_detector_scores_rank_flipped_labels_first(cls, noisy_data):
    X, y, _, flipped = noisy_data
    det = cls(**FAST[cls]).fit(X, y)
    assert roc_auc_score(flipped, det.noise_scores_) > 0.8
    assert det.is_noisy_[flipped].mean() > det.is_noisy_[~flipped].mean() + 0.3


@pytest.mark.parametrize("cls", [O2UNoiseDetector, BMMLabelCleaner])
def test_detector_fit_resample_contract(cls, noisy_data):
    X, y, _, _ = noisy_data
    det = cls(**FAST[cls])
    X_res, y_res = det.fit_resample(X, y)
    n = len(y)
    assert det.noise_scores_.shape == (n,) and det.is_noisy_.dtype == bool
    np.testing.assert_array_equal(det.sample_indices_, np.flatnonzero(~det.is_noisy_))
    np.testing.assert_array_equal(y_res, y[det.sample_indices_])
    np.testing.assert_allclose(X_res, X[det.sample_indices_].astype(np.float32))
    assert X_res.dtype == np.float32 and y_res.dtype == y.dtype
    assert list(det.classes_) == ["cat", "dog", "eel"]
    # The flagged share follows the rate used (O2U: the estimate, flagged by rank; BMM:
    # the share above its threshold), and the noise here is 30%.
    assert det.is_noisy_.mean() == pytest.approx(det.noise_rate_, abs=0.02)
    assert abs(det.noise_rate_ - 0.3) < 0.15
    # fit returns self and sets the same attributes
    det2 = cls(**FAST[cls])
    assert det2.fit(X, y) is det2
    np.testing.assert_allclose(det2.noise_scores_, det.noise_scores_, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [O2UNoiseDetector, BMMLabelCleaner])
def test_detector_relabel_keeps_rows_and_fixes_labels(cls, noisy_data):
    X, y, y_true, flipped = noisy_data
    det = cls(**{**FAST[cls], "action": "relabel"})
    X_res, y_res = det.fit_resample(X, y)
    assert len(y_res) == len(y) and len(det.sample_indices_) == len(y)
    assert set(np.unique(y_res)) <= set(det.classes_)
    assert np.all(y_res[~det.is_noisy_] == y[~det.is_noisy_])
    assert np.all(y_res[det.is_noisy_] != y[det.is_noisy_])
    # The relabeling target is suggested_labels_, decoded to the caller's labels.
    np.testing.assert_array_equal(y_res[det.is_noisy_], det.suggested_labels_[det.is_noisy_])
    assert det.suggested_labels_.dtype == y.dtype
    assert np.mean(det.suggested_labels_ == y_true) > np.mean(y == y_true) + 0.2
    assert np.mean(y_res == y_true) > np.mean(y == y_true) + 0.1


def test_o2u_fixed_rate_flags_that_fraction_and_keeps_statistics(noisy_data):
    X, y, _, _ = noisy_data
    det = O2UNoiseDetector(**{**FAST[O2UNoiseDetector], "noise_rate": 0.25,
                              "record_trajectories": True, "variance_weight": 1.0})
    det.fit(X, y)
    assert det.is_noisy_.sum() == round(0.25 * len(y))
    assert det.loss_trajectories_.shape == (2, len(y))
    # the centred losses have mean ~0 each epoch, and the running stats match them
    np.testing.assert_allclose(np.nanmean(det.loss_trajectories_, axis=1), 0, atol=1e-4)
    np.testing.assert_allclose(det.loss_mean_, det.loss_trajectories_.mean(axis=0),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(det.loss_std_, det.loss_trajectories_.std(axis=0),
                               rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(det.noise_scores_, det.loss_mean_ + det.loss_std_)
    lrs = det.estimator_.history[:, "event_lr"]
    assert lrs == pytest.approx([0.05] * 3 + [0.5 * 0.05 + 0.5 * 0.005, 0.005])


def test_o2u_cyclical_learning_rate_follows_the_paper_schedule():
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    det = O2UNoiseDetector(NoisyNetClassifier(lr=0.02, **NET), warmup_epochs=1, n_cycles=2,
                           cycle_length=3, lr_max=0.09, lr_min=0.03, noise_rate=0.1,
                           random_state=0)
    det.fit(X, y)
    expected = [(1 - s) * 0.09 + s * 0.03 for s in (1 / 3, 2 / 3, 1.0)] * 2
    # Stage 1 trains at the estimator's own learning rate.
    assert det.estimator_.history[:, "event_lr"] == pytest.approx([0.02] + expected)
    assert det.estimator_.optimizer_.param_groups[0]["lr"] != 0.02


def test_detector_trains_a_clone_of_the_given_estimator(noisy_data):
    X, y, _, _ = noisy_data
    given = NoisyNetClassifier(lr=1e-2, random_state=5, **NET)
    det = BMMLabelCleaner(given, warmup_epochs=2, random_state=0).fit(X, y)
    assert not hasattr(given, "module_") and given.max_epochs == 30  # untouched
    assert det.estimator_ is not given and det.estimator_.max_epochs == 2
    assert det.estimator_.random_state == 0  # the detector's seed wins when set
    assert det.estimator_.module_.layers[0].out_features == 16
    kept = BMMLabelCleaner(given, warmup_epochs=2).fit(X, y)
    assert kept.estimator_.random_state == 5


def test_detector_estimator_params_reachable_by_grid_search(noisy_data):
    X, y, _, _ = noisy_data
    pipe = make_pipeline(O2UNoiseDetector(**{**FAST[O2UNoiseDetector], "noise_rate": 0.2}),
                         NoisyNetClassifier(max_epochs=3, **NET))
    search = GridSearchCV(pipe, {"o2unoisedetector__estimator__lr": [0.01, 0.05]}, cv=2,
                          error_score="raise").fit(X, y)
    detector = search.best_estimator_.steps[0][1]
    # The searched value reached the network the detector trained (stage 1 runs at it).
    assert detector.estimator_.lr == search.best_params_["o2unoisedetector__estimator__lr"]
    assert detector.estimator_.history[0, "event_lr"] == detector.estimator_.lr


def test_detector_rejects_an_unusable_estimator(noisy_data):
    X, y, _, _ = noisy_data
    with pytest.raises((TypeError, ValueError), match="estimator"):
        BMMLabelCleaner(LogisticRegression()).fit(X, y)
    split = NoisyNetClassifier(train_split=ValidSplit(0.2), **NET)
    with pytest.raises(ValueError, match="train_split=None"):
        BMMLabelCleaner(split, warmup_epochs=1).fit(X, y)


def test_bmm_threshold_controls_the_flags(noisy_data):
    X, y, _, _ = noisy_data
    paper = {**FAST[BMMLabelCleaner], "rate_cap": None}  # the threshold alone
    low = BMMLabelCleaner(**{**paper, "threshold": 0.1}).fit(X, y)
    high = BMMLabelCleaner(**{**paper, "threshold": 0.9}).fit(X, y)
    assert low.estimated_rate_ is None
    assert low.is_noisy_.sum() > high.is_noisy_.sum()
    np.testing.assert_array_equal(high.is_noisy_, high.noise_scores_ > 0.9)
    assert high.noise_rate_ == pytest.approx(high.is_noisy_.mean())
    order = np.argsort(high.losses_)
    assert np.all(np.diff(high.noise_scores_[order]) >= -1e-12)


def test_bmm_flags_at_most_the_confident_joint_rate_highest_losses_first(noisy_data):
    X, y, _, flipped = noisy_data
    det = BMMLabelCleaner(**{**FAST[BMMLabelCleaner], "threshold": 0.05}).fit(X, y)
    n_max = round(det.estimated_rate_ * len(y))
    assert det.is_noisy_.sum() == n_max < (det.noise_scores_ > 0.05).sum()
    assert det.losses_[det.is_noisy_].min() >= det.losses_[~det.is_noisy_].max()
    assert abs(det.estimated_rate_ - flipped.mean()) < 0.1


def test_detectors_leave_clean_labels_mostly_alone():
    # Clean, separable labels: the mixture still finds "two" loss groups (a mode and a
    # tail), but the confident joint of the same network says almost nothing is wrong.
    X, y = make_classification(n_samples=600, n_features=10, n_informative=6,
                               n_redundant=0, n_classes=3, n_clusters_per_class=1,
                               class_sep=2.5, flip_y=0, random_state=0)
    bmm = BMMLabelCleaner(**FAST[BMMLabelCleaner]).fit(X, y)
    paper = BMMLabelCleaner(**{**FAST[BMMLabelCleaner], "rate_cap": None}).fit(X, y)
    o2u = O2UNoiseDetector(**FAST[O2UNoiseDetector]).fit(X, y)
    assert bmm.is_noisy_.mean() <= 0.02 and o2u.is_noisy_.mean() <= 0.02
    assert paper.is_noisy_.mean() > 0.05  # the paper's rule alone, for contrast


def test_detectors_remove_more_than_half_only_when_told_to(noisy_data):
    X = np.arange(40.0).reshape(20, 2)
    y = np.array([0, 1] * 10)
    with pytest.warns(MostRowsFlaggedWarning, match=r"flagged 16 of 20 rows .*max_noise_rate=0.5"):
        det = _ScoreByFeature(noise_rate=0.8).fit(X, y)
    # The most suspicious half is flagged: the highest scores.
    np.testing.assert_array_equal(np.flatnonzero(det.is_noisy_), np.arange(10, 20))
    allowed = _ScoreByFeature(noise_rate=0.8, max_noise_rate=0.9).fit(X, y)
    assert allowed.is_noisy_.sum() == 16
    X, y, _, _ = noisy_data
    with pytest.raises(ValueError, match="max_noise_rate=0.6"):
        O2UNoiseDetector(noise_rate=0.6).fit(X, y)


def test_detector_accepts_images_and_dataframes():
    rng = np.random.default_rng(0)
    X_img = rng.normal(size=(80, 6, 6)).astype(np.float32)
    y = np.repeat([0, 1], 40)
    X_img[y == 1] += 1.0
    det = BMMLabelCleaner(NoisyNetClassifier(batch_size=32), warmup_epochs=2, random_state=0)
    X_res, _ = det.fit_resample(X_img, y)
    assert X_res.shape[1:] == (6, 6) and det.n_features_in_ == 36
    X_df = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    X_res, y_res = O2UNoiseDetector(**FAST[O2UNoiseDetector]).fit_resample(
        X_df, pd.Series(y, name="t"))
    assert list(X_res.columns) == ["a", "b", "c"] and y_res.name == "t"


class _ScoreByFeature(NoiseDetectorMixin, BaseCleaningSampler):
    """Flags the rows whose first feature is largest (a stub for mixin tests)."""

    def __init__(self, noise_rate=0.5, sampling_strategy="all", action="drop",
                 max_noise_rate=0.5):
        self.noise_rate = noise_rate
        self.max_noise_rate = max_noise_rate
        self.sampling_strategy = sampling_strategy
        self.action = action

    def _score_noise(self, X, y):
        self.noise_rate_ = self.noise_rate
        return X[:, 0]


def test_mixin_keeps_least_suspicious_samples_of_a_vanishing_class():
    X = np.arange(20.0).reshape(10, 2)
    y = np.array(["a"] * 6 + ["b"] * 4)  # class "b" holds the 4 highest scores
    det = _ScoreByFeature(noise_rate=0.4)
    with pytest.warns(VanishingClassWarning, match="'b': kept 3 of 4"):
        X_res, y_res = det.fit_resample(X, y)
    assert list(y_res).count("b") == 3
    assert det.sample_indices_.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert not det.is_noisy_[6:9].any() and det.is_noisy_[9]


def test_mixin_relabel_is_rejected_when_unsupported_and_strategy_limits_classes():
    X = np.arange(20.0).reshape(10, 2)
    y = np.array([0] * 5 + [1] * 5)
    with pytest.raises(ValueError, match="relabel"):
        _ScoreByFeature(action="relabel").fit(X, y)
    det = _ScoreByFeature(noise_rate=0.4, sampling_strategy=[0]).fit(X, y)
    assert not det.is_noisy_[y == 1].any()


@pytest.mark.parametrize("params, match", [
    (dict(lr_max=0.01, lr_min=0.1), "lr_max must be greater than lr_min"),
    (dict(noise_rate=1.5), "noise_rate"),
    (dict(noise_rate="high"), "noise_rate"),
    (dict(cycle_length=0), "cycle_length"),
    (dict(action="fix"), "action"),
])
def test_o2u_rejects_bad_parameters(params, match):
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    with pytest.raises(ValueError, match=match):
        O2UNoiseDetector(**params).fit(X, y)


def test_detectors_reject_bad_data():
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    with pytest.raises(ValueError, match="class"):
        BMMLabelCleaner(warmup_epochs=1).fit(X, np.zeros(40))
    with pytest.raises(ValueError, match="NaN|nan|infinity"):
        BMMLabelCleaner(warmup_epochs=1).fit(np.full((40, 4), np.nan), y)
    with pytest.raises(ValueError, match="inconsistent|samples"):
        BMMLabelCleaner(warmup_epochs=1).fit(X, y[:30])
    with pytest.raises(ValueError, match="threshold"):
        BMMLabelCleaner(threshold=1.0).fit(X, y)


def test_find_noisy_labels_matches_the_estimator(noisy_data):
    X, y, _, _ = noisy_data
    scores, mask = find_noisy_labels(X, y, method="bmm", **FAST[BMMLabelCleaner])
    det = BMMLabelCleaner(**FAST[BMMLabelCleaner]).fit(X, y)
    np.testing.assert_allclose(scores, det.noise_scores_, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(mask, det.is_noisy_)
    with pytest.raises(ValueError, match="method"):
        find_noisy_labels(X, y, method="knn")
    with pytest.raises(TypeError, match="no parameter"):
        find_noisy_labels(X, y, method="o2u", threshold=0.5)


def test_detector_clone_keeps_params_and_the_estimator_unfitted(noisy_data):
    X, y, _, _ = noisy_data
    det = O2UNoiseDetector(**FAST[O2UNoiseDetector]).fit(X, y)
    twin = clone(det)
    params, twin_params = det.get_params(deep=False), twin.get_params(deep=False)
    assert params.pop("estimator").get_params(deep=False) == \
        twin_params.pop("estimator").get_params(deep=False)
    assert params == twin_params
    assert not hasattr(twin, "estimator_") and not hasattr(twin.estimator, "module_")


# imbalanced-learn's sampler checks. Expected failures, with reasons:
_EXPECTED_FAILURES = {
    # pandas sparse columns become a scipy sparse matrix in validation, which the
    # networks (dense tensors) reject with a TypeError; sparse X is not supported.
    "check_samplers_pandas_sparse": "sparse input is not supported by the networks",
}


@parametrize_with_checks(
    [O2UNoiseDetector(NoisyNetClassifier(batch_size=256, module__hidden_sizes=(8,)),
                      warmup_epochs=1, n_cycles=1, cycle_length=1, noise_rate=0.2,
                      random_state=0),
     BMMLabelCleaner(NoisyNetClassifier(lr=1e-2, batch_size=256, module__hidden_sizes=(8,)),
                     warmup_epochs=2, random_state=0)],
    expected_failed_checks=lambda est: _EXPECTED_FAILURES,
)
def test_imblearn_sampler_checks(estimator, check):
    check(estimator)


def test_detector_says_what_it_flagged_when_verbose(noisy_data, capsys):
    X, y, _, _ = noisy_data
    det = BMMLabelCleaner(**FAST[BMMLabelCleaner], verbose=2).fit(X, y)
    out = capsys.readouterr().out
    k = int(det.is_noisy_.sum())
    assert f"BMMLabelCleaner: dropped {k} of 400 rows" in out
    assert f"noise rate {det.noise_rate_:.3f}" in out
    per_class = [int(line.split(": ")[1].split(" of ")[0]) for line in out.splitlines()
                 if line.startswith("  class ")]
    assert len(per_class) == 3 and sum(per_class) == k
    BMMLabelCleaner(**FAST[BMMLabelCleaner]).fit(X, y)
    assert capsys.readouterr().out == ""
