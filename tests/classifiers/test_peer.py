"""Tests for PeerLossClassifier."""

import functools
import math
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from sknoisy import NoisyNetClassifier
from sknoisy._core._state import FitState
from sknoisy.classifiers import PeerLossClassifier
from sknoisy.losses import GCELoss, PeerLoss

FAST = dict(max_epochs=3, batch_size=32, lr=1e-2, module__hidden_sizes=(16,), random_state=0)



@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=160, n_features=8, n_informative=5, n_classes=3,
                               random_state=0)
    return X.astype(np.float32), y


class RecordingPeerLoss(PeerLoss):
    """PeerLoss that remembers the alpha of every call (shared log, reset per test)."""

    calls: list = []

    def forward(self, logits, target, generator=None):
        RecordingPeerLoss.calls.append(float(self.alpha))
        return super().forward(logits, target, generator=generator)


def _schedule(epoch, scale):
    return scale * epoch


# -- the loss ---------------------------------------------------------------------------------
def test_peer_get_loss_equals_hand_computation(data):
    X, y = data
    clf = PeerLossClassifier(alpha=0.7, warmup_epochs=0, alpha_ramp_epochs=0,
                             **{**FAST, "max_epochs": 1}).fit(X, y)
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [-3.0, 1.0, 2.0],
                           [0.0, 4.0, 0.0], [1.0, -2.0, 0.5]])
    target = torch.tensor([0, 2, 1, 1, 0])
    weights = np.array([0.5, 1.0, 2.0, 1.5, 3.0, 0.25, 1.0])
    indices = torch.tensor([6, 0, 4, 2, 3])

    state = FitState(X, y, weights, torch.as_tensor(weights, dtype=torch.float32), seed=0)
    state.generator = torch.Generator().manual_seed(11)
    with clf._training_context(state):
        loss = float(clf.get_loss(logits, target, training=True, indices=indices))

    # Same generator, same draw order: the output permutation j first, then the labels' k.
    g = torch.Generator().manual_seed(11)
    j = torch.randperm(5, generator=g).tolist()
    k = torch.randperm(5, generator=g).tolist()
    z = logits.double().numpy()
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    t = target.tolist()
    per_sample = [-math.log(p[i, t[i]]) - 0.7 * -math.log(max(p[j[i], t[k[i]]], 1e-7))
                  for i in range(5)]
    expected = np.mean([weights[indices[i]] * per_sample[i] for i in range(5)])
    assert loss == pytest.approx(expected, rel=1e-5)
    ce_only = np.mean([weights[indices[i]] * -math.log(p[i, t[i]]) for i in range(5)])
    assert abs(expected - ce_only) > 0.1  # the peer term really is in the loss


def test_peer_get_loss_outside_training_is_cross_entropy(data):
    X, y = data
    clf = PeerLossClassifier(alpha=2.0, warmup_epochs=0, **FAST).fit(X, y)
    logits = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    target = torch.tensor([1, 2])
    expected = torch.nn.functional.cross_entropy(logits, target)
    assert torch.allclose(clf.get_loss(logits, target, training=False), expected)


def test_peer_alpha_zero_trains_exactly_like_the_core(data):
    X, y = data
    peer = PeerLossClassifier(alpha=0.0, warmup_epochs=0, **FAST).fit(X, y)
    core = NoisyNetClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(peer.predict(X), core.predict(X))
    np.testing.assert_allclose(peer.predict_proba(X), core.predict_proba(X), atol=1e-6)
    assert peer.history[:, "alpha"] == [0.0, 0.0, 0.0]


def test_peer_positive_alpha_changes_training(data):
    X, y = data
    peer = PeerLossClassifier(alpha=1.0, warmup_epochs=1, **FAST).fit(X, y)
    core = NoisyNetClassifier(**FAST).fit(X, y)
    assert not np.allclose(peer.predict_proba(X), core.predict_proba(X), atol=1e-3)


def test_peer_warmup_epochs_use_alpha_zero_and_default_is_documented(data):
    X, y = data
    clf = PeerLossClassifier(**{**FAST, "max_epochs": 12}).fit(X, y)
    assert clf.get_params()["warmup_epochs"] == 5
    assert clf.get_params()["alpha"] == 1.0
    assert clf.get_params()["alpha_ramp_epochs"] == 5
    # Five epochs of cross entropy, then alpha ramps up linearly over five epochs.
    np.testing.assert_allclose(clf.history[:, "alpha"],
                               [0.0] * 5 + [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0])
    assert clf.alpha_ == 1.0


def test_peer_ramp_reaches_the_loss_and_zero_switches_it_off(data):
    X, y = data
    RecordingPeerLoss.calls = []
    clf = PeerLossClassifier(alpha=0.6, warmup_epochs=1, alpha_ramp_epochs=3,
                             criterion=RecordingPeerLoss,
                             **{**FAST, "max_epochs": 5, "batch_size": len(X)}).fit(X, y)
    np.testing.assert_allclose(RecordingPeerLoss.calls, [0.2, 0.4, 0.6, 0.6])
    np.testing.assert_allclose(clf.history[:, "alpha"], [0.0, 0.2, 0.4, 0.6, 0.6])
    instant = PeerLossClassifier(alpha=0.6, warmup_epochs=1, alpha_ramp_epochs=0)
    assert [instant.alpha_at(t) for t in (1, 2, 3)] == [0.0, 0.6, 0.6]
    with pytest.raises(ValueError, match="alpha_ramp_epochs"):
        PeerLossClassifier(alpha_ramp_epochs=-1, **FAST).fit(X, y)


# -- schedules --------------------------------------------------------------------------------
def test_peer_callable_schedule_reaches_the_loss(data):
    X, y = data
    RecordingPeerLoss.calls = []
    seen = []
    clf = PeerLossClassifier(alpha=lambda t: seen.append(t) or 0.25 * t, warmup_epochs=2,
                             criterion=RecordingPeerLoss, **{**FAST, "max_epochs": 4}).fit(X, y)
    assert seen == [3, 4]  # called once per epoch after the warm-up, with 1-based epochs
    assert clf.history[:, "alpha"] == [0.0, 0.0, 0.75, 1.0]
    n_batches = math.ceil(len(X) / FAST["batch_size"])
    # Warm-up epochs use plain cross entropy; then every batch gets that epoch's alpha.
    assert RecordingPeerLoss.calls == [0.75] * n_batches + [1.0] * n_batches


@pytest.mark.parametrize("schedule", [[0.9, 0.2, 0.4], np.array([0.9, 0.2, 0.4]),
                                      (0.9, 0.2, 0.4)])
def test_peer_sequence_schedule_is_indexed_by_epoch_and_holds_last(data, schedule):
    X, y = data
    RecordingPeerLoss.calls = []
    clf = PeerLossClassifier(alpha=schedule, warmup_epochs=1, criterion=RecordingPeerLoss,
                             **{**FAST, "max_epochs": 5}).fit(X, y)
    assert clf.history[:, "alpha"] == [0.0, 0.2, 0.4, 0.4, 0.4]
    assert sorted(set(RecordingPeerLoss.calls)) == [0.2, 0.4]


def test_peer_schedule_continues_over_warm_start(data):
    X, y = data
    clf = PeerLossClassifier(alpha=[0.1, 0.2, 0.3, 0.4], warmup_epochs=0, warm_start=True,
                             **{**FAST, "max_epochs": 2})
    clf.fit(X, y).fit(X, y)
    assert clf.history[:, "alpha"] == [0.1, 0.2, 0.3, 0.4]


@pytest.mark.parametrize("alpha", [np.float32(0.5), np.array(0.5), 1 / 2])
def test_peer_numpy_scalars_are_accepted(data, alpha):
    X, y = data
    clf = PeerLossClassifier(alpha=alpha, warmup_epochs=1, alpha_ramp_epochs=0,
                             **{**FAST, "max_epochs": 2}).fit(X, y)
    assert clf.history[:, "alpha"] == [0.0, 0.5]


def test_peer_alpha_at_without_fitting():
    clf = PeerLossClassifier(alpha=[0.5, 0.6], warmup_epochs=1)
    assert [clf.alpha_at(t) for t in (1, 2, 3, 10)] == [0.0, 0.6, 0.6, 0.6]


# -- estimator behaviour ----------------------------------------------------------------------
def test_peer_sample_weight_applies_to_the_loss(data):
    X, y = data
    params = dict(alpha=0.5, warmup_epochs=1, **{**FAST, "max_epochs": 6})
    plain = PeerLossClassifier(**params).fit(X, y)
    weights = np.where(y == 2, 1e-3, 1.0)
    weighted = PeerLossClassifier(**params).fit(X, y, sample_weight=weights)
    assert np.mean(weighted.predict(X) == 2) < np.mean(plain.predict(X) == 2) - 0.1


def test_peer_clone_and_pickle_round_trip(data):
    X, y = data
    clf = PeerLossClassifier(alpha=functools.partial(_schedule, scale=0.1), warmup_epochs=1,
                             criterion__eps=1e-5, **FAST)
    cloned = clone(clf)
    assert cloned.get_params()["criterion__eps"] == 1e-5
    assert cloned.alpha.keywords == {"scale": 0.1}
    clf.fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.history[:, "alpha"] == clf.history[:, "alpha"]
    assert clf.criterion_.eps == 1e-5


def test_peer_grid_search_over_alpha(data):
    X, y = data
    search = GridSearchCV(PeerLossClassifier(warmup_epochs=1, alpha_ramp_epochs=1, **FAST),
                          {"alpha": [0.0, 0.5]}, cv=2, error_score="raise").fit(X, y)
    best = search.best_estimator_
    assert best.history[-1, "alpha"] == search.best_params_["alpha"]


def test_peer_string_labels(data):
    X, y = data
    labels = np.array(["cat", "dog", "emu"])[y]
    clf = PeerLossClassifier(warmup_epochs=1, **FAST).fit(X, labels)
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    assert clf.score(X, labels) > 0.5


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha, error, match", [
    (-0.1, ValueError, r"alpha must be a real number >= 0; got -0.1 is negative"),
    (float("nan"), ValueError, r"alpha .*NaN"),
    (float("inf"), ValueError, r"alpha .*infinite"),
    ("high", TypeError, r"alpha .*'high' of type str"),
    (None, TypeError, r"alpha .*None"),
    (True, TypeError, r"alpha .*True"),
    ({0.1, 0.2}, TypeError, r"alpha .*set"),
    ([], ValueError, r"alpha is an empty sequence"),
    ([0.1, -1.0], ValueError, r"alpha\[1\] \(the weight of epoch 2\).*-1.0 is negative"),
    ([0.1, "x"], ValueError, r"alpha\[1\].*'x' of type str"),
    (np.array([0.2, np.nan]), ValueError, r"alpha\[1\].*NaN"),
    (np.array(np.nan), ValueError, r"alpha .*NaN"),
])
def test_peer_invalid_alpha_raises_before_training(data, alpha, error, match):
    X, y = data
    clf = PeerLossClassifier(alpha=alpha, **FAST)
    with pytest.raises(error, match=match):
        clf.fit(X, y)
    assert not clf.initialized_


@pytest.mark.parametrize("bad, match", [(-1.0, "-1.0 is negative"), (float("nan"), "NaN"),
                                        ("x", "'x' of type str")])
def test_peer_callable_returning_invalid_alpha_names_the_epoch(data, bad, match):
    X, y = data
    clf = PeerLossClassifier(alpha=lambda t: 0.5 if t < 3 else bad, warmup_epochs=0,
                             **{**FAST, "max_epochs": 4})
    with pytest.raises(ValueError, match=rf"invalid weight for epoch 3: {match}"):
        clf.fit(X, y)


def test_peer_rejects_other_criteria_and_criterion_alpha(data):
    X, y = data
    with pytest.raises(TypeError, match="criterion must be sknoisy.losses.PeerLoss"):
        PeerLossClassifier(criterion=GCELoss, **FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"alpha=\.\.\., not criterion__alpha=0.3"):
        PeerLossClassifier(criterion__alpha=0.3, **FAST).fit(X, y)
