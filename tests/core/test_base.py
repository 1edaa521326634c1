"""Behaviour of the shared training core, NoisyNetClassifier."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from skorch.dataset import ValidSplit

from sknoisy import CoTeachingClassifier, NoisyNetClassifier
from sknoisy._core._data import TensorDataset
from sknoisy.modules import MLP, ConvNet

FAST = dict(max_epochs=5, lr=1e-2, batch_size=32, module__hidden_sizes=(16,), random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=120, n_features=6, n_informative=4, n_classes=3,
                               random_state=0)
    return X, y


def test_noisynet_string_labels_round_trip(data):
    X, y = data
    labels = np.array(["cat", "dog", "emu"])[y]
    clf = NoisyNetClassifier(**FAST).fit(X, labels)
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    pred = clf.predict(X)
    assert set(pred) <= {"cat", "dog", "emu"}
    assert np.mean(pred == labels) > 0.6


def test_noisynet_noncontiguous_int_labels(data):
    X, y = data
    labels = np.array([5, 17, 42])[y]
    clf = NoisyNetClassifier(**FAST).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, [5, 17, 42])
    assert set(np.unique(clf.predict(X))) <= {5, 17, 42}


def test_noisynet_pandas_categorical_and_dataframe(data):
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    target = pd.Series(pd.Categorical(np.array(["lo", "mid", "hi"])[y]))
    clf = NoisyNetClassifier(**FAST).fit(frame, target)
    np.testing.assert_array_equal(clf.feature_names_in_, frame.columns)
    assert clf.n_features_in_ == 6
    proba = clf.predict_proba(frame)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # columns follow classes_: the argmax column's label is what predict returns
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(frame))


def test_noisynet_float64_input_untouched(data):
    X, y = data
    X_before = X.copy()
    NoisyNetClassifier(**FAST).fit(X, y).predict(X)
    np.testing.assert_array_equal(X, X_before)
    assert X.dtype == np.float64


def test_noisynet_lists_accepted(data):
    X, y = data
    clf = NoisyNetClassifier(**FAST).fit(X.tolist(), y.tolist())
    assert clf.predict(X[:4].tolist()).shape == (4,)


def test_noisynet_module_inferred_from_shape_and_params_stay_clean(data):
    X, y = data
    clf = NoisyNetClassifier(**FAST)
    params_before = clf.get_params()
    clf.fit(X, y)
    assert isinstance(clf.module_, MLP)
    assert clf.module_.layers[0].in_features == 6
    assert clf.module_.layers[-1].out_features == 3
    assert clf.get_params() .keys() == params_before.keys()
    assert clone(clf).get_params()["module"] is None


@pytest.mark.parametrize("shape", [(8, 8), (1, 8, 8)])
def test_noisynet_images_use_convnet(shape):
    rng = np.random.RandomState(0)
    X = rng.rand(64, *shape).astype(np.float32)
    y = (X.reshape(64, -1).mean(1) > 0.5).astype(int)
    clf = NoisyNetClassifier(max_epochs=2, batch_size=16, random_state=0).fit(X, y)
    assert isinstance(clf.module_, ConvNet)
    assert clf.predict_proba(X).shape == (64, 2)
    assert clf.n_features_in_ == 64


def test_noisynet_user_module_and_module_params(data):
    X, y = data

    class Linear(torch.nn.Module):
        def __init__(self, n_features, n_classes, scale=1.0):
            super().__init__()
            self.scale = scale
            self.lin = torch.nn.Linear(n_features, n_classes)

        def forward(self, X):
            return self.lin(X) * self.scale

    clf = NoisyNetClassifier(Linear, module__scale=2.0, max_epochs=2, random_state=0).fit(X, y)
    assert isinstance(clf.module_, Linear) and clf.module_.scale == 2.0
    assert clf.module_.lin.in_features == 6


def test_noisynet_gridsearch_over_lr_and_module_params(data):
    X, y = data
    grid = GridSearchCV(NoisyNetClassifier(max_epochs=3, batch_size=32, random_state=0),
                        {"lr": [1e-3, 1e-2], "module__hidden_sizes": [(8,), (16,)]}, cv=2)
    grid.set_params(error_score="raise").fit(X, y)
    best = grid.best_estimator_
    # The routed module parameter and the lr reached the refitted network.
    assert best.module_.layers[0].out_features == grid.best_params_["module__hidden_sizes"][0]
    assert best.optimizer_.param_groups[0]["lr"] == grid.best_params_["lr"]


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_noisynet_serialisation_round_trip(data, dump, tmp_path):
    X, y = data
    clf = NoisyNetClassifier(**FAST).fit(X, y)
    if dump == "pickle":
        restored = pickle.loads(pickle.dumps(clf))
    else:
        joblib.dump(clf, tmp_path / "m.joblib")
        restored = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X))
    unfitted = pickle.loads(pickle.dumps(NoisyNetClassifier(**FAST)))
    assert unfitted.get_params()["lr"] == FAST["lr"]


def test_noisynet_leaves_global_torch_rng_alone(data):
    X, y = data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    NoisyNetClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_noisynet_sample_weight_changes_fit():
    # Two overlapping classes: giving class 1 zero weight makes the net never predict it.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(int)
    weights = np.where(y == 1, 0.0, 1.0)
    clf = NoisyNetClassifier(max_epochs=20, lr=1e-2, random_state=0)
    unweighted = clf.fit(X, y).predict(X)
    weighted = clone(clf).fit(X, y, sample_weight=weights).predict(X)
    assert np.mean(unweighted == 1) > 0.3
    assert np.mean(weighted == 1) < 0.05


def test_noisynet_sample_weight_scale_invariant(data):
    X, y = data
    w = np.random.RandomState(0).rand(len(y)) + 0.1
    a = NoisyNetClassifier(**FAST).fit(X, y, sample_weight=w).predict_proba(X)
    b = NoisyNetClassifier(**FAST).fit(X, y, sample_weight=10 * w).predict_proba(X)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


class _IndexRecorder(NoisyNetClassifier):
    def get_loss(self, y_pred, y_true, X=None, training=False, indices=None):
        if training:
            self.seen_.append(indices.cpu().numpy().copy())
        return super().get_loss(y_pred, y_true, X=X, training=training, indices=indices)


def test_noisynet_batches_carry_indices_each_row_once_per_epoch(data, monkeypatch):
    X, y = data

    def forbidden(self, i):
        raise AssertionError("the fast data path must not call __getitem__")

    monkeypatch.setattr(TensorDataset, "__getitem__", forbidden)
    clf = _IndexRecorder(max_epochs=1, batch_size=32, random_state=0)
    clf.seen_ = []
    clf.fit(X, y)
    seen = np.concatenate(clf.seen_)
    np.testing.assert_array_equal(np.sort(seen), np.arange(len(X)))
    assert not np.array_equal(seen, np.arange(len(X))), "batches should be shuffled"


def test_noisynet_indices_match_rows(data):
    X, y = data

    class Check(NoisyNetClassifier):
        def get_loss(self, y_pred, y_true, X=None, training=False, indices=None):
            np.testing.assert_array_equal(y_true.numpy(), y[indices.numpy()])
            return super().get_loss(y_pred, y_true, X=X, training=training, indices=indices)

    Check(max_epochs=1, batch_size=16, random_state=0).fit(X, y)


def test_noisynet_verbose_levels(data, capsys):
    X, y = data
    NoisyNetClassifier(**{**FAST, "max_epochs": 2}, verbose=0).fit(X, y)
    silent = capsys.readouterr()
    assert silent.out == "" and silent.err == ""
    NoisyNetClassifier(**{**FAST, "max_epochs": 2}, verbose=1).fit(X, y)
    shown = capsys.readouterr()
    assert "train_loss" in shown.out
    assert shown.err == ""  # the bar is verbose=2's, and only on a terminal (test_logging.py)


def test_noisynet_valid_split_reports_accuracy(data):
    X, y = data
    split = ValidSplit(4, stratified=True)
    clf = NoisyNetClassifier(**FAST, train_split=split).fit(X, y)
    # valid_acc is the accuracy of the final network on the held-out fold, by hand.
    _, valid = split(clf.get_dataset(X.astype(np.float32), clf.classes_.searchsorted(y)),
                     y=y)
    rows = np.asarray(valid.indices)
    expected = np.mean(clf.predict(X[rows]) == y[rows])
    assert clf.history[-1, "valid_acc"] == pytest.approx(expected)
    assert "valid_loss" in clf.history[-1]


def test_noisynet_warm_start_and_partial_fit_continue(data):
    X, y = data
    clf = NoisyNetClassifier(**{**FAST, "max_epochs": 2}, warm_start=True).fit(X, y)
    first = clf.module_.layers[0].weight.detach().clone()
    clf.fit(X, y)
    assert len(clf.history) == 4
    assert not torch.equal(first, clf.module_.layers[0].weight)
    inc = NoisyNetClassifier(**{**FAST, "max_epochs": 1})
    inc.partial_fit(X[:60], y[:60], classes=[0, 1, 2])
    inc.partial_fit(X[60:], y[60:])
    assert len(inc.history) == 2


def test_noisynet_robust_criterion_instance_not_modified(data):
    X, y = data
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    clf = NoisyNetClassifier(criterion=criterion, **FAST).fit(X, y)
    assert criterion.reduction == "mean"
    assert clf.criterion_.reduction == "none"
    assert clf.criterion_.label_smoothing == 0.1


def test_noisynet_batch_level_criterion_rejects_sample_weight(data):
    X, y = data

    class BatchLoss(torch.nn.Module):
        def forward(self, logits, target):
            return torch.nn.functional.cross_entropy(logits, target)

    NoisyNetClassifier(criterion=BatchLoss, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="sample_weight cannot be applied"):
        NoisyNetClassifier(criterion=BatchLoss, **FAST).fit(X, y, sample_weight=np.ones(len(y)))


@pytest.mark.parametrize(
    "X_bad, y_bad, error, match",
    [
        ("nan", None, ValueError, "NaN"),
        ("inf", None, ValueError, "infinity"),
        (None, "one_class", ValueError, "at least 2 classes"),
        (None, "short", ValueError, "inconsistent numbers of samples"),
        ("empty", "empty", ValueError, "0 sample"),
        (None, "2d", ValueError, "y must be 1-D"),
        (None, "mixed", TypeError, "mixes label types"),
        (None, "continuous", ValueError, "Unknown label type"),
        ("strings", None, TypeError, "non-numeric columns"),
        ("zero_features", None, ValueError, "0 feature"),
    ],
)
def test_noisynet_bad_input_errors(data, X_bad, y_bad, error, match):
    X, y = data
    X, y = X.copy(), y.copy()
    if X_bad == "nan":
        X[3, 1] = np.nan
    elif X_bad == "inf":
        X[3, 1] = np.inf
    elif X_bad == "empty":
        X = X[:0]
    elif X_bad == "strings":
        X = pd.DataFrame({"a": X[:, 0], "b": ["x"] * len(X)})
    elif X_bad == "zero_features":
        X = X[:, :0]
    if y_bad == "one_class":
        y = np.zeros(len(y), dtype=int)
    elif y_bad == "short":
        y = y[:-1]
    elif y_bad == "empty":
        y = y[:0]
    elif y_bad == "2d":
        y = np.stack([y, y], axis=1)
    elif y_bad == "mixed":
        y = np.array([1, "a"] * (len(y) // 2), dtype=object)
    elif y_bad == "continuous":
        y = np.linspace(0, 1, len(y))
    with pytest.raises(error, match=match):
        NoisyNetClassifier(**FAST).fit(X, y)


def test_noisynet_invalid_parameters(data):
    X, y = data
    with pytest.raises(ValueError, match="lr"):
        NoisyNetClassifier(lr=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="max_epochs"):
        NoisyNetClassifier(max_epochs=-2).fit(X, y)


def test_noisynet_predict_shape_mismatch(data):
    X, y = data
    clf = NoisyNetClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features"):
        clf.predict(X[:, :5])


def test_noisynet_real_fashion_mnist_images():
    from sknoisy import datasets
    try:
        rng = np.random.RandomState(0)
        X, y = datasets.load_fashion_mnist(
            return_X_y=True, as_images=True, n_samples=1000, random_state=rng)
        X_test, y_test = datasets.load_fashion_mnist(
            subset="test", return_X_y=True, as_images=True, n_samples=300, random_state=rng)
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST files absent: apt-get install dataset-fashion-mnist")
    clf = NoisyNetClassifier(max_epochs=4, batch_size=32, random_state=0).fit(X, y)
    assert isinstance(clf.module_, ConvNet)
    assert np.mean(clf.predict(X_test) == y_test) > 0.4  # chance is 0.1


def test_noisynet_warmup_epochs_use_cross_entropy(data):
    X, y = data
    calls = []

    class Counting(torch.nn.Module):
        def __init__(self, reduction="none"):
            super().__init__()
            self.reduction = reduction

        def forward(self, logits, target):
            calls.append(1)
            return torch.nn.functional.cross_entropy(logits, target, reduction=self.reduction)

    n_batches = int(np.ceil(len(X) / 32))
    NoisyNetClassifier(criterion=Counting, warmup_epochs=2, **{**FAST, "max_epochs": 3}).fit(X, y)
    assert len(calls) == n_batches  # only the third epoch used the criterion


@pytest.mark.parametrize("estimator, params, hint", [
    (NoisyNetClassifier, {"n_epochs": 5}, "did you mean max_epochs"),
    (NoisyNetClassifier, {"learning_rate": 0.01}, "did you mean lr"),
    (NoisyNetClassifier, {"hidden_layer_sizes": (64,)}, "did you mean module__hidden_sizes"),
    (NoisyNetClassifier, {"weight_decay": 1e-4}, "did you mean optimizer__weight_decay"),
    (NoisyNetClassifier, {"max_epoch": 3}, "did you mean max_epochs"),
    (CoTeachingClassifier, {"forgetrate": 0.4}, "did you mean forget_rate"),
])
def test_unknown_parameter_is_a_type_error_with_the_closest_name(data, estimator, params,
                                                                 hint):
    X, y = data
    with pytest.raises(TypeError, match=f"{list(params)[0]}.*{hint}"):
        estimator(**params).fit(X, y)


def test_routed_parameters_still_pass_and_missing_dunder_is_explained(data):
    X, y = data
    clf = NoisyNetClassifier(max_epochs=1, module__hidden_sizes=(8,),
                             optimizer__weight_decay=1e-4, iterator_train__drop_last=True)
    assert clf.fit(X, y).module_.layers[0].out_features == 8
    with pytest.raises(ValueError, match="did you mean iterator_train__shuffle"):
        NoisyNetClassifier(max_epochs=1, iterator_train_shuffle=False).fit(X, y)


def test_convnet_keeps_the_spatial_map_and_checks_its_sizes():
    net = ConvNet(in_channels=1, n_classes=10)
    # Two blocks of 16 and 32 channels; a 28x28 image leaves a 7x7 map, flattened into the
    # 128-unit hidden layer.
    assert net.dense[0].in_features == 32 * 7 * 7 and net.dense[0].out_features == 128
    assert net(torch.zeros(4, 28, 28)).shape == (4, 10)
    # Any image size: the map is average-pooled to pooled_size (1: global pooling).
    small = ConvNet(in_channels=3, n_classes=4, channels=(8,), pooled_size=1, hidden=0)
    assert small.classifier.in_features == 8 and len(small.dense) == 0
    assert small(torch.zeros(2, 3, 9, 13)).shape == (2, 4)
    for bad in (dict(pooled_size=0), dict(hidden=-1), dict(dropout=1.0)):
        with pytest.raises(ValueError, match="ConvNet"):
            ConvNet(in_channels=1, n_classes=2, **bad)
