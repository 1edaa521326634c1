"""Reliability suite over every public estimator: bad input, determinism, persistence,
interruption and warm starts (issue 9). Estimators and their fast settings come from
``tests/_instances.py`` so a new method is covered by adding one line there."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone, is_classifier
from sklearn.datasets import make_classification
from skorch.callbacks import Callback

from sknoisy import NoisyNetClassifier

from ._instances import ALL_ESTIMATORS, INVALID_PARAMS

IDS = [type(est).__name__ for est in ALL_ESTIMATORS]


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=90, n_features=5, n_informative=3, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, random_state=0)
    return X, y


def _fit(est, X, y):
    """Fit a classifier, or fit-resample a detector; return the fitted estimator."""
    if hasattr(est, "fit_resample"):
        est.fit_resample(X, y)
    else:
        est.fit(X, y)
    return est


def _output(est, X):
    if is_classifier(est):
        return est.predict_proba(X)
    return est.noise_scores_


def _bad(kind, X, y):
    X, y = X.copy(), y.copy()
    if kind == "nan":
        X[0, 0] = np.nan
    elif kind == "inf":
        X[0, 0] = np.inf
    elif kind == "one_class":
        y[:] = 1
    elif kind == "length":
        y = y[:-3]
    elif kind == "empty":
        X, y = X[:0], y[:0]
    elif kind == "y_2d":
        y = np.stack([y, y], axis=1)
    elif kind == "y_mixed":
        y = np.array([1, "b", 2.5] * (len(y) // 3), dtype=object)
    elif kind == "no_features":
        X = X[:, :0]
    elif kind == "text_column":
        X = pd.DataFrame({"a": X[:, 0], "b": np.array(["u", "v", "w"])[y]})
    return X, y


BAD_INPUTS = ["nan", "inf", "one_class", "length", "empty", "y_2d", "y_mixed", "no_features",
              "text_column"]


@pytest.mark.parametrize("kind", BAD_INPUTS)
@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=IDS)
def test_bad_input_gets_clear_error(estimator, kind, data):
    X, y = _bad(kind, *data)
    X_before = X.copy()
    with pytest.raises((ValueError, TypeError)) as info:
        _fit(clone(estimator), X, y)
    message = str(info.value)
    assert "Traceback" not in message and len(message) > 15
    # the error comes from validation, never from inside torch
    assert "torch" not in type(info.value).__module__
    if isinstance(X, np.ndarray):
        np.testing.assert_array_equal(X, X_before)


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=IDS)
def test_fewer_samples_than_batch_size_works(estimator, data):
    X, y = data
    est = clone(estimator).set_params(batch_size=256) if "batch_size" in estimator.get_params() \
        else clone(estimator)
    _fit(est, X[:30], y[:30])
    assert len(_output(est, X[:30])) == 30


@pytest.mark.parametrize(
    "estimator, param, value",
    [(est, p, v) for est in ALL_ESTIMATORS for p, v in INVALID_PARAMS.get(type(est).__name__, [])],
    ids=[f"{type(est).__name__}-{p}={v!r}" for est in ALL_ESTIMATORS
         for p, v in INVALID_PARAMS.get(type(est).__name__, [])],
)
def test_invalid_parameter_named_in_error(estimator, param, value, data):
    est = clone(estimator).set_params(**{param: value})
    with pytest.raises((ValueError, TypeError), match=param.split("__")[-1]):
        _fit(est, *data)


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=IDS)
def test_inputs_never_modified(estimator, data):
    X, y = data
    frame = pd.DataFrame(X, columns=list("abcde"))
    labels = pd.Series(np.array(["x", "y", "z"])[y])
    frame_before, labels_before = frame.copy(), labels.copy()
    _fit(clone(estimator), frame, labels)
    pd.testing.assert_frame_equal(frame, frame_before)
    pd.testing.assert_series_equal(labels, labels_before)


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=IDS)
def test_same_seed_same_outputs_other_seed_other_outputs(estimator, data):
    # The determinism test of every estimator; method test files need no copy of it. The
    # other seed guards against a random_state that is accepted but ignored.
    X, y = data
    first = _output(_fit(clone(estimator), X, y), X)
    second = _output(_fit(clone(estimator), X, y), X)
    np.testing.assert_array_equal(first, second)
    other = _output(_fit(clone(estimator).set_params(random_state=1), X, y), X)
    assert not np.allclose(first, other)


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=IDS)
def test_pickle_and_joblib_round_trips(estimator, data, tmp_path):
    # The one persistence test of every estimator; method tests check only what their
    # own parameters add (a schedule callable, a criterion's settings).
    X, y = data
    fitted = _fit(clone(estimator), X, y)
    expected = _output(fitted, X)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(_output(restored, X), expected, rtol=1e-6)
    joblib.dump(fitted, tmp_path / "est.joblib")
    restored = joblib.load(tmp_path / "est.joblib")
    np.testing.assert_allclose(_output(restored, X), expected, rtol=1e-6)
    if is_classifier(fitted):
        np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))


class _InterruptAtEpoch(Callback):
    def __init__(self, epoch=2):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) >= self.epoch:
            raise KeyboardInterrupt


CLASSIFIERS = [est for est in ALL_ESTIMATORS if is_classifier(est)]


@pytest.mark.parametrize("estimator", CLASSIFIERS, ids=[type(e).__name__ for e in CLASSIFIERS])
def test_keyboard_interrupt_leaves_usable_model(estimator, data):
    X, y = data
    est = clone(estimator).set_params(max_epochs=6, callbacks=[("stop", _InterruptAtEpoch(2))])
    est.fit(X, y)
    assert len(est.history) == 2
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.all(np.isfinite(proba))


@pytest.mark.parametrize("estimator", CLASSIFIERS, ids=[type(e).__name__ for e in CLASSIFIERS])
def test_warm_start_continues_training(estimator, data):
    X, y = data
    est = clone(estimator).set_params(warm_start=True, max_epochs=2)
    est.fit(X, y)
    n_epochs = len(est.history)
    before = est.predict_proba(X)
    est.fit(X, y)
    assert len(est.history) == n_epochs + 2
    assert not np.allclose(est.predict_proba(X), before)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@needs_cuda
@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=IDS)
def test_cuda_fit_end_to_end(estimator, data):
    X, y = data
    params = ({"device": "cuda"} if "device" in estimator.get_params() else {})
    est = _fit(clone(estimator).set_params(**params), X, y)
    out = _output(est, X)
    assert np.all(np.isfinite(out))


@needs_cuda
def test_cuda_model_loads_and_predicts_on_cpu_only_machine(data, monkeypatch):
    X, y = data
    clf = NoisyNetClassifier(device="cuda", max_epochs=3, random_state=0).fit(X, y)
    expected = clf.predict_proba(X)
    blob = pickle.dumps(clf)
    # What a CPU-only machine sees: skorch maps the CUDA tensors to the CPU on load.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="(?i)cuda"):
        restored = pickle.loads(blob)
    assert restored.device == "cpu"
    np.testing.assert_allclose(restored.predict_proba(X), expected, rtol=1e-4, atol=1e-6)
