"""Summaries of a benchmark run: the Markdown table and the numbers behind it."""

from __future__ import annotations

import datetime
import math
import os
import platform

import numpy as np
import pandas as pd
import torch

from ._methods import METHODS
from ._runner import BASELINE, BenchmarkResult

__all__ = ["format_markdown", "summarise"]

_KEYS = ["dataset", "noise_type", "noise_rate"]


def summarise(result: BenchmarkResult) -> pd.DataFrame:
    """One row per (dataset, noise type, rate, method): means, spreads and time ratios.

    ``time_ratio`` is the method's total wall-clock fit time over the seeds divided by
    that of 'ce' in the same cells (the same noisy labels, similar machine load);
    ``cpu_ratio`` is the same with the process's CPU time, which other jobs on a shared
    machine disturb less.

    Parameters
    ----------
    result : BenchmarkResult
        The output of :func:`run_benchmark`.

    Returns
    -------
    summary : pandas.DataFrame
        Columns ``dataset, noise_type, noise_rate, method, n_seeds, accuracy_mean,
        accuracy_std, auprc_mean, auprc_std, fit_time_mean, realised_rate,
        time_ratio, cpu_ratio``. Spreads are sample standard deviations (NaN for one
        seed).

    Examples
    --------
    >>> import pandas as pd
    >>> from sknoisy.benchmark import BenchmarkResult, summarise
    >>> records = pd.DataFrame({
    ...     "dataset": "d", "noise_type": "symmetric", "noise_rate": 0.4, "seed": [0, 0, 1, 1],
    ...     "method": ["ce", "gce", "ce", "gce"], "accuracy": [0.7, 0.8, 0.6, 0.9],
    ...     "auprc": float("nan"), "fit_time": [1.0, 2.0, 1.0, 4.0],
    ...     "cpu_time": [1.0, 2.0, 1.0, 2.0], "realised_rate": 0.4, "order": [0, 1, 1, 0]})
    >>> s = summarise(BenchmarkResult(records=records))
    >>> s[["method", "accuracy_mean", "time_ratio", "cpu_ratio"]].round(3).values.tolist()
    [['ce', 0.65, 1.0, 1.0], ['gce', 0.85, 3.0, 2.0]]
    """
    df = result.records
    if "cpu_time" not in df:
        df = df.assign(cpu_time=np.nan)
    base = df[df["method"] == BASELINE].groupby(_KEYS)[["fit_time", "cpu_time"]].sum()
    base.columns = ["base_wall", "base_cpu"]
    grouped = df.groupby(_KEYS + ["method"], sort=False)
    summary = grouped.agg(
        n_seeds=("seed", "nunique"), accuracy_mean=("accuracy", "mean"),
        accuracy_std=("accuracy", "std"), auprc_mean=("auprc", "mean"),
        auprc_std=("auprc", "std"), fit_time_mean=("fit_time", "mean"),
        wall_sum=("fit_time", "sum"), cpu_sum=("cpu_time", "sum"),
        realised_rate=("realised_rate", "mean"),
    ).reset_index().join(base, on=_KEYS)
    summary["time_ratio"] = summary["wall_sum"] / summary["base_wall"]
    summary["cpu_ratio"] = summary["cpu_sum"] / summary["base_cpu"]
    rank = {name: i for i, name in enumerate(result.config.get("methods") or METHODS)}
    summary["_rank"] = summary["method"].map(lambda m: rank.get(m, len(rank)))
    summary = summary.sort_values(_KEYS + ["_rank"], kind="stable")
    return summary.drop(columns=["_rank", "wall_sum", "cpu_sum", "base_wall", "base_cpu"]
                        ).reset_index(drop=True)


def _mean_std(mean, std, digits=3) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    if std is None or math.isnan(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def format_markdown(result: BenchmarkResult, command: str | None = None) -> str:
    """The results as Markdown: the setup, then one table per dataset / noise / rate.

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
    >>> "| ce |" in format_markdown(result)
    True
    """
    cfg = result.config
    lines = ["# sknoisy benchmark", ""]
    if command:
        lines += ["Command:", "", "```", command, "```", ""]
    seeds = cfg.get("seeds", [])
    lines += [
        f"- Epoch budget: {cfg.get('epochs')} for every method; seeds: {seeds}.",
        f"- Date: {datetime.date.today().isoformat()}. Machine: {platform.machine()} "
        f"{platform.system()}, {os.cpu_count()} CPUs, torch threads = "
        f"{torch.get_num_threads()}, device = {cfg.get('device', 'cpu')}.",
        "- Accuracy: on the clean (never noised) test labels, mean ± sample std over seeds.",
        "- AUPRC: detection of the flipped training labels by the method's noise scores.",
        "- time / CE: total fit time over the seeds divided by that of `ce` in the same "
        "run, in wall-clock time and in this process's CPU time (steadier when other jobs "
        "share the machine); the order of the methods is rotated from one seed to the "
        "next.",
    ]
    for name, text in result.descriptions.items():
        lines.append(f"- `{name}`: {text}.")
    lines.append("")
    summary = summarise(result)
    for (dataset, noise_type, rate), block in summary.groupby(_KEYS, sort=False):
        realised = block["realised_rate"].iloc[0]
        lines += [f"## {dataset}, {noise_type} noise, rate {rate:g} "
                  f"(realised {realised:.3f})", "",
                  "| method | clean-test accuracy | detection AUPRC | fit time (s) | "
                  "time / CE (wall) | time / CE (CPU) |", "|---|---|---|---|---|---|"]
        for row in block.itertuples():
            lines.append(
                f"| {row.method} | {_mean_std(row.accuracy_mean, row.accuracy_std)} | "
                f"{_mean_std(row.auprc_mean, row.auprc_std)} | {row.fit_time_mean:.1f} | "
                f"{row.time_ratio:.2f} | {row.cpu_ratio:.2f} |")
        lines.append("")
    lines += ["Methods:", ""]
    for name in dict.fromkeys(summary["method"]):
        if name in METHODS:
            lines.append(f"- `{name}`: {METHODS[name].description}.")
    if result.warnings:
        lines += ["", f"Warnings raised while fitting ({len(result.warnings)} distinct):", ""]
        lines += ["- " + " ".join(w.split())[:300] for w in result.warnings[:20]]
    return "\n".join(lines) + "\n"
