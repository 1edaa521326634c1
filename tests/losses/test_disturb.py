"""DisturbLabelLoss: random replacement of targets in training mode only."""

import pytest
import torch
import torch.nn.functional as F

from sknoisy.losses import DisturbLabelLoss, DMILoss, GCELoss, LabelSmoothingLoss

LOGITS = torch.tensor([[0.3, -1.2, 2.0], [1.5, 0.2, -0.7], [0.0, 0.0, 0.0], [-3.0, 2.5, 0.1]],
                      dtype=torch.float64)
TARGET = torch.tensor([2, 1, 0, 0])


def _generator(seed=0):
    return torch.Generator().manual_seed(seed)


def test_disturb_alpha_zero_is_cross_entropy():
    got = DisturbLabelLoss(alpha=0.0, reduction="none")(LOGITS, TARGET, generator=_generator())
    torch.testing.assert_close(got, F.cross_entropy(LOGITS, TARGET, reduction="none"))


def test_disturb_eval_mode_leaves_targets_alone():
    criterion = DisturbLabelLoss(alpha=1.0, reduction="none").eval()
    got = criterion(LOGITS, TARGET, generator=_generator())
    torch.testing.assert_close(got, F.cross_entropy(LOGITS, TARGET, reduction="none"))


def test_disturb_replaces_about_alpha_times_c_minus_one_over_c():
    # A label survives a replacement with probability 1/C, so the changed fraction is
    # alpha * (C - 1) / C. Identify each sample's used target from a logit row that makes the
    # per-sample CE reveal the class.
    n, n_classes, alpha = 6000, 4, 0.4
    logits = torch.arange(n_classes, dtype=torch.float64).repeat(n, 1) * 3.0
    target = torch.zeros(n, dtype=torch.long)
    values = DisturbLabelLoss(alpha=alpha, reduction="none")(logits, target,
                                                             generator=_generator(3))
    ce_per_class = F.cross_entropy(logits[:n_classes], torch.arange(n_classes), reduction="none")
    used = (values[:, None] - ce_per_class[None, :]).abs().argmin(dim=1)
    changed = (used != 0).double().mean().item()
    assert changed == pytest.approx(alpha * (n_classes - 1) / n_classes, abs=0.03)
    counts = torch.bincount(used[used != 0], minlength=n_classes)[1:].double()
    assert counts.min() / counts.max() > 0.8  # replacements are uniform over classes


def test_disturb_expectation_is_label_smoothing():
    n = 20000
    logits = LOGITS.repeat(n // 4, 1)
    target = TARGET.repeat(n // 4)
    disturbed = DisturbLabelLoss(alpha=0.3)(logits, target, generator=_generator(1))
    smoothed = LabelSmoothingLoss(epsilon=0.3, over="all")(logits, target)
    assert disturbed.item() == pytest.approx(smoothed.item(), rel=0.03)


def test_disturb_same_seed_same_result_and_target_untouched():
    target = TARGET.clone()
    criterion = DisturbLabelLoss(alpha=0.5, reduction="none")
    a = criterion(LOGITS, target, generator=_generator(5))
    b = criterion(LOGITS, target, generator=_generator(5))
    torch.testing.assert_close(a, b)
    assert target.tolist() == TARGET.tolist()


def test_disturb_num_classes_limits_the_draws():
    criterion = DisturbLabelLoss(alpha=1.0, num_classes=1, reduction="none")
    got = criterion(LOGITS, TARGET, generator=_generator())
    zeros = torch.zeros(4, dtype=torch.long)
    torch.testing.assert_close(got, F.cross_entropy(LOGITS, zeros, reduction="none"))
    with pytest.raises(ValueError, match="num_classes=4 exceeds the 3 logit columns"):
        DisturbLabelLoss(num_classes=4)(LOGITS, TARGET)


def test_disturb_wraps_a_per_sample_base():
    criterion = DisturbLabelLoss(base=GCELoss(q=0.5, reduction="none"), alpha=0.0,
                                 reduction="sum")
    expected = GCELoss(q=0.5, reduction="sum")(LOGITS, TARGET)
    torch.testing.assert_close(criterion(LOGITS, TARGET), expected)


def test_disturb_scalar_base_passes_through_unless_none_requested():
    scalar = DisturbLabelLoss(base=DMILoss(), alpha=0.0)(LOGITS, TARGET)
    torch.testing.assert_close(scalar, DMILoss()(LOGITS, TARGET))
    with pytest.raises(ValueError, match="build the base with reduction='none'"):
        DisturbLabelLoss(base=GCELoss(), reduction="none")(LOGITS, TARGET)


def test_disturb_base_moves_with_the_module():
    base = GCELoss(reduction="none")
    criterion = DisturbLabelLoss(base=base)
    assert dict(criterion.named_children()) == {"base": base}
