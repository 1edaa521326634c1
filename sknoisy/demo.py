"""``python -m sknoisy.demo`` (``make demo``): noisy-label methods against plain training.

Trains every available method on scikit-learn's digits with 40% of the training labels
flipped to another class (symmetric noise), three seeds, a 100-epoch budget, and prints
the clean-test accuracy of each next to cross-entropy on the clean and on the noisy
labels. About 8 minutes (one torch thread; measured while other jobs shared the
machine). ``--dataset fashion_mnist`` runs on a 10,000-image Fashion-MNIST subset
instead (when its files are installed; slower).

Quick mode (``--quick`` or the environment variable ``SKNOISY_DEMO_QUICK=1``) runs a tiny
configuration in seconds, for tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

_FULL = {
    "digits": dict(datasets=["digits"], epochs=100, seeds=3, n_train=None, n_test=None),
    "fashion_mnist": dict(datasets=["fashion_mnist"], epochs=30, seeds=2, n_train=10000,
                          n_test=None),
}
_QUICK = dict(datasets=["digits"], epochs=2, seeds=1, n_train=None, n_test=None,
              methods=["ce_clean", "ce", "bmm"])


def demo_config(dataset: str = "digits", quick: bool = False) -> dict:
    """The runner's arguments for the demo.

    Parameters
    ----------
    dataset : {'digits', 'fashion_mnist'}, default='digits'
        The data; ignored in quick mode (tiny digits run).
    quick : bool, default=False
        A run of a few seconds: 1 seed, 2 epochs, three methods.

    Returns
    -------
    config : dict
        Keyword arguments of :func:`sknoisy.benchmark.run_benchmark`.

    Examples
    --------
    >>> from sknoisy.demo import demo_config
    >>> cfg = demo_config()
    >>> cfg["datasets"], cfg["noise_rates"], cfg["seeds"], cfg["methods"] is None
    (['digits'], [0.4], 3, True)
    """
    if dataset not in _FULL:
        raise ValueError(f"dataset must be one of {sorted(_FULL)}; got {dataset!r}.")
    base = dict(_QUICK) if quick else dict(_FULL[dataset], methods=None)
    return dict(base, noise_types=["symmetric"], noise_rates=[0.4])


def _headline(result) -> str:
    """Two sentences on what the table shows, from the numbers themselves."""
    from .benchmark import summarise

    summary = summarise(result).set_index("method")
    acc = summary["accuracy_mean"]
    lines = []
    if {"ce", "ce_clean"} <= set(acc.index):
        lines.append(f"Plain cross-entropy: {acc['ce_clean']:.3f} on clean labels, "
                     f"{acc['ce']:.3f} on the noisy ones.")
    methods = acc.drop(labels=[m for m in ("ce", "ce_clean") if m in acc.index])
    if len(methods):
        best = methods.idxmax()
        lines.append(f"Best on the noisy labels: {best} ({acc[best]:.3f}).")
    return " ".join(lines)


def main(argv=None) -> int:
    """Run the demo; return the exit status.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments (None: ``sys.argv[1:]``); see ``python -m sknoisy.demo --help``.

    Returns
    -------
    status : int
        0 on success, 2 when the output folder or the data is unusable.

    Examples
    --------
    >>> from sknoisy.demo import main
    >>> main(["--dataset", "mnist"])  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    SystemExit: 2
    """
    from .benchmark import print_run, prepare_output, run_benchmark, write_outputs

    parser = argparse.ArgumentParser(
        prog="python -m sknoisy.demo",
        description="Noisy-label methods against plain training, 40%% symmetric noise.")
    parser.add_argument("--dataset", choices=sorted(_FULL), default="digits",
                        help="digits (default, ~3 min on 2 cores) or a 10k Fashion-MNIST "
                             "subset (needs its files; slower)")
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("SKNOISY_DEMO_QUICK", "") not in ("", "0"),
                        help="a tiny run for tests (also: SKNOISY_DEMO_QUICK=1)")
    parser.add_argument("--out", default=os.path.join("benchmark-out", "demo"),
                        help="folder for results.md and the plots "
                             "(default: ./benchmark-out/demo)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch.set_num_threads (default: 1; networks this small gain "
                             "nothing from more)")
    args = parser.parse_args(argv)
    config = demo_config(args.dataset, args.quick)
    import torch

    torch.set_num_threads(max(1, args.threads))
    try:
        prepare_output(args.out, config)
        n_methods = "every available method" if config["methods"] is None else \
            ", ".join(config["methods"])
        print(f"sknoisy demo: {config['datasets'][0]}, 40% symmetric label noise, "
              f"{config['seeds']} seed(s), {config['epochs']} epochs each; training "
              f"{n_methods}.", flush=True)
        start = time.perf_counter()
        result = run_benchmark(**config, progress=True)
        paths = write_outputs(result, args.out, command="python -m sknoisy.demo " +
                              " ".join(argv if argv is not None else sys.argv[1:]))
    except (FileExistsError, FileNotFoundError, ValueError) as exc:
        print(f"sknoisy demo: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print_run(result, paths, seconds=time.perf_counter() - start)
    print(_headline(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
