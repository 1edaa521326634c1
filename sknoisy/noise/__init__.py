"""Label noise: generation, transition matrices and noise-rate estimation."""

from ._generation import make_label_noise
from ._rate import confident_joint, estimate_noise_rate
from ._transition import transition_matrix

__all__ = ["confident_joint", "estimate_noise_rate", "make_label_noise", "transition_matrix"]
