"""The default image network against the former one and the MLP on flattened pixels.

Clean Fashion-MNIST labels, no early stopping, torch threads = 1, CPU time of each fit
(``time.process_time``). Two parts:

- ``small``: the first 3,000 training images, 5 epochs, seeds 0, 1, 2 (issue 13's target:
  at least 0.82 test accuracy in no more CPU time than the former ConvNet);
- ``full``: all 60,000 training images, ``--epochs`` epochs (default 10), one seed.

Run: ``python benchmarks/image_network.py --part small`` (about 2 minutes on one core)
and ``python benchmarks/image_network.py --part full`` (about 25 minutes; ``--networks
0,2`` skips the former ConvNet, about 7 minutes).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from sknoisy import NoisyNetClassifier
from sknoisy.datasets import load_fashion_mnist
from sknoisy.modules import ConvNet

CANDIDATES = {
    "ConvNet (default)": dict(module=ConvNet),
    "former ConvNet (32, 64 channels, global pooling)": dict(
        module=ConvNet, module__channels=(32, 64), module__pooled_size=1, module__hidden=0),
    "MLP 784-256-256 on flat pixels": dict(flat=True),
}


def _fit(params: dict, X, y, X_test, y_test, epochs: int, seed: int):
    params = dict(params)
    if params.pop("flat", False):
        X, X_test = X.reshape(len(X), -1), X_test.reshape(len(X_test), -1)
    start = time.process_time()
    clf = NoisyNetClassifier(max_epochs=epochs, early_stopping=False, random_state=seed,
                             **params).fit(X, y)
    seconds = time.process_time() - start
    return clf.score(X_test, y_test), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("small", "full"), default="small")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--networks", default=None,
                        help="comma-separated positions (0-based) of the networks to run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y = load_fashion_mnist(subset="train", return_X_y=True)
    X_test, y_test = load_fashion_mnist(subset="test", return_X_y=True)
    X = X.reshape(-1, 28, 28).astype(np.float32)
    X_test = X_test.reshape(-1, 28, 28).astype(np.float32)
    if args.part == "small":
        X, y, epochs, seeds = X[:3000], y[:3000], args.epochs or 5, (0, 1, 2)
    else:
        epochs, seeds = args.epochs or 10, (0,)
    print(f"Fashion-MNIST, {len(X)} training images, {len(X_test)} test, clean labels, "
          f"{epochs} epochs, seeds {list(seeds)}, torch threads 1, "
          f"date {time.strftime('%Y-%m-%d')}")
    print("| network | test accuracy | CPU seconds per fit |")
    print("|---|---|---|")
    chosen = (range(len(CANDIDATES)) if args.networks is None
              else [int(i) for i in args.networks.split(",")])
    for position, (name, params) in enumerate(CANDIDATES.items()):
        if position not in chosen:
            continue
        results = [_fit(params, X, y, X_test, y_test, epochs, seed) for seed in seeds]
        acc = np.array([a for a, _ in results])
        cpu = np.array([t for _, t in results])
        spread = f" ± {acc.std(ddof=1):.3f}" if len(acc) > 1 else ""
        print(f"| {name} | {acc.mean():.3f}{spread} | {cpu.mean():.1f} |", flush=True)


if __name__ == "__main__":
    main()
