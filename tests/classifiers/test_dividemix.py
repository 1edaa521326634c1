import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import GridSearchCV, train_test_split

from sknoisy import NoisyNetClassifier
from sknoisy._core._augment import random_shift
from sknoisy.classifiers import DivideMixClassifier
from sknoisy.classifiers import _dividemix
from sknoisy.classifiers._dividemix import (
    co_refine,
    guard_split,
    mixmatch_loss,
    sharpen,
    unlabeled_weight,
)
from sknoisy.noise import make_label_noise

from ._shared import noisy_digits

FAST = dict(max_epochs=6, warmup_epochs=2, rampup_epochs=2, lr=1e-2, batch_size=32,
            module__hidden_sizes=(16,), early_stopping=False, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=240, n_features=8, n_informative=5, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, class_sep=2.0,
                               random_state=0)
    y_noisy, noisy = make_label_noise(y, "symmetric", 0.3, random_state=0)
    return X.astype(np.float32), y, y_noisy, noisy


# -- formulas on hand tensors --------------------------------------------------------------
@pytest.mark.parametrize("temperature", [0.5, 1.0, 0.2])
def test_sharpen_matches_formula(temperature):
    p = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5], [1.0, 0.0, 0.0]])
    powered = p ** (1 / temperature)
    expected = powered / powered.sum(axis=1, keepdims=True)
    out = sharpen(torch.tensor(p, dtype=torch.float64), temperature).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_sharpen_does_not_underflow_at_small_temperature():
    out = sharpen(torch.tensor([[1e-3, 2e-3, 3e-3]]), 0.01)
    assert torch.isfinite(out).all() and torch.allclose(out.sum(), torch.tensor(1.0))
    assert out.argmax().item() == 2


def test_co_refine_then_sharpen_matches_formula():
    y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    w = torch.tensor([0.9, 0.2])
    p = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
    refined = co_refine(y, w, p)
    expected = np.array([[0.9 + 0.1 * 0.2, 0.1 * 0.5, 0.1 * 0.3],
                         [0.8 * 0.6, 0.8 * 0.3, 0.2 + 0.8 * 0.1]])
    np.testing.assert_allclose(refined.numpy(), expected, rtol=1e-6)
    sharp = expected ** 2 / (expected ** 2).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(sharpen(refined, 0.5).numpy(), sharp, rtol=1e-5)


def test_mixmatch_loss_matches_independent_computation():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 3))
    targets = rng.dirichlet(np.ones(3), size=6)
    labeled = np.array([True, False, True, True, False, True])
    weights = rng.uniform(0.5, 1.5, size=6)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    ce = -(targets * np.log(p)).sum(axis=1) * weights
    mse = ((p - targets) ** 2).mean(axis=1) * weights
    mean_p = p.mean(axis=0)
    prior = np.sum(1 / 3 * np.log((1 / 3) / mean_p))
    # Two unlabeled rows among four labeled: the unlabeled sum is divided by 4.
    unlabeled_part = mse[~labeled].sum() / 4
    expected = ce[labeled].mean() + 7.0 * unlabeled_part + 0.5 * prior
    loss, (lx, lu, kl) = mixmatch_loss(
        torch.tensor(logits), torch.tensor(targets), torch.tensor(labeled), lambda_u=7.0,
        prior_penalty=0.5, weights=torch.tensor(weights))
    assert loss.item() == pytest.approx(expected, rel=1e-9)
    assert (lx.item(), lu.item(), kl.item()) == pytest.approx(
        (ce[labeled].mean(), unlabeled_part, prior), rel=1e-9)
    # More unlabeled than labeled rows: the unlabeled mean, as in the paper.
    _, (_, lu, _) = mixmatch_loss(torch.tensor(logits), torch.tensor(targets),
                                  torch.tensor(~labeled), lambda_u=1.0, prior_penalty=1.0)
    unweighted = ((p - targets) ** 2).mean(axis=1)
    assert lu.item() == pytest.approx(unweighted[labeled].mean(), rel=1e-9)
    # A batch without unlabeled rows has no unlabeled term.
    _, (_, lu, _) = mixmatch_loss(torch.tensor(logits), torch.tensor(targets),
                                  torch.ones(6, dtype=torch.bool), lambda_u=1.0,
                                  prior_penalty=1.0)
    assert lu.item() == 0.0


def test_unlabeled_weight_ramps_linearly_after_warmup():
    values = [unlabeled_weight(e, 10, 16, 25.0) for e in (0, 10, 14, 26, 30)]
    assert values == pytest.approx([0.0, 0.0, 6.25, 25.0, 25.0])


def test_guard_split_caps_and_keeps_each_class():
    w = np.array([0.95, 0.9, 0.85, 0.8, 0.75, 0.3, 0.2, 0.1, 0.05, 0.01])
    y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    assert guard_split(w, y, 0.5).sum() == 5
    capped = guard_split(w, y, 0.5, max_fraction=0.3)
    np.testing.assert_array_equal(np.flatnonzero(capped), [0, 1, 2])
    floored = guard_split(w, y, 0.5, max_fraction=0.3, min_class_fraction=0.4)
    # Class 1 had none labeled: its two rows with the highest w join.
    np.testing.assert_array_equal(np.flatnonzero(floored), [0, 1, 2, 5, 6])


def test_random_shift_moves_each_image_by_at_most_max_shift():
    X = torch.arange(2 * 6 * 6, dtype=torch.float32).reshape(2, 6, 6) + 1
    out = random_shift(X, 2, generator=torch.Generator().manual_seed(1))
    for image, shifted in zip(X, out):
        matches = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                padded = torch.nn.functional.pad(image, (2, 2, 2, 2))
                window = padded[2 + dy:8 + dy, 2 + dx:8 + dx]
                matches.append(torch.equal(window, shifted))
        assert sum(matches) == 1
    reflected = random_shift(X.unsqueeze(1), 2, padding="reflect",
                             generator=torch.Generator().manual_seed(1))
    assert reflected.shape == (2, 1, 6, 6) and bool((reflected > 0).all())


# -- the method ----------------------------------------------------------------------------
def test_mixmatch_lambda_is_at_least_half(data, monkeypatch):
    X, _, y_noisy, _ = data
    used = []

    class Recording(_dividemix.MixupDraw):
        def mix(self, values):
            used.append(self.lam)
            return super().mix(values)

    def low_draw(alpha, n, generator=None, device="cpu"):
        return _dividemix.MixupDraw(0.1, torch.randperm(n, generator=generator).to(device))

    monkeypatch.setattr(_dividemix, "MixupDraw", Recording)
    monkeypatch.setattr(_dividemix, "draw_mixup", low_draw)
    DivideMixClassifier(**{**FAST, "max_epochs": 3}).fit(X, y_noisy)
    assert used and all(lam == pytest.approx(0.9) for lam in used)


def test_each_network_trains_on_the_other_networks_split(data, monkeypatch):
    # Network 0's split labels every row, network 1's none: network 0 must then train
    # with no labeled row (network 1's split) and network 1 with all of them.
    X, _, y_noisy, _ = data
    calls = []

    def clean_proba(self, losses, seed):
        calls.append(None)
        first = len(calls) % 2 == 1
        return (np.ones(losses.size) if first else np.zeros(losses.size)), 0.0

    seen = []
    real_loss = _dividemix.mixmatch_loss

    def spy(logits, targets, labeled, **kwargs):
        seen.append(labeled.clone())
        return real_loss(logits, targets, labeled, **kwargs)

    monkeypatch.setattr(DivideMixClassifier, "_clean_proba", clean_proba)
    monkeypatch.setattr(_dividemix, "mixmatch_loss", spy)
    clf = DivideMixClassifier(max_labeled_fraction=None, min_labeled_fraction=0.0,
                              **{**FAST, "max_epochs": 3}).fit(X, y_noisy)
    assert clf.labeled_masks_[0].all() and not clf.labeled_masks_[1].any()
    assert len(seen) > 0 and len(seen) % 2 == 0
    for net0, net1 in zip(seen[::2], seen[1::2]):
        assert not net0.any() and net1.all()


def test_warmup_is_cross_entropy_on_every_row_for_both_networks(data):
    X, _, y_noisy, _ = data
    params = dict(FAST, warmup_epochs=1, batch_size=-1, optimizer=torch.optim.SGD, lr=0.5,
                  augmentation="none")
    before = DivideMixClassifier(**{**params, "max_epochs": 0}).fit(X, y_noisy)
    after = DivideMixClassifier(**{**params, "max_epochs": 1}).fit(X, y_noisy)
    Xt = torch.as_tensor(before._standardized(X))
    yt = torch.as_tensor(np.searchsorted(before.classes_, y_noisy))
    for start, trained in zip(before.networks(), after.networks()):
        loss = torch.nn.functional.cross_entropy(start(Xt), yt)
        grads = torch.autograd.grad(loss, list(start.parameters()))
        for p0, g, p1 in zip(start.parameters(), grads, trained.parameters()):
            torch.testing.assert_close(p1.detach(), p0.detach() - 0.5 * g, rtol=1e-4,
                                       atol=1e-5)
    assert np.isnan(after.history[-1, "labeled_fraction"])
    assert after.labeled_masks_.all() and after.clean_proba_.shape == (2, len(X))


def test_split_history_and_attributes(data):
    X, _, y_noisy, noisy = data
    clf = DivideMixClassifier(**FAST).fit(X, y_noisy)
    assert clf.labeled_masks_.shape == (2, len(X)) and clf.labeled_masks_.dtype == bool
    assert clf.clean_proba_.shape == (2, len(X))
    fractions = np.array(clf.history[:, "labeled_fraction"])
    assert np.isnan(fractions[:2]).all() and ((fractions[2:] > 0) & (fractions[2:] <= 1)).all()
    assert np.isfinite(clf.history[:, "mixture_clean_mean"][2:]).all()
    assert clf.history[:, "unlabeled_weight"] == pytest.approx([0, 0, 12.5, 25, 25, 25])
    # The split finds the noisy rows: the labeled part is much cleaner than the data.
    for mask in clf.labeled_masks_:
        assert noisy[mask].mean() < noisy.mean() / 2
    # The 'auto' cap: no later split labels more than the first one did.
    assert clf.max_labeled_fraction_.shape == (2,)
    assert (clf.labeled_masks_.mean(axis=1) <= clf.max_labeled_fraction_ + 0.1 + 1e-9).all()


def test_auto_cap_holds_without_class_floor(data):
    X, _, y_noisy, _ = data
    clf = DivideMixClassifier(min_labeled_fraction=0.0, **FAST).fit(X, y_noisy)
    np.testing.assert_array_less(clf.labeled_masks_.mean(axis=1),
                                 clf.max_labeled_fraction_ + 1e-9)
    uncapped = DivideMixClassifier(max_labeled_fraction=None, **FAST).fit(X, y_noisy)
    assert not hasattr(uncapped, "max_labeled_fraction_")


def test_auto_cap_is_at_most_the_estimated_clean_share(data, monkeypatch):
    X, _, y_noisy, _ = data
    estimates = []

    def estimate(proba=None, y=None, method=None):
        estimates.append((proba.shape, method))
        return 0.8

    monkeypatch.setattr(_dividemix, "estimate_noise_rate", estimate)
    clf = DivideMixClassifier(min_labeled_fraction=0.0, **FAST).fit(X, y_noisy)
    # Estimated once, at the first split, from both networks' (n, C) probabilities.
    assert estimates == [((len(X), 3), "confident_joint")]
    np.testing.assert_allclose(clf.max_labeled_fraction_, 0.2)
    assert (clf.labeled_masks_.sum(axis=1) <= np.ceil(0.2 * len(X))).all()
    fixed = DivideMixClassifier(max_labeled_fraction=0.5, min_labeled_fraction=0.0,
                                **FAST).fit(X, y_noisy)
    assert (fixed.labeled_masks_.mean(axis=1) <= 0.5).all()


def test_beta_mixture_and_callable_augmentation(data):
    X, _, y_noisy, _ = data
    calls = []

    def jitter(batch):
        calls.append(batch.shape)
        return batch + 0.05 * torch.randn_like(batch)

    clf = DivideMixClassifier(mixture="beta", augmentation=jitter, n_views=3,
                              **FAST).fit(X, y_noisy)
    assert calls and np.isfinite(clf.history[-1, "labeled_fraction"])


def test_same_seed_same_predictions(data):
    X, _, y_noisy, _ = data
    a = DivideMixClassifier(**FAST).fit(X, y_noisy).predict_proba(X)
    b = DivideMixClassifier(**FAST).fit(X, y_noisy).predict_proba(X)
    c = DivideMixClassifier(**{**FAST, "random_state": 1}).fit(X, y_noisy).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_gridsearch_over_lambda_u_and_pickle(data):
    X, _, y_noisy, _ = data
    search = GridSearchCV(DivideMixClassifier(**FAST), {"lambda_u": [0.0, 50.0]}, cv=2,
                          error_score="raise").fit(X, y_noisy)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 2 and scores[0] != scores[1]
    fitted = search.best_estimator_
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(restored.labeled_masks_, fitted.labeled_masks_)


def test_string_labels_and_mean_prediction(data):
    X, _, y_noisy, _ = data
    labels = np.array(["cat", "dog", "emu"])[y_noisy]
    clf = DivideMixClassifier(**FAST).fit(X, labels)
    assert set(clf.predict(X)) <= {"cat", "dog", "emu"}
    proba = clf.predict_proba(X)
    Xt = torch.as_tensor(clf._standardized(X))
    with torch.no_grad():
        mean = sum(torch.softmax(net.eval()(Xt), dim=1) for net in clf.networks()) / 2
    np.testing.assert_allclose(proba, mean.numpy(), rtol=1e-5, atol=1e-6)


def test_images_with_shift_augmentation():
    X, y = load_digits(return_X_y=True)
    X = (X[:200] / 16.0).reshape(-1, 8, 8).astype(np.float32)
    y_noisy, _ = make_label_noise(y[:200], "symmetric", 0.2, random_state=0)
    params = dict(max_epochs=3, warmup_epochs=1, batch_size=50, early_stopping=False,
                  module__channels=(4,), module__hidden=16, module__pooled_size=2,
                  random_state=0)
    clf = DivideMixClassifier(**params).fit(X, y_noisy)
    assert clf.predict(X).shape == (200,) and clf.labeled_masks_.shape == (2, 200)
    reflect = DivideMixClassifier(shift_padding="reflect", **params).fit(X, y_noisy)
    assert not np.allclose(reflect.predict_proba(X), clf.predict_proba(X))


def test_invalid_combinations_are_clear_errors(data):
    X, _, y_noisy, _ = data
    with pytest.raises(ValueError, match="mixup_alpha"):
        DivideMixClassifier(mixup_alpha=0.2, max_epochs=1).fit(X, y_noisy)
    with pytest.raises(ValueError, match="augmentation='shift'"):
        DivideMixClassifier(augmentation="shift", max_epochs=1).fit(X, y_noisy)
    with pytest.raises(ValueError, match="max_labeled_fraction"):
        DivideMixClassifier(max_labeled_fraction=0.0, max_epochs=1).fit(X, y_noisy)
    with pytest.raises(TypeError, match="n_views"):
        DivideMixClassifier(n_views=True, max_epochs=1).fit(X, y_noisy)


@pytest.mark.parametrize("seed", [0, 1])
def test_dividemix_beats_cross_entropy_on_noisy_digits(seed):
    # 40% symmetric noise, 25 epochs: cross entropy memorises the noise (about 0.7 clean
    # test accuracy), DivideMix stays near clean accuracy (0.96-0.97 on seeds 0-1).
    X_train, X_test, y_noisy, y_test, params = noisy_digits(seed)
    ce = NoisyNetClassifier(**params).fit(X_train, y_noisy).score(X_test, y_test)
    dividemix = DivideMixClassifier(warmup_epochs=8, rampup_epochs=5, **params).fit(
        X_train, y_noisy).score(X_test, y_test)
    assert dividemix > ce + 0.1


def test_dividemix_does_not_hurt_on_clean_labels():
    # With clean labels the split leaves only the hardest rows unlabeled; a handful of
    # unlabeled rows must not dominate the loss (dividing their squared error by their
    # own count did: 0.82 here, where cross entropy scores 0.97).
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32), y, test_size=0.3, random_state=1, stratify=y)
    params = dict(max_epochs=30, lr=1e-2, batch_size=64, module__hidden_sizes=(32,),
                  early_stopping=False, random_state=1)
    ce = NoisyNetClassifier(**params).fit(X_train, y_train).score(X_test, y_test)
    clf = DivideMixClassifier(warmup_epochs=8, **params).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > ce - 0.03
    assert np.nanmin(clf.history[:, "labeled_fraction"]) > 0.8
