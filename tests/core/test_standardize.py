"""The core standardises tabular inputs with statistics learned in fit."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from sknoisy import NoisyNetClassifier

FAST = dict(max_epochs=15, lr=1e-2, batch_size=32, module__hidden_sizes=(16,),
            random_state=0)


@pytest.fixture
def data():
    X, y = make_classification(n_samples=240, n_features=6, n_informative=4, n_redundant=0,
                               n_classes=3, random_state=0)
    return X.astype(np.float32), y


def _unscaled(X):
    # Features in very different units, as raw measurements are.
    scales = 10.0 ** np.arange(-2, 4, dtype=np.float32)
    return (X * scales + 7 * scales).astype(np.float32)


def test_unscaled_and_scaled_inputs_give_the_same_model(data):
    X, y = data
    on_scaled = NoisyNetClassifier(**FAST).fit(X, y)
    on_raw = NoisyNetClassifier(**FAST).fit(_unscaled(X), y)
    np.testing.assert_allclose(on_raw.predict_proba(_unscaled(X)), on_scaled.predict_proba(X),
                               atol=1e-3)
    # Without standardisation the raw units ruin training.
    raw_off = NoisyNetClassifier(standardize=False, **FAST).fit(_unscaled(X), y)
    assert raw_off.score(_unscaled(X), y) < on_raw.score(_unscaled(X), y) - 0.1


def test_statistics_are_learned_in_fit_and_applied_to_every_input(data):
    X, y = data
    X_raw = _unscaled(X)
    net = NoisyNetClassifier(**FAST).fit(X_raw, y)
    np.testing.assert_allclose(net.input_mean_, X_raw.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(net.input_scale_, X_raw.std(axis=0), rtol=1e-5)
    seen = torch.as_tensor((X_raw - net.input_mean_) / net.input_scale_)
    with torch.no_grad():
        expected = torch.softmax(net.module_(seen), dim=1).numpy()
    np.testing.assert_allclose(net.predict_proba(X_raw), expected, rtol=1e-5, atol=1e-6)
    # skorch's own forward takes raw inputs too.
    np.testing.assert_allclose(torch.softmax(net.forward(X_raw), 1).numpy(), expected,
                               rtol=1e-5, atol=1e-6)


def test_the_callers_array_is_not_modified(data):
    X, y = data
    X_raw = _unscaled(X)
    before = X_raw.copy()
    net = NoisyNetClassifier(**FAST).fit(X_raw, y)
    net.predict(X_raw)
    np.testing.assert_array_equal(X_raw, before)


def test_constant_feature_is_centred_not_scaled(data):
    X, y = data
    X = np.column_stack([X, np.full(len(X), 5.0, dtype=np.float32)])
    net = NoisyNetClassifier(**FAST).fit(X, y)
    assert net.input_scale_[-1] == 1.0 and net.input_mean_[-1] == pytest.approx(5.0)
    assert np.all(np.isfinite(net.predict_proba(X)))


def test_images_and_standardize_false_are_left_alone(data):
    X, y = data
    images = np.random.default_rng(0).random((60, 6, 6), dtype=np.float32)
    net = NoisyNetClassifier(max_epochs=1, random_state=0).fit(images, np.arange(60) % 2)
    assert net.input_mean_ is None and net.input_scale_ is None
    off = NoisyNetClassifier(standardize=False, **FAST).fit(X, y)
    assert off.input_mean_ is None
    seen = torch.as_tensor(X)
    with torch.no_grad():
        expected = torch.softmax(off.module_(seen), dim=1).numpy()
    np.testing.assert_allclose(off.predict_proba(X), expected, rtol=1e-5, atol=1e-6)


def test_partial_fit_and_pickle_keep_the_statistics(data):
    X, y = data
    X_raw = _unscaled(X)
    net = NoisyNetClassifier(**{**FAST, "max_epochs": 2}).fit(X_raw, y)
    mean = net.input_mean_.copy()
    net.partial_fit(X_raw[:50] * 3, y[:50])  # other data: the fitted scaler stays
    np.testing.assert_array_equal(net.input_mean_, mean)
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.input_scale_, net.input_scale_)
    np.testing.assert_allclose(restored.predict_proba(X_raw), net.predict_proba(X_raw))


def test_standardize_is_validated_and_searchable(data):
    X, y = data
    with pytest.raises(ValueError, match="standardize"):
        NoisyNetClassifier(standardize="yes", **FAST).fit(X, y)
    search = GridSearchCV(NoisyNetClassifier(**{**FAST, "max_epochs": 3}),
                          {"standardize": [True, False]}, cv=2).fit(_unscaled(X), y)
    assert search.best_params_ == {"standardize": True}
