"""Fit time of the training core against stock skorch and a hand-written PyTorch loop.

Same MLP (784-256-256-10), Adam (lr 1e-3), batch 128, shuffling and epoch count for all
three; the three are run alternately, ``--repeats`` times, in one process, and the
median time of each is reported with its ratio to the hand-written loop.

Usage::

    python benchmarks/bench_core.py --n-train 20000 60000 --epochs 3 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from skorch import NeuralNetClassifier

from sknoisy import NoisyNetClassifier
from sknoisy.datasets import load_fashion_mnist
from sknoisy.modules import MLP


def fit_hand_loop(X, y, epochs, seed):
    torch.manual_seed(seed)
    X_t, y_t = torch.as_tensor(X), torch.as_tensor(y)
    model = MLP(784, 10, hidden_sizes=(256, 256))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(X_t))
        total = 0.0
        for start in range(0, len(X_t), 128):
            idx = order[start:start + 128]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X_t[idx]), y_t[idx])
            loss.backward()
            optimizer.step()
            total += loss.item()  # what a hand-written loop logs per batch
    return model


def fit_stock_skorch(X, y, epochs, seed):
    torch.manual_seed(seed)
    net = NeuralNetClassifier(
        MLP, module__n_features=784, module__n_classes=10, criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam, lr=1e-3, batch_size=128, max_epochs=epochs,
        train_split=None, iterator_train__shuffle=True, verbose=0)
    return net.fit(X, y)


def fit_core(X, y, epochs, seed):
    return NoisyNetClassifier(max_epochs=epochs, random_state=seed).fit(X, y)


RUNNERS = {"hand-written loop": fit_hand_loop, "stock skorch": fit_stock_skorch,
           "NoisyNetClassifier": fit_core}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, nargs="+", default=[20000, 60000])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    X_all, y_all, _, _ = load_fashion_mnist(return_X_y=True)
    print(f"| n_train | {' | '.join(RUNNERS)} | core / hand | skorch / hand |")
    print("|---|" + "---|" * (len(RUNNERS) + 2))
    for n in args.n_train:
        X, y = X_all[:n], y_all[:n].astype(np.int64)
        fit_core(X[:512], y[:512], 1, 0)  # warm-up: first-call costs out of the timings
        wall = {name: [] for name in RUNNERS}
        cpu = {name: [] for name in RUNNERS}
        for rep in range(args.repeats):
            for name, fit in RUNNERS.items():  # alternate, so machine noise hits all three
                start, start_cpu = time.perf_counter(), time.process_time()
                fit(X, y, args.epochs, rep)
                wall[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
        for label, times in (("wall", wall), ("cpu", cpu)):
            med = {name: statistics.median(t) for name, t in times.items()}
            hand = med["hand-written loop"]
            cells = " | ".join(f"{med[name]:.2f} s" for name in RUNNERS)
            print(f"| {n} ({label}) | {cells} | {med['NoisyNetClassifier'] / hand:.3f}x | "
                  f"{med['stock skorch'] / hand:.3f}x |", flush=True)


if __name__ == "__main__":
    main()
