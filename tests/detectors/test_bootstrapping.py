import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification

from sknoisy.detectors import DynamicBootstrappingClassifier


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
    assert len(clf.history[:, "mean_noise_weight"]) == 6  # epochs 5..10
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
