"""``python -m sknoisy.benchmark``: run the benchmark from the command line."""

import sys

from ._cli import benchmark_main

if __name__ == "__main__":
    sys.exit(benchmark_main())
