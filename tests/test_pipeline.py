import inspect
import pickle

import numpy as np
import pytest
from imblearn.pipeline import Pipeline as ImblearnPipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline as SklearnPipeline
from sklearn.pipeline import make_pipeline as sklearn_make_pipeline
from sklearn.preprocessing import StandardScaler

from sknoisy import NoisyNetClassifier
from sknoisy.detectors import BMMLabelCleaner, O2UNoiseDetector
from sknoisy.pipeline import NoTransform, Pipeline, make_pipeline

NET = {"module__hidden_sizes": (8,)}


def _detector():
    return BMMLabelCleaner(NoisyNetClassifier(lr=1e-2, batch_size=64, **NET), warmup_epochs=10,
                           random_state=0)


def _classifier():
    return NoisyNetClassifier(max_epochs=15, lr=1e-2, batch_size=64, module__hidden_sizes=(8,),
                              random_state=0)


@pytest.fixture(scope="module")
def string_data():
    X, y = make_blobs(n_samples=240, centers=3, cluster_std=1.0, random_state=0)
    y = np.array(["red", "green", "blue"])[y]
    y_noisy = y.copy()
    y_noisy[:30] = np.roll(y[:30], 1)
    return X.astype(np.float32), y_noisy, y


def test_pipeline_names_bare_steps_and_keeps_params_unchanged():
    steps = [StandardScaler(), O2UNoiseDetector(), LogisticRegression()]
    pipe = Pipeline(steps)
    assert pipe.get_params()["steps"] is steps
    assert pipe.get_params(deep=False)["steps"] is steps
    assert [name for name, _ in pipe.steps] == ["standardscaler", "o2unoisedetector",
                                                "logisticregression"]
    assert pipe.named_steps["o2unoisedetector"] is steps[1]
    pipe.set_params(o2unoisedetector__noise_rate=0.3)
    assert steps[1].noise_rate == 0.3
    assert pipe.get_params()["o2unoisedetector__noise_rate"] == 0.3


def test_pipeline_clone_and_step_replacement():
    pipe = Pipeline([("scale", StandardScaler()), LogisticRegression(C=2.0)])
    twin = clone(pipe)
    assert [n for n, _ in twin.steps] == ["scale", "logisticregression"]
    assert twin.named_steps["logisticregression"].C == 2.0
    assert twin.named_steps["logisticregression"] is not pipe.named_steps["logisticregression"]
    new = LogisticRegression(C=0.1)
    twin.set_params(logisticregression=new)
    assert twin.named_steps["logisticregression"] is new


def test_pipeline_names_repeated_classes_like_make_pipeline():
    pipe = make_pipeline(StandardScaler(), StandardScaler(), LogisticRegression())
    assert [n for n, _ in pipe.steps] == ["standardscaler-1", "standardscaler-2",
                                          "logisticregression"]
    assert isinstance(pipe, Pipeline)


@pytest.mark.filterwarnings("ignore::sknoisy.exceptions.VanishingClassWarning")
def test_pipeline_detector_cleans_only_during_fit(string_data):
    X, y_noisy, y_true = string_data
    pipe = make_pipeline(_detector(), _classifier()).fit(X, y_noisy)
    det = pipe.named_steps["bmmlabelcleaner"]
    clf = pipe.named_steps["noisynetclassifier"]
    assert clf.n_samples_fit_ == len(det.sample_indices_) < len(X)
    # predict runs on every row (the detector is skipped) and returns the string labels
    assert pipe.predict(X).shape == (len(X),)
    assert np.mean(pipe.predict(X) == y_true) > 0.8
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict(X), pipe.predict(X))


@pytest.mark.filterwarnings("ignore::sknoisy.exceptions.VanishingClassWarning")
def test_grid_search_over_detector_and_classifier_with_string_labels(string_data):
    X, y_noisy, y_true = string_data
    pipe = Pipeline([_detector(), _classifier()])
    search = GridSearchCV(pipe, {"bmmlabelcleaner__threshold": [0.3, 0.7],
                                 "noisynetclassifier__lr": [1e-2]}, cv=2, error_score="raise")
    search.fit(X, y_noisy)
    assert pipe.get_params()["bmmlabelcleaner__threshold"] == 0.5  # original untouched
    assert np.mean(search.predict(X) == y_true) > 0.8


class _Cleaner(RandomUnderSampler):
    """A resampler marked as a detector is, for the NoTransform tests."""

    transform = NoTransform()


@pytest.mark.parametrize("build", [
    lambda step: SklearnPipeline([("clean", step), ("clf", LogisticRegression())]),
    lambda step: sklearn_make_pipeline(StandardScaler(), step, LogisticRegression()),
])
def test_no_transform_names_sknoisy_pipeline_in_sklearns(string_data, build):
    X, y_noisy, _ = string_data
    with pytest.raises(TypeError, match=r"_Cleaner resamples .* Use sknoisy\.Pipeline"):
        build(_Cleaner(random_state=0)).fit(X, y_noisy)


def test_no_transform_keeps_resampling_pipelines_working(string_data):
    X, y_noisy, _ = string_data
    assert not hasattr(_Cleaner(), "transform") and not hasattr(_Cleaner, "transform")
    with pytest.raises(AttributeError, match="fit_resample"):
        _Cleaner().transform(X)
    for pipe in (Pipeline([_Cleaner(random_state=0), LogisticRegression()]),
                 ImblearnPipeline([("clean", _Cleaner(random_state=0)),
                                   ("clf", LogisticRegression())])):
        assert pipe.fit(X, y_noisy).predict(X).shape == (len(X),)


@pytest.mark.parametrize("detector", [BMMLabelCleaner, O2UNoiseDetector])
def test_sklearn_pipeline_rejects_a_detector_naming_sknoisy_pipeline(string_data, detector):
    X, y_noisy, _ = string_data
    pipe = SklearnPipeline([("det", detector()), ("clf", LogisticRegression())])
    assert isinstance(inspect.getattr_static(detector, "transform", None), NoTransform)
    with pytest.raises(TypeError, match=rf"{detector.__name__} .* sknoisy\.Pipeline"):
        pipe.fit(X, y_noisy)


def test_pipeline_rejects_non_list_steps():
    with pytest.raises(TypeError, match="steps"):
        Pipeline(42)
