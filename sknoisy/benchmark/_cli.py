"""Command-line front end of the runner: ``sknoisy benchmark``, ``python -m sknoisy.benchmark``."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from .._registry import METHODS, MissingDependencyError
from ._config import config_argv, load_config
from ._datasets import DATASETS
from ._output import prepare_output, write_outputs
from ._report import format_markdown
from ._runner import NOISE_TYPES, _check_config, run_benchmark

__all__ = ["add_benchmark_arguments", "benchmark_main", "print_run", "run_from_args"]

DESCRIPTION = """\
Benchmark noisy-label methods against cross-entropy: clean-test accuracy (mean and
spread over seeds), the realised noise, fit time as CPU- and wall-time ratios to
cross-entropy measured in the same process with the methods alternated, and, where a
method provides them, noise detection (AUPRC, AUROC, precision), noise-rate estimates,
accuracy after every epoch and peak memory. Cross-entropy for the whole budget ('ce')
and stopped at its best epoch on a noisy validation split ('ce_early_stop') are in
every table. Writes results.md, results.csv and PNG plots."""

EPILOG = """\
examples:
  %(prog)s --datasets digits --methods gce,coteaching --seeds 3 --epochs 100
  %(prog)s --config benchmarks/configs/losses.toml
      every part of a configuration file (several parts: each into <out>/<part>/)
  %(prog)s --config benchmarks/configs/coteaching.toml --part mlp
      one part
  %(prog)s --config benchmarks/configs/losses.toml --n-train 300 --epochs 2 --seeds 1
      command-line options override the file's: a smoke-size run

The repository's benchmarks are configurations in benchmarks/configs/ (core, losses,
coteaching, detectors, noise_rate, detector_memory, distillation); each table of
benchmarks/RESULTS.md names the command that regenerates it."""


def _csv(kind):
    def parse(text: str):
        try:
            return [kind(item) for item in text.split(",") if item.strip()]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of "
                                             f"{kind.__name__}, got {text!r}") from exc
    return parse


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r} ({exc})") \
            from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


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
    ...     ["--methods", "ce,gce", "--noise", "symmetric:0.2,pairflip:0.45"])
    >>> args.methods, args.noise, args.seeds
    (['ce', 'gce'], ['symmetric:0.2', 'pairflip:0.45'], 3)
    """
    add = parser.add_argument
    add("--config", default=None,
        help="a TOML configuration file (benchmarks/configs/*.toml): its options become "
             "the defaults, and options given here override them")
    add("--part", type=_csv(str), default=None,
        help="comma-separated parts (tables) of --config to run (default: all)")
    add("--datasets", type=_csv(str), default=["digits"],
        help=f"comma-separated, from {', '.join(DATASETS)} (default: digits)")
    add("--noise-types", type=_csv(str), default=["symmetric"],
        help=f"comma-separated, from {', '.join(NOISE_TYPES)} (default: symmetric)")
    add("--noise-rates", type=_csv(float), default=[0.4],
        help="comma-separated rates in [0, 1), each run with every noise type "
             "(default: 0.4)")
    add("--noise", type=_csv(str), default=None,
        help="explicit noise settings type:rate, comma-separated (symmetric:0.4,"
             "pairflip:0.45); replaces --noise-types x --noise-rates")
    add("--methods", type=_csv(str), default=None,
        help=f"comma-separated, from {', '.join(METHODS)} (default: the usual set; 'ce' "
             "and 'ce_early_stop' always run)")
    add("--reference", default="ce",
        help="method the time ratios divide by; it always runs (default: ce)")
    add("--seeds", type=int, default=3, help="number of seeds, 0..N-1 (default: 3)")
    add("--epochs", type=int, default=100, help="epoch budget of every method (default: 100)")
    add("--n-train", type=_csv(int), default=None,
        help="training subset size(s), comma-separated, each a run of its own "
             "(default: the whole training split)")
    add("--n-test", type=int, default=None, help="test subset size (default: all)")
    add("--images", action="store_true",
        help="feed digits / Fashion-MNIST as images to a CNN instead of flat rows to an MLP")
    add("--net-params", type=_json_object, default=None,
        help='parameters of every network as JSON, e.g. \'{"module__hidden_sizes": [128]}\'')
    add("--detector-epochs", type=int, default=None,
        help="epochs a detector's network trains before reading losses (default: a third "
             "of --epochs, at most 10)")
    add("--cv-folds", type=int, default=3, help="cleanlab's cross-validation folds "
        "(default: 3)")
    add("--validation-fraction", type=float, default=0.2,
        help="noisy validation share held out by ce_early_stop (default: 0.2)")
    add("--per-epoch", action=argparse.BooleanOptionalAction, default=False,
        help="record clean-test accuracy after every epoch (peak accuracy and its epoch; "
             "the evaluation time is left out of fit times)")
    add("--memory", action=argparse.BooleanOptionalAction, default=False,
        help="fit each method in a fresh process and record its peak memory (Linux)")
    add("--threads", type=int, default=None,
        help="torch.set_num_threads for the run (default: torch's choice)")
    add("--device", default="cpu", help="torch device (default: cpu)")
    add("--out", default=None,
        help="output folder for results.md, results.csv and PNG plots (default: "
             "./benchmark-out; with --config: ./benchmark-out/<config name>, and one "
             "subfolder per part when the file has several)")
    add("--force", action="store_true",
        help="replace files in --out that an earlier run did not write")
    add("--quiet", action="store_true", help="no progress bar")
    return parser


def _runner_kwargs(args: argparse.Namespace) -> dict:
    return dict(datasets=args.datasets, noise_types=args.noise_types,
                noise_rates=args.noise_rates, methods=args.methods, seeds=args.seeds,
                epochs=args.epochs, noise=args.noise, n_train=args.n_train,
                n_test=args.n_test, images=args.images, device=args.device,
                reference=args.reference, per_epoch=args.per_epoch, memory=args.memory,
                detector_epochs=args.detector_epochs, cv_folds=args.cv_folds,
                validation_fraction=args.validation_fraction, net_params=args.net_params)


def run_from_args(args: argparse.Namespace, command: str | None = None):
    """Run the benchmark described by parsed ``args`` and write its files.

    Parameters
    ----------
    args : argparse.Namespace
        From a parser built with :func:`add_benchmark_arguments` (``--config`` is
        handled by :func:`benchmark_main`, not here).
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
    kwargs = _runner_kwargs(args)
    checked = _check_config(**{k: kwargs[k] for k in (
        "datasets", "noise_types", "noise_rates", "methods", "seeds", "epochs", "noise",
        "n_train", "reference", "net_params", "cv_folds", "detector_epochs",
        "validation_fraction")})
    out = args.out or "benchmark-out"
    # Checked before the run, so that a refusal does not cost the whole run.
    prepare_output(out, {**checked, "per_epoch": args.per_epoch}, force=args.force)
    result = run_benchmark(**kwargs, progress=not args.quiet)
    paths = write_outputs(result, out, command=command, force=args.force)
    return result, paths


def print_run(result, paths, command: str | None = None, seconds: float | None = None,
              file=None) -> None:
    """Print the results tables and the files written.

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


def _without_part(argv: list) -> list:
    kept, skip = [], False
    for token in argv:
        if skip:
            skip = False
        elif token == "--part":
            skip = True
        elif not token.startswith("--part="):
            kept.append(token)
    return kept


def _configured_runs(parser, args, argv: list, prog: str):
    """``(args, command)`` of each part of ``--config``, or of the plain command line."""
    command = " ".join([prog, *map(shlex.quote, argv)])
    if args.config is None:
        if args.part:
            raise ValueError("--part selects parts of a --config file; give --config too.")
        return [(args, command)]
    parts = load_config(args.config)
    names = args.part or list(parts)
    unknown = [n for n in names if n not in parts]
    if unknown:
        raise ValueError(f"{args.config} has no part(s) {unknown}; its parts are "
                         f"{list(parts)}.")
    out = Path(args.out or Path("benchmark-out") / Path(args.config).stem)
    runs = []
    for name in names:
        where = f"{args.config} [{name}]"
        part_args = parser.parse_args(config_argv(parts[name], parser, where) + argv)
        part_args.out = str(out / name if len(parts) > 1 else out)
        # The one command that regenerates this part's tables.
        part_argv = _without_part(argv) + (["--part", name] if len(parts) > 1 else [])
        runs.append((part_args, " ".join([prog, *map(shlex.quote, part_argv)])))
    return runs


def benchmark_main(argv=None, prog: str = "python -m sknoisy.benchmark") -> int:
    """Entry point of ``python -m sknoisy.benchmark`` and ``sknoisy benchmark``.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments (None: ``sys.argv[1:]``).
    prog : str, default='python -m sknoisy.benchmark'
        Program name shown in the help and recorded in results.md.

    Returns
    -------
    status : int
        0 on success, 2 on a usage or input error (a one-line message on stderr).

    Examples
    --------
    >>> from sknoisy.benchmark import benchmark_main
    >>> benchmark_main(["--datasets", "nope", "--quiet"])
    2
    """
    parser = add_benchmark_arguments(argparse.ArgumentParser(
        prog=prog, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter))
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    try:
        for part_args, command in _configured_runs(parser, args, argv, prog):
            start = time.perf_counter()
            result, paths = run_from_args(part_args, command)
            print_run(result, paths, command, time.perf_counter() - start)
    except (ValueError, FileExistsError, FileNotFoundError, MissingDependencyError) as exc:
        print(f"{prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    return 0
