"""Tests for MutualLearningClassifier (deep mutual learning)."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from sknoisy import MutualLearningClassifier, NoisyNetClassifier
from sknoisy._core._data import IndexedBatch
from sknoisy._core._state import FitState
from sknoisy.classifiers._mutual import mimicry_losses

from ._shared import noisy_digits, softmax, three_classes

FAST = dict(max_epochs=2, batch_size=32, module__hidden_sizes=(16,), random_state=0)


@pytest.fixture(scope="module")
def data():
    return three_classes()


def _mimicry_numpy(logits):
    """1/(K-1) * sum_{l != k} KL(p_l || p_k) per network, written out with numpy."""
    p = [softmax(z) for z in logits]
    K = len(p)
    return [sum((p[l] * np.log(p[l] / p[k])).sum(axis=1) for l in range(K) if l != k) / (K - 1)
            for k in range(K)]


LOGITS = [np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]]),
          np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]]),
          np.array([[-1.0, 3.0, 0.5], [2.0, -2.0, 1.0]])]


# -- the objective ---------------------------------------------------------------------------------
@pytest.mark.parametrize("K", [2, 3])
def test_mimicry_matches_formula_on_hand_tensors(K):
    logits = [torch.tensor(z) for z in LOGITS[:K]]
    got = mimicry_losses(logits)
    for k, expected in enumerate(_mimicry_numpy(LOGITS[:K])):
        np.testing.assert_allclose(got[k].numpy(), expected, rtol=1e-10)
    if K == 2:
        # Row 1: the two networks agree exactly, so neither is pulled.
        assert got[0][1].item() == pytest.approx(0.0, abs=1e-12)


def test_mimicry_detaches_the_peers():
    logits = [torch.tensor(z, requires_grad=True) for z in LOGITS]
    mimicry_losses(logits)[0].sum().backward()
    assert logits[0].grad.abs().sum() > 0
    assert logits[1].grad is None and logits[2].grad is None


def test_mimicry_needs_two_networks():
    with pytest.raises(ValueError, match="at least 2"):
        mimicry_losses([torch.zeros(1, 2)])


class Table(torch.nn.Module):
    """Bias-free linear map: with one-hot inputs, column j of the weight holds sample j's logits."""

    def __init__(self, n_features, n_classes):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, n_classes, bias=False)

    def forward(self, X):
        return self.linear(X)


@pytest.mark.parametrize("K", [2, 3])
def test_step_gives_each_network_the_gradient_of_its_own_objective(K):
    # Network k's weights (a table of logits) get the gradient of
    # mean_i w_i * (CE(p_k, y) + mimicry_k) alone, computed here with fresh autograd leaves.
    n = 2
    X = np.eye(n, dtype=np.float32)
    y = np.array([0, 2])
    net = MutualLearningClassifier(Table, n_networks=K, max_epochs=1, batch_size=n,
                                   early_stopping=False, random_state=0)
    net.fit(np.eye(n, dtype=np.float32).repeat(2, axis=0), np.array([0, 2, 1, 1]))
    with torch.no_grad():
        for module, z in zip(net.networks(), LOGITS):
            module.linear.weight.copy_(torch.as_tensor(z.T, dtype=torch.float32))
    for module in net.networks():
        module.zero_grad(set_to_none=True)
    weights = torch.tensor([1.0, 3.0])
    batch = IndexedBatch(torch.as_tensor(X), torch.as_tensor(y), torch.arange(n))
    with net._training_context(FitState(None, None, None, weights, seed=0)):
        step = net.train_step_single(batch)

    leaves = [torch.tensor(z, dtype=torch.float32, requires_grad=True) for z in LOGITS[:K]]
    objectives = []
    for k, z in enumerate(leaves):
        log_p = torch.log_softmax(z, dim=1)
        ce = -log_p[torch.arange(n), torch.as_tensor(y)]
        kl = sum((torch.softmax(other.detach(), 1)
                  * (torch.log_softmax(other.detach(), 1) - log_p)).sum(1)
                 for l, other in enumerate(leaves) if l != k) / (K - 1)
        objectives.append(ce + kl)
    for k, (module, leaf, objective) in enumerate(zip(net.networks(), leaves, objectives)):
        (weights * objective).mean().backward()
        np.testing.assert_allclose(module.linear.weight.grad.T.numpy(), leaf.grad.numpy(),
                                   rtol=1e-5, atol=1e-7, err_msg=f"network {k}")
    # Reported: the mean over networks of the per-sample objectives and of their means.
    stacked = torch.stack(objectives).detach()
    np.testing.assert_allclose(step["losses"].numpy(), stacked.mean(0).numpy(), rtol=1e-5)
    expected_loss = (weights * stacked).mean(dim=1).mean()
    assert step["loss"].item() == pytest.approx(expected_loss.item(), rel=1e-5)


def test_history_records_mean_mimicry_of_each_epoch(data):
    X, y = data
    # One full batch per epoch: epoch 1's mutual_kl is the mimicry of the initial networks.
    params = dict(FAST, batch_size=len(X), n_networks=3)
    untrained = MutualLearningClassifier(**{**params, "max_epochs": 0}).fit(X, y)
    seen = untrained.get_dataset(X).X   # the inputs as the networks see them
    with torch.no_grad():
        mimicry = mimicry_losses([untrained.infer_network(k, seen) for k in range(3)])
    expected = torch.stack(mimicry).mean().item()
    net = MutualLearningClassifier(**{**params, "max_epochs": 3}).fit(X, y)
    kl = net.history[:, "mutual_kl"]
    assert len(kl) == 3 and all(np.isfinite(kl)) and all(v > 0 for v in kl)
    assert kl[0] == pytest.approx(expected, rel=1e-5)


# -- prediction ------------------------------------------------------------------------------------
def test_predict_with_mean_averages_every_network(data):
    X, y = data
    net = MutualLearningClassifier(n_networks=3, **FAST).fit(X, y)
    seen = net.get_dataset(X).X
    with torch.no_grad():
        expected = torch.stack([torch.softmax(m(seen), 1) for m in net.networks()]).mean(0)
    np.testing.assert_allclose(net.predict_proba(X), expected.numpy(), rtol=1e-5, atol=1e-7)
    net.set_params(predict_with="first")
    with torch.no_grad():
        first = torch.softmax(net.module_(seen), 1).numpy()
    np.testing.assert_allclose(net.predict_proba(X), first, rtol=1e-5, atol=1e-7)


# -- estimator behaviour ---------------------------------------------------------------------------
def test_same_seed_same_predictions_other_seed_other(data):
    X, y = data
    first = MutualLearningClassifier(n_networks=3, **FAST).fit(X, y).predict_proba(X)
    again = MutualLearningClassifier(n_networks=3, **FAST).fit(X, y).predict_proba(X)
    other = MutualLearningClassifier(n_networks=3, **{**FAST, "random_state": 1}).fit(X, y)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other.predict_proba(X))


def test_gridsearch_pickle_and_string_labels(data):
    X, y = data
    labels = np.array(["cat", "dog", "emu"])[y]
    search = GridSearchCV(MutualLearningClassifier(**FAST),
                          {"n_networks": [2, 3], "predict_with": ["mean", "first"]},
                          cv=2, error_score="raise").fit(X, labels)
    fitted = search.best_estimator_
    assert len(fitted.networks()) == search.best_params_["n_networks"]
    assert set(fitted.predict(X)) <= {"cat", "dog", "emu"}
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))


@pytest.mark.parametrize("name, value", [
    ("n_networks", 1), ("n_networks", 2.5), ("n_networks", "two"), ("n_networks", True),
    ("predict_with", "vote"),
])
def test_invalid_parameters_name_the_parameter(data, name, value):
    X, y = data
    net = MutualLearningClassifier(**FAST).set_params(**{name: value})
    with pytest.raises((ValueError, TypeError), match=name):
        net.fit(X, y)


def test_mixup_is_rejected(data):
    X, y = data
    with pytest.raises(ValueError, match="mixup"):
        MutualLearningClassifier(mixup_alpha=0.2, **FAST).fit(X, y)


# -- accuracy under noise --------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_mutual_learning_beats_cross_entropy_on_noisy_digits(seed):
    # 40% symmetric noise; after 25 epochs cross entropy has memorised much of it (about
    # 0.69-0.78 clean test accuracy over seeds 0-2) and mutual learning scores 0.78-0.84.
    X_train, X_test, y_noisy, y_test, params = noisy_digits(seed)
    ce = NoisyNetClassifier(**params).fit(X_train, y_noisy).score(X_test, y_test)
    mutual = MutualLearningClassifier(**params).fit(X_train, y_noisy).score(X_test, y_test)
    assert mutual > ce + 0.03
