"""Offline loader for Fashion-MNIST from local IDX files (never downloads)."""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ._idx import read_idx_ubyte

__all__ = ["load_fashion_mnist"]

DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV_VAR = "SKNOISY_DATA"

# sha256 of the unpacked (gunzipped) files, as published with the dataset.
_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
TARGET_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

DESCR = """\
Fashion-MNIST
=============

70,000 grayscale 28x28 images of Zalando articles in 10 balanced classes:
60,000 for training (6,000 per class) and 10,000 for testing (1,000 per class).

Class indices and names: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.

sknoisy reads the IDX files from local disk (Debian package
``dataset-fashion-mnist`` or a folder you point it to), scales pixels to float32
in [0, 1] and, by default, checks the sha256 of each unpacked file.

Reference: Han Xiao, Kashif Rasul, Roland Vollgraf. "Fashion-MNIST: a Novel Image
Dataset for Benchmarking Machine Learning Algorithms." arXiv:1708.07747, 2017.
License: MIT.
"""


def _candidate_dirs(data_home) -> list[Path]:
    """Folders to search, in order: each root and its ``fashion-mnist`` subfolder."""
    if data_home is not None:
        if not isinstance(data_home, (str, os.PathLike)):
            raise TypeError(
                f"data_home must be a path (str or os.PathLike) or None; got {data_home!r} "
                f"of type {type(data_home).__name__}."
            )
        roots = [Path(data_home).expanduser()]
    else:
        env = os.environ.get(ENV_VAR, "")
        roots = [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
        roots.append(DEFAULT_DIR)
    dirs = []
    for root in roots:
        for folder in (root, root / "fashion-mnist"):
            if folder not in dirs:
                dirs.append(folder)
    return dirs


def _resolve_in(folder: Path, stems) -> dict[str, Path] | None:
    """Map each file stem to an existing file in ``folder``, or None if one is missing."""
    found = {}
    for stem in stems:
        # The unpacked file is faster to read, so it wins when both are present.
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                found[stem] = folder / name
                break
        else:
            return None
    return found


def _find_files(data_home, stems) -> dict[str, Path]:
    """The first searched folder holding every file in ``stems``, as stem -> path."""
    dirs = _candidate_dirs(data_home)
    for folder in dirs:
        found = _resolve_in(folder, stems)
        if found is not None:
            return found
    searched = "\n".join(f"  - {d}" for d in dirs)
    names = ", ".join(f"{stem}[.gz]" for stem in stems)
    raise FileNotFoundError(
        f"Fashion-MNIST files not found. Looked for {names} in:\n{searched}\n"
        "sknoisy never downloads data. To get the files either install the Debian package "
        f"(apt-get install dataset-fashion-mnist, which puts them in {DEFAULT_DIR}), or copy "
        "the files (gzipped or not) into a folder and pass data_home=<folder> or set "
        f"the {ENV_VAR} environment variable to it."
    )


_SUBSETS = ("train", "test", "all")


def _check_n_samples(value, n_total: int, subset: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"n_samples must be an int or None; got {value!r} of type {type(value).__name__}."
        )
    if not 1 <= value <= n_total:
        raise ValueError(
            f"n_samples must be between 1 and {n_total} (the number of samples in "
            f"subset={subset!r}) or None for all of them; got {value}."
        )
    return int(value)


def _stratified_indices(y: np.ndarray, n: int, rng: np.random.RandomState) -> np.ndarray:
    """Sorted indices of ``n`` rows drawn without replacement, class shares kept.

    Each class gets the floor of its proportional quota; the rows left over go to the
    classes with the largest remainders (ties broken at random), so the counts sum to
    ``n`` exactly and differ from the proportional ones by less than one.
    """
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * (n / len(y))
    take = np.floor(quota).astype(np.int64)
    left = n - int(take.sum())
    if left:
        tie_break = rng.permutation(len(classes))
        order = np.lexsort((tie_break, -(quota - take)))
        take[order[:left]] += 1
    picked = [
        rng.choice(np.flatnonzero(y == cls), size=k, replace=False)
        for cls, k in zip(classes, take) if k
    ]
    return np.sort(np.concatenate(picked))


def _read_split(paths, split, verify):
    """The images (uint8) and labels of one file pair, checked against each other."""
    img_stem, lbl_stem = _FILES[split]
    images = read_idx_ubyte(
        paths[img_stem], expected_ndim=3,
        expected_sha256=_SHA256[img_stem] if verify else None,
    )
    labels = read_idx_ubyte(
        paths[lbl_stem], expected_ndim=1,
        expected_sha256=_SHA256[lbl_stem] if verify else None,
    )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{str(paths[img_stem])!r} holds {images.shape[0]} images but "
            f"{str(paths[lbl_stem])!r} holds {labels.shape[0]} labels; the files do not "
            "belong together. Replace them."
        )
    if labels.size and labels.max() >= len(TARGET_NAMES):
        raise ValueError(
            f"{str(paths[lbl_stem])!r} contains label {int(labels.max())}; Fashion-MNIST "
            f"labels are 0..{len(TARGET_NAMES) - 1}. The file is corrupt; replace it."
        )
    return images, labels


def load_fashion_mnist(
    *,
    subset: str = "train",
    data_home: str | os.PathLike | None = None,
    return_X_y: bool = False,
    as_images: bool = False,
    n_samples: int | None = None,
    random_state: int | np.random.RandomState | None = None,
    verify: bool = True,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load the training or test images of Fashion-MNIST from local IDX files.

    Nothing is ever downloaded. Like scikit-learn's loaders, it returns a Bunch with
    ``data`` and ``target`` (or ``(X, y)`` with ``return_X_y=True``), and ``subset``
    chooses the split, as in :func:`sklearn.datasets.fetch_20newsgroups`. The files
    ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (training set) and
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (test set) are read, each
    either gzipped (``.gz``) or already unpacked. They are looked for in ``data_home``
    if given; otherwise in each folder listed in the ``SKNOISY_DATA`` environment
    variable (several folders separated by ``os.pathsep``), then in
    ``/usr/share/datasets/fashion-mnist/`` (Debian package ``dataset-fashion-mnist``).
    In every root the subfolder ``fashion-mnist`` is tried too. The first folder
    holding the files the subset needs is used.

    Parameters
    ----------
    subset : {'train', 'test', 'all'}, default='train'
        Which split to load: the 60,000 training images, the 10,000 test images, or
        all 70,000 (training rows first).
    data_home : str or os.PathLike, default=None
        Folder holding the files. When given, only this folder (and its
        ``fashion-mnist`` subfolder) is searched.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_images : bool, default=False
        If True, ``data`` has shape ``(n, 28, 28)``, so that sknoisy's classifiers pick
        a small CNN; otherwise it is flat, ``(n, 784)``.
    n_samples : int, default=None
        If given, keep a stratified random subset of this many rows of the subset
        (class proportions kept to within one sample; rows stay in file order).
        None keeps them all. Useful for fast experiments and tests.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw of ``n_samples`` rows; unused when ``n_samples`` is None. To
        draw a training and a test subset from one seed, pass the same
        ``RandomState`` instance to both calls.
    verify : bool, default=True
        Check the sha256 of every unpacked file read against the published values
        (a fraction of a second, done while reading). Turn off only to read
        other data stored in the same format.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With fields ``data`` (float32 in [0, 1], flat or images as ``as_images``
        says), ``target`` (int64 labels in 0..9), ``images`` (always
        ``(n, 28, 28)``; the same memory as ``data``), ``target_names`` (the 10 class
        names, indexed by label) and ``DESCR``.
    (data, target) : tuple of ndarray
        When ``return_X_y`` is True.

    Raises
    ------
    FileNotFoundError
        If no searched folder holds the files of the subset; the message lists every
        folder searched and how to get the files.
    ValueError
        If ``subset`` is not one of the three names, if a file is corrupt (bad magic
        number, sizes that do not match its header or its partner file, labels
        outside 0..9) or its sha256 does not match; the message names the file.

    See Also
    --------
    load_digits : Small 8x8 digit images bundled with scikit-learn.
    sklearn.datasets.fetch_20newsgroups : The loader whose ``subset`` this follows.

    Notes
    -----
    Memory: all 70,000 images as float32 take about 220 MB. With ``n_samples`` the
    rows are drawn before conversion to float, so only the kept rows are converted
    (the whole files are still read, and hashed when ``verify``).

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.datasets import load_fashion_mnist
    >>> X, y = load_fashion_mnist(return_X_y=True, n_samples=1000, random_state=0)
    >>> X.shape, X.dtype
    ((1000, 784), dtype('float32'))
    >>> np.bincount(y).tolist()
    [100, 100, 100, 100, 100, 100, 100, 100, 100, 100]
    >>> test = load_fashion_mnist(subset="test", as_images=True)
    >>> test.data.shape, str(test.target_names[test.target[0]])
    ((10000, 28, 28), 'Ankle boot')
    """
    if not (isinstance(subset, str) and subset in _SUBSETS):
        raise ValueError(
            f"subset must be 'train', 'test' or 'all'; got {subset!r}. For a training "
            "and a test set, call load_fashion_mnist once with subset='train' and once "
            "with subset='test'."
        )
    splits = ("train", "test") if subset == "all" else (subset,)
    paths = _find_files(data_home, [stem for split in splits for stem in _FILES[split]])
    parts = [_read_split(paths, split, verify) for split in splits]
    if len({images.shape[1:] for images, _ in parts}) > 1:
        raise ValueError(
            f"Train images have shape {parts[0][0].shape[1:]} but test images "
            f"{parts[1][0].shape[1:]}; the files in "
            f"{paths['train-images-idx3-ubyte'].parent} do not belong together."
        )
    if len(parts) == 1:
        images, labels = parts[0]
    else:
        images = np.concatenate([images for images, _ in parts])
        labels = np.concatenate([labels for _, labels in parts])
    n_samples = _check_n_samples(n_samples, labels.shape[0], subset)
    if n_samples is not None and n_samples < labels.shape[0]:
        idx = _stratified_indices(labels, n_samples, check_random_state(random_state))
        images, labels = images[idx], labels[idx]
    images = images.astype(np.float32)
    images /= np.float32(255.0)
    target = labels.astype(np.int64)
    # A reshape of a contiguous array is a view: ``images`` costs no memory of its own.
    data = images if as_images else images.reshape(images.shape[0], -1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data, target=target, images=images,
        target_names=np.array(TARGET_NAMES), DESCR=DESCR,
    )
