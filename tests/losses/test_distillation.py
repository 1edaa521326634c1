"""DistillationLoss: (1 - alpha) CE + alpha T^2 KL(teacher_T || student_T), batchmean."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sknoisy.losses import DistillationLoss

from . import as_tensors, np_log_softmax, np_softmax

STUDENT = [[0.3, -1.2, 2.0], [1.5, 0.2, -0.7], [0.0, 0.0, 0.0], [-3.0, 2.5, 0.1]]
TEACHER = [[1.0, 0.0, 3.0], [2.0, 2.0, -1.0], [0.5, -0.5, 0.0], [0.0, 4.0, 1.0]]
TARGET = [2, 1, 0, 0]


def _kl_by_hand(temperature):
    t = np_softmax(np.array(TEACHER) / temperature)
    log_s = np_log_softmax(np.array(STUDENT) / temperature)
    return (t * (np.log(t) - log_s)).sum(axis=1)


def _call(criterion, **teacher):
    student, target = as_tensors(STUDENT, TARGET)
    return criterion(student, target, **teacher)


def test_distillation_alpha_zero_is_cross_entropy():
    student, target = as_tensors(STUDENT, TARGET)
    got = DistillationLoss(alpha=0.0, reduction="none")(
        student, target, teacher_logits=torch.tensor(TEACHER, dtype=torch.float64))
    torch.testing.assert_close(got, F.cross_entropy(student, target, reduction="none"))


@pytest.mark.parametrize("temperature", [1.0, 2.0, 5.0])
def test_distillation_matches_closed_form_with_t_squared(temperature):
    alpha = 0.3
    got = _call(DistillationLoss(alpha=alpha, temperature=temperature, reduction="none"),
                teacher_logits=torch.tensor(TEACHER, dtype=torch.float64))
    ce = -np_log_softmax(STUDENT)[np.arange(4), TARGET]
    expected = (1 - alpha) * ce + alpha * temperature ** 2 * _kl_by_hand(temperature)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


def test_distillation_mean_is_batchmean_kl_not_elementwise():
    temperature = 3.0
    got = _call(DistillationLoss(alpha=1.0, temperature=temperature),
                teacher_logits=torch.tensor(TEACHER, dtype=torch.float64))
    log_s = torch.tensor(STUDENT, dtype=torch.float64).div(temperature).log_softmax(dim=1)
    t = torch.tensor(TEACHER, dtype=torch.float64).div(temperature).softmax(dim=1)
    batchmean = F.kl_div(log_s, t, reduction="batchmean") * temperature ** 2
    elementwise = batchmean / t.shape[1]  # torch's reduction='mean' over N * C elements
    torch.testing.assert_close(got, batchmean)
    assert not torch.isclose(got, elementwise)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 4.0])
def test_distillation_teacher_probs_equal_teacher_logits(temperature):
    criterion = DistillationLoss(temperature=temperature, reduction="none")
    teacher_logits = torch.tensor(TEACHER, dtype=torch.float64)
    from_logits = _call(criterion, teacher_logits=teacher_logits)
    from_probs = _call(criterion, teacher_probs=teacher_logits.softmax(dim=1))
    torch.testing.assert_close(from_logits, from_probs)


def test_distillation_teacher_probs_are_renormalised_power():
    temperature = 2.0
    probs = np.array([[0.6, 0.4, 0.0], [0.2, 0.2, 0.6], [1.0, 0.0, 0.0], [0.1, 0.8, 0.1]])
    got = _call(DistillationLoss(alpha=1.0, temperature=temperature, reduction="none"),
                teacher_probs=torch.tensor(probs))
    t = probs ** (1 / temperature)
    t /= t.sum(axis=1, keepdims=True)
    log_s = np_log_softmax(np.array(STUDENT) / temperature)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(t > 0, t * (np.log(t) - log_s), 0.0).sum(axis=1)
    np.testing.assert_allclose(got.detach().numpy(), temperature ** 2 * kl, rtol=1e-12)
    assert torch.isfinite(got).all()


def test_distillation_teacher_gets_no_gradient():
    teacher = torch.tensor(TEACHER, dtype=torch.float64, requires_grad=True)
    student, target = as_tensors(STUDENT, TARGET)
    DistillationLoss()(student, target, teacher_logits=teacher).backward()
    assert teacher.grad is None
    assert student.grad.abs().sum() > 0


def test_distillation_needs_exactly_one_teacher():
    teacher = torch.tensor(TEACHER, dtype=torch.float64)
    with pytest.raises(ValueError, match="exactly one of teacher_logits and teacher_probs"):
        _call(DistillationLoss())
    with pytest.raises(ValueError, match="exactly one"):
        _call(DistillationLoss(), teacher_logits=teacher, teacher_probs=teacher.softmax(1))


def test_distillation_rejects_bad_teacher():
    teacher = torch.tensor(TEACHER, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"teacher_logits must have the student's shape"):
        _call(DistillationLoss(), teacher_logits=teacher[:, :2])
    with pytest.raises(TypeError, match="teacher_probs must be a floating torch tensor"):
        _call(DistillationLoss(), teacher_probs=np.ones((4, 3)))
    bad = teacher.softmax(1).clone()
    bad[0, 0] = -0.1
    with pytest.raises(ValueError, match="finite and non-negative"):
        _call(DistillationLoss(), teacher_probs=bad)
    with pytest.raises(ValueError, match="positive sum"):
        _call(DistillationLoss(), teacher_probs=torch.zeros(4, 3, dtype=torch.float64))
