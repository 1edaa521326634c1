"""Benchmark: automatic noise-rate estimates against the realised flip rate.

On a stratified Fashion-MNIST subset whose training labels are corrupted with
``sknoisy.noise.make_label_noise``, each seed and noise setting compares the realised
flip rate with:

``raw CJ``
    ``estimate_noise_rate(proba=..., y=...)`` (confident joint) on the class
    probabilities a plain cross-entropy network (default MLP, Adam lr 1e-3, batch 128)
    gave each sample during its SGD step in epoch ``--epochs`` (recorded by
    ``LossRecorderNet(record_proba=True)``, no extra pass).
``raw mixture``
    ``estimate_noise_rate(losses)`` (the Beta-mixture estimate) on the same epoch's
    per-sample losses, for comparison with the older estimator.
``O2U auto``
    ``O2UNoiseDetector(noise_rate='auto')`` with its default parameters.
``CoTeaching auto``
    ``CoTeachingClassifier(forget_rate='auto', max_epochs=num_gradual=10)``: its final
    ``forget_rate_``.

Results: a Markdown section written to ``--out`` (and printed). Example (the recorded
configuration)::

    python benchmarks/bench_noise_rate.py
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from sknoisy.classifiers import CoTeachingClassifier
from sknoisy.datasets import load_fashion_mnist
from sknoisy.detectors import O2UNoiseDetector, estimate_noise_rate
from sknoisy.detectors._recording import LossRecorderNet
from sknoisy.noise import make_label_noise

from _common import parse_noise

METHODS = ("raw CJ", "raw mixture", "O2U auto", "CoTeaching auto")


def estimates(X, y_noisy, seed, epochs):
    net = LossRecorderNet(max_epochs=epochs, record_from=epochs - 1, record_proba=True,
                          lr=1e-3, batch_size=128, random_state=seed).fit(X, y_noisy)
    out = {"raw CJ": estimate_noise_rate(proba=net.last_proba_, y=y_noisy),
           "raw mixture": estimate_noise_rate(net.last_loss_)}
    out["O2U auto"] = O2UNoiseDetector(random_state=seed).fit(X, y_noisy).noise_rate_
    ct = CoTeachingClassifier(forget_rate="auto", num_gradual=10, max_epochs=10,
                              lr=1e-3, batch_size=128, random_state=seed).fit(X, y_noisy)
    out["CoTeaching auto"] = ct.forget_rate_
    return out


def cell(errors_and_values):
    values = [v for v, _ in errors_and_values]
    worst = max(abs(e) for _, e in errors_and_values)
    std = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {std:.3f} [{worst:.3f}]"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=10,
                        help="epochs of the plain network behind the raw estimates")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--noise", default="symmetric:0.2,symmetric:0.4,symmetric:0.6,"
                                           "pairflip:0.3")
    parser.add_argument("--out", default=None, help="write the Markdown table here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    settings = parse_noise(args.noise)
    X, y, _, _ = load_fashion_mnist(return_X_y=True, n_train=args.n_train, n_test=10,
                                    random_state=0)
    start = time.perf_counter()
    rows = []
    for kind, rate in settings:
        results = {m: [] for m in METHODS}
        realised = []
        for seed in seeds:
            y_noisy, flipped = make_label_noise(y, kind, rate, random_state=seed)
            true = float(np.mean(flipped))
            realised.append(true)
            est = estimates(X, np.asarray(y_noisy), seed, args.epochs)
            for m in METHODS:
                results[m].append((est[m], est[m] - true))
            print(kind, rate, seed, f"true={true:.3f}",
                  " ".join(f"{m}={est[m]:.3f}" for m in METHODS), flush=True)
        rows.append((kind, rate, realised, results))
    minutes = (time.perf_counter() - start) / 60
    lines = [
        f"Command: `python benchmarks/bench_noise_rate.py --n-train {args.n_train} "
        f"--epochs {args.epochs} --seeds {args.seeds} --noise {args.noise}`. Wall time {minutes:.1f} min on a "
        f"2-core {platform.machine()} CPU shared with other jobs, torch threads = 1.",
        "",
        "| noise | realised rate | raw CJ | raw mixture | O2U `'auto'` | "
        "CoTeaching `'auto'` |",
        "|---|---|---|---|---|---|",
    ]
    misses = []
    for kind, rate, realised, results in rows:
        std = statistics.pstdev(realised) if len(realised) > 1 else 0.0
        cells = " | ".join(cell(results[m]) for m in METHODS)
        lines.append(f"| {kind} {rate} | {statistics.mean(realised):.3f} ± {std:.3f} | "
                     f"{cells} |")
        for m in METHODS:
            worst = max(abs(e) for _, e in results[m])
            if worst > 0.05:
                misses.append(f"{m} at {kind} {rate} (worst seed off by {worst:.3f})")
    lines.append("")
    lines.append("Outside ±0.05 in some seed: " + ("; ".join(misses) if misses else "none")
                 + ".")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
