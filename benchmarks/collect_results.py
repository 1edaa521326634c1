"""Assemble benchmarks/RESULTS.md from the per-benchmark sections in benchmarks/results/.

Each benchmark script's results are kept, with their command, data, seeds and date, in
``benchmarks/results/<name>.md``; this script puts them in one file in a fixed order.

Usage::

    python benchmarks/collect_results.py
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["core", "losses", "coteaching", "detectors", "distillation", "runner"]

HEADER = """# sknoisy benchmark results

Every figure here was produced by a script in `benchmarks/` (or the `sknoisy benchmark`
runner); each section states its command, data, noise, seeds, date and machine. Accuracy
is clean-test accuracy (test labels never noised), mean and spread over seeds; timings are
ratios measured side by side in one process run, with the methods alternated. The machine
is a shared 2-core CPU; where other jobs loaded it, the sections say so and give CPU-time
ratios beside wall-clock ones. This file is assembled by `python benchmarks/collect_results.py`
from `benchmarks/results/*.md`; edit those, not this.

"""


def main() -> None:
    sections = {path.stem: path for path in (HERE / "results").glob("*.md")}
    names = [name for name in ORDER if name in sections]
    names += sorted(set(sections) - set(ORDER))
    parts = [HEADER, "## Contents\n"]
    parts += [f"- {sections[name].read_text().splitlines()[0].lstrip('# ').strip()}"
              for name in names]
    parts.append("")
    parts += [sections[name].read_text().rstrip() + "\n" for name in names]
    (HERE / "RESULTS.md").write_text("\n".join(parts))


if __name__ == "__main__":
    main()
