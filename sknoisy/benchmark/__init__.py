"""Benchmark runner: noisy-label methods against cross-entropy on offline datasets.

``run_benchmark`` trains every method of the registry :data:`METHODS` on labels
corrupted by :func:`sknoisy.noise.make_label_noise` and measures clean-test accuracy,
noise-detection AUPRC and fit time relative to cross-entropy; ``write_outputs`` writes
the Markdown table and PNG plots. From a shell: ``sknoisy benchmark --help`` or
``python -m sknoisy.benchmark --help``.

The registry ``sknoisy.benchmark.METHODS`` maps a method's name to a :class:`Method`;
adding one is a single line::

    METHODS["mine"] = Method(lambda ctx: MyClassifier(**ctx.net_params()), "my method")

``DATASETS`` lists the datasets and ``NOISE_TYPES`` the noise models the runner knows.
"""

from ._cli import add_benchmark_arguments, benchmark_main, print_run, run_from_args
from ._datasets import DATASETS, load_benchmark_dataset
from ._methods import METHODS, Method, MethodContext, noise_scores_of
from ._output import planned_files, prepare_output, write_outputs
from ._report import format_markdown, summarise
from ._runner import NOISE_TYPES, BenchmarkResult, run_benchmark

# The registries DATASETS, METHODS and NOISE_TYPES are importable from here too; they are
# data, not API with docstrings, so they stay out of __all__.
__all__ = [
    "BenchmarkResult",
    "Method",
    "MethodContext",
    "add_benchmark_arguments",
    "benchmark_main",
    "format_markdown",
    "load_benchmark_dataset",
    "noise_scores_of",
    "planned_files",
    "print_run",
    "prepare_output",
    "run_benchmark",
    "run_from_args",
    "summarise",
    "write_outputs",
]
