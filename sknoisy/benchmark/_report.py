"""Summaries of a benchmark run: the numbers per cell and the Markdown tables."""

from __future__ import annotations

import datetime
import math
import os
import platform

import numpy as np
import pandas as pd

from .._registry import METHODS
from ._runner import BASELINE, BenchmarkResult

__all__ = ["format_markdown", "summarise"]

_CELL = ["dataset", "n_train", "noise_type", "noise_rate"]
_NOT_MEASURED = {*_CELL, "seed", "method", "order", "realised_rate"}
# The detectors' targets are stated against cleanlab, so detection time is compared to it.
_DETECTION_REFERENCE = "cleanlab"
# Shown in tables of their own; anything else a method reports goes to "Other measurements".
_OWN_TABLES = {"accuracy", "fit_time", "cpu_time", "detect_time", "detect_cpu_time", "auprc",
               "auroc", "precision_at_true_rate", "flagged", "flagged_precision",
               "rate_estimate", "peak_accuracy", "peak_epoch", "peak_mib", "data_mib"}


def _ratio(records: pd.DataFrame, keys: list, reference: str, column: str) -> pd.DataFrame:
    """Sum of ``column`` per (keys, method) over that of ``reference`` in the same keys."""
    sums = records.groupby(keys + ["method"], sort=False)[column].sum(min_count=1)
    base = records[records["method"] == reference].groupby(keys)[column].sum(min_count=1)
    out = sums.reset_index().join(base.rename("_base"), on=keys)
    out[column] = out[column] / out["_base"]
    return out.drop(columns="_base")


def summarise(result: BenchmarkResult) -> pd.DataFrame:
    """One row per (dataset, n_train, noise setting, method): means, spreads and ratios.

    Every measured column ``c`` of the records gets ``c_mean`` and ``c_std`` (sample
    standard deviation over seeds, NaN for one seed). ``time_ratio`` is the method's
    total wall-clock fit time over the seeds divided by that of the time reference
    ('ce' unless the run named another) in the same cells; ``cpu_ratio`` is the same
    with the process's CPU time, which other jobs on a shared machine disturb less.
    ``rate_error_max`` is the largest absolute error of a noise-rate estimate over the
    seeds.

    Parameters
    ----------
    result : BenchmarkResult
        The output of :func:`run_benchmark`.

    Returns
    -------
    summary : pandas.DataFrame
        Columns ``dataset, n_train, noise_type, noise_rate, method, n_seeds,
        realised_rate, <c>_mean, <c>_std ..., time_ratio, cpu_ratio`` (and
        ``rate_error_max`` where estimated).

    Examples
    --------
    >>> import pandas as pd
    >>> from sknoisy.benchmark import BenchmarkResult, summarise
    >>> records = pd.DataFrame({
    ...     "dataset": "d", "n_train": 100, "noise_type": "symmetric", "noise_rate": 0.4,
    ...     "seed": [0, 0, 1, 1], "method": ["ce", "gce", "ce", "gce"],
    ...     "accuracy": [0.7, 0.8, 0.6, 0.9], "fit_time": [1.0, 2.0, 1.0, 4.0],
    ...     "cpu_time": [1.0, 2.0, 1.0, 2.0], "realised_rate": 0.4, "order": [0, 1, 1, 0]})
    >>> s = summarise(BenchmarkResult(records=records))
    >>> s[["method", "accuracy_mean", "time_ratio", "cpu_ratio"]].round(3).values.tolist()
    [['ce', 0.65, 1.0, 1.0], ['gce', 0.85, 3.0, 2.0]]
    """
    df = result.records
    reference = result.config.get("reference", BASELINE)
    measured = [c for c in df.columns if c not in _NOT_MEASURED
                and pd.api.types.is_numeric_dtype(df[c])]
    grouped = df.groupby(_CELL + ["method"], sort=False)
    summary = grouped.agg(n_seeds=("seed", "nunique"),
                          realised_rate=("realised_rate", "mean"))
    summary = summary.join(grouped[measured].mean().add_suffix("_mean"))
    summary = summary.join(grouped[measured].std().add_suffix("_std")).reset_index()
    for column, name in (("fit_time", "time_ratio"), ("cpu_time", "cpu_ratio")):
        ratios = _ratio(df, _CELL, reference, column).rename(columns={column: name})
        summary = summary.merge(ratios, on=_CELL + ["method"], how="left")
    if "rate_estimate" in df:
        error = (df["rate_estimate"] - df["realised_rate"]).abs()
        worst = error.groupby([df[k] for k in _CELL + ["method"]], sort=False).max()
        summary = summary.join(worst.rename("rate_error_max"), on=_CELL + ["method"])
    # Cells in the order they were run (the configuration's), methods in the run's order.
    cells = {cell: i for i, cell in enumerate(dict.fromkeys(zip(*(df[k] for k in _CELL))))}
    rank = {name: i for i, name in enumerate(result.config.get("methods") or METHODS)}
    summary["_cell"] = [cells[cell] for cell in zip(*(summary[k] for k in _CELL))]
    summary["_rank"] = summary["method"].map(lambda m: rank.get(m, len(rank)))
    summary = summary.sort_values(["_cell", "_rank"], kind="stable")
    return summary.drop(columns=["_cell", "_rank"]).reset_index(drop=True)


# -- Markdown ----------------------------------------------------------------------------
def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _mean_std(mean, std, digits=3) -> str:
    if _missing(mean):
        return "—"
    if _missing(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _table(header: list, rows: list) -> list:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(map(str, row)) + " |" for row in rows), ""]


def _setting(noise_type, rate) -> str:
    return f"{noise_type} {rate:g}"


def _cell(block, method, setting, column, digits=3):
    rows = block[(block["method"] == method) & (block["_setting"] == setting)]
    if rows.empty or f"{column}_mean" not in rows:
        return "—"
    return _mean_std(rows[f"{column}_mean"].iloc[0], rows[f"{column}_std"].iloc[0], digits)


def _has(block, column) -> bool:
    return f"{column}_mean" in block and block[f"{column}_mean"].notna().any()


def _accuracy_table(block, records, methods, settings, reference) -> list:
    realised = block.groupby("_setting", sort=False)["realised_rate"].first()
    keys = ["dataset", "n_train"]
    wall = _ratio(records, keys, reference, "fit_time").set_index("method")["fit_time"]
    cpu = _ratio(records, keys, reference, "cpu_time").set_index("method")["cpu_time"]
    fit = records.groupby("method")["fit_time"].mean()
    rows = [["*realised noise*", *(f"{realised[s]:.3f}" for s in settings), "", "", ""]]
    for method in methods:
        rows.append([method, *(_cell(block, method, s, "accuracy") for s in settings),
                     f"{fit[method]:.2f}", f"{cpu[method]:.2f}", f"{wall[method]:.2f}"])
    return ["### Clean-test accuracy", "",
            *_table(["method", *settings, "fit time (s)", f"time / {reference} (CPU)",
                     f"time / {reference} (wall)"], rows)]


def _epochs(records, method, setting, column) -> str:
    """The epoch of each seed, listed: an average epoch means little."""
    values = records.loc[(records["method"] == method) & (records["_setting"] == setting),
                         column].dropna()
    return ", ".join(str(int(v)) for v in values) or "—"


def _peak_table(block, records, methods, settings) -> list:
    with_peak = [m for m in methods if _has(block[block["method"] == m], "peak_accuracy")]
    word = "epochs" if records["seed"].nunique() > 1 else "epoch"
    rows = [[method, *(f"{_cell(block, method, s, 'peak_accuracy')} ({word} "
                       f"{_epochs(records, method, s, 'peak_epoch')})" for s in settings)]
            for method in with_peak]
    return ["### Peak clean-test accuracy over the epochs (an oracle, not a usable method)",
            "", "Highest clean-test accuracy after any epoch, and that epoch per seed: "
            "how much each method's last epoch lost to memorisation.", "",
            *_table(["method", *settings], rows)]


def _detection_table(block, records, methods, settings) -> list:
    detecting = [m for m in methods if _has(block[block["method"] == m], "auprc")
                 or _has(block[block["method"] == m], "flagged")]
    compare = _DETECTION_REFERENCE in detecting and "detect_cpu_time" in records
    ratio = None
    if compare:
        ratio = _ratio(records, ["_setting"], _DETECTION_REFERENCE, "detect_cpu_time")
        ratio = ratio.set_index(["_setting", "method"])["detect_cpu_time"]
    header = ["noise (realised)", "method", "AUPRC", "AUROC", "precision @ true rate",
              "flagged", "flagged precision", "detection time (s)"]
    if compare:
        header.append(f"detection CPU time / {_DETECTION_REFERENCE}")
    rows = []
    for s in settings:
        realised = block.loc[block["_setting"] == s, "realised_rate"].iloc[0]
        for method in detecting:
            seconds = _cell(block, method, s, "detect_time", 1)
            row = [f"{s} ({realised:.3f})", method,
                   *(_cell(block, method, s, c) for c in ("auprc", "auroc",
                                                         "precision_at_true_rate")),
                   _cell(block, method, s, "flagged", 2),
                   _cell(block, method, s, "flagged_precision", 2), seconds]
            if compare:
                value = ratio.get((s, method), math.nan)
                row.append("—" if _missing(value) else f"{value:.2f}")
            rows.append(row)
    return ["### Noise detection", "",
            "Scores against the realised flip mask: AUPRC (average precision), AUROC, "
            "precision among the top true-rate fraction; 'flagged' is the share each "
            "method flags by its own rule, 'flagged precision' that mask's precision. "
            "Detection time: the detection stage alone (a detector's fit, cleanlab's "
            "cross-validation).", "", *_table(header, rows)]


def _rate_table(block, methods, settings) -> list:
    estimating = [m for m in methods if _has(block[block["method"] == m], "rate_estimate")]
    rows = []
    for s in settings:
        here = block[block["_setting"] == s]
        realised = f"{here['realised_rate'].iloc[0]:.3f}"
        cells = []
        for method in estimating:
            worst = here.loc[here["method"] == method, "rate_error_max"]
            cells.append(f"{_cell(block, method, s, 'rate_estimate')} "
                         f"[{worst.iloc[0]:.3f}]" if len(worst) else "—")
        rows.append([s, realised, *cells])
    return ["### Noise-rate estimates", "",
            "Mean ± std over seeds, the largest absolute error against the realised rate "
            "in brackets.", "", *_table(["noise", "realised", *estimating], rows)]


def _other_table(block, records, methods, settings, extras) -> list:
    rows = []
    for column in extras:
        for method in methods:
            if not _has(block[block["method"] == method], column):
                continue
            if column.endswith("epoch"):
                cells = [f"{_epochs(records, method, s, column)} (per seed)" for s in settings]
            else:
                cells = [_cell(block, method, s, column) for s in settings]
            rows.append([method, column.replace("_", " "), *cells])
    return ["### Other measurements", "", *_table(["method", "measurement", *settings], rows)]


def _memory_table(summary, dataset, methods) -> list:
    block = summary[summary["dataset"] == dataset]
    sizes = sorted(block["n_train"].unique())
    measured = [m for m in methods if _has(block[block["method"] == m], "peak_mib")]
    rows = []
    for n in sizes:
        here = block[block["n_train"] == n].groupby("method")
        data_mib = here["data_mib_mean"].mean().max() if "data_mib_mean" in block else math.nan
        rows.append([f"{n:,}", "—" if _missing(data_mib) else f"{data_mib:.1f}",
                     *(f"{here['peak_mib_mean'].mean()[m]:.1f}" for m in measured)])
    lines = [f"## {dataset}: peak memory against the number of training rows", "",
             "Each fit ran in a fresh process; 'fit MiB' is the peak resident memory "
             "during the fit minus the resident memory with the data loaded (mean over "
             "noise settings and seeds).", "",
             *_table(["n_train", "data MiB", *(f"{m} fit MiB" for m in measured)], rows)]
    if len(sizes) >= 2:
        for method in measured:
            per_size = block[block["method"] == method].groupby("n_train")["peak_mib_mean"]
            slope, intercept = np.polyfit(sizes, per_size.mean()[sizes] * 2**20, 1)
            lines.append(f"- {method}: {slope:.0f} bytes per training row on top of the "
                         f"data (intercept {intercept / 2**20:.1f} MiB).")
        lines.append("")
    return lines


def _header(result: BenchmarkResult, command) -> list:
    import torch

    cfg = result.config
    reference = cfg.get("reference", BASELINE)
    lines = ["# sknoisy benchmark", ""]
    if command:
        lines += ["Command:", "", "```", command, "```", ""]
    lines += [
        f"- Epoch budget: {cfg.get('epochs')} for every method; seeds: {cfg.get('seeds', [])}.",
        f"- Date: {datetime.date.today().isoformat()}. Machine: {platform.machine()} "
        f"{platform.system()}, {os.cpu_count()} CPUs, torch threads = "
        f"{torch.get_num_threads()}, device = {cfg.get('device', 'cpu')}.",
        "- Accuracy: on the clean (never noised) test labels, mean ± sample std over seeds.",
        f"- time / {reference}: total fit time over the seeds divided by that of "
        f"`{reference}` in the same run, in this process's CPU time (steadier when other "
        "jobs share the machine) and in wall-clock time; the order of the methods is "
        "rotated from one seed to the next.",
    ]
    if cfg.get("per_epoch"):
        lines.append("- Per-epoch evaluation on: its time is left out of the fit times.")
    if cfg.get("memory"):
        lines.append("- Memory measured: every fit ran in a fresh process, so its times "
                     "include the process's one-off start-up costs.")
    for (name, n), text in result.descriptions.items():
        lines.append(f"- `{name}` ({n} training rows): {text}.")
    return lines + [""]


def format_markdown(result: BenchmarkResult, command: str | None = None) -> str:
    """The results as Markdown: the setup, then the tables of each dataset and size.

    For each dataset and training-set size: clean-test accuracy (methods x noise
    settings, with the realised noise and the time ratios); and, where the run measured
    them, the peak accuracy over the epochs, noise detection, noise-rate estimates and
    the methods' other numbers. Peak memory is tabled against the training-set size.

    Parameters
    ----------
    result : BenchmarkResult
        The output of :func:`run_benchmark`.
    command : str or None, default=None
        The command that produced the run, quoted at the top.

    Returns
    -------
    text : str

    Examples
    --------
    >>> from sknoisy.benchmark import format_markdown, run_benchmark
    >>> result = run_benchmark("wine", noise_rates=0.2, methods=["ce"], seeds=1, epochs=2,
    ...                        progress=False)
    >>> text = format_markdown(result)
    >>> "| ce |" in text and "| ce_early_stop |" in text
    True
    """
    cfg = result.config
    summary = summarise(result)
    records = result.records.copy()
    summary["_setting"] = [_setting(t, r) for t, r in zip(summary["noise_type"],
                                                          summary["noise_rate"])]
    records["_setting"] = [_setting(t, r) for t, r in zip(records["noise_type"],
                                                          records["noise_rate"])]
    methods = list(dict.fromkeys(summary["method"]))
    extras = [c[:-5] for c in summary.columns if c.endswith("_mean")
              and c[:-5] not in _OWN_TABLES]
    lines = _header(result, command)
    for (dataset, n), block in summary.groupby(["dataset", "n_train"], sort=False):
        here = records[(records["dataset"] == dataset) & (records["n_train"] == n)]
        settings = list(dict.fromkeys(block["_setting"]))
        lines += [f"## {dataset}, {n} training rows", ""]
        lines += _accuracy_table(block, here, methods, settings,
                                 cfg.get("reference", BASELINE))
        if _has(block, "peak_accuracy"):
            lines += _peak_table(block, here, methods, settings)
        if _has(block, "auprc") or _has(block, "flagged"):
            lines += _detection_table(block, here, methods, settings)
        if _has(block, "rate_estimate"):
            lines += _rate_table(block, methods, settings)
        if any(_has(block, c) for c in extras):
            lines += _other_table(block, here, methods, settings, extras)
    if "peak_mib_mean" in summary:
        for dataset in dict.fromkeys(summary["dataset"]):
            lines += _memory_table(summary, dataset, methods)
    lines += ["Methods:", ""]
    lines += [f"- `{name}`: {METHODS[name].description}." for name in methods
              if name in METHODS]
    if result.skipped:
        lines += ["", "Not run (optional package missing):", ""]
        lines += [f"- {reason}" for reason in result.skipped]
    if result.warnings:
        lines += ["", f"Warnings raised while fitting ({len(result.warnings)} distinct):", ""]
        lines += ["- " + " ".join(w.split())[:300] for w in result.warnings[:20]]
    return "\n".join(lines) + "\n"
