"""Property tests: finite values, finite gradients and known bounds over random logits."""

import math

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from sknoisy.losses import (
    BootstrappingLoss,
    DisturbLabelLoss,
    DistillationLoss,
    DMILoss,
    GCELoss,
    LabelSmoothingLoss,
    MAELoss,
    PeerLoss,
    SCELoss,
)

TOL = 1e-4
LOGIT = st.floats(-50.0, 50.0, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def batches(draw, min_samples=1):
    n_samples = draw(st.integers(min_samples, 6))
    n_classes = draw(st.integers(2, 5))
    logits = draw(st.lists(st.lists(LOGIT, min_size=n_classes, max_size=n_classes),
                           min_size=n_samples, max_size=n_samples))
    target = draw(st.lists(st.integers(0, n_classes - 1), min_size=n_samples,
                           max_size=n_samples))
    return (torch.tensor(logits, dtype=torch.float32, requires_grad=True),
            torch.tensor(target, dtype=torch.long))


def _value_and_grad(criterion, logits, target, **kwargs):
    values = criterion(logits, target, **kwargs)
    values.sum().backward()
    assert torch.isfinite(values).all(), values
    assert torch.isfinite(logits.grad).all(), logits.grad
    return values.detach()


def _ce(logits, target):
    return F.cross_entropy(logits.detach(), target, reduction="none")


SETTINGS = settings(max_examples=30, deadline=None)


@SETTINGS
@given(batch=batches(), q=st.floats(1e-6, 1.0), truncate=st.booleans())
def test_gce_finite_and_between_zero_and_min_of_ce_and_inverse_q(batch, q, truncate):
    logits, target = batch
    criterion = GCELoss(q=q, k=0.5 if truncate else None, reduction="none")
    values = _value_and_grad(criterion, logits, target)
    assert (values >= -TOL).all()
    assert (values <= 1.0 / q * (1 + TOL)).all()
    if not truncate:  # (1 - p**q)/q <= -log p, since 1 - exp(-x) <= x
        assert (values <= _ce(logits, target) * (1 + TOL) + TOL).all()


@SETTINGS
@given(batch=batches())
def test_mae_finite_and_in_unit_interval(batch):
    values = _value_and_grad(MAELoss(reduction="none"), *batch)
    assert (values >= -TOL).all() and (values <= 1 + TOL).all()


@SETTINGS
@given(batch=batches(), alpha=st.floats(0.0, 2.0), beta=st.floats(0.01, 2.0))
def test_sce_finite_and_bounded_by_its_terms(batch, alpha, beta):
    logits, target = batch
    values = _value_and_grad(SCELoss(alpha=alpha, beta=beta, reduction="none"), logits, target)
    upper = alpha * _ce(logits, target) - beta * math.log(1e-4)
    assert (values >= -TOL).all()
    assert (values <= upper * (1 + TOL) + TOL).all()


@SETTINGS
@given(batch=batches(), mode=st.sampled_from(["soft", "hard"]), detach=st.booleans())
def test_bootstrapping_finite_and_non_negative(batch, mode, detach):
    values = _value_and_grad(BootstrappingLoss(mode=mode, detach=detach, reduction="none"),
                             *batch)
    assert (values >= -TOL).all()


@SETTINGS
@given(batch=batches(), epsilon=st.floats(0.0, 0.99), over=st.sampled_from(["all", "others"]))
def test_label_smoothing_finite_and_non_negative(batch, epsilon, over):
    values = _value_and_grad(LabelSmoothingLoss(epsilon=epsilon, over=over, reduction="none"),
                             *batch)
    assert (values >= -TOL).all()


@SETTINGS
@given(batch=batches(), alpha=st.floats(0.0, 3.0), seed=st.integers(0, 2 ** 16))
def test_peer_finite_and_bounded_below_by_the_floor(batch, alpha, seed):
    logits, target = batch
    eps = 1e-7
    values = _value_and_grad(PeerLoss(alpha=alpha, eps=eps, reduction="none"), logits, target,
                             generator=torch.Generator().manual_seed(seed))
    assert (values >= alpha * math.log(eps) - TOL).all()
    assert (values <= _ce(logits, target) + TOL).all()


@SETTINGS
@given(batch=batches(), alpha=st.floats(0.0, 1.0), seed=st.integers(0, 2 ** 16))
def test_disturb_label_finite_and_non_negative(batch, alpha, seed):
    values = _value_and_grad(DisturbLabelLoss(alpha=alpha, reduction="none"), *batch,
                             generator=torch.Generator().manual_seed(seed))
    assert (values >= -TOL).all()


@SETTINGS
@given(batch=batches(), data=st.data(), alpha=st.floats(0.0, 1.0),
       temperature=st.floats(0.1, 20.0), as_probs=st.booleans())
def test_distillation_finite_and_non_negative(batch, data, alpha, temperature, as_probs):
    logits, target = batch
    teacher = torch.tensor(data.draw(st.lists(
        st.lists(LOGIT, min_size=logits.shape[1], max_size=logits.shape[1]),
        min_size=logits.shape[0], max_size=logits.shape[0])))
    kwargs = ({"teacher_probs": teacher.softmax(dim=1)} if as_probs
              else {"teacher_logits": teacher})
    criterion = DistillationLoss(alpha=alpha, temperature=temperature, reduction="none")
    values = _value_and_grad(criterion, logits, target, **kwargs)
    assert (values >= -TOL * (1 + temperature ** 2)).all()


@SETTINGS
@given(batch=batches())
def test_dmi_finite_and_between_zero_and_floor_bound(batch):
    logits, target = batch
    eps = 1e-6
    value = _value_and_grad(DMILoss(eps=eps), logits, target)
    assert value >= -1e-3  # |det(C U)| <= 1 for every batch (float32 rounding aside)
    assert value <= -logits.shape[1] * math.log(eps) + TOL
