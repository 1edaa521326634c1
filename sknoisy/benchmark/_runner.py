"""The benchmark loop: datasets x sizes x noise settings x seeds x methods."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Sequence

import numpy as np
import pandas as pd

from .._registry import METHODS, MethodContext, MissingDependencyError, check_available
from ._datasets import DATASETS, load_benchmark_dataset, noisy_labels
from ._measure import FitJob, fit_and_measure, fit_in_fresh_process

__all__ = ["BenchmarkResult", "NOISE_TYPES", "parse_noise", "run_benchmark"]

# 'asymmetric' is the MNIST class map (7->1, 2->7, 3->8, 5<->6) on 10-class data.
NOISE_TYPES = ("symmetric", "uniform", "pairflip", "asymmetric", "mnist", "cifar10",
               "instance")
BASELINE = "ce"
# The bar a method must clear (DESIGN.md's protocol), so every accuracy table has it.
EARLY_STOP = "ce_early_stop"


@dataclass
class BenchmarkResult:
    """What :func:`run_benchmark` measured.

    Attributes
    ----------
    records : pandas.DataFrame
        One row per (dataset, n_train, noise_type, noise_rate, seed, method):
        ``accuracy`` on the clean test labels, ``fit_time`` (wall clock) and
        ``cpu_time`` (this process's CPU time) of the fit in seconds, ``realised_rate``
        (fraction of flipped training labels), ``order`` (position of the method in
        its seed's run), and where measured the detection metrics (``auprc``,
        ``auroc``, ``precision_at_true_rate``, ``flagged``, ``flagged_precision``),
        ``detect_time``/``detect_cpu_time``, ``rate_estimate``, ``best_epoch``,
        ``peak_accuracy``/``peak_epoch``, ``peak_mib`` and the methods' own numbers.
    detection : dict
        ``(dataset, n_train, noise_type, noise_rate) -> (is_flipped, {method: scores})``
        for the first seed, for precision-recall plots.
    curves : dict
        ``(dataset, n_train, noise_type, noise_rate, seed, method) -> list`` of the
        clean-test accuracy after each epoch (``per_epoch=True``).
    config : dict
        The arguments of the run.
    descriptions : dict
        ``(dataset, n_train)`` to a description of what was loaded.
    warnings : list of str
        Distinct warning messages raised while fitting.
    skipped : list of str
        Methods left out of a run over all methods, with the reason.

    Examples
    --------
    >>> import pandas as pd
    >>> from sknoisy.benchmark import BenchmarkResult
    >>> result = BenchmarkResult(records=pd.DataFrame({"method": ["ce"], "accuracy": [0.9]}))
    >>> result.records["accuracy"].tolist(), result.warnings
    ([0.9], [])
    """

    records: pd.DataFrame
    detection: dict = field(default_factory=dict)
    curves: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    descriptions: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    skipped: list = field(default_factory=list)


def parse_noise(spec) -> list[tuple[str, float]]:
    """Noise settings from ``'type:rate'`` strings (or pairs), checked.

    Parameters
    ----------
    spec : str or list of str or list of (str, float)
        ``'symmetric:0.4,pairflip:0.45'``, ``['symmetric:0.4']`` or
        ``[('symmetric', 0.4)]``.

    Returns
    -------
    settings : list of (str, float)

    Examples
    --------
    >>> from sknoisy.benchmark import parse_noise
    >>> parse_noise("symmetric:0.4,pairflip:0.45")
    [('symmetric', 0.4), ('pairflip', 0.45)]
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    settings = []
    for item in items:
        if isinstance(item, str):
            kind, _, rate = item.strip().partition(":")
            try:
                item = (kind, float(rate))
            except ValueError:
                raise ValueError(f"a noise setting is 'type:rate' (e.g. 'symmetric:0.4'); "
                                 f"got {item!r}.") from None
        kind, rate = item
        if kind not in NOISE_TYPES:
            raise ValueError(f"unknown noise type {kind!r}; choose from {list(NOISE_TYPES)}.")
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"noise rates must be in [0, 1); got {rate} for {kind}.")
        settings.append((kind, float(rate)))
    if not settings:
        raise ValueError("the noise settings must not be empty.")
    return settings


def _as_list(values, name: str, allowed=None) -> list:
    values = [values] if isinstance(values, (str, Real)) else list(values)
    if not values:
        raise ValueError(f"{name} must not be empty.")
    if allowed is not None:
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ValueError(f"unknown {name} {bad}; choose from {sorted(allowed)}.")
    return values


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return int(value)


def _sizes(n_train) -> list:
    if n_train is None:
        return [None]
    return [_positive_int(n, "n_train") for n in _as_list(n_train, "n_train")]


def _methods(methods, reference: str):
    """The methods to run (the baselines first) and those skipped for a missing package."""
    skipped = []
    if methods is None:
        requested = []
        for name, method in METHODS.items():
            if not method.default:
                continue
            try:
                check_available(name)
            except MissingDependencyError as exc:
                skipped.append(str(exc))
            else:
                requested.append(name)
    else:
        requested = _as_list(methods, "methods", METHODS)
        for name in requested:
            check_available(name)
    if reference not in METHODS:
        raise ValueError(f"unknown time reference {reference!r}; choose from "
                         f"{sorted(METHODS)}.")
    # CE is the default time reference and CE stopped early the bar: both always run.
    return list(dict.fromkeys([BASELINE, EARLY_STOP, reference, *requested])), skipped


def _check_config(datasets, noise_types, noise_rates, methods, seeds, epochs, *, noise=None,
                  n_train=None, reference=BASELINE, net_params=None, cv_folds=3,
                  detector_epochs=None, validation_fraction=0.2) -> dict:
    """Every argument checked and normalised, before anything is trained."""
    if noise is None:
        noise = [(kind, rate) for kind in _as_list(noise_types, "noise_types")
                 for rate in _as_list(noise_rates, "noise_rates")]
    method_names, skipped = _methods(methods, reference)
    if isinstance(seeds, Integral) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be a positive count or a list of ints; got {seeds}.")
        seeds = list(range(int(seeds)))
    if net_params is not None and not isinstance(net_params, dict):
        raise ValueError(f"net_params must be a dict of network parameters; got "
                         f"{type(net_params).__name__}.")
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1); got {validation_fraction}.")
    return dict(
        datasets=_as_list(datasets, "datasets", DATASETS), n_train=_sizes(n_train),
        settings=parse_noise(noise), methods=method_names,
        seeds=[int(s) for s in _as_list(seeds, "seeds")],
        epochs=_positive_int(epochs, "epochs"), reference=reference,
        net_params=dict(net_params or {}), cv_folds=_positive_int(cv_folds, "cv_folds"),
        detector_epochs=None if detector_epochs is None else _positive_int(
            detector_epochs, "detector_epochs"),
        validation_fraction=float(validation_fraction), skipped=skipped)


def _warm_up(data, device: str) -> None:
    """One untimed tiny fit: the first fit in a process pays one-off setup costs."""
    from .. import NoisyNetClassifier

    n = min(len(data.y_train), 256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        NoisyNetClassifier(max_epochs=1, random_state=0, device=device).fit(
            data.X_train[:n], data.y_train[:n])


def _fit(method: str, ctx: MethodContext, data, y_noisy, flipped, cfg: dict, size,
         noise_type: str, rate: float):
    """One fit of ``method``, in this process or (to measure memory) in a fresh one."""
    if cfg["memory"]:
        import torch

        return fit_in_fresh_process(FitJob(
            data.name, method, ctx, noise_type, rate, cfg["images"], size, cfg["n_test"],
            cfg["per_epoch"], torch.get_num_threads()))
    y_fit = data.y_train if METHODS[method].clean_labels else y_noisy
    return fit_and_measure(method, ctx, data, y_fit, flipped, per_epoch=cfg["per_epoch"])


def run_benchmark(
    datasets: str | Sequence[str] = "digits",
    noise_types: str | Sequence[str] = "symmetric",
    noise_rates: float | Sequence[float] = 0.4,
    methods: Sequence[str] | None = None,
    seeds: int | Sequence[int] = 3,
    epochs: int = 100,
    *,
    noise: str | Sequence | None = None,
    n_train: int | Sequence[int] | None = None,
    n_test: int | None = None,
    images: bool = False,
    device: str = "cpu",
    reference: str = BASELINE,
    per_epoch: bool = False,
    memory: bool = False,
    detector_epochs: int | None = None,
    cv_folds: int = 3,
    validation_fraction: float = 0.2,
    net_params: dict | None = None,
    progress: bool = True,
) -> BenchmarkResult:
    """Train every method on noisy labels and measure it on the clean test labels.

    For each dataset, training-set size, noise setting and seed, the training labels
    are corrupted with :func:`sknoisy.noise.make_label_noise` (seeded by the seed) and
    every method is fitted with the same epoch budget. Within a seed the methods run in
    an order rotated by one per seed, so that fit times are compared under the same
    machine load. 'ce' (plain cross-entropy, the default time reference) and
    'ce_early_stop' (cross-entropy stopped at its best epoch on a noisy validation
    split, the bar a method must clear) always run.

    Parameters
    ----------
    datasets : str or list of str, default='digits'
        Names from :data:`DATASETS`.
    noise_types : str or list of str, default='symmetric'
        Noise models: 'symmetric', 'uniform', 'pairflip', 'asymmetric' (the MNIST
        map, 10-class data), 'cifar10', 'instance'.
    noise_rates : float or list of float, default=0.4
        Rates in [0, 1); every type is run at every rate.
    methods : list of str or None, default=None
        Names from the registry ``sknoisy.benchmark.METHODS`` (None: its default
        methods whose optional packages are installed; the others are listed in
        ``skipped``). A named method whose package is missing is an error.
    seeds : int or list of int, default=3
        A count (seeds 0..n-1) or the seeds themselves.
    epochs : int, default=100
        Epoch budget of every method.
    noise : str or list or None, default=None
        Explicit noise settings (``'symmetric:0.4,pairflip:0.45'``, see
        :func:`parse_noise`), replacing the product of ``noise_types`` and
        ``noise_rates``.
    n_train : int, list of int or None, default=None
        Stratified training subset size(s) (None: the whole training split); each size
        is a run of its own, for measurements against the number of samples.
    n_test : int or None, default=None
        Stratified test subset size.
    images : bool, default=False
        Feed digits / Fashion-MNIST as images (CNNs) instead of flat rows (MLPs).
    device : str, default='cpu'
        Torch device of every net.
    reference : str, default='ce'
        The method whose fit time the time ratios divide by; it always runs.
    per_epoch : bool, default=False
        Record the clean-test accuracy after every epoch of each method's network
        (time taken out of the fit time): gives the peak accuracy and its epoch.
    memory : bool, default=False
        Fit each method in a fresh process and record its peak memory (Linux).
    detector_epochs : int or None, default=None
        Epochs a detector's own network trains before it reads the losses (O2U: its
        warm-up, then two cycles of half as many); None: a third of ``epochs``, at
        most 10.
    cv_folds : int, default=3
        Cross-validation folds of cleanlab.
    validation_fraction : float, default=0.2
        Share of the noisy training labels that 'ce_early_stop' holds out.
    net_params : dict or None, default=None
        Parameters of every network (``{'module__hidden_sizes': (128,)}``).
    progress : bool, default=True
        Show a progress bar (tqdm) on stderr.

    Returns
    -------
    result : BenchmarkResult

    Examples
    --------
    >>> from sknoisy.benchmark import run_benchmark
    >>> result = run_benchmark("wine", noise_rates=0.2, methods=["ce"], seeds=1, epochs=2,
    ...                        progress=False)
    >>> result.records[["method", "seed"]].values.tolist()
    [['ce', 0], ['ce_early_stop', 0]]
    """
    cfg = _check_config(datasets, noise_types, noise_rates, methods, seeds, epochs,
                        noise=noise, n_train=n_train, reference=reference,
                        net_params=net_params, cv_folds=cv_folds,
                        detector_epochs=detector_epochs,
                        validation_fraction=validation_fraction)
    from tqdm.auto import tqdm

    n_test = None if n_test is None else _positive_int(n_test, "n_test")
    cfg.update(n_test=n_test, images=images, device=device, per_epoch=per_epoch,
               memory=memory)
    methods = cfg["methods"]
    total = (len(cfg["datasets"]) * len(cfg["n_train"]) * len(cfg["settings"])
             * len(cfg["seeds"]) * len(methods))
    bar = tqdm(total=total, disable=not progress, unit="fit", dynamic_ncols=True)
    result = BenchmarkResult(records=pd.DataFrame(), config=cfg, skipped=cfg["skipped"])
    rows, caught = [], []
    try:
        for name in cfg["datasets"]:
            for size in cfg["n_train"]:
                data = load_benchmark_dataset(name, images=images, n_train=size, n_test=n_test)
                n = len(data.y_train)
                result.descriptions[(name, n)] = data.description
                if not memory:
                    _warm_up(data, device)
                for noise_type, rate in cfg["settings"]:
                    for seed_pos, seed in enumerate(cfg["seeds"]):
                        y_noisy, flipped = noisy_labels(data, noise_type, rate, seed)
                        ctx = MethodContext(
                            n_classes=data.n_classes, epochs=cfg["epochs"], seed=seed,
                            input_kind=data.input_kind, noise_rate=rate, device=device,
                            n_features=data.n_features, detector_epochs=detector_epochs,
                            cv_folds=cfg["cv_folds"],
                            validation_fraction=cfg["validation_fraction"],
                            net_kwargs=cfg["net_params"])
                        shift = seed_pos % len(methods)
                        first_seed_scores = {}
                        for position, method in enumerate(methods[shift:] + methods[:shift]):
                            bar.set_description(f"{name} {noise_type} {rate:g} seed {seed} "
                                                f"{method}")
                            row, curve, scores, log = _fit(method, ctx, data, y_noisy, flipped,
                                                           cfg, size, noise_type, rate)
                            caught += log
                            if curve is not None:
                                result.curves[(name, n, noise_type, rate, seed, method)] = curve
                            if scores is not None and seed_pos == 0:
                                first_seed_scores[method] = scores
                            rows.append(dict(dataset=name, n_train=n, noise_type=noise_type,
                                             noise_rate=rate, seed=seed, method=method,
                                             order=position,
                                             realised_rate=float(np.mean(flipped)), **row))
                            bar.update()
                        if seed_pos == 0:
                            result.detection[(name, n, noise_type, rate)] = (
                                flipped, first_seed_scores)
    finally:
        bar.close()
    result.records = pd.DataFrame(rows)
    result.warnings = list(dict.fromkeys(caught))
    return result
