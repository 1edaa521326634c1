"""Pipelines whose noise detectors clean the training data during fit only.

``sknoisy.Pipeline`` is imbalanced-learn's :class:`imblearn.pipeline.Pipeline` (samplers
such as the noise detectors act in ``fit`` and are skipped in ``predict``) that also
accepts bare estimators, named as :func:`make_pipeline` names them.

scikit-learn's own :class:`sklearn.pipeline.Pipeline` cannot hold a detector: it needs
every intermediate step to have ``transform``, which a resampler must not have
(imbalanced-learn refuses a step with both ``transform`` and ``fit_resample``). Detectors
carry :class:`NoTransform`, so that scikit-learn's Pipeline fails with an error that
names this module's ``Pipeline`` and ``make_pipeline`` instead of its generic one.
"""

from __future__ import annotations

import inspect
import sys
from collections import Counter

from imblearn import pipeline as _imb_pipeline
from sklearn import pipeline as _sk_pipeline

__all__ = ["Pipeline", "make_pipeline"]

# The function in which scikit-learn asks each intermediate step for ``transform``; the
# one caller that NoTransform answers with an error instead of a missing attribute.
_SKLEARN_STEP_CHECK = inspect.unwrap(_sk_pipeline.Pipeline._validate_steps).__code__


class NoTransform:
    """Class attribute that keeps ``transform`` absent, with a hint in sklearn's Pipeline.

    A resampler (a noise detector) has no ``transform``: imbalanced-learn's Pipeline
    refuses a step that has both ``transform`` and ``fit_resample``. scikit-learn's own
    Pipeline therefore rejects it with a generic "All intermediate steps should be
    transformers" that does not say what to use instead. Set as ``transform =
    NoTransform()`` on the class, this descriptor answers every lookup of ``transform``
    with ``AttributeError`` (so ``hasattr(step, "transform")`` is False for
    imbalanced-learn, scikit-learn's estimator checks and everyone else), except the one
    made by :meth:`sklearn.pipeline.Pipeline.fit` while it checks its steps, which it
    answers with a ``TypeError`` naming :class:`sknoisy.Pipeline`.

    Notes
    -----
    The exception is recognised by the code object of scikit-learn's step check (the
    caller's frame). Should a scikit-learn release move that check elsewhere, the
    descriptor falls back to a plain missing attribute, and scikit-learn's generic error
    comes back; ``tests/test_pipeline.py`` pins the pointed one.

    Examples
    --------
    >>> from imblearn.under_sampling import RandomUnderSampler
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline as sklearn_make_pipeline
    >>> from sknoisy.pipeline import NoTransform
    >>> class Cleaner(RandomUnderSampler):
    ...     transform = NoTransform()
    >>> hasattr(Cleaner(), "transform")
    False
    >>> import numpy as np
    >>> X, y = np.arange(8.0).reshape(4, 2), [0, 1, 0, 1]
    >>> sklearn_make_pipeline(Cleaner(), LogisticRegression()).fit(X, y)
    Traceback (most recent call last):
    ...
    TypeError: Cleaner resamples the training set (fit_resample) and has no transform, ...
    """

    def __get__(self, obj, objtype=None):
        owner = (objtype if obj is None else type(obj)).__name__
        # Frame 1 is whoever looked ``transform`` up (hasattr adds no Python frame).
        if sys._getframe(1).f_code is _SKLEARN_STEP_CHECK:
            raise TypeError(
                f"{owner} resamples the training set (fit_resample) and has no transform, "
                "so scikit-learn's Pipeline cannot hold it as an intermediate step. Use "
                "sknoisy.Pipeline or sknoisy.make_pipeline (imbalanced-learn's Pipeline: "
                "the same API; the step cleans the data during fit and is skipped by "
                "predict).")
        raise AttributeError(
            f"{owner!r} object has no attribute 'transform': it changes the training set "
            "with fit_resample instead (in sknoisy.Pipeline, during fit only); a noise "
            "detector's per-row scores are in noise_scores_ after fit.")


def _is_named_step(step) -> bool:
    return isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], str)


def _default_name(estimator) -> str:
    return estimator if isinstance(estimator, str) else type(estimator).__name__.lower()


def name_steps(steps) -> list:
    """Return ``steps`` as ``(name, estimator)`` pairs, naming bare estimators.

    A bare estimator gets its class name in lower case; names used more than once get
    ``-1``, ``-2``, ... suffixes, as in :func:`sklearn.pipeline.make_pipeline`.
    Steps already given as pairs keep their names.
    """
    steps = list(steps)
    bare = [_default_name(s) for s in steps if not _is_named_step(s)]
    counts = Counter(bare)
    taken = {s[0] for s in steps if _is_named_step(s)}
    seen: Counter = Counter()
    named = []
    for step in steps:
        if _is_named_step(step):
            named.append(step)
            continue
        base = _default_name(step)
        name = base
        if counts[base] > 1 or base in taken:
            seen[base] += 1
            name = f"{base}-{seen[base]}"
            while name in taken:
                seen[base] += 1
                name = f"{base}-{seen[base]}"
        taken.add(name)
        named.append((name, step))
    return named


class Pipeline(_imb_pipeline.Pipeline):
    """imbalanced-learn Pipeline that also takes bare estimators as steps.

    Noise detectors (and any imbalanced-learn sampler) resample the training data in
    ``fit`` and are skipped by ``predict``, ``predict_proba`` and ``score``. Steps may
    be ``(name, estimator)`` pairs, bare estimators, or a mix; bare ones are named as
    :func:`make_pipeline` names them (``'o2unoisedetector'``), so
    ``set_params(o2unoisedetector__noise_rate=0.3)`` and ``GridSearchCV`` parameter
    names work.

    Parameters
    ----------
    steps : list of estimators or (name, estimator) tuples
        The chain; intermediate steps are transformers or samplers, the last step any
        estimator. Stored as given: ``get_params()['steps']`` is the object passed,
        so :func:`sklearn.base.clone` works.
    transform_input : list of str or None, default=None
        As in :class:`imblearn.pipeline.Pipeline`.
    memory : str or object with the joblib.Memory interface, default=None
        Caches fitted transformers.
    verbose : bool, default=False
        Print the time each step takes.

    Attributes
    ----------
    named_steps : Bunch
        Steps by name.

    See Also
    --------
    make_pipeline : build a Pipeline from estimators without naming them.

    Notes
    -----
    ``steps`` is a property: reading it returns the named version of what was passed
    (the same list object when every step is already named); ``get_params`` returns
    the object passed. Fitting stores the named list, as scikit-learn's Pipeline
    stores its fitted steps.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sknoisy.pipeline import Pipeline
    >>> pipe = Pipeline([StandardScaler(), LogisticRegression()])
    >>> list(pipe.named_steps)
    ['standardscaler', 'logisticregression']
    >>> pipe.set_params(logisticregression__C=0.5).named_steps["logisticregression"].C
    0.5
    """

    @property
    def steps(self):
        raw = self._steps_given
        if all(_is_named_step(s) for s in raw):
            return raw
        cache = vars(self).get("_steps_named")
        if cache is None or cache[0] is not raw:
            cache = (raw, name_steps(raw))
            self._steps_named = cache
        return cache[1]

    @steps.setter
    def steps(self, value):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise TypeError(f"Pipeline steps must be a list of estimators or (name, "
                            f"estimator) tuples; got {type(value).__name__}.")
        self._steps_given = value
        vars(self).pop("_steps_named", None)

    def get_params(self, deep=True):
        """Parameters of the pipeline and, with ``deep``, of its named steps.

        Parameters
        ----------
        deep : bool, default=True
            Also return the steps and their parameters as ``<name>__<param>``.

        Returns
        -------
        params : dict
            ``params['steps']`` is the object passed as ``steps``.
        """
        params = super().get_params(deep=deep)
        params["steps"] = self._steps_given
        return params


def make_pipeline(*steps, memory=None, transform_input=None, verbose=False) -> Pipeline:
    """Build a :class:`Pipeline` from estimators, naming each by its class.

    Parameters
    ----------
    *steps : estimators
        Transformers, samplers (noise detectors) and a final estimator.
    memory : str or object with the joblib.Memory interface, default=None
        Caches fitted transformers.
    transform_input : list of str or None, default=None
        As in :class:`imblearn.pipeline.Pipeline`.
    verbose : bool, default=False
        Print the time each step takes.

    Returns
    -------
    pipeline : Pipeline
        Steps named ``<classname lower case>`` (``-1``, ``-2`` suffixes on repeats).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sknoisy.pipeline import make_pipeline
    >>> from sknoisy.detectors import BMMLabelCleaner
    >>> pipe = make_pipeline(BMMLabelCleaner(), LogisticRegression())
    >>> [name for name, _ in pipe.steps]
    ['bmmlabelcleaner', 'logisticregression']
    """
    return Pipeline(name_steps(steps), memory=memory, transform_input=transform_input,
                    verbose=verbose)
