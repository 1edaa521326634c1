"""The per-sample record: what it stores, when, and what it leaves behind."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from skorch.callbacks import LRScheduler

from sknoisy import NoisyNetClassifier
from sknoisy._core._state import FitState
from sknoisy.callbacks import O2UCyclicLR, PerSampleRecord, o2u_learning_rate
from sknoisy.losses import GCELoss

NET = dict(module__hidden_sizes=(8,), batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=120, n_features=6, n_classes=3, n_informative=4,
                               random_state=0)
    return X.astype(np.float32), y


def _record(net):
    return dict(net.callbacks_)["record"]


def test_record_keeps_the_losses_and_probabilities_of_each_step(data):
    X, y = data
    # A learning rate too small to move the weights: every step sees the final model,
    # so the recorded values equal a prediction pass by hand.
    net = NoisyNetClassifier(optimizer=torch.optim.SGD, lr=1e-12, max_epochs=3, **NET,
                             callbacks=[("record", PerSampleRecord(start_epoch=3,
                                                                   proba=True))]).fit(X, y)
    record = _record(net)
    proba = net.predict_proba(X)
    np.testing.assert_allclose(record.last_proba_, proba, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(record.last_loss_, -np.log(proba[np.arange(len(y)), y]),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(record.last_pred_, proba.argmax(axis=1))
    assert record.n_recorded_ == 1


def test_record_mean_proba_averages_the_recorded_epochs(data):
    X, y = data
    # One single-epoch record per epoch beside one averaging over epochs 2-4.
    singles = [(f"e{e}", PerSampleRecord(start_epoch=e, stop_epoch=e, proba=True))
               for e in (2, 3, 4)]
    net = NoisyNetClassifier(lr=1e-2, max_epochs=5, **NET, callbacks=[
        ("record", PerSampleRecord(start_epoch=2, stop_epoch=4, proba="mean")), *singles])
    records = dict(net.fit(X, y).callbacks_)
    expected = np.mean([records[f"e{e}"].last_proba_ for e in (2, 3, 4)], axis=0)
    np.testing.assert_allclose(records["record"].mean_proba_, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(records["record"].last_proba_, records["e4"].last_proba_)
    # Epoch 5 is outside the averaged range, so the mean is not the last epoch's values.
    assert not np.allclose(records["record"].mean_proba_, records["e4"].last_proba_)


def test_record_rejects_an_unknown_proba_mode(data):
    X, y = data
    net = NoisyNetClassifier(max_epochs=1, **NET,
                             callbacks=[("record", PerSampleRecord(proba="last"))])
    with pytest.raises(ValueError, match="proba must be True, False or 'mean'"):
        net.fit(X, y)


def test_record_statistics_match_the_trajectories(data):
    X, y = data
    rec = PerSampleRecord(start_epoch=2, stop_epoch=4, trajectories=True)
    net = NoisyNetClassifier(lr=1e-2, max_epochs=5, **NET, callbacks=[("record", rec)])
    record = _record(net.fit(X, y))
    assert record.n_recorded_ == 3 and record.loss_trajectories_.shape == (3, len(y))
    # Each epoch is centred on its mean loss, and the running mean and variance are the
    # mean and population variance over the recorded epochs.
    np.testing.assert_allclose(record.loss_trajectories_.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(record.loss_mean_, record.loss_trajectories_.mean(axis=0),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(record.loss_var_, record.loss_trajectories_.var(axis=0),
                               rtol=1e-3, atol=1e-6)


def test_record_eval_pass_sees_the_model_at_the_end_of_the_epoch(data):
    X, y = data
    net = NoisyNetClassifier(lr=5e-2, max_epochs=2, **NET, callbacks=[
        ("record", PerSampleRecord(start_epoch=2, eval_pass=True))]).fit(X, y)
    proba = net.predict_proba(X)
    np.testing.assert_allclose(_record(net).last_loss_,
                               -np.log(proba[np.arange(len(y)), y]), rtol=1e-4, atol=1e-5)


def test_record_reads_the_training_criterion_or_the_loss_it_is_given(data):
    X, y = data
    common = dict(criterion=GCELoss, optimizer=torch.optim.SGD, lr=1e-12, max_epochs=1,
                  **NET)
    gce = NoisyNetClassifier(**common, callbacks=[("record", PerSampleRecord())]).fit(X, y)
    ce = NoisyNetClassifier(**common, callbacks=[("record", PerSampleRecord(
        loss=lambda logits, target: torch.nn.functional.cross_entropy(
            logits, target, reduction="none")))]).fit(X, y)
    p_y = gce.predict_proba(X)[np.arange(len(y)), y]
    np.testing.assert_allclose(_record(gce).last_loss_, (1 - p_y ** 0.7) / 0.7, rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(_record(ce).last_loss_, -np.log(p_y), rtol=1e-4, atol=1e-5)


def test_record_can_drop_its_results_and_holds_no_buffers_after_fit(data):
    X, y = data
    net = NoisyNetClassifier(max_epochs=2, **NET, callbacks=[
        ("record", PerSampleRecord(proba=True, keep_results=False))]).fit(X, y)
    record = _record(net)
    assert record.buffers_ is None and not hasattr(record, "loss_mean_")
    with pytest.raises(RuntimeError, match="during fit"):
        record.epoch_losses()


def test_record_explains_a_net_that_reports_no_per_sample_losses(data):
    X, y = data

    class OwnLoss(NoisyNetClassifier):
        def get_loss(self, y_pred, y_true, X=None, training=False, indices=None):
            return torch.nn.functional.cross_entropy(y_pred, y_true)

    net = OwnLoss(max_epochs=1, **NET, callbacks=[("record", PerSampleRecord())])
    with pytest.raises(RuntimeError, match="per-sample losses"):
        net.fit(X, y)


@pytest.mark.parametrize("params", [{"start_epoch": 0}, {"stop_epoch": 1.5},
                                    {"start_epoch": True}])
def test_record_rejects_bad_epochs(data, params):
    X, y = data
    net = NoisyNetClassifier(max_epochs=1, **NET,
                             callbacks=[("record", PerSampleRecord(**params))])
    with pytest.raises(ValueError, match="epoch"):
        net.fit(X, y)


def test_o2u_schedule_simulates_the_formula():
    policy = LRScheduler(policy=O2UCyclicLR, warmup_epochs=3, cycle_length=4, lr_max=0.1,
                         lr_min=0.02)
    lrs = policy.simulate(steps=12, initial_lr=0.05)
    for epoch, lr in enumerate(lrs, start=1):
        t = epoch - 3
        s = (1 + (t - 1) % 4) / 4
        expected = 0.05 if epoch <= 3 else (1 - s) * 0.1 + s * 0.02
        assert lr == pytest.approx(expected)
        assert o2u_learning_rate(epoch, base_lr=0.05, warmup_epochs=3, cycle_length=4,
                                 lr_max=0.1, lr_min=0.02) == pytest.approx(expected)


@pytest.mark.parametrize("params, match", [
    (dict(lr_max=0.01, lr_min=0.1), "lr_max must be greater"),
    (dict(cycle_length=0), "cycle_length"),
    (dict(warmup_epochs=-1), "warmup_epochs"),
    (dict(lr_min=0.0), "lr_min"),
])
def test_o2u_schedule_rejects_bad_parameters(params, match):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match=match):
        O2UCyclicLR(optimizer, **params)


def test_fit_state_child_seeds_depend_only_on_the_seed_and_key():
    a = FitState(None, None, None, None, seed=3)
    b = FitState(None, None, None, None, seed=3)
    torch.rand(5, generator=a.generator)  # draws elsewhere do not move child seeds
    assert a.child_seed(1, 2) == b.child_seed(1, 2)
    assert len({a.child_seed(k) for k in range(20)}) == 20
    assert FitState(None, None, None, None, seed=4).child_seed(1) != a.child_seed(1)


def test_fit_state_is_gone_after_fit_even_when_fit_fails(data):
    X, y = data
    net = NoisyNetClassifier(max_epochs=1, **NET)
    net.fit(X, y)
    assert not hasattr(net, "_fit_state")

    class Failing(NoisyNetClassifier):
        def on_epoch_begin(self, net, **kwargs):
            raise RuntimeError("boom")

    failing = Failing(max_epochs=1, **NET)
    with pytest.raises(RuntimeError, match="boom"):
        failing.fit(X, y)
    assert not hasattr(failing, "_fit_state")
