"""The benchmark loop: datasets x noise types x rates x seeds x methods."""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from numbers import Integral
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from ..noise import make_label_noise
from ._datasets import DATASETS, load_benchmark_dataset
from ._methods import METHODS, MethodContext, noise_scores_of

__all__ = ["BenchmarkResult", "NOISE_TYPES", "run_benchmark"]

# 'asymmetric' is the MNIST class map (7->1, 2->7, 3->8, 5<->6) on 10-class data.
NOISE_TYPES = ("symmetric", "uniform", "pairflip", "asymmetric", "mnist", "cifar10",
               "instance")
BASELINE = "ce"


@dataclass
class BenchmarkResult:
    """What :func:`run_benchmark` measured.

    Attributes
    ----------
    records : pandas.DataFrame
        One row per (dataset, noise_type, noise_rate, seed, method): ``accuracy`` on
        the clean test labels, ``auprc`` (NaN for methods without noise scores),
        ``fit_time`` (wall clock) and ``cpu_time`` (this process's CPU time) of the
        fit in seconds, ``realised_rate`` (fraction of flipped training labels),
        ``order`` (position of the method in its seed's run).
    detection : dict
        ``(dataset, noise_type, noise_rate) -> (is_flipped, {method: scores})`` for the
        first seed, for precision-recall plots.
    config : dict
        The arguments of the run.
    descriptions : dict
        Dataset name -> what was loaded.
    warnings : list of str
        Distinct warning messages raised while fitting.

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
    config: dict = field(default_factory=dict)
    descriptions: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)


def _as_list(values, name: str, allowed=None) -> list:
    values = [values] if isinstance(values, (str, int, float)) else list(values)
    if not values:
        raise ValueError(f"{name} must not be empty.")
    if allowed is not None:
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ValueError(f"unknown {name} {bad}; choose from {sorted(allowed)}.")
    return values


def _check_config(datasets, noise_types, noise_rates, methods, seeds, epochs):
    datasets = _as_list(datasets, "datasets", DATASETS)
    noise_types = _as_list(noise_types, "noise_types", NOISE_TYPES)
    noise_rates = [float(r) for r in _as_list(noise_rates, "noise_rates")]
    bad = [r for r in noise_rates if not (0.0 <= r < 1.0)]
    if bad:
        raise ValueError(f"noise_rates must be in [0, 1); got {bad}.")
    methods = _as_list(methods if methods is not None else list(METHODS), "methods", METHODS)
    # CE is the reference of the time ratios, so it always runs.
    if BASELINE not in methods:
        methods = [BASELINE, *methods]
    if isinstance(seeds, Integral) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be a positive count or a list of ints; got {seeds}.")
        seeds = list(range(int(seeds)))
    seeds = [int(s) for s in _as_list(seeds, "seeds")]
    if isinstance(epochs, bool) or not isinstance(epochs, Integral) or epochs < 1:
        raise ValueError(f"epochs must be a positive int; got {epochs!r}.")
    return datasets, noise_types, noise_rates, list(dict.fromkeys(methods)), seeds


def _noisy_labels(data, noise_type: str, rate: float, seed: int):
    if noise_type == "asymmetric":
        if data.n_classes != 10:
            raise ValueError(f"noise type 'asymmetric' is the MNIST class map and needs 10 "
                             f"classes; {data.name} has {data.n_classes}. Use 'pairflip'.")
        noise_type = "mnist"
    X = data.X_train.reshape(len(data.X_train), -1) if noise_type == "instance" else None
    return make_label_noise(data.y_train, noise_type, rate, X=X, random_state=seed)


def _warm_up(data, device: str) -> None:
    """One untimed tiny fit: the first fit in a process pays one-off setup costs."""
    from .._core._base import NoisyNetClassifier

    n = min(len(data.y_train), 256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        NoisyNetClassifier(max_epochs=1, random_state=0, device=device).fit(
            data.X_train[:n], data.y_train[:n])


def _fit_one(method, ctx, data, y_fit, is_flipped, caught: list):
    estimator = method.factory(ctx)
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        start, cpu_start = time.perf_counter(), time.process_time()
        estimator.fit(data.X_train, y_fit)
        fit_time = time.perf_counter() - start
        cpu_time = time.process_time() - cpu_start
        accuracy = float(np.mean(estimator.predict(data.X_test) == data.y_test))
    caught.extend(f"{w.category.__name__}: {w.message}" for w in log)
    scores = noise_scores_of(method, estimator)
    auprc = math.nan
    if scores is not None and 0 < is_flipped.sum() < len(is_flipped):
        auprc = float(average_precision_score(is_flipped, scores))
    return accuracy, auprc, fit_time, cpu_time, scores


def run_benchmark(
    datasets: str | Sequence[str] = "digits",
    noise_types: str | Sequence[str] = "symmetric",
    noise_rates: float | Sequence[float] = 0.4,
    methods: Sequence[str] | None = None,
    seeds: int | Sequence[int] = 3,
    epochs: int = 100,
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    images: bool = False,
    device: str = "cpu",
    progress: bool = True,
) -> BenchmarkResult:
    """Train every method on noisy labels and measure it on the clean test labels.

    For each dataset, noise type, noise rate and seed, the training labels are
    corrupted with :func:`sknoisy.noise.make_label_noise` (seeded by the seed) and every
    method is fitted with the same epoch budget. Within a seed the methods run in an
    order rotated by one per seed, so that fit times are compared under the same
    machine load.

    Parameters
    ----------
    datasets : str or list of str, default='digits'
        Names from :data:`DATASETS`.
    noise_types : str or list of str, default='symmetric'
        Noise models: 'symmetric', 'uniform', 'pairflip', 'asymmetric' (the MNIST
        map, 10-class data), 'cifar10', 'instance'.
    noise_rates : float or list of float, default=0.4
        Rates in [0, 1).
    methods : list of str or None, default=None
        Names from :data:`METHODS` (None: all available). 'ce' is always added: fit
        times are reported as ratios to it.
    seeds : int or list of int, default=3
        A count (seeds 0..n-1) or the seeds themselves.
    epochs : int, default=100
        Epoch budget of every method.
    n_train, n_test : int or None, default=None
        Fashion-MNIST subset sizes.
    images : bool, default=False
        Feed digits / Fashion-MNIST as images (CNNs) instead of flat rows (MLPs).
    device : str, default='cpu'
        Torch device of every net.
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
    [['ce', 0]]
    """
    datasets, noise_types, noise_rates, methods, seeds = _check_config(
        datasets, noise_types, noise_rates, methods, seeds, epochs)
    from tqdm.auto import tqdm

    total = len(datasets) * len(noise_types) * len(noise_rates) * len(seeds) * len(methods)
    bar = tqdm(total=total, disable=not progress, unit="fit", dynamic_ncols=True)
    result = BenchmarkResult(records=pd.DataFrame(), config=dict(
        datasets=datasets, noise_types=noise_types, noise_rates=noise_rates, methods=methods,
        seeds=seeds, epochs=epochs, n_train=n_train, n_test=n_test, images=images,
        device=device))
    rows, caught = [], []
    try:
        for name in datasets:
            data = load_benchmark_dataset(name, images=images, n_train=n_train, n_test=n_test)
            result.descriptions[name] = data.description
            _warm_up(data, device)
            for noise_type in noise_types:
                for rate in noise_rates:
                    for seed_pos, seed in enumerate(seeds):
                        y_noisy, flipped = _noisy_labels(data, noise_type, rate, seed)
                        ctx = MethodContext(n_classes=data.n_classes, epochs=epochs, seed=seed,
                                            input_kind=data.input_kind, noise_rate=rate,
                                            device=device)
                        shift = seed_pos % len(methods)
                        order = methods[shift:] + methods[:shift]
                        first_seed_scores = {}
                        for position, method_name in enumerate(order):
                            bar.set_description(f"{name} {noise_type} {rate:g} seed {seed} "
                                                f"{method_name}")
                            method = METHODS[method_name]
                            y_fit = data.y_train if method.clean_labels else y_noisy
                            accuracy, auprc, fit_time, cpu_time, scores = _fit_one(
                                method, ctx, data, y_fit, flipped, caught)
                            if scores is not None and seed_pos == 0:
                                first_seed_scores[method_name] = scores
                            rows.append(dict(
                                dataset=name, noise_type=noise_type, noise_rate=rate,
                                seed=seed, method=method_name, accuracy=accuracy,
                                auprc=auprc, fit_time=fit_time, cpu_time=cpu_time,
                                realised_rate=float(np.mean(flipped)), order=position))
                            bar.update()
                        if seed_pos == 0:
                            result.detection[(name, noise_type, rate)] = (
                                np.asarray(flipped, dtype=bool), first_seed_scores)
    finally:
        bar.close()
    result.records = pd.DataFrame(rows)
    result.warnings = list(dict.fromkeys(caught))
    return result
