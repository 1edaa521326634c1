"""BootstrappingLoss: soft and hard targets, defaults, and what detaching does."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sknoisy.losses import BootstrappingLoss

from . import as_tensors, np_log_softmax, np_onehot, np_softmax

# Row 0 and row 3: the argmax (class 2 / class 1) differs from the given label.
LOGITS = [[0.3, -1.2, 2.0], [1.5, 0.2, -0.7], [0.0, 0.1, 0.0], [-3.0, 2.5, 0.1]]
TARGET = [0, 0, 1, 2]


def test_hard_bootstrap_uses_argmax_of_prediction():
    beta = 0.8
    logits, target = as_tensors(LOGITS, TARGET)
    log_p = np_log_softmax(LOGITS)
    argmax = np.array([2, 0, 1, 1])
    target_dist = beta * np_onehot(TARGET, 3) + (1 - beta) * np_onehot(argmax, 3)
    expected = -(target_dist * log_p).sum(axis=1)
    got = BootstrappingLoss(mode="hard", beta=beta, reduction="none")(logits, target)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("detach", [False, True])
def test_soft_bootstrap_matches_hand_built_target(detach):
    beta = 0.7
    logits, target = as_tensors(LOGITS, TARGET)
    target_dist = beta * np_onehot(TARGET, 3) + (1 - beta) * np_softmax(LOGITS)
    expected = -(target_dist * np_log_softmax(LOGITS)).sum(axis=1)
    got = BootstrappingLoss(beta=beta, detach=detach, reduction="none")(logits, target)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("mode, beta", [("soft", 0.95), ("hard", 0.8)])
def test_beta_none_means_the_modes_paper_value(mode, beta):
    logits, target = as_tensors(LOGITS, TARGET)
    default = BootstrappingLoss(mode=mode, reduction="none")(logits, target)
    explicit = BootstrappingLoss(mode=mode, beta=beta, reduction="none")(logits, target)
    torch.testing.assert_close(default, explicit)
    assert BootstrappingLoss(mode=mode).beta is None


@pytest.mark.parametrize("mode", ["soft", "hard"])
def test_beta_one_is_cross_entropy(mode):
    logits, target = as_tensors(LOGITS, TARGET)
    got = BootstrappingLoss(mode=mode, beta=1.0, reduction="none")(logits, target)
    torch.testing.assert_close(got, F.cross_entropy(logits, target, reduction="none"))


def _grad(criterion, logits=LOGITS, target=TARGET):
    z, y = as_tensors(logits, target)
    criterion(z, y).backward()
    return z.grad.numpy()


def test_detached_soft_gradient_is_beta_times_cross_entropy_gradient():
    beta = 0.6
    grad = _grad(BootstrappingLoss(beta=beta, detach=True, reduction="sum"))
    ce_grad = np_softmax(LOGITS) - np_onehot(TARGET, 3)
    np.testing.assert_allclose(grad, beta * ce_grad, rtol=1e-10, atol=1e-14)


def test_undetached_soft_gradient_adds_entropy_minimisation():
    beta = 0.6
    grad = _grad(BootstrappingLoss(beta=beta, detach=False, reduction="sum"))
    p = np_softmax(LOGITS)
    log_p = np_log_softmax(LOGITS)
    entropy = -(p * log_p).sum(axis=1, keepdims=True)
    expected = beta * (p - np_onehot(TARGET, 3)) - (1 - beta) * p * (log_p + entropy)
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-14)


def test_hard_bootstrap_gradient_ignores_detach():
    hard = _grad(BootstrappingLoss(mode="hard", detach=False))
    hard_detached = _grad(BootstrappingLoss(mode="hard", detach=True))
    np.testing.assert_allclose(hard, hard_detached)


@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_prediction_of_another_view_replaces_the_softmax(mode):
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.5]], requires_grad=True)
    target = torch.tensor([2, 0])
    other = torch.tensor([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])  # argmax 2 and 0
    loss = BootstrappingLoss(mode=mode, beta=0.6, reduction="none")(
        logits, target, prediction=other)
    log_p = torch.log_softmax(logits.detach(), dim=1).numpy()
    label = -log_p[[0, 1], [2, 0]]
    if mode == "hard":
        prediction_term = -log_p[[0, 1], [2, 0]]   # the other view's argmax
    else:
        prediction_term = -(other.numpy() * log_p).sum(axis=1)
    np.testing.assert_allclose(loss.detach().numpy(), 0.6 * label + 0.4 * prediction_term,
                               rtol=1e-6)
    # The other view is a constant: the gradient is that of CE against the fixed mix.
    loss.sum().backward()
    mix = 0.6 * np.eye(3)[[2, 0]] + 0.4 * (np.eye(3)[[2, 0]] if mode == "hard"
                                           else other.numpy())
    np.testing.assert_allclose(logits.grad.numpy(), np.exp(log_p) - mix, rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError, match="prediction must have"):
        BootstrappingLoss(mode=mode)(logits, target, prediction=other[:, :2])
