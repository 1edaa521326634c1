"""CategoryStructureLoss against loops over centroids; DistilledStudentClassifier's option."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from sknoisy.classifiers import DistilledStudentClassifier
from sknoisy.classifiers._teachers import reg_distribution
from sknoisy.losses import CategoryStructureLoss, DistillationLoss

from . import np_softmax

STUDENT = [[0.3, -1.2, 2.0], [1.5, 0.2, -0.7], [0.0, 0.0, 0.0], [-3.0, 2.5, 0.1],
           [0.5, 0.5, 1.0], [2.0, -1.0, 0.0]]
TEACHER = [[1.0, 0.0, 2.0], [2.0, 1.0, -1.0], [0.5, 0.0, 0.0], [-1.0, 1.5, 0.0],
           [0.0, 0.0, 3.0], [1.0, 0.0, 0.0]]
TARGET = [2, 0, 0, 1, 2, 0]   # class 1 has a single row


def _np_structure(student, teacher, target, temperature, intra_weight, inter_weight):
    """Relation vectors built explicitly, per row and per pair of class centroids."""
    g_s = np_softmax(np.asarray(student) / temperature)
    g_t = np_softmax(np.asarray(teacher) / temperature)
    target = np.asarray(target)
    classes = sorted(set(target.tolist()))
    c_s = {k: g_s[target == k].mean(axis=0) for k in classes}
    c_t = {k: g_t[target == k].mean(axis=0) for k in classes}
    intra = np.mean([np.sum(((g_s[i] - c_s[k]) - (g_t[i] - c_t[k])) ** 2)
                     for i, k in enumerate(target)])
    pairs = [(j, k) for j in classes for k in classes if j < k]
    inter = (np.mean([np.sum(((c_s[j] - c_s[k]) - (c_t[j] - c_t[k])) ** 2)
                      for j, k in pairs]) if pairs else 0.0)
    return temperature ** 2 * (intra_weight * intra + inter_weight * inter)


@pytest.mark.parametrize("temperature, intra_weight, inter_weight", [
    (1.0, 1.0, 1.0), (4.0, 1.0, 0.0), (2.0, 0.0, 1.0), (3.0, 0.5, 2.0)])
def test_structure_matches_explicit_relations(temperature, intra_weight, inter_weight):
    loss = CategoryStructureLoss(temperature=temperature, intra_weight=intra_weight,
                                 inter_weight=inter_weight)
    got = loss(torch.tensor(STUDENT, dtype=torch.float64), torch.tensor(TARGET),
               teacher_logits=torch.tensor(TEACHER, dtype=torch.float64))
    expected = _np_structure(STUDENT, TEACHER, TARGET, temperature, intra_weight,
                             inter_weight)
    np.testing.assert_allclose(float(got), expected, rtol=1e-10)


def test_structure_teacher_probs_are_tempered_like_distillation():
    teacher = torch.tensor(TEACHER, dtype=torch.float64)
    loss = CategoryStructureLoss(temperature=2.0)
    from_logits = loss(torch.tensor(STUDENT, dtype=torch.float64), torch.tensor(TARGET),
                       teacher_logits=teacher)
    from_probs = loss(torch.tensor(STUDENT, dtype=torch.float64), torch.tensor(TARGET),
                      teacher_probs=teacher.softmax(dim=1))
    torch.testing.assert_close(from_logits, from_probs)


def test_structure_is_zero_for_identical_models_and_one_class_has_no_inter_term():
    student = torch.tensor(STUDENT)
    loss = CategoryStructureLoss()
    assert abs(float(loss(student, torch.tensor(TARGET), teacher_logits=student))) < 1e-10
    one_class = torch.zeros(6, dtype=torch.long)
    only_inter = CategoryStructureLoss(intra_weight=0.0)
    assert float(only_inter(student, one_class, teacher_logits=torch.tensor(TEACHER))) == 0.0
    # Rows alone in their class have no intra-class relation.
    singletons = torch.arange(3)
    only_intra = CategoryStructureLoss(inter_weight=0.0)
    assert float(only_intra(student[:3], singletons,
                            teacher_logits=torch.tensor(TEACHER[:3]))) == 0.0


def test_structure_gradient_reaches_the_student_only():
    student = torch.tensor(STUDENT, requires_grad=True)
    teacher = torch.tensor(TEACHER, requires_grad=True)
    CategoryStructureLoss()(student, torch.tensor(TARGET), teacher_logits=teacher).backward()
    assert torch.isfinite(student.grad).all() and student.grad.abs().sum() > 0
    assert teacher.grad is None


def test_structure_errors_name_the_problem():
    loss = CategoryStructureLoss()
    student, target = torch.tensor(STUDENT), torch.tensor(TARGET)
    with pytest.raises(ValueError, match="exactly one of teacher_logits and teacher_probs"):
        loss(student, target)
    with pytest.raises(ValueError, match="must have the student's shape"):
        loss(student, target, teacher_logits=torch.zeros(6, 2))
    with pytest.raises(ValueError, match="batch is empty"):
        loss(torch.empty(0, 3), torch.empty(0, dtype=torch.long),
             teacher_logits=torch.empty(0, 3))
    with pytest.raises(ValueError, match="'intra_weight' parameter of CategoryStructureLoss"):
        CategoryStructureLoss(intra_weight=-1.0)
    with pytest.raises(ValueError, match="'temperature' parameter"):
        CategoryStructureLoss(temperature=0.0)


# -- DistilledStudentClassifier(category_structure=...) -----------------------------------
FAST = dict(batch_size=32, lr=1e-2, module__hidden_sizes=(8,), random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=120, n_features=6, n_informative=4, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, random_state=0)
    return X.astype(np.float32), y


@pytest.mark.parametrize("weight", [0.0, 2.5])
def test_distilled_batch_loss_adds_weighted_structure_term(data, weight):
    # One full, unshuffled batch: epoch 1's training loss is computed on the initial
    # network, which a 0-epoch fit with the same seed reproduces.
    X, y = data
    params = dict(teacher="reg", alpha=0.6, temperature=3.0, batch_size=-1,
                  iterator_train__shuffle=False, module__hidden_sizes=(8,), random_state=0)
    start = DistilledStudentClassifier(max_epochs=0, **params).fit(X, y)
    with torch.no_grad():
        logits = start.forward(X)
    soft = torch.as_tensor(reg_distribution(y, 3, 0.9), dtype=torch.float32)
    target = torch.as_tensor(y)
    expected = DistillationLoss(alpha=0.6, temperature=3.0)(logits, target, teacher_probs=soft)
    expected = expected + weight * CategoryStructureLoss(temperature=3.0)(
        logits, target, teacher_probs=soft)
    clf = DistilledStudentClassifier(max_epochs=1, category_structure=weight, **params)
    clf.fit(X, y)
    np.testing.assert_allclose(clf.history[0, "train_loss"], float(expected), rtol=1e-5)


def test_distilled_category_structure_changes_training_and_is_off_without_teacher(data):
    X, y = data
    plain = DistilledStudentClassifier(teacher="reg", max_epochs=5, **FAST).fit(X, y)
    structured = DistilledStudentClassifier(teacher="reg", max_epochs=5,
                                            category_structure=5.0, **FAST).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), structured.predict_proba(X))
    # alpha=0 has no teacher, hence no structure to match: plain cross entropy.
    ce = DistilledStudentClassifier(alpha=0.0, max_epochs=3, **FAST).fit(X, y)
    ce_cs = DistilledStudentClassifier(alpha=0.0, category_structure=5.0, max_epochs=3,
                                       **FAST).fit(X, y)
    np.testing.assert_allclose(ce.predict_proba(X), ce_cs.predict_proba(X))


def test_distilled_grid_search_over_category_structure(data):
    X, y = data
    search = GridSearchCV(DistilledStudentClassifier(teacher="reg", max_epochs=3, **FAST),
                          {"category_structure": [0.0, 1.0], "temperature": [2.0, 4.0]},
                          cv=2, error_score="raise").fit(X, y)
    assert search.best_estimator_.category_structure == search.best_params_[
        "category_structure"]
    assert len(search.cv_results_["params"]) == 4


def test_distilled_rejects_negative_category_structure(data):
    X, y = data
    with pytest.raises(ValueError, match="'category_structure' parameter"):
        DistilledStudentClassifier(category_structure=-1.0, max_epochs=1).fit(X, y)
