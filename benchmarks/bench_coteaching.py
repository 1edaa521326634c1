"""Benchmark: Co-teaching and Co-teaching+ against plain cross-entropy on noisy Fashion-MNIST.

For every noise setting and seed, the training labels of a stratified Fashion-MNIST subset
are corrupted, 10% of the (noisy) training set is held out as a noisy validation split, and
three methods are trained for the same number of epochs on the remaining 90%: CE (the
training core, ``NoisyNetClassifier``), Co-teaching and Co-teaching+ (``forget_rate`` set to
the noise rate, as in the paper). Test labels are clean. Per epoch the clean test accuracy
and the noisy validation accuracy are recorded, which gives CE "stopped at its best epoch on
the noisy validation split". Methods run alternately in one process; fit time excludes the
per-epoch evaluation. Results: a Markdown section written to ``--out``.

Example (the recorded configuration)::

    python benchmarks/bench_coteaching.py
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from sknoisy import NoisyNetClassifier
from sknoisy.classifiers import CoTeachingClassifier
from sknoisy.datasets import load_fashion_mnist
from sknoisy.noise import make_label_noise

from _common import EpochEval, parse_noise

METHODS = ("CE", "Co-teaching", "Co-teaching+")


def make_estimator(method: str, noise_rate: float, epochs: int, seed: int, callback):
    common = dict(max_epochs=epochs, random_state=seed, callbacks=[("eval", callback)])
    if method == "CE":
        return NoisyNetClassifier(**common)
    variant = "plus" if method == "Co-teaching+" else "standard"
    return CoTeachingClassifier(forget_rate=noise_rate, variant=variant, **common)


def run_one(part, noise_type, noise_rate, seed, args, data):
    X_train, y_train, X_test, y_test = data
    y_noisy, flipped = make_label_noise(y_train, noise_type, noise_rate, random_state=seed)
    X_tr, X_val, y_tr, y_val, flip_tr, _ = train_test_split(
        X_train, y_noisy, flipped, test_size=args.val_fraction, stratify=y_noisy,
        random_state=seed)
    epochs = args.epochs if part == "mlp" else args.cnn_epochs
    # Rotate the order per seed so no method always runs first (warm caches, load).
    order = [m for m in METHODS[seed % 3:] + METHODS[:seed % 3] if m in args.methods]
    rows = []
    for method in order:
        callback = EpochEval(X_test, y_test, X_val, y_val)
        est = make_estimator(method, noise_rate, epochs, seed, callback)
        start, cpu_start = time.perf_counter(), time.process_time()
        est.fit(X_tr, y_tr)
        wall = time.perf_counter() - start - callback.seconds
        cpu = time.process_time() - cpu_start - callback.cpu_seconds
        test_acc = list(est.history[:, "test_acc"])
        val_acc = list(est.history[:, "noisy_val_acc"])
        best = int(np.argmax(val_acc))
        rows.append(dict(part=part, noise=f"{noise_type} {noise_rate:.0%}", seed=seed,
                         method=method, realised=float(np.mean(flip_tr)), n_train=len(X_tr),
                         epochs=epochs, final_acc=test_acc[-1], best_val_epoch=best + 1,
                         acc_at_best_val=test_acc[best], wall_s=wall, cpu_s=cpu,
                         test_curve=test_acc))
        print(f"{part} {noise_type} {noise_rate:.2f} seed={seed} {method:13s} "
              f"acc={test_acc[-1]:.4f} best-val-epoch acc={test_acc[best]:.4f} "
              f"wall={wall:.1f}s cpu={cpu:.1f}s", flush=True)
    return rows


def run_auto(noise_type, noise_rate, seed, args, data):
    """How close forget_rate='auto' gets to the realised noise (one epoch per fit)."""
    X_train, y_train = data[:2]
    y_noisy, flipped = make_label_noise(y_train, noise_type, noise_rate, random_state=seed)
    est = CoTeachingClassifier(forget_rate="auto", max_epochs=1, random_state=seed)
    est.fit(X_train, y_noisy)
    print(f"auto {noise_type} {noise_rate:.2f} seed={seed} realised={np.mean(flipped):.3f} "
          f"estimated={est.forget_rate_:.3f}", flush=True)
    return dict(part="auto", noise=f"{noise_type} {noise_rate:.0%}", seed=seed,
                realised=float(np.mean(flipped)), estimated=est.forget_rate_,
                n_train=len(X_train))


def auto_markdown(rows) -> list[str]:
    lines = [f"### forget_rate='auto': estimate after epoch 1 (MLP, {rows[0]['n_train']} "
             "training samples, no hold-out)", "",
             "| noise | realised | estimated forget_rate_ (mean ± std over seeds) |",
             "|---|---|---|"]
    for noise in dict.fromkeys(r["noise"] for r in rows):
        sub = [r for r in rows if r["noise"] == noise]
        est = np.array([r["estimated"] for r in sub])
        lines.append(f"| {noise} | {np.mean([r['realised'] for r in sub]):.1%} | "
                     f"{est.mean():.3f} ± {est.std(ddof=1) if len(est) > 1 else 0.0:.3f} |")
    return lines + [""]


def mean_std(values) -> str:
    if not len(values):
        return "–"
    values = np.asarray(values, dtype=float) * 100
    return f"{values.mean():.2f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.2f}"


def ratio(rows, method, key) -> str:
    by_seed = {(r["seed"]): r[key] for r in rows if r["method"] == "CE"}
    ratios = [r[key] / by_seed[r["seed"]] for r in rows
              if r["method"] == method and r["seed"] in by_seed]
    return f"{np.mean(ratios):.2f}x" if ratios else "–"


def markdown(all_rows, args, command: str, wall_total: float) -> str:
    if all(r["part"] == "auto" for r in all_rows):
        return "\n".join([f"Command: `{command}` (wall time {wall_total / 60:.1f} min)", ""]
                         + auto_markdown(all_rows))
    lines = [
        "## CoTeachingClassifier (Co-teaching, Co-teaching+)", "",
        f"Command: `{command}`  ",
        "Date: 2026-11-25. Machine: 2-core CPU shared with other jobs, torch threads = 1, "
        f"device cpu. Total benchmark wall time: {wall_total / 60:.1f} min.", "",
        "Protocol: stratified Fashion-MNIST subset; training labels corrupted with "
        "`sknoisy.noise.make_label_noise` (symmetric excludes the true class); 10% of the "
        "noisy training subset held out as a noisy validation split; every method trains "
        "on the other 90% for the same number of epochs (Adam, lr 1e-3, batch 128, the "
        "default MLP (256, 256) or ConvNet (32, 64)); Co-teaching(+) use forget_rate = the "
        "noise rate, num_gradual = 10, exponent = 1, Co-teaching+ the default init_epoch = "
        "20, predict_with='first'. Accuracy on the clean test subset, mean ± std over "
        f"seeds {list(args.seeds)}, in %. \"CE best-val\" is CE's test accuracy at the epoch "
        "with the best noisy-validation accuracy. Fit time ratio = method / CE on the same "
        "data and seed in the same process (methods alternated; per-epoch evaluation "
        "excluded); wall clock is disturbed by other jobs on the machine, CPU time "
        "(process time, one thread) less so.", "",
    ]
    for part in ("mlp", "cnn"):
        rows = [r for r in all_rows if r["part"] == part]
        if not rows:
            continue
        n_train, epochs = rows[0]["n_train"], rows[0]["epochs"]
        n_test = args.n_test or 10000 if part == "mlp" else args.cnn_n_test
        title = "MLP, flat inputs" if part == "mlp" else "ConvNet, 28x28 images"
        lines += [f"### {title}: {n_train} training samples (+ noisy validation), "
                  f"{n_test} test, {epochs} epochs", "",
                  "| noise | realised | CE (final) | CE best-val | Co-teaching | "
                  "Co-teaching+ | time CT/CE wall (cpu) | time CT+/CE wall (cpu) |",
                  "|---|---|---|---|---|---|---|---|"]
        for noise in dict.fromkeys(r["noise"] for r in rows):
            sub = [r for r in rows if r["noise"] == noise]
            acc = {m: [r["final_acc"] for r in sub if r["method"] == m] for m in METHODS}
            ce_best = [r["acc_at_best_val"] for r in sub if r["method"] == "CE"]
            realised = np.mean([r["realised"] for r in sub])
            lines.append(
                f"| {noise} | {realised:.1%} | {mean_std(acc['CE'])} | {mean_std(ce_best)} | "
                f"{mean_std(acc['Co-teaching'])} | {mean_std(acc['Co-teaching+'])} | "
                f"{ratio(sub, 'Co-teaching', 'wall_s')} ({ratio(sub, 'Co-teaching', 'cpu_s')})"
                f" | {ratio(sub, 'Co-teaching+', 'wall_s')} "
                f"({ratio(sub, 'Co-teaching+', 'cpu_s')}) |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=10000,
                        help="Fashion-MNIST training subset for the MLP (before the 10%% "
                             "validation hold-out).")
    parser.add_argument("--n-test", type=int, default=None, help="test subset (None: all 10k)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--noise", default="symmetric:0.2,symmetric:0.4,symmetric:0.8,"
                                           "pairflip:0.45")
    parser.add_argument("--cnn-n-train", type=int, default=1000)
    parser.add_argument("--cnn-n-test", type=int, default=1000)
    parser.add_argument("--cnn-epochs", type=int, default=8)
    parser.add_argument("--cnn-noise", default="symmetric:0.4")
    parser.add_argument("--parts", nargs="+", default=["mlp", "cnn"],
                        choices=["mlp", "cnn", "auto"],
                        help="'auto' only measures the forget_rate='auto' estimates")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--out", default="benchmarks/results/coteaching.md")
    parser.add_argument("--json", default=None, help="also write every run as JSON here")
    parser.add_argument("--append", action="store_true", help="append to --out")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    command = "python benchmarks/bench_coteaching.py" + (
        " " + " ".join(argv) if argv else "")
    start = time.perf_counter()
    # One throw-away fit so that torch's first-call set-up is not timed for any method.
    NoisyNetClassifier(max_epochs=1, module__hidden_sizes=(8,), random_state=0).fit(
        np.random.RandomState(0).rand(64, 4).astype(np.float32), np.arange(64) % 2)
    all_rows = []
    for part in args.parts:
        mlp = part != "cnn"
        data = load_fashion_mnist(
            return_X_y=True, as_images=not mlp,
            n_train=args.n_train if mlp else args.cnn_n_train,
            n_test=args.n_test if mlp else args.cnn_n_test, random_state=0)
        for noise_type, noise_rate in parse_noise(args.noise if mlp else args.cnn_noise):
            for seed in args.seeds:
                if part == "auto":
                    all_rows.append(run_auto(noise_type, noise_rate, seed, args, data))
                else:
                    all_rows += run_one(part, noise_type, noise_rate, seed, args, data)
    text = markdown(all_rows, args, command, time.perf_counter() - start)
    with open(args.out, "a" if args.append else "w") as fh:
        fh.write(text + "\n")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(all_rows, fh)
    print(text)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
