"""Check the defaults benchmark against issue 13's bars and print the cells that miss.

Bars, per data set and noise setting (mean accuracy over seeds):

- every method with its defaults >= ``ce`` (NoisyNetClassifier() with its defaults) - 0.5
  points;
- at 0% noise, every method >= ``ce`` - 1 point;
- the flagship ``default_o2u_coteaching`` >= ``ce_early_stop``.

Run: ``python benchmarks/defaults_bars.py benchmarks/out/defaults_bundled/bundled/results.csv
[more results.csv ...]`` after ``sknoisy benchmark --config benchmarks/configs/defaults.toml``.
A later file replaces the rows of the methods it holds, other than the two references,
on the data sets it covers (a rerun of some methods after a change of their defaults).
"""

from __future__ import annotations

import sys

import pandas as pd

FLAGSHIP = "default_o2u_coteaching"


def misses(frame: pd.DataFrame) -> list[str]:
    means = frame.groupby(["dataset", "noise_type", "noise_rate", "method"])["accuracy"].mean()
    lines = []
    for (dataset, kind, rate), cell in means.groupby(level=[0, 1, 2]):
        cell = cell.droplevel([0, 1, 2])
        setting = f"{dataset}, {kind} {rate:g}"
        ce, early = cell["ce"], cell["ce_early_stop"]
        tolerance = 0.01 if rate == 0 else 0.005
        for method, accuracy in cell.items():
            if method in ("ce", "ce_early_stop"):
                continue
            if accuracy < ce - tolerance:
                lines.append(f"{setting}: {method} {accuracy:.3f} < ce {ce:.3f} - "
                             f"{tolerance * 100:g} pt")
        if FLAGSHIP in cell and cell[FLAGSHIP] < early:
            lines.append(f"{setting}: {FLAGSHIP} {cell[FLAGSHIP]:.3f} < ce_early_stop "
                         f"{early:.3f}")
    return lines


def combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack results; a later frame's non-reference methods replace earlier rows."""
    combined = frames[0]
    for later in frames[1:]:
        # The references of a data set already present stay those of the first run.
        seen = later["dataset"].isin(combined["dataset"].unique())
        later = later[~(seen & later["method"].isin(["ce", "ce_early_stop"]))]
        keys = ["dataset", "method"]
        replaced = combined.set_index(keys).index.isin(later.set_index(keys).index)
        combined = pd.concat([combined[~replaced], later])
    return combined


def _by_size(frame: pd.DataFrame) -> pd.DataFrame:
    # One data set at two sizes (flat 3,000 rows, 1,000 images) is two settings.
    return frame.assign(dataset=frame["dataset"] + " (" + frame["n_train"].astype(str)
                        + " rows)")


def main() -> None:
    frame = combine([_by_size(pd.read_csv(path)) for path in sys.argv[1:]])
    found = misses(frame)
    cells = frame.groupby(["dataset", "noise_type", "noise_rate"]).ngroups
    print(f"{len(found)} misses in {cells} settings")
    for line in found:
        print("-", line)


if __name__ == "__main__":
    main()
