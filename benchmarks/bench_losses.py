"""Benchmark: robust losses and PeerLossClassifier against cross entropy on noisy Fashion-MNIST.

For every noise setting and seed, the training labels of a stratified Fashion-MNIST subset
are corrupted, 10% of the noisy training set is held out as a noisy validation split, and
every method trains for the same number of epochs on the other 90%: cross entropy (the
training core), each criterion of ``sknoisy.losses`` passed as ``criterion=`` and
``PeerLossClassifier``. Test labels are clean. For CE the clean test and noisy validation
accuracy are recorded every epoch, which gives "CE stopped at its best epoch on the noisy
validation split" and CE's peak test accuracy (to check that CE memorises the noise). The
methods run alternately in one process (the order rotates per seed); fit times exclude the
per-epoch evaluation and are reported as ratios to CE's fit time in the same setting and seed.

Example (the recorded configuration)::

    python benchmarks/bench_losses.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from skorch.callbacks import LRScheduler
from sklearn.model_selection import train_test_split
from torch.optim.lr_scheduler import LambdaLR

from sknoisy import NoisyNetClassifier
from sknoisy.classifiers import PeerLossClassifier
from sknoisy.datasets import load_fashion_mnist
from sknoisy.losses import (BootstrappingLoss, DisturbLabelLoss, DMILoss, GCELoss,
                            LabelSmoothingLoss, MAELoss, SCELoss)
from sknoisy.noise import make_label_noise

from _common import EpochEval

WARMUP = 5  # cross-entropy epochs before the losses that need a trained start

# name -> (estimator parameters, description for the results table)
METHODS = {
    "CE": ({}, "cross entropy (`NoisyNetClassifier` defaults)"),
    "GCE": (dict(criterion=GCELoss, criterion__q=0.7), "q=0.7"),
    "GCE truncated": (dict(criterion=GCELoss, criterion__q=0.7, criterion__k=0.5,
                           warmup_epochs=WARMUP), f"q=0.7, k=0.5, {WARMUP} CE warm-up epochs"),
    "SCE": (dict(criterion=SCELoss, criterion__alpha=0.1, criterion__beta=1.0),
            "alpha=0.1, beta=1, A=log 1e-4"),
    "MAE": (dict(criterion=MAELoss), "1 - p_y"),
    "Bootstrap soft": (dict(criterion=BootstrappingLoss, criterion__mode="soft"),
                       "beta=0.95, not detached"),
    "Bootstrap hard": (dict(criterion=BootstrappingLoss, criterion__mode="hard"), "beta=0.8"),
    "DMI": (dict(criterion=DMILoss, warmup_epochs=WARMUP),
            f"{WARMUP} CE warm-up epochs, then lr x0.1"),
    "Label smoothing": (dict(criterion=LabelSmoothingLoss, criterion__epsilon=0.1),
                        "epsilon=0.1 over all classes"),
    "DisturbLabel": (dict(criterion=DisturbLabelLoss, criterion__alpha=0.1), "alpha=0.1"),
    "Peer": (None, f"`PeerLossClassifier` defaults: alpha=1, {WARMUP} warm-up epochs"),
}


def _dmi_lr_factor(epoch: int) -> float:
    # LambdaLR counts epochs from 0. The DMI paper fine-tunes a CE-trained model with a much
    # smaller learning rate; at the warm-up's rate DMI undoes the warm-up on 10 classes.
    return 1.0 if epoch < WARMUP else 0.1


def make_estimator(method: str, epochs: int, seed: int, callbacks):
    common = dict(max_epochs=epochs, random_state=seed, callbacks=callbacks)
    params = METHODS[method][0]
    if params is None:
        return PeerLossClassifier(**common)
    if method == "DMI":
        common["callbacks"] = list(callbacks) + [
            ("lr_drop", LRScheduler(LambdaLR, lr_lambda=_dmi_lr_factor))]
    return NoisyNetClassifier(**params, **common)


def run_setting(noise_type, noise_rate, seed, methods, args, data):
    X_train, y_train, X_test, y_test = data
    y_noisy, flipped = make_label_noise(y_train, noise_type, noise_rate, random_state=seed)
    X_tr, X_val, y_tr, y_val, flip_tr, _ = train_test_split(
        X_train, y_noisy, flipped, test_size=args.val_fraction, stratify=y_noisy,
        random_state=seed)
    shift = seed % len(methods)
    order = methods[shift:] + methods[:shift]  # no method always runs first
    rows = []
    for method in order:
        callback = EpochEval(X_test, y_test, X_val, y_val) if method == "CE" else None
        est = make_estimator(method, args.epochs, seed, [("eval", callback)] if callback else [])
        start, cpu_start = time.perf_counter(), time.process_time()
        est.fit(X_tr, y_tr)
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        row = dict(noise=f"{noise_type} {noise_rate:.0%}", seed=seed, method=method,
                   realised=float(np.mean(flip_tr)), n_train=len(X_tr), n_val=len(X_val),
                   n_test=len(X_test), epochs=args.epochs)
        if callback is not None:
            wall -= callback.seconds
            cpu -= callback.cpu_seconds
            test_curve = list(est.history[:, "test_acc"])
            val_curve = list(est.history[:, "noisy_val_acc"])
            best = int(np.argmax(val_curve))
            row.update(final_acc=test_curve[-1], best_val_epoch=best + 1,
                       acc_at_best_val=test_curve[best], peak_acc=max(test_curve),
                       peak_epoch=int(np.argmax(test_curve)) + 1, test_curve=test_curve)
        else:
            row["final_acc"] = float(np.mean(est.predict(X_test) == y_test))
        row.update(wall_s=wall, cpu_s=cpu)
        rows.append(row)
        print(f"{noise_type} {noise_rate:.2f} seed={seed} {method:15s} "
              f"acc={row['final_acc']:.4f} wall={wall:.1f}s cpu={cpu:.1f}s", flush=True)
    return rows


def _pct(values) -> str:
    values = np.asarray(values, dtype=float) * 100
    spread = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.1f} ± {spread:.1f}"


def _ratios(rows, method, key) -> np.ndarray:
    ce = {(r["noise"], r["seed"]): r[key] for r in rows if r["method"] == "CE"}
    return np.array([r[key] / ce[(r["noise"], r["seed"])] for r in rows
                     if r["method"] == method and (r["noise"], r["seed"]) in ce])


def markdown(rows, args, command: str, wall_total: float) -> str:
    noises = list(dict.fromkeys(r["noise"] for r in rows))
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    seeds = sorted({r["seed"] for r in rows})
    first = rows[0]
    lines = [
        "## Robust losses and PeerLossClassifier (issue 3)", "",
        f"Command: `{command}`  ",
        "Date: 2026-11-25. Machine: 2-core CPU shared with other jobs (1-minute load average "
        f"{args.load[0]:.1f} at the start, {args.load[1]:.1f} at the end), torch threads = 1, "
        f"device cpu. Total benchmark wall time: {wall_total / 60:.1f} min.", "",
        f"Data: a stratified subset of {first['n_train'] + first['n_val']} Fashion-MNIST "
        f"training images (subset seed 0; flat, 784 features) and {first['n_test']} clean "
        "test images. Training labels corrupted with `sknoisy.noise.make_label_noise` "
        "(symmetric: the true class excluded; pairflip: class i -> i+1 mod 10), then "
        f"{args.val_fraction:.0%} held out as a noisy validation split; every method trains "
        f"on the other {first['n_train']} samples for {first['epochs']} epochs (MLP "
        "784-256-256-10, Adam, lr 1e-3, batch 128). Seeds "
        f"{', '.join(map(str, seeds))} (noise draw, split, initialisation, shuffling).", "",
        "Realised noise on the training part: " + "; ".join(
            f"{n}: {np.mean([r['realised'] for r in rows if r['noise'] == n]):.1%}"
            for n in noises) + ".", "",
        "Clean test accuracy (%), mean ± std over seeds, at the end of training. Time ratio: "
        "fit time divided by CE's in the same setting and seed (median over all runs, robust to "
        "load spikes from other jobs; CPU time of the single-threaded process, and wall-clock "
        "time).", "",
        "| method | settings | " + " | ".join(noises) + " | CPU time / CE | wall time / CE |",
        "|---|---|" + "---|" * len(noises) + "---|---|",
    ]
    for method in methods:
        cells = [_pct([r["final_acc"] for r in rows if r["method"] == method and
                       r["noise"] == n]) for n in noises]
        cpu, wall = _ratios(rows, method, "cpu_s"), _ratios(rows, method, "wall_s")
        lines.append(f"| {method} | {METHODS[method][1]} | " + " | ".join(cells)
                     + f" | {np.median(cpu):.2f}x | {np.median(wall):.2f}x |")
    ce = [r for r in rows if r["method"] == "CE"]
    if ce:
        lines.append("| CE, best epoch on noisy val | epoch chosen by noisy-validation "
                     "accuracy | " + " | ".join(
                         _pct([r["acc_at_best_val"] for r in ce if r["noise"] == n])
                         for n in noises) + " | | |")
        lines.append("| CE, peak test epoch (oracle) | not a usable method; shows "
                     "memorisation | " + " | ".join(
                         _pct([r["peak_acc"] for r in ce if r["noise"] == n])
                         for n in noises) + " | | |")
        lines += ["", "CE's epochs: " + "; ".join(
            f"{n}: best noisy-val epoch "
            f"{', '.join(str(r['best_val_epoch']) for r in ce if r['noise'] == n)}, "
            f"peak test epoch {', '.join(str(r['peak_epoch']) for r in ce if r['noise'] == n)}"
            f" (per seed)" for n in noises) + "."]
    lines += ["", "Targets (computed from the table):", ""]
    lines += _targets(rows, noises, methods)
    return "\n".join(lines) + "\n"


def _targets(rows, noises, methods) -> list[str]:
    out = []
    if "Peer" in methods and "CE" in methods:
        cpu, wall = _ratios(rows, "Peer", "cpu_s"), _ratios(rows, "Peer", "wall_s")
        verdict = "met" if np.median(cpu) <= 1.15 else "NOT met"
        out.append(f"- Peer loss fit time at most 1.15x CE's: {verdict} on CPU time "
                   f"(median {np.median(cpu):.2f}x, mean {cpu.mean():.2f}x, per run "
                   f"{cpu.min():.2f}x to {cpu.max():.2f}x); wall time median "
                   f"{np.median(wall):.2f}x.")
    sym40 = next((n for n in noises if n == "symmetric 40%"), None)
    if sym40 and "CE" in methods:
        base = np.mean([r["final_acc"] for r in rows if r["method"] == "CE"
                        and r["noise"] == sym40])
        below = []
        for method in methods:
            if method == "CE":
                continue
            acc = np.mean([r["final_acc"] for r in rows if r["method"] == method
                           and r["noise"] == sym40])
            if acc < base:
                below.append(f"{method} ({acc * 100:.1f}%)")
        out.append(f"- Every loss at least CE's accuracy at symmetric 40% "
                   f"({base * 100:.1f}%): " + ("met." if not below else
                                               "NOT met by " + ", ".join(below) + "."))
        ce = [r for r in rows if r["method"] == "CE"]
        final = np.mean([r["final_acc"] for r in ce if r["noise"] == sym40])
        peak = np.mean([r["peak_acc"] for r in ce if r["noise"] == sym40])
        out.append(f"- CE memorises the noise at symmetric 40%: final {final * 100:.1f}% vs "
                   f"peak {peak * 100:.1f}% " + ("(below its peak: yes)." if final < peak
                                                 else "(NOT below its peak)."))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=5000,
                        help="stratified Fashion-MNIST training subset (before the split)")
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--noise", nargs="+",
                        default=["symmetric:0.4", "symmetric:0.8", "pairflip:0.45"],
                        help="noise settings as type:rate")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--out", default="benchmarks/results/losses.md")
    parser.add_argument("--json", default=None, help="also write the raw rows here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    methods = ["CE"] + [m for m in args.methods if m != "CE"]  # ratios need CE
    bunch = load_fashion_mnist(n_train=args.n_train, n_test=args.n_test, random_state=0)
    data = (bunch.X_train, bunch.y_train, bunch.X_test, bunch.y_test)
    # One untimed fit of every method first: lazy imports and first-call allocations would
    # otherwise be charged to whichever method happens to run first.
    for method in methods:
        make_estimator(method, 1, 0, []).fit(bunch.X_train[:256], bunch.y_train[:256])
    start = time.perf_counter()
    load_start = os.getloadavg()[0]
    rows = []
    for seed in args.seeds:
        for setting in args.noise:
            noise_type, rate = setting.split(":")
            rows += run_setting(noise_type, float(rate), seed, methods, args, data)
            if args.json:
                with open(args.json, "w") as fh:
                    json.dump(rows, fh)
    wall_total = time.perf_counter() - start
    args.load = (load_start, os.getloadavg()[0])
    given = sys.argv[1:] if argv is None else list(argv)
    command = " ".join(["python benchmarks/bench_losses.py", *given])
    text = markdown(rows, args, command, wall_total)
    with open(args.out, "w") as fh:
        fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
