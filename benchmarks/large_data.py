"""Time and peak memory of the network detectors on a memory-mapped X larger than memory.

For each size, a float32 memory map of ``rows x features`` is written under
``--data-dir`` in chunks: every chunk is ``make_classification(chunk rows, same seed)``
(so all chunks share one class geometry) plus fresh Gaussian jitter, and
``--noise`` of its labels moved to another class. Each detector then runs in a fresh
process (so peak figures belong to that run alone) on the memory map, and one markdown
row per (size, detector) is printed:

- time: ``detector.fit`` alone (data already written);
- peak RSS: ``ru_maxrss``; it counts the pages of the memory map the process touched
  (reclaimable page cache: the kernel drops them under memory pressure);
- anonymous RSS before the fit and its peak during the fit: ``RssAnon`` of
  ``/proc/self/status`` (sampled every 20 ms), the memory the process itself
  allocated, torch buffers included: what has to fit in memory. "Before" is after a
  warm-up fit on 2,000 rows (imports, torch's own start-up memory);
- tracemalloc peak: what Python and numpy allocated (torch tensors are not traced);
- AUPRC of the noise scores against the moved labels (a check that it detected).

Run (the issue's figures; 10M rows make an 800 MB file and take a while)::

    python benchmarks/large_data.py --rows 1000000 10000000 --threads 2

A smoke run: ``python benchmarks/large_data.py --rows 100000``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np

MiB = 2**20


def write_data(path: Path, rows: int, features: int, noise: float, seed: int = 0,
               chunk: int = 250_000) -> None:
    """Write X (float32 memory map), y and the moved-label mask next to ``path``."""
    from sklearn.datasets import make_classification

    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, features))
    y = np.empty(rows, dtype=np.int64)
    flipped = np.zeros(rows, dtype=bool)
    rng = np.random.default_rng(seed)
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        Xc, yc = make_classification(n_samples=n, n_features=features, n_informative=10,
                                     n_redundant=5, n_classes=2, flip_y=0.0,
                                     random_state=seed)
        X[start:start + n] = Xc + rng.normal(scale=0.5, size=Xc.shape)
        moved = rng.random(n) < noise
        y[start:start + n] = np.where(moved, 1 - yc, yc)
        flipped[start:start + n] = moved
    X.flush()
    del X
    np.save(path.with_suffix(".y.npy"), y)
    np.save(path.with_suffix(".flipped.npy"), flipped)


class AnonPeak:
    """Sample this process's anonymous resident memory (RssAnon) in a thread."""

    def __init__(self, every: float = 0.02) -> None:
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now() -> int:
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("RssAnon:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


def make_detector(name: str, batch_size: int, seed: int):
    import torch

    from sknoisy import NoisyNetClassifier
    from sknoisy.detectors import BMMLabelCleaner, O2UNoiseDetector

    if name == "o2u":
        # O2U's own default network: SGD with momentum, for its cyclical learning rate.
        net = NoisyNetClassifier(optimizer=torch.optim.SGD, lr=0.01, optimizer__momentum=0.9,
                                 batch_size=batch_size, module__hidden_sizes=(32,))
        return O2UNoiseDetector(net, warmup_epochs=1, n_cycles=1, cycle_length=2,
                                random_state=seed), 3
    net = NoisyNetClassifier(batch_size=batch_size, module__hidden_sizes=(32,))
    return BMMLabelCleaner(net, warmup_epochs=2, random_state=seed), 2


def child(spec: dict) -> dict:
    """One measured run (in its own process)."""
    import torch
    from sklearn.metrics import average_precision_score

    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    path = Path(spec["path"])
    X = np.load(path, mmap_mode="r")
    y = np.load(path.with_suffix(".y.npy"))
    flipped = np.load(path.with_suffix(".flipped.npy"))
    # A first small fit imports and initialises what fitting needs (lazy imports in torch
    # and skorch): one-time costs that are not the data's.
    warm, _ = make_detector(spec["detector"], spec["batch_size"], spec["seed"])
    warm.fit(np.asarray(X[:2000]), y[:2000])
    del warm
    before = AnonPeak.now()
    detector, epochs = make_detector(spec["detector"], spec["batch_size"], spec["seed"])
    if spec["tracemalloc"]:
        tracemalloc.start()
    with AnonPeak() as anon:
        start = time.perf_counter()
        detector.fit(X, y)
        seconds = time.perf_counter() - start
    traced = tracemalloc.get_traced_memory()[1] if spec["tracemalloc"] else None
    if spec["tracemalloc"]:
        tracemalloc.stop()
    return {"seconds": seconds, "epochs": epochs,
            "max_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "anon_before": before, "anon_peak": anon.peak, "traced_peak": traced,
            "data_bytes": X.nbytes,
            "auprc": float(average_precision_score(flipped, detector.noise_scores_))}


def _mib(value) -> str:
    return "n/a" if value is None else f"{value / MiB:,.0f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--detectors", nargs="+", default=["o2u", "bmm"],
                        choices=["o2u", "bmm"])
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--noise", type=float, default=0.2)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default="/tmp", help="where the memory maps go")
    parser.add_argument("--keep-data", action="store_true", help="do not delete the files")
    parser.add_argument("--no-tracemalloc", action="store_true",
                        help="skip tracemalloc (it slows Python allocations a little)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    print(f"<!-- python benchmarks/large_data.py {' '.join(sys.argv[1:])} -->")
    print("| rows | detector | epochs | batch | fit time (s) | rows x epochs / s | data (MiB) "
          "| peak RSS (MiB) | anon RSS before fit (MiB) | peak anon RSS (MiB) "
          "| tracemalloc peak (MiB) | AUPRC |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rows in args.rows:
        path = Path(args.data_dir) / f"sknoisy_large_{rows}x{args.features}.npy"
        if not path.exists():
            write_data(path, rows, args.features, args.noise, seed=args.seed)
        try:
            for name in args.detectors:
                spec = {"path": str(path), "detector": name, "batch_size": args.batch_size,
                        "threads": args.threads, "seed": args.seed,
                        "tracemalloc": not args.no_tracemalloc}
                done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                                      capture_output=True, text=True, check=True)
                r = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"| {rows:,} | {name} | {r['epochs']} | {args.batch_size} | "
                      f"{r['seconds']:.1f} | {rows * r['epochs'] / r['seconds']:,.0f} | "
                      f"{_mib(r['data_bytes'])} | {_mib(r['max_rss'])} | "
                      f"{_mib(r['anon_before'])} | {_mib(r['anon_peak'])} | "
                      f"{_mib(r['traced_peak'])} | "
                      f"{r['auprc']:.3f} |", flush=True)
        finally:
            if not args.keep_data:
                for suffix in ("", ".y.npy", ".flipped.npy"):
                    target = path.with_suffix(suffix) if suffix else path
                    if target.exists():
                        os.remove(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
