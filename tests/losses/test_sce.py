"""SCELoss against alpha * CE + beta * RCE built by hand."""

import math

import numpy as np
import pytest
import torch

from sknoisy.losses import MAELoss, SCELoss

from . import as_tensors, np_log_softmax, np_onehot, np_softmax

LOGITS = [[0.3, -1.2, 2.0, 0.0], [1.5, 0.2, -0.7, 3.0], [0.0, 0.0, 0.0, 0.0], [-3.0, 2.5, 0.1, 1.0]]
TARGET = [2, 1, 0, 0]


def _sce_by_hand(alpha, beta, clamp_min=1e-4):
    p = np_softmax(LOGITS)
    onehot = np_onehot(TARGET, 4)
    ce = -(onehot * np_log_softmax(LOGITS)).sum(axis=1)
    rce = -(p * np.log(np.clip(onehot, clamp_min, 1.0))).sum(axis=1)
    return alpha * ce + beta * rce


@pytest.mark.parametrize("alpha, beta", [(0.1, 1.0), (1.0, 0.0), (0.0, 1.0), (0.5, 2.0)])
def test_sce_equals_weighted_ce_plus_rce(alpha, beta):
    logits, target = as_tensors(LOGITS, TARGET)
    got = SCELoss(alpha=alpha, beta=beta, reduction="none")(logits, target)
    np.testing.assert_allclose(got.detach().numpy(), _sce_by_hand(alpha, beta), rtol=1e-12)


def test_sce_defaults_are_the_papers_cifar10_setting():
    criterion = SCELoss()
    assert (criterion.alpha, criterion.beta) == (0.1, 1.0)
    assert criterion.A == pytest.approx(math.log(1e-4))


def test_sce_custom_A_matches_other_clamp():
    # A = log(c) is the clamp of onehot at c; A = -4 is the paper's quoted value (log10 1e-4).
    logits, target = as_tensors(LOGITS, TARGET)
    got = SCELoss(alpha=0.0, beta=1.0, A=math.log(1e-2), reduction="none")(logits, target)
    np.testing.assert_allclose(got.detach().numpy(), _sce_by_hand(0.0, 1.0, 1e-2), rtol=1e-12)
    got = SCELoss(alpha=0.0, beta=1.0, A=-4.0, reduction="none")(logits, target)
    p_y = np_softmax(LOGITS)[np.arange(4), TARGET]
    np.testing.assert_allclose(got.detach().numpy(), 4.0 * (1 - p_y), rtol=1e-12)


def test_sce_reverse_term_is_scaled_mae():
    logits, target = as_tensors(LOGITS, TARGET)
    rce = SCELoss(alpha=0.0, beta=1.0, reduction="none")(logits, target)
    mae = MAELoss(reduction="none")(logits, target)
    torch.testing.assert_close(rce, -math.log(1e-4) * mae)


def test_sce_rejects_both_weights_zero():
    with pytest.raises(ValueError, match="alpha and beta are both 0"):
        SCELoss(alpha=0.0, beta=0.0)
