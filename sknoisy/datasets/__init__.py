"""Offline dataset loaders: Fashion-MNIST from local files and scikit-learn's bundled digits.

Nothing here downloads: loaders read local files and say where they looked.
"""

from ._digits import load_digits
from ._fashion_mnist import load_fashion_mnist

__all__ = ["load_digits", "load_fashion_mnist"]
