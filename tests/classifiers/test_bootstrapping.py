import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification

from sknoisy.classifiers import DynamicBootstrappingClassifier
from sknoisy.losses import BootstrappingLoss, GCELoss


@pytest.fixture(scope="module")
def noisy_data():
    X, y = make_classification(n_samples=400, n_features=8, n_informative=5, n_redundant=0,
                               n_classes=2, class_sep=2.5, flip_y=0, random_state=1)
    rng = np.random.default_rng(1)
    flipped = rng.random(len(y)) < 0.3
    return X, np.where(flipped, 1 - y, y), y, flipped


@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_bootstrapping_weights_flag_noisy_samples(mode, noisy_data):
    X, y_noisy, y_true, flipped = noisy_data
    clf = DynamicBootstrappingClassifier(warmup_epochs=5, max_epochs=10, lr=1e-2,
                                         batch_size=64, mode=mode,
                                         module__hidden_sizes=(16,), random_state=0)
    clf.fit(X, y_noisy)
    w = clf.noise_weights_
    assert w.shape == (len(X),) and np.all((w > 0) & (w < 1))
    assert w[flipped].mean() > w[~flipped].mean() + 0.3
    # One mean weight per bootstrapping epoch (6..10), from the mixture of the epoch before.
    assert len(clf.history[:, "mean_noise_weight"]) == 5
    assert "mean_noise_weight" not in clf.history[4]
    assert clf.score(X, y_true) > 0.85
    assert clf.mixture_.weights_.shape == (2,)


def test_bootstrapping_params_and_errors(noisy_data):
    X, y_noisy, _, _ = noisy_data
    clf = DynamicBootstrappingClassifier(warmup_epochs=3, mode="soft", max_epochs=4)
    assert clone(clf).get_params()["mode"] == "soft"
    with pytest.raises(ValueError, match="mode"):
        DynamicBootstrappingClassifier(mode="medium", max_epochs=1).fit(X, y_noisy)
    with pytest.raises(ValueError, match="warmup_epochs"):
        DynamicBootstrappingClassifier(warmup_epochs=0, max_epochs=1).fit(X, y_noisy)


def test_bootstrapping_loss_takes_one_beta_per_sample():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.5]])
    target = torch.tensor([1, 1, 0])
    beta = torch.tensor([0.2, 0.9, 0.5])
    loss = BootstrappingLoss(mode="hard", reduction="none")(logits, target, beta=beta)
    log_p = torch.log_softmax(logits, dim=1)
    own = log_p.argmax(dim=1)
    expected = -(beta * log_p[torch.arange(3), target]
                 + (1 - beta) * log_p[torch.arange(3), own])
    torch.testing.assert_close(loss, expected)
    with pytest.raises(ValueError, match="one weight per sample"):
        BootstrappingLoss()(logits, target, beta=torch.ones(2))


def test_bootstrapping_mixture_sees_cross_entropy_of_the_training_steps(noisy_data,
                                                                       monkeypatch):
    # Whatever the training loss, the mixture is fitted on each sample's cross-entropy,
    # recorded during that sample's SGD step of the epoch before.
    X, y_noisy, _, _ = noisy_data
    from sknoisy.classifiers import _bootstrapping
    seen, real = [], _bootstrapping.fit_loss_mixture

    def spy(losses, **kwargs):
        seen.append(np.array(losses))
        return real(losses, **kwargs)

    monkeypatch.setattr(_bootstrapping, "fit_loss_mixture", spy)
    params = dict(warmup_epochs=2, lr=1e-2, batch_size=-1, optimizer=torch.optim.SGD,
                  module__hidden_sizes=(16,), random_state=0)
    DynamicBootstrappingClassifier(max_epochs=3, **params).fit(X, y_noisy)
    # Refitted before epoch 3 (on epoch 2's losses) and at the end (on epoch 3's).
    assert len(seen) == 2
    last = seen[-1]
    # One full batch per epoch: epoch 3's step saw the weights left by epoch 2, the same
    # as a copy trained for 2 epochs, whose cross-entropy is computed here by hand.
    twin = DynamicBootstrappingClassifier(max_epochs=2, **params).fit(X, y_noisy)
    proba = twin.predict_proba(X)
    ce = -np.log(proba[np.arange(len(X)), y_noisy])
    np.testing.assert_allclose(last, ce, rtol=1e-4, atol=1e-5)


def test_bootstrapping_rejects_a_criterion_without_per_sample_beta(noisy_data):
    X, y_noisy, _, _ = noisy_data
    with pytest.raises(TypeError, match="per-sample beta"):
        DynamicBootstrappingClassifier(criterion=GCELoss, max_epochs=1).fit(X, y_noisy)
