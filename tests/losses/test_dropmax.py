"""DropMax: the loss against its formula, the network head, and training through the core."""

import functools
import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import GridSearchCV

from sknoisy import NoisyNetClassifier
from sknoisy.callbacks import PerSampleRecord
from sknoisy.losses import DropMaxLoss
from sknoisy.modules import MLP, ConvNet, DropMaxHead, DropMaxNet

EPS = 1e-20
FAST = dict(max_epochs=5, batch_size=16, lr=1e-2, random_state=0,
            module=functools.partial(DropMaxNet, hidden_sizes=(8,)), criterion=DropMaxLoss)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=60, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, random_state=0)
    return X.astype(np.float32), y


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _outputs(seed=0, n=4, c=3, scale=2.0):
    rng = np.random.default_rng(seed)
    o, r, a = (rng.normal(size=(n, c)) * scale for _ in range(3))
    rho = _sigmoid(r)
    prediction = o + np.log(rho + EPS)
    return o, r, a, tuple(torch.tensor(v) for v in (prediction, o, r, a))


def _reference(o, r, a, y, u, tau, weights=(1.0, 1.0, 1.0)):
    """DropMax's training loss written out in numpy (float64), per sample."""
    n, c = o.shape
    onehot = np.eye(c, dtype=bool)[y]
    rho, q = _sigmoid(r), _sigmoid(r + a)
    z = _sigmoid((np.log(q / (1 - q)) + np.log(u) - np.log(1 - u)) / tau)
    z[onehot] = 1.0
    scores = (z + EPS) * np.exp(o)
    ce = -np.log(scores[onehot] / scores.sum(axis=1))
    kl_other = q * np.log(q / rho) + (1 - q) * np.log((1 - q) / (1 - rho))
    kl = np.where(onehot, -np.log(rho), kl_other).sum(axis=1)
    r_aux = _sigmoid(a)
    aux = np.where(onehot, -np.log(r_aux), -np.log(1 - r_aux)).sum(axis=1)
    neg_entropy = (rho * np.log(rho) + (1 - rho) * np.log(1 - rho)).sum(axis=1)
    return ce + weights[0] * kl + weights[1] * aux + weights[2] * neg_entropy


@pytest.mark.parametrize("tau,weights", [(0.1, (1.0, 1.0, 1.0)), (0.5, (0.3, 2.0, 0.0))])
def test_dropmax_training_loss_matches_the_formula(tau, weights):
    o, r, a, output = _outputs()
    y = np.array([0, 2, 1, 2])
    # The criterion draws u = torch.rand(N, C) (float32) from the generator.
    u = torch.rand(o.shape, generator=torch.Generator().manual_seed(3)).double().numpy()
    loss = DropMaxLoss(kl_weight=weights[0], aux_weight=weights[1],
                       entropy_weight=weights[2], temperature=tau, reduction="none")
    got = loss(output, torch.tensor(y), generator=torch.Generator().manual_seed(3))
    np.testing.assert_allclose(got.numpy(), _reference(o, r, a, y, u, tau, weights),
                               rtol=1e-10)
    mean = DropMaxLoss(kl_weight=weights[0], aux_weight=weights[1],
                       entropy_weight=weights[2], temperature=tau)(
        output, torch.tensor(y), generator=torch.Generator().manual_seed(3))
    assert float(mean) == pytest.approx(float(got.mean()))


def test_dropmax_evaluation_is_the_expected_mask_softmax():
    o, r, a, output = _outputs(seed=1)
    y = np.array([1, 0, 2, 2])
    scores = (_sigmoid(r) + EPS) * np.exp(o)
    expected = -np.log(scores[np.arange(4), y] / scores.sum(axis=1))
    got = DropMaxLoss(reduction="none").eval()(output, torch.tensor(y))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)


def test_dropmax_always_keeps_the_target_class():
    # Every non-target class is (almost surely) dropped: the target then wins whatever
    # its logit, so the cross-entropy part vanishes.
    o = torch.tensor([[-5.0, 5.0, 5.0], [5.0, 5.0, -5.0]], dtype=torch.float64)
    low = torch.full_like(o, -50.0)
    output = (o, o, low, low)
    loss = DropMaxLoss(kl_weight=0.0, aux_weight=0.0, entropy_weight=0.0, reduction="none")
    got = loss(output, torch.tensor([0, 2]), generator=torch.Generator().manual_seed(0))
    assert torch.all(got < 1e-12)
    # With every class kept (retain and auxiliary logits high) it is cross entropy on o.
    high = torch.full_like(o, 50.0)
    got = loss((o, o, high, high), torch.tensor([0, 2]),
               generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(got, torch.nn.functional.cross_entropy(
        o, torch.tensor([0, 2]), reduction="none"))


def test_dropmax_masks_train_the_auxiliary_branch_not_the_retain_branch():
    _, _, _, output = _outputs(seed=2)
    leaves = [part.clone().requires_grad_(True) for part in output]
    loss = DropMaxLoss(kl_weight=0.0, aux_weight=0.0, entropy_weight=0.0)
    loss(tuple(leaves), torch.tensor([0, 1, 2, 0]),
         generator=torch.Generator().manual_seed(0)).backward()
    prediction, class_logits, retain_logits, aux_logits = leaves
    # The posterior uses the retain logits as a constant (the reference's stop_gradient);
    # the prediction logits are for evaluation only.
    assert prediction.grad is None and retain_logits.grad is None
    assert class_logits.grad.abs().sum() > 0 and aux_logits.grad.abs().sum() > 0
    # The KL term is what trains the retain branch.
    leaves = [part.clone().requires_grad_(True) for part in output]
    DropMaxLoss(aux_weight=0.0, entropy_weight=0.0)(
        tuple(leaves), torch.tensor([0, 1, 2, 0]),
        generator=torch.Generator().manual_seed(0)).backward()
    assert leaves[2].grad.abs().sum() > 0


def test_dropmax_masks_follow_the_generator():
    _, _, _, output = _outputs(seed=4, n=6, c=5)
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    loss = DropMaxLoss(reduction="none")
    first = loss(output, y, generator=torch.Generator().manual_seed(0))
    again = loss(output, y, generator=torch.Generator().manual_seed(0))
    other = loss(output, y, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(first, again)
    assert not torch.allclose(first, other)


def test_dropmax_rejects_bad_outputs_and_parameters():
    with pytest.raises(TypeError, match="four outputs of a DropMax network"):
        DropMaxLoss()(torch.zeros(2, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="share one shape"):
        DropMaxLoss()((torch.zeros(2, 3),) * 3 + (torch.zeros(2, 4),), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="target values must lie in"):
        DropMaxLoss()((torch.zeros(2, 3),) * 4, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="temperature"):
        DropMaxLoss(temperature=0.0)
    with pytest.raises(ValueError, match="kl_weight"):
        DropMaxLoss(kl_weight=-1.0)


# -- the network ------------------------------------------------------------------------
def test_dropmax_net_replaces_the_classifier_and_predicts_with_the_expected_mask():
    base = MLP(n_features=4, n_classes=3, hidden_sizes=(8,))
    classifier = base.layers[-1]
    net = DropMaxNet(base)
    # The user's instance is copied, not converted.
    assert base.layers[-1] is classifier and type(base.layers[-1]) is torch.nn.Linear
    head = net.base.layers[-1]
    assert isinstance(head, DropMaxHead)
    torch.testing.assert_close(head.classifier.weight, classifier.weight)
    X = torch.randn(5, 4)
    prediction, class_logits, retain_logits, aux_logits = net(X)
    features = net.base.layers[:-1](X)
    torch.testing.assert_close(class_logits, head.classifier(features))
    torch.testing.assert_close(aux_logits, head.aux(features))
    rho = torch.sigmoid(retain_logits)
    torch.testing.assert_close(prediction.softmax(dim=1),
                               (rho + EPS) * class_logits.exp()
                               / ((rho + EPS) * class_logits.exp()).sum(dim=1, keepdim=True))


def test_dropmax_net_wraps_the_image_network():
    net = DropMaxNet(ConvNet, n_classes=4, in_channels=1, n_features=64, hidden=16)
    outputs = net(torch.zeros(2, 8, 8))
    assert len(outputs) == 4 and all(part.shape == (2, 4) for part in outputs)
    assert isinstance(net.base.classifier, DropMaxHead)


def test_dropmax_net_explains_unusable_bases():
    with pytest.raises(ValueError, match="no nn.Linear"):
        DropMaxNet(torch.nn.Sequential(torch.nn.ReLU()))

    class LinearThenScale(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(3, 2)

        def forward(self, X):
            return self.linear(X) * 2.0

    with pytest.raises((ValueError, TypeError)):
        DropMaxNet(LinearThenScale())(torch.zeros(1, 3))
    with pytest.raises(TypeError, match="instance"):
        DropMaxNet(MLP(n_features=3, n_classes=2), hidden_sizes=(4,))


# -- through the training core -----------------------------------------------------------
def test_dropmax_through_the_core_predicts_the_expected_mask(data):
    X, y = data
    clf = NoisyNetClassifier(**FAST).fit(X, y)
    prediction, class_logits, retain_logits, _ = clf.forward(X)
    rho = torch.sigmoid(retain_logits).double()
    scores = (rho + EPS) * class_logits.double().exp()
    expected = (scores / scores.sum(dim=1, keepdim=True)).numpy()
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[expected.argmax(axis=1)])
    # The same seed, the same masks and network.
    np.testing.assert_array_equal(NoisyNetClassifier(**FAST).fit(X, y).predict_proba(X),
                                  clf.predict_proba(X))


def test_dropmax_with_string_labels_weights_pickle_and_a_record(data):
    X, y = data
    labels = np.array(["cat", "dog", "emu"])[y]
    record = PerSampleRecord(eval_pass=True)
    clf = NoisyNetClassifier(**FAST, callbacks=[("record", record)],
                             early_stopping=True, validation_fraction=0.2)
    clf.fit(X, labels, sample_weight=np.linspace(0.5, 1.5, len(y)))
    assert set(clf.predict(X)) <= {"cat", "dog", "emu"}
    assert "valid_acc" in clf.history[-1]
    fitted_record = dict(clf.callbacks_)["record"]
    assert np.all(np.isfinite(fitted_record.last_loss_))
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_dropmax_grid_search_over_its_weights(data):
    X, y = data
    search = GridSearchCV(NoisyNetClassifier(**{**FAST, "max_epochs": 3}),
                          {"criterion__kl_weight": [0.0, 1.0],
                           "criterion__temperature": [0.1, 0.5]}, cv=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.criterion_.kl_weight in (0.0, 1.0)


def test_dropmax_learns_digits_as_well_as_softmax():
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    train, test = np.arange(0, 1200), np.arange(1200, len(X))
    common = dict(max_epochs=15, lr=1e-2, batch_size=64, early_stopping=False,
                  random_state=0)
    softmax = NoisyNetClassifier(module=functools.partial(MLP, hidden_sizes=(32,)),
                                 **common).fit(X[train], y[train])
    dropmax = NoisyNetClassifier(module=functools.partial(DropMaxNet, hidden_sizes=(32,)),
                                 criterion=DropMaxLoss, **common).fit(X[train], y[train])
    assert dropmax.score(X[test], y[test]) > softmax.score(X[test], y[test]) - 0.03
    assert dropmax.score(X[test], y[test]) > 0.85
