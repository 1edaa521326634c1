"""Every built-in method of sknoisy, registered by name with how to build it.

This is the one list that :func:`sknoisy.find_noisy_labels`, ``sknoisy detect`` and
``sknoisy benchmark`` read (through :mod:`sknoisy._registry`). Adding a method is one
entry in ``_ENTRIES`` below; a noise detector also names its class (``detector=``), which
makes it a choice of ``find_noisy_labels(method=...)`` and ``sknoisy detect --method``.
Classes are named by import path and imported only when an entry is used.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import partial

import numpy as np

from ._registry import Method, MethodContext, register_method, resolve

__all__: list = []


# -- readouts and staged fits ------------------------------------------------------------
def _detector_of(estimator):
    steps = getattr(estimator, "steps", None)
    return steps[0][1] if steps else estimator


def _detection(estimator, X_test=None, y_test=None) -> dict:
    detector = _detector_of(estimator)
    return {"scores": detector.noise_scores_, "mask": detector.is_noisy_,
            "rate": detector.noise_rate_}


def _fit_cleaner_then_net(pipeline, X, y, stage) -> None:
    # What Pipeline.fit does for (detector, net), split so the detection is timed alone.
    detector, net = pipeline.steps[0][1], pipeline.steps[-1][1]
    with stage("detect"):
        X_kept, y_kept = detector.fit_resample(X, y)
    net.fit(X_kept, y_kept)


def _fit_clean_learning(model, X, y, stage) -> None:
    with stage("detect"):
        issues = model.find_label_issues(X, y)
    # Given the issues, CleanLearning skips its own cross-validation.
    model.fit(X, y, label_issues=issues)


def _clean_learning_detection(model, X_test=None, y_test=None) -> dict:
    issues = model.label_issues_df
    # label_quality is high for a trustworthy label; flip it into a noise score.
    return {"scores": 1.0 - issues["label_quality"].to_numpy(dtype=np.float64),
            "mask": issues["is_label_issue"].to_numpy(dtype=bool),
            "rate": float(issues["is_label_issue"].mean())}


def _teacher_accuracy(model, X_test, y_test) -> dict:
    predicted = np.asarray(model.teacher_.predict(X_test))
    return {"teacher_accuracy": float(np.mean(predicted == np.asarray(y_test)))}


# -- builders ----------------------------------------------------------------------------
def _early_stopped(c: MethodContext):
    ValidSplit, EarlyStopping = resolve("skorch.dataset:ValidSplit"), resolve(
        "skorch.callbacks:EarlyStopping")
    return c.net(train_split=ValidSplit(c.validation_fraction, stratified=True,
                                        random_state=c.seed),
                 callbacks=[("early_stopping", EarlyStopping(
                     monitor="valid_acc", lower_is_better=False, patience=10,
                     load_best=True))])


def _loss(name: str, warmup_epochs: int = 0, **params):
    def build(c: MethodContext):
        return c.net(criterion=resolve(f"sknoisy.losses:{name}"), warmup_epochs=warmup_epochs,
                     **{f"criterion__{k}": v for k, v in params.items()})
    return build


def _lr_factor_after(epoch: int, warmup: int, factor: float) -> float:
    return 1.0 if epoch < warmup else factor


def _dmi(c: MethodContext, warmup: int = 5):
    LRScheduler, LambdaLR = resolve("skorch.callbacks:LRScheduler"), resolve(
        "torch.optim.lr_scheduler:LambdaLR")
    # The DMI paper fine-tunes a CE-trained model at a much smaller learning rate; at the
    # warm-up's rate DMI undoes the warm-up on 10 classes.
    drop = LRScheduler(LambdaLR, lr_lambda=partial(_lr_factor_after, warmup=warmup,
                                                   factor=0.1))
    return c.net(criterion=resolve("sknoisy.losses:DMILoss"), warmup_epochs=warmup,
                 callbacks=[("lr_drop", drop)])


def _dropmax(c: MethodContext):
    # DropMax's head on the run's own network: the MLP, or the small CNN for images.
    base = {"module__base": resolve("sknoisy.modules:ConvNet")} \
        if c.input_kind == "image" else {}
    return c.net(module=resolve("sknoisy.modules:DropMaxNet"),
                 criterion=resolve("sknoisy.losses:DropMaxLoss"), **base)


def _d2l(c: MethodContext):
    # The reference's MNIST schedule (5 epochs before looking, a window of 5), shortened
    # for budgets under 18 epochs so that a turning point stays possible.
    warmup = min(5, max(1, c.epochs // 3 - 1))
    return c.net(resolve("sknoisy.classifiers:D2LClassifier"), warmup_epochs=warmup,
                 window=min(5, max(2, c.epochs // 3)))


def _coteaching(variant: str, forget_rate=None):
    def build(c: MethodContext):
        extra = {"init_epoch": min(20, c.epochs // 3)} if variant == "plus" else {}
        rate = c.noise_rate if forget_rate is None else forget_rate
        return c.net(resolve("sknoisy.classifiers:CoTeachingClassifier"), forget_rate=rate,
                     variant=variant, **extra)
    return build


def _distilled(teacher=None, **params):
    def build(c: MethodContext):
        student = resolve("sknoisy.classifiers:DistilledStudentClassifier")
        # An unfitted core net as teacher is fitted by the student on the same labels.
        return c.net(student, teacher=c.net() if teacher == "net" else teacher, **params)
    return build


class _ReferenceThenNet:
    """A cross-entropy reference network, then the method's network (class-relation
    smoothing, whose similarity matrix is read from the reference's predictions).

    ``steps`` names both, so the benchmark's per-epoch record follows the last one.
    """

    def __init__(self, reference, net):
        self.reference = reference
        self.net = net

    @property
    def steps(self) -> list:
        return [("reference", self.reference), ("net", self.net)]

    def fit(self, X, y):
        _fit_relation_smoothing(self, X, y, _no_stage)
        return self

    def predict(self, X):
        return self.net.predict(X)


@contextmanager
def _no_stage(name: str):
    yield


def _fit_relation_smoothing(model, X, y, stage) -> None:
    with stage("similarity"):
        reference = model.reference.fit(X, y)
        similarity = resolve("sknoisy.losses:class_similarity")(reference, X, y)
    model.net.set_params(criterion__similarity=similarity).fit(X, y)


def _relation_smoothing(epsilon: float):
    def build(c: MethodContext):
        # The reference trains as long as the detectors' networks: before it memorises
        # the noise, so its mean predicted distributions reflect class confusions.
        reference = c.net(max_epochs=c.warmup_epochs())
        net = c.net(criterion=resolve("sknoisy.losses:ClassRelationSmoothingLoss"),
                    criterion__epsilon=epsilon)
        return _ReferenceThenNet(reference, net)
    return build


def _o2u_detector(c: MethodContext):
    warmup = c.warmup_epochs()
    # The detector's default network (SGD with momentum), with the run's seed and device.
    estimator = c.net(optimizer=resolve("torch.optim:SGD"), lr=0.01, optimizer__momentum=0.9)
    return resolve("sknoisy.detectors:O2UNoiseDetector")(
        estimator=estimator, warmup_epochs=warmup, n_cycles=2,
        cycle_length=max(1, min(5, warmup // 2)), random_state=c.seed)


def _bmm_detector(c: MethodContext):
    return resolve("sknoisy.detectors:BMMLabelCleaner")(
        estimator=c.net(), warmup_epochs=c.warmup_epochs(), random_state=c.seed)


def _then_net(detector_builder):
    def build(c: MethodContext):
        return resolve("sknoisy.pipeline:make_pipeline")(detector_builder(c), c.net())
    return build


def _clean_learning(c: MethodContext):
    return resolve("cleanlab.classification:CleanLearning")(
        c.net(), seed=c.seed, cv_n_folds=c.cv_folds, verbose=False,
        find_label_issues_kwargs={"n_jobs": 1})


# Confident learning: the same detector around the core net or a scikit-learn model, and
# cleanlab's own filter and ranking on the very same out-of-fold probabilities.
def _cv_model(kind: str, c: MethodContext):
    if kind == "net":
        # The per-fold nets train as long as the other detectors' networks do.
        return c.net(max_epochs=c.warmup_epochs())
    if kind == "logreg":
        make_pipeline = resolve("sklearn.pipeline:make_pipeline")
        return make_pipeline(resolve("sklearn.preprocessing:StandardScaler")(),
                             resolve("sklearn.linear_model:LogisticRegression")(max_iter=1000))
    return resolve("sklearn.ensemble:HistGradientBoostingClassifier")(max_iter=50)


def _confident_detector(kind: str = "net", **params):
    def build(c: MethodContext):
        return resolve("sknoisy.detectors:ConfidentLearningDetector")(
            estimator=_cv_model(kind, c), cv=c.cv_folds, random_state=c.seed, **params)
    return build


class _CleanlabOnSameProbabilities:
    """cleanlab's defaults on the out-of-fold probabilities of a ConfidentLearningDetector.

    ``fit`` fits the detector (its folds and models are seeded, so these are the
    probabilities the matching ``confident_*`` entry reads), then
    ``cleanlab.filter.find_label_issues`` (prune by noise rate) gives the mask and
    ``1 - cleanlab.rank.get_label_quality_scores`` (self-confidence) the scores.
    """

    def __init__(self, detector):
        self.detector = detector

    def fit(self, X, y):
        find_label_issues = resolve("cleanlab.filter:find_label_issues")
        quality = resolve("cleanlab.rank:get_label_quality_scores")
        detector = self.detector.fit(X, y)
        labels = np.searchsorted(detector.classes_, np.asarray(y))
        # n_jobs=1: cleanlab's worker processes would escape the CPU-time measurement.
        self.is_noisy_ = find_label_issues(labels, detector.pred_proba_, n_jobs=1)
        self.noise_scores_ = 1.0 - quality(labels, detector.pred_proba_)
        self.noise_rate_ = float(self.is_noisy_.mean())
        return self


def _suffix(kind: str) -> str:
    # The core net's entries read like o2u_detect and bmm_detect.
    return "detect" if kind == "net" else kind


def _cleanlab_on_same_proba(kind: str = "net"):
    def build(c: MethodContext):
        return _CleanlabOnSameProbabilities(_confident_detector(kind)(c))
    return build


def _probe(method: str):
    def build(c: MethodContext):
        return resolve("sknoisy.benchmark._baselines:NoiseRateProbe")(c.net(), method=method)
    return build


def _reference(name: str):
    def build(c: MethodContext):
        return resolve(f"sknoisy.benchmark._baselines:{name}")(c)
    return build


def _rate_of(attribute: str):
    def readout(estimator, X_test=None, y_test=None) -> dict:
        return {"rate": float(getattr(estimator, attribute))}
    return readout


def _dividemix(c: MethodContext):
    # The default warm-up (5 epochs), shortened for budgets under 15 epochs so that
    # some DivideMix epochs follow it.
    return c.net(resolve("sknoisy.classifiers:DivideMixClassifier"),
                 warmup_epochs=max(1, min(5, c.epochs // 3)))


def _split_readout(estimator, X_test=None, y_test=None) -> dict:
    """DivideMix's last split as a detection: rows neither network's split labeled."""
    labeled = estimator.labeled_masks_
    row = {"labeled_fraction": float(labeled.mean())}
    # With early stopping the split covers the training part only, not every row of X.
    if getattr(estimator, "best_epoch_", None) is None:
        row.update(scores=1.0 - estimator.clean_proba_.mean(axis=0),
                   mask=~labeled.any(axis=0))
    return row


def _default(name: str, **params):
    """A sknoisy estimator with its own defaults (only the run's seed, budget, device).

    ``params`` choose what is not a default, such as the JoCoR variant of Co-teaching.
    """
    def build(c: MethodContext):
        return c.net(resolve(name), **params)
    build.chosen_params = params   # what the defaults test allows to differ
    return build


def _default_pipeline(detector: str, classifier: str = "sknoisy:NoisyNetClassifier"):
    """A detector with its defaults (its own default network), then a classifier."""
    def build(c: MethodContext):
        return resolve("sknoisy.pipeline:make_pipeline")(
            resolve(detector)(random_state=c.seed), c.net(resolve(classifier)))
    return build


_CE = "cross-entropy"
_ENTRIES = {
    # References every accuracy table carries.
    "ce_clean": Method(lambda c: c.net(), f"{_CE} on the clean labels (the ceiling, not a "
                       "method)", clean_labels=True),
    "ce": Method(lambda c: c.net(), f"{_CE} on the noisy labels for the whole budget (the "
                 "baseline)"),
    "ce_early_stop": Method(_early_stopped, f"{_CE} stopped at its best epoch on a noisy "
                            "validation split (patience 10)"),
    # Robust losses on the core network.
    "gce": Method(_loss("GCELoss", q=0.7), "generalized cross-entropy, q=0.7"),
    "sce": Method(_loss("SCELoss", alpha=0.1, beta=1.0),
                  "symmetric cross-entropy, alpha=0.1, beta=1"),
    "gce_truncated": Method(_loss("GCELoss", warmup_epochs=5, q=0.7, k=0.5),
                            "truncated GCE, q=0.7, k=0.5, 5 cross-entropy warm-up epochs",
                            default=False),
    "mae": Method(_loss("MAELoss"), "mean absolute error, 1 - p_y", default=False),
    "bootstrap_soft": Method(_loss("BootstrappingLoss", mode="soft"), "soft bootstrapping, "
                             "beta=0.95, prediction not detached", default=False),
    "bootstrap_hard": Method(_loss("BootstrappingLoss", mode="hard"),
                             "hard bootstrapping, beta=0.8", default=False),
    "dmi": Method(_dmi, "DMI after 5 cross-entropy warm-up epochs, then lr x 0.1",
                  default=False),
    "label_smoothing": Method(_loss("LabelSmoothingLoss", epsilon=0.1),
                              "label smoothing, epsilon=0.1 over all classes", default=False),
    "disturb_label": Method(_loss("DisturbLabelLoss", alpha=0.1), "DisturbLabel, alpha=0.1",
                            default=False),
    "knowledge_refinery": Method(_loss("KnowledgeRefineryLoss", alpha=1.0),
                                 "Knowledge Refinery: CE plus KL to a learned non-target "
                                 "label (relation matrix from zero), alpha=1",
                                 default=False),
    "class_relation_smoothing": Method(
        _relation_smoothing(0.1), "label smoothing, epsilon=0.1 spread by class "
        "similarity (mean predicted probabilities of a CE net trained for the detector "
        "warm-up epochs; its time included)", fit=_fit_relation_smoothing, default=False),
    "elr": Method(_loss("ELRLoss"), "early-learning regularisation (ELR), beta=0.7, "
                  "lambda=3 (the paper's CIFAR-10 values)"),
    "mixup": Method(lambda c: c.net(mixup_alpha=8.0), f"{_CE} with mixup, alpha=8"),
    "dropmax": Method(_dropmax, "DropMax: softmax over randomly dropped non-target classes "
                      "with learned retain probabilities (the paper's regularisers, weight 1; "
                      "temperature 0.1)", default=False),
    "d2l": Method(_d2l, "D2L: cross-entropy until the LID of the penultimate layer turns "
                  "up, then alpha * y + (1 - alpha) * hard prediction (5 epochs before "
                  "looking, window 5; fewer under 18 epochs)", default=False),
    "dyr_h": Method(lambda c: c.net(resolve(
        "sknoisy.classifiers:DynamicBootstrappingClassifier")),
        "DYR-H: dynamic hard bootstrapping (10 warm-up epochs)"),
    "m_dyr_h": Method(lambda c: c.net(resolve(
        "sknoisy.classifiers:DynamicBootstrappingClassifier"), mixup_alpha=1.0,
        prior_penalty=1.0), "M-DYR-H: dynamic hard bootstrapping with mixup (alpha=1) and "
        "the class-prior penalty (weight 1), 10 warm-up epochs"),
    # Classifiers.
    "coteaching": Method(_coteaching("standard"), "Co-teaching, forget rate = the nominal "
                         "noise rate (as in the paper)"),
    "coteaching_plus": Method(_coteaching("plus"), "Co-teaching+, forget rate = the "
                              "nominal noise rate"),
    "jocor": Method(_coteaching("jocor"), "JoCoR (Co-teaching's schedule on a joint loss "
                    "with a symmetric-KL agreement term, co_lambda=0.9), forget rate = the "
                    "nominal noise rate"),
    "mutual_learning": Method(_default("sknoisy.classifiers:MutualLearningClassifier"),
                              "deep mutual learning, 2 networks, mean prediction"),
    "dividemix": Method(_dividemix, "DivideMix with its defaults (5 warm-up epochs, fewer "
                        "under 15 epochs); flagged = unlabeled by both splits",
                        readout=_split_readout),
    "coteaching_auto": Method(_coteaching("standard", forget_rate="auto"),
                              "Co-teaching with forget_rate='auto'",
                              readout=_rate_of("forget_rate_"), default=False),
    # Every estimator with its library defaults (issue 13's defaults table): run with
    # epochs = 30 and net_params = {early_stopping = "auto"}, these are the defaults.
    "default_coteaching": Method(_default("sknoisy.classifiers:CoTeachingClassifier"),
                                 "CoTeachingClassifier() with its defaults",
                                 default=False),
    "default_jocor": Method(_default("sknoisy.classifiers:CoTeachingClassifier",
                                     variant="jocor"),
                            "CoTeachingClassifier(variant='jocor') with its defaults",
                            default=False),
    "default_mutual": Method(_default("sknoisy.classifiers:MutualLearningClassifier"),
                             "MutualLearningClassifier() with its defaults", default=False),
    "default_dividemix": Method(_default("sknoisy.classifiers:DivideMixClassifier"),
                                "DivideMixClassifier() with its defaults", default=False),
    "default_peer": Method(_default("sknoisy.classifiers:PeerLossClassifier"),
                           "PeerLossClassifier() (alpha=1 after 5 warm-up epochs, ramped "
                           "over 5)", default=False),
    "default_bootstrap": Method(
        _default("sknoisy.classifiers:DynamicBootstrappingClassifier"),
        "DynamicBootstrappingClassifier() (hard, 10 warm-up epochs)", default=False),
    "default_distill": Method(_default("sknoisy.classifiers:DistilledStudentClassifier"),
                              "DistilledStudentClassifier() (Tf-KD self, 3-fold teacher)",
                              default=False),
    "default_o2u": Method(_default_pipeline("sknoisy.detectors:O2UNoiseDetector"),
                          "make_pipeline(O2UNoiseDetector(), NoisyNetClassifier())",
                          default=False),
    "default_bmm": Method(_default_pipeline("sknoisy.detectors:BMMLabelCleaner"),
                          "make_pipeline(BMMLabelCleaner(), NoisyNetClassifier())",
                          default=False),
    "default_o2u_coteaching": Method(
        _default_pipeline("sknoisy.detectors:O2UNoiseDetector",
                          "sknoisy.classifiers:CoTeachingClassifier"),
        "make_pipeline(O2UNoiseDetector(), CoTeachingClassifier()), the flagship pipeline",
        default=False),
    "peer": Method(lambda c: c.net(resolve("sknoisy.classifiers:PeerLossClassifier"),
                                   alpha=1.0, warmup_epochs=5),
                   "peer loss, alpha=1, 5 warm-up epochs"),
    "distill_self": Method(_distilled("self"), "Tf-KD self-distillation (the teacher is a "
                           "trained copy of the student, 3-fold cross-fitted)"),
    "distill_self_insample": Method(
        _distilled("self", teacher_cv=None), "Tf-KD self-distillation, in-sample teacher "
        "(as in the paper)", default=False),
    "distill_ce_teacher": Method(
        _distilled("net", teacher_cv=None), "student of a cross-entropy net fitted on all "
        "rows (in-sample soft labels; its time includes the teacher)",
        readout=_teacher_accuracy, default=False),
    "distill_cv": Method(_distilled("net", teacher_cv=3), "student of a cross-entropy net "
                         "cross-fitted on 3 folds (out-of-fold soft labels)",
                         readout=_teacher_accuracy, default=False),
    "distill_reg": Method(_distilled("reg"), "Tf-KD reg (hand-made teacher, confidence 0.9)",
                          default=False),
    "distill_reg_cs": Method(_distilled("reg", category_structure=1.0),
                             "Tf-KD reg plus the category-structure term (weight 1)",
                             default=False),
    "distill_self_cs": Method(_distilled("self", category_structure=1.0),
                              "Tf-KD self (3-fold cross-fitted teacher) plus the "
                              "category-structure term (weight 1)", default=False),
    "distill_2gen": Method(
        _distilled("self", teacher_cv=None, n_generations=2, student_noise=0.1,
                   module__dropout=0.3),
        "2 noisy-student generations (in-sample self teacher, dropout 0.3, input noise 0.1)",
        default=False),
    # Noise detectors: a detector, then the core network on the rows it keeps.
    "o2u": Method(_then_net(_o2u_detector), "O2U-Net detector (estimated rate) drops "
                  "suspects, then cross-entropy", detector="sknoisy.detectors:O2UNoiseDetector",
                  readout=_detection, fit=_fit_cleaner_then_net),
    "bmm": Method(_then_net(_bmm_detector), "BMM label cleaner drops suspects, then "
                  "cross-entropy", detector="sknoisy.detectors:BMMLabelCleaner",
                  readout=_detection, fit=_fit_cleaner_then_net),
    "o2u_detect": Method(_o2u_detector, "the O2U-Net detector alone (no classifier)",
                         readout=_detection, default=False),
    "bmm_detect": Method(_bmm_detector, "the BMM label cleaner alone (no classifier)",
                         readout=_detection, default=False),
    "confident": Method(_then_net(_confident_detector()), "confident learning on the core "
                        "net's out-of-fold probabilities drops suspects, then cross-entropy",
                        detector="sknoisy.detectors:ConfidentLearningDetector",
                        readout=_detection, fit=_fit_cleaner_then_net, default=False),
    **{name: method for kind, model in (
        ("net", "the core net"), ("logreg", "a standardised logistic regression"),
        ("hgb", "HistGradientBoosting (50 iterations)")) for name, method in (
        (f"confident_{_suffix(kind)}", Method(
            _confident_detector(kind), f"ConfidentLearningDetector alone, {model} per fold "
            "(defaults: random labels and one-way swaps, self-confidence scores)",
            readout=_detection, default=False)),
        (f"confident_prune_{_suffix(kind)}", Method(
            _confident_detector(kind, filter_by="prune_by_noise_rate"),
            f"ConfidentLearningDetector alone, {model} per fold, "
            "filter_by='prune_by_noise_rate' (cleanlab's rule)", readout=_detection,
            default=False)),
        (f"confident_posterior_{_suffix(kind)}", Method(
            _confident_detector(kind, rank_by="posterior"), f"ConfidentLearningDetector "
            f"alone, {model} per fold, rank_by='posterior'", readout=_detection,
            default=False)),
        (f"cleanlab_{_suffix(kind)}", Method(
            _cleanlab_on_same_proba(kind), "cleanlab's find_label_issues and "
            f"get_label_quality_scores (defaults) on the probabilities of "
            f"confident_{_suffix(kind)}", requires=("cleanlab",), readout=_detection,
            default=False)))},
    "cleanlab": Method(_clean_learning, "cleanlab CleanLearning (k-fold out-of-sample "
                       "probabilities) around the same net", requires=("cleanlab",),
                       readout=_clean_learning_detection, fit=_fit_clean_learning),
    # References of the timing and noise-rate tables.
    "cj_rate": Method(_probe("confident_joint"), "confident-joint noise rate of a "
                      "cross-entropy net's probabilities on its training rows",
                      readout=_rate_of("noise_rate_"), default=False),
    "mixture_rate": Method(_probe("mixture"), "Beta-mixture noise rate of a cross-entropy "
                           "net's per-sample losses on its training rows",
                           readout=_rate_of("noise_rate_"), default=False),
    "hand_loop": Method(_reference("hand_loop_classifier"), "a hand-written PyTorch loop, "
                        "same MLP, Adam and batches", default=False),
    "stock_skorch": Method(_reference("stock_skorch_classifier"), "skorch's own "
                           "NeuralNetClassifier, same MLP, Adam and batches", default=False),
}
for _name, _method in _ENTRIES.items():
    register_method(_name, _method)
