"""Peak memory of the noise detectors against the number of samples (issue 5 section 6).

Each (detector, n_samples) pair runs in a fresh Python subprocess: it builds a synthetic
float32 data set (``--n-features`` Gaussian features, ``--n-classes`` classes, 20%
symmetric label noise), records the resident set size (VmRSS) before and after making the
data, clears the kernel's peak counter (``/proc/self/clear_refs``), fits the detector and
reads the peak (VmHWM). The detector's own memory is ``peak - RSS with the data loaded``,
so the data's own size and the interpreter/torch baseline are left out. A plain
``NoisyNetClassifier`` with the same network and epoch count is measured the same way as
a reference. The per-sample slope is a least-squares line through the sizes.

Example (the recorded configuration)::

    python benchmarks/bench_detector_memory.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

ESTIMATORS = ("NoisyNetClassifier (reference)", "O2UNoiseDetector", "BMMLabelCleaner")


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def child(args) -> None:
    """Measure one estimator on one size; print a JSON line."""
    import torch

    from sknoisy import NoisyNetClassifier
    from sknoisy.detectors import BMMLabelCleaner, O2UNoiseDetector
    from sknoisy.noise import make_label_noise

    torch.set_num_threads(1)
    rss_empty = _status_kib("VmRSS")
    rng = np.random.default_rng(0)
    y = rng.integers(0, args.n_classes, size=args.n).astype(np.int64)
    centres = rng.standard_normal((args.n_classes, args.n_features)).astype(np.float32)
    X = rng.standard_normal((args.n, args.n_features), dtype=np.float32)
    X += centres[y]
    y_noisy, _ = make_label_noise(y, "symmetric", 0.2, random_state=0)
    del y
    net = {"module__hidden_sizes": tuple(args.hidden)}
    epochs = args.epochs
    if args.estimator == "O2UNoiseDetector":
        est = O2UNoiseDetector(warmup_epochs=epochs, n_cycles=1, cycle_length=epochs,
                               batch_size=args.batch_size, net_params=net, random_state=0)
    elif args.estimator == "BMMLabelCleaner":
        est = BMMLabelCleaner(warmup_epochs=epochs, batch_size=args.batch_size,
                              net_params=net, random_state=0)
    else:
        # The same number of passes over the data as the O2U detector's two stages.
        est = NoisyNetClassifier(max_epochs=2 * epochs, batch_size=args.batch_size,
                                 random_state=0, **net)
    rss_data = _status_kib("VmRSS")
    # Writing 5 resets VmHWM to the current RSS, so the peak below is the fit's alone.
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    start = time.process_time()
    est.fit(X, y_noisy)
    cpu = time.process_time() - start
    peak = _status_kib("VmHWM")
    print(json.dumps({"estimator": args.estimator, "n": args.n, "rss_empty_kib": rss_empty,
                      "rss_data_kib": rss_data, "peak_kib": peak,
                      "data_bytes": int(X.nbytes + y_noisy.nbytes), "cpu_s": cpu}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, nargs="+", default=[100_000, 300_000, 1_000_000],
                        help="numbers of samples")
    parser.add_argument("--epochs", type=int, default=1,
                        help="epochs per stage (O2U: warm-up, and one cycle of this length; "
                             "BMM: warm-up)")
    parser.add_argument("--n-features", type=int, default=20)
    parser.add_argument("--n-classes", type=int, default=5)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64])
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--out", default=None, help="write the Markdown section here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--estimator", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return
    common = ["--epochs", str(args.epochs), "--n-features", str(args.n_features),
              "--n-classes", str(args.n_classes), "--batch-size", str(args.batch_size),
              "--hidden", *map(str, args.hidden)]
    results = []
    for n in args.n_train:
        for name in ESTIMATORS:
            out = subprocess.run([sys.executable, __file__, "--child", "--n", str(n),
                                  "--estimator", name, *common],
                                 capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(row)
            print(row, flush=True)
    text = markdown(results, args, argv)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    print(text)


def markdown(results, args, argv) -> str:
    command = "python benchmarks/bench_detector_memory.py" + (
        " " + " ".join(argv) if argv else "")
    mib = 1024.0
    lines = [
        "### Peak memory against the number of samples", "",
        f"Command: `{command}`. Synthetic data: {args.n_features} float32 Gaussian features, "
        f"{args.n_classes} classes, 20% symmetric label noise; MLP hidden layers "
        f"{tuple(args.hidden)}, batch {args.batch_size}, {args.epochs} epoch(s) per stage "
        f"(O2U: {args.epochs} warm-up + one cycle of {args.epochs}; BMM: {args.epochs} "
        f"warm-up; the reference net: {2 * args.epochs} epochs). Each cell is one fresh "
        "subprocess; 'fit' = peak RSS during fit (VmHWM after resetting it) minus the RSS "
        "with the data already loaded, i.e. what fitting added on top of the data; 'data' "
        "= X and y themselves. Date 2026-11-25, same 2-core machine, torch threads = 1.", "",
        "| n_samples | data MiB | " + " | ".join(f"{e} fit MiB" for e in ESTIMATORS) + " |",
        "|---|---|" + "---|" * len(ESTIMATORS),
    ]
    sizes = sorted({r["n"] for r in results})
    table = {(r["estimator"], r["n"]): r for r in results}
    for n in sizes:
        data = table[(ESTIMATORS[0], n)]["data_bytes"] / 2**20
        cells = [f"{(table[(e, n)]['peak_kib'] - table[(e, n)]['rss_data_kib']) / mib:.1f}"
                 for e in ESTIMATORS]
        lines.append(f"| {n:,} | {data:.1f} | " + " | ".join(cells) + " |")
    lines.append("")
    if len(sizes) >= 2:
        for e in ESTIMATORS:
            extra = [(table[(e, n)]["peak_kib"] - table[(e, n)]["rss_data_kib"]) * 1024.0
                     for n in sizes]
            slope, intercept = np.polyfit(sizes, extra, 1)
            lines.append(f"- {e}: {slope:.0f} bytes per sample on top of the data "
                         f"(intercept {intercept / 2**20:.1f} MiB).")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
