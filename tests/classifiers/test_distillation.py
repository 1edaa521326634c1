"""Tests of DistilledStudentClassifier: every teacher mode, soft labels, errors, clone/pickle."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from sknoisy import NoisyNetClassifier
from sknoisy._core._state import FitState
from sknoisy.classifiers import DistilledStudentClassifier
from sknoisy.classifiers._teachers import CrossFittedTeacher, align_proba, is_fitted
from sknoisy.losses import DistillationLoss

FAST = dict(max_epochs=2, batch_size=32, lr=1e-2, module__hidden_sizes=(8,), random_state=0)
NAMES = np.array(["cat", "dog", "owl"])


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=90, n_features=5, n_informative=3, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, random_state=0)
    return X.astype(np.float32), NAMES[y]


class RecordingLoss(DistillationLoss):
    """DistillationLoss that keeps the targets and soft labels it was given."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def forward(self, student_logits, target, **kwargs):
        self.seen.append((target.clone(), kwargs["teacher_probs"].clone()))
        return super().forward(student_logits, target, **kwargs)


def first_batch_soft_labels(X, y, **params):
    """Soft labels of all rows in training order (one full, unshuffled batch)."""
    clf = DistilledStudentClassifier(criterion=RecordingLoss, **{
        **FAST, "max_epochs": 1, "batch_size": -1, "iterator_train__shuffle": False, **params})
    clf.fit(X, y)
    target, soft = clf.criterion_.seen[0]
    return clf, target.numpy(), soft.numpy()


class CountingTeacher:
    """A fitted teacher (no fit method) that counts its predict_proba calls."""

    def __init__(self, model, classes_order=None):
        self.model = model
        order = np.arange(len(model.classes_)) if classes_order is None else classes_order
        self.order = np.asarray(order)
        self.classes_ = model.classes_[self.order]
        self.calls = 0

    def predict_proba(self, X):
        self.calls += 1
        return self.model.predict_proba(X)[:, self.order]


def test_distilled_fitted_sklearn_teacher_used_as_is(data):
    X, y = data
    lr = LogisticRegression(max_iter=300).fit(X, y)
    coef = lr.coef_.copy()
    clf, target, soft = first_batch_soft_labels(X, y, teacher=lr)
    assert clf.teacher_ is lr and clf.teachers_ == [lr]
    np.testing.assert_array_equal(lr.coef_, coef)
    np.testing.assert_allclose(soft, lr.predict_proba(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(NAMES[target], y)


def test_distilled_unfitted_sklearn_teacher_is_cloned_and_fitted(data):
    X, y = data
    lr = LogisticRegression(max_iter=300)
    clf, _, soft = first_batch_soft_labels(X, y, teacher=lr, teacher_cv=None)
    assert not is_fitted(lr), "the teacher parameter must not be fitted in place"
    assert clf.teacher_ is not lr and isinstance(clf.teacher_, LogisticRegression)
    expected = LogisticRegression(max_iter=300).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(soft, expected, rtol=1e-5, atol=1e-6)


def test_distilled_sknoisy_teacher_is_fitted(data):
    X, y = data
    teacher = NoisyNetClassifier(**FAST)
    clf, _, soft = first_batch_soft_labels(X, y, teacher=teacher, teacher_cv=None)
    assert isinstance(clf.teacher_, NoisyNetClassifier) and clf.teacher_ is not teacher
    assert not teacher.initialized_
    np.testing.assert_allclose(soft, clf.teacher_.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_distilled_self_teacher_is_a_plain_student(data):
    X, y = data
    clf, _, soft = first_batch_soft_labels(X, y, teacher="self", alpha=0.7, teacher_cv=None)
    teacher = clf.teacher_
    assert type(teacher) is DistilledStudentClassifier
    assert teacher.alpha == 0.0 and teacher.teachers_ == []
    assert teacher.module__hidden_sizes == (8,) and teacher.random_state != clf.random_state
    np.testing.assert_allclose(soft, teacher.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_distilled_default_self_teacher_is_cross_fitted(data):
    X, y = data
    clf, _, soft = first_batch_soft_labels(X, y)
    assert clf.teacher == "self" and clf.teacher_cv == 3
    assert isinstance(clf.teacher_, CrossFittedTeacher)
    folds = clf.teacher_.estimators_
    assert len(folds) == 3 and all(type(m) is DistilledStudentClassifier for m in folds)
    assert all(m.alpha == 0.0 and m.n_samples_fit_ == 60 for m in folds)
    np.testing.assert_allclose(soft, clf.teacher_.oof_proba_, rtol=1e-5, atol=1e-6)


def test_distilled_reg_teacher_soft_labels(data):
    X, y = data
    clf, target, soft = first_batch_soft_labels(X, y, teacher="reg", reg_confidence=0.95)
    expected = np.full((len(y), 3), 0.025)
    expected[np.arange(len(y)), target] = 0.95
    np.testing.assert_allclose(soft, expected, rtol=1e-6)
    assert clf.teacher_ == "reg" and clf.teachers_ == ["reg"]


def test_distilled_teacher_cv_gives_out_of_fold_soft_labels(data):
    X, y = data
    clf, _, soft = first_batch_soft_labels(
        X, y, teacher=LogisticRegression(max_iter=300), teacher_cv=3)
    teacher = clf.teacher_
    assert isinstance(teacher, CrossFittedTeacher) and len(teacher.estimators_) == 3
    np.testing.assert_allclose(soft, teacher.oof_proba_, rtol=1e-5, atol=1e-6)
    # Each row's soft label comes from the one fold model that did not train on it.
    in_sample = LogisticRegression(max_iter=300).fit(X, y).predict_proba(X)
    assert not np.allclose(soft, in_sample, atol=1e-3)
    matches = [np.isclose(soft[:1], m.predict_proba(X[:1]), atol=1e-6).all()
               for m in teacher.estimators_]
    assert sum(matches) == 1


def test_distilled_two_generations_chain_teachers(data):
    X, y = data
    clf, _, soft = first_batch_soft_labels(X, y, teacher="reg", n_generations=2,
                                           student_noise=0.1, module__dropout=0.3)
    assert len(clf.teachers_) == 2 and clf.teachers_[0] == "reg"
    middle = clf.teachers_[1]
    assert isinstance(middle, DistilledStudentClassifier) and middle.teacher_ == "reg"
    assert clf.teacher_ is middle
    np.testing.assert_allclose(soft, middle.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_distilled_teacher_classes_matched_by_label_not_position(data):
    X, y = data
    lr = LogisticRegression(max_iter=300).fit(X, y)
    reordered = CountingTeacher(lr, classes_order=[2, 0, 1])
    assert list(reordered.classes_) == ["owl", "cat", "dog"]
    _, _, soft = first_batch_soft_labels(X, y, teacher=reordered)
    np.testing.assert_allclose(soft, lr.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_distilled_teacher_with_fewer_classes_gets_zero_columns(data):
    X, y = data
    keep = y != "dog"
    lr = LogisticRegression(max_iter=300).fit(X[keep], y[keep])
    _, _, soft = first_batch_soft_labels(X, y, teacher=lr)
    np.testing.assert_array_equal(soft[:, 1], 0.0)
    np.testing.assert_allclose(soft[:, [0, 2]], lr.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_distilled_teacher_with_unknown_class_raises(data):
    X, y = data
    lr = LogisticRegression(max_iter=300).fit(X, np.where(y == "owl", "emu", y))
    with pytest.raises(ValueError, match="emu"):
        DistilledStudentClassifier(teacher=lr, **FAST).fit(X, y)


def test_distilled_soft_labels_computed_once(data):
    X, y = data
    teacher = CountingTeacher(LogisticRegression(max_iter=300).fit(X, y))
    clf = DistilledStudentClassifier(teacher=teacher, **{**FAST, "max_epochs": 3}).fit(X, y)
    assert len(clf.history) == 3 and len(clf.history[-1, "batches"]) == 3
    assert teacher.calls == 1
    assert "teacher_proba_" not in vars(clf)


def test_distilled_loss_matches_formula(data):
    X, y = data
    alpha, T = 0.3, 2.0
    clf = DistilledStudentClassifier(teacher="reg", alpha=alpha, temperature=T,
                                     **{**FAST, "max_epochs": 0}).fit(X, y)
    soft = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5], [0.1, 0.1, 0.8]])
    logits = np.array([[1.0, -1.0, 0.5], [0.2, 0.1, -2.0], [3.0, 0.0, 1.0]])
    labels = np.array([0, 2, 1])
    state = FitState(X, y, None, None, seed=0)
    state.teacher_proba = torch.zeros(10, 3)
    state.teacher_proba[[4, 7, 9]] = torch.tensor(soft, dtype=torch.float32)
    with clf._training_context(state):
        loss = clf.get_loss(torch.tensor(logits, dtype=torch.float32), torch.tensor(labels),
                            training=True, indices=torch.tensor([4, 7, 9]))

    def log_softmax(z):
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    ce = -log_softmax(logits)[np.arange(3), labels]
    with np.errstate(divide="ignore"):
        tempered = np.where(soft > 0, soft ** (1 / T), 0.0)
    t = tempered / tempered.sum(axis=1, keepdims=True)
    kl = np.array([sum(tk * (np.log(tk) - sk) for tk, sk in zip(tr, sr) if tk > 0)
                   for tr, sr in zip(t, log_softmax(logits / T))])
    expected = np.mean((1 - alpha) * ce + alpha * T ** 2 * kl)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_distilled_alpha_zero_equals_plain_training(data):
    X, y = data
    params = {**FAST, "max_epochs": 4}
    student = DistilledStudentClassifier(teacher=LogisticRegression(), alpha=0.0, **params)
    plain = NoisyNetClassifier(**params)
    np.testing.assert_array_equal(student.fit(X, y).predict_proba(X),
                                  plain.fit(X, y).predict_proba(X))
    assert student.teacher_ is None and student.teachers_ == []


def test_distilled_soft_labels_change_training(data):
    X, y = data
    base = DistilledStudentClassifier(teacher="reg", alpha=0.0, **FAST).fit(X, y)
    kd = DistilledStudentClassifier(teacher="reg", alpha=0.9, **FAST).fit(X, y)
    assert not np.allclose(base.predict_proba(X), kd.predict_proba(X))


def test_distilled_generation_seeds_do_not_depend_on_other_draws(data):
    # Each generation's teacher is seeded from the fit's seed and its own index only, so
    # asking for a second generation leaves the first generation's teacher unchanged.
    X, y = data
    params = dict(teacher="self", teacher_cv=None, student_noise=0.2, **FAST)
    one = DistilledStudentClassifier(n_generations=1, **params).fit(X, y)
    two = DistilledStudentClassifier(n_generations=2, **params).fit(X, y)
    np.testing.assert_array_equal(one.teachers_[0].predict_proba(X),
                                  two.teachers_[0].predict_proba(X))
    assert two.teachers_[1].random_state != two.teachers_[0].random_state


def test_distilled_dataframe_reaches_teacher_with_names(data):
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = DistilledStudentClassifier(teacher=LogisticRegression(max_iter=300),
                                         **{**FAST, "max_epochs": 15}).fit(frame, pd.Series(y))
    assert isinstance(clf.teacher_, CrossFittedTeacher)
    for model in clf.teacher_.estimators_:
        assert list(model.feature_names_in_) == list(frame.columns)
    assert clf.score(frame, y) > 0.7  # three classes: chance is 1/3


def test_distilled_student_noise_shifts_images():
    clf = DistilledStudentClassifier(student_noise=0.25)
    images = torch.zeros(64, 8, 8)
    images[:, 4, 4] = 1.0
    with clf._training_context(FitState(None, None, None, None, seed=0)):
        shifted = clf._perturb(images)
    assert shifted.shape == images.shape
    # One bright pixel per image, moved by at most 2 = round(0.25 * 8) pixels.
    np.testing.assert_array_equal(shifted.sum(dim=(1, 2)).numpy(), np.ones(64))
    rows, cols = np.nonzero(shifted.numpy().sum(axis=0))
    assert rows.min() >= 2 and rows.max() <= 6 and cols.min() >= 2 and cols.max() <= 6
    assert len(set(zip(rows, cols))) > 1
    chw = clf._perturb(images.unsqueeze(1).repeat(1, 2, 1, 1))
    assert chw.shape == (64, 2, 8, 8)
    np.testing.assert_array_equal(chw[:, 0].numpy(), chw[:, 1].numpy())


def test_distilled_student_noise_on_tabular_is_training_only(data):
    X, y = data
    noisy = DistilledStudentClassifier(teacher="reg", student_noise=0.5, **FAST).fit(X, y)
    quiet = DistilledStudentClassifier(teacher="reg", student_noise=0.0, **FAST).fit(X, y)
    assert not np.allclose(noisy.predict_proba(X), quiet.predict_proba(X))
    np.testing.assert_array_equal(noisy.predict_proba(X), noisy.predict_proba(X))
    assert "feature_scale_" not in vars(noisy)


@pytest.mark.parametrize("params, error, match", [
    ({"alpha": 1.5}, ValueError, "alpha"),
    ({"alpha": "half"}, TypeError, "alpha"),
    ({"temperature": 0.0}, ValueError, "temperature"),
    ({"teacher": "teacher"}, ValueError, "'teacher'"),
    ({"teacher": object()}, TypeError, "predict_proba"),
    ({"teacher_cv": 1}, ValueError, "teacher_cv"),
    ({"teacher_cv": "folds"}, ValueError, "teacher_cv"),
    ({"n_generations": 0}, ValueError, "n_generations"),
    ({"reg_confidence": 0.5}, ValueError, "reg_confidence"),
    ({"student_noise": -0.1}, ValueError, "student_noise"),
    ({"criterion__alpha": 0.2}, ValueError, "set alpha and temperature"),
    ({"criterion": torch.nn.CrossEntropyLoss}, TypeError, "teacher_probs"),
])
def test_distilled_bad_parameters_raise(data, params, error, match):
    X, y = data
    with pytest.raises(error, match=match):
        DistilledStudentClassifier(**{**FAST, **params}).fit(X, y)


def test_distilled_teacher_without_predict_proba_names_it(data):
    from sklearn.svm import SVC

    X, y = data
    with pytest.raises(TypeError, match="SVC"):
        DistilledStudentClassifier(teacher=SVC(), **FAST).fit(X, y)


def test_distilled_clone_and_params_keep_teacher_clean(data):
    X, y = data
    lr = LogisticRegression(C=2.0)
    clf = DistilledStudentClassifier(teacher=lr, **FAST)
    assert clf.get_params()["teacher__C"] == 2.0
    clf.set_params(teacher__C=0.5)
    assert lr.C == 0.5
    twin = clone(clf)
    assert twin.teacher is not lr and twin.teacher.C == 0.5
    clf.fit(X, y)
    assert clf.teacher is lr and not is_fitted(lr)
    assert clone(clf).get_params()["alpha"] == 0.5
    assert not hasattr(clone(clf), "teacher_")


def test_distilled_pickle_round_trip(data):
    X, y = data
    clf = DistilledStudentClassifier(teacher="self", teacher_cv=None, n_generations=2,
                                     **FAST).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert len(restored.teachers_) == 2
    np.testing.assert_array_equal(restored.teacher_.predict(X), clf.teacher_.predict(X))


def test_distilled_partial_fit_keeps_teacher(data):
    X, y = data
    teacher = CountingTeacher(LogisticRegression(max_iter=300).fit(X, y))
    clf = DistilledStudentClassifier(teacher=teacher, **FAST)
    clf.partial_fit(X, y).partial_fit(X[:30], y[:30])
    assert clf.teacher_ is teacher and teacher.calls == 2
    assert len(clf.history) == 4


def test_align_proba_rejects_wrong_width():
    with pytest.raises(ValueError, match="one column per class"):
        align_proba(np.ones((2, 3)) / 3, ["a", "b"], ["a", "b"])


def test_cross_fitted_teacher_splits_object_labels(data):
    # An object array of ints is 'unknown' to scikit-learn's type_of_target, which
    # StratifiedKFold refuses; the teacher stratifies on class positions instead.
    X, y = data
    codes = np.unique(y, return_inverse=True)[1]
    student = DistilledStudentClassifier(teacher="self", teacher_cv=2, **FAST)
    student.fit(X, codes.astype(object))
    assert list(student.classes_) == [0, 1, 2]
    assert student.teacher_.oof_proba_.shape == (len(X), 3)


def test_distilled_student_passes_check_dtype_object():
    from sklearn.utils.estimator_checks import check_dtype_object
    check_dtype_object("DistilledStudentClassifier",
                       DistilledStudentClassifier(teacher="self", teacher_cv=2, **FAST))


def _dropouts(module):
    return [layer.p for layer in module.modules() if isinstance(layer, torch.nn.Dropout)]


def test_distilled_default_noisy_student_noises_every_student_not_the_teacher(data):
    X, y = data
    two = DistilledStudentClassifier(teacher="self", teacher_cv=None, n_generations=2,
                                     **FAST).fit(X, y)
    first_teacher, student = two.teachers_
    # The paper's noise (dropout, input noise) in both students, none in the teacher.
    assert _dropouts(first_teacher.module_) == []
    assert _dropouts(student.module_) == [0.3] == _dropouts(two.module_)  # one hidden layer
    assert student.get_params()["student_noise"] == pytest.approx(0.1)
    assert two._input_noise() == pytest.approx(0.1)
    # Plain distillation stays noise-free, and an explicit setting wins.
    one = DistilledStudentClassifier(teacher="reg", **FAST)
    assert one._input_noise() == 0.0 and one._student_dropout() is None
    explicit = DistilledStudentClassifier(n_generations=2, student_noise=0.0,
                                          module__dropout=0.1, **FAST)
    assert explicit._input_noise() == 0.0 and explicit._student_dropout() is None


def test_distilled_auto_noise_reaches_the_training_batches(data, monkeypatch):
    X, y = data
    seen = []
    real = DistilledStudentClassifier._perturb

    def spy(self, Xi):
        seen.append(self.n_generations)
        return real(self, Xi)

    monkeypatch.setattr(DistilledStudentClassifier, "_perturb", spy)
    DistilledStudentClassifier(teacher="reg", **FAST).fit(X, y)
    assert seen == []
    DistilledStudentClassifier(teacher="reg", n_generations=2, **FAST).fit(X, y)
    # Batches of the intermediate student (n_generations=1 after cloning) and of the
    # final student were perturbed.
    assert set(seen) == {1, 2}


def test_held_out_rows_are_scored_by_cross_entropy_not_by_training_rows_soft_labels(data):
    # The early-stopping split's positions are not the training rows' the soft labels
    # are indexed by (with 60% held out they even run past them): held-out batches are
    # scored by plain cross-entropy, never by the distillation criterion.
    X, y = data
    clf = DistilledStudentClassifier(
        teacher=LogisticRegression(), alpha=0.9, criterion=RecordingLoss,
        early_stopping=True, validation_fraction=0.6, n_iter_no_change=5,
        **{**FAST, "max_epochs": 3}).fit(X, y)
    n_train = len(X) - int(np.ceil(0.6 * len(X)))
    train_batches = int(np.ceil(n_train / FAST["batch_size"]))
    assert len(clf.criterion_.seen) == 3 * train_batches
    assert all(len(soft) <= FAST["batch_size"] for _, soft in clf.criterion_.seen)
    assert np.isfinite(clf.history[:, "valid_loss"]).all()
