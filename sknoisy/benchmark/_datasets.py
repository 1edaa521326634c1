"""Datasets the benchmark runs on: a fixed train/test split of each, ready for a net."""

from __future__ import annotations

import numpy as np
from sklearn import datasets as sk_datasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch

from ..datasets import load_digits, load_fashion_mnist
from ..noise import make_label_noise

__all__ = ["DATASETS", "load_benchmark_dataset", "noisy_labels"]

# The split is fixed (seed 0) so that the spread over seeds is that of the noise draw and
# of the training, not of which samples land in the test set.
_SPLIT_SEED = 0
_TEST_SIZE = 0.3


def _subset(X, y, n, which: str, name: str):
    """A stratified subset of ``n`` rows (seed 0), or all rows when ``n`` is None."""
    if n is None or n == len(y):
        return X, y
    if n > len(y):
        raise ValueError(f"{name} has {len(y)} {which} rows; n_{which}={n} is too many.")
    X, _, y, _ = train_test_split(X, y, train_size=n, stratify=y, random_state=_SPLIT_SEED)
    return X, y


def _split(X, y, n_train, n_test, name: str):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=_TEST_SIZE, stratify=y, random_state=_SPLIT_SEED)
    return (*_subset(X_train, y_train, n_train, "train", name),
            *_subset(X_test, y_test, n_test, "test", name))


def _sizes(n_train, n_test) -> str:
    given = [f"{n} {w} rows" for n, w in ((n_train, "train"), (n_test, "test")) if n]
    return f" (stratified subsets: {', '.join(given)})" if given else ""


def _digits(images: bool, n_train, n_test):
    X, y = load_digits(return_X_y=True, as_images=images)
    X_train, y_train, X_test, y_test = _split(X, y, n_train, n_test, "digits")
    return (X_train, X_test, y_train, y_test,
            "sklearn digits, 8x8 images, 70/30 stratified split" + _sizes(n_train, n_test))


def _standardised(loader, label):
    def load(images: bool, n_train, n_test):
        X, y = loader(return_X_y=True)
        X_train, y_train, X_test, y_test = _split(X, y, n_train, n_test, label)
        # Nets need features on one scale; the scaler sees the training split only.
        scaler = StandardScaler().fit(X_train)
        X_train = scaler.transform(X_train).astype(np.float32)
        X_test = scaler.transform(X_test).astype(np.float32)
        return (X_train, X_test, y_train, y_test,
                f"sklearn {label}, standardised, 70/30 split" + _sizes(n_train, n_test))
    return load


def _synthetic(images: bool, n_train, n_test):
    # Gaussian blobs that any size can be drawn of, for memory against n_samples.
    n_train = 10_000 if n_train is None else n_train
    n_test = 2_000 if n_test is None else n_test
    n_features, n_classes = 20, 5
    rng = np.random.default_rng(_SPLIT_SEED)
    centres = rng.standard_normal((n_classes, n_features)).astype(np.float32)
    y = rng.integers(0, n_classes, size=n_train + n_test)
    X = rng.standard_normal((len(y), n_features), dtype=np.float32) + centres[y]
    return (X[:n_train], X[n_train:], y[:n_train], y[n_train:],
            f"synthetic Gaussian blobs: {n_features} float32 features, {n_classes} "
            f"classes, {n_train} train and {n_test} test rows")


def _classification(n_features: int, n_informative: int, n_classes: int, unscaled: bool):
    """A ``make_classification`` problem of one shape, 4,000 rows split 70/30.

    ``unscaled`` multiplies each feature by ``10 ** U(-2, 3)`` and shifts it, as raw
    measurements in different units are: what the estimators' standardisation is for.
    """
    def load(images: bool, n_train, n_test):
        X, y = sk_datasets.make_classification(
            n_samples=4000, n_features=n_features, n_informative=n_informative,
            n_redundant=n_features // 5, n_classes=n_classes, n_clusters_per_class=2,
            flip_y=0.0, random_state=_SPLIT_SEED)
        if unscaled:
            rng = np.random.default_rng(_SPLIT_SEED)
            scale = 10.0 ** rng.uniform(-2, 3, size=n_features)
            X = X * scale + rng.uniform(-5, 5, size=n_features) * scale
        X = X.astype(np.float32)
        label = f"make_classification, {n_features} features ({n_informative} informative), " \
            f"{n_classes} classes" + (", features on scales 1e-2 to 1e3" if unscaled else "")
        X_train, y_train, X_test, y_test = _split(X, y, n_train, n_test, label)
        return X_train, X_test, y_train, y_test, f"{label}, 70/30 split" + _sizes(n_train,
                                                                                 n_test)
    return load


def _fashion(images: bool, n_train, n_test):
    # One stream draws both subsets, so the rows are those the recorded results used.
    rng = np.random.RandomState(_SPLIT_SEED)
    X_train, y_train = load_fashion_mnist(subset="train", as_images=images, n_samples=n_train,
                                          random_state=rng, return_X_y=True)
    X_test, y_test = load_fashion_mnist(subset="test", as_images=images, n_samples=n_test,
                                        random_state=rng, return_X_y=True)
    what = (f"Fashion-MNIST, {len(y_train)} train (stratified subset of 60000)"
            if n_train else "Fashion-MNIST, 60000 train")
    return X_train, X_test, y_train, y_test, f"{what}, {len(y_test)} test"


DATASETS = {
    "digits": _digits,
    "breast_cancer": _standardised(sk_datasets.load_breast_cancer, "breast_cancer"),
    "wine": _standardised(sk_datasets.load_wine, "wine"),
    "fashion_mnist": _fashion,
    "synthetic": _synthetic,
    "classification": _classification(20, 8, 4, unscaled=False),
    "classification_unscaled": _classification(60, 15, 8, unscaled=True),
}
_HAS_IMAGES = {"digits", "fashion_mnist"}


def load_benchmark_dataset(name: str, *, images: bool = False, n_train: int | None = None,
                           n_test: int | None = None) -> Bunch:
    """Load one benchmark dataset with its fixed train/test split.

    Parameters
    ----------
    name : {'digits', 'fashion_mnist', 'breast_cancer', 'wine', 'synthetic', \
'classification', 'classification_unscaled'}
        The dataset. Fashion-MNIST is read from local files
        (:func:`sknoisy.datasets.load_fashion_mnist`); digits, breast_cancer and wine
        are bundled with scikit-learn and split 70/30, stratified, with seed 0;
        'synthetic' is Gaussian blobs (20 features, 5 classes) of any size;
        'classification' is scikit-learn's ``make_classification`` with 20 features
        (8 informative) and 4 classes, 'classification_unscaled' with 60 features (15
        informative), 8 classes and each feature on its own scale (1e-2 to 1e3), both
        4,000 rows split 70/30.
    images : bool, default=False
        Give digits and Fashion-MNIST as images, so that the nets are CNNs. Ignored
        for the tabular sets.
    n_train, n_test : int or None, default=None
        Stratified subset sizes of the training and test splits (None: all; for
        'synthetic': 10,000 and 2,000 rows).

    Returns
    -------
    data : Bunch
        ``X_train``, ``y_train``, ``X_test``, ``y_test`` (float32 X, int64 labels),
        ``n_classes``, ``n_features`` (per row, flattened), ``input_kind`` ('tabular' or
        'image') and ``description``.

    Examples
    --------
    >>> from sknoisy.benchmark import load_benchmark_dataset
    >>> data = load_benchmark_dataset("wine")
    >>> data.X_train.shape, data.n_classes, data.input_kind
    ((124, 13), 3, 'tabular')
    >>> load_benchmark_dataset("digits", n_train=300).X_train.shape
    (300, 64)
    """
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {sorted(DATASETS)}; got {name!r}.")
    X_train, X_test, y_train, y_test, description = DATASETS[name](images, n_train, n_test)
    as_images = images and name in _HAS_IMAGES
    # int64 labels: the stock-skorch reference feeds them to CrossEntropyLoss as they are.
    return Bunch(
        name=name, X_train=X_train, y_train=np.asarray(y_train, dtype=np.int64),
        X_test=X_test, y_test=np.asarray(y_test, dtype=np.int64),
        n_classes=len(np.unique(y_train)), n_features=int(np.prod(X_train.shape[1:])),
        input_kind="image" if as_images else "tabular", description=description,
    )


def noisy_labels(data: Bunch, noise_type: str, rate: float, seed: int):
    """The training labels of ``data`` corrupted by one noise model, seeded.

    Parameters
    ----------
    data : Bunch
        From :func:`load_benchmark_dataset`.
    noise_type : str
        A :func:`sknoisy.noise.make_label_noise` type; 'asymmetric' is the MNIST class
        map (10-class data only).
    rate : float
        Noise rate in [0, 1).
    seed : int
        Seed of the draw.

    Returns
    -------
    y_noisy : ndarray of shape (n_train,)
    is_flipped : ndarray of bool of shape (n_train,)

    Examples
    --------
    >>> from sknoisy.benchmark import load_benchmark_dataset, noisy_labels
    >>> data = load_benchmark_dataset("wine")
    >>> y_noisy, flipped = noisy_labels(data, "symmetric", 0.2, seed=0)
    >>> bool((y_noisy[flipped] != data.y_train[flipped]).all())
    True
    """
    if noise_type == "asymmetric":
        if data.n_classes != 10:
            raise ValueError(f"noise type 'asymmetric' is the MNIST class map and needs 10 "
                             f"classes; {data.name} has {data.n_classes}. Use 'pairflip'.")
        noise_type = "mnist"
    X = data.X_train.reshape(len(data.X_train), -1) if noise_type == "instance" else None
    y_noisy, flipped = make_label_noise(data.y_train, noise_type, rate, X=X,
                                        random_state=seed)
    return np.asarray(y_noisy), np.asarray(flipped, dtype=bool)
