"""Behaviour every sknoisy criterion shares: reductions, input checks, devices, docstrings.

The docstring examples themselves run once, in tests/test_docs.py."""

import copy
import inspect
import pickle

import pytest
import torch
import torch.nn.functional as F

import sknoisy.losses as losses
from sknoisy.losses import (
    BootstrappingLoss,
    CategoryStructureLoss,
    ClassRelationSmoothingLoss,
    DisturbLabelLoss,
    DistillationLoss,
    DMILoss,
    DropMaxLoss,
    ELRLoss,
    GCELoss,
    KnowledgeRefineryLoss,
    LabelSmoothingLoss,
    MAELoss,
    PeerLoss,
    SCELoss,
)
from sknoisy.losses._base import reduce_loss

TEACHER = torch.tensor([[0.3, -1.0, 2.0], [1.0, 1.0, 0.0], [-2.0, 0.5, 0.5], [0.0, 0.0, 4.0]],
                       dtype=torch.float64)


def _call(criterion, logits, target, seed=0):
    """Call any criterion with what it needs besides (logits, target)."""
    if isinstance(criterion, (DistillationLoss, CategoryStructureLoss)):
        teacher = TEACHER.to(logits) if isinstance(logits, torch.Tensor) else TEACHER
        return criterion(logits, target, teacher_logits=teacher)
    if isinstance(criterion, (PeerLoss, DisturbLabelLoss)):
        return criterion(logits, target, generator=torch.Generator().manual_seed(seed))
    if isinstance(criterion, DropMaxLoss):
        # A DropMax network's four outputs, all read from the same logits here.
        return criterion((logits, logits, logits, logits), target,
                         generator=torch.Generator().manual_seed(seed))
    if isinstance(criterion, ELRLoss):
        # Its running targets change with every training call: each call starts from a
        # fresh copy, so repeated calls compare like with like.
        criterion = copy.deepcopy(criterion)
        if criterion.n_samples is None:
            criterion.n_samples = len(target)
        return criterion(logits, target, indices=torch.arange(len(target)))
    return criterion(logits, target)


# Every criterion with a ``reduction`` argument, in non-default settings where they exist.
PER_SAMPLE = {
    "gce": lambda r: GCELoss(q=0.5, reduction=r),
    "gce_truncated": lambda r: GCELoss(q=0.7, k=0.4, reduction=r),
    "mae": lambda r: MAELoss(reduction=r),
    "sce": lambda r: SCELoss(reduction=r),
    "bootstrap_soft": lambda r: BootstrappingLoss(mode="soft", reduction=r),
    "bootstrap_soft_detached": lambda r: BootstrappingLoss(detach=True, reduction=r),
    "bootstrap_hard": lambda r: BootstrappingLoss(mode="hard", reduction=r),
    "smoothing_all": lambda r: LabelSmoothingLoss(over="all", reduction=r),
    "smoothing_others": lambda r: LabelSmoothingLoss(over="others", reduction=r),
    "peer": lambda r: PeerLoss(alpha=0.5, reduction=r),
    "disturb": lambda r: DisturbLabelLoss(alpha=0.5, reduction=r),
    "distillation": lambda r: DistillationLoss(reduction=r),
    "elr": lambda r: ELRLoss(beta=0.5, lam=2.0, n_samples=4, reduction=r),
    # Sized from the logits at the first call (these tests use 2 and 3 classes).
    "knowledge_refinery": lambda r: KnowledgeRefineryLoss(alpha=0.5, epsilon=0.1,
                                                          reduction=r),
    "class_relation": lambda r: ClassRelationSmoothingLoss(epsilon=0.2, reduction=r),
    "dropmax": lambda r: DropMaxLoss(kl_weight=0.5, temperature=0.2, reduction=r),
}
ALL = {**PER_SAMPLE, "dmi": lambda r: DMILoss(),
       "category_structure": lambda r: CategoryStructureLoss()}

LOGITS = torch.tensor([[0.3, -1.2, 2.0], [1.5, 0.2, -0.7], [0.0, 0.0, 0.0], [-3.0, 2.5, 0.1]],
                      dtype=torch.float64)
TARGET = torch.tensor([2, 1, 0, 2])


def test_all_lists_every_public_loss():
    public = {name for name, obj in vars(losses).items()
              if inspect.isclass(obj) and issubclass(obj, torch.nn.Module)}
    # Besides the criteria, one batch-level function (the class-prior penalty) and the
    # class-similarity estimate of ClassRelationSmoothingLoss.
    assert set(losses.__all__) == public | {"prior_penalty", "class_similarity"}
    # Every public criterion is in the tables below, so every shared test runs on it.
    assert {type(make("none")).__name__ for make in ALL.values()} == public


@pytest.mark.parametrize("name", sorted(PER_SAMPLE))
def test_reduction_none_mean_sum_are_consistent(name):
    make = PER_SAMPLE[name]
    per_sample = _call(make("none"), LOGITS, TARGET)
    mean = _call(make("mean"), LOGITS, TARGET)
    total = _call(make("sum"), LOGITS, TARGET)
    assert per_sample.shape == (4,)
    assert mean.shape == () and total.shape == ()
    torch.testing.assert_close(total, 4 * mean)
    torch.testing.assert_close(per_sample.mean(), mean)


def test_reduction_default_is_mean():
    # One check per class (PER_SAMPLE has several settings of some): built without
    # ``reduction``, each criterion returns the same scalar as with reduction='mean'.
    for cls in {type(make("mean")) for make in PER_SAMPLE.values()}:
        default, mean = _call(cls(), LOGITS, TARGET), _call(cls(reduction="mean"), LOGITS, TARGET)
        assert default.shape == (), cls.__name__
        torch.testing.assert_close(default, mean, msg=cls.__name__)


def test_dmi_has_no_reduction_argument():
    assert "reduction" not in inspect.signature(DMILoss).parameters
    with pytest.raises(TypeError):
        DMILoss(reduction="none")
    assert DMILoss()(LOGITS, TARGET).shape == ()


@pytest.mark.parametrize("name", sorted(ALL))
def test_gradients_finite_when_target_probability_vanishes(name):
    # p_y = exp(-200): underflows in float32, and log p_y would be -inf if formed from p.
    logits = torch.tensor([[-100.0, 100.0], [100.0, -100.0], [-100.0, 100.0]],
                          requires_grad=True)
    target = torch.tensor([0, 1, 1])
    criterion = ALL[name]("mean")
    if isinstance(criterion, (DistillationLoss, CategoryStructureLoss)):
        loss = criterion(logits, target, teacher_logits=-logits.detach())
    else:
        loss = _call(criterion, logits, target)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("name", sorted(ALL))
def test_float64_stays_float64_and_float16_is_upcast(name):
    criterion = ALL[name]("none")
    out64 = _call(criterion, LOGITS, TARGET)
    assert out64.dtype == torch.float64
    out16 = _call(criterion, LOGITS.half(), TARGET)
    assert out16.dtype == torch.float32
    torch.testing.assert_close(out16.double(), out64, atol=1e-2, rtol=1e-2)


@pytest.mark.parametrize("name", sorted(ALL))
def test_works_on_other_device(name):
    # The meta device holds shapes only: a constant created on the CPU by the loss would make
    # the computation fail with a device mismatch, so this checks device-agnostic code
    # without a GPU.
    logits = torch.empty(4, 3, device="meta", requires_grad=True)
    target = torch.empty(4, dtype=torch.long, device="meta")
    criterion = ALL[name]("none")
    if isinstance(criterion, (DistillationLoss, CategoryStructureLoss)):
        out = criterion(logits, target, teacher_probs=torch.empty(4, 3, device="meta"))
    else:
        out = _call(criterion, logits, target)
    assert out.device.type == "meta"
    assert out.shape == ((4,) if name in PER_SAMPLE else ())
    out.sum().backward()


def test_meta_device_detects_cpu_constants():
    # Guard for the test above: mixing a CPU tensor into meta arithmetic must fail.
    with pytest.raises((RuntimeError, NotImplementedError)):
        torch.empty(3, device="meta") * torch.ones(3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", sorted(ALL))
def test_cuda_matches_cpu(name):
    cpu = _call(ALL[name]("none"), LOGITS, TARGET)
    gpu = _call(ALL[name]("none"), LOGITS.cuda(), TARGET.cuda())
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu)


@pytest.mark.parametrize("name", sorted(ALL))
def test_inputs_are_not_modified(name):
    logits, target = LOGITS.clone(), torch.tensor([2, 1, 0, 2], dtype=torch.int32)
    _call(ALL[name]("mean"), logits, target)
    torch.testing.assert_close(logits, LOGITS)
    assert target.dtype == torch.int32 and target.tolist() == [2, 1, 0, 2]


@pytest.mark.parametrize("name", sorted(ALL))
def test_bad_inputs_raise_clear_errors(name):
    criterion = ALL[name]("mean")
    with pytest.raises(ValueError, match=r"target values must lie in \[0, 3\)"):
        _call(criterion, LOGITS, torch.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match=r"target values must lie"):
        _call(criterion, LOGITS, torch.tensor([0, -1, 2, 0]))
    with pytest.raises(ValueError, match=r"target must have shape \(4,\)"):
        _call(criterion, LOGITS, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"logits must have shape \(N, C\)"):
        _call(criterion, LOGITS[0], TARGET)
    with pytest.raises(TypeError, match="integer class indices"):
        _call(criterion, LOGITS, TARGET.double())
    with pytest.raises(TypeError, match="floating tensor"):
        _call(criterion, TARGET.view(4, 1), TARGET)
    with pytest.raises(TypeError, match="torch tensors"):
        _call(criterion, LOGITS.numpy(), TARGET)


@pytest.mark.parametrize("name", sorted(PER_SAMPLE))
def test_invalid_reduction_names_parameter_and_value(name):
    with pytest.raises(ValueError, match=r"'reduction' parameter .*Got 'avg'"):
        PER_SAMPLE[name]("avg")


def test_reduce_loss_rejects_unknown_reduction():
    with pytest.raises(ValueError, match="reduction must be one of"):
        reduce_loss(torch.ones(2), "batchmean")


@pytest.mark.parametrize("cls, kwargs, param", [
    (GCELoss, {"q": 0.0}, "q"),
    (GCELoss, {"q": 1.5}, "q"),
    (GCELoss, {"q": "0.7"}, "q"),
    (GCELoss, {"k": 1.0}, "k"),
    (GCELoss, {"k": 0.0}, "k"),
    (SCELoss, {"alpha": -0.1}, "alpha"),
    (SCELoss, {"beta": float("nan")}, "beta"),
    (SCELoss, {"A": 0.0}, "A"),
    (BootstrappingLoss, {"beta": 1.2}, "beta"),
    (BootstrappingLoss, {"mode": "medium"}, "mode"),
    (BootstrappingLoss, {"detach": 1}, "detach"),
    (DMILoss, {"eps": 0.0}, "eps"),
    (LabelSmoothingLoss, {"epsilon": 1.0}, "epsilon"),
    (LabelSmoothingLoss, {"epsilon": -0.1}, "epsilon"),
    (LabelSmoothingLoss, {"over": "rest"}, "over"),
    (PeerLoss, {"alpha": -1.0}, "alpha"),
    (PeerLoss, {"alpha": float("inf")}, "alpha"),
    (PeerLoss, {"eps": 1.0}, "eps"),
    (DisturbLabelLoss, {"alpha": 1.5}, "alpha"),
    (DisturbLabelLoss, {"num_classes": 0}, "num_classes"),
    (DisturbLabelLoss, {"num_classes": 2.5}, "num_classes"),
    (DisturbLabelLoss, {"base": "ce"}, "base"),
    (DistillationLoss, {"alpha": 1.1}, "alpha"),
    (DistillationLoss, {"temperature": 0.0}, "temperature"),
    (DistillationLoss, {"temperature": -2.0}, "temperature"),
    (ELRLoss, {"beta": 1.0}, "beta"),
    (ELRLoss, {"lam": -1.0}, "lam"),
    (ELRLoss, {"n_samples": 0}, "n_samples"),
    (KnowledgeRefineryLoss, {"alpha": -0.5}, "alpha"),
    (KnowledgeRefineryLoss, {"epsilon": 1.0}, "epsilon"),
    (KnowledgeRefineryLoss, {"num_classes": 1}, "num_classes"),
    (ClassRelationSmoothingLoss, {"epsilon": 1.0}, "epsilon"),
    (ClassRelationSmoothingLoss, {"similarity": "uniform"}, "similarity"),
    (CategoryStructureLoss, {"inter_weight": -1.0}, "inter_weight"),
    (CategoryStructureLoss, {"temperature": 0.0}, "temperature"),
    (DropMaxLoss, {"temperature": 0.0}, "temperature"),
    (DropMaxLoss, {"aux_weight": -1.0}, "aux_weight"),
])
def test_invalid_parameter_raises_naming_it(cls, kwargs, param):
    value = kwargs[param]
    with pytest.raises(ValueError, match=rf"'{param}' parameter of {cls.__name__}") as info:
        cls(**kwargs)
    assert repr(value) in str(info.value) or str(value) in str(info.value)


@pytest.mark.parametrize("name", sorted(ALL))
def test_pickle_and_deepcopy_round_trip(name):
    criterion = ALL[name]("none")
    for clone in (pickle.loads(pickle.dumps(criterion)), copy.deepcopy(criterion)):
        assert repr(clone) == repr(criterion)
        torch.testing.assert_close(_call(clone, LOGITS, TARGET), _call(criterion, LOGITS, TARGET))


def test_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        GCELoss(0.5)


def test_arguments_are_stored_unchanged():
    criterion = BootstrappingLoss(beta=None, mode="hard", detach=True, reduction="sum")
    assert (criterion.beta, criterion.mode, criterion.detach, criterion.reduction) == (
        None, "hard", True, "sum")
    assert "mode='hard'" in repr(criterion)


def test_empty_batch_follows_torch_conventions():
    logits, target = torch.empty(0, 3), torch.empty(0, dtype=torch.long)
    assert GCELoss(reduction="none")(logits, target).shape == (0,)
    assert GCELoss(reduction="sum")(logits, target) == 0
    assert torch.isnan(GCELoss()(logits, target)) == torch.isnan(F.cross_entropy(logits, target))
    with pytest.raises(ValueError, match="batch is empty"):
        DMILoss()(logits, target)


@pytest.mark.parametrize("name", sorted(losses.__all__))
def test_public_docstrings_have_required_sections(name):
    doc = getattr(losses, name).__doc__
    for section in ("Parameters", "Notes", "References", "Examples"):
        assert f"\n    {section}\n    {'-' * len(section)}" in doc, section
