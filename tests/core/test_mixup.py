"""Mixup in the training core (``mixup_alpha``): the draw, the mixed step, the fit."""

import functools

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.datasets import make_classification
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sknoisy import NoisyNetClassifier
from sknoisy._core import _base
from sknoisy._core._data import IndexedBatch
from sknoisy._core._mixup import MixupDraw, draw_mixup
from sknoisy._core._state import FitState
from sknoisy.classifiers import CoTeachingClassifier, DistilledStudentClassifier
from sknoisy.losses import GCELoss
from sknoisy.modules import MLP

from ..classifiers._shared import small_noisy_digits

FAST = dict(max_epochs=3, batch_size=16, lr=1e-2, random_state=0,
            module=functools.partial(MLP, hidden_sizes=(8,)))


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=60, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, random_state=0)
    return X.astype(np.float32), y


class Linear(torch.nn.Module):
    """One linear layer that keeps the last input it saw."""

    def __init__(self, n_features, n_classes):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, n_classes)
        self.seen = None

    def forward(self, X):
        self.seen = X.detach().clone()
        return self.linear(X)


def _hand_net(**params):
    """A net fitted for one epoch on 6 rows of 3 features, and a batch of those rows."""
    X = np.arange(18, dtype=np.float32).reshape(6, 3) / 10
    y = np.array([0, 1, 2, 0, 1, 2])
    net = NoisyNetClassifier(Linear, max_epochs=1, standardize=False, random_state=0,
                             **params).fit(X, y)
    batch = IndexedBatch(torch.as_tensor(X), torch.as_tensor(y), torch.tensor([5, 0, 3, 1, 4, 2]))
    return net, batch


def _log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _ce(logits, y):
    return -_log_softmax(logits)[np.arange(len(y)), y]


def _gce(logits, y, q=0.7):
    p_y = np.exp(_log_softmax(logits))[np.arange(len(y)), y]
    return (1 - p_y ** q) / q


# -- the draw --------------------------------------------------------------------------------
def test_mixup_draw_is_beta_distributed_and_a_permutation():
    generator = torch.Generator().manual_seed(0)
    draws = [draw_mixup(0.4, 7, generator) for _ in range(400)]
    lams = np.array([d.lam for d in draws])
    # Kolmogorov-Smirnov against Beta(0.4, 0.4); a wrong shape (uniform, Beta(1, 1))
    # is rejected at the same sample size.
    assert stats.kstest(lams, stats.beta(0.4, 0.4).cdf).pvalue > 0.01
    assert stats.kstest(lams, stats.uniform().cdf).pvalue < 0.01
    assert all(sorted(d.perm.tolist()) == list(range(7)) for d in draws)
    again = draw_mixup(0.4, 7, torch.Generator().manual_seed(0))
    assert again.lam == draws[0].lam and torch.equal(again.perm, draws[0].perm)


# -- the mixed step on a hand batch -------------------------------------------------------------
@pytest.mark.parametrize("criterion, loss", [(torch.nn.CrossEntropyLoss, _ce),
                                             (GCELoss, _gce)])
def test_mixup_step_mixes_inputs_and_losses(monkeypatch, criterion, loss):
    net, batch = _hand_net(criterion=criterion, mixup_alpha=0.5)
    draw = MixupDraw(0.3, torch.tensor([2, 0, 1, 5, 3, 4]))
    monkeypatch.setattr(_base, "draw_mixup", lambda *args, **kwargs: draw)
    step = net.train_step_single(batch)
    X, y = batch[0].numpy(), batch[1].numpy()
    perm = draw.perm.numpy()
    np.testing.assert_allclose(net.module_.seen.numpy(), 0.3 * X + 0.7 * X[perm], rtol=1e-6)
    logits = step["y_pred"].detach().numpy().astype(np.float64)
    expected = 0.3 * loss(logits, y) + 0.7 * loss(logits, y[perm])
    np.testing.assert_allclose(step["losses"].numpy(), expected, rtol=1e-5)
    assert step["loss"].item() == pytest.approx(expected.mean(), rel=1e-5)


def test_mixup_step_gives_each_term_its_rows_and_unmixed_inputs(monkeypatch):
    seen = []

    class RowKeyed(NoisyNetClassifier):
        # What a method keying per-sample state on the rows sees.
        def get_per_sample_loss(self, y_pred, y_true, X=None, training=False, indices=None):
            seen.append((y_true.clone(), X.clone(), indices.clone()))
            return super().get_per_sample_loss(y_pred, y_true, X=X, training=training,
                                               indices=indices)

    X = np.arange(18, dtype=np.float32).reshape(6, 3)
    y = np.array([0, 1, 2, 0, 1, 2])
    net = RowKeyed(Linear, max_epochs=1, mixup_alpha=1.0, random_state=0).fit(X, y)
    draw = MixupDraw(0.6, torch.tensor([3, 4, 5, 0, 1, 2]))
    monkeypatch.setattr(_base, "draw_mixup", lambda *args, **kwargs: draw)
    seen.clear()
    Xb, yb, rows = torch.as_tensor(X), torch.as_tensor(y), torch.tensor([10, 11, 12, 13, 14, 15])
    net.train_step_single(IndexedBatch(Xb, yb, rows))
    (y1, X1, rows1), (y2, X2, rows2) = seen
    assert torch.equal(y1, yb) and torch.equal(X1, Xb) and torch.equal(rows1, rows)
    assert torch.equal(y2, yb[draw.perm]) and torch.equal(X2, Xb[draw.perm])
    assert rows2.tolist() == [13, 14, 15, 10, 11, 12]


def test_mixup_sample_weights_are_mixed_like_the_rows(monkeypatch):
    net, batch = _hand_net(mixup_alpha=0.5)
    draw = MixupDraw(0.25, torch.tensor([1, 2, 3, 4, 5, 0]))
    monkeypatch.setattr(_base, "draw_mixup", lambda *args, **kwargs: draw)
    weights = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])  # by training row
    with net._training_context(FitState(None, None, None, weights, seed=0)):
        step = net.train_step_single(batch)
    w = weights[batch.indices].numpy()
    mixed = 0.25 * w + 0.75 * w[draw.perm.numpy()]
    assert step["loss"].item() == pytest.approx(
        float(np.mean(step["losses"].numpy() * mixed)), rel=1e-6)


def test_mixup_zero_is_the_plain_step_and_draws_nothing():
    net, batch = _hand_net(mixup_alpha=0.0)
    state = FitState(None, None, None, None, seed=3)
    generator_before = state.generator.get_state()
    with net._training_context(state):
        step = net.train_step_single(batch)
    assert torch.equal(state.generator.get_state(), generator_before)
    np.testing.assert_allclose(net.module_.seen.numpy(), batch[0].numpy())
    logits = step["y_pred"].detach().numpy().astype(np.float64)
    np.testing.assert_allclose(step["losses"].numpy(), _ce(logits, batch[1].numpy()),
                               rtol=1e-5)


class _StepBeforeMixup(NoisyNetClassifier):
    """The core's training step as it was before mixup existed."""

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        indices = getattr(batch, "indices", None)
        y_pred = self.infer(Xi, **fit_params)
        losses = self.get_per_sample_loss(y_pred, yi, X=Xi, training=True, indices=indices)
        loss = self.reduce_loss(losses, indices)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred, "losses": losses.detach()}


def test_mixup_zero_trains_bit_identically_to_the_step_before_mixup(data):
    X, y = data
    weights = np.linspace(0.5, 2.0, len(y))
    now = NoisyNetClassifier(mixup_alpha=0.0, **FAST).fit(X, y, sample_weight=weights)
    before = _StepBeforeMixup(**FAST).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(now.predict_proba(X), before.predict_proba(X))


def test_mixup_validation_step_does_not_mix():
    net, batch = _hand_net(mixup_alpha=2.0)
    state = FitState(None, None, None, None, seed=0)
    generator_before = state.generator.get_state()
    with net._training_context(state):
        net.validation_step(batch)
    np.testing.assert_array_equal(net.module_.seen.numpy(), batch[0].numpy())
    assert torch.equal(state.generator.get_state(), generator_before)


def test_mixup_needs_floating_inputs():
    net, batch = _hand_net(mixup_alpha=0.5)
    integer_batch = IndexedBatch(batch[0].long(), batch[1], batch.indices)
    with pytest.raises(TypeError, match=r"mixup_alpha=0.5 mixes the inputs.*torch.int64"):
        net.train_step_single(integer_batch)


# -- fitting ---------------------------------------------------------------------------------
def test_mixup_same_seed_same_fit_and_it_changes_training(data):
    X, y = data
    first = NoisyNetClassifier(mixup_alpha=0.4, **FAST).fit(X, y).predict_proba(X)
    second = NoisyNetClassifier(mixup_alpha=0.4, **FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    plain = NoisyNetClassifier(**FAST).fit(X, y).predict_proba(X)
    assert not np.allclose(first, plain)
    other_seed = NoisyNetClassifier(mixup_alpha=0.4, **{**FAST, "random_state": 1})
    assert not np.allclose(other_seed.fit(X, y).predict_proba(X), first)


def test_mixup_with_robust_criterion_and_sample_weight(data):
    X, y = data
    steps = []

    class Spy(NoisyNetClassifier):
        def train_step_single(self, batch, **fit_params):
            steps.append(super().train_step_single(batch, **fit_params))
            return steps[-1]

    weights = np.where(y == 0, 3.0, 1.0)
    clf = Spy(criterion=GCELoss, mixup_alpha=0.4, **FAST).fit(X, y, sample_weight=weights)
    assert len(steps) == 3 * 4
    assert all(s["losses"].shape == (len(s["y_pred"]),) for s in steps)
    # GCE is bounded by 1 / q: so is any mixture of two GCE values.
    assert all(float(s["losses"].max()) <= 1 / 0.7 + 1e-6 for s in steps)
    assert np.isfinite(clf.predict_proba(X)).all()
    unweighted = Spy(criterion=GCELoss, mixup_alpha=0.4, **FAST).fit(X, y)
    assert not np.allclose(unweighted.predict_proba(X), clf.predict_proba(X))


def test_mixup_grid_search(data):
    X, y = data
    search = GridSearchCV(NoisyNetClassifier(**FAST), {"mixup_alpha": [0.0, 0.4]}, cv=2)
    search.fit(X, y)
    # The searched value reaches training: the two candidates fit different models.
    off, on = (clone(search.estimator).set_params(mixup_alpha=a).fit(X, y) for a in (0.0, 0.4))
    assert not np.allclose(off.predict_proba(X), on.predict_proba(X))
    assert list(search.cv_results_["param_mixup_alpha"]) == [0.0, 0.4]
    assert search.best_estimator_.mixup_alpha == search.best_params_["mixup_alpha"]


@pytest.mark.parametrize("value, error, message", [
    (-0.1, ValueError, r"'mixup_alpha' parameter of NoisyNetClassifier must be a float in "
                       r"the range \[0.0, inf\)"),
    ("strong", ValueError, "'mixup_alpha' parameter"),
    (True, TypeError, "mixup_alpha is the Beta parameter"),
])
def test_mixup_invalid_values_are_named(data, value, error, message):
    with pytest.raises(error, match=message):
        NoisyNetClassifier(mixup_alpha=value, **FAST).fit(*data)


def test_mixup_rejected_by_a_method_with_its_own_step(data):
    X, y = data
    clf = CoTeachingClassifier(forget_rate=0.2, warm_start=True, **FAST).fit(X, y)
    weights = [p.detach().clone() for p in clf.module_.parameters()]
    clf.set_params(mixup_alpha=0.3)
    with pytest.raises(ValueError, match=r"CoTeachingClassifier trains with its own "
                                         r"train_step_single.*mixup_alpha=0.3"):
        clf.fit(X, y)
    # Raised before the optimizer stepped: the warm-started weights are untouched.
    assert all(torch.equal(a, b) for a, b in zip(weights, clf.module_.parameters()))

    class OwnStep(NoisyNetClassifier):
        def train_step_single(self, batch, **fit_params):
            self._set_training(True)
            loss = self.get_loss(self.infer(batch[0]), batch[1], training=True)
            loss.backward()
            return {"loss": loss, "y_pred": None}

    with pytest.raises(ValueError, match="OwnStep trains with its own"):
        OwnStep(mixup_alpha=0.3, **FAST).fit(X, y)


def test_mixup_works_for_a_method_that_wraps_the_core_step(data):
    # The noisy student perturbs its inputs, then trains through the core's step.
    X, y = data
    params = dict(teacher="reg", student_noise=0.1, **FAST)
    mixed = DistilledStudentClassifier(mixup_alpha=0.4, **params).fit(X, y)
    plain = DistilledStudentClassifier(**params).fit(X, y)
    assert not np.allclose(mixed.predict_proba(X), plain.predict_proba(X))


# -- what it is for ------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_mixup_beats_last_epoch_cross_entropy_on_noisy_digits(seed):
    # 40% symmetric noise on 500 digits, 30 epochs: cross entropy memorises the wrong
    # labels (about 0.61-0.66 on clean test rows, seeds 0-3), mixup (alpha=1) much less
    # (0.73-0.78).
    X_train, y_noisy, X_test, y_test, params = small_noisy_digits(seed)
    ce = NoisyNetClassifier(**params).fit(X_train, y_noisy).score(X_test, y_test)
    mixup = NoisyNetClassifier(mixup_alpha=1.0, **params).fit(X_train, y_noisy)
    assert mixup.score(X_test, y_test) > ce + 0.04
