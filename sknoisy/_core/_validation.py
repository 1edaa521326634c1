"""Input and parameter validation shared by every sknoisy estimator.

This is the only module that imports scikit-learn's private helpers, so a change in
scikit-learn's internals is fixed in one place.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import (  # noqa: F401  (re-exported)
    HasMethods,
    Hidden,
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.base import _fit_context  # noqa: F401  (re-exported)
from sklearn.utils.validation import _check_feature_names, check_array  # noqa: F401

__all__ = [
    "HasMethods",
    "Hidden",
    "Interval",
    "Options",
    "StrOptions",
    "check_params",
    "check_rate",
    "validate_parameter_constraints",
]


def check_params(estimator) -> None:
    """Validate ``estimator``'s parameters against its ``_parameter_constraints``.

    scikit-learn's ``BaseEstimator._validate_params`` cannot be used on skorch nets
    (skorch reuses that name for its own argument-name check), so sknoisy calls this
    helper first thing in ``fit``. Only the constrained parameters are read.
    """
    constraints = getattr(estimator, "_parameter_constraints", {})
    params = {name: getattr(estimator, name) for name in constraints}
    validate_parameter_constraints(constraints, params, caller_name=type(estimator).__name__)


def check_rate(value, name: str, *, closed_right: bool = False) -> float:
    """Return ``value`` as a float in [0, 1) (or [0, 1] when ``closed_right``).

    Raises ``TypeError`` for non-numeric values and ``ValueError`` for values outside
    the range, naming the parameter.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in [0, 1{']' if closed_right else ')'}; "
                        f"got {value!r} of type {type(value).__name__}.")
    value = float(value)
    upper_ok = value <= 1.0 if closed_right else value < 1.0
    if not (np.isfinite(value) and value >= 0.0 and upper_ok):
        bracket = "]" if closed_right else ")"
        raise ValueError(f"{name} must be in [0, 1{bracket}; got {value!r}.")
    return value
