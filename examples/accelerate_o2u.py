"""Data-parallel O2U-Net and Co-teaching with Hugging Face Accelerate.

Fits an :class:`~sknoisy.detectors.O2UNoiseDetector` and a
:class:`~sknoisy.classifiers.CoTeachingClassifier` on scikit-learn's digits with 30%
symmetric label noise, with an ``accelerate.Accelerator``. Every process runs this
script on the same data; the estimators train data-parallel and end with the same
scores and weights on every process. Process 0 prints the results and, with
``--out``, writes them to a ``.npz`` file.

Run it::

    # two CPU processes on one machine (gloo)
    torchrun --nproc_per_node 2 examples/accelerate_o2u.py --out parallel.npz
    # one process: the same code, no launcher
    python examples/accelerate_o2u.py --out single.npz
    # every GPU of the machine
    accelerate launch --multi_gpu examples/accelerate_o2u.py

``OMP_NUM_THREADS=1`` keeps two processes on a two-core machine from competing for
the cores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from accelerate import Accelerator
from scipy.stats import spearmanr
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknoisy import NoisyNetClassifier
from sknoisy.classifiers import CoTeachingClassifier
from sknoisy.detectors import O2UNoiseDetector
from sknoisy.noise import make_label_noise


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=None,
                        help="use the first N digits (default: all 1797)")
    parser.add_argument("--noise-rate", type=float, default=0.3)
    parser.add_argument("--o2u-warmup-epochs", type=int, default=10)
    parser.add_argument("--coteaching-epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128,
                        help="rows per step, all processes together")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the results here (.npz)")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    # On a machine without GPUs accelerate only sets up CPU processes when asked to.
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    X, y = load_digits(return_X_y=True)
    if args.n_samples is not None:
        X, y = X[:args.n_samples], y[:args.n_samples]
    X = (X / 16.0).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed)
    y_noisy, flipped = make_label_noise(y_train, "symmetric", args.noise_rate,
                                        random_state=args.seed)

    start = time.perf_counter()
    detector = O2UNoiseDetector(
        estimator=NoisyNetClassifier(optimizer=torch.optim.SGD, lr=0.01,
                                     optimizer__momentum=0.9,
                                     batch_size=args.batch_size),
        noise_rate=args.noise_rate, warmup_epochs=args.o2u_warmup_epochs,
        random_state=args.seed, accelerator=accelerator,
    ).fit(X_train, y_noisy)
    o2u_seconds = time.perf_counter() - start

    start = time.perf_counter()
    coteaching = CoTeachingClassifier(
        forget_rate="auto", max_epochs=args.coteaching_epochs, lr=3e-3,
        batch_size=args.batch_size, random_state=args.seed, accelerator=accelerator,
        device=accelerator.device,
    ).fit(X_train, y_noisy)
    coteaching_seconds = time.perf_counter() - start
    # Prediction needs no communication: every process can score; process 0 reports.
    accuracy = coteaching.score(X_test, y_test)

    results = {
        "n_processes": accelerator.num_processes,
        "noise_scores": detector.noise_scores_,
        "flipped": flipped,
        "o2u_precision": float(flipped[detector.is_noisy_].mean()),
        "o2u_seconds": o2u_seconds,
        "coteaching_accuracy": accuracy,
        "coteaching_forget_rate": coteaching.forget_rate_,
        "coteaching_epochs": len(coteaching.history_),
        "coteaching_seconds": coteaching_seconds,
    }
    if accelerator.is_main_process:
        print(f"processes: {accelerator.num_processes} ({accelerator.distributed_type})")
        print(f"O2U: precision of the flagged rows {results['o2u_precision']:.3f} "
              f"({o2u_seconds:.1f} s)")
        rho = spearmanr(detector.noise_scores_, flipped).statistic
        print(f"O2U: Spearman of the scores with the flips {rho:.3f}")
        print(f"Co-teaching: test accuracy {accuracy:.4f}, forget rate "
              f"{coteaching.forget_rate_:.3f}, {len(coteaching.history_)} epochs "
              f"({coteaching_seconds:.1f} s)")
        if args.out:
            np.savez(args.out, **results)
    accelerator.wait_for_everyone()
    # End the process group before the interpreter exits: gloo can abort
    # ("terminate called without an active exception") when it is torn down at exit.
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return results


if __name__ == "__main__":
    main()
