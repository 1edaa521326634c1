"""Writing a run's files (results.md, results.csv, PNG plots) into the output folder.

The folder may hold other files: the runner writes only its own names, keeps a list of
them (``.sknoisy-benchmark-files``) and refuses to replace a file of the same name that
an earlier run did not write, unless forced.
"""

from __future__ import annotations

from pathlib import Path

from ._report import format_markdown, summarise
from ._runner import BenchmarkResult

__all__ = ["planned_files", "prepare_output", "write_outputs"]

MANIFEST = ".sknoisy-benchmark-files"


def _accuracy_name(dataset, noise_type) -> str:
    return f"accuracy_{dataset}_{noise_type}.png"


def _pr_name(dataset, noise_type, rate) -> str:
    return f"pr_{dataset}_{noise_type}_{rate:g}.png"


def planned_files(config: dict) -> list[str]:
    """Every file name a run with ``config`` may write (plots are skipped when empty).

    Parameters
    ----------
    config : dict
        ``BenchmarkResult.config``-like: ``datasets``, ``noise_types``, ``noise_rates``.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from sknoisy.benchmark import planned_files
    >>> planned_files({"datasets": ["wine"], "noise_types": ["symmetric"],
    ...                "noise_rates": [0.2]})
    ['results.md', 'results.csv', 'accuracy_wine_symmetric.png', 'pr_wine_symmetric_0.2.png']
    """
    names = ["results.md", "results.csv"]
    for dataset in config["datasets"]:
        for noise_type in config["noise_types"]:
            names.append(_accuracy_name(dataset, noise_type))
            names += [_pr_name(dataset, noise_type, r) for r in config["noise_rates"]]
    return names


def _own_files(out: Path) -> set[str]:
    manifest = out / MANIFEST
    if not manifest.is_file():
        return set()
    return {line.strip() for line in manifest.read_text().splitlines() if line.strip()}


def prepare_output(out, config: dict, *, force: bool = False) -> Path:
    """Create the output folder and check that the run will not replace foreign files.

    Parameters
    ----------
    out : str or path
        The output folder (created with its parents when missing).
    config : dict
        The run's configuration (see :func:`planned_files`).
    force : bool, default=False
        Replace files of the same names that an earlier run did not write.

    Returns
    -------
    out : Path

    Raises
    ------
    FileExistsError
        If ``out`` is a file, or holds files the run would replace without ``force``.

    Examples
    --------
    >>> import tempfile
    >>> from sknoisy.benchmark import prepare_output
    >>> cfg = {"datasets": ["wine"], "noise_types": ["symmetric"], "noise_rates": [0.2]}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     prepare_output(tmp + "/new/folder", cfg).is_dir()
    True
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {str(out)!r} is a file; give a folder for the results.")
    out.mkdir(parents=True, exist_ok=True)
    own = _own_files(out)
    clash = [n for n in planned_files(config) if (out / n).exists() and n not in own]
    if clash and not force:
        raise FileExistsError(
            f"{out} already holds {clash} that this runner did not write; choose another "
            "output folder or pass --force to replace them.")
    return out


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _plot_accuracy(summary, dataset, noise_type, path: Path) -> bool:
    """Accuracy per method: bars for a single rate, lines over the rates otherwise."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    block = summary[(summary["dataset"] == dataset) & (summary["noise_type"] == noise_type)]
    if block.empty:
        return False
    methods = list(dict.fromkeys(block["method"]))
    colors = colormaps["tab20"].resampled(max(len(methods), 2))
    fig = Figure(figsize=(6.4, 0.9 + 0.4 * len(methods)) if block["noise_rate"].nunique() == 1
                 else (6.4, 4.4))
    ax = fig.subplots()
    if block["noise_rate"].nunique() == 1:
        ax.barh(range(len(methods)), block["accuracy_mean"],
                xerr=block["accuracy_std"].fillna(0.0), capsize=3,
                color=[colors(i) for i in range(len(methods))])
        ax.set_yticks(range(len(methods)), methods)
        ax.invert_yaxis()
        ax.set_xlabel("clean-test accuracy (mean ± std over seeds)")
        low = float((block["accuracy_mean"] - block["accuracy_std"].fillna(0.0)).min())
        ax.set_xlim(max(0.0, low - 0.05), 1.0)
        ax.set_title(f"{dataset}, {noise_type} noise, rate {block['noise_rate'].iloc[0]:g}")
    else:
        for i, (method, rows) in enumerate(block.groupby("method", sort=False)):
            rows = rows.sort_values("noise_rate")
            ax.errorbar(rows["noise_rate"], rows["accuracy_mean"],
                        yerr=rows["accuracy_std"].fillna(0.0), marker="o", capsize=3,
                        color=colors(i), label=method)
        ax.set_xlabel("noise rate")
        ax.set_ylabel("clean-test accuracy")
        ax.set_title(f"{dataset}, {noise_type} noise")
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    _save(fig, path)
    return True


def _plot_detection(is_flipped, scores, title, path: Path) -> bool:
    from matplotlib.figure import Figure

    from ..plotting import plot_precision_recall

    if not scores or is_flipped.all() or not is_flipped.any():
        return False
    fig = Figure(figsize=(6.0, 4.6))
    ax = fig.subplots()
    plot_precision_recall(is_flipped, scores, ax=ax)
    ax.set_title(title)
    _save(fig, path)
    return True


def write_outputs(result: BenchmarkResult, out, *, command: str | None = None,
                  force: bool = False) -> list[Path]:
    """Write results.md, results.csv and the plots of ``result`` into ``out``.

    Files a previous run listed as its own but this run did not produce are removed,
    so the folder never mixes two runs.

    Parameters
    ----------
    result : BenchmarkResult
        The output of :func:`run_benchmark`.
    out : str or path
        The output folder.
    command : str or None, default=None
        Quoted at the top of results.md.
    force : bool, default=False
        See :func:`prepare_output`.

    Returns
    -------
    paths : list of Path
        The files written.

    Examples
    --------
    >>> import tempfile
    >>> from sknoisy.benchmark import run_benchmark, write_outputs
    >>> result = run_benchmark("wine", noise_rates=0.2, methods=["ce"], seeds=1, epochs=2,
    ...                        progress=False)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in write_outputs(result, tmp)]
    ['results.md', 'results.csv', 'accuracy_wine_symmetric.png']
    """
    out = prepare_output(out, result.config, force=force)
    previous = _own_files(out)
    written = [out / "results.md", out / "results.csv"]
    written[0].write_text(format_markdown(result, command), encoding="utf-8")
    result.records.to_csv(written[1], index=False)
    summary = summarise(result)
    cfg = result.config
    for dataset in cfg["datasets"]:
        for noise_type in cfg["noise_types"]:
            path = out / _accuracy_name(dataset, noise_type)
            if _plot_accuracy(summary, dataset, noise_type, path):
                written.append(path)
            for rate in cfg["noise_rates"]:
                flipped, scores = result.detection.get((dataset, noise_type, rate),
                                                       (None, {}))
                path = out / _pr_name(dataset, noise_type, rate)
                title = f"{dataset}, {noise_type} {rate:g}: detection (seed {cfg['seeds'][0]})"
                if flipped is not None and _plot_detection(flipped, scores, title, path):
                    written.append(path)
    names = {p.name for p in written}
    for stale in previous - names:
        # Only names from the list of this runner's own files are ever removed.
        if "/" not in stale and (out / stale).is_file():
            (out / stale).unlink()
    (out / MANIFEST).write_text("\n".join(sorted(names)) + "\n", encoding="utf-8")
    return written
