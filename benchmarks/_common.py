"""Pieces shared by the benchmark scripts in this folder (run as ``python benchmarks/...``,
so this module is importable as ``_common``)."""

from __future__ import annotations

import time

import numpy as np
from skorch.callbacks import Callback


def parse_noise(spec: str) -> list[tuple[str, float]]:
    """Parse ``"symmetric:0.4,pairflip:0.45"`` into ``[("symmetric", 0.4), ...]``."""
    settings = []
    for item in spec.split(","):
        kind, rate = item.split(":")
        settings.append((kind, float(rate)))
    return settings


class EpochEval(Callback):
    """Record clean-test and noisy-validation accuracy each epoch, timing itself.

    The time spent here is kept apart (``seconds``, ``cpu_seconds``) so that it can be
    subtracted from a method's fit time.
    """

    def __init__(self, X_test, y_test, X_val, y_val):
        self.X_test, self.y_test, self.X_val, self.y_val = X_test, y_test, X_val, y_val
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def on_epoch_end(self, net, **kwargs):
        start, cpu_start = time.perf_counter(), time.process_time()
        net.history.record("test_acc", float(np.mean(net.predict(self.X_test) == self.y_test)))
        net.history.record("noisy_val_acc", float(np.mean(net.predict(self.X_val) == self.y_val)))
        self.seconds += time.perf_counter() - start
        self.cpu_seconds += time.process_time() - cpu_start
