"""Every public estimator leaves exactly its documented attributes after fit."""

import inspect
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification

from sknoisy.callbacks import PerSampleRecord

from ._instances import ALL_ESTIMATORS

# skorch's registries of named components, kept under private names by skorch itself.
SKORCH_PRIVATE = {"_criteria", "_modules", "_optimizers"}


def documented_attributes(cls) -> set:
    """Names in the numpydoc ``Attributes`` sections of ``cls`` and its sknoisy bases."""
    names = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("sknoisy"):
            continue
        doc = inspect.cleandoc(klass.__doc__ or "")
        match = re.search(r"^Attributes\n-+\n(.*?)(?=^\S[^\n]*\n-+\n|\Z)", doc, re.S | re.M)
        if match is None:
            continue
        for line in match.group(1).splitlines():
            if line and not line[0].isspace():
                names |= {name.strip() for name in line.split(" : ")[0].split(",")}
    return names


def test_the_parser_reads_a_numpydoc_section():
    class Documented:
        """Summary.

        Attributes
        ----------
        a_, b_ : int
            Two.
        c_
            Three.

        Notes
        -----
        d_ : not an attribute
        """

    Documented.__module__ = "sknoisy.fake"
    assert documented_attributes(Documented) == {"a_", "b_", "c_"}


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=lambda e: type(e).__name__)
def test_fitted_attributes_are_exactly_the_documented_ones(estimator):
    X, y = make_classification(n_samples=80, n_features=5, n_informative=3, n_classes=3,
                               random_state=0)
    fitted = clone(estimator).fit(X, y)
    public = {name for name in vars(fitted)
              if name.endswith("_") and not name.startswith("_")}
    undocumented = public - documented_attributes(type(fitted))
    assert not undocumented, f"undocumented fitted attributes: {sorted(undocumented)}"
    private = {name for name in vars(fitted) if name.startswith("_")}
    assert private <= SKORCH_PRIVATE, f"fit-time scratch left behind: {private}"
    # A record a method installed for itself holds nothing after fit. A detector that
    # keeps no network (ConfidentLearningDetector reads out-of-fold probabilities) has none.
    network = getattr(fitted, "estimator_", fitted)
    for _, callback in getattr(network, "callbacks_", ()):
        if isinstance(callback, PerSampleRecord):
            assert callback.buffers_ is None
            if not callback.keep_results:
                assert not any(isinstance(v, np.ndarray) for v in vars(callback).values())
