"""Synthetic label noise: noisy-label generation and transition matrices."""

from ._generation import make_label_noise
from ._transition import transition_matrix

__all__ = ["make_label_noise", "transition_matrix"]
