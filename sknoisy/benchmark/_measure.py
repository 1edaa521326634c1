"""Fitting one method once and measuring it: times, per-epoch accuracy, detection, memory."""

from __future__ import annotations

import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from skorch.callbacks import Callback

from .._registry import MethodContext, get_method
from ..metrics import noise_detection_report
from ._datasets import load_benchmark_dataset, noisy_labels

__all__ = ["EpochEval", "FitJob", "fit_and_measure", "fit_in_fresh_process"]


class _Clock:
    """Evaluation time shared by an :class:`EpochEval` and its clones.

    A method that clones its own network (a self-distillation teacher) clones the
    callback with it; the clone evaluates its epochs too, and that time belongs to the
    same fit. Deep copies (what ``clone`` makes of a parameter) return the clock itself.
    """

    def __init__(self):
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def __deepcopy__(self, memo):
        return self


class EpochEval(Callback):
    """Record clean-test accuracy after every epoch (``test_acc``), timing itself.

    The time spent here is kept apart (``seconds``, ``cpu_seconds``) so that it is
    taken out of the method's fit time, including the time of clones of this callback
    (a network that the method clones from its own, such as a Tf-KD self teacher,
    shares the clock).

    Parameters
    ----------
    X_test, y_test : arrays
        The clean test set.
    clock : object or None, default=None
        Where the time accumulates; ``None`` starts a new one. Clones share it.

    Examples
    --------
    >>> from sklearn.base import clone
    >>> from sklearn.datasets import load_iris
    >>> from sknoisy import NoisyNetClassifier
    >>> from sknoisy.benchmark import EpochEval
    >>> X, y = load_iris(return_X_y=True)
    >>> clock = EpochEval(X, y)
    >>> net = NoisyNetClassifier(max_epochs=3, random_state=0, callbacks=[("eval", clock)])
    >>> len(net.fit(X, y).history[:, "test_acc"]), clock.seconds > 0
    (3, True)
    >>> clone(clock).clock is clock.clock
    True
    """

    def __init__(self, X_test, y_test, clock=None):
        self.X_test = X_test
        self.y_test = y_test
        self.clock = _Clock() if clock is None else clock

    @property
    def seconds(self) -> float:
        return self.clock.seconds

    @property
    def cpu_seconds(self) -> float:
        return self.clock.cpu_seconds

    def on_epoch_end(self, net, **kwargs):
        start, cpu_start = time.perf_counter(), time.process_time()
        accuracy = float(np.mean(np.asarray(net.predict(self.X_test)) == self.y_test))
        net.history.record("test_acc", accuracy)
        self.clock.seconds += time.perf_counter() - start
        self.clock.cpu_seconds += time.process_time() - cpu_start


class _Stages:
    """``with stage('detect'):`` in a method's staged fit records that stage's times."""

    def __init__(self):
        self.times: dict[str, list[float]] = {}

    @contextmanager
    def __call__(self, name: str):
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            wall, cpu = self.times.setdefault(name, [0.0, 0.0])
            self.times[name] = [wall + time.perf_counter() - start,
                                cpu + time.process_time() - cpu_start]


def _final_net(estimator):
    """The skorch network whose epochs are the method's own (last step of a pipeline)."""
    from skorch import NeuralNet

    steps = getattr(estimator, "steps", None)
    net = steps[-1][1] if steps else estimator
    return net if isinstance(net, NeuralNet) else None


def _history(net, key: str):
    try:
        return [float(v) for v in net.history[:, key]]
    except KeyError:  # skorch's way of saying no epoch recorded this key
        return None


def _detection_row(readout: dict, is_flipped) -> dict:
    row = {}
    if readout.get("scores") is not None:
        report = noise_detection_report(is_flipped, np.asarray(readout["scores"], float))
        row.update(auprc=float(report["auprc"]), auroc=float(report["auroc"]),
                   precision_at_true_rate=float(report["precision_at_true_rate"]))
    if readout.get("mask") is not None:
        mask = np.asarray(readout["mask"], dtype=bool)
        row["flagged"] = float(mask.mean())
        row["flagged_precision"] = float(is_flipped[mask].mean()) if mask.any() else math.nan
    if readout.get("rate") is not None:
        row["rate_estimate"] = float(readout["rate"])
    row.update({k: float(v) for k, v in readout.items()
                if k not in ("scores", "mask", "rate")})
    return row


def fit_and_measure(name: str, ctx: MethodContext, data, y_fit, is_flipped, *,
                    per_epoch: bool = False):
    """Fit method ``name`` once on ``(data.X_train, y_fit)`` and measure it.

    Parameters
    ----------
    name : str
        A registry method.
    ctx : MethodContext
        The run the estimator is built for.
    data : Bunch
        From :func:`load_benchmark_dataset`.
    y_fit : ndarray
        The training labels the method sees (noisy, or clean for a reference).
    is_flipped : ndarray of bool
        Which training labels are wrong, for the detection metrics.
    per_epoch : bool, default=False
        Record clean-test accuracy after every epoch of the method's final network.

    Returns
    -------
    row : dict
        ``accuracy`` (clean test; NaN for an estimator without ``predict``),
        ``fit_time`` and ``cpu_time`` (s, per-epoch evaluation excluded), and when
        measured: ``detect_time``/``detect_cpu_time``, ``auprc``, ``auroc``,
        ``precision_at_true_rate``, ``flagged``, ``flagged_precision``,
        ``rate_estimate``, ``best_epoch`` (of a network with a validation split),
        ``peak_accuracy``/``peak_epoch`` (with ``per_epoch``) and the method's own
        numbers.
    curve : list of float or None
        Clean-test accuracy after each epoch (``per_epoch`` only).
    scores : ndarray or None
        The method's noise scores of the training rows.
    caught : list of str
        Warnings raised while fitting.

    Examples
    --------
    >>> from sknoisy._registry import MethodContext
    >>> from sknoisy.benchmark import fit_and_measure, load_benchmark_dataset
    >>> data = load_benchmark_dataset("wine")
    >>> ctx = MethodContext(n_classes=3, epochs=2, seed=0)
    >>> row, curve, scores, _ = fit_and_measure("ce", ctx, data, data.y_train,
    ...                                         data.y_train < 0, per_epoch=True)
    >>> len(curve), scores is None, 0 <= row["accuracy"] <= 1
    (2, True, True)
    """
    method = get_method(name)
    estimator = method.build(ctx)
    net, clock, stages = _final_net(estimator), None, _Stages()
    if per_epoch and net is not None:
        clock = EpochEval(data.X_test, data.y_test)
        net.set_params(callbacks=[*(net.callbacks or []), ("epoch_eval", clock)])
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        start, cpu_start = time.perf_counter(), time.process_time()
        if method.fit is None:
            estimator.fit(data.X_train, y_fit)
        else:
            method.fit(estimator, data.X_train, y_fit, stages)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        accuracy = math.nan
        if hasattr(estimator, "predict"):
            predicted = np.asarray(estimator.predict(data.X_test))
            accuracy = float(np.mean(predicted == data.y_test))
        readout = {} if method.readout is None else method.readout(
            estimator, data.X_test, data.y_test)
    if clock is not None:
        wall, cpu = wall - clock.seconds, cpu - clock.cpu_seconds
    row = dict(accuracy=accuracy, fit_time=wall, cpu_time=cpu)
    if not hasattr(estimator, "predict") and not stages.times:
        # An estimator that does not classify (a detector alone) only detects.
        stages.times["detect"] = [wall, cpu]
    for stage, (stage_wall, stage_cpu) in stages.times.items():
        row[f"{stage}_time"], row[f"{stage}_cpu_time"] = stage_wall, stage_cpu
    row.update(_detection_row(readout, np.asarray(is_flipped, dtype=bool)))
    curve = None
    if net is not None:
        valid = _history(net, "valid_acc")
        if valid:
            row["best_epoch"] = int(np.argmax(valid)) + 1
        curve = _history(net, "test_acc") if clock is not None else None
        if curve:
            row["peak_accuracy"] = max(curve)
            row["peak_epoch"] = int(np.argmax(curve)) + 1
    caught = [f"{w.category.__name__}: {w.message}" for w in log]
    scores = readout.get("scores")
    return row, curve, None if scores is None else np.asarray(scores, float), caught


# -- memory: one fit per fresh process ---------------------------------------------------
@dataclass(frozen=True)
class FitJob:
    """Everything a fresh process needs to rebuild the data and fit one method.

    Examples
    --------
    >>> from sknoisy._registry import MethodContext
    >>> from sknoisy.benchmark._measure import FitJob
    >>> job = FitJob("wine", "ce", MethodContext(n_classes=3, epochs=1, seed=0))
    >>> job.noise_type, job.noise_rate
    ('symmetric', 0.0)
    """

    dataset: str
    method: str
    ctx: MethodContext
    noise_type: str = "symmetric"
    noise_rate: float = 0.0
    images: bool = False
    n_train: int | None = None
    n_test: int | None = None
    per_epoch: bool = False
    threads: int = 1


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} is not in /proc/self/status; peak memory needs Linux.")


def _run_job(job: FitJob):
    import torch

    torch.set_num_threads(job.threads)
    data = load_benchmark_dataset(job.dataset, images=job.images, n_train=job.n_train,
                                  n_test=job.n_test)
    y_noisy, flipped = noisy_labels(data, job.noise_type, job.noise_rate, job.ctx.seed)
    y_fit = data.y_train if get_method(job.method).clean_labels else y_noisy
    rss_with_data = _status_kib("VmRSS")
    # Writing 5 resets the peak (VmHWM) to the current RSS, so the peak read after the
    # fit is the fit's own on top of the data already loaded.
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    row, curve, scores, caught = fit_and_measure(job.method, job.ctx, data, y_fit, flipped,
                                                 per_epoch=job.per_epoch)
    row["peak_mib"] = (_status_kib("VmHWM") - rss_with_data) / 1024.0
    row["data_mib"] = (data.X_train.nbytes + data.y_train.nbytes) / 2**20
    return row, curve, scores, caught


def fit_in_fresh_process(job: FitJob):
    """:func:`fit_and_measure` in a new Python process, adding its peak memory.

    The process rebuilds the data and the noisy labels from ``job`` (both are
    deterministic), records its resident memory with the data loaded, fits, and reports
    ``peak_mib``: the peak resident memory during the fit minus that, i.e. what fitting
    added on top of the data. A fresh process per fit keeps one method's freed memory
    from hiding the next one's. Linux only (``/proc/self/status``). Methods registered
    at run time are unknown to the new process: only built-in ones can be measured.

    Parameters
    ----------
    job : FitJob

    Returns
    -------
    row, curve, scores, caught
        As :func:`fit_and_measure`, with ``row['peak_mib']``.

    Examples
    --------
    >>> from sknoisy._registry import MethodContext
    >>> from sknoisy.benchmark._measure import FitJob, fit_in_fresh_process
    >>> job = FitJob("wine", "ce", MethodContext(n_classes=3, epochs=1, seed=0))
    >>> row, curve, scores, caught = fit_in_fresh_process(job)
    >>> row["peak_mib"] >= 0, 0 <= row["accuracy"] <= 1
    (True, True)
    """
    import multiprocessing

    # spawn, not fork: a forked child would share the parent's pages and peak.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_run_job, (job,))
