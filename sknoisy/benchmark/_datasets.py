"""Datasets the benchmark runs on: a fixed train/test split of each, ready for a net."""

from __future__ import annotations

import numpy as np
from sklearn import datasets as sk_datasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch

from ..datasets import load_digits, load_fashion_mnist

__all__ = ["DATASETS", "load_benchmark_dataset"]

# The split is fixed (seed 0) so that the spread over seeds is that of the noise draw and
# of the training, not of which samples land in the test set.
_SPLIT_SEED = 0
_TEST_SIZE = 0.3


def _split(X, y):
    return train_test_split(X, y, test_size=_TEST_SIZE, stratify=y, random_state=_SPLIT_SEED)


def _digits(images: bool, n_train, n_test):
    X, y = load_digits(return_X_y=True, as_images=images)
    return (*_split(X, y), "sklearn digits, 8x8 images, 70/30 stratified split")


def _standardised(loader, label):
    def load(images: bool, n_train, n_test):
        X, y = loader(return_X_y=True)
        X_train, X_test, y_train, y_test = _split(X, y)
        # Nets need features on one scale; the scaler sees the training split only.
        scaler = StandardScaler().fit(X_train)
        X_train = scaler.transform(X_train).astype(np.float32)
        X_test = scaler.transform(X_test).astype(np.float32)
        return X_train, X_test, y_train, y_test, f"sklearn {label}, standardised, 70/30 split"
    return load


def _fashion(images: bool, n_train, n_test):
    data = load_fashion_mnist(as_images=images, n_train=n_train, n_test=n_test,
                              random_state=_SPLIT_SEED)
    what = (f"Fashion-MNIST, {len(data.y_train)} train (stratified subset of 60000)"
            if n_train else "Fashion-MNIST, 60000 train")
    return data.X_train, data.X_test, data.y_train, data.y_test, \
        f"{what}, {len(data.y_test)} test"


DATASETS = {
    "digits": _digits,
    "breast_cancer": _standardised(sk_datasets.load_breast_cancer, "breast_cancer"),
    "wine": _standardised(sk_datasets.load_wine, "wine"),
    "fashion_mnist": _fashion,
}
_HAS_IMAGES = {"digits", "fashion_mnist"}


def load_benchmark_dataset(name: str, *, images: bool = False, n_train: int | None = None,
                           n_test: int | None = None) -> Bunch:
    """Load one benchmark dataset with its fixed train/test split.

    Parameters
    ----------
    name : {'digits', 'fashion_mnist', 'breast_cancer', 'wine'}
        The dataset. Fashion-MNIST is read from local files
        (:func:`sknoisy.datasets.load_fashion_mnist`); the others are bundled with
        scikit-learn and split 70/30, stratified, with seed 0.
    images : bool, default=False
        Give digits and Fashion-MNIST as images, so that the nets are CNNs. Ignored
        for the tabular sets.
    n_train, n_test : int or None, default=None
        Stratified subset sizes for Fashion-MNIST (None: all); ignored otherwise.

    Returns
    -------
    data : Bunch
        ``X_train``, ``y_train``, ``X_test``, ``y_test`` (float32 X), ``n_classes``,
        ``input_kind`` ('tabular' or 'image') and ``description``.

    Examples
    --------
    >>> from sknoisy.benchmark import load_benchmark_dataset
    >>> data = load_benchmark_dataset("wine")
    >>> data.X_train.shape, data.n_classes, data.input_kind
    ((124, 13), 3, 'tabular')
    """
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {sorted(DATASETS)}; got {name!r}.")
    X_train, X_test, y_train, y_test, description = DATASETS[name](images, n_train, n_test)
    as_images = images and name in _HAS_IMAGES
    return Bunch(
        name=name, X_train=X_train, y_train=np.asarray(y_train), X_test=X_test,
        y_test=np.asarray(y_test), n_classes=len(np.unique(y_train)),
        input_kind="image" if as_images else "tabular", description=description,
    )
