"""``NoiseDetectorMixin``: what every sknoisy noise detector shares.

A detector is an imbalanced-learn cleaning sampler: ``fit_resample(X, y)`` returns the
training set with suspected mislabeled rows dropped (or relabeled), so that in an
imbalanced-learn ``Pipeline`` it acts during fit only. A detector class writes only how
it scores samples (``_score_noise``); validation, label handling, the drop/relabel
action and the protection of classes that would vanish live here.
"""

from __future__ import annotations

import math
import warnings
from numbers import Real

import numpy as np
from imblearn.utils import check_sampling_strategy, check_target_type
from sklearn.base import clone
from sklearn.utils.multiclass import check_classification_targets
from torch.utils.data import Subset

from ..exceptions import MostRowsFlaggedWarning, VanishingClassWarning
from ..pipeline import NoTransform
from ._base import NoisyNetClassifier
from ._checks import check_labels, check_X, encode_labels
from ._record import RECORD_NAME, PerSampleRecord
from ._unlabeled import reject_missing_labels
from ._validation import Interval, StrOptions, _fit_context

__all__ = ["DETECTOR_CONSTRAINTS", "MAX_RATE_CONSTRAINT", "NoiseDetectorMixin"]

# The most a detector may flag on its own, and its report of what it flagged; the
# network detectors merge these.
MAX_RATE_CONSTRAINT: dict = {"max_noise_rate": [Interval(Real, 0, 1, closed="right")],
                             "verbose": ["verbose"]}

# Parameters every network-reading detector shares; each merges them into its own.
DETECTOR_CONSTRAINTS: dict = {
    "estimator": [NoisyNetClassifier, None],
    "action": [StrOptions({"drop", "relabel"})],
    "random_state": ["random_state"],
    "accelerator": "no_validation",  # checked by the network it is given to
}


class NoiseDetectorMixin:
    """Shared behaviour of noise detectors; combine with ``imblearn``'s ``BaseCleaningSampler``.

    Subclasses implement ``_score_noise(X, y_encoded) -> scores`` (higher = more likely
    mislabeled) and set ``self.noise_rate_`` there, or override
    ``_flag_noisy(scores) -> mask`` to flag samples another way (a threshold on a
    posterior). Detectors that can relabel implement ``_suggest_labels(X, y_encoded)``,
    returning an encoded label for every sample.

    ``fit`` and ``fit_resample`` set:

    - ``classes_``: the sorted labels;
    - ``noise_scores_``: one score per sample, higher = more suspect;
    - ``noise_rate_``: the rate used (given, or estimated);
    - ``is_noisy_``: the rows that were dropped or relabeled (after class protection);
    - ``sample_indices_``: the rows kept, in imbalanced-learn's convention (every row
      for ``action='relabel'``);
    - ``suggested_labels_``: for detectors that can relabel, the label the detector
      believes in for every row (the caller's label values), flagged or not.

    Only the classes targeted by ``sampling_strategy`` are cleaned (imbalanced-learn's
    convention for cleaning samplers; sknoisy's default ``'all'`` cleans every class).
    X is returned as rows of the validated float32 array (the dtype the networks use);
    y keeps the caller's label values and type.

    Examples
    --------
    >>> import numpy as np
    >>> from imblearn.under_sampling.base import BaseCleaningSampler
    >>> from sknoisy._core._detector import NoiseDetectorMixin
    >>> class FirstFeature(NoiseDetectorMixin, BaseCleaningSampler):
    ...     def __init__(self, sampling_strategy="all", action="drop"):
    ...         self.sampling_strategy = sampling_strategy
    ...         self.action = action
    ...     def _score_noise(self, X, y):
    ...         self.noise_rate_ = 0.25
    ...         return X[:, 0]
    >>> X = np.arange(8.0).reshape(4, 2)
    >>> X_res, y_res = FirstFeature().fit_resample(X, ["a", "b", "a", "b"])
    >>> y_res
    ['a', 'b', 'a']
    """

    _sampling_type = "clean-sampling"
    _relabel_supported = False
    # No transform (imbalanced-learn forbids one beside fit_resample); inside
    # scikit-learn's own Pipeline the lookup fails with an error naming sknoisy.Pipeline.
    transform = NoTransform()

    # -- validation -----------------------------------------------------------------------
    def _check_X_y(self, X, y, accept_sparse=None):
        """sknoisy's checks (images allowed, any label type) instead of imblearn's."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but y is None.")
        # One-vs-all encoded targets are turned into class indices (and back on output)
        # as every imbalanced-learn sampler does.
        y, binarize_y = check_target_type(check_labels(self, y) if np.ndim(y) <= 1 else
                                          np.asarray(y), indicate_one_vs_all=True)
        X = check_X(self, X, reset=True)
        y = check_labels(self, y, n_samples=len(X))
        return X, y, binarize_y

    def _check_params(self) -> None:
        """Cross-parameter rules the constraints cannot express; subclasses extend it."""
        action = getattr(self, "action", "drop")
        if action == "relabel" and not self._relabel_supported:
            raise ValueError(f"{type(self).__name__} does not support action='relabel'; "
                             "use action='drop'.")

    # -- public API -------------------------------------------------------------------------
    def fit(self, X, y):
        """Score every sample and decide which labels are noisy.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Training inputs.
        y : array-like of shape (n_samples,)
            Labels of any hashable type.

        Returns
        -------
        self : object
            The fitted detector, with ``noise_scores_``, ``is_noisy_`` and
            ``sample_indices_`` set.

        Notes
        -----
        Unlike ``fit_resample``, ``fit`` builds no resampled data: for a memory-mapped X
        no row is copied into memory (the rows are read batch by batch), and the kept
        rows are ``X[det.sample_indices_]`` when wanted.
        """
        reject_missing_labels(self, y)
        return self._fit_detector(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit_detector(self, X, y):
        # fit_resample's checks and work, without indexing X for the kept rows.
        check_classification_targets(y)
        X, y, _ = self._check_X_y(X, y)
        self.sampling_strategy_ = check_sampling_strategy(self.sampling_strategy, y,
                                                          self._sampling_type)
        self._detect(X, y)
        return self

    def fit_resample(self, X, y, **params):
        """Score every sample and return the cleaned training set.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Training inputs.
        y : array-like of shape (n_samples,)
            Labels of any hashable type; every row needs one (a missing label, ``None``,
            NaN or pandas ``NA``, is a ``ValueError`` naming its rows).
        **params : dict
            Passed on to imbalanced-learn's ``fit_resample``.

        Returns
        -------
        X_resampled : array-like
            The kept (or relabeled) rows. With ``action='drop'`` they are a new
            in-memory array, also for a memory-mapped X (imbalanced-learn's contract);
            ``action='relabel'`` returns X itself. A torch Dataset gives a
            ``torch.utils.data.Subset`` of the kept items (or the Dataset itself).
        y_resampled : array-like
            Their labels.
        """
        # imbalanced-learn checks the target type first, which would report a missing
        # label as "Unknown label type" or a pandas NA error: name the rows instead.
        reject_missing_labels(self, y)
        return super().fit_resample(X, y, **params)

    # -- the work -------------------------------------------------------------------------------
    def _fit_resample(self, X, y):
        y_resampled = self._detect(X, y)
        if getattr(X, "reads_items", False):
            # A torch Dataset stays one: the kept items as a Subset, none of them read.
            kept = X.rows[self.sample_indices_]
            return Subset(X.X, kept) if len(kept) < len(X.X) else X.X, y_resampled
        if getattr(self, "action", "drop") == "relabel":
            return X, y_resampled
        return X[self.sample_indices_], y_resampled

    def _detect(self, X, y):
        """Score and flag the rows; set the fitted attributes; return the new labels."""
        self._check_params()
        try:
            classes = np.unique(y)
        except TypeError as exc:
            raise TypeError(f"{type(self).__name__}: labels cannot be sorted ({exc}); use "
                            "labels of a single type.") from exc
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes; "
                             f"got 1 class: {list(classes)}.")
        self.classes_ = classes
        y_encoded = encode_labels(self, y, classes)
        scores = np.asarray(self._score_noise(X, y_encoded), dtype=np.float64)
        if scores.shape != (len(X),) or not np.all(np.isfinite(scores)):
            raise RuntimeError(f"{type(self).__name__}._score_noise must return one finite "
                               f"score per sample; got shape {scores.shape}.")
        self.noise_scores_ = scores
        flagged = np.asarray(self._flag_noisy(scores), dtype=bool)
        flagged &= np.isin(y, list(self.sampling_strategy_))
        flagged = self._cap_flags(flagged, scores)
        if self._relabel_supported:
            new_codes = np.asarray(self._suggest_labels(X, y_encoded), dtype=np.int64)
            self.suggested_labels_ = classes[new_codes]

        if getattr(self, "action", "drop") == "relabel":
            # A flagged sample whose suggested label is its own label is left alone.
            flagged &= new_codes != y_encoded
            flagged = self._protect_classes(flagged, y_encoded, new_codes)
            codes = np.where(flagged, new_codes, y_encoded)
            self.is_noisy_ = flagged
            self.sample_indices_ = np.arange(len(X))
            self._report("relabeled", y_encoded)
            return classes[codes].astype(y.dtype, copy=False)

        flagged = self._protect_classes(flagged, y_encoded, None)
        self.is_noisy_ = flagged
        self.sample_indices_ = np.flatnonzero(~flagged)
        self._report("dropped", y_encoded)
        return y[self.sample_indices_]

    def _report(self, verb: str, y_encoded: np.ndarray) -> None:
        """At ``verbose >= 1`` print what was flagged; at ``>= 2`` also per class."""
        verbose = getattr(self, "verbose", 0)
        accelerator = getattr(self, "accelerator", None)
        if accelerator is not None and not getattr(accelerator, "is_main_process", True):
            return  # data-parallel training: process 0 reports
        if not verbose:
            return
        n, k = len(self.is_noisy_), int(self.is_noisy_.sum())
        print(f"{type(self).__name__}: {verb} {k} of {n} rows ({k / n:.1%}); noise rate "
              f"{self.noise_rate_:.3f}{self._report_note()}.")
        if verbose >= 2:
            flagged = np.bincount(y_encoded[self.is_noisy_], minlength=len(self.classes_))
            total = np.bincount(y_encoded, minlength=len(self.classes_))
            for label, f, t in zip(self.classes_.tolist(), flagged, total):
                print(f"  class {label!r}: {f} of {t} ({f / max(t, 1):.1%})")

    def _report_note(self) -> str:
        """What a detector adds to the ``verbose`` line after the noise rate."""
        return ""

    # -- the network a detector reads ------------------------------------------------------
    def _train_network(self, X, y_encoded, *, max_epochs: int, record: PerSampleRecord,
                       default, callbacks=()) -> PerSampleRecord:
        """Train a clone of ``estimator`` on the encoded labels while ``record`` watches.

        ``estimator=None`` stands for ``default`` (a :class:`NoisyNetClassifier` set up
        for the detector). The clone gets the detector's ``random_state`` when one is
        set, ``max_epochs``, and ``record`` (plus ``callbacks``) after the user's own
        callbacks; the trained network is ``estimator_``. A detector's ``accelerator``
        goes to the clone with ``device=accelerator.device`` (data-parallel training).
        Returns the record.
        """
        estimator = default if self.estimator is None else self.estimator
        if estimator.train_split is not None:
            raise ValueError(
                f"{type(self).__name__}: the estimator holds out a validation split (train_split="
                f"{estimator.train_split!r}), so the held-out rows would get no score; "
                "set train_split=None on it.")
        if getattr(estimator, "early_stopping", False) is True:
            raise ValueError(
                f"{type(self).__name__}: the estimator has early_stopping=True, which holds "
                "out rows that would then get no score; a detector trains on every row. "
                "Set early_stopping=False (or leave 'auto', which is off inside a detector).")
        network = clone(estimator)
        params = {"max_epochs": int(max_epochs), "classes": np.arange(len(self.classes_)),
                  "callbacks": [*(network.callbacks or []), (RECORD_NAME, record),
                                *callbacks]}
        if "early_stopping" in network.get_params():
            # 'auto': the network scores every row, so none is held out.
            params["early_stopping"] = False
        if self.random_state is not None:
            params["random_state"] = self.random_state
        accelerator = getattr(self, "accelerator", None)
        if accelerator is not None:
            params.update(accelerator=accelerator, device=accelerator.device)
        self.estimator_ = network.set_params(**params).fit(X, y_encoded)
        return self._record()

    def _record(self) -> PerSampleRecord:
        return dict(self.estimator_.callbacks_)[RECORD_NAME]

    def _flag_noisy(self, scores: np.ndarray) -> np.ndarray:
        """Flag the ``round(noise_rate_ * n)`` highest scores (ties broken by position)."""
        n_flag = int(round(self.noise_rate_ * len(scores)))
        mask = np.zeros(len(scores), dtype=bool)
        if n_flag > 0:
            mask[np.argsort(-scores, kind="stable")[:n_flag]] = True
        return mask

    def _cap_flags(self, flagged: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Keep at most ``max_noise_rate`` of the rows flagged, the highest scores first.

        Removing most of a data set is almost always a detector mistaken about the
        noise (an easy or clean set whose loss distribution it misreads), so it needs
        the explicit setting ``max_noise_rate`` and is reported with the numbers.
        """
        limit = getattr(self, "max_noise_rate", 1.0)
        n, n_flagged = len(flagged), int(flagged.sum())
        n_max = int(math.floor(limit * n + 1e-9))
        if n_flagged <= n_max:
            return flagged
        # Among the flagged rows, the highest scores (ties: the later rule's order).
        order = np.flatnonzero(flagged)[np.argsort(-scores[flagged], kind="stable")]
        capped = np.zeros(n, dtype=bool)
        capped[order[:n_max]] = True
        warnings.warn(
            f"{type(self).__name__} flagged {n_flagged} of {n} rows "
            f"({n_flagged / n:.0%}), more than max_noise_rate={limit}; only the "
            f"{n_max} most suspicious are flagged. Set max_noise_rate higher to remove "
            "more, after checking that the labels really are that noisy.",
            MostRowsFlaggedWarning, stacklevel=4)
        return capped

    def _suggest_labels(self, X, y_encoded):  # pragma: no cover - overridden when supported
        raise NotImplementedError

    def _protect_classes(self, flagged, y_encoded, new_codes):
        """Un-flag the least suspicious samples of every class that would disappear.

        A class keeps as many samples as it would at the detector's overall rate
        (``ceil((1 - noise_rate_) * n_class)``, at least one), chosen by lowest score.
        """
        n_classes = len(self.classes_)
        final = y_encoded[~flagged] if new_codes is None else \
            np.where(flagged, new_codes, y_encoded)
        remaining = np.bincount(final, minlength=n_classes)
        present = np.bincount(y_encoded, minlength=n_classes) > 0
        rescued = []
        flagged = flagged.copy()
        rate = min(max(float(getattr(self, "noise_rate_", 0.5)), 0.0), 1.0)
        for code in np.flatnonzero(present & (remaining == 0)):
            members = np.flatnonzero((y_encoded == code) & flagged)
            n_keep = max(1, math.ceil((1.0 - rate) * len(members)))
            keep = members[np.argsort(self.noise_scores_[members], kind="stable")[:n_keep]]
            flagged[keep] = False
            label = self.classes_[code]
            rescued.append((getattr(label, "item", lambda: label)(), n_keep, len(members)))
        if rescued:
            detail = "; ".join(f"class {label!r}: kept {k} of {n}" for label, k, n in rescued)
            warnings.warn(
                f"{type(self).__name__} flagged every sample of some classes as noisy; their "
                f"least suspicious samples were kept so the class does not vanish ({detail}). "
                "A class flagged entirely often means too few samples or too high a "
                "noise_rate.", VanishingClassWarning, stacklevel=4)
        return flagged

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.sampler_tags.sample_indices = True
        return tags
