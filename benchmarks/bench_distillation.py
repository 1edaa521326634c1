"""Benchmark of DistilledStudentClassifier on Fashion-MNIST with synthetic label noise.

For each noise setting and seed, trains (all with the same MLP and epoch budget):

- ``CE``: plain cross entropy (NoisyNetClassifier); it is also the noisy-trained teacher
  of ``KD (CE teacher)``;
- ``CE best epoch``: CE on 90% of the rows, reporting test accuracy at the epoch with the
  best accuracy on the other (noisy) 10%;
- ``KD (CE teacher)``: student of the fitted CE net (teacher used as is);
- ``KD (cross-fitted, k=3)``: teacher = an unfitted copy of the CE net, ``teacher_cv=3``;
- ``Tf-KD self``, ``Tf-KD reg``: ``teacher='self', teacher_cv=None`` and ``teacher='reg'``;
- ``2 generations``: ``teacher='self', teacher_cv=None, n_generations=2`` with
  ``student_noise=0.1`` and
  ``module__dropout=0.3``.

Reports clean-test accuracy mean and standard deviation over seeds and fit time as a
ratio to CE's, measured in the same process with the method order rotated per seed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit

from sknoisy import NoisyNetClassifier
from sknoisy.classifiers import DistilledStudentClassifier
from sknoisy.datasets import load_fashion_mnist
from sknoisy.noise import make_label_noise

SETTINGS = [("symmetric", 0.4), ("symmetric", 0.8), ("pairflip", 0.45)]


class TestAccuracy(Callback):
    """Record clean-test accuracy after every epoch (to read it at the best noisy epoch)."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def on_epoch_end(self, net, **kwargs):
        net.history.record("test_acc", float(np.mean(net.predict(self.X) == self.y)))


def run_methods(net_params, X, y_noisy, X_test, y_test, seed, order):
    """Fit every method once; return {name: (accuracy, seconds, extra)}."""
    results = {}
    ce_holder = {}

    def ce():
        clf = NoisyNetClassifier(**net_params, random_state=seed).fit(X, y_noisy)
        ce_holder["net"] = clf
        return clf, {}

    def ce_best():
        clf = NoisyNetClassifier(
            **net_params, random_state=seed,
            train_split=ValidSplit(0.1, stratified=True, random_state=seed),
            callbacks=[("test_acc", TestAccuracy(X_test, y_test))]).fit(X, y_noisy)
        best = int(np.argmax(clf.history[:, "valid_acc"]))
        return None, {"acc": clf.history[best, "test_acc"], "best_epoch": best + 1}

    def student(**params):
        def fit():
            clf = DistilledStudentClassifier(**net_params, random_state=seed, **params)
            return clf.fit(X, y_noisy), {}
        return fit

    def kd_ce_teacher():
        clf = DistilledStudentClassifier(**net_params, random_state=seed,
                                         teacher=ce_holder["net"]).fit(X, y_noisy)
        return clf, {"teacher_acc": float(np.mean(clf.teacher_.predict(X_test) == y_test))}

    def cross_fitted():
        clf = DistilledStudentClassifier(**net_params, random_state=seed,
                                         teacher=NoisyNetClassifier(**net_params),
                                         teacher_cv=3).fit(X, y_noisy)
        return clf, {"teacher_acc": float(np.mean(clf.teacher_.predict(X_test) == y_test))}

    methods = {
        "CE": ce,
        "CE best epoch": ce_best,
        "KD (CE teacher)": kd_ce_teacher,
        "KD (cross-fitted, k=3)": cross_fitted,
        # In-sample teachers, as in the Tf-KD and noisy-student papers.
        "Tf-KD self": student(teacher="self", teacher_cv=None),
        "Tf-KD reg": student(teacher="reg"),
        "2 generations": student(teacher="self", teacher_cv=None, n_generations=2,
                                 student_noise=0.1,
                                 module__dropout=0.3),
    }
    # KD (CE teacher) needs the CE net, so CE always runs before it.
    names = [order_name for order_name in order if order_name in methods]
    for name in names:
        start = time.perf_counter()
        clf, extra = methods[name]()
        seconds = time.perf_counter() - start
        acc = extra.pop("acc", None)
        if acc is None:
            acc = float(np.mean(clf.predict(X_test) == y_test))
        results[name] = {"acc": float(acc), "seconds": seconds, **extra}
        print(f"  {name:24s} acc={acc:.4f} time={seconds:.1f}s {extra}", flush=True)
    return results


def method_order(seed_index):
    base = ["CE", "CE best epoch", "KD (CE teacher)", "KD (cross-fitted, k=3)",
            "Tf-KD self", "Tf-KD reg", "2 generations"]
    # Rotate the methods after CE so that no method always runs first or last.
    rest = [name for name in base if name != "CE"]
    shift = seed_index % len(rest)
    return ["CE"] + rest[shift:] + rest[:shift]


def to_markdown(args, all_results, realised, wall):
    lines = [
        "## DistilledStudentClassifier (issue 6)",
        "",
        f"Command: `python benchmarks/bench_distillation.py --n-train {args.n_train} "
        f"--epochs {args.epochs} --seeds {' '.join(map(str, args.seeds))} "
        f"--hidden {' '.join(map(str, args.hidden))}`",
        "",
        f"- Data: Fashion-MNIST, stratified training subset of {args.n_train} rows "
        "(`load_fashion_mnist(n_train=..., random_state=0)`), full 10,000-image clean test "
        "set; flat 784 features in [0, 1].",
        "- Noise: `make_label_noise` on the training labels only; symmetric excludes the "
        "true class; pairflip i -> i+1. Realised flip rate (mean over seeds): "
        + ", ".join(f"{k} {v:.3f}" for k, v in realised.items()) + ".",
        f"- Model: MLP {tuple(args.hidden)}, Adam lr 1e-3, batch 128, {args.epochs} epochs "
        "for every net (teachers, students and CE alike). Distillation: alpha=0.5, T=4 (defaults).",
        f"- Seeds: {args.seeds}. Date: 2026-11-25. Machine: 2-core CPU shared with other "
        f"jobs, torch threads=1. Total wall time {wall / 60:.1f} min.",
        "- Time ratio: fit time / CE's fit time in the same run (order rotated per seed); "
        "it includes fitting the teacher(s), except for `KD (CE teacher)` whose teacher "
        "is the already fitted CE net (add 1.0 for the full cost).",
        "",
        "| method | " + " | ".join(f"{t} {r:.0%}" for t, r in SETTINGS) + " | time ratio |",
        "|---|" + "---|" * (len(SETTINGS) + 1),
    ]
    names = ["CE", "CE best epoch", "KD (CE teacher)", "KD (cross-fitted, k=3)",
             "Tf-KD self", "Tf-KD reg", "2 generations"]
    for name in names:
        cells, ratios = [], []
        for setting in SETTINGS:
            runs = all_results[setting]
            accs = [r[name]["acc"] for r in runs]
            ratios += [r[name]["seconds"] / r["CE"]["seconds"] for r in runs]
            cells.append(f"{100 * np.mean(accs):.2f} ± {100 * np.std(accs):.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {np.mean(ratios):.2f} |")
    lines += ["", "Teacher vs student (clean-test accuracy %, mean ± std over seeds):", "",
              "| setting | CE teacher | its KD student | cross-fitted teacher (fold avg) "
              "| its student |", "|---|---|---|---|---|"]
    for setting in SETTINGS:
        runs = all_results[setting]

        def stat(values):
            return f"{100 * np.mean(values):.2f} ± {100 * np.std(values):.2f}"
        lines.append(
            f"| {setting[0]} {setting[1]:.0%} "
            f"| {stat([r['KD (CE teacher)']['teacher_acc'] for r in runs])} "
            f"| {stat([r['KD (CE teacher)']['acc'] for r in runs])} "
            f"| {stat([r['KD (cross-fitted, k=3)']['teacher_acc'] for r in runs])} "
            f"| {stat([r['KD (cross-fitted, k=3)']['acc'] for r in runs])} |")
    best_epochs = {f"{t} {r:.0%}": [x["CE best epoch"]["best_epoch"] for x in all_results[(t, r)]]
                   for t, r in SETTINGS}
    lines += ["", f"CE best epochs chosen on the noisy validation split: {best_epochs}.", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--hidden", type=int, nargs="+", default=[128],
                        help="hidden layer sizes of the MLP")
    parser.add_argument("--out", default="benchmarks/results/distillation.md")
    args = parser.parse_args()
    torch.set_num_threads(1)

    X, y_clean, X_test, y_test = load_fashion_mnist(return_X_y=True, n_train=args.n_train,
                                                    random_state=0)
    net_params = dict(max_epochs=args.epochs, module__hidden_sizes=tuple(args.hidden))
    started = time.perf_counter()
    all_results, realised = {}, {}
    for noise_type, rate in SETTINGS:
        runs, flips = [], []
        for i, seed in enumerate(args.seeds):
            y_noisy, flipped = make_label_noise(y_clean, noise_type, rate, random_state=seed)
            flips.append(float(np.mean(flipped)))
            print(f"{noise_type} {rate} seed {seed}: realised {flips[-1]:.3f}", flush=True)
            runs.append(run_methods(net_params, X, y_noisy, X_test, y_test, seed,
                                    method_order(i)))
        all_results[(noise_type, rate)] = runs
        realised[f"{noise_type} {rate:.0%}"] = float(np.mean(flips))
    wall = time.perf_counter() - started
    text = to_markdown(args, all_results, realised, wall)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    raw = {f"{t} {r}": runs for (t, r), runs in all_results.items()}
    print(json.dumps(raw))
    print(text)


if __name__ == "__main__":
    main()
