"""Early stopping in the core: a stratified noisy hold-out, patience, the best epoch restored."""

import copy

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit
from sklearn.datasets import make_classification

from sknoisy import NoisyNetClassifier
from sknoisy.classifiers import CoTeachingClassifier, DistilledStudentClassifier
from sknoisy.detectors import O2UNoiseDetector

FAST = dict(batch_size=64, lr=1e-2, module__hidden_sizes=(16,), random_state=0)


@pytest.fixture(scope="module")
def noisy():
    X, y = make_classification(n_samples=400, n_features=8, n_informative=5, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, random_state=0)
    rng = np.random.default_rng(0)
    flip = rng.random(len(y)) < 0.4
    return X.astype(np.float32), np.where(flip, (y + 1) % 3, y)


class Snapshots(Callback):
    """Keeps every registered network's weights after each epoch."""

    def initialize(self):
        self.weights_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.weights_.append({name: copy.deepcopy(getattr(net, name + "_").state_dict())
                              for name in net._modules})


def _equal(a, b):
    return all(torch.equal(a[key], b[key]) for key in a)


@pytest.mark.parametrize("cls", [NoisyNetClassifier, CoTeachingClassifier])
def test_early_stopping_restores_the_best_epoch_of_every_network(noisy, cls):
    X, y = noisy
    snapshots = Snapshots()
    clf = cls(early_stopping=True, n_iter_no_change=3, max_epochs=60,
              callbacks=[("snapshots", snapshots)], **FAST).fit(X, y)
    scores = np.array(clf.history[:, "valid_acc"])
    best = int(np.argmax(scores))   # the first epoch with the highest score
    assert clf.best_epoch_ == best + 1
    assert clf.best_validation_score_ == pytest.approx(scores[best])
    # Stopped after three epochs without a better score.
    assert len(scores) == best + 1 + 3 and np.all(scores[best + 1:] <= scores[best])
    for name in clf._modules:
        assert _equal(getattr(clf, name + "_").state_dict(), snapshots.weights_[best][name])
    assert not _equal(clf.module_.state_dict(), snapshots.weights_[-1]["module"])


def test_early_stopping_holds_out_a_stratified_tenth(noisy):
    X, y = noisy
    seen = []

    class Sizes(Callback):
        def on_train_begin(self, net, X=None, y=None, **kwargs):
            seen.append(np.bincount(y, minlength=3))

    clf = NoisyNetClassifier(early_stopping=True, max_epochs=2,
                             callbacks=[("sizes", Sizes())], **FAST).fit(X, y)
    assert clf.n_samples_fit_ == len(X) - 40
    # Each class keeps 90% of its rows for training, up to rounding.
    np.testing.assert_allclose(seen[0], 0.9 * np.bincount(y), atol=1)
    assert "valid_acc" in clf.history[-1]
    # The same seed holds out the same rows and trains the same network.
    again = NoisyNetClassifier(early_stopping=True, max_epochs=2, **FAST).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_early_stopping_auto_needs_a_thousand_rows(noisy):
    X, y = noisy
    small = NoisyNetClassifier(max_epochs=2, **FAST).fit(X, y)
    assert small.get_params()["early_stopping"] == "auto"
    assert small.n_samples_fit_ == len(X) and not hasattr(small, "best_epoch_")
    assert "valid_acc" not in small.history[-1]
    X_big = np.repeat(X, 3, axis=0)
    y_big = np.repeat(y, 3)
    big = NoisyNetClassifier(max_epochs=2, **FAST).fit(X_big, y_big)
    assert big.n_samples_fit_ == len(X_big) - 120 and big.best_epoch_ in (1, 2)
    # The user's own train_split wins over 'auto'; with early_stopping=True it clashes.
    own = NoisyNetClassifier(max_epochs=1, train_split=ValidSplit(5), **FAST).fit(X_big, y_big)
    assert own.n_samples_fit_ == len(X_big) and not hasattr(own, "best_epoch_")
    with pytest.raises(ValueError, match="train_split"):
        NoisyNetClassifier(early_stopping=True, train_split=ValidSplit(5),
                           **FAST).fit(X, y)


def test_partial_fit_and_a_refit_without_early_stopping(noisy):
    X, y = noisy
    clf = NoisyNetClassifier(early_stopping=True, max_epochs=2, **FAST)
    clf.partial_fit(X, y)
    assert clf.n_samples_fit_ == len(X) and not hasattr(clf, "best_epoch_")
    clf.fit(X, y)
    assert hasattr(clf, "best_epoch_")
    clf.set_params(early_stopping=False).fit(X, y)
    assert not hasattr(clf, "best_epoch_") and clf.n_samples_fit_ == len(X)


def test_early_stopping_gives_the_method_its_training_part(noisy):
    # A teacher fitted by the student sees the training part only (its soft labels are
    # looked up by training-row position).
    X, y = noisy
    clf = DistilledStudentClassifier(teacher="self", teacher_cv=2, early_stopping=True,
                                     max_epochs=3, **FAST).fit(X, y, sample_weight=np.ones(len(y)))
    assert clf.teacher_.oof_proba_.shape == (len(X) - 40, 3)


def test_detectors_train_on_every_row(noisy):
    X, y = noisy
    X_big, y_big = np.repeat(X, 3, axis=0), np.repeat(y, 3)
    detector = O2UNoiseDetector(estimator=NoisyNetClassifier(**FAST), warmup_epochs=1,
                                n_cycles=1, cycle_length=1, random_state=0).fit(X_big, y_big)
    assert detector.noise_scores_.shape == (len(X_big),)
    assert detector.estimator_.n_samples_fit_ == len(X_big)
    assert detector.estimator.early_stopping == "auto"   # the user's estimator is untouched
    with pytest.raises(ValueError, match="early_stopping=True"):
        O2UNoiseDetector(estimator=NoisyNetClassifier(early_stopping=True, **FAST)).fit(X, y)


@pytest.mark.parametrize("params, match", [
    ({"validation_fraction": 0.0}, "validation_fraction"),
    ({"validation_fraction": 1.0}, "validation_fraction"),
    ({"n_iter_no_change": 0}, "n_iter_no_change"),
    ({"early_stopping": "yes"}, "early_stopping"),
    ({"early_stoping": True}, "did you mean early_stopping"),
])
def test_early_stopping_bad_parameters(noisy, params, match):
    X, y = noisy
    with pytest.raises((ValueError, TypeError), match=match):
        NoisyNetClassifier(max_epochs=1, **FAST, **params).fit(X, y)


def test_early_stopping_with_too_few_rows_says_so():
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.array([0, 1] * 3)
    with pytest.raises(ValueError, match="validation_fraction=0.9"):
        NoisyNetClassifier(early_stopping=True, validation_fraction=0.9, max_epochs=1,
                           **FAST).fit(X[:1].repeat(2, axis=0), y[:2])
    clf = NoisyNetClassifier(early_stopping=True, max_epochs=1, **FAST).fit(X, y)
    assert clf.n_samples_fit_ == 5
