"""Tests for CoTeachingClassifier (Co-teaching and Co-teaching+)."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import GridSearchCV

from sknoisy._core._data import IndexedBatch
from sknoisy._core._state import FitState
from sknoisy.classifiers import CoTeachingClassifier
from sknoisy.classifiers import _coteaching
from sknoisy.classifiers._schedules import forget_rate_schedule
from sknoisy.modules import MLP, ConvNet

FAST = dict(max_epochs=2, batch_size=32, module__hidden_sizes=(16,), random_state=0)



@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=160, n_features=8, n_informative=5,
                               n_classes=3, random_state=0)
    return X.astype(np.float32), y


class Table(torch.nn.Module):
    """Bias-free linear map: with one-hot inputs, column j of the weight holds sample j's logits."""

    def __init__(self, n_features, n_classes):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, n_classes, bias=False)

    def forward(self, X):
        return self.linear(X)


def _hand_net(a1, a2, **params):
    """A fitted net whose two networks give sample j (label 0) the logits [0, a1[j]] / [0, a2[j]].

    The cross-entropy of sample j under net k is softplus(a_k[j]), increasing in a_k[j].
    After two epochs with num_gradual=1 (T = 1 epoch trained before the current one)
    the forget rate is the full ``forget_rate``.
    """
    n = len(a1)
    X = np.eye(n, dtype=np.float32)
    y = np.arange(n) % 2
    net = CoTeachingClassifier(Table, forget_rate=0.5, num_gradual=1, max_epochs=2,
                               batch_size=n, random_state=0, **params).fit(X, y)
    with torch.no_grad():
        for module, a in ((net.module_, a1), (net.module2_, a2)):
            module.linear.weight.zero_()
            module.linear.weight[1] = torch.as_tensor(a, dtype=torch.float32)
    for p in list(net.module_.parameters()) + list(net.module2_.parameters()):
        p.grad = None
    batch = IndexedBatch(torch.as_tensor(X), torch.zeros(n, dtype=torch.long), torch.arange(n))
    return net, batch


def _grad_columns(module):
    return set(np.flatnonzero(module.linear.weight.grad.abs().sum(dim=0).numpy() > 0))


# -- the schedule --------------------------------------------------------------------------------
def test_forget_rate_schedule_linear_ramp_then_flat():
    # R(T) = 1 - tau * min(T / T_k, 1) with T the epochs already trained: epoch 1 drops
    # nothing (T = 0) and epoch T_k + 1 = 11 is the first to drop tau.
    rates = [forget_rate_schedule(t, 0.4, num_gradual=10) for t in range(0, 15)]
    expected = [0.0, 0.0] + [0.04 * t for t in range(1, 11)] + [0.4] * 3
    np.testing.assert_allclose(rates, expected, rtol=1e-12)


def test_forget_rate_schedule_exponent_shapes_ramp():
    # tau * min(T^2 / 10, 1) at T = epoch - 1: 0.1, 0.4, 0.9, then capped at 1.
    rates = [forget_rate_schedule(t, 0.5, num_gradual=10, exponent=2) for t in (2, 3, 4, 5, 10)]
    np.testing.assert_allclose(rates, [0.05, 0.2, 0.45, 0.5, 0.5], rtol=1e-12)


def test_n_keep_rounds_up_and_keeps_at_least_one():
    assert _coteaching._n_keep(0.3, 10) == 7      # float 0.7 * 10 must not become 8
    assert _coteaching._n_keep(0.25, 10) == 8     # ceil(7.5)
    assert _coteaching._n_keep(0.0, 3) == 3
    assert _coteaching._n_keep(0.99, 5) == 1
    assert _coteaching._n_keep(0.9, 1) == 1


# -- the selection rule on a hand-built batch --------------------------------------------------
def test_coteaching_each_net_learns_from_peer_selection():
    a1 = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]     # net 1 finds samples 0, 1, 2 clean
    a2 = [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]     # net 2 finds samples 3, 4, 5 clean
    net, batch = _hand_net(a1, a2)
    step = net.train_step_single(batch)
    assert _grad_columns(net.module_) == {3, 4, 5}
    assert _grad_columns(net.module2_) == {0, 1, 2}
    # d softplus(a)/da = sigmoid(a); the loss is a mean over 3 kept samples, divided once.
    sig = torch.sigmoid(torch.tensor(a1))
    np.testing.assert_allclose(net.module_.linear.weight.grad[1, 3:].numpy(),
                               (sig[3:] / 3).numpy(), rtol=1e-5)
    softplus = torch.nn.functional.softplus
    expected = (softplus(torch.tensor(a1[3:])).mean() + softplus(torch.tensor(a2[:3])).mean()) / 2
    assert step["loss"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_coteaching_sample_weight_follows_kept_rows():
    a1 = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    net, batch = _hand_net(a1, a1[::-1])
    with net._training_context(FitState(None, None, None, torch.arange(1.0, 7.0), seed=0)):
        net.train_step_single(batch)
    sig = torch.sigmoid(torch.tensor(a1[3:]))
    np.testing.assert_allclose(net.module_.linear.weight.grad[1, 3:].numpy(),
                               (torch.tensor([4.0, 5.0, 6.0]) * sig / 3).numpy(), rtol=1e-5)


def test_coteaching_plus_selects_among_disagreements():
    # Predicted classes: net 1 [0,0,1,1,0,1], net 2 [0,1,1,0,1,0] -> disagree on 1, 3, 4, 5.
    a1 = [-1.0, -2.0, 1.0, 2.0, -3.0, 3.0]
    a2 = [-1.0, 2.0, 1.0, -2.0, 3.0, -3.0]
    net, batch = _hand_net(a1, a2, variant="plus", init_epoch=0)
    net.train_step_single(batch)
    # Half of the 4 disagreements: net 1 keeps {4, 1}, net 2 keeps {5, 3}.
    assert _grad_columns(net.module_) == {3, 5}
    assert _grad_columns(net.module2_) == {1, 4}


def test_coteaching_plus_waits_for_init_epoch():
    a1 = [-1.0, -2.0, 1.0, 2.0, -3.0, 3.0]
    a2 = [-1.0, 2.0, 1.0, -2.0, 3.0, -3.0]
    net, batch = _hand_net(a1, a2, variant="plus", init_epoch=2)
    net.train_step_single(batch)   # epoch 2 <= init_epoch: standard rule over all 6
    assert _grad_columns(net.module_) == {0, 3, 5}   # net 2's three smallest
    assert _grad_columns(net.module2_) == {0, 1, 4}  # net 1's three smallest


def test_coteaching_plus_falls_back_to_all_when_nets_agree():
    a1 = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]     # both predict class 1 everywhere
    a2 = [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]
    net, batch = _hand_net(a1, a2, variant="plus", init_epoch=0)
    net.train_step_single(batch)
    assert _grad_columns(net.module_) == {3, 4, 5}
    assert _grad_columns(net.module2_) == {0, 1, 2}


def test_coteaching_scalar_criterion_is_rejected(data):
    X, y = data
    net = CoTeachingClassifier(criterion__reduction="mean", **FAST)
    with pytest.raises(ValueError, match="reduction='none'"):
        net.fit(X, y)


# -- estimator behaviour ------------------------------------------------------------------------
def test_coteaching_two_networks_start_different(data):
    X, y = data
    net = CoTeachingClassifier(**{**FAST, "max_epochs": 0}).fit(X, y)
    assert net.module_ is not net.module2_
    first = torch.cat([p.flatten() for p in net.module_.parameters()])
    second = torch.cat([p.flatten() for p in net.module2_.parameters()])
    assert first.shape == second.shape and not torch.equal(first, second)
    assert {"module", "module2"} <= set(net._modules)
    # Both networks' parameters are in the optimizer.
    optimized = {id(p) for group in net.optimizer_.param_groups for p in group["params"]}
    assert {id(p) for p in net.module2_.parameters()} <= optimized


def test_coteaching_module_instance_gets_fresh_peer(data):
    X, y = data
    instance = MLP(n_features=8, n_classes=3, hidden_sizes=(16,))
    net = CoTeachingClassifier(instance, max_epochs=1, random_state=0).fit(X, y)
    assert isinstance(net.module2_, MLP) and net.module2_ is not net.module_
    assert not all(torch.equal(a, b) for a, b in
                   zip(net.module_.parameters(), net.module2_.parameters()))


def test_coteaching_history_records_selection(data):
    X, y = data
    y_noisy = y.copy()
    y_noisy[::4] = (y_noisy[::4] + 1) % 3
    net = CoTeachingClassifier(forget_rate=0.4, num_gradual=2, **{**FAST, "max_epochs": 4})
    net.fit(X, y_noisy)
    np.testing.assert_allclose(net.history[:, "forget_rate"], [0.0, 0.2, 0.4, 0.4])
    kept = np.array(net.history[:, "kept_loss"])
    dropped = np.array(net.history[:, "dropped_loss"])
    # Epoch 1 drops nothing, so its dropped loss is undefined.
    assert np.isnan(dropped[0])
    assert np.all(np.isfinite(kept)) and np.all(kept[1:] < dropped[1:])
    # Disagreement is the share of rows whose two predicted classes differ: recompute it
    # for the last epoch's final networks and compare (the record is per step, so loosely).
    seen = torch.as_tensor((X - net.input_mean_) / net.input_scale_)  # the standardised X
    first = net.module_(seen).argmax(dim=1)
    second = net.module2_(seen).argmax(dim=1)
    final = float((first != second).float().mean())
    assert abs(net.history[-1, "disagreement"] - final) < 0.15
    assert net.forget_rate_ == 0.4 and net.forget_rate_estimated_ is False


def test_coteaching_nothing_dropped_gives_nan_dropped_loss(data):
    X, y = data
    net = CoTeachingClassifier(forget_rate=0.0, **FAST).fit(X, y)
    assert np.isnan(net.history[-1, "dropped_loss"]) and np.isfinite(net.history[-1, "kept_loss"])


def test_coteaching_string_labels(data):
    X, y = data
    labels = np.array(["cat", "dog", "emu"])[y]
    net = CoTeachingClassifier(**FAST).fit(X, labels)
    assert list(net.classes_) == ["cat", "dog", "emu"]
    assert set(net.predict(X)) <= {"cat", "dog", "emu"}


def test_coteaching_images_use_two_convnets():
    digits = load_digits()
    X, y = digits.images[:120].astype(np.float32) / 16, digits.target[:120]
    net = CoTeachingClassifier(max_epochs=2, batch_size=32, module__channels=(4, 8),
                               predict_with="mean", random_state=0).fit(X, y)
    assert isinstance(net.module_, ConvNet) and isinstance(net.module2_, ConvNet)
    assert net.module2_.features[0].out_channels == 4
    proba = net.predict_proba(X[:5])
    assert proba.shape == (5, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_coteaching_both_nets_in_eval_mode_at_predict(data):
    X, y = data
    for predict_with in ("first", "mean"):
        net = CoTeachingClassifier(module__dropout=0.5, predict_with=predict_with,
                                   **FAST).fit(X, y)
        p1 = net.predict_proba(X)
        np.testing.assert_array_equal(p1, net.predict_proba(X))
        assert not net.module_.training and not net.module2_.training


def test_coteaching_predict_with_mean_averages_probabilities(data):
    X, y = data
    net = CoTeachingClassifier(predict_with="mean", **FAST).fit(X, y)
    with torch.no_grad():
        # What the networks see: X standardised with the statistics of fit.
        Xt = torch.as_tensor((X - net.input_mean_) / net.input_scale_)
        expected = (torch.softmax(net.module_(Xt), 1) + torch.softmax(net.module2_(Xt), 1)) / 2
    np.testing.assert_allclose(net.predict_proba(X), expected.numpy(), rtol=1e-5, atol=1e-7)
    first = clone(net).set_params(predict_with="first").fit(X, y)
    with torch.no_grad():
        Xt = torch.as_tensor((X - first.input_mean_) / first.input_scale_)
        only_first = torch.softmax(first.module_(Xt), 1).numpy()
    np.testing.assert_allclose(first.predict_proba(X), only_first, rtol=1e-5, atol=1e-7)


def test_coteaching_device_holds_both_nets(data):
    X, y = data
    net = CoTeachingClassifier(device="cpu", **FAST).fit(X, y)
    devices = {p.device for m in (net.module_, net.module2_) for p in m.parameters()}
    assert devices == {torch.device("cpu")}


def test_coteaching_warm_start_continues_schedule(data):
    X, y = data
    net = CoTeachingClassifier(forget_rate=0.4, num_gradual=4, **FAST).fit(X, y)
    weights = [p.detach().clone() for p in net.module2_.parameters()]
    net.set_params(warm_start=True, max_epochs=0).fit(X, y)
    assert all(torch.equal(a, b) for a, b in zip(weights, net.module2_.parameters()))
    net.set_params(max_epochs=2).fit(X, y)
    assert len(net.history) == 4
    np.testing.assert_allclose(net.history[:, "forget_rate"], [0.0, 0.1, 0.2, 0.3])


def test_coteaching_warmup_trains_on_every_sample_with_cross_entropy(data, monkeypatch):
    X, y = data
    seen = []
    real = _coteaching._smallest

    def spy(losses, candidates, k):
        seen.append((len(candidates), k))
        return real(losses, candidates, k)

    monkeypatch.setattr(_coteaching, "_smallest", spy)

    class Doubled(torch.nn.CrossEntropyLoss):
        def forward(self, logits, target):
            return 2 * super().forward(logits, target)

    net = CoTeachingClassifier(forget_rate=0.4, num_gradual=2, warmup_epochs=2,
                               criterion=Doubled, **{**FAST, "max_epochs": 5,
                                                     "batch_size": len(X)}).fit(X, y)
    # Two warm-up epochs and the ramp's first epoch keep everything; then tau/2, tau.
    np.testing.assert_allclose(net.history[:, "forget_rate"], [0.0, 0.0, 0.0, 0.2, 0.4])
    kept = [k for _, k in seen[::2]]   # one batch per epoch, one call per network
    assert kept == [len(X)] * 3 + [128, 96]
    # During the warm-up the loss is plain cross entropy, not the criterion.
    batch = IndexedBatch(torch.as_tensor(X), torch.as_tensor(y), torch.arange(len(X)))
    with torch.no_grad():
        logits = net.infer(batch[0])
    plain = torch.nn.functional.cross_entropy(logits, batch[1], reduction="none")
    assert torch.allclose(net._per_sample_losses(logits, batch[1]), 2 * plain)
    monkeypatch.setattr(net, "in_warmup", lambda: True)
    assert torch.allclose(net._per_sample_losses(logits, batch[1]), plain)


def test_coteaching_clone_gridsearch_pickle(data):
    X, y = data
    net = CoTeachingClassifier(forget_rate=0.3, variant="plus", **FAST)
    params = clone(net).get_params()
    assert params["forget_rate"] == 0.3 and params["variant"] == "plus"
    search = GridSearchCV(net, {"forget_rate": [0.1, 0.3]}, cv=2, error_score="raise")
    fitted = search.fit(X, y).best_estimator_
    assert fitted.forget_rate_ == search.best_params_["forget_rate"]
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    assert restored.forget_rate_ == fitted.forget_rate_
    for a, b in zip(restored.module2_.parameters(), fitted.module2_.parameters()):
        assert torch.equal(a, b)


def test_coteaching_auto_rate_estimated_during_ramp(data, monkeypatch):
    X, y = data
    seen = []

    def fake_estimate(*, proba, y, method):
        assert method == "confident_joint"
        seen.append((np.array(proba), np.array(y)))
        return 0.3

    monkeypatch.setattr(_coteaching, "estimate_noise_rate", fake_estimate)
    params = {**FAST, "max_epochs": 3, "num_gradual": 2}
    net = CoTeachingClassifier(forget_rate="auto", **params).fit(X, y)
    # Estimated at the end of epochs 1 and 2 (the ramp), then fixed.
    assert len(seen) == 2
    for proba, labels in seen:
        assert proba.shape == (len(X), len(net.classes_))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
        np.testing.assert_array_equal(net.classes_[labels], y)
    assert net.forget_rate_ == 0.3 and net.forget_rate_estimated_ is True
    np.testing.assert_allclose(net.history[:, "forget_rate"], [0.0, 0.15, 0.3])
    # The probabilities were fit-time state: nothing of them is left on the fitted net.
    record = net.per_sample_record()
    assert not hasattr(record, "last_proba_") and record.buffers_ is None
    # A warm-started fit keeps the estimate instead of re-estimating.
    net.set_params(warm_start=True, max_epochs=1).fit(X, y)
    assert len(seen) == 2 and net.history[-1, "forget_rate"] == pytest.approx(0.3)


def test_coteaching_auto_rate_with_real_estimator():
    X, y = make_classification(n_samples=600, n_features=8, n_informative=6, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, class_sep=2.5,
                               random_state=0)
    rng = np.random.default_rng(0)
    flipped = rng.random(len(y)) < 0.3
    y_noisy = np.where(flipped, (y + rng.integers(1, 3, len(y))) % 3, y)
    net = CoTeachingClassifier(forget_rate="auto", **{**FAST, "max_epochs": 6,
                                                       "num_gradual": 5}).fit(X, y_noisy)
    assert net.forget_rate_estimated_ is True
    # The confident-joint estimate of the end of the ramp is near the realised rate.
    assert abs(net.forget_rate_ - flipped.mean()) < 0.12
    assert net.history[0, "forget_rate"] == 0.0
    assert net.history[-1, "forget_rate"] == pytest.approx(net.forget_rate_)


@pytest.mark.parametrize("name, value", [
    ("forget_rate", 1.0), ("forget_rate", -0.1), ("forget_rate", "often"),
    ("forget_rate", [0.2]), ("forget_rate", False), ("num_gradual", 0),
    ("num_gradual", 2.5), ("exponent", 0), ("exponent", -1.0), ("variant", "triple"),
    ("init_epoch", -1), ("predict_with", "last"),
])
def test_coteaching_invalid_parameters_name_the_parameter(data, name, value):
    X, y = data
    net = CoTeachingClassifier(**FAST).set_params(**{name: value})
    with pytest.raises((ValueError, TypeError), match=name):
        net.fit(X, y)
