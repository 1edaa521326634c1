"""Rows without a label: unlabeled data for DivideMix, the noisy student and mutual learning;
a clear error for every other estimator."""

import functools
import math
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold

from sknoisy._core._checks import check_partial_labels
from sknoisy._core._data import IndexedBatch
from sknoisy._core._state import FitState
from sknoisy._core._unlabeled import (ACCEPTS_UNLABELED, UNLABELED, SemiSupervisedMixin,
                                      missing_label_mask)
from sknoisy.classifiers import (DistilledStudentClassifier, DivideMixClassifier,
                                 MutualLearningClassifier)
from sknoisy.classifiers._mutual import mimicry_losses
from sknoisy.modules import MLP

from .._instances import ALL_ESTIMATORS
from ._shared import three_classes

NET = dict(max_epochs=6, lr=1e-2, batch_size=32, early_stopping=False, random_state=0,
           module=functools.partial(MLP, hidden_sizes=(16,)))

SEMI_SUPERVISED = {
    "dividemix": lambda **kw: DivideMixClassifier(
        **{**NET, "warmup_epochs": 2, "rampup_epochs": 0, **kw}),
    "mutual": lambda **kw: MutualLearningClassifier(**{**NET, **kw}),
    "student": lambda **kw: DistilledStudentClassifier(**{**NET, "teacher_cv": None, **kw}),
}

N = 160
MISSING = np.arange(N) % 4 == 0  # a quarter of the rows without a label


def _with_missing(y, kind):
    """``y`` (class positions 0-2) with the MISSING rows unlabeled, in one of many forms."""
    letters = np.array(["a", "b", "c"])[y]
    if kind == "None":
        return [None if m else int(v) for v, m in zip(y, MISSING)]
    if kind == "NaN":
        return np.where(MISSING, np.nan, y.astype(float))
    if kind == "Int64":
        return pd.Series(pd.array([pd.NA if m else int(v) for v, m in zip(y, MISSING)],
                                  dtype="Int64"))
    if kind == "string":
        return pd.Series(letters, dtype="string").mask(MISSING)
    if kind == "category":
        return pd.Series(pd.Categorical(letters)).mask(MISSING)
    if kind == "str-None":
        return np.where(MISSING, None, letters).astype(object)
    raise AssertionError(kind)


# -- the core's detection ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["None", "NaN", "Int64", "string", "category", "str-None"])
def test_missing_label_mask_finds_every_missing_marker(kind):
    _, y = three_classes(N)
    assert np.array_equal(missing_label_mask(_with_missing(y, kind)), MISSING)


def test_minus_one_is_missing_only_when_asked():
    y = np.array([-1, 1, 1, -1, 0])
    assert not missing_label_mask(y).any()
    assert missing_label_mask(y, unlabeled_label=-1).tolist() == [True, False, False, True,
                                                                   False]
    # A string label set never equals the number -1; a string marker works.
    assert not missing_label_mask(np.array(["a", "b"]), unlabeled_label=-1).any()
    assert missing_label_mask(["a", "?", None], unlabeled_label="?").tolist() == [False, True,
                                                                                   True]


def test_partial_labels_take_classes_from_the_labeled_rows():
    labels, labeled = check_partial_labels(None, pd.Series([3, pd.NA, 5, 3], dtype="Int64"))
    assert labels.tolist() == [3, 5, 3] and labels.dtype == np.int64
    assert labeled.tolist() == [True, False, True, True]
    with pytest.raises(ValueError, match="every one of the 2 labels in y is missing"):
        check_partial_labels(None, [None, np.nan])
    with pytest.raises(ValueError, match=r"labeled rows of at least 2 classes.*1 class: \[1\]"):
        check_partial_labels(None, [1, None, 1])


def test_the_named_estimators_are_the_ones_that_accept_unlabeled_rows():
    accepting = {type(e).__name__ for e in ALL_ESTIMATORS if isinstance(e, SemiSupervisedMixin)}
    assert accepting == set(ACCEPTS_UNLABELED)


# -- every other estimator rejects missing labels ------------------------------------------


@pytest.mark.parametrize(
    "estimator", [e for e in ALL_ESTIMATORS if not isinstance(e, SemiSupervisedMixin)],
    ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("kind", ["None", "NaN", "Int64", "string", "category"])
def test_other_estimators_reject_missing_labels_by_row(estimator, kind):
    X, y = three_classes(N)
    name = type(estimator).__name__
    with pytest.raises(ValueError, match=rf"{name}: y has 40 missing labels \(None, NaN or "
                                         r"pandas NA\) of 160, at rows \[0, 4, 8, .*"
                                         r"DivideMixClassifier"):
        clone(estimator).fit(X, _with_missing(y, kind))


# -- the three that learn from unlabeled rows -----------------------------------------------


@pytest.mark.parametrize("name", SEMI_SUPERVISED)
@pytest.mark.parametrize("kind", ["None", "NaN", "Int64", "string", "category", "str-None"])
def test_missing_labels_are_unlabeled_rows(name, kind):
    X, y = three_classes(N)
    y_missing = _with_missing(y, kind)
    clf = SEMI_SUPERVISED[name]().fit(X, y_missing)
    expected = ["a", "b", "c"] if kind in ("string", "category", "str-None") else [0, 1, 2]
    assert clf.classes_.tolist() == expected
    assert set(clf.predict(X).tolist()) <= set(expected)
    # score ignores the unlabeled rows: the accuracy over the labeled ones.
    labels = np.asarray(expected, dtype=object)[y]
    accuracy = np.mean(clf.predict(X[~MISSING]).astype(object) == labels[~MISSING])
    assert clf.score(X, y_missing) == pytest.approx(accuracy)
    if kind == "None":  # the same labels, however they are written
        reference = SEMI_SUPERVISED[name]().fit(X, _with_missing(y, "NaN"))
        np.testing.assert_allclose(clf.predict_proba(X), reference.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("name", SEMI_SUPERVISED)
def test_unlabeled_rows_influence_training(name):
    # Only the unlabeled rows' inputs differ between the two fits (same labels, same
    # row order, no standardisation fitted on X): an estimator that ignored its
    # unlabeled rows would end with the very same weights.
    X, y = three_classes(N)
    X_moved = X.copy()
    X_moved[MISSING] = np.random.RandomState(1).normal(size=X[MISSING].shape) * 3
    y_missing = _with_missing(y, "None")
    a = SEMI_SUPERVISED[name](standardize=False).fit(X, y_missing)
    b = SEMI_SUPERVISED[name](standardize=False).fit(X_moved, y_missing)
    assert np.abs(a.predict_proba(X) - b.predict_proba(X)).max() > 1e-3
    # And a fit without those rows at all differs too.
    c = SEMI_SUPERVISED[name](standardize=False).fit(X[~MISSING], y[~MISSING])
    assert np.abs(a.predict_proba(X) - c.predict_proba(X)).max() > 1e-3


def test_dividemix_warmup_ignores_unlabeled_rows():
    # A fit that ends in the warm-up trains cross-entropy on the labeled rows alone, so
    # moving the unlabeled rows changes nothing; the first split afterwards does.
    X, y = three_classes(N)
    X_moved = X.copy()
    X_moved[MISSING] += 5.0
    y_missing = _with_missing(y, "None")
    make = SEMI_SUPERVISED["dividemix"]
    a = make(max_epochs=2, standardize=False).fit(X, y_missing)
    b = make(max_epochs=2, standardize=False).fit(X_moved, y_missing)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.labeled_masks_.shape == (2, N)
    assert not a.labeled_masks_[:, MISSING].any() and a.labeled_masks_[:, ~MISSING].all()
    assert np.isnan(a.clean_proba_[:, MISSING]).all()


def test_dividemix_unlabeled_rows_are_always_in_the_unlabeled_part():
    X, y = three_classes(N)
    clf = SEMI_SUPERVISED["dividemix"](max_epochs=4).fit(X, _with_missing(y, "None"))
    assert not clf.labeled_masks_[:, MISSING].any()
    assert np.isnan(clf.clean_proba_[:, MISSING]).all()
    assert np.isfinite(clf.clean_proba_[:, ~MISSING]).all()
    # labeled_fraction is the labeled share of the rows with a label.
    assert clf.history[-1, "labeled_fraction"] == pytest.approx(
        clf.labeled_masks_[:, ~MISSING].mean())


def test_dividemix_an_unlabeled_batch_trains_through_the_unlabeled_term():
    X, y = three_classes(N)
    clf = SEMI_SUPERVISED["dividemix"](max_epochs=3, prior_penalty=0.0).fit(
        X, _with_missing(y, "None"))
    Xb = torch.as_tensor(clf._standardized(X[MISSING][:8]))
    yb = torch.full((8,), UNLABELED)
    rows = torch.as_tensor(np.flatnonzero(MISSING)[:8])
    # A split as fit makes it (unlabeled rows never labeled); history says epoch 3, past
    # the warm-up of 2 with no ramp, so the unlabeled term has its full weight.
    state = FitState(None, None, None, None, seed=0)
    state.split = (torch.zeros((2, N)), torch.zeros((2, N), dtype=torch.bool))
    state.batch_in_epoch, state.n_batches = 0, 1
    state.view_generator = torch.Generator().manual_seed(0)
    clf._fit_state = state
    try:
        clf.optimizer_.zero_grad()
        step = clf.train_step_single(IndexedBatch(Xb, yb, rows))
    finally:
        del clf._fit_state
    grads = [p.grad.abs().sum() for p in clf.module_.parameters() if p.grad is not None]
    assert float(sum(grads)) > 0
    assert torch.equal(step["losses"], torch.zeros(8))  # no label, no loss to report


def test_dividemix_masks_cover_rows_held_out_by_early_stopping():
    # The masks have one column per row given to fit, held-out rows False and NaN.
    X, y = make_blobs(n_samples=300, centers=3, cluster_std=1.0, random_state=0)
    rng = np.random.default_rng(0)
    flip = rng.random(len(y)) < 0.3
    y_noisy = np.where(flip, (y + 1) % 3, y)
    clf = DivideMixClassifier(warmup_epochs=3, max_epochs=8, lr=1e-2, early_stopping=True,
                              validation_fraction=0.2, n_iter_no_change=20,
                              random_state=0).fit(X, y_noisy)
    assert clf.labeled_masks_.shape == clf.clean_proba_.shape == (2, 300)
    held = np.isnan(clf.clean_proba_[0])
    assert held.sum() == 60 and np.array_equal(held, np.isnan(clf.clean_proba_[1]))
    assert clf.n_samples_fit_ == 240
    assert not clf.labeled_masks_[:, held].any()
    # Aligned with the rows: the split labels far fewer of the flipped training rows.
    for mask in clf.labeled_masks_:
        assert mask[flip & ~held].mean() < mask[~flip & ~held].mean() - 0.3


def test_early_stopping_holds_out_labeled_rows_only():
    X, y = three_classes(N)
    clf = SEMI_SUPERVISED["mutual"](early_stopping=True, validation_fraction=0.25).fit(
        X, _with_missing(y, "None"))
    assert clf.n_samples_fit_ == N - math.ceil(0.25 * (~MISSING).sum())
    dm = SEMI_SUPERVISED["dividemix"](early_stopping=True, validation_fraction=0.25,
                                      max_epochs=4).fit(X, _with_missing(y, "None"))
    held = np.isnan(dm.clean_proba_[0]) & ~MISSING
    assert held.sum() == math.ceil(0.25 * (~MISSING).sum())


def test_a_user_train_split_cannot_take_unlabeled_rows():
    from skorch.dataset import ValidSplit

    X, y = three_classes(N)
    with pytest.raises(ValueError, match="cannot score unlabeled rows; use train_split=None"):
        SEMI_SUPERVISED["mutual"](train_split=ValidSplit(4)).fit(X, _with_missing(y, "None"))


def test_auto_early_stopping_counts_labeled_rows():
    X, y = make_blobs(n_samples=1100, centers=3, random_state=0)
    y_missing = np.where(np.arange(1100) < 300, y.astype(float), np.nan)
    clf = SEMI_SUPERVISED["mutual"](early_stopping="auto", max_epochs=1).fit(X, y_missing)
    assert clf.n_samples_fit_ == 1100 and not hasattr(clf, "best_epoch_")


def test_mutual_learning_unlabeled_rows_add_only_the_mimicry_term():
    X, y = three_classes(N)
    clf = SEMI_SUPERVISED["mutual"](max_epochs=2).fit(X, _with_missing(y, "None"))
    Xb = torch.as_tensor(clf._standardized(X[:6]))
    yb = torch.tensor([0, 1, 2, UNLABELED, UNLABELED, UNLABELED])
    with torch.no_grad():
        logits = [clf.infer_network(k, Xb) for k in range(2)]
    clf.optimizer_.zero_grad()
    step = clf.train_step_single((Xb, yb))
    mimicry = torch.stack(mimicry_losses(logits)).mean(dim=0)
    ce = torch.stack([torch.nn.functional.cross_entropy(z[:3], yb[:3], reduction="none")
                      for z in logits]).mean(dim=0)
    torch.testing.assert_close(step["losses"][3:], mimicry[3:])
    torch.testing.assert_close(step["losses"][:3], ce + mimicry[:3])


def test_noisy_student_pseudo_labels_unlabeled_rows_with_the_teacher():
    # The teacher is fitted on the labeled rows alone and labels every row.
    X, y = three_classes(N)
    y_missing = _with_missing(y, "None")
    clf = SEMI_SUPERVISED["student"](teacher=LogisticRegression(max_iter=500),
                                     max_epochs=2).fit(X, y_missing)
    reference = LogisticRegression(max_iter=500).fit(X[~MISSING], y[~MISSING])
    np.testing.assert_allclose(clf.teacher_.coef_, reference.coef_, rtol=1e-6)
    # An unlabeled row's loss is the labeled rows' loss with the teacher's most
    # probable class as its label.
    proba = torch.softmax(torch.randn(4, 3, generator=torch.Generator().manual_seed(0)), 1)
    state = FitState(None, None, None, None, seed=0)
    state.teacher_proba, state.pseudo_labels = proba, proba.argmax(dim=1)
    logits = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
    clf._fit_state = state
    try:
        losses = clf.get_per_sample_loss(logits, torch.tensor([UNLABELED, 2, UNLABELED, 0]),
                                         training=True, indices=torch.arange(4))
    finally:
        del clf._fit_state
    labels = torch.tensor([int(proba[0].argmax()), 2, int(proba[2].argmax()), 0])
    torch.testing.assert_close(losses, clf.criterion_(logits, labels, teacher_probs=proba))
    # Generations: every student trains on (and labels) all rows.
    gens = SEMI_SUPERVISED["student"](n_generations=2, max_epochs=4).fit(X, y_missing)
    assert len(gens.teachers_) == 2 and gens.teachers_[1].n_samples_fit_ == N
    # Out-of-fold teachers: the folds see the labeled rows only.
    cv = SEMI_SUPERVISED["student"](teacher=LogisticRegression(max_iter=500), teacher_cv=3,
                                    max_epochs=2).fit(X, y_missing)
    assert cv.teacher_.oof_proba_.shape == ((~MISSING).sum(), 3)


def test_noisy_student_without_a_teacher_for_unlabeled_rows_raises():
    X, y = three_classes(N)
    y_missing = _with_missing(y, "None")
    with pytest.raises(ValueError, match="teacher='reg'.*cannot label the 40 unlabeled rows"):
        SEMI_SUPERVISED["student"](teacher="reg").fit(X, y_missing)
    with pytest.raises(ValueError, match="alpha=0 .* 40 unlabeled rows would be ignored"):
        SEMI_SUPERVISED["student"](alpha=0.0).fit(X, y_missing)


# -- -1 is a class unless unlabeled_label says otherwise --------------------------------------


@pytest.mark.parametrize("name", SEMI_SUPERVISED)
def test_minus_one_is_an_ordinary_class_by_default(name):
    X, y = three_classes(N)
    y_pm = np.where(y == 0, -1, 1)
    clf = SEMI_SUPERVISED[name](max_epochs=3).fit(X, y_pm)
    assert clf.classes_.tolist() == [-1, 1]
    assert clf.score(X, y_pm) == pytest.approx(np.mean(clf.predict(X) == y_pm))
    # Only unlabeled_label=-1 makes -1 "no label".
    y_semi = np.where(MISSING, -1, y)
    semi = SEMI_SUPERVISED[name](max_epochs=3, unlabeled_label=-1).fit(X, y_semi)
    assert semi.classes_.tolist() == [0, 1, 2]
    np.testing.assert_allclose(
        semi.predict_proba(X),
        SEMI_SUPERVISED[name](max_epochs=3).fit(X, _with_missing(y, "NaN")).predict_proba(X),
        atol=1e-6)
    with pytest.raises(ValueError, match="at least 2 classes.*1 class: \\[1\\]"):
        SEMI_SUPERVISED[name](unlabeled_label=-1).fit(X, y_pm)


def test_unlabeled_label_checks():
    X, y = three_classes(N)
    with pytest.raises(TypeError, match="unlabeled_label .* not the bool True"):
        SEMI_SUPERVISED["mutual"](unlabeled_label=True).fit(X, y)
    with pytest.raises(ValueError, match="classes=.* contains unlabeled_label=-1"):
        SEMI_SUPERVISED["mutual"](unlabeled_label=-1, classes=[-1, 0, 1, 2]).fit(X, y)
    with pytest.raises(ValueError, match="unlabeled_label"):
        SEMI_SUPERVISED["mutual"](unlabeled_label=[-1]).fit(X, y)


# -- scoring, model selection, pickling --------------------------------------------------------


def test_score_ignores_unlabeled_rows_and_needs_one_label():
    X, y = three_classes(N)
    clf = SEMI_SUPERVISED["mutual"](max_epochs=2).fit(X, y)
    y_missing = _with_missing(y, "NaN")
    weights = np.linspace(0.5, 2.0, N)
    assert clf.score(X, y_missing, sample_weight=weights) == pytest.approx(
        np.average(clf.predict(X[~MISSING]) == y[~MISSING], weights=weights[~MISSING]))
    with pytest.raises(ValueError, match="every label in y is missing"):
        clf.score(X[:3], [None, None, None])


def test_dividemix_grid_search_and_pickle_with_unlabeled_rows():
    X, y = three_classes(N)
    y_missing = _with_missing(y, "None")
    # StratifiedKFold cannot stratify missing labels (scikit-learn rejects the target);
    # a plain KFold works, and score ignores each test fold's unlabeled rows.
    search = GridSearchCV(SEMI_SUPERVISED["dividemix"](max_epochs=4),
                          {"lambda_u": [0.0, 25.0]}, cv=KFold(2, shuffle=True, random_state=0),
                          error_score="raise").fit(X, y_missing)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # A metric scorer compares with the missing labels themselves: it raises, never
    # counts them silently (the user guide says to keep the default scoring).
    with pytest.raises(ValueError):
        GridSearchCV(SEMI_SUPERVISED["dividemix"](max_epochs=3), {"lambda_u": [0.0]},
                     cv=KFold(2), scoring="accuracy", error_score="raise").fit(X, y_missing)
    # With scikit-learn's -1 convention the default stratified folds work too.
    stratified = GridSearchCV(SEMI_SUPERVISED["dividemix"](max_epochs=4, unlabeled_label=-1),
                              {"lambda_u": [0.0, 25.0]}, cv=2, error_score="raise")
    stratified.fit(X, np.where(MISSING, -1, y))
    assert stratified.best_estimator_.classes_.tolist() == [0, 1, 2]
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(restored.predict_proba(X),
                                  search.best_estimator_.predict_proba(X))
    assert restored.score(X, y_missing) == search.best_estimator_.score(X, y_missing)
