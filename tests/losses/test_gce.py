"""GCELoss (plain and truncated) and MAELoss against their closed forms."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sknoisy.losses import GCELoss, MAELoss

from . import as_tensors, np_onehot, np_softmax

LOGITS = [[0.3, -1.2, 2.0], [1.5, 0.2, -0.7], [0.0, 0.0, 0.0], [-3.0, 2.5, 0.1], [4.0, -4.0, 0.0]]
TARGET = [2, 1, 0, 0, 0]


def _p_target(logits=LOGITS, target=TARGET):
    return np_softmax(logits)[np.arange(len(target)), target]


@pytest.mark.parametrize("q", [0.3, 0.7])
def test_gce_matches_closed_form(q):
    logits, target = as_tensors(LOGITS, TARGET)
    expected = (1 - _p_target() ** q) / q
    got = GCELoss(q=q, reduction="none")(logits, target)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


def test_gce_q_one_is_one_minus_p():
    logits, target = as_tensors(LOGITS, TARGET)
    got = GCELoss(q=1.0, reduction="none")(logits, target)
    np.testing.assert_allclose(got.detach().numpy(), 1 - _p_target(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gce_tiny_q_matches_cross_entropy(dtype):
    logits, target = as_tensors(LOGITS + [[-20.0, 20.0, 0.0]], TARGET + [0], dtype=dtype)
    got = GCELoss(q=1e-6, reduction="none")(logits, target)
    expected = F.cross_entropy(logits, target, reduction="none")
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)
    got.sum().backward()
    gce_grad = logits.grad.clone()
    logits.grad = None
    expected.sum().backward()
    torch.testing.assert_close(gce_grad, logits.grad, rtol=1e-4, atol=1e-6)


def test_gce_truncated_is_constant_below_k_with_zero_gradient():
    q, k = 0.7, 0.4
    logits, target = as_tensors(LOGITS, TARGET)
    p = _p_target()
    below = p <= k
    assert below.any() and (~below).any()  # the data covers both branches
    values = GCELoss(q=q, k=k, reduction="none")(logits, target)
    expected = np.where(below, (1 - k ** q) / q, (1 - p ** q) / q)
    np.testing.assert_allclose(values.detach().numpy(), expected, rtol=1e-12)
    values.sum().backward()
    grad = logits.grad.numpy()
    assert np.all(grad[below] == 0.0)
    assert np.all(np.abs(grad[~below]).sum(axis=1) > 0)


def test_gce_truncated_equals_plain_above_k():
    logits, target = as_tensors([[3.0, 0.0], [0.0, 2.0]], [0, 1])
    plain = GCELoss(q=0.7, reduction="none")(logits, target)
    truncated = GCELoss(q=0.7, k=0.5, reduction="none")(logits, target)
    torch.testing.assert_close(truncated, plain)


def test_gce_truncated_is_continuous_at_k():
    # logits (log k, log(1 - k)) put p_y exactly at k; nudging either way moves the loss
    # by about the derivative times the nudge, not by a jump.
    k, q = 0.3, 0.5
    criterion = GCELoss(q=q, k=k, reduction="none")
    values = [criterion(torch.tensor([[np.log(k) + d, np.log(1 - k)]], dtype=torch.float64),
                        torch.tensor([0])).item() for d in (-1e-6, 1e-6)]
    assert abs(values[0] - values[1]) < 1e-5


def test_gce_decreases_towards_mae_as_q_grows():
    logits, target = as_tensors(LOGITS, TARGET)
    values = [GCELoss(q=q)(logits, target).item() for q in (1e-4, 0.3, 0.7, 1.0)]
    assert values == sorted(values, reverse=True)


def test_mae_is_half_the_l1_distance():
    logits, target = as_tensors(LOGITS, TARGET)
    expected = np.abs(np_onehot(TARGET, 3) - np_softmax(LOGITS)).sum(axis=1) / 2
    got = MAELoss(reduction="none")(logits, target)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


def test_mae_equals_gce_with_q_one_including_gradient():
    logits, target = as_tensors(LOGITS, TARGET)
    MAELoss()(logits, target).backward()
    mae_grad = logits.grad.clone()
    logits.grad = None
    GCELoss(q=1.0)(logits, target).backward()
    torch.testing.assert_close(mae_grad, logits.grad)


def test_mae_gradient_matches_closed_form():
    # d(1 - p_y)/dz_j = -p_y * (onehot_j - p_j)
    logits, target = as_tensors(LOGITS, TARGET)
    MAELoss(reduction="sum")(logits, target).backward()
    p = np_softmax(LOGITS)
    expected = -_p_target()[:, None] * (np_onehot(TARGET, 3) - p)
    np.testing.assert_allclose(logits.grad.numpy(), expected, rtol=1e-10, atol=1e-14)
