"""PeerLoss: CE minus alpha x CE on re-paired outputs and labels."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sknoisy.losses import PeerLoss

from . import as_tensors, np_log_softmax

LOGITS = [[0.3, -1.2, 2.0], [1.5, 0.2, -0.7], [0.0, 0.0, 0.0], [-3.0, 2.5, 0.1], [1.0, 1.0, -1.0]]
TARGET = [2, 1, 0, 0, 1]


def test_peer_alpha_zero_is_cross_entropy():
    logits, target = as_tensors(LOGITS, TARGET)
    got = PeerLoss(alpha=0.0, reduction="none")(logits, target)
    torch.testing.assert_close(got, F.cross_entropy(logits, target, reduction="none"))


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_peer_term_matches_hand_computation_with_fixed_generator(alpha):
    logits, target = as_tensors(LOGITS, TARGET)
    got = PeerLoss(alpha=alpha, reduction="none")(
        logits, target, generator=torch.Generator().manual_seed(7))
    # Documented draw order: outputs' permutation j first, then labels' permutation k.
    replay = torch.Generator().manual_seed(7)
    j = torch.randperm(5, generator=replay).numpy()
    k = torch.randperm(5, generator=replay).numpy()
    log_p = np_log_softmax(LOGITS)
    y = np.array(TARGET)
    expected = -log_p[np.arange(5), y] - alpha * (-log_p[j, y[k]])
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


def test_peer_same_seed_same_draws_other_seed_other_draws():
    logits, target = as_tensors(LOGITS * 4, TARGET * 4)
    criterion = PeerLoss(reduction="none")
    a = criterion(logits, target, generator=torch.Generator().manual_seed(1))
    b = criterion(logits, target, generator=torch.Generator().manual_seed(1))
    c = criterion(logits, target, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_peer_term_is_floored_at_eps_with_zero_gradient():
    # Every output gives p = exp(-200) to every label other than its own argmax, so most peer
    # pairings sit far below eps.
    eps = 1e-7
    logits = torch.tensor([[100.0, -100.0], [-100.0, 100.0]] * 4, requires_grad=True)
    target = torch.tensor([0, 1] * 4)
    criterion = PeerLoss(alpha=1.0, eps=eps, reduction="none")
    values = criterion(logits, target, generator=torch.Generator().manual_seed(0))
    replay = torch.Generator().manual_seed(0)
    j = torch.randperm(8, generator=replay)
    k = torch.randperm(8, generator=replay)
    clamped = (j % 2) != target[k]  # output j's argmax is j % 2
    assert clamped.any()
    ce = F.cross_entropy(logits.detach(), target, reduction="none")
    torch.testing.assert_close(values[clamped], ce[clamped] + math.log(eps))
    values.sum().backward()
    assert torch.isfinite(logits.grad).all()
    # Unclamped, -log p of a p = exp(-200) pairing has a gradient of norm ~1.4 in the logits;
    # every other contribution (own CE, peer pairs with p ~ 1) is ~0 at these saturated logits.
    assert logits.grad.abs().max() < 1e-6


def test_peer_uses_global_generator_when_none_given():
    logits, target = as_tensors(LOGITS, TARGET)
    values = PeerLoss()(logits, target)
    assert torch.isfinite(values)


def test_peer_rejects_non_generator():
    logits, target = as_tensors(LOGITS, TARGET)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        PeerLoss()(logits, target, generator=0)
