"""KnowledgeRefineryLoss: its formula, its two gradients, and the learned matrix in a fit."""

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from sknoisy import NoisyNetClassifier
from sknoisy.losses import KnowledgeRefineryLoss

from . import np_log_softmax, np_onehot, np_softmax

LOGITS = [[0.3, -1.2, 2.0, 0.0], [1.5, 0.2, -0.7, 3.0], [0.0, 0.0, 0.0, 0.0],
          [-3.0, 2.5, 0.1, 1.0]]
TARGET = [2, 1, 0, 3]
RELATIONS = [[0.0, 0.5, -1.0, 2.0], [1.0, 9.0, 0.0, -0.5], [0.3, 0.3, 0.0, 1.2],
             [-2.0, 0.0, 1.0, 4.0]]
FAST = dict(max_epochs=3, batch_size=32, lr=1e-2, module__hidden_sizes=(16,), random_state=0)


def _criterion(relations=RELATIONS, **kwargs):
    kr = KnowledgeRefineryLoss(num_classes=len(relations), reduction="none", **kwargs)
    with torch.no_grad():
        kr.residual_relations.copy_(torch.tensor(relations))
    return kr


def _np_loss(alpha, epsilon, logits=LOGITS, target=TARGET, relations=RELATIONS):
    """The paper's decoupled-label loss, written row by row with explicit deletions."""
    logits, relations = np.asarray(logits, float), np.asarray(relations, float)
    n_classes = logits.shape[1]
    smoothed = (1 - epsilon) * np_onehot(target, n_classes) + epsilon / n_classes
    hard = -(smoothed * np_log_softmax(logits)).sum(axis=1)
    residual = []
    for z, y in zip(logits, target):
        p = np_softmax(np.delete(z, y)[None])[0]
        q = np_softmax(np.delete(relations[y], y)[None])[0]
        residual.append((p * np.log(p / q)).sum())
    return hard + alpha * np.array(residual)


@pytest.mark.parametrize("alpha, epsilon", [(1.0, 0.0), (0.3, 0.2), (0.0, 0.0)])
def test_refinery_matches_decoupled_label_formula(alpha, epsilon):
    kr = _criterion(alpha=alpha, epsilon=epsilon)
    got = kr(torch.tensor(LOGITS, dtype=torch.float64), torch.tensor(TARGET))
    np.testing.assert_allclose(got.detach().numpy(), _np_loss(alpha, epsilon), rtol=1e-6)


def test_refinery_alpha_zero_is_cross_entropy():
    logits, target = torch.tensor(LOGITS), torch.tensor(TARGET)
    got = _criterion(alpha=0.0)(logits, target)
    torch.testing.assert_close(got, F.cross_entropy(logits, target, reduction="none"))


def _non_target_kl(p_logits, q_logits, target):
    """KL(softmax(p) || softmax(q)) over each row's non-target columns, row by row."""
    values = []
    for p_row, q_row, y in zip(p_logits, q_logits, target.tolist()):
        log_p = torch.cat([p_row[:y], p_row[y + 1:]]).log_softmax(0)
        log_q = torch.cat([q_row[:y], q_row[y + 1:]]).log_softmax(0)
        values.append((log_p.exp() * (log_p - log_q)).sum())
    return torch.stack(values)


def test_refinery_gradients_follow_the_papers_two_updates():
    # Network: d/dz [CE + alpha KL(p_res || q_res)], q_res constant.
    # Matrix:  d/dS [alpha KL(q_res || p_res)], p_res constant.
    alpha = 0.7
    target = torch.tensor(TARGET)
    kr = _criterion(alpha=alpha)
    logits = torch.tensor(LOGITS, requires_grad=True)
    kr(logits, target).sum().backward()

    z = torch.tensor(LOGITS, requires_grad=True)
    S = torch.tensor(RELATIONS, requires_grad=True)
    rows = S[target]
    network = F.cross_entropy(z, target, reduction="none") + alpha * _non_target_kl(
        z, rows.detach(), target)
    network.sum().backward(inputs=[z])
    update = alpha * _non_target_kl(rows, z.detach(), target)
    update.sum().backward(inputs=[S])
    torch.testing.assert_close(logits.grad, z.grad)
    torch.testing.assert_close(kr.residual_relations.grad, S.grad)


def test_refinery_starts_uniform_and_ignores_the_diagonal():
    kr = KnowledgeRefineryLoss(num_classes=4)
    expected = (np.ones((4, 4)) - np.eye(4)) / 3
    np.testing.assert_allclose(kr.relation_matrix().numpy(), expected, rtol=1e-6)
    with torch.no_grad():
        kr.residual_relations.copy_(torch.tensor(RELATIONS))
    before = kr(torch.tensor(LOGITS), torch.tensor(TARGET))
    with torch.no_grad():
        kr.residual_relations.fill_diagonal_(100.0)
    torch.testing.assert_close(kr(torch.tensor(LOGITS), torch.tensor(TARGET)), before)
    np.testing.assert_allclose(kr.relation_matrix().sum(1).numpy(), 1.0, rtol=1e-6)


def test_refinery_sizes_matrix_lazily_and_checks_sizes():
    kr = KnowledgeRefineryLoss()
    assert kr.residual_relations is None
    with pytest.raises(ValueError, match="no relation matrix yet"):
        kr.relation_matrix()
    kr(torch.zeros(2, 5), torch.tensor([0, 4]))
    assert kr.residual_relations.shape == (5, 5)
    with pytest.raises(ValueError, match=r"relation matrix is \(5, 5\)"):
        kr(torch.zeros(2, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="at least 2 classes"):
        KnowledgeRefineryLoss()(torch.zeros(2, 1), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="num_classes=3 but the data have 4"):
        KnowledgeRefineryLoss(num_classes=3).prepare_classes(4)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16).astype(np.float32), y[:300]


def test_refinery_matrix_is_optimised_with_the_network(digits):
    X, y = digits
    clf = NoisyNetClassifier(criterion=KnowledgeRefineryLoss, **FAST).fit(X, y)
    relations = clf.criterion_.residual_relations
    # The optimizer holds the matrix (skorch's get_all_learnable_params covers the
    # criterion's parameters), and training moved it away from zero.
    held = [p for group in clf.optimizer_.param_groups for p in group["params"]]
    assert any(p is relations for p in held)
    assert relations.shape == (10, 10)
    assert float(relations.detach().abs().max()) > 1e-3
    off_diagonal = ~torch.eye(10, dtype=torch.bool)
    assert not torch.allclose(clf.criterion_.relation_matrix()[off_diagonal],
                              torch.full((90,), 1 / 9))


def test_refinery_fresh_fit_restarts_from_zero_and_warm_start_keeps(digits):
    X, y = digits
    clf = NoisyNetClassifier(criterion=KnowledgeRefineryLoss, **FAST).fit(X, y)
    learned = clf.criterion_.residual_relations.detach().clone()
    clf.set_params(max_epochs=0).fit(X, y)   # a fresh fit: initialised, not trained
    assert float(clf.criterion_.residual_relations.detach().abs().max()) == 0.0
    clf.set_params(max_epochs=3).fit(X, y)
    torch.testing.assert_close(clf.criterion_.residual_relations.detach(), learned)
    clf.set_params(warm_start=True, max_epochs=1).fit(X, y)
    moved = clf.criterion_.residual_relations.detach()
    assert not torch.allclose(moved, learned)   # continued from the learned matrix
    assert float((moved - learned).abs().max()) < float(learned.abs().max())


def test_refinery_with_string_labels_clone_and_pickle(digits):
    X, y = digits
    names = np.array([f"digit{k}" for k in range(10)])[y]
    clf = NoisyNetClassifier(criterion=KnowledgeRefineryLoss, criterion__alpha=0.5, **FAST)
    fitted = clf.fit(X, names)
    assert set(fitted.predict(X[:20])) <= set(names)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
    torch.testing.assert_close(restored.criterion_.residual_relations,
                               fitted.criterion_.residual_relations)
    assert clone(clf).get_params()["criterion__alpha"] == 0.5


def test_refinery_grid_search_over_its_parameters(digits):
    X, y = digits
    search = GridSearchCV(NoisyNetClassifier(criterion=KnowledgeRefineryLoss, **FAST),
                          {"criterion__alpha": [0.0, 1.0], "criterion__epsilon": [0.0, 0.1]},
                          cv=2, error_score="raise").fit(X, y)
    assert search.best_params_["criterion__alpha"] in (0.0, 1.0)
    assert search.best_estimator_.criterion_.alpha == search.best_params_["criterion__alpha"]
    assert search.best_score_ > 0.5
