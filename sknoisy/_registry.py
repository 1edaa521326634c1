"""The one registry of sknoisy's methods: each name with how to build it.

:func:`sknoisy.find_noisy_labels`, ``sknoisy detect --method`` and the benchmark runner
(``sknoisy benchmark``) all read :data:`METHODS`. An entry is a :class:`Method`: how to
build the estimator for one benchmark run from a :class:`MethodContext`, and, for a
noise detector, the class that ``find_noisy_labels`` and the CLI build with its own
defaults. The built-in entries are listed in ``sknoisy/_methods.py``.

Classes are imported when an entry is used, not when this module is, so an entry stays
listed when its optional package is missing: using it then raises
:class:`MissingDependencyError` naming the package. An ``ImportError`` from sknoisy's own
code is never caught here.

Registering a method is one call (``build`` receives the run's context)::

    register_method("mine", Method(lambda ctx: MyClassifier(**ctx.net_params()),
                                   "my method"))
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

__all__ = ["METHODS", "Method", "MethodContext", "MissingDependencyError",
           "check_available", "detector_names", "get_method", "make_detector",
           "register_method", "resolve"]


class MissingDependencyError(ImportError):
    """A method needs an optional package that is not installed.

    Raised when a registered method is used, never when sknoisy is imported: the method
    stays listed. The message names the package and how to install it.

    Examples
    --------
    >>> from sknoisy.benchmark import MissingDependencyError
    >>> issubclass(MissingDependencyError, ImportError)
    True
    """


def resolve(path: str):
    """The object at ``'package.module:name'``, imported now; import errors propagate.

    Examples
    --------
    >>> from sknoisy._registry import resolve
    >>> resolve("sknoisy.losses:GCELoss").__name__
    'GCELoss'
    """
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class MethodContext:
    """What building a method's estimator for one benchmark run may depend on.

    Parameters
    ----------
    n_classes : int
        Number of classes in the dataset.
    epochs : int
        The epoch budget shared by every method.
    seed : int
        Seed of this run; passed as ``random_state``.
    input_kind : {'tabular', 'image'}, default='tabular'
        Whether X is flat rows (an MLP is built) or images (a small CNN).
    noise_rate : float, default=0.0
        The nominal noise rate of the run, for methods whose paper assumes it known.
    device : str, default='cpu'
        Torch device of every network.
    n_features : int or None, default=None
        Number of input features (flat rows), for networks built outside the core.
    detector_epochs : int or None, default=None
        Epochs a detector (or cleanlab's cross-validation) trains before reading
        losses; None derives it from ``epochs`` (see :meth:`warmup_epochs`).
    cv_folds : int, default=3
        Cross-validation folds of the methods that use them (cleanlab).
    validation_fraction : float, default=0.2
        Share of the noisy training set held out by ``ce_early_stop``.
    net_kwargs : dict, default={}
        Extra parameters of every network (``module__hidden_sizes``, ``batch_size``).

    Examples
    --------
    >>> from sknoisy._registry import MethodContext
    >>> ctx = MethodContext(n_classes=3, epochs=5, seed=0, net_kwargs={"batch_size": 64})
    >>> ctx.net_params()
    {'max_epochs': 5, 'random_state': 0, 'device': 'cpu', 'early_stopping': False,
     'standardize': False, 'batch_size': 64}
    >>> ctx.net(lr=0.01).lr, ctx.warmup_epochs()
    (0.01, 1)
    """

    n_classes: int
    epochs: int
    seed: int
    input_kind: str = "tabular"
    noise_rate: float = 0.0
    device: str = "cpu"
    n_features: int | None = None
    detector_epochs: int | None = None
    cv_folds: int = 3
    validation_fraction: float = 0.2
    net_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def net_params(self) -> dict:
        """Parameters every network of the run gets (same budget, seed and device).

        Methods are compared at a fixed epoch budget, so the core's early stopping is
        off unless the run's ``net_params`` turn it on; ``ce_early_stop`` is the
        early-stopped baseline. The networks see the inputs exactly as the data set
        prepares them (the core's ``standardize`` off), so every table measures the
        methods on one fixed input; the defaults table turns both back on.
        """
        return {"max_epochs": self.epochs, "random_state": self.seed, "device": self.device,
                "early_stopping": False, "standardize": False, **self.net_kwargs}

    def net(self, cls=None, **params):
        """A network of the run: ``cls`` (default the core network) with these params."""
        cls = resolve("sknoisy:NoisyNetClassifier") if cls is None else cls
        return cls(**{**self.net_params(), **params})

    def warmup_epochs(self) -> int:
        """Epochs a detector trains before reading losses: before memorisation starts."""
        if self.detector_epochs is not None:
            return self.detector_epochs
        return max(1, min(10, self.epochs // 3))


@dataclass(frozen=True)
class Method:
    """One registered method.

    Parameters
    ----------
    build : callable
        ``build(context) -> estimator``: the unfitted estimator of one benchmark run.
    description : str
        One line for the legend of the results table.
    detector : str or None, default=None
        ``'module:Class'`` of a noise detector: the entry is then a detector that
        :func:`~sknoisy.find_noisy_labels` and ``sknoisy detect --method`` accept,
        built with its own defaults there.
    requires : tuple of str, default=()
        Optional packages the method needs (import names, which are also the pip
        names), checked by :func:`check_available` before it is built.
    readout : callable or None, default=None
        ``readout(fitted_estimator, X_test, y_test) -> dict`` of what the benchmark
        reports beside accuracy: ``'scores'`` (per-training-sample noise scores, higher
        = more likely mislabeled), ``'mask'`` (the rows it flags), ``'rate'`` (its
        noise-rate estimate), and any other number (a column of its own).
    fit : callable or None, default=None
        ``fit(estimator, X, y, stage)`` replacing ``estimator.fit(X, y)``, for methods
        whose detection stage is timed on its own: ``with stage('detect'): ...``.
    clean_labels : bool, default=False
        Train on the clean labels (a reference, not a method).
    default : bool, default=True
        Part of the benchmark when no methods are named (and of the demo).

    Examples
    --------
    >>> from sknoisy import NoisyNetClassifier
    >>> from sknoisy._registry import Method, MethodContext
    >>> m = Method(lambda c: NoisyNetClassifier(**c.net_params()), "plain CE")
    >>> m.build(MethodContext(n_classes=2, epochs=3, seed=1)).max_epochs
    3
    """

    build: Callable[[MethodContext], Any]
    description: str
    detector: str | None = None
    requires: tuple[str, ...] = ()
    readout: Callable[[Any, Any, Any], dict] | None = None
    fit: Callable[..., None] | None = None
    clean_labels: bool = False
    default: bool = True


METHODS: dict[str, Method] = {}


def register_method(name: str, method: Method, *, replace: bool = False) -> Method:
    """Add ``method`` to the registry under ``name``.

    Parameters
    ----------
    name : str
        The name the benchmark (and, for detectors, ``find_noisy_labels`` and the CLI)
        accepts.
    method : Method
        The entry.
    replace : bool, default=False
        Allow replacing an entry of the same name.

    Returns
    -------
    method : Method

    Examples
    --------
    >>> from sknoisy._registry import METHODS, Method, register_method
    >>> _ = register_method("tiny", Method(lambda c: c.net(module__hidden_sizes=(4,)),
    ...                                    "a tiny net"))
    >>> METHODS["tiny"].description
    'a tiny net'
    >>> del METHODS["tiny"]
    """
    if not isinstance(name, str) or not name or "," in name:
        raise ValueError(f"a method name must be a non-empty str without commas; got "
                         f"{name!r}.")
    if not isinstance(method, Method):
        raise TypeError(f"register_method: expected a Method, got {type(method).__name__}.")
    if name in METHODS and not replace:
        raise ValueError(f"a method named {name!r} is already registered; pass "
                         "replace=True to replace it.")
    METHODS[name] = method
    return method


def get_method(name: str) -> Method:
    """The registry entry called ``name``.

    Parameters
    ----------
    name : str

    Returns
    -------
    method : Method

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.

    Examples
    --------
    >>> from sknoisy._registry import get_method
    >>> get_method("bmm").detector
    'sknoisy.detectors:BMMLabelCleaner'
    """
    if not isinstance(name, str) or name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose from {sorted(METHODS)}.")
    return METHODS[name]


def check_available(name: str) -> Method:
    """The entry called ``name``, after checking that its optional packages import.

    Parameters
    ----------
    name : str

    Returns
    -------
    method : Method

    Raises
    ------
    MissingDependencyError
        Naming the missing package and how to install it.

    Examples
    --------
    >>> from sknoisy._registry import check_available
    >>> check_available("ce").requires
    ()
    """
    method = get_method(name)
    for package in method.requires:
        try:
            importlib.import_module(package)
        except ImportError as exc:
            raise MissingDependencyError(
                f"method {name!r} needs the optional package {package}: pip install "
                f"{package} (importing it failed: {exc})") from exc
    return method


def detector_names() -> list[str]:
    """Names of the registered noise detectors, in registration order.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from sknoisy._registry import detector_names
    >>> detector_names()
    ['o2u', 'bmm', 'confident']
    """
    return [name for name, method in METHODS.items() if method.detector]


def make_detector(name: str, **params):
    """An unfitted noise detector of the registry with these parameters.

    Parameters
    ----------
    name : str
        One of :func:`detector_names`.
    **params
        Parameters of that detector (checked against its ``get_params``).

    Returns
    -------
    detector : estimator

    Raises
    ------
    ValueError
        If ``name`` is not a registered detector.
    TypeError
        If a parameter is not one of the detector's.
    MissingDependencyError
        If the detector needs an optional package that is not installed.

    Examples
    --------
    >>> from sknoisy._registry import make_detector
    >>> make_detector("bmm", threshold=0.7).threshold
    0.7
    """
    names = detector_names()
    if not isinstance(name, str) or name not in names:
        raise ValueError(f"method must be one of {names}; got {name!r}.")
    detector = resolve(check_available(name).detector)()
    valid = detector.get_params(deep=False)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise TypeError(f"{type(detector).__name__} has no parameter(s) {unknown}; valid "
                        f"ones are {sorted(valid)}.")
    return detector.set_params(**params)


# Last, because the entries use everything above: importing the registry fills it.
from . import _methods  # noqa: E402, F401
