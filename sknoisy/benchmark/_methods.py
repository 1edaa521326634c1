"""The benchmark's method registry: a name -> how to build the estimator for one run.

Adding a method is one ``_add(...)`` line here, or, from user code,
``METHODS["mine"] = Method(lambda ctx: MyClassifier(**ctx.net_params()), "my method")``.
A method whose class cannot be imported (an optional dependency such as cleanlab is
missing) is left out of the registry.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = ["METHODS", "Method", "MethodContext", "noise_scores_of"]


@dataclass(frozen=True)
class MethodContext:
    """What a method factory knows about the run it builds an estimator for.

    Parameters
    ----------
    n_classes : int
        Number of classes in the dataset.
    epochs : int
        The epoch budget shared by every method.
    seed : int
        Seed of this run; passed as ``random_state``.
    input_kind : {'tabular', 'image'}
        Whether X is flat rows (an MLP is built) or images (a small CNN).
    noise_rate : float
        The nominal noise rate of the run, for methods whose paper assumes it known.
    device : str, default='cpu'
        Torch device.

    Examples
    --------
    >>> from sknoisy.benchmark import MethodContext
    >>> ctx = MethodContext(n_classes=3, epochs=5, seed=0, input_kind="tabular",
    ...                     noise_rate=0.2)
    >>> ctx.net_params()
    {'max_epochs': 5, 'random_state': 0, 'device': 'cpu'}
    """

    n_classes: int
    epochs: int
    seed: int
    input_kind: str
    noise_rate: float
    device: str = "cpu"

    def net_params(self) -> dict:
        """Parameters every network of the run gets (same budget, seed and device)."""
        return {"max_epochs": self.epochs, "random_state": self.seed, "device": self.device}

    def warmup_epochs(self) -> int:
        """Epochs a detector trains before reading losses: before memorisation starts."""
        return max(1, min(10, self.epochs // 3))


@dataclass(frozen=True)
class Method:
    """One benchmarked method.

    Parameters
    ----------
    factory : callable
        ``factory(context) -> estimator``, an unfitted scikit-learn classifier.
    description : str
        One line for the results table's legend.
    scores : callable or None, default=None
        ``scores(fitted_estimator) -> ndarray`` of per-training-sample noise scores
        (higher = more likely mislabeled), for methods that detect noise.
    clean_labels : bool, default=False
        Train on the clean labels (a reference, not a method).

    Examples
    --------
    >>> from sknoisy import NoisyNetClassifier
    >>> from sknoisy.benchmark import Method, MethodContext
    >>> m = Method(lambda c: NoisyNetClassifier(**c.net_params()), "plain CE")
    >>> ctx = MethodContext(n_classes=2, epochs=3, seed=1, input_kind="tabular",
    ...                     noise_rate=0.1)
    >>> m.factory(ctx).max_epochs, m.scores is None
    (3, True)
    """

    factory: Callable[[MethodContext], Any]
    description: str
    scores: Callable[[Any], np.ndarray] | None = field(default=None)
    clean_labels: bool = False


def _attr(module: str, name: str):
    """``module.name``, or None when it cannot be imported (method not available)."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _detector_scores(pipeline) -> np.ndarray:
    return np.asarray(pipeline.steps[0][1].noise_scores_, dtype=np.float64)


def _cleanlab_scores(model) -> np.ndarray:
    # label_quality is high for a trustworthy label; flip it into a noise score.
    return 1.0 - model.label_issues_df["label_quality"].to_numpy(dtype=np.float64)


def noise_scores_of(method: Method, estimator) -> np.ndarray | None:
    """Noise scores of a fitted ``estimator`` of ``method``, or None if it has none.

    Parameters
    ----------
    method : Method
        The registry entry the estimator was built from.
    estimator : object
        The fitted estimator.

    Returns
    -------
    scores : ndarray of shape (n_train,) or None

    Examples
    --------
    >>> from sknoisy.benchmark import METHODS, noise_scores_of
    >>> noise_scores_of(METHODS["ce"], object()) is None
    True
    """
    return None if method.scores is None else method.scores(estimator)


def _o2u(cls, ctx: MethodContext):
    """An O2U detector whose stages scale with the budget (10 + 2 x 5 epochs at >= 30)."""
    return cls(warmup_epochs=ctx.warmup_epochs(), n_cycles=2,
               cycle_length=max(1, min(5, ctx.epochs // 6)), random_state=ctx.seed,
               device=ctx.device)


def _build_registry() -> dict[str, Method]:
    methods: dict[str, Method] = {}

    def _add(name, needed, factory, description, **kwargs):
        if all(obj is not None for obj in needed):
            methods[name] = Method(factory, description, **kwargs)

    Net = _attr("sknoisy", "NoisyNetClassifier")
    GCE, SCE = _attr("sknoisy.losses", "GCELoss"), _attr("sknoisy.losses", "SCELoss")
    CoTeaching = _attr("sknoisy.classifiers", "CoTeachingClassifier")
    Peer = _attr("sknoisy.classifiers", "PeerLossClassifier")
    Distilled = _attr("sknoisy.classifiers", "DistilledStudentClassifier")
    O2U = _attr("sknoisy.detectors", "O2UNoiseDetector")
    BMM = _attr("sknoisy.detectors", "BMMLabelCleaner")
    make_pipeline = _attr("sknoisy.pipeline", "make_pipeline")
    CleanLearning = _attr("cleanlab.classification", "CleanLearning")
    ValidSplit = _attr("skorch.dataset", "ValidSplit")
    EarlyStopping = _attr("skorch.callbacks", "EarlyStopping")

    _add("ce_clean", [Net], lambda c: Net(**c.net_params()),
         "cross-entropy on the clean labels (the ceiling, not a method)", clean_labels=True)
    _add("ce", [Net], lambda c: Net(**c.net_params()),
         "cross-entropy on the noisy labels for the whole budget (the baseline)")
    _add("ce_early_stop", [Net, ValidSplit, EarlyStopping], lambda c: Net(
        train_split=ValidSplit(0.2, stratified=True, random_state=c.seed),
        callbacks=[("early_stopping", EarlyStopping(
            monitor="valid_acc", lower_is_better=False, patience=10, load_best=True))],
        **c.net_params()),
        "cross-entropy stopped at its best epoch on a noisy 20% validation split")
    _add("gce", [Net, GCE], lambda c: Net(criterion=GCE, **c.net_params()),
         "generalized cross-entropy, q=0.7")
    _add("sce", [Net, SCE], lambda c: Net(criterion=SCE, **c.net_params()),
         "symmetric cross-entropy")
    _add("coteaching", [CoTeaching], lambda c: CoTeaching(
        forget_rate=c.noise_rate, **c.net_params()),
        "Co-teaching, forget rate = the nominal noise rate (as in the paper)")
    _add("coteaching_plus", [CoTeaching], lambda c: CoTeaching(
        forget_rate=c.noise_rate, variant="plus", init_epoch=min(20, c.epochs // 3),
        **c.net_params()),
        "Co-teaching+, forget rate = the nominal noise rate")
    _add("peer", [Peer], lambda c: Peer(**c.net_params()), "peer loss")
    _add("distill_self", [Distilled], lambda c: Distilled(teacher="self", **c.net_params()),
         "Tf-KD self-distillation (the teacher is a trained copy of the student)")
    _add("o2u", [O2U, Net, make_pipeline], lambda c: make_pipeline(
        _o2u(O2U, c), Net(**c.net_params())),
        "O2U-Net detector (estimated rate) drops suspects, then cross-entropy",
        scores=_detector_scores)
    _add("bmm", [BMM, Net, make_pipeline], lambda c: make_pipeline(
        BMM(warmup_epochs=c.warmup_epochs(), random_state=c.seed, device=c.device),
        Net(**c.net_params())),
        "BMM label cleaner drops suspects, then cross-entropy", scores=_detector_scores)
    _add("cleanlab", [CleanLearning, Net], lambda c: CleanLearning(
        Net(**c.net_params()), seed=c.seed, cv_n_folds=3, verbose=False),
        "cleanlab CleanLearning (3-fold) around the same net", scores=_cleanlab_scores)
    return methods


METHODS: dict[str, Method] = _build_registry()
