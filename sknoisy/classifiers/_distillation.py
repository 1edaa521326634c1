"""Knowledge distillation for noisy labels: a student trained on a teacher's soft labels."""

from __future__ import annotations

import copy
import inspect
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import clone

from .._core._base import NoisyNetClassifier
from .._core._data import IndexedBatch, take_rows
from .._core._base import _accepts
from .._core._unlabeled import UNLABELED, SemiSupervisedMixin
from .._core._validation import Interval, StrOptions
from ..losses import CategoryStructureLoss, DistillationLoss
from ._teachers import CrossFittedTeacher, _fit, align_proba, is_fitted, reg_distribution

__all__ = ["DistilledStudentClassifier"]

# student_noise='auto' for n_generations > 1: the setting of the 2-generation row of
# benchmarks/results/distillation.md (input noise 0.1, dropout 0.3).
_AUTO_INPUT_NOISE = 0.1
_AUTO_DROPOUT = 0.3

def _takes_teacher_probs(criterion) -> bool:
    try:
        params = inspect.signature(criterion.forward).parameters.values()
    except (AttributeError, TypeError, ValueError):
        return False
    return any(p.name == "teacher_probs" or p.kind is p.VAR_KEYWORD for p in params)


class DistilledStudentClassifier(SemiSupervisedMixin, NoisyNetClassifier):
    """Student network trained on a teacher's soft labels (knowledge distillation).

    Each training row ``i`` with label ``y_i`` and teacher probabilities ``p_i`` costs::

        (1 - alpha) * CE(z_i, y_i) + alpha * T**2 * KL(t_i || softmax(z_i / T)),
        t_i = p_i**(1/T) / sum_k p_ik**(1/T)

    averaged over the batch (:class:`sknoisy.losses.DistillationLoss`). The teacher's
    probabilities are computed once per generation for every training row and looked up
    by row index during training: no teacher forward pass per batch.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The student network; see :class:`sknoisy.NoisyNetClassifier`.
    teacher : classifier with ``predict_proba``, 'self' or 'reg', default='self'
        Where the soft labels come from:

        - a scikit-learn classifier (including sknoisy's own): used as is when already
          fitted, otherwise cloned and fitted on the training data (the parameter itself
          is never fitted in place). Its ``classes_`` are matched to the student's by
          label value, whatever their order; classes it lacks get probability 0, and a
          class the student does not know is an error.
        - ``'self'`` (Tf-KD self): a first student with the same parameters and
          ``alpha=0`` (plain cross entropy) is trained and becomes the teacher.
        - ``'reg'`` (Tf-KD reg): a hand-made teacher with probability
          ``reg_confidence`` on the given label and ``(1 - reg_confidence) / (C - 1)`` on
          every other class.
    alpha : float, default=0.5
        Weight of the distillation term, in [0, 1]. ``alpha=0`` is plain cross entropy
        and builds no teacher at all.
    temperature : float, default=4.0
        Softening temperature ``T > 0``.
    teacher_cv : int or None, default=3
        When the student fits the teacher itself (an unfitted classifier or
        ``'self'``), ``k >= 2`` fits it on ``k`` stratified folds and takes each row's
        soft label from the fold model that did not see it (out of fold), so memorised
        wrong labels are not fed back as soft labels; ``teacher_`` is then a
        :class:`CrossFittedTeacher`. Costs ``k`` fits on ``(k-1)/k`` of the data
        instead of one fit. ``None`` fits the teacher once on all rows (in-sample soft
        labels). Ignored for a fitted teacher and for ``'reg'``. The default 3 was
        1 to 3.5 points more accurate than in-sample teachers in every noise setting of
        our Fashion-MNIST benchmark (benchmarks/results/distillation.md).
    reg_confidence : float, default=0.9
        Probability the ``'reg'`` teacher puts on the given label, in [0.9, 1].
    n_generations : int, default=1
        Noisy-student iterations: the student of generation ``g`` (trained with
        ``student_noise`` and the module's dropout) becomes the teacher of generation
        ``g + 1``; this estimator is the last student. 1 is plain distillation.
    student_noise : float or 'auto', default='auto'
        Input noise applied to every training batch of a student (never at predict
        time, never to the teacher's soft labels). For 2-D X: gaussian noise with
        standard deviation ``student_noise`` times each feature's standard deviation.
        For images: a random shift of up to ``max(1, round(student_noise * side))``
        pixels per sample, zero-padded (no flips, which would break digit-like data).
        ``'auto'`` makes the students of ``n_generations > 1`` noisy, as the noisy
        student paper does (its noise is data augmentation and dropout): input noise
        0.1 and, when ``module__dropout`` is not given and the module takes a
        ``dropout`` argument (the default modules do), dropout 0.3 in every student;
        the first teacher and plain distillation (``n_generations=1``) get no noise.
        Without noise, generations are self-distillation, not a noisy student.
    category_structure : float, default=0.0
        Weight ``w >= 0`` of the category-structure term (Chen et al.): each training
        batch adds ``w`` times :class:`sknoisy.losses.CategoryStructureLoss` (at
        ``temperature``), which matches the intra-class relations (each row to its
        class centroid) and inter-class relations (between class centroids) of the
        student's softened outputs to the teacher's. 0 is plain distillation; ignored
        when ``alpha=0`` (no teacher).
    unlabeled_label : int, float, str or None, default=None
        A label value that means "no label", for scikit-learn's semi-supervised
        convention (``unlabeled_label=-1``). ``None``: only ``None``, NaN and pandas
        ``NA`` mark a row as unlabeled, and ``-1`` is an ordinary class.
    criterion : torch.nn.Module class or instance, default=DistillationLoss
        Must accept a ``teacher_probs`` keyword; it is built with ``alpha``,
        ``temperature`` and ``reduction='none'``.
    **kwargs
        Any :class:`sknoisy.NoisyNetClassifier` parameter (``max_epochs``, ``lr``,
        ``random_state``, ``module__hidden_sizes`` ...).

    Attributes
    ----------
    teacher_ : estimator, 'reg' or None
        The teacher of the final student: the fitted teacher, a
        :class:`CrossFittedTeacher` when ``teacher_cv`` was used, the previous
        generation's student, ``'reg'`` for the hand-made teacher, or ``None`` when
        ``alpha=0``.
    teachers_ : list
        The teacher of each generation, ``len(teachers_) == n_generations`` (empty when
        ``alpha=0``).
    classes_, n_features_in_, module_, history_
        As in :class:`sknoisy.NoisyNetClassifier`.

    See Also
    --------
    sknoisy.losses.DistillationLoss : The loss.
    CrossFittedTeacher : Out-of-fold soft labels.

    Notes
    -----
    With noisy labels the teacher's soft labels are only as good as the teacher: one
    fitted on the same noisy data has memorised some of it, which ``teacher_cv`` avoids.
    Teacher probabilities are tempered as ``p**(1/T)`` (the same as
    ``softmax(z/T)`` for a network with logits ``z``); softmax applied to the
    probabilities themselves, as in some reference code, would give almost uniform
    targets. A warm-started fit or ``partial_fit`` keeps ``teacher_`` and recomputes
    soft labels for the new rows with it. The teacher gets ``sample_weight`` when its
    ``fit`` accepts it.

    **Unlabeled rows** (the noisy student's unlabeled data). A row whose label is
    missing (``None``, NaN, pandas ``NA``, or ``unlabeled_label``) is labeled by the
    teacher: its soft label is the teacher's probabilities, as for any row, and its
    hard label, in the ``(1 - alpha)`` cross-entropy term, the teacher's most probable
    class. A teacher the student fits (``'self'`` or an unfitted classifier) is fitted
    on the labeled rows only; with ``teacher_cv`` the labeled rows get out-of-fold
    soft labels and the unlabeled rows the mean of the fold models. With
    ``n_generations > 1`` every generation's student trains on all rows and labels
    them for the next. ``teacher='reg'`` and ``alpha=0`` have nothing to label
    unlabeled rows with and raise a ``ValueError``. An unlabeled row's
    ``sample_weight`` weighs its loss like any row's (a teacher the student fits
    never sees it). ``classes_`` come from the labeled rows, early stopping holds out
    labeled rows only, and ``score`` ignores unlabeled rows.

    References
    ----------
    .. [1] G. Hinton, O. Vinyals and J. Dean, "Distilling the Knowledge in a Neural
       Network", arXiv:1503.02531, 2015.
    .. [2] L. Yuan, F. E. H. Tay, G. Li, T. Wang and J. Feng, "Revisiting Knowledge
       Distillation via Label Smoothing Regularization", CVPR 2020.
    .. [3] Q. Xie, M.-T. Luong, E. Hovy and Q. V. Le, "Self-training with Noisy Student
       Improves ImageNet Classification", CVPR 2020.
    .. [4] Z. Chen, X. Zheng, H. Shen, Z. Zeng, Y. Zhou and R. Zhao, "Improving
       Knowledge Distillation via Category Structure", ECCV 2020.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sknoisy.classifiers import DistilledStudentClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = DistilledStudentClassifier(teacher=LogisticRegression(max_iter=500),
    ...                                  max_epochs=50, lr=1e-2, random_state=0).fit(X, y)
    >>> type(clf.teacher_).__name__, len(clf.teacher_.estimators_)  # teacher_cv=3
    ('CrossFittedTeacher', 3)
    >>> float(clf.score(X, y)) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **NoisyNetClassifier._parameter_constraints,
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "teacher_cv": [None, Interval(Integral, 2, None, closed="left")],
        "reg_confidence": [Interval(Real, 0.9, 1, closed="both")],
        "n_generations": [Interval(Integral, 1, None, closed="left")],
        "student_noise": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "category_structure": [Interval(Real, 0, None, closed="left")],
        "unlabeled_label": [None, Real, str],
    }

    def __init__(
        self,
        module=None,
        *,
        teacher="self",
        alpha=0.5,
        temperature=4.0,
        teacher_cv=3,
        reg_confidence=0.9,
        n_generations=1,
        student_noise="auto",
        category_structure=0.0,
        unlabeled_label=None,
        criterion=DistillationLoss,
        **kwargs,
    ):
        super().__init__(module, criterion=criterion, **kwargs)
        self.teacher = teacher
        self.alpha = alpha
        self.temperature = temperature
        self.teacher_cv = teacher_cv
        self.reg_confidence = reg_confidence
        self.n_generations = n_generations
        self.student_noise = student_noise
        self.category_structure = category_structure
        self.unlabeled_label = unlabeled_label

    # -- parameters ---------------------------------------------------------------------
    def _check_params(self) -> None:
        super()._check_params()
        name = type(self).__name__
        teacher = self.teacher
        if isinstance(teacher, str):
            if teacher not in ("self", "reg"):
                raise ValueError(f"{name}: teacher must be a classifier with predict_proba, "
                                 f"'self' or 'reg'; got the string {teacher!r}.")
        elif not hasattr(teacher, "predict_proba"):
            raise TypeError(
                f"{name}: teacher must have a predict_proba method (or be 'self' or 'reg'); "
                f"got {type(teacher).__name__} ({teacher!r}). Use a probabilistic classifier, "
                "for example SVC(probability=True) instead of SVC().")
        clashes = [key for key in ("criterion__alpha", "criterion__temperature")
                   if key in vars(self)]
        if clashes:
            raise ValueError(f"{name}: got {clashes}; set alpha and temperature on the "
                             "estimator itself, they are passed to the criterion.")

    def set_params(self, **params):
        """Set parameters; ``teacher__<name>`` reaches the teacher, as in scikit-learn.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : DistilledStudentClassifier
        """
        nested = {key[len("teacher__"):]: params.pop(key)
                  for key in list(params) if key.startswith("teacher__")}
        super().set_params(**params)
        if nested:
            if not hasattr(self.teacher, "set_params"):
                raise ValueError(f"{type(self).__name__}: cannot set {sorted(nested)} on "
                                 f"teacher {self.teacher!r}, which has no parameters.")
            self.teacher.set_params(**nested)
        return self

    # -- the noisy student --------------------------------------------------------------
    def _input_noise(self) -> float:
        """The input noise of this estimator's training batches, ``'auto'`` resolved."""
        if isinstance(self.student_noise, str):
            return _AUTO_INPUT_NOISE if self.n_generations > 1 else 0.0
        return float(self.student_noise)

    def _student_dropout(self) -> float | None:
        """Dropout that ``'auto'`` adds to the students' module, or None."""
        if not (isinstance(self.student_noise, str) and self.n_generations > 1):
            return None
        if "module__dropout" in vars(self) or isinstance(self.module, torch.nn.Module):
            return None
        if not _accepts(self.module_class(self.module), "dropout"):
            return None
        return _AUTO_DROPOUT

    # -- components ---------------------------------------------------------------------
    def initialize_module(self):
        kwargs = self.get_params_for("module")
        dropout = self._student_dropout()
        if dropout is not None:
            kwargs["dropout"] = dropout
        self.module_ = self.build_module(self.module, kwargs)
        return self

    def initialize_criterion(self):
        kwargs = {**self.get_params_for("criterion"), "alpha": self.alpha,
                  "temperature": self.temperature}
        criterion = self.criterion
        if not _takes_teacher_probs(criterion):
            raise TypeError(f"{type(self).__name__}: criterion {criterion!r} must accept a "
                            "teacher_probs keyword, like sknoisy.losses.DistillationLoss.")
        if isinstance(criterion, torch.nn.Module):
            criterion = copy.deepcopy(criterion)
            for key, value in {**kwargs, "reduction": "none"}.items():
                setattr(criterion, key, value)
        else:
            criterion = criterion(**{"reduction": "none", **kwargs})
        self.criterion_ = criterion
        return self

    def initialize(self):
        # A fresh start forgets the previous fit's teachers; warm starts keep them.
        for name in ("teachers_", "teacher_"):
            vars(self).pop(name, None)
        return super().initialize()

    # -- fitting ------------------------------------------------------------------------------
    def _proba_of(self, teacher, X, y_encoded) -> np.ndarray:
        if isinstance(teacher, str):
            return reg_distribution(y_encoded, len(self.classes_), self.reg_confidence)
        return align_proba(teacher.predict_proba(X), teacher.classes_, self.classes_,
                           owner=f"teacher {type(teacher).__name__}")

    def _first_teacher(self, X, y, weights, y_encoded, seed):
        X_all = X
        teacher = self.teacher
        if isinstance(teacher, str) and teacher == "reg":
            return "reg", self._proba_of("reg", X, y_encoded)
        if isinstance(teacher, str):
            teacher = clone(self).set_params(alpha=0.0, n_generations=1, random_state=seed)
        elif is_fitted(teacher):
            if not hasattr(teacher, "classes_"):
                raise TypeError(f"{type(self).__name__}: the fitted teacher "
                                f"{type(teacher).__name__} has no classes_, so its columns "
                                "cannot be matched to labels.")
            return teacher, self._proba_of(teacher, X, y_encoded)
        labeled = y_encoded != UNLABELED
        rows = np.flatnonzero(labeled)
        if not labeled.all():
            # The teacher learns from the labeled rows only (as validated labels: the
            # caller's y still holds the missing markers) and labels every row.
            X, y = take_rows(X, rows), self.classes_[y_encoded[rows]]
            weights = None if weights is None else np.asarray(weights)[rows]
        if self.teacher_cv is not None:
            fitted = CrossFittedTeacher(clone(teacher), cv=self.teacher_cv,
                                        random_state=seed).fit(X, y, weights)
            proba = np.zeros((len(y_encoded), len(self.classes_)))
            proba[rows] = align_proba(fitted.oof_proba_, fitted.classes_, self.classes_)
            if not labeled.all():
                unlabeled = np.flatnonzero(~labeled)
                proba[unlabeled] = self._proba_of(fitted, take_rows(X_all, unlabeled), None)
            return fitted, proba
        fitted = _fit(clone(teacher), X, y, weights)
        return fitted, self._proba_of(fitted, X_all, y_encoded)

    def _build_teachers(self, state, y_encoded) -> np.ndarray:
        """Fit every generation's teacher; return the final student's soft labels."""
        X, y, weights = state.X, state.y, state.sample_weight
        # Generation g's teacher is seeded by child_seed(g) of this fit's seed alone.
        teacher, proba = self._first_teacher(X, y, weights, y_encoded, state.child_seed(0))
        teachers = [teacher]
        # The intermediate students are noised like the final one (this estimator).
        noise = {"student_noise": self._input_noise()}
        if self._student_dropout() is not None:
            noise["module__dropout"] = self._student_dropout()
        for generation in range(1, self.n_generations):
            student = clone(self).set_params(n_generations=1,
                                             random_state=state.child_seed(generation),
                                             **noise)
            student._check_params()
            # The soft labels go to the student as computed (out of fold included), not
            # recomputed from the teacher object.
            student._train(X, y, weights, reset=True, preset_teacher=(teacher, proba))
            teacher = student
            proba = self._proba_of(teacher, X, y_encoded)
            teachers.append(teacher)
        self.teachers_ = teachers
        self.teacher_ = teachers[-1]
        return proba

    def _soft_labels(self, state, y_encoded) -> np.ndarray | None:
        n_unlabeled = int(np.sum(y_encoded == UNLABELED))
        name = type(self).__name__
        if n_unlabeled and float(self.alpha) == 0.0:
            raise ValueError(
                f"{name}: alpha=0 trains on the given labels alone, so the {n_unlabeled} "
                "unlabeled rows would be ignored; set alpha > 0 so that a teacher labels "
                "them, or drop them.")
        if float(self.alpha) == 0.0:
            self.teachers_, self.teacher_ = [], None
            return None
        preset = getattr(state, "preset_teacher", None)
        if preset is not None:
            self.teachers_, self.teacher_ = [preset[0]], preset[0]
            return preset[1]
        # A warm start labels the new rows with the teacher it kept.
        teacher = self.teacher_ if getattr(self, "teachers_", None) else self.teacher
        if n_unlabeled and isinstance(teacher, str) and teacher == "reg":
            raise ValueError(
                f"{name}: teacher='reg' builds its soft labels from the given labels, so "
                f"it cannot label the {n_unlabeled} unlabeled rows; use teacher='self' or "
                "a classifier, or drop those rows.")
        if not getattr(self, "teachers_", None):
            return self._build_teachers(state, y_encoded)
        return self._proba_of(self.teacher_, state.X, y_encoded)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Compute the soft labels of all rows once, before the first epoch.

        Parameters
        ----------
        net : DistilledStudentClassifier
            This estimator (skorch's callback convention).
        X : ndarray
            Validated float32 inputs.
        y : ndarray of shape (n_samples,)
            Labels encoded as 0..C-1.
        **kwargs
            Ignored.
        """
        super().on_train_begin(net, X=X, y=y, **kwargs)
        state = self._fit_state
        proba = self._soft_labels(state, y)
        if proba is not None:
            state.teacher_proba = torch.as_tensor(proba, dtype=torch.float32,
                                                  device=self.device)
            if np.any(y == UNLABELED):
                # An unlabeled row's hard label is the teacher's most probable class.
                state.pseudo_labels = state.teacher_proba.argmax(dim=1)
        if self._input_noise() > 0 and X.ndim == 2:
            state.feature_scale = torch.as_tensor(
                X.std(axis=0, dtype=np.float64) * self._input_noise(),
                dtype=torch.float32, device=self.device)

    # -- training step ------------------------------------------------------------------------
    def _perturb(self, Xi: torch.Tensor) -> torch.Tensor:
        """Input noise of the noisy student (training batches only)."""
        state = getattr(self, "_fit_state", None)
        generator = getattr(state, "generator", None)
        scale = getattr(state, "feature_scale", None)
        if Xi.ndim == 2:
            if scale is None:
                return Xi
            noise = torch.randn(Xi.shape, generator=generator).to(Xi.device, Xi.dtype)
            return Xi + noise * scale
        images = Xi if Xi.ndim == 4 else Xi.unsqueeze(1)
        n, height, width = len(images), images.shape[-2], images.shape[-1]
        shift = max(1, round(self._input_noise() * min(height, width)))
        padded = F.pad(images, (shift, shift, shift, shift))
        offsets = torch.randint(0, 2 * shift + 1, (2, n), generator=generator).to(Xi.device)
        rows = offsets[0][:, None] + torch.arange(height, device=Xi.device)
        cols = offsets[1][:, None] + torch.arange(width, device=Xi.device)
        batch = torch.arange(n, device=Xi.device)[:, None, None]
        # Advanced indexing around the channel slice puts the channel axis last.
        shifted = padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
        return shifted if Xi.ndim == 4 else shifted.squeeze(1)

    def train_step_single(self, batch, **fit_params):
        if self._input_noise() > 0:
            Xi, yi = batch
            noisy = self._perturb(Xi)
            batch = (IndexedBatch(noisy, yi, batch.indices) if hasattr(batch, "indices")
                     else (noisy, yi))
        return super().train_step_single(batch, **fit_params)

    def get_per_sample_loss(self, y_pred, y_true, X=None, training=False, indices=None):
        """Per-sample distillation loss, with soft labels looked up by row index.

        Without soft labels (``alpha=0``, or a loss computed outside fit) and outside
        training (the held-out rows of early stopping, whose positions are not the
        training rows' the soft labels are indexed by) this is plain cross entropy.
        """
        state = getattr(self, "_fit_state", None)
        soft = getattr(state, "teacher_proba", None)
        pseudo = getattr(state, "pseudo_labels", None)
        if pseudo is not None and indices is not None and (
                training or bool((y_true == UNLABELED).any())):
            # Unlabeled rows (encoded -1) take the teacher's hard pseudo-label. Held-out
            # rows are all labeled, and their positions are not training rows'.
            y_true = torch.where(y_true == UNLABELED, pseudo[indices], y_true)
        if soft is None or indices is None or not training:
            if training and soft is not None:
                raise ValueError(
                    f"{type(self).__name__}: training batches carry no row indices, so soft "
                    "labels cannot be looked up; keep the default iterator_train.")
            return F.cross_entropy(y_pred, y_true, reduction="none")
        values = self.criterion_(y_pred, y_true, teacher_probs=soft[indices])
        if training and float(self.category_structure) > 0:
            # A batch-level term: added to every row's loss, it adds w * L_CS to the
            # batch mean (and, with mixup, is mixed like the per-sample terms).
            structure = CategoryStructureLoss(temperature=self.temperature)
            values = values + float(self.category_structure) * structure(
                y_pred, y_true, teacher_probs=soft[indices])
        return values
