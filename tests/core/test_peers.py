"""The shared multi-network facility: extra networks registered, optimised, restored, predicted."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from sknoisy.classifiers import CoTeachingClassifier, MutualLearningClassifier
from sknoisy.modules import MLP
from sknoisy._core._peers import network_name, per_sample_kl

from .test_early_stopping import Snapshots, _equal

FAST = dict(max_epochs=2, batch_size=32, module__hidden_sizes=(16,), random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=400, n_features=8, n_informative=5, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, random_state=0)
    rng = np.random.default_rng(0)
    flip = rng.random(len(y)) < 0.4
    return X.astype(np.float32), np.where(flip, (y + 1) % 3, y)


def _flat(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def test_per_sample_kl_matches_formula():
    p_logits = np.array([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    q_logits = np.array([[0.0, 2.0, 0.0], [3.0, 0.0, -3.0]])
    p = np.exp(p_logits) / np.exp(p_logits).sum(1, keepdims=True)
    q = np.exp(q_logits) / np.exp(q_logits).sum(1, keepdims=True)
    expected = (p * np.log(p / q)).sum(1)
    got = per_sample_kl(torch.tensor(p_logits), torch.tensor(q_logits))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)


def test_extra_networks_are_registered_optimised_and_distinct(data):
    X, y = data
    net = MutualLearningClassifier(n_networks=3, **{**FAST, "max_epochs": 0}).fit(X, y)
    assert [network_name(k) for k in range(3)] == ["module", "module2", "module3"]
    assert {"module", "module2", "module3"} <= set(net._modules)
    networks = net.networks()
    assert networks == [net.module_, net.module2_, net.module3_]
    optimized = {id(p) for group in net.optimizer_.param_groups for p in group["params"]}
    for module in networks:
        assert {id(p) for p in module.parameters()} <= optimized
    flats = [_flat(m) for m in networks]
    assert not torch.equal(flats[0], flats[1]) and not torch.equal(flats[1], flats[2])


def test_refit_with_fewer_networks_unregisters_the_extra_ones(data):
    X, y = data
    net = MutualLearningClassifier(n_networks=3, **FAST).fit(X, y)
    old = net.module3_
    net.set_params(n_networks=2).fit(X, y)
    assert not hasattr(net, "module3_") and "module3" not in net._modules
    assert len(net.networks()) == 2
    optimized = {id(p) for group in net.optimizer_.param_groups for p in group["params"]}
    assert not {id(p) for p in old.parameters()} & optimized
    assert net.predict_proba(X).shape == (len(X), 3)


def test_coteaching_builds_its_peer_through_the_shared_facility(data):
    X, y = data
    net = CoTeachingClassifier(**FAST).fit(X, y)
    assert net.networks() == [net.module_, net.module2_]
    assert not hasattr(net, "module3_")


def test_early_stopping_restores_every_network(data):
    X, y = data
    snapshots = Snapshots()
    clf = MutualLearningClassifier(
        n_networks=3, early_stopping=True, n_iter_no_change=3, max_epochs=60, lr=1e-2,
        callbacks=[("snapshots", snapshots)],
        **{k: v for k, v in FAST.items() if k != "max_epochs"}).fit(X, y)
    best = clf.best_epoch_ - 1
    assert best < len(clf.history) - 1   # training went on after the best epoch
    for name in ("module", "module2", "module3"):
        assert _equal(getattr(clf, name + "_").state_dict(), snapshots.weights_[best][name])
    assert not _equal(clf.module3_.state_dict(), snapshots.weights_[-1]["module3"])


def test_module_instance_gives_every_network_fresh_weights(data):
    X, y = data
    instance = MLP(n_features=8, n_classes=3, hidden_sizes=(16,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = MutualLearningClassifier(instance, n_networks=3, max_epochs=1,
                                       random_state=0).fit(X, y)
    flats = [_flat(m) for m in net.networks()]
    assert len({tuple(f.tolist()) for f in flats}) == 3


def test_module_without_reset_parameters_warns(data):
    X, y = data

    class Frozen(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(8, 3))

        def forward(self, X):
            return X @ self.weight

    with pytest.warns(UserWarning, match="same weights"):
        MutualLearningClassifier(Frozen(), max_epochs=1, random_state=0).fit(X, y)


def test_every_network_pickles(data):
    X, y = data
    net = MutualLearningClassifier(n_networks=3, **FAST).fit(X, y)
    restored = pickle.loads(pickle.dumps(net))
    for a, b in zip(restored.networks(), net.networks()):
        assert torch.equal(_flat(a), _flat(b))
    np.testing.assert_array_equal(restored.predict_proba(X), net.predict_proba(X))
