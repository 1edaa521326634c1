"""Benchmark configurations: TOML files whose tables are named sets of runner options.

A configuration file holds the options of ``sknoisy benchmark`` under their long names
(``n_train``, ``per_epoch``, ...). Keys at the top of the file apply to every part; each
table is one part, a run of its own with its own output folder::

    # benchmarks/configs/coteaching.toml
    datasets = ["fashion_mnist"]
    seeds = 3

    [mlp]
    n_train = [10000]
    noise = ["symmetric:0.2", "pairflip:0.45"]
    methods = ["coteaching", "coteaching_plus"]

Options given on the command line override the file's, which is how a configuration is
run at smoke size (``--n-train 300 --epochs 1 --seeds 1``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# The standard library reads TOML from Python 3.11 on; tomli is the same parser before.
if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["config_argv", "load_config"]

_NOT_IN_FILES = {"config", "part"}
# Options whose value is itself a table; any other table is a part.
_TABLE_OPTIONS = {"net_params"}


def load_config(path) -> dict[str, dict]:
    """The parts of a benchmark configuration file, each with its options.

    Parameters
    ----------
    path : str or Path
        A TOML file. Top-level keys are shared by every part; each table is a part
        (except ``net_params``, an option whose value is a table). A file without
        parts is a single part named after the file.

    Returns
    -------
    parts : dict
        Part name -> ``{option: value}`` (shared keys merged in, the part's own win).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is not valid TOML.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from sknoisy.benchmark import load_config
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "mine.toml"
    ...     _ = path.write_text('seeds = 3\\n[small]\\nepochs = 2\\n[large]\\nepochs = 50\\n')
    ...     load_config(path)
    {'small': {'seeds': 3, 'epochs': 2}, 'large': {'seeds': 3, 'epochs': 50}}
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"benchmark configuration {path}: no such file.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"benchmark configuration {path}: not valid TOML ({exc}).") from exc
    def is_part(key, value):
        return isinstance(value, dict) and key not in _TABLE_OPTIONS

    shared = {k: v for k, v in data.items() if not is_part(k, v)}
    parts = {name: {**shared, **options} for name, options in data.items()
             if is_part(name, options)}
    return parts or {path.stem: shared}


def _token(value) -> str:
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def config_argv(options: dict, parser: argparse.ArgumentParser, where: str = "") -> list:
    """Command-line arguments equivalent to a part's ``options``.

    Lists become comma-separated values, tables JSON, booleans ``--flag`` /
    ``--no-flag``; the parser then converts and checks them as if typed.

    Parameters
    ----------
    options : dict
        Option name (the long option without dashes, ``_`` for ``-``) -> value.
    parser : argparse.ArgumentParser
        The parser the arguments are for.
    where : str, default=''
        Where the options come from, for error messages.

    Returns
    -------
    argv : list of str

    Raises
    ------
    ValueError
        For an option the parser does not have.

    Examples
    --------
    >>> import argparse
    >>> from sknoisy.benchmark import add_benchmark_arguments, config_argv
    >>> parser = add_benchmark_arguments(argparse.ArgumentParser())
    >>> config_argv({"methods": ["ce", "gce"], "per_epoch": True, "epochs": 5}, parser)
    ['--methods', 'ce,gce', '--per-epoch', '--epochs', '5']
    """
    flags = {action.dest: action for action in parser._actions if action.option_strings}
    argv = []
    for name, value in options.items():
        action = flags.get(name)
        if action is None or name in _NOT_IN_FILES:
            valid = sorted(set(flags) - _NOT_IN_FILES - {"help"})
            raise ValueError(f"{where or 'benchmark configuration'}: unknown option "
                             f"{name!r}; the options are {valid}.")
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            if isinstance(action, argparse.BooleanOptionalAction):
                argv.append(flag if value else "--no-" + name.replace("_", "-"))
            elif value:
                argv.append(flag)
        else:
            argv += [flag, _token(value)]
    return argv
