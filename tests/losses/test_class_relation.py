"""ClassRelationSmoothingLoss against hand-built targets, and class_similarity's centroids."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from sknoisy import NoisyNetClassifier
from sknoisy.losses import ClassRelationSmoothingLoss, LabelSmoothingLoss, class_similarity

from . import as_tensors, np_log_softmax, np_onehot

LOGITS = [[0.3, -1.2, 2.0, 0.0], [1.5, 0.2, -0.7, 3.0], [0.0, 0.0, 0.0, 0.0],
          [-3.0, 2.5, 0.1, 1.0]]
TARGET = [2, 1, 0, 3]
SIMILARITY = np.array([[5.0, 1.0, 2.0, 1.0],
                       [0.5, 0.0, 0.0, 1.5],
                       [1.0, 1.0, 9.0, 2.0],
                       [0.0, 3.0, 1.0, 0.0]])
FAST = dict(max_epochs=3, batch_size=32, lr=1e-2, module__hidden_sizes=(16,), random_state=0)


def _target_distribution(similarity, epsilon):
    """(1 - eps) onehot(y) + eps * off-diagonal row y of S, normalised: built row by row."""
    rows = []
    for y in TARGET:
        spread = np.array(similarity[y], dtype=float)
        spread[y] = 0.0
        rows.append((1 - epsilon) * np_onehot([y], 4)[0] + epsilon * spread / spread.sum())
    return np.array(rows)


@pytest.mark.parametrize("epsilon", [0.1, 0.5])
def test_relation_smoothing_matches_hand_built_target(epsilon):
    target_dist = _target_distribution(SIMILARITY, epsilon)
    np.testing.assert_allclose(target_dist.sum(axis=1), 1.0)
    logits, target = as_tensors(LOGITS, TARGET)
    loss = ClassRelationSmoothingLoss(similarity=SIMILARITY, epsilon=epsilon, reduction="none")
    expected = -(target_dist * np_log_softmax(LOGITS)).sum(axis=1)
    np.testing.assert_allclose(loss(logits, target).detach().numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("similarity", [None, np.ones((4, 4)), 7 * np.ones((4, 4))])
def test_relation_smoothing_uniform_is_label_smoothing_over_others(similarity):
    logits, target = as_tensors(LOGITS, TARGET)
    got = ClassRelationSmoothingLoss(similarity=similarity, epsilon=0.3,
                                     reduction="none")(logits, target)
    expected = LabelSmoothingLoss(epsilon=0.3, over="others", reduction="none")(logits, target)
    torch.testing.assert_close(got, expected)


def test_relation_smoothing_ignores_diagonal_and_keeps_argument_unchanged():
    logits, target = as_tensors(LOGITS, TARGET)
    changed = SIMILARITY.copy()
    np.fill_diagonal(changed, 100.0)
    given = SIMILARITY.copy()
    base = ClassRelationSmoothingLoss(similarity=given, reduction="none")
    torch.testing.assert_close(base(logits, target), ClassRelationSmoothingLoss(
        similarity=changed, reduction="none")(logits, target))
    assert base.similarity is given
    np.testing.assert_array_equal(given, SIMILARITY)
    assert "similarity=<4x4 matrix>" in repr(base)


def test_relation_smoothing_gradient_is_softmax_minus_target():
    logits, target = as_tensors(LOGITS, TARGET)
    ClassRelationSmoothingLoss(similarity=SIMILARITY, epsilon=0.2,
                               reduction="sum")(logits, target).backward()
    softmax = np.exp(np_log_softmax(LOGITS))
    np.testing.assert_allclose(logits.grad.numpy(),
                               softmax - _target_distribution(SIMILARITY, 0.2), atol=1e-12)


@pytest.mark.parametrize("similarity, match, error", [
    (np.ones((3, 4)), "square", ValueError),
    (np.ones((1, 1)), "C >= 2", ValueError),
    (-np.ones((3, 3)), "non-negative", ValueError),
    (np.full((3, 3), np.nan), "finite", ValueError),
    (np.eye(3), r"row\(s\) \[0, 1, 2\]", ValueError),
    ([["a", "b"], ["c", "d"]], "numeric", TypeError),
])
def test_relation_smoothing_rejects_bad_similarity(similarity, match, error):
    with pytest.raises(error, match=match):
        ClassRelationSmoothingLoss(similarity=similarity)


def test_relation_smoothing_size_must_match_logits():
    loss = ClassRelationSmoothingLoss(similarity=np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"similarity is \(3, 3\) but the logits have 4"):
        loss(*as_tensors(LOGITS, TARGET))


# -- class_similarity ----------------------------------------------------------------------
class PermutedModel:
    """A fitted 'model' with fixed probabilities and classes_ in a non-sorted order."""

    def __init__(self, proba, classes):
        self.proba, self.classes_ = np.asarray(proba), np.asarray(classes)

    def predict_proba(self, X):
        return self.proba


def test_class_similarity_mean_probabilities_follow_label_order():
    y = np.array(["b", "a", "b", "c", "a"])
    # Columns in the model's order c, a, b.
    proba = np.array([[0.1, 0.2, 0.7], [0.0, 0.9, 0.1], [0.3, 0.1, 0.6], [0.8, 0.1, 0.1],
                      [0.2, 0.6, 0.2]])
    S = class_similarity(PermutedModel(proba, ["c", "a", "b"]), np.zeros((5, 1)), y)
    by_label = proba[:, [1, 2, 0]]       # columns a, b, c
    expected = np.array([by_label[y == label].mean(axis=0) for label in ["a", "b", "c"]])
    np.testing.assert_allclose(S, expected)


def test_class_similarity_cosine_of_centroids_from_a_callable():
    X = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [1.0, 1.0], [-1.0, -1.0]])
    y = np.array([0, 0, 1, 2, 2])
    S = class_similarity(None, X, y, representation=lambda rows: rows)
    # Centroids (2, 0), (0, 2) and (0, 0). Class 2's centroid is zero: cosine 0 with everything, including itself.
    expected = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(S, expected)
    X2 = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.1]])
    negative = class_similarity(None, X2, np.array([0, 1, 2]), representation=lambda r: r)
    assert negative[0, 2] == 0.0 and negative[0, 1] == 0.0   # cosine -0.995 and 0, clipped


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16).astype(np.float32), y[:300]


def test_class_similarity_penultimate_reads_the_last_linear_layers_input(digits):
    X, y = digits
    net = NoisyNetClassifier(**FAST).fit(X, y)
    S = class_similarity(net, X, y, representation="penultimate")
    # The same features by hand: the module without its last Linear layer, on the
    # standardised inputs the network sees.
    body = net.module_.layers[:-1]
    with torch.no_grad():
        features = body(torch.as_tensor(net._standardized(X))).double().numpy()
    expected = class_similarity(None, X, y, representation=lambda rows: features)
    np.testing.assert_allclose(S, expected, rtol=1e-5, atol=1e-6)
    assert S.shape == (10, 10) and np.allclose(np.diag(S), 1.0)


def test_class_similarity_errors_name_the_problem(digits):
    X, y = digits
    model = LogisticRegression(max_iter=200).fit(X, y)
    with pytest.raises(ValueError, match="metric='mean'.*needs representation='proba'"):
        class_similarity(model, X, y, representation=lambda rows: rows, metric="mean")
    with pytest.raises(ValueError, match=r"labels \[10\] are not in the estimator's"):
        class_similarity(model, X[:3], np.array([0, 1, 10]))
    with pytest.raises(TypeError, match="ends in a torch.nn.Linear"):
        class_similarity(model, X, y, representation="penultimate")
    with pytest.raises(ValueError, match="'metric' parameter"):
        class_similarity(model, X, y, metric="euclid")
    with pytest.raises(ValueError, match="X has 300 rows but y has 2"):
        class_similarity(None, X, y[:2], representation=lambda rows: rows)


# -- through the estimator -----------------------------------------------------------------
def test_relation_smoothing_trains_with_estimated_similarity(digits):
    X, y = digits
    reference = NoisyNetClassifier(**FAST).fit(X, y)
    S = class_similarity(reference, X, y)
    assert S.shape == (10, 10) and np.allclose(S.sum(axis=1), 1.0)
    clf = NoisyNetClassifier(criterion=ClassRelationSmoothingLoss, criterion__similarity=S,
                             **FAST).fit(X, y)
    torch.testing.assert_close(clf.criterion_.relations.sum(dim=1),
                               torch.ones(10, dtype=torch.float64))
    assert clf.score(X, y) > 0.5
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
    np.testing.assert_array_equal(clone(clf).get_params()["criterion__similarity"], S)


def test_relation_smoothing_grid_search_over_its_parameters(digits):
    X, y = digits
    S = class_similarity(LogisticRegression(max_iter=200).fit(X, y), X, y)
    search = GridSearchCV(
        NoisyNetClassifier(criterion=ClassRelationSmoothingLoss, **FAST),
        {"criterion__epsilon": [0.0, 0.2], "criterion__similarity": [None, S]},
        cv=2, error_score="raise").fit(X, y)
    best = search.best_estimator_.criterion_
    assert best.epsilon == search.best_params_["criterion__epsilon"]
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > 0.5
