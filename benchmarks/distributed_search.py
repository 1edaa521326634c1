"""Speed-up of a grid search on local Dask and Ray workers over the same search in-process.

A ``GridSearchCV`` over ``--candidates`` settings (learning rate x hidden width) of a
``NoisyNetClassifier`` MLP on digits with 20% symmetric label noise, ``--folds``-fold,
``--epochs`` epochs per fit, is run with ``n_jobs=1`` in this process and under
``joblib.parallel_backend('dask')`` (a ``LocalCluster`` of ``--workers`` single-threaded
worker processes) and ``joblib.parallel_backend('ray')`` (``ray.init(num_cpus=--workers)``).
Every process trains on one torch thread, so the distributed scores must equal the serial
ones (checked and printed). The serial and distributed searches alternate ``--repeats``
times; the wall-clock medians and their ratio (speed-up) are printed as a markdown row per
backend. Cluster start-up (with the Dask workers' imports) is timed apart and not in the
ratio; Ray's joblib backend starts fresh worker processes for every search, which is in
its search time.

Run (the recorded figure: 8 candidates, 2 workers, 3 folds, 20 epochs, about 5 minutes on
2 idle cores)::

    python benchmarks/distributed_search.py

Smoke test (seconds)::

    python benchmarks/distributed_search.py --rows 200 --epochs 2 --folds 2 --candidates 2 \
        --repeats 1
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time

import numpy as np
import torch
from joblib import parallel_backend
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from sknoisy import NoisyNetClassifier
from sknoisy.noise import make_label_noise

LEARNING_RATES = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
HIDDEN_SIZES = ((256,), (256, 256), (128,), (512,))


def _grid(n_candidates: int) -> list[dict]:
    # Candidates of the same cost class first (two widths), so that a run with 8 has
    # comparable fits and the speed-up is not a matter of which worker drew the big nets.
    pairs = list(itertools.product(HIDDEN_SIZES[:2], LEARNING_RATES[:4]))
    pairs += [p for p in itertools.product(HIDDEN_SIZES, LEARNING_RATES) if p not in pairs]
    if n_candidates > len(pairs):
        raise SystemExit(f"--candidates at most {len(pairs)}; got {n_candidates}.")
    return [{"module__hidden_sizes": [h], "lr": [lr]} for h, lr in pairs[:n_candidates]]


def _search(args) -> GridSearchCV:
    net = NoisyNetClassifier(max_epochs=args.epochs, batch_size=32, early_stopping=False,
                             random_state=0)
    return GridSearchCV(net, _grid(args.candidates), cv=args.folds, error_score="raise")


def _timed_fit(search, X, y, backend=None, **backend_kwargs):
    start = time.perf_counter()
    if backend is None:
        search.set_params(n_jobs=1).fit(X, y)
    else:
        with parallel_backend(backend, **backend_kwargs):
            search.fit(X, y)
    return time.perf_counter() - start, search.cv_results_["mean_test_score"]


def _start(backend: str, workers: int):
    """Start a local cluster; return (joblib keyword arguments, stop function)."""
    if backend == "dask":
        from distributed import Client, LocalCluster
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        # Workers persist between searches: count their one-time imports as start-up.
        client.run(__import__, "sknoisy")
        return {"client": client}, lambda: (client.close(), cluster.close())
    import ray
    from ray.util.joblib import register_ray
    ray.init(address="local", num_cpus=workers, include_dashboard=False,
             log_to_driver=False)
    register_ray()
    return {}, ray.shutdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="dask,ray", help="comma-separated: dask, ray")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--rows", type=int, default=None, help="first rows of digits (all)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    # The serial reference runs on one thread, as each worker does (both engines start
    # their workers with OMP_NUM_THREADS=1), so the scores can be compared exactly.
    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X = X[:args.rows].astype(np.float32)
    y, _ = make_label_noise(y[:args.rows], "symmetric", 0.2, random_state=0)

    # Untimed warm-up: the first fit in a process pays one-time torch initialisation.
    NoisyNetClassifier(max_epochs=1, random_state=0).fit(X, y)

    print(f"digits, {len(X)} rows, 20% symmetric noise, {args.candidates} candidates, "
          f"{args.folds}-fold, {args.epochs} epochs, {args.workers} workers x 1 thread, "
          f"{args.repeats} repeats, {os.cpu_count()} CPUs, date {time.strftime('%Y-%m-%d')}")
    print("| backend | serial s | distributed s | speed-up | cluster start s | "
          "scores equal |")
    print("|---|---|---|---|---|---|")
    for backend in args.backends.split(","):
        start = time.perf_counter()
        kwargs, stop = _start(backend, args.workers)
        startup = time.perf_counter() - start
        try:
            serial_times, distributed_times, equal = [], [], True
            for _ in range(args.repeats):
                seconds, serial_scores = _timed_fit(_search(args), X, y)
                serial_times.append(seconds)
                seconds, scores = _timed_fit(_search(args), X, y, backend, **kwargs)
                distributed_times.append(seconds)
                equal &= bool(np.array_equal(scores, serial_scores))
        finally:
            stop()
        serial, distributed = (statistics.median(serial_times),
                               statistics.median(distributed_times))
        print(f"| {backend} | {serial:.1f} | {distributed:.1f} | {serial / distributed:.2f} | "
              f"{startup:.1f} | {'yes' if equal else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()
