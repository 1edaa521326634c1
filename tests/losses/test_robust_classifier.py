"""Robust-loss classification: every sknoisy criterion trained through NoisyNetClassifier."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from sknoisy import NoisyNetClassifier
from sknoisy.losses import (BootstrappingLoss, DisturbLabelLoss, DMILoss, GCELoss,
                            LabelSmoothingLoss, MAELoss, SCELoss)

FAST = dict(max_epochs=5, batch_size=32, lr=1e-2, module__hidden_sizes=(32,), random_state=0)

# (id, criterion parameters, attributes the built criterion must have)
LOSSES = [
    ("gce", dict(criterion=GCELoss, criterion__q=0.7), dict(q=0.7, k=None)),
    ("gce_truncated", dict(criterion=GCELoss, criterion__q=0.7, criterion__k=0.5,
                           warmup_epochs=3), dict(k=0.5)),
    ("mae", dict(criterion=MAELoss), {}),
    ("sce", dict(criterion=SCELoss, criterion__alpha=0.1, criterion__beta=1.0),
     dict(alpha=0.1, beta=1.0)),
    ("bootstrap_soft", dict(criterion=BootstrappingLoss, criterion__beta=0.95),
     dict(mode="soft", beta=0.95)),
    ("bootstrap_hard", dict(criterion=BootstrappingLoss, criterion__mode="hard"),
     dict(mode="hard")),
    ("smoothing_all", dict(criterion=LabelSmoothingLoss, criterion__epsilon=0.1),
     dict(over="all")),
    ("smoothing_others", dict(criterion=LabelSmoothingLoss, criterion__over="others"),
     dict(over="others")),
    ("disturb", dict(criterion=DisturbLabelLoss, criterion__alpha=0.2), dict(alpha=0.2)),
    ("dmi", dict(criterion=DMILoss, warmup_epochs=2), dict(eps=1e-6)),
]

# Parameters under which each criterion is cross entropy (or, for GCE, its q -> 0 limit).
CE_LIMITS = [
    dict(criterion=GCELoss, criterion__q=1e-7),
    dict(criterion=SCELoss, criterion__alpha=1.0, criterion__beta=0.0),
    dict(criterion=BootstrappingLoss, criterion__beta=1.0),
    dict(criterion=LabelSmoothingLoss, criterion__epsilon=0.0),
    dict(criterion=DisturbLabelLoss, criterion__alpha=0.0),
]



@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:400] / 16).astype(np.float32), y[:400]


@pytest.fixture(scope="module")
def ce_proba(digits):
    X, y = digits
    return NoisyNetClassifier(**FAST).fit(X, y).predict_proba(X)


@pytest.mark.parametrize("params, attributes", [case[1:] for case in LOSSES],
                         ids=[case[0] for case in LOSSES])
def test_robust_loss_trains_through_the_core(digits, params, attributes):
    X, y = digits
    clf = NoisyNetClassifier(**{**FAST, **params}).fit(X, y)
    criterion = clf.criterion_
    assert type(criterion) is params["criterion"]
    for name, value in attributes.items():
        assert getattr(criterion, name) == value
    if params["criterion"] is not DMILoss:  # the one batch-level loss has no reduction
        assert criterion.reduction == "none"
    assert clf.score(X, y) > 0.8


@pytest.mark.parametrize("params", CE_LIMITS, ids=lambda p: p["criterion"].__name__)
def test_robust_loss_parameters_reach_the_loss(digits, ce_proba, params):
    # At their cross-entropy settings the criteria train the very same network as CE...
    X, y = digits
    proba = NoisyNetClassifier(**{**FAST, **params}).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(proba, ce_proba, atol=2e-3)


@pytest.mark.parametrize("params", [
    dict(criterion=GCELoss, criterion__q=0.7),
    dict(criterion=SCELoss, criterion__alpha=0.1, criterion__beta=1.0),
    dict(criterion=BootstrappingLoss, criterion__beta=0.8),
    dict(criterion=LabelSmoothingLoss, criterion__epsilon=0.3),
    dict(criterion=DisturbLabelLoss, criterion__alpha=0.5),
], ids=lambda p: p["criterion"].__name__)
def test_robust_loss_away_from_ce_trains_differently(digits, ce_proba, params):
    # ... and away from them, a different one.
    X, y = digits
    proba = NoisyNetClassifier(**{**FAST, **params}).fit(X, y).predict_proba(X)
    assert np.abs(proba - ce_proba).max() > 0.05


def test_robust_loss_grid_search_over_criterion_parameters(digits):
    X, y = digits
    search = GridSearchCV(NoisyNetClassifier(criterion=GCELoss, **FAST),
                          {"criterion__q": [0.3, 0.9], "criterion__k": [None, 0.2]},
                          cv=2, error_score="raise").fit(X, y)
    best = search.best_estimator_
    assert best.criterion_.q == search.best_params_["criterion__q"]
    assert best.criterion_.k == search.best_params_["criterion__k"]


def test_robust_loss_grid_search_over_criteria(digits):
    X, y = digits
    grid = [{"criterion": [GCELoss], "criterion__q": [0.5]},
            {"criterion": [SCELoss, LabelSmoothingLoss]}]
    search = GridSearchCV(NoisyNetClassifier(**FAST), grid, cv=2, error_score="raise").fit(X, y)
    assert type(search.best_estimator_.criterion_) is search.best_params_["criterion"]


def test_robust_loss_truncated_gce_needs_warmup(digits):
    # With k = 0.5 and 10 classes every sample starts truncated (p_y ~ 0.1 <= k), so the
    # loss is flat at a random start; a cross-entropy warm-up lifts p_y above k first.
    X, y = digits
    params = dict(criterion=GCELoss, criterion__k=0.5, **FAST)
    cold = NoisyNetClassifier(**params).fit(X, y)
    warm = NoisyNetClassifier(warmup_epochs=3, **params).fit(X, y)
    assert cold.score(X, y) < 0.3
    assert warm.score(X, y) > 0.8


def test_robust_loss_dmi_learns_only_after_warmup(digits):
    X, y = digits
    cold = NoisyNetClassifier(criterion=DMILoss, **FAST).fit(X, y)
    warm = NoisyNetClassifier(criterion=DMILoss, warmup_epochs=2, **FAST).fit(X, y)
    assert warm.score(X, y) > cold.score(X, y) + 0.3


def test_robust_loss_dmi_refuses_sample_weight(digits):
    X, y = digits
    clf = NoisyNetClassifier(criterion=DMILoss, warmup_epochs=1, **FAST)
    with pytest.raises(ValueError, match="sample_weight"):
        clf.fit(X, y, sample_weight=np.ones(len(y)))


def test_robust_loss_sample_weight_applies_per_sample(digits):
    X, y = digits
    weights = np.where(y == 3, 1e-3, 1.0)
    plain = NoisyNetClassifier(criterion=GCELoss, **FAST).fit(X, y)
    weighted = NoisyNetClassifier(criterion=GCELoss, **FAST).fit(X, y, sample_weight=weights)
    assert np.mean(weighted.predict(X[y == 3]) == 3) < np.mean(plain.predict(X[y == 3]) == 3) - 0.3


def test_robust_loss_disturb_label_is_reproducible(digits):
    X, y = digits
    params = dict(criterion=DisturbLabelLoss, criterion__alpha=0.3, **FAST)
    first = NoisyNetClassifier(**params).fit(X, y).predict_proba(X)
    again = NoisyNetClassifier(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, again)


def test_robust_loss_disturb_label_wraps_a_robust_base(digits):
    X, y = digits
    base = GCELoss(q=0.7, reduction="none")
    clf = NoisyNetClassifier(criterion=DisturbLabelLoss, criterion__base=base,
                             criterion__alpha=0.1, **FAST).fit(X, y)
    assert isinstance(clf.criterion_.base, GCELoss)
    assert clf.score(X, y) > 0.8


def test_robust_loss_instance_is_copied_not_modified(digits):
    X, y = digits
    criterion = GCELoss(q=0.4)
    clf = NoisyNetClassifier(criterion=criterion, **FAST).fit(X, y)
    assert criterion.reduction == "mean"
    assert clf.criterion_ is not criterion
    assert (clf.criterion_.q, clf.criterion_.reduction) == (0.4, "none")


def test_robust_loss_clone_and_pickle(digits):
    X, y = digits
    clf = NoisyNetClassifier(criterion=SCELoss, criterion__alpha=0.5, **FAST)
    assert clone(clf).get_params()["criterion__alpha"] == 0.5
    clf.fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.criterion_.alpha == 0.5


def test_robust_loss_invalid_criterion_parameter_fails_at_fit(digits):
    X, y = digits
    clf = NoisyNetClassifier(criterion=GCELoss, criterion__q=1.5, **FAST)
    with pytest.raises(ValueError, match="'q' parameter of GCELoss"):
        clf.fit(X, y)
