"""Benchmark runner: noisy-label methods against cross-entropy on offline datasets.

``run_benchmark`` trains methods of sknoisy's registry on labels corrupted by
:func:`sknoisy.noise.make_label_noise` and measures clean-test accuracy, fit time relative
to cross-entropy, and where a method provides them noise detection, noise-rate estimates,
per-epoch accuracy and peak memory; ``write_outputs`` writes the Markdown tables, a CSV
and PNG plots. From a shell: ``sknoisy benchmark --help`` or
``python -m sknoisy.benchmark --help``; the repository's recorded benchmarks are
configuration files run with ``sknoisy benchmark --config benchmarks/configs/<name>.toml``.

The registry ``METHODS`` (shared with :func:`sknoisy.find_noisy_labels` and
``sknoisy detect``) maps a method's name to a :class:`Method`; adding one is one call::

    register_method("mine", Method(lambda ctx: MyClassifier(**ctx.net_params()),
                                   "my method"))

``DATASETS`` lists the datasets and ``NOISE_TYPES`` the noise models the runner knows.
"""

from .._registry import METHODS, Method, MethodContext, MissingDependencyError, register_method
from ._cli import add_benchmark_arguments, benchmark_main, print_run, run_from_args
from ._config import config_argv, load_config
from ._datasets import DATASETS, load_benchmark_dataset, noisy_labels
from ._measure import EpochEval, fit_and_measure
from ._output import planned_files, prepare_output, write_outputs
from ._report import format_markdown, summarise
from ._runner import NOISE_TYPES, BenchmarkResult, parse_noise, run_benchmark

# The registries DATASETS, METHODS and NOISE_TYPES are importable from here too; they are
# data, not API with docstrings, so they stay out of __all__.
__all__ = [
    "BenchmarkResult",
    "EpochEval",
    "Method",
    "MethodContext",
    "MissingDependencyError",
    "add_benchmark_arguments",
    "benchmark_main",
    "config_argv",
    "fit_and_measure",
    "format_markdown",
    "load_benchmark_dataset",
    "load_config",
    "noisy_labels",
    "parse_noise",
    "planned_files",
    "print_run",
    "prepare_output",
    "register_method",
    "run_benchmark",
    "run_from_args",
    "summarise",
    "write_outputs",
]
