"""LabelSmoothingLoss in both forms against hand-built target distributions."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sknoisy.losses import LabelSmoothingLoss

from . import as_tensors, np_log_softmax, np_onehot

LOGITS = [[0.3, -1.2, 2.0, 0.0], [1.5, 0.2, -0.7, 3.0], [0.0, 0.0, 0.0, 0.0], [-3.0, 2.5, 0.1, 1.0]]
TARGET = [2, 1, 0, 3]


def _smoothed_ce(target_dist):
    return -(target_dist * np_log_softmax(LOGITS)).sum(axis=1)


@pytest.mark.parametrize("epsilon", [0.1, 0.4])
def test_smoothing_over_all_matches_hand_built_target(epsilon):
    target_dist = (1 - epsilon) * np_onehot(TARGET, 4) + epsilon / 4
    logits, target = as_tensors(LOGITS, TARGET)
    got = LabelSmoothingLoss(epsilon=epsilon, over="all", reduction="none")(logits, target)
    np.testing.assert_allclose(got.detach().numpy(), _smoothed_ce(target_dist), rtol=1e-12)


@pytest.mark.parametrize("epsilon", [0.1, 0.4])
def test_smoothing_over_others_matches_hand_built_target(epsilon):
    onehot = np_onehot(TARGET, 4)
    target_dist = (1 - epsilon) * onehot + (epsilon / 3) * (1 - onehot)
    np.testing.assert_allclose(target_dist.sum(axis=1), 1.0)
    logits, target = as_tensors(LOGITS, TARGET)
    got = LabelSmoothingLoss(epsilon=epsilon, over="others", reduction="none")(logits, target)
    np.testing.assert_allclose(got.detach().numpy(), _smoothed_ce(target_dist), rtol=1e-12)


def test_smoothing_over_all_matches_torch_label_smoothing():
    logits, target = as_tensors(LOGITS, TARGET)
    got = LabelSmoothingLoss(epsilon=0.2)(logits, target)
    torch.testing.assert_close(got, F.cross_entropy(logits, target, label_smoothing=0.2))


def test_smoothing_forms_agree_after_reparametrisation():
    logits, target = as_tensors(LOGITS, TARGET)
    over_all = LabelSmoothingLoss(epsilon=0.2, over="all", reduction="none")(logits, target)
    over_others = LabelSmoothingLoss(epsilon=0.2 * 3 / 4, over="others",
                                     reduction="none")(logits, target)
    torch.testing.assert_close(over_all, over_others)


@pytest.mark.parametrize("over", ["all", "others"])
def test_smoothing_epsilon_zero_is_cross_entropy(over):
    logits, target = as_tensors(LOGITS, TARGET)
    got = LabelSmoothingLoss(epsilon=0.0, over=over, reduction="none")(logits, target)
    torch.testing.assert_close(got, F.cross_entropy(logits, target, reduction="none"))


def test_smoothing_others_needs_two_classes():
    with pytest.raises(ValueError, match="at least 2 classes"):
        LabelSmoothingLoss(over="others")(torch.zeros(2, 1), torch.zeros(2, dtype=torch.long))
