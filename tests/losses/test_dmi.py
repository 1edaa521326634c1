"""DMILoss: -log|det U| up to the documented constant, and its guards."""

import math

import numpy as np
import pytest
import torch

from sknoisy.losses import DMILoss

from . import np_onehot, np_softmax


def _dmi_by_hand(logits, target, n_classes):
    joint = np_onehot(target, n_classes).T @ np_softmax(logits) / len(target)
    return -np.log(abs(np.linalg.det(joint)))


def _random_batch(n_samples, n_classes, seed, scale=3.0):
    rng = np.random.default_rng(seed)
    extra = rng.integers(0, n_classes, n_samples - n_classes)
    target = np.concatenate([np.arange(n_classes), extra])  # every class present
    logits = rng.normal(size=(n_samples, n_classes)) * scale
    logits[np.arange(n_samples), target] += 2.0  # informative, so U is well conditioned
    return logits, target


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_dmi_equals_minus_log_det_minus_c_log_c(n_classes):
    logits, target = _random_batch(40, n_classes, seed=n_classes)
    got = DMILoss()(torch.tensor(logits), torch.tensor(target))
    expected = _dmi_by_hand(logits, target, n_classes) - n_classes * math.log(n_classes)
    assert got.item() == pytest.approx(expected, rel=1e-9)


def test_dmi_gradient_matches_log_det_gradient():
    # d(-log|det U|)/dU = -U^{-T}; chain through U = onehot^T softmax / N by autograd on a
    # float64 reference built from torch.linalg.det.
    logits, target = _random_batch(30, 4, seed=1)
    z = torch.tensor(logits, requires_grad=True)
    DMILoss()(z, torch.tensor(target)).backward()
    z_ref = torch.tensor(logits, requires_grad=True)
    onehot = torch.tensor(np_onehot(target, 4))
    joint = onehot.T @ z_ref.softmax(dim=1) / 30
    (-torch.log(torch.abs(torch.linalg.det(joint)))).backward()
    torch.testing.assert_close(z.grad, z_ref.grad)


def test_dmi_is_invariant_to_batch_permutation():
    logits, target = _random_batch(25, 3, seed=2)
    perm = np.random.default_rng(0).permutation(25)
    a = DMILoss()(torch.tensor(logits), torch.tensor(target))
    b = DMILoss()(torch.tensor(logits[perm]), torch.tensor(target[perm]))
    torch.testing.assert_close(a, b)


def test_dmi_is_zero_for_confident_correct_balanced_batch():
    target = np.repeat(np.arange(4), 3)
    logits = 40.0 * np_onehot(target, 4)
    got = DMILoss()(torch.tensor(logits), torch.tensor(target))
    assert got.item() == pytest.approx(0.0, abs=1e-9)


def test_dmi_scaled_form_avoids_underflow_for_many_classes():
    # With 40 classes det U is about 1e-102: float32 det underflows to 0 (so a naive
    # -log(det U + eps) is just -log eps), yet the loss must match the float64 reference.
    n_classes = 40
    logits, target = _random_batch(400, n_classes, seed=3)
    joint32 = torch.tensor(np_onehot(target, n_classes).T @ np_softmax(logits) / 400,
                           dtype=torch.float32)
    assert torch.linalg.det(joint32).item() == 0.0
    got = DMILoss()(torch.tensor(logits, dtype=torch.float32), torch.tensor(target))
    expected = _dmi_by_hand(logits, target, n_classes) - n_classes * math.log(n_classes)
    assert got.item() == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("eps", [1e-6, 1e-3])
def test_dmi_singular_joint_gives_finite_bounded_loss_and_gradient(eps):
    # Class 2 never appears: row 2 of U is zero, det U = 0 and -log|det U| would be inf.
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, 0.0, 0.5], [0.0, 1.0, 0.0]],
                          requires_grad=True)
    target = torch.tensor([0, 1, 0, 1])
    loss = DMILoss(eps=eps)(logits, target)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0  # the non-singular directions still train
    # The zero singular value is floored at eps; at most all three are.
    assert -math.log(eps) - 1e-6 <= loss.item() <= -3 * math.log(eps) + 1e-6


def test_dmi_uniform_prediction_is_flat():
    logits = torch.zeros(6, 3, requires_grad=True)
    loss = DMILoss()(logits, torch.tensor([0, 1, 2, 0, 1, 2]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
