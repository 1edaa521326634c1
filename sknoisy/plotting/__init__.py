"""Diagnostic plots for learning with noisy labels.

matplotlib is optional (``pip install sknoisy[plot]``); it is imported only when a
function is called. Every function draws on ``ax`` when given (or a new figure) and
returns the Axes, except :func:`plot_suspicious_images`, which returns a Figure.
"""

from ._detection import plot_precision_recall
from ._images import plot_suspicious_images
from ._issues import plot_label_issues
from ._losses import plot_loss_histogram, plot_loss_trajectories
from ._mixture import plot_beta_mixture

__all__ = [
    "plot_beta_mixture",
    "plot_label_issues",
    "plot_loss_histogram",
    "plot_loss_trajectories",
    "plot_precision_recall",
    "plot_suspicious_images",
]
