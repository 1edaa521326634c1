"""Command-line front end of the runner: ``sknoisy benchmark``, ``python -m sknoisy.benchmark``."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from ._datasets import DATASETS
from ._methods import METHODS
from ._output import prepare_output, write_outputs
from ._report import format_markdown
from ._runner import NOISE_TYPES, _check_config, run_benchmark

__all__ = ["add_benchmark_arguments", "benchmark_main", "print_run", "run_from_args"]


def _csv(kind):
    def parse(text: str):
        try:
            return [kind(item) for item in text.split(",") if item.strip()]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of "
                                             f"{kind.__name__}, got {text!r}") from exc
    return parse


def add_benchmark_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the runner's options to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The parser (or sub-parser) to extend.

    Returns
    -------
    parser : argparse.ArgumentParser

    Examples
    --------
    >>> import argparse
    >>> from sknoisy.benchmark import add_benchmark_arguments
    >>> args = add_benchmark_arguments(argparse.ArgumentParser()).parse_args(
    ...     ["--methods", "ce,gce", "--noise-rates", "0.2,0.4"])
    >>> args.methods, args.noise_rates, args.seeds
    (['ce', 'gce'], [0.2, 0.4], 3)
    """
    parser.add_argument("--datasets", type=_csv(str), default=["digits"],
                        help=f"comma-separated, from {', '.join(DATASETS)} (default: digits)")
    parser.add_argument("--noise-types", type=_csv(str), default=["symmetric"],
                        help=f"comma-separated, from {', '.join(NOISE_TYPES)} "
                             "(default: symmetric)")
    parser.add_argument("--noise-rates", type=_csv(float), default=[0.4],
                        help="comma-separated rates in [0, 1) (default: 0.4)")
    parser.add_argument("--methods", type=_csv(str), default=None,
                        help=f"comma-separated, from {', '.join(METHODS)} (default: all; "
                             "'ce' is always run as the time reference)")
    parser.add_argument("--seeds", type=int, default=3,
                        help="number of seeds, 0..N-1 (default: 3)")
    parser.add_argument("--epochs", type=int, default=100,
                        help="epoch budget of every method (default: 100)")
    parser.add_argument("--n-train", type=int, default=None,
                        help="Fashion-MNIST training subset size (default: all 60000)")
    parser.add_argument("--n-test", type=int, default=None,
                        help="Fashion-MNIST test subset size (default: all 10000)")
    parser.add_argument("--images", action="store_true",
                        help="feed digits / Fashion-MNIST as images to a CNN instead of "
                             "flat rows to an MLP")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads for the run (default: torch's choice)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--out", default="benchmark-out",
                        help="output folder for results.md, results.csv and PNG plots "
                             "(default: ./benchmark-out)")
    parser.add_argument("--force", action="store_true",
                        help="replace files in --out that an earlier run did not write")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run_from_args(args: argparse.Namespace, command: str | None = None):
    """Run the benchmark described by parsed ``args`` and write its files.

    Parameters
    ----------
    args : argparse.Namespace
        From a parser built with :func:`add_benchmark_arguments`.
    command : str or None, default=None
        The command line, recorded in results.md.

    Returns
    -------
    result : BenchmarkResult
        What was measured.
    paths : list of Path
        The files written into ``args.out``.

    Examples
    --------
    >>> import argparse, tempfile
    >>> from sknoisy.benchmark import add_benchmark_arguments, run_from_args
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     args = add_benchmark_arguments(argparse.ArgumentParser()).parse_args(
    ...         ["--datasets", "wine", "--methods", "ce", "--seeds", "1", "--epochs", "2",
    ...          "--quiet", "--out", tmp])
    ...     result, paths = run_from_args(args)
    >>> [p.name for p in paths]
    ['results.md', 'results.csv', 'accuracy_wine_symmetric.png']
    """
    import torch

    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be a positive int; got {args.threads}.")
        torch.set_num_threads(args.threads)
    _check_config(args.datasets, args.noise_types, args.noise_rates, args.methods,
                  args.seeds, args.epochs)
    config = dict(datasets=args.datasets, noise_types=args.noise_types,
                  noise_rates=args.noise_rates)
    # Checked before the run, so that a refusal does not cost the whole run.
    prepare_output(args.out, config, force=args.force)
    result = run_benchmark(args.datasets, args.noise_types, args.noise_rates, args.methods,
                           args.seeds, args.epochs, n_train=args.n_train, n_test=args.n_test,
                           images=args.images, device=args.device, progress=not args.quiet)
    paths = write_outputs(result, args.out, command=command, force=args.force)
    return result, paths


def print_run(result, paths, command: str | None = None, seconds: float | None = None,
              file=None) -> None:
    """Print the results table and the files written.

    Parameters
    ----------
    result : BenchmarkResult
        What was measured.
    paths : list of Path
        The files written.
    command : str or None, default=None
        Quoted in the table's header.
    seconds : float or None, default=None
        Wall time of the run, printed when given.
    file : file-like or None, default=None
        Where to print (None: stdout).

    Examples
    --------
    >>> import io
    >>> from pathlib import Path
    >>> from sknoisy.benchmark import print_run, run_benchmark
    >>> result = run_benchmark("wine", methods=["ce"], seeds=1, epochs=1, progress=False)
    >>> buffer = io.StringIO()
    >>> print_run(result, [Path("out/results.md")], file=buffer)
    >>> buffer.getvalue().splitlines()[-1].strip()
    'results.md'
    """
    file = sys.stdout if file is None else file
    print(format_markdown(result, command), file=file)
    took = "" if seconds is None else f"Finished in {seconds:.0f} s. "
    folder = paths[0].resolve().parent if paths else Path(".")
    print(f"{took}Wrote {len(paths)} files to {folder}:", file=file)
    for path in paths:
        print(f"  {path.name}", file=file)


def benchmark_main(argv=None, prog: str = "python -m sknoisy.benchmark") -> int:
    """Entry point of ``python -m sknoisy.benchmark``; returns the exit status.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments (None: ``sys.argv[1:]``).
    prog : str, default='python -m sknoisy.benchmark'
        Program name shown in the help.

    Returns
    -------
    status : int
        0 on success, 2 on a usage or input error.

    Examples
    --------
    >>> from sknoisy.benchmark import benchmark_main
    >>> benchmark_main(["--datasets", "nope", "--quiet"])
    2
    """
    parser = add_benchmark_arguments(argparse.ArgumentParser(
        prog=prog, description="Benchmark noisy-label methods against cross-entropy."))
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    command = " ".join([prog, *map(shlex.quote, argv)])
    start = time.perf_counter()
    try:
        result, paths = run_from_args(args, command)
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    print_run(result, paths, command, time.perf_counter() - start)
    return 0
