import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification

from sknoisy._core._state import FitState
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
    # The mean weight each epoch trained with: none in the warm-up (1..5), then 6..10.
    means = np.array(clf.history[:, "mean_noise_weight"])
    assert np.all(np.isnan(means[:5]))
    assert np.all((means[5:] > 0) & (means[5:] < 1))
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


def test_bootstrapping_mixture_sees_cross_entropy_of_an_evaluation_pass(noisy_data,
                                                                       monkeypatch):
    # Whatever the training loss, the mixture is fitted on each sample's cross-entropy
    # from an evaluation-mode pass after the epoch, as in the reference code.
    X, y_noisy, _, _ = noisy_data
    from sknoisy.classifiers import _bootstrapping
    seen, real = [], _bootstrapping.fit_loss_mixture

    def spy(losses, **kwargs):
        seen.append(np.array(losses))
        return real(losses, **kwargs)

    monkeypatch.setattr(_bootstrapping, "fit_loss_mixture", spy)
    params = dict(warmup_epochs=2, lr=1e-2, batch_size=-1, optimizer=torch.optim.SGD,
                  module__hidden_sizes=(16,), random_state=0)
    clf = DynamicBootstrappingClassifier(max_epochs=3, **params).fit(X, y_noisy)
    # Refitted before epoch 3 (on the pass after epoch 2) and at the end (after epoch 3).
    assert len(seen) == 2

    def ce(model):
        proba = model.predict_proba(X)   # evaluation mode
        return -np.log(proba[np.arange(len(X)), y_noisy])

    twin = DynamicBootstrappingClassifier(max_epochs=2, **params).fit(X, y_noisy)
    np.testing.assert_allclose(seen[0], ce(twin), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(seen[1], ce(clf), rtol=1e-4, atol=1e-5)


def test_bootstrapping_batch_weights_come_from_the_current_net_in_eval_mode(noisy_data):
    X, y_noisy, _, _ = noisy_data
    X = X.astype(np.float32)
    # Heavy dropout: a training-mode pass would give other losses than evaluation mode.
    clf = DynamicBootstrappingClassifier(warmup_epochs=2, max_epochs=4, lr=1e-2,
                                         module__hidden_sizes=(32,), module__dropout=0.5,
                                         random_state=0).fit(X, y_noisy)
    proba = clf.predict_proba(X)
    losses = -np.log(proba[np.arange(len(X)), y_noisy])
    low, high = np.percentile(losses, [5, 95])
    grid = np.clip(np.linspace(0, 1, 1001), 1e-3, 1 - 1e-3)
    state = FitState(X, y_noisy, None, None, seed=0)
    state.loss_bounds = (low, high)
    state.noise_table = torch.as_tensor(
        clf.mixture_.posterior_noisy(grid).clip(1e-4, 1 - 1e-4), dtype=torch.float32)
    clf.module_.train()
    with clf._training_context(state):
        # The batch as the network receives it: standardised with fit's statistics.
        batch = torch.as_tensor((X - clf.input_mean_) / clf.input_scale_)
        weights = clf.batch_noise_weights(batch, torch.as_tensor(y_noisy))
    assert clf.module_.training   # the training mode is restored
    normalized = np.clip((losses - low) / (high - low), 1e-3, 1 - 1e-3)
    exact = clf.mixture_.posterior_noisy(normalized).clip(1e-4, 1 - 1e-4)
    # The table's step is 1e-3 in normalised loss.
    assert np.abs(weights.numpy() - exact).max() < 0.05
    assert np.corrcoef(weights.numpy(), exact)[0, 1] > 0.99


def test_bootstrapping_rejects_a_criterion_without_per_sample_beta(noisy_data):
    X, y_noisy, _, _ = noisy_data
    with pytest.raises(TypeError, match="per-sample beta"):
        DynamicBootstrappingClassifier(criterion=GCELoss, max_epochs=1).fit(X, y_noisy)


def test_mixup_bootstraps_each_term_from_its_unmixed_row(noisy_data, monkeypatch):
    # M-DYR-H: the hard target of each mixed term is the argmax of the evaluation-mode
    # prediction of that term's own (unmixed) row, not of the mixed input.
    X, y_noisy, _, _ = noisy_data
    clf = DynamicBootstrappingClassifier(warmup_epochs=2, max_epochs=3, mixup_alpha=1.0,
                                         module__hidden_sizes=(16,), random_state=0)
    seen = []
    original = BootstrappingLoss.forward

    def spy(self, logits, target, beta=None, prediction=None):
        seen.append((logits.detach(), prediction))
        return original(self, logits, target, beta=beta, prediction=prediction)

    monkeypatch.setattr(BootstrappingLoss, "forward", spy)
    clf.fit(X.astype(np.float32), y_noisy)
    # Two calls per mixed batch (one per partner), each with the unmixed rows' view.
    assert seen and all(prediction is not None for _, prediction in seen)
    logits, prediction = seen[-2]
    assert torch.allclose(prediction.sum(dim=1), torch.ones(len(prediction)))
    assert not torch.allclose(torch.softmax(logits, dim=1), prediction)
    first, second = seen[-2][1], seen[-1][1]
    # The partner call's view is the same rows in the mixup permutation's order.
    assert sorted(map(tuple, first.numpy().round(5))) == \
        sorted(map(tuple, second.numpy().round(5)))


def test_mixup_partners_reuse_the_steps_evaluation_pass(noisy_data, monkeypatch):
    # The partner term of a mixed step needs the same rows' evaluation-mode view in the
    # permutation's order: one evaluation forward pass per step, and the same model as
    # recomputing it.
    X, y_noisy, _, _ = noisy_data
    params = dict(warmup_epochs=2, max_epochs=4, mixup_alpha=1.0, batch_size=64,
                  module__hidden_sizes=(16,), random_state=0)
    views = []
    original = DynamicBootstrappingClassifier._evaluation_view

    def count(self, X, y_true):
        views.append(len(X))
        return original(self, X, y_true)

    monkeypatch.setattr(DynamicBootstrappingClassifier, "_evaluation_view", count)
    cached = DynamicBootstrappingClassifier(**params).fit(X.astype(np.float32), y_noisy)
    n_steps = 2 * int(np.ceil(len(X) / 64))  # the two epochs after the warm-up
    assert len(views) == n_steps
    views.clear()
    monkeypatch.setattr(DynamicBootstrappingClassifier, "_cached_partner_view",
                        lambda self, indices: None)
    recomputed = DynamicBootstrappingClassifier(**params).fit(X.astype(np.float32), y_noisy)
    assert len(views) == 2 * n_steps
    np.testing.assert_allclose(cached.history[:, "train_loss"],
                               recomputed.history[:, "train_loss"], rtol=1e-5)
    np.testing.assert_allclose(cached.predict_proba(X), recomputed.predict_proba(X),
                               rtol=1e-4, atol=1e-6)


def test_prior_penalty_enters_bootstrapping_batches_only(noisy_data):
    X, y_noisy, _, _ = noisy_data
    params = dict(warmup_epochs=2, max_epochs=4, module__hidden_sizes=(16,), random_state=0)
    plain = DynamicBootstrappingClassifier(**params).fit(X, y_noisy)
    penalised = DynamicBootstrappingClassifier(prior_penalty=1.0, **params).fit(X, y_noisy)
    # The warm-up is untouched (same losses), the bootstrapping epochs are not.
    np.testing.assert_allclose(penalised.history[:2, "train_loss"],
                               plain.history[:2, "train_loss"], rtol=1e-6)
    assert not np.allclose(penalised.history[2:, "train_loss"],
                           plain.history[2:, "train_loss"])
    with pytest.raises(ValueError, match="prior_penalty"):
        DynamicBootstrappingClassifier(prior_penalty=-1.0, **params).fit(X, y_noisy)


def test_mixup_needs_a_criterion_taking_the_unmixed_prediction(noisy_data):
    X, y_noisy, _, _ = noisy_data

    class BetaOnly(torch.nn.Module):
        def __init__(self, mode="hard", detach=True, reduction="none"):
            super().__init__()

        def forward(self, logits, target, beta=None):
            return torch.nn.functional.cross_entropy(logits, target, reduction="none")

    clf = DynamicBootstrappingClassifier(criterion=BetaOnly, mixup_alpha=1.0, max_epochs=1)
    with pytest.raises(TypeError, match="unmixed rows' prediction"):
        clf.fit(X, y_noisy)
