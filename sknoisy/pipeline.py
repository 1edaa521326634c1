"""Pipelines whose noise detectors clean the training data during fit only.

``sknoisy.Pipeline`` is imbalanced-learn's :class:`imblearn.pipeline.Pipeline` (samplers
such as the noise detectors act in ``fit`` and are skipped in ``predict``) that also
accepts bare estimators, named as :func:`make_pipeline` names them.

scikit-learn's own :class:`sklearn.pipeline.Pipeline` cannot hold a detector: it needs
every intermediate step to have ``transform``, which a resampler must not have, and it
raises ``TypeError: All intermediate steps should be transformers...``. Use this module's
``Pipeline`` or ``make_pipeline`` instead.
"""

from __future__ import annotations

from collections import Counter

from imblearn import pipeline as _imb_pipeline

__all__ = ["Pipeline", "make_pipeline"]


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
