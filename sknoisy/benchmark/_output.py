"""Writing a run's files (results.md, results.csv, curves.csv, PNG plots) into a folder.

The folder may hold other files: the runner writes only its own names, keeps a list of
them (``.sknoisy-benchmark-files``) and refuses to replace a file of the same name that
an earlier run did not write, unless forced.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ._report import format_markdown, summarise
from ._runner import BenchmarkResult

__all__ = ["planned_files", "prepare_output", "write_outputs"]

MANIFEST = ".sknoisy-benchmark-files"


def _data_name(dataset, n, sizes) -> str:
    # The size is part of the name only when the run has several.
    return f"{dataset}_n{n}" if len(sizes) > 1 else dataset


def _accuracy_name(data_name, noise_type) -> str:
    return f"accuracy_{data_name}_{noise_type}.png"


def _pr_name(data_name, noise_type, rate) -> str:
    return f"pr_{data_name}_{noise_type}_{rate:g}.png"


def planned_files(config: dict) -> list[str]:
    """Every file name a run with ``config`` may write (plots are skipped when empty).

    Parameters
    ----------
    config : dict
        ``BenchmarkResult.config``-like: ``datasets``, ``settings`` (noise type and
        rate pairs; or ``noise_types`` and ``noise_rates``, all combined), and
        optionally ``n_train`` (list of sizes) and ``per_epoch``.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from sknoisy.benchmark import planned_files
    >>> planned_files({"datasets": ["wine"], "settings": [("symmetric", 0.2)]})
    ['results.md', 'results.csv', 'accuracy_wine_symmetric.png', 'pr_wine_symmetric_0.2.png']
    """
    names = ["results.md", "results.csv"] + (["curves.csv"] if config.get("per_epoch")
                                             else [])
    sizes = config.get("n_train")
    sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
    settings = config.get("settings") or [(t, r) for t in config["noise_types"]
                                          for r in config["noise_rates"]]
    for dataset in config["datasets"]:
        for n in sizes:
            data_name = _data_name(dataset, n, sizes)
            for noise_type in dict.fromkeys(t for t, _ in settings):
                names.append(_accuracy_name(data_name, noise_type))
                names += [_pr_name(data_name, noise_type, r) for t, r in settings
                          if t == noise_type]
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
    >>> cfg = {"datasets": ["wine"], "settings": [("symmetric", 0.2)]}
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


def _plot_accuracy(block, title: str, path: Path) -> bool:
    """Accuracy per method: bars for a single rate, lines over the rates otherwise."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    block = block[block["accuracy_mean"].notna()]  # detectors alone do not classify
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
        ax.set_title(f"{title}, rate {block['noise_rate'].iloc[0]:g}")
    else:
        for i, (method, rows) in enumerate(block.groupby("method", sort=False)):
            rows = rows.sort_values("noise_rate")
            ax.errorbar(rows["noise_rate"], rows["accuracy_mean"],
                        yerr=rows["accuracy_std"].fillna(0.0), marker="o", capsize=3,
                        color=colors(i), label=method)
        ax.set_xlabel("noise rate")
        ax.set_ylabel("clean-test accuracy")
        ax.set_title(title)
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


def _curves_frame(curves: dict) -> pd.DataFrame:
    keys = ["dataset", "n_train", "noise_type", "noise_rate", "seed", "method"]
    rows = [dict(zip(keys, key), epoch=epoch, test_accuracy=value)
            for key, curve in curves.items() for epoch, value in enumerate(curve, start=1)]
    return pd.DataFrame(rows)


def write_outputs(result: BenchmarkResult, out, *, command: str | None = None,
                  force: bool = False) -> list[Path]:
    """Write results.md, results.csv, curves.csv and the plots of ``result`` into ``out``.

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
    if result.curves:
        written.append(out / "curves.csv")
        _curves_frame(result.curves).to_csv(written[-1], index=False)
    summary = summarise(result)
    cfg = result.config
    sizes = cfg.get("n_train") or [None]
    for (dataset, n), block in summary.groupby(["dataset", "n_train"], sort=False):
        data_name = _data_name(dataset, n, sizes)
        for noise_type, rows in block.groupby("noise_type", sort=False):
            path = out / _accuracy_name(data_name, noise_type)
            if _plot_accuracy(rows, f"{data_name}, {noise_type} noise", path):
                written.append(path)
            for rate in dict.fromkeys(rows["noise_rate"]):
                flipped, scores = result.detection.get((dataset, n, noise_type, rate),
                                                       (None, {}))
                path = out / _pr_name(data_name, noise_type, rate)
                title = (f"{data_name}, {noise_type} {rate:g}: detection "
                         f"(seed {cfg['seeds'][0]})")
                if flipped is not None and _plot_detection(flipped, scores, title, path):
                    written.append(path)
    names = {p.name for p in written}
    for stale in previous - names:
        # Only names from the list of this runner's own files are ever removed.
        if "/" not in stale and (out / stale).is_file():
            (out / stale).unlink()
    (out / MANIFEST).write_text("\n".join(sorted(names)) + "\n", encoding="utf-8")
    return written
