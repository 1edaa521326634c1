"""Noise-robust training criteria as plain :class:`torch.nn.Module` losses.

Every criterion takes ``logits`` of shape (N, C) and integer class indices ``target`` of
shape (N,). All but :class:`DMILoss` (a batch-level loss) accept
``reduction='none' | 'mean' | 'sum'``. Pass one to a sknoisy classifier as ``criterion=``;
its constructor arguments are then grid-searchable as ``criterion__<name>``.

Robust-loss classification
--------------------------
Any criterion below turns :class:`sknoisy.NoisyNetClassifier` into a robust-loss
classifier: pass the class as ``criterion=`` and its arguments as ``criterion__<name>=``,
which :class:`~sklearn.model_selection.GridSearchCV` can tune like any parameter
(``{"criterion__q": [0.5, 0.7]}``, or ``{"criterion": [GCELoss, SCELoss]}``). The core
builds the criterion with ``reduction='none'``, so ``sample_weight`` weights each sample's
loss. ``warmup_epochs`` trains plain cross entropy first, which two losses need: DMI (flat
at a random start) and truncated GCE (with ``k`` above ``1 / n_classes`` every sample is
truncated, hence gets no gradient, at a random start). A few epochs on iris, to show the
calls; ``criterion_`` is the criterion the network was trained with:

>>> from sklearn.datasets import load_iris
>>> from sknoisy import NoisyNetClassifier
>>> from sknoisy.losses import (BootstrappingLoss, DisturbLabelLoss, DMILoss, ELRLoss,
...                             GCELoss, LabelSmoothingLoss, MAELoss, SCELoss)
>>> X, y = load_iris(return_X_y=True)
>>> fast = dict(max_epochs=5, lr=1e-2, random_state=0)

Generalized cross entropy (``q -> 0`` is CE, ``q = 1`` is MAE), and its truncated form
after two cross-entropy epochs:

>>> NoisyNetClassifier(criterion=GCELoss, criterion__q=0.7, **fast).fit(X, y).criterion_
GCELoss(reduction='none', q=0.7, k=None)
>>> clf = NoisyNetClassifier(criterion=GCELoss, criterion__k=0.5, warmup_epochs=2, **fast)
>>> clf.fit(X, y).criterion_
GCELoss(reduction='none', q=0.7, k=0.5)

Mean absolute error and symmetric cross entropy:

>>> NoisyNetClassifier(criterion=MAELoss, **fast).fit(X, y).criterion_
MAELoss(reduction='none')
>>> clf = NoisyNetClassifier(criterion=SCELoss, criterion__alpha=0.1, criterion__beta=1.0,
...                          **fast)
>>> clf.fit(X, y).criterion_  # doctest: +ELLIPSIS
SCELoss(reduction='none', alpha=0.1, beta=1.0, A=-9.21...)

Bootstrapping, soft (``beta=0.95``) or hard (``beta=0.8``):

>>> clf = NoisyNetClassifier(criterion=BootstrappingLoss, criterion__mode="hard", **fast)
>>> clf.fit(X, y).criterion_
BootstrappingLoss(reduction='none', beta=None, mode='hard', detach=False)

DMI, a batch-level loss (no ``sample_weight``), after a cross-entropy warm-up:

>>> NoisyNetClassifier(criterion=DMILoss, warmup_epochs=3, **fast).fit(X, y).criterion_
DMILoss(eps=1e-06)

Label smoothing and DisturbLabel (regularisers rather than noise models):

>>> clf = NoisyNetClassifier(criterion=LabelSmoothingLoss, criterion__epsilon=0.1, **fast)
>>> clf.fit(X, y).criterion_
LabelSmoothingLoss(reduction='none', epsilon=0.1, over='all')
>>> clf = NoisyNetClassifier(criterion=DisturbLabelLoss, criterion__alpha=0.1, **fast)
>>> clf.fit(X, y).criterion_
DisturbLabelLoss(reduction='none', base=None, alpha=0.1, num_classes=None)

Early-learning regularisation keeps a running target per training row: the core
passes each batch's row positions to it and sizes its targets when a fit starts:

>>> clf = NoisyNetClassifier(criterion=ELRLoss, criterion__lam=3.0, **fast).fit(X, y)
>>> clf.criterion_, tuple(clf.criterion_.running_targets.shape)
(ELRLoss(reduction='none', beta=0.7, lam=3.0, n_samples=None), (150, 3))

Peer loss has its own classifier, which adds the warm-up, a ramp of ``alpha`` and
per-epoch schedules (recorded in ``history``):

>>> from sknoisy.classifiers import PeerLossClassifier
>>> clf = PeerLossClassifier(alpha=0.5, warmup_epochs=2, alpha_ramp_epochs=2,
...                          **fast).fit(X, y)
>>> clf.history[:, "alpha"]
[0.0, 0.0, 0.25, 0.5, 0.5]

:class:`DistillationLoss` needs a teacher's outputs besides the labels; it is used by
:class:`sknoisy.classifiers.DistilledStudentClassifier`. :func:`prior_penalty` is not a
per-sample criterion but a batch term, ``KL(prior || mean prediction)``, that methods for
very heavy noise add to their loss (``DynamicBootstrappingClassifier(prior_penalty=...)``).

Label regularisation by class relations: :class:`ClassRelationSmoothingLoss` spreads the
smoothing mass by a class-similarity matrix (given, or estimated with
:func:`class_similarity`); :class:`KnowledgeRefineryLoss` learns a ``C x C`` relation
matrix jointly with the network (the core sizes it before building the optimizer, which
then trains it); :class:`CategoryStructureLoss` is the batch-level relation term that
``DistilledStudentClassifier(category_structure=...)`` adds to distillation.
"""

from ._bootstrapping import BootstrappingLoss
from ._category_structure import CategoryStructureLoss
from ._class_relation import ClassRelationSmoothingLoss, class_similarity
from ._disturb import DisturbLabelLoss
from ._distillation import DistillationLoss
from ._dmi import DMILoss
from ._dropmax import DropMaxLoss
from ._elr import ELRLoss
from ._gce import GCELoss, MAELoss
from ._peer import PeerLoss
from ._prior import prior_penalty
from ._refinery import KnowledgeRefineryLoss
from ._sce import SCELoss
from ._smoothing import LabelSmoothingLoss

__all__ = [
    "BootstrappingLoss",
    "CategoryStructureLoss",
    "ClassRelationSmoothingLoss",
    "DMILoss",
    "DisturbLabelLoss",
    "DistillationLoss",
    "DropMaxLoss",
    "ELRLoss",
    "GCELoss",
    "KnowledgeRefineryLoss",
    "LabelSmoothingLoss",
    "MAELoss",
    "PeerLoss",
    "SCELoss",
    "class_similarity",
    "prior_penalty",
]
