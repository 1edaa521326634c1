"""Classifiers for noisy labels, each a subclass of the shared training core."""

import importlib

_MODULES = {
    "CoTeachingClassifier": "._coteaching",
    "PeerLossClassifier": "._peer",
    "DistilledStudentClassifier": "._distillation",
}

__all__ = sorted(_MODULES)


def __getattr__(name):
    # Imported on first use so that one method's import cost is not paid by the others.
    if name in _MODULES:
        return getattr(importlib.import_module(_MODULES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
