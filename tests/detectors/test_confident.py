import warnings

import numpy as np
import pandas as pd
import pytest
from imblearn.utils.estimator_checks import parametrize_with_checks
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, ShuffleSplit, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknoisy import NoisyNetClassifier
from sknoisy import make_pipeline as make_imblearn_pipeline
from sknoisy._registry import MethodContext, get_method
from sknoisy.detectors import ConfidentLearningDetector, find_noisy_labels
from sknoisy.exceptions import MostRowsFlaggedWarning
from sknoisy.noise import confident_joint, estimate_noise_rate

from ._data import ambiguous_labels, noisy_three_classes

LOGREG = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))

# Hand-made out-of-fold probabilities: rows 2 and 9 are confidently another class, row 6
# leans to another class without reaching its threshold.
PROBA = np.array([
    [0.90, 0.05, 0.05], [0.80, 0.10, 0.10], [0.15, 0.80, 0.05],                    # ant
    [0.10, 0.80, 0.10], [0.05, 0.90, 0.05], [0.30, 0.60, 0.10], [0.45, 0.40, 0.15],  # bee
    [0.10, 0.10, 0.80], [0.10, 0.20, 0.70], [0.70, 0.10, 0.20], [0.20, 0.20, 0.60],  # cow
])


@pytest.fixture(scope="module")
def hand():
    return PROBA, np.array(["ant"] * 3 + ["bee"] * 4 + ["cow"] * 4)


@pytest.fixture(scope="module")
def noisy_data():
    """Separable 3-class data with 30% of the labels flipped, as strings."""
    return noisy_three_classes(n_samples=300, n_features=8, n_informative=5, class_sep=2.0)


@pytest.mark.parametrize("filter_by, flagged", [
    ("confident_learning", [2, 9]), ("prune_by_class", [2, 9]),
    ("prune_by_noise_rate", [2, 9]), ("both", [2, 9]),
    ("predicted_neq_given", [2, 6, 9]),
])
def test_confident_filters_flag_the_rows_the_paper_says(hand, filter_by, flagged):
    proba, labels = hand
    det = ConfidentLearningDetector("precomputed", filter_by=filter_by).fit(proba, labels)
    assert np.flatnonzero(det.is_noisy_).tolist() == flagged
    # Thresholds: mean self-confidence per class; the joint and rate are sknoisy.noise's.
    np.testing.assert_allclose(det.class_thresholds_, [1.85 / 3, 2.7 / 4, 2.3 / 4])
    codes = np.searchsorted(det.classes_, labels)
    np.testing.assert_allclose(det.confident_joint_, confident_joint(proba, codes))
    assert det.noise_rate_ == pytest.approx(2 / 11)
    assert det.noise_rate_ == estimate_noise_rate(proba=proba, y=codes)
    assert det.suggested_labels_[[2, 6, 9]].tolist() == ["bee", "ant", "ant"]


def test_confident_scores_follow_their_formulas(hand):
    proba, labels = hand
    fit = {rank: ConfidentLearningDetector("precomputed", rank_by=rank).fit(proba, labels)
           for rank in ("self_confidence", "normalized_margin", "posterior")}
    np.testing.assert_allclose(fit["self_confidence"].noise_scores_[2], 0.85)
    np.testing.assert_allclose(fit["normalized_margin"].noise_scores_[2], (1 - .15 + .8) / 2)
    # T = joint / column sums = [[2/3, 1/5, 0], [0, 4/5, 0], [1/3, 0, 1]]; row 2 is labelled
    # 0 with p = (.15, .8, .05): 1 - (2/3 * .15) / (2/3 * .15 + 1/5 * .8).
    np.testing.assert_allclose(fit["posterior"].noise_scores_[[2, 0, 7]],
                               [1 - .1 / .26, 1 - .6 / .61, 1 - .8 / (.1 / 3 + .8)])
    for det in fit.values():
        assert det.noise_scores_.min() >= 0 and det.noise_scores_.max() <= 1
        assert set(np.argsort(-det.noise_scores_)[:2]) == {2, 9}


def test_confident_detector_ranks_flipped_labels_first(noisy_data):
    X, y, y_true, flipped = noisy_data
    det = ConfidentLearningDetector(LOGREG, random_state=0).fit(X, y)
    assert roc_auc_score(flipped, det.noise_scores_) > 0.9
    assert det.is_noisy_[flipped].mean() > 0.6 and det.is_noisy_[~flipped].mean() < 0.1
    assert abs(det.noise_rate_ - flipped.mean()) < 0.1
    assert np.mean(det.suggested_labels_ == y_true) > 0.9
    assert det.pred_proba_.shape == (len(y), 3)
    np.testing.assert_allclose(det.pred_proba_.sum(axis=1), 1.0)


def test_confident_relabel_fixes_labels(noisy_data):
    X, y, y_true, _ = noisy_data
    det = ConfidentLearningDetector(LOGREG, action="relabel", random_state=0)
    X_res, y_res = det.fit_resample(X, y)
    assert len(y_res) == len(y) and np.mean(y_res == y_true) > np.mean(y == y_true) + 0.15
    np.testing.assert_array_equal(y_res[det.is_noisy_], det.suggested_labels_[det.is_noisy_])


def test_precomputed_probabilities_give_what_the_estimator_gives(noisy_data):
    X, y, _, _ = noisy_data
    det = ConfidentLearningDetector(LOGREG, random_state=0).fit(X, y)
    again = ConfidentLearningDetector("precomputed").fit(det.pred_proba_, y)
    np.testing.assert_array_equal(again.is_noisy_, det.is_noisy_)
    np.testing.assert_allclose(again.noise_scores_, det.noise_scores_)
    scores, mask = find_noisy_labels(y=pd.Series(y), pred_proba=det.pred_proba_.tolist())
    np.testing.assert_array_equal(mask, det.is_noisy_)
    np.testing.assert_allclose(scores, det.noise_scores_)


def test_find_noisy_labels_reads_any_models_out_of_fold_probabilities(noisy_data):
    X, y, _, flipped = noisy_data
    # The user's own model and folds; non-contiguous integer labels.
    labels = np.array([10, 20, 40])[np.searchsorted(["cat", "dog", "eel"], y)]
    proba = cross_val_predict(RandomForestClassifier(n_estimators=30, random_state=0), X,
                              labels, cv=5, method="predict_proba")
    scores, mask = find_noisy_labels(X, labels, pred_proba=proba, filter_by="both")
    assert scores.shape == mask.shape == (len(y),) and mask.dtype == bool
    assert roc_auc_score(flipped, scores) > 0.85
    assert mask[flipped].mean() > 0.5 and mask[~flipped].mean() < 0.1


@pytest.mark.parametrize("proba, match", [
    (lambda P: P[:, 0], "2-D"),
    (lambda P: P[:, :2], "2 columns but y holds 3 classes"),
    (lambda P: np.log(P), r"\[0, 1\]"),
    (lambda P: P * 0.5, "sum to 1"),
    (lambda P: np.where(np.arange(len(P))[:, None] == 3, np.nan, P), "NaN"),
    (lambda P: P.astype(str).astype(object) + "%", "could not be read"),
])
def test_find_noisy_labels_rejects_malformed_probabilities(hand, proba, match):
    P, labels = hand
    with pytest.raises(ValueError, match=match):
        find_noisy_labels(y=labels, pred_proba=proba(P))


def test_find_noisy_labels_with_probabilities_rejects_misuse(hand):
    P, labels = hand
    with pytest.raises(ValueError, match=r"3 columns but y holds 2 classes \['ant', 'bee'\]"):
        find_noisy_labels(y=np.where(labels == "cow", "ant", labels), pred_proba=P)
    with pytest.raises(ValueError, match="method='confident' only"):
        find_noisy_labels(y=labels, pred_proba=P, method="o2u")
    with pytest.raises(ValueError, match="not both"):
        find_noisy_labels(y=labels, pred_proba=P, estimator=LOGREG)
    with pytest.raises(ValueError, match="y .* is required"):
        find_noisy_labels(pred_proba=P)
    with pytest.raises(ValueError, match="X has 5 rows but pred_proba has 11"):
        find_noisy_labels(np.zeros((5, 2)), labels[:5], pred_proba=P)
    with pytest.raises(ValueError, match="y has 5 rows but pred_proba has 11"):
        find_noisy_labels(y=labels[:5], pred_proba=P)


def test_confident_leaves_clean_labels_alone():
    X, y = make_classification(n_samples=600, n_features=10, n_informative=6,
                               n_redundant=0, n_classes=3, n_clusters_per_class=1,
                               class_sep=2.5, flip_y=0, random_state=0)
    det = ConfidentLearningDetector(LOGREG, random_state=0).fit(X, y)
    assert det.is_noisy_.mean() <= 0.02 and det.noise_rate_ <= 0.02


def test_confident_removes_more_than_half_only_when_told_to(capsys):
    # Two classes whose probabilities contradict 70% of the labels.
    y = np.array([0, 1] * 50)
    wrong = np.arange(100) < 70
    proba = np.where((y == 1) ^ wrong, 0.9, 0.1)
    proba = np.column_stack([1 - proba, proba])
    with pytest.warns(MostRowsFlaggedWarning, match="max_noise_rate=0.5"):
        capped = ConfidentLearningDetector("precomputed").fit(proba, y)
    assert capped.is_noisy_.sum() == 50
    allowed = ConfidentLearningDetector("precomputed", max_noise_rate=0.9, verbose=2)
    assert allowed.fit(proba, y).is_noisy_.sum() > 50
    out = capsys.readouterr().out
    assert "ConfidentLearningDetector: dropped 70 of 100 rows" in out and "35 of 50" in out


@pytest.mark.parametrize("params, match", [
    (dict(estimator="mlp"), "estimator"),
    (dict(estimator=KFold()), "estimator"),
    (dict(filter_by="confident"), "filter_by"),
    (dict(rank_by="loss"), "rank_by"),
    (dict(cv=1), "cv"),
    (dict(action="keep"), "action"),
    (dict(max_noise_rate=0.0), "max_noise_rate"),
])
def test_confident_rejects_bad_parameters(noisy_data, params, match):
    X, y, _, _ = noisy_data
    with pytest.raises((ValueError, TypeError), match=match):
        ConfidentLearningDetector(**params).fit(X, y)


def test_confident_cv_must_fit_the_classes(noisy_data):
    X, y, _, _ = noisy_data
    few = y.copy()
    few[:3] = "fox"
    with pytest.raises(ValueError, match="class 'fox' has 3 samples but cv=5; lower cv"):
        ConfidentLearningDetector(LOGREG).fit(X, few)
    with pytest.raises(ValueError, match="exactly one test fold"):
        ConfidentLearningDetector(LOGREG, cv=ShuffleSplit(3, random_state=0)).fit(X, y)
    order = np.argsort(y, kind="stable")  # unshuffled KFold on sorted labels
    with pytest.raises(ValueError, match="no row of class"):
        ConfidentLearningDetector(LOGREG, cv=KFold(3)).fit(X[order], y[order])
    det = ConfidentLearningDetector(LOGREG, cv=KFold(3, shuffle=True, random_state=0))
    assert det.fit(X, y).pred_proba_.shape == (len(y), 3)


def test_confident_seeds_every_random_state_of_the_estimator(noisy_data):
    X, y, _, _ = noisy_data
    forest = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=5))
    fits = [ConfidentLearningDetector(forest, random_state=seed).fit(X, y).pred_proba_
            for seed in (3, 3, 4)]
    np.testing.assert_array_equal(fits[0], fits[1])
    assert not np.allclose(fits[0], fits[2])
    assert forest.get_params()["randomforestclassifier__random_state"] is None  # untouched


def test_confident_on_images_with_a_net_and_with_a_flat_model():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 40)
    X = rng.normal(size=(80, 6, 6)).astype(np.float32) + y[:, None, None]
    net = NoisyNetClassifier(max_epochs=3, batch_size=32, module__channels=(4,))
    for estimator in (net, LogisticRegression()):
        det = ConfidentLearningDetector(estimator, cv=3, random_state=0)
        X_res, _ = det.fit_resample(X, y)
        assert X_res.shape[1:] == (6, 6) and det.pred_proba_.shape == (80, 2)


def test_confident_in_a_pipeline_and_from_the_registry(noisy_data):
    X, y, _, _ = noisy_data
    pipe = make_imblearn_pipeline(ConfidentLearningDetector(LOGREG, random_state=0),
                                  LogisticRegression(max_iter=1000)).fit(X, y)
    kept = pipe.steps[0][1].sample_indices_
    assert len(kept) < len(y) and pipe.predict(X[:5]).dtype == y.dtype
    scores, mask = find_noisy_labels(X, y, method="confident", estimator=LOGREG,
                                     random_state=0)
    np.testing.assert_array_equal(np.flatnonzero(~mask), kept)


def test_benchmark_compares_with_cleanlab_on_the_same_probabilities(noisy_data):
    pytest.importorskip("cleanlab")
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    X, y, _, _ = noisy_data
    ctx = MethodContext(n_classes=3, epochs=3, seed=1, cv_folds=3)
    ours = get_method("confident_logreg").build(ctx).fit(X, y)
    theirs = get_method("cleanlab_logreg").build(ctx).fit(X, y)
    np.testing.assert_array_equal(ours.pred_proba_, theirs.detector.pred_proba_)
    codes = np.searchsorted(ours.classes_, y)
    # Self-confidence is cleanlab's default ranking: the same scores, so the same AUPRC.
    np.testing.assert_allclose(ours.noise_scores_,
                               1 - get_label_quality_scores(codes, ours.pred_proba_))
    np.testing.assert_array_equal(theirs.is_noisy_,
                                  find_label_issues(codes, ours.pred_proba_, n_jobs=1))
    # The prune-by-noise-rate masks differ only where the joints count a row differently.
    both, either = ours.is_noisy_ & theirs.is_noisy_, ours.is_noisy_ | theirs.is_noisy_
    assert both.sum() / either.sum() > 0.85


def test_confident_default_estimator_is_the_core_net(noisy_data):
    X, y, _, flipped = noisy_data
    det = ConfidentLearningDetector(cv=3, random_state=0).fit(X, y)
    assert roc_auc_score(flipped, det.noise_scores_) > 0.85
    assert clone(det).estimator is None and not hasattr(det, "estimator_")


def _expected_failures(est):
    # The mixin's validation, shared by every detector, rejects sparse X.
    failures = {"check_samplers_pandas_sparse": "sparse input is not supported by the "
                "detectors"}
    if est.filter_by == "random_and_one_way":
        # imbalanced-learn wants every class but the smallest thinned out of its clean
        # synthetic set; the default rule rightly flags (almost) none of it.
        failures["check_samplers_fit_resample"] = "the default rule leaves clean data alone"
    return failures


@parametrize_with_checks(
    [ConfidentLearningDetector(LogisticRegression(), cv=3, random_state=0),
     ConfidentLearningDetector(LogisticRegression(), cv=3, filter_by="prune_by_noise_rate",
                               random_state=0)],
    expected_failed_checks=_expected_failures,
)
def test_imblearn_sampler_checks(estimator, check):
    check(estimator)


# -- the default rule: random labels and one-way swaps, not ambiguity -----------------------
@pytest.mark.parametrize("sharpen", [1.0, 3.0])
def test_default_rule_leaves_ambiguous_clean_labels_alone(sharpen):
    # Labels drawn from the probabilities: the model's confident "mistakes" are the
    # ambiguity of the rows. cleanlab's rule flags them; the default does not.
    proba, y, _ = ambiguous_labels(sharpen=sharpen)
    default = ConfidentLearningDetector("precomputed").fit(proba, y)
    cleanlab_rule = ConfidentLearningDetector(
        "precomputed", filter_by="prune_by_noise_rate").fit(proba, y)
    assert default.is_noisy_.mean() <= 0.02 and default.noise_rate_ <= 0.02
    assert default.random_label_rate_ == 0
    assert cleanlab_rule.is_noisy_.mean() > 0.1
    # The scores do not depend on the rule.
    np.testing.assert_array_equal(default.noise_scores_, cleanlab_rule.noise_scores_)


def test_default_rule_counts_random_labels_and_flags_the_clear_ones():
    proba, y, rng = ambiguous_labels(seed=1)
    drawn = rng.integers(0, 5, len(y))
    wrong = (rng.random(len(y)) < 0.1) & (drawn != y)
    y = np.where(wrong, drawn, y)
    det = ConfidentLearningDetector("precomputed").fit(proba, y)
    assert det.noise_rate_ == pytest.approx(
        det.random_label_rate_ * 4 / 5 + det.one_way_excess_.sum() / len(y))
    assert det.noise_rate_ == pytest.approx(wrong.mean(), abs=0.02)
    # Only rows more likely random than not are flagged: a random label on an
    # ambiguous row stays, so the flags are fewer than the wrong labels, and mostly right.
    assert 0.3 * wrong.mean() < det.is_noisy_.mean() <= wrong.mean()
    assert (det.is_noisy_ & wrong).sum() / det.is_noisy_.sum() > 0.6


def test_default_rule_flags_one_way_swaps():
    proba, y, rng = ambiguous_labels(seed=0)
    # A third of class 1 labelled class 2, as an annotator who often reads one class
    # as another would (class-conditional: any row of the class may be hit) ...
    ones = np.flatnonzero(y == 1)
    swapped = rng.choice(ones, len(ones) // 3, replace=False)
    y[swapped] = 2
    # ... and a model trained on those labels learns the swap: p @ T.
    swap = np.eye(5)
    swap[1, [1, 2]] = [2 / 3, 1 / 3]
    det = ConfidentLearningDetector("precomputed").fit(proba @ swap, y)
    assert det.random_label_rate_ == 0
    assert det.one_way_excess_[2, 1] > 0.5 * len(swapped)
    assert np.count_nonzero(det.one_way_excess_) == 1
    assert det.noise_rate_ == pytest.approx(len(swapped) / len(y), abs=0.02)
    assert det.is_noisy_[swapped].mean() > 0.5
    # Few flags elsewhere: the other rows' labels are ambiguity, not noise.
    others = np.setdiff1d(np.arange(len(y)), swapped)
    assert det.is_noisy_[others].mean() < 0.02


def test_default_rule_on_a_real_model_and_clean_digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    det = ConfidentLearningDetector(LOGREG, random_state=0).fit(X, y)
    cleanlab_rule = ConfidentLearningDetector(LOGREG, filter_by="prune_by_noise_rate",
                                              random_state=0).fit(X, y)
    assert det.is_noisy_.sum() <= 0.01 * len(y)
    assert det.is_noisy_.sum() <= cleanlab_rule.is_noisy_.sum()


def test_verbose_line_says_what_the_default_rule_left_to_cleanlabs(capsys):
    proba, y, _ = ambiguous_labels(seed=3)
    det = ConfidentLearningDetector("precomputed", verbose=1).fit(proba, y)
    out = capsys.readouterr().out
    off_diagonal = 1 - np.trace(det.confident_joint_) / len(y)
    assert f"noise rate {det.noise_rate_:.3f} (random labels 0.000, one-way swaps" in out
    assert f"puts {off_diagonal:.1%} off its diagonal" in out and off_diagonal > 0.1
    ConfidentLearningDetector("precomputed", filter_by="prune_by_noise_rate",
                              verbose=1).fit(proba, y)
    assert "off its diagonal" not in capsys.readouterr().out


def test_default_rule_warns_when_anchors_show_noise_it_left():
    # Pair flips that a logistic regression learns (its probabilities carry the swap)
    # are neither random labels nor a lopsided joint: the anchors still see them.
    from sklearn.datasets import load_digits

    from sknoisy.exceptions import UnflaggedNoiseWarning
    from sknoisy.noise import make_label_noise

    X, y = load_digits(return_X_y=True)
    noisy, _ = make_label_noise(y, "pairflip", 0.3, random_state=0)
    with pytest.warns(UnflaggedNoiseWarning, match="prune_by_noise_rate"):
        det = ConfidentLearningDetector(LOGREG, random_state=0).fit(X, noisy)
    assert det.anchor_disagreement_ > det.noise_rate_ + 0.1
    # cleanlab's rule is what the warning proposes; it does not warn itself.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnflaggedNoiseWarning)
        ConfidentLearningDetector(LOGREG, filter_by="prune_by_noise_rate",
                                  random_state=0).fit(X, noisy)
        clean = ConfidentLearningDetector(LOGREG, random_state=0).fit(X, y)
    assert clean.anchor_disagreement_ == 0
