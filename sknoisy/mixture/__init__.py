"""Two-component mixtures on per-sample losses: which labels look wrong, with what probability.

Per-sample losses of a network trained on noisy labels form two groups: the clean samples
are fitted early (small loss), the mislabeled ones late (large loss). A two-component
mixture on the normalised losses gives each sample P(noisy), the posterior of the
high-loss component. :func:`fit_loss_mixture` fits the Beta mixture of Arazo et al. (2019)
or DivideMix's Gaussian one; the detectors and classifiers that split data by loss use it.
"""

from ._beta import BetaMixture1D
from ._gaussian import GaussianLossMixture
from ._loss import fit_loss_mixture, normalize_losses

__all__ = [
    "BetaMixture1D",
    "GaussianLossMixture",
    "fit_loss_mixture",
    "normalize_losses",
]
