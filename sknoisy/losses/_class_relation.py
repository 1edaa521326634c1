"""Class-relation label smoothing: smoothing mass spread by a class-similarity matrix."""

from __future__ import annotations

from numbers import Real
from typing import Callable

import numpy as np
import torch
from torch import nn

from .._core._layers import capture_layer, last_linear
from .._core._validation import Interval, StrOptions, validate_parameter_constraints
from ._base import BaseLoss, gather_target

__all__ = ["ClassRelationSmoothingLoss", "class_similarity"]


def _relation_rows(similarity, owner: str) -> np.ndarray:
    """Row-normalised off-diagonal similarities, float64 (C, C) with a zero diagonal."""
    try:
        matrix = np.array(similarity, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{owner}: similarity must be a numeric (C, C) array; got "
                        f"{type(similarity).__name__} ({exc}).") from exc
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 2:
        raise ValueError(f"{owner}: similarity must be a square (C, C) array with C >= 2; "
                         f"got shape {matrix.shape}.")
    if not np.isfinite(matrix).all() or (matrix < 0).any():
        raise ValueError(f"{owner}: similarity must be finite and non-negative; clip "
                         "negative similarities (cosine) to 0 first.")
    np.fill_diagonal(matrix, 0.0)
    totals = matrix.sum(axis=1, keepdims=True)
    empty = np.flatnonzero(totals[:, 0] <= 0)
    if empty.size:
        raise ValueError(f"{owner}: row(s) {empty.tolist()} of similarity have no positive "
                         "entry off the diagonal, so that class has nowhere to spread its "
                         "smoothing mass; give every class some similarity to another.")
    return matrix / totals


class ClassRelationSmoothingLoss(BaseLoss):
    """Label smoothing whose mass goes to similar classes rather than uniformly.

    For label ``y``, smoothing ``epsilon`` and a non-negative class-similarity matrix
    ``S`` (``C x C``; its diagonal is ignored), the target distribution is::

        R[y, k] = S[y, k] / sum_{j != y} S[y, j]   for k != y,   R[y, y] = 0
        t       = (1 - epsilon) * onehot(y) + epsilon * R[y]

    and the loss is ``-sum_k t_k * log p_k``. A uniform ``S`` gives
    ``LabelSmoothingLoss(over='others')``: the label keeps ``1 - epsilon`` and the
    ``epsilon`` it gives up goes to the classes the similarity names, in proportion.

    Parameters
    ----------
    similarity : array-like of shape (C, C) or None, default=None
        Class similarities, rows and columns in the order of the encoded classes
        (``classes_`` of a sknoisy classifier: sorted labels). Finite, non-negative,
        every row with a positive entry off the diagonal. Given by the user (a taxonomy,
        a confusion matrix) or estimated with :func:`class_similarity`. ``None`` is
        uniform, for any number of classes.
    epsilon : float, default=0.1
        Mass moved away from the given label, in ``[0, 1)``; 0 is plain cross entropy.
    reduction : {'none', 'mean', 'sum'}, default='mean'
        ``'none'`` returns shape (N,); ``'mean'`` / ``'sum'`` average or add over samples.

    Attributes
    ----------
    relations : torch.Tensor of shape (C, C) or None
        ``R``, the row-normalised similarities (a buffer: it follows ``.to(device)``);
        ``None`` for a uniform ``similarity=None``.

    See Also
    --------
    class_similarity : estimate ``S`` from a fitted classifier.
    LabelSmoothingLoss : uniform smoothing.
    KnowledgeRefineryLoss : class relations learned during training.

    Notes
    -----
    Smoothing towards related classes is the soft label a good teacher would give
    (knowledge distillation), at the cost of one matrix and no teacher forward pass.
    Under label noise an ``S`` estimated from a network trained on the noisy labels
    also reflects the noise: with pair-flip noise, class ``i``'s rows are partly class
    ``i - 1``, and the smoothing mass then goes to the class the wrong labels came from.
    Estimate it from a network trained only a few epochs (before it memorises the
    noise), or from held-out rows. Computed from ``log_softmax`` in closed form, so it
    stays finite for extreme logits.

    References
    ----------
    .. [1] C. Szegedy, V. Vanhoucke, S. Ioffe, J. Shlens and Z. Wojna, "Rethinking the
       Inception Architecture for Computer Vision", CVPR 2016.
    .. [2] C.-B. Zhang, P.-T. Jiang, Q. Hou, Y. Wei, Q. Han, Z. Li and M.-M. Cheng,
       "Delving Deep into Label Smoothing", IEEE TIP 2021 (class-wise soft labels
       from the model's own predictions).

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import ClassRelationSmoothingLoss
    >>> similarity = [[0, 3, 1],   # class 0 looks like class 1 three times as much as 2
    ...               [1, 0, 1],
    ...               [1, 1, 0]]
    >>> loss = ClassRelationSmoothingLoss(similarity=similarity, epsilon=0.2)
    >>> loss.relations[0]  # where class 0 sends its 0.2 of smoothing mass
    tensor([0.0000, 0.7500, 0.2500], dtype=torch.float64)
    >>> logits = torch.tensor([[2.0, 1.0, -1.0]])
    >>> loss(logits, torch.tensor([0]))  # CE against [0.8, 0.15, 0.05]
    tensor(0.6490)
    """

    _parameter_constraints: dict = {
        **BaseLoss._parameter_constraints,
        "similarity": ["array-like", None],
        "epsilon": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(self, *, similarity=None, epsilon: float = 0.1,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.similarity = similarity
        self.epsilon = epsilon
        self._check_params()
        relations = (None if similarity is None
                     else torch.as_tensor(_relation_rows(similarity, type(self).__name__)))
        self.register_buffer("relations", relations)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """One loss value per sample, for validated inputs (see ``BaseLoss.forward``)."""
        name = type(self).__name__
        n_classes = logits.shape[1]
        eps = float(self.epsilon)
        log_p = logits.log_softmax(dim=1)
        label_log_p = gather_target(log_p, target)
        if self.relations is None:
            if n_classes < 2:
                raise ValueError(f"{name}: smoothing over the other classes needs at least "
                                 f"2 classes; got logits with {n_classes} column(s).")
            spread = (log_p.sum(dim=1) - label_log_p) / (n_classes - 1)
        else:
            if self.relations.shape != (n_classes, n_classes):
                raise ValueError(f"{name}: similarity is {tuple(self.relations.shape)} but "
                                 f"the logits have {n_classes} columns; give one row and "
                                 "column per class, in the order of the encoded classes.")
            rows = self.relations.to(device=logits.device, dtype=logits.dtype)[target]
            spread = (rows * log_p).sum(dim=1)
        return -((1.0 - eps) * label_log_p + eps * spread)

    def extra_repr(self) -> str:
        shown = ("None" if self.similarity is None
                 else f"<{'x'.join(map(str, np.shape(self.similarity)))} matrix>")
        return (f"reduction={self.reduction!r}, similarity={shown}, "
                f"epsilon={self.epsilon!r}")


def _penultimate(estimator, X) -> np.ndarray:
    """The inputs of the last linear layer of a fitted skorch network, for every row."""
    module = getattr(estimator, "module_", None)
    layer = last_linear(module) if isinstance(module, nn.Module) else None
    if layer is None:
        raise TypeError(f"class_similarity: representation='penultimate' needs a fitted "
                        f"skorch network whose module ends in a torch.nn.Linear layer; got "
                        f"{type(estimator).__name__}. Pass a callable X -> features instead.")
    with capture_layer(layer) as captured:
        estimator.predict_proba(X)
    return torch.cat([batch.cpu() for batch in captured]).flatten(1).double().numpy()


def class_similarity(estimator, X, y, *, representation: str | Callable = "proba",
                     metric: str = "auto") -> np.ndarray:
    """Estimate a class-similarity matrix from the class centroids of a fitted model.

    Every row of ``X`` is mapped to a representation; ``centroid_k`` is the mean
    representation of the rows labelled ``k``. Then, for classes ``i`` and ``j``::

        metric='mean':    S[i, j] = centroid_i[j]   (mean predicted probability of j
                                                      over the rows labelled i)
        metric='cosine':  S[i, j] = max(0, cos(centroid_i, centroid_j))

    The result is ready for ``ClassRelationSmoothingLoss(similarity=...)``.

    Parameters
    ----------
    estimator : fitted classifier
        With ``predict_proba`` and ``classes_`` for ``representation='proba'``; a
        fitted sknoisy (skorch) network for ``'penultimate'``.
    X : array-like of shape (n_samples, ...)
        Rows to average over; held-out rows, or the training rows of a network trained
        only a few epochs, avoid a similarity shaped by memorised labels.
    y : array-like of shape (n_samples,)
        Their labels; the classes are the labels present in ``y``.
    representation : {'proba', 'penultimate'} or callable, default='proba'
        ``'proba'``: the predicted probabilities, columns matched to the labels by
        ``estimator.classes_``. ``'penultimate'``: the input of the network's last
        linear layer (its learned features). A callable: ``representation(X)`` returns
        an (n_samples, n_features) array.
    metric : {'auto', 'mean', 'cosine'}, default='auto'
        ``'mean'`` needs ``'proba'``; ``'auto'`` is ``'mean'`` for ``'proba'`` and
        ``'cosine'`` otherwise.

    Returns
    -------
    similarity : ndarray of shape (n_classes, n_classes)
        float64, rows and columns in the order of ``np.unique(y)`` (a sknoisy
        classifier's ``classes_`` order).

    See Also
    --------
    ClassRelationSmoothingLoss : the loss that spreads smoothing mass by ``S``.

    Notes
    -----
    With ``'proba'`` and the given (noisy) labels, row ``i`` estimates what the model
    predicts for rows labelled ``i``: class confusions, and under label noise also the
    noise (``S[i, j]`` grows with the share of class-``j`` rows labelled ``i``). The
    centroids cost one ``predict_proba`` pass (``'penultimate'``: one forward pass with
    a hook on the last linear layer) and O(n_classes x n_features) memory.

    References
    ----------
    .. [1] C.-B. Zhang, P.-T. Jiang, Q. Hou, Y. Wei, Q. Han, Z. Li and M.-M. Cheng,
       "Delving Deep into Label Smoothing", IEEE TIP 2021 (soft labels from class-wise
       mean predictions).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sknoisy.losses import class_similarity
    >>> X, y = load_iris(return_X_y=True)
    >>> model = LogisticRegression(max_iter=500).fit(X, y)
    >>> S = class_similarity(model, X, y)
    >>> S.shape, bool(S[1, 2] > S[1, 0])  # versicolor resembles virginica, not setosa
    ((3, 3), True)
    """
    validate = {"representation": [StrOptions({"proba", "penultimate"}), callable],
                "metric": [StrOptions({"auto", "mean", "cosine"})]}
    validate_parameter_constraints(validate, {"representation": representation,
                                              "metric": metric},
                                   caller_name="class_similarity")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"class_similarity: y must be 1-D; got shape {y.shape}.")
    labels, codes = np.unique(y, return_inverse=True)
    if metric == "auto":
        metric = "mean" if representation == "proba" else "cosine"
    if metric == "mean" and representation != "proba":
        raise ValueError("class_similarity: metric='mean' reads centroids as probability "
                         "rows, so it needs representation='proba'; use metric='cosine'.")
    if representation == "proba":
        proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        classes = np.asarray(getattr(estimator, "classes_", [])).tolist()
        missing = [label for label in labels.tolist() if label not in classes]
        if missing:
            raise ValueError(f"class_similarity: labels {missing} are not in the "
                             f"estimator's classes_ {classes}; fit it on these labels.")
        features = proba[:, [classes.index(label) for label in labels.tolist()]]
    elif representation == "penultimate":
        features = _penultimate(estimator, X)
    else:
        features = np.asarray(representation(X), dtype=np.float64)
    features = features.reshape(len(features), -1)
    if len(features) != len(y):
        raise ValueError(f"class_similarity: X has {len(features)} rows but y has "
                         f"{len(y)}.")
    counts = np.bincount(codes, minlength=len(labels))
    centroids = np.zeros((len(labels), features.shape[1]))
    np.add.at(centroids, codes, features)
    centroids /= counts[:, None]
    if metric == "mean":
        return centroids
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    unit = centroids / np.where(norms > 0, norms, 1.0)
    return np.clip(unit @ unit.T, 0.0, None)
