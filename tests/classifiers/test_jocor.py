"""Tests for JoCoR, ``CoTeachingClassifier(variant='jocor')``."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from sknoisy import NoisyNetClassifier
from sknoisy._core._data import IndexedBatch
from sknoisy._core._state import FitState
from sknoisy.classifiers import CoTeachingClassifier
from sknoisy.classifiers._coteaching import jocor_loss
from sknoisy.noise import make_label_noise

from ._shared import noisy_digits, softmax, three_classes

FAST = dict(max_epochs=2, batch_size=32, module__hidden_sizes=(16,), random_state=0)


@pytest.fixture(scope="module")
def data():
    return three_classes()


def _kl(p, q):
    return (p * np.log(p / q)).sum(axis=1)


def _joint_numpy(z1, z2, y, lam):
    """The joint loss written out with numpy, independently of the library."""
    p1, p2 = softmax(z1), softmax(z2)
    rows = np.arange(len(y))
    ce = -np.log(p1[rows, y]) - np.log(p2[rows, y])
    return (1 - lam) * ce + lam * (_kl(p1, p2) + _kl(p2, p1))


# -- the joint loss ------------------------------------------------------------------------------
@pytest.mark.parametrize("lam", [0.0, 0.1, 0.5, 1.0])
def test_jocor_loss_matches_formula_on_hand_tensors(lam):
    z1 = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [-1.0, 3.0, 0.0]])
    z2 = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [2.0, -2.0, 1.0]])
    y = np.array([0, 2, 1])
    t1, t2, target = torch.tensor(z1), torch.tensor(z2), torch.tensor(y)
    ce = torch.nn.functional.cross_entropy
    got = jocor_loss(ce(t1, target, reduction="none"), ce(t2, target, reduction="none"),
                     t1, t2, co_lambda=lam)
    np.testing.assert_allclose(got.numpy(), _joint_numpy(z1, z2, y, lam), rtol=1e-10)
    # Row 1: identical networks, so only the supervised part is left.
    assert got[1].item() == pytest.approx((1 - lam) * 2 * ce(t1[1:2], target[1:2]).item())


def test_jocor_agreement_term_trains_both_networks():
    z1 = torch.tensor([[1.0, -1.0]], requires_grad=True)
    z2 = torch.tensor([[-1.0, 1.0]], requires_grad=True)
    zero = torch.zeros(1)
    jocor_loss(zero, zero, z1, z2, co_lambda=1.0).sum().backward()
    # Not detached: the symmetric KL pulls each network towards the other.
    assert z1.grad[0, 0] > 0 and z2.grad[0, 1] > 0


# -- the selection on a hand-built batch -----------------------------------------------------------
class Table(torch.nn.Module):
    """Bias-free linear map: with one-hot inputs, column j of the weight holds sample j's logits."""

    def __init__(self, n_features, n_classes):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, n_classes, bias=False)

    def forward(self, X):
        return self.linear(X)


A1 = [-2.0, 1.0, 0.5, -1.0, 2.0, -3.0]
A2 = [-1.0, -2.0, -0.5, 2.0, -1.5, -2.5]


def _hand_jocor(lam):
    """A fitted JoCoR net whose networks give sample j (label 0) logits [0, A1[j]] / [0, A2[j]].

    After two epochs with num_gradual=1 the forget rate is the full 0.5: 3 of 6 kept.
    """
    n = len(A1)
    X = np.eye(n, dtype=np.float32)
    net = CoTeachingClassifier(Table, variant="jocor", co_lambda=lam, forget_rate=0.5,
                               num_gradual=1, max_epochs=2, batch_size=n, random_state=0,
                               early_stopping=False).fit(X, np.arange(n) % 2)
    with torch.no_grad():
        for module, a in ((net.module_, A1), (net.module2_, A2)):
            module.linear.weight.zero_()
            module.linear.weight[1] = torch.as_tensor(a)
    for p in list(net.module_.parameters()) + list(net.module2_.parameters()):
        p.grad = None
    batch = IndexedBatch(torch.as_tensor(X), torch.zeros(n, dtype=torch.long), torch.arange(n))
    zeros = np.zeros(n)
    expected = _joint_numpy(np.c_[zeros, A1], np.c_[zeros, A2], np.zeros(n, dtype=int), lam)
    return net, batch, expected


def _grad_columns(module):
    return set(np.flatnonzero(module.linear.weight.grad.abs().sum(dim=0).numpy() > 0))


def test_jocor_keeps_smallest_joint_loss_and_updates_both_networks_on_them():
    net, batch, joint = _hand_jocor(lam=0.5)
    kept = set(np.argsort(joint)[:3])
    # The agreement term matters here: the sum of the losses alone keeps other rows, and
    # so would each network's own ranking (Co-teaching).
    supervised = _joint_numpy(*(np.c_[np.zeros(6), a] for a in (A1, A2)), np.zeros(6, int), 0.0)
    assert kept != set(np.argsort(supervised)[:3])
    assert kept != set(np.argsort(A1)[:3]) and kept != set(np.argsort(A2)[:3])
    step = net.train_step_single(batch)
    assert _grad_columns(net.module_) == kept and _grad_columns(net.module2_) == kept
    # One mean over the kept rows, divided once.
    assert step["loss"].item() == pytest.approx(joint[sorted(kept)].mean(), rel=1e-5)
    np.testing.assert_allclose(step["losses"].numpy(), joint, rtol=1e-5)


def test_jocor_applies_sample_weight_to_kept_rows():
    net, batch, joint = _hand_jocor(lam=0.5)
    kept = np.sort(np.argsort(joint)[:3])
    weights = torch.arange(1.0, 7.0)
    with net._training_context(FitState(None, None, None, weights, seed=0)):
        step = net.train_step_single(batch)
    expected = (weights.numpy()[kept] * joint[kept]).mean()
    assert step["loss"].item() == pytest.approx(expected, rel=1e-5)


def test_jocor_history_reports_joint_losses(data):
    X, y = data
    y_noisy, _ = make_label_noise(y, "symmetric", 0.3, random_state=0)
    net = CoTeachingClassifier(variant="jocor", forget_rate=0.3, num_gradual=2,
                               **{**FAST, "max_epochs": 4, "batch_size": len(X)}).fit(X, y_noisy)
    np.testing.assert_allclose(net.history[:, "forget_rate"], [0.0, 0.15, 0.3, 0.3])
    kept = np.array(net.history[:, "kept_loss"])
    dropped = np.array(net.history[:, "dropped_loss"])
    assert np.isnan(dropped[0]) and np.all(kept[1:] < dropped[1:])
    # One batch per epoch: the training loss is the mean joint loss of the kept rows.
    np.testing.assert_allclose(net.history[:, "train_loss"], kept, rtol=1e-5)
    assert all(0.0 <= d <= 1.0 for d in net.history[:, "disagreement"])


def test_jocor_auto_forget_rate(data):
    X, y = data
    net = CoTeachingClassifier(variant="jocor", forget_rate="auto", num_gradual=2,
                               **{**FAST, "max_epochs": 3}).fit(X, y)
    # Estimated during the ramp (epochs 1 and 2) from both networks' probabilities,
    # then fixed: the last epoch drops the final estimate.
    assert net.forget_rate_estimated_ is True and 0.0 <= net.forget_rate_ < 1.0
    assert net.history[0, "forget_rate"] == 0.0
    assert net.history[-1, "forget_rate"] == pytest.approx(net.forget_rate_)


# -- parameters ------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [-0.1, 1.5, "high", [0.1], True, None])
def test_jocor_co_lambda_is_validated(data, value):
    X, y = data
    net = CoTeachingClassifier(variant="jocor", co_lambda=value, **FAST)
    with pytest.raises((ValueError, TypeError), match="co_lambda"):
        net.fit(X, y)


@pytest.mark.parametrize("variant", ["standard", "plus"])
def test_co_lambda_is_ignored_by_other_variants(data, variant):
    X, y = data
    params = dict(variant=variant, init_epoch=0, forget_rate=0.3, **FAST)
    first = CoTeachingClassifier(co_lambda=0.0, **params).fit(X, y)
    second = CoTeachingClassifier(co_lambda=0.9, **params).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


def test_jocor_co_lambda_changes_training(data):
    X, y = data
    params = dict(variant="jocor", forget_rate=0.3, **FAST)
    first = CoTeachingClassifier(co_lambda=0.0, **params).fit(X, y)
    second = CoTeachingClassifier(co_lambda=0.9, **params).fit(X, y)
    assert not np.allclose(first.predict_proba(X), second.predict_proba(X))


def test_jocor_gridsearch_over_co_lambda_and_pickle(data):
    X, y = data
    net = CoTeachingClassifier(variant="jocor", forget_rate=0.2, **FAST)
    search = GridSearchCV(net, {"co_lambda": [0.1, 0.9]}, cv=2, error_score="raise")
    search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 2 and scores[0] != scores[1]
    fitted = search.best_estimator_
    assert fitted.co_lambda == search.best_params_["co_lambda"]
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))


def test_jocor_string_labels_and_mean_prediction(data):
    X, y = data
    labels = np.array(["cat", "dog", "emu"])[y]
    net = CoTeachingClassifier(variant="jocor", predict_with="mean", **FAST).fit(X, labels)
    assert set(net.predict(X)) <= {"cat", "dog", "emu"}
    np.testing.assert_allclose(net.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)


# -- accuracy under noise --------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_jocor_beats_cross_entropy_on_noisy_digits(seed):
    # 40% symmetric noise; 25 epochs is long enough for cross entropy to memorise it
    # (about 0.69-0.78 clean test accuracy, JoCoR 0.84-0.89 over seeds 0-2).
    X_train, X_test, y_noisy, y_test, params = noisy_digits(seed)
    ce = NoisyNetClassifier(**params).fit(X_train, y_noisy).score(X_test, y_test)
    jocor = CoTeachingClassifier(variant="jocor", forget_rate=0.4, **params).fit(
        X_train, y_noisy).score(X_test, y_test)
    assert jocor > ce + 0.05
