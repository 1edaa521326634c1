"""D2LClassifier: the LID estimate, the turning point, the paced target, the estimator."""

import functools
import math
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sknoisy import NoisyNetClassifier
from sknoisy.classifiers import D2LClassifier
from sknoisy.classifiers._d2l import d2l_alpha, lid_mle, turning_point
from sknoisy.losses import BootstrappingLoss
from sknoisy.modules import MLP

from ._shared import noisy_digits, three_classes

FAST = dict(max_epochs=6, batch_size=32, lr=1e-2, random_state=0, warmup_epochs=1,
            window=2, n_neighbors=5, lid_sample_size=60, lid_batch_size=30,
            module=functools.partial(MLP, hidden_sizes=(16,)))


# -- the formulas ------------------------------------------------------------------------
def test_lid_mle_matches_the_formula_by_hand():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(7, 3))
    k = 4
    expected = []
    for i, x in enumerate(points):
        distances = np.sort([np.linalg.norm(x - other)
                             for j, other in enumerate(points) if j != i])[:k]
        expected.append(-k / np.sum(np.log(distances / distances[-1])))
    np.testing.assert_allclose(lid_mle(torch.tensor(points), k).numpy(), expected, rtol=1e-9)
    # k larger than the batch: every other point is a neighbour.
    got = lid_mle(torch.tensor(points[:3]), 20).numpy()
    d = np.linalg.norm(points[0] - points[1:3], axis=1)
    d = np.sort(d)
    assert got[0] == pytest.approx(-2 / np.sum(np.log(d / d[-1])))


def test_lid_mle_recovers_the_dimension_of_the_data():
    generator = torch.Generator().manual_seed(0)
    flat = torch.rand(1000, 2, generator=generator)
    assert float(lid_mle(flat, 20).mean()) == pytest.approx(2.0, abs=0.3)
    # A 3-dimensional cloud embedded in 40 dimensions has about 3, not 40.
    embedded = torch.randn(500, 3, generator=generator) @ torch.randn(3, 40, generator=generator)
    assert float(lid_mle(embedded, 20).mean()) == pytest.approx(3.0, abs=0.6)
    # Coinciding neighbours leave no estimate instead of a silent 0 or inf.
    assert torch.isnan(lid_mle(torch.zeros(5, 2), 3)).all()


def test_turning_point_and_alpha_follow_the_reference_rule():
    lids = np.array([9.0, 6.0, 5.0, 4.8, 5.1, 4.9, 5.0])
    # warmup 2 + window 3 = 5: looked for from the 6th value on.
    assert not turning_point(lids[:5], warmup_epochs=2, window=3)
    window = lids[3:6]
    assert not turning_point(lids[:6], warmup_epochs=2, window=3)
    assert turning_point(np.append(lids[:6], 6.0), 2, 3) == (
        6.0 - window.mean() > 2 * window.std())
    assert turning_point(np.append(lids[:6], 6.0), 2, 3)
    assert not turning_point(np.append(lids[:6], 5.05), 2, 3)
    # alpha_i = exp(-(i / T) * LID_i / min_{j < i} LID_j), i = epochs completed.
    rising = np.append(lids[:6], 6.0)
    assert d2l_alpha(rising, max_epochs=20) == pytest.approx(math.exp(-(6 / 20) * 6.0 / 4.8))
    assert d2l_alpha(np.array([5.0, 4.0, 4.0]), 10) == pytest.approx(math.exp(-0.2))


# -- the representation --------------------------------------------------------------------
def test_the_representation_is_the_classifier_input_and_leaves_no_hook():
    X, y = three_classes()
    clf = D2LClassifier(**FAST).fit(X, y)
    Xt = torch.as_tensor(clf._standardized(X))
    features = clf.representations(Xt)
    torch.testing.assert_close(features, clf.module_.layers[:-1](Xt))
    # A named layer: its output (here the hidden layer before the ReLU).
    clf.set_params(representation="layers.0")
    torch.testing.assert_close(clf.representations(Xt), clf.module_.layers[0](Xt))
    for module in clf.module_.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks
    with pytest.raises(ValueError, match="layers.0"):
        D2LClassifier(**{**FAST, "max_epochs": 1}, representation="head").fit(X, y)


class ScriptedLID(D2LClassifier):
    """D2L whose LID per epoch is given, to test the schedule it drives."""

    def __init__(self, module=None, *, script=(), **kwargs):
        super().__init__(module, **kwargs)
        self.script = script

    def _estimate_lid(self, dataset):
        return float(self.script[self.current_epoch() - 1])


class SpyLoss(BootstrappingLoss):
    """BootstrappingLoss that remembers the label weights it was given."""

    calls: list = []

    def forward(self, logits, target, beta=None, prediction=None):
        SpyLoss.calls.append(float(beta[0]))
        return super().forward(logits, target, beta=beta, prediction=prediction)


def test_the_scripted_turning_point_switches_to_the_paced_target():
    X, y = three_classes()
    script = [8.0, 5.0, 4.0, 4.1, 3.9, 4.0, 6.0, 6.5, 7.0, 7.5]
    SpyLoss.calls = []
    clf = ScriptedLID(**{**FAST, "max_epochs": 10, "warmup_epochs": 2, "window": 3,
                         "batch_size": 80}, script=script, criterion=SpyLoss).fit(X, y)
    # 6.0 at epoch 7 is the first value more than 2 std above the 3 before it.
    assert clf.turning_epoch_ == 7
    np.testing.assert_array_equal(clf.lid_, script)
    alphas = np.array(clf.history[:, "d2l_alpha"])
    assert np.all(alphas[:6] == 1.0)
    expected = [math.exp(-((e - 1) / 10) * script[e - 1] / min(script[:e - 1]))
                for e in range(7, 11)]
    np.testing.assert_allclose(alphas[6:], expected)
    # The criterion ran only from epoch 7 on, two batches per epoch, with beta = alpha.
    np.testing.assert_allclose(SpyLoss.calls, np.repeat(expected, 2), rtol=1e-6)


def test_no_turning_point_is_plain_cross_entropy():
    X, y = three_classes()
    flat = ScriptedLID(**FAST, script=[5.0] * 6).fit(X, y)
    ce = NoisyNetClassifier(**{k: v for k, v in FAST.items() if k in
                               ("max_epochs", "batch_size", "lr", "random_state", "module")},
                            ).fit(X, y)
    assert flat.turning_epoch_ is None
    np.testing.assert_allclose(flat.predict_proba(X), ce.predict_proba(X), rtol=1e-5)


# -- the estimator ---------------------------------------------------------------------------
def test_d2l_records_lid_per_epoch_and_is_reproducible():
    X, y = three_classes()
    clf = D2LClassifier(**FAST).fit(X, y)
    assert clf.lid_.shape == (6,) and np.all(clf.lid_ > 0)
    np.testing.assert_array_equal(clf.lid_, clf.history[:, "lid"])
    again = clone(clf).fit(X, y)
    np.testing.assert_array_equal(again.lid_, clf.lid_)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    # A warm start continues the history (and its LIDs).
    clf.set_params(warm_start=True, max_epochs=2).fit(X, y)
    assert clf.lid_.shape == (8,)


def test_d2l_string_labels_pickle_and_grid_search():
    X, y = three_classes()
    labels = np.array(["low", "mid", "high"])[y]
    clf = D2LClassifier(**FAST).fit(X, labels)
    assert set(clf.predict(X)) <= {"low", "mid", "high"}
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
    search = GridSearchCV(D2LClassifier(**{**FAST, "max_epochs": 4}),
                          {"window": [2, 3], "mode": ["hard", "soft"]}, cv=2).fit(X, labels)
    assert len(search.cv_results_["params"]) == 4


def test_d2l_rejects_bad_parameters_and_criteria():
    X, y = three_classes()
    with pytest.raises(ValueError, match="window"):
        D2LClassifier(window=1, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="n_neighbors"):
        D2LClassifier(n_neighbors=1, max_epochs=1).fit(X, y)
    with pytest.raises(TypeError, match="per-sample label weight beta"):
        D2LClassifier(criterion=torch.nn.CrossEntropyLoss, max_epochs=1).fit(X, y)


def test_d2l_turns_on_noisy_digits_and_does_not_fall_below_cross_entropy():
    X_train, X_test, y_noisy, y_test, params = noisy_digits(seed=0, rate=0.4)
    params = {**params, "max_epochs": 30}
    ce = NoisyNetClassifier(**params).fit(X_train, y_noisy)
    d2l = D2LClassifier(**params).fit(X_train, y_noisy)
    assert d2l.turning_epoch_ is not None
    assert d2l.score(X_test, y_test) >= ce.score(X_test, y_test)
