"""Custom warnings and errors raised by sknoisy."""

__all__ = ["MostRowsFlaggedWarning", "UnflaggedNoiseWarning", "VanishingClassWarning"]


class VanishingClassWarning(UserWarning):
    """Cleaning would have removed every sample of a class, so some were kept.

    A noise detector that flags all samples of a class keeps that class's least
    suspicious samples instead, so the cleaned data keep every class; this warning says
    which classes were rescued and how many of their samples were kept.

    Examples
    --------
    >>> import warnings
    >>> from sknoisy.exceptions import VanishingClassWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("class 'b' kept 1 sample", VanishingClassWarning)
    >>> caught[0].category.__name__
    'VanishingClassWarning'
    """


class MostRowsFlaggedWarning(UserWarning):
    """A detector would have removed more rows than ``max_noise_rate`` allows.

    Detectors never drop or relabel more than ``max_noise_rate`` (half by default) of
    the rows on their own: when their rule flags more, only the most suspicious ones up
    to that share are flagged, and this warning gives the numbers. Set
    ``max_noise_rate`` higher to allow it.

    Examples
    --------
    >>> import warnings
    >>> from sknoisy.exceptions import MostRowsFlaggedWarning
    >>> issubclass(MostRowsFlaggedWarning, UserWarning)
    True
    """


class UnflaggedNoiseWarning(UserWarning):
    """Labels look noisy, but the detector's rule flagged few of them.

    :class:`~sknoisy.detectors.ConfidentLearningDetector`'s default rule flags random
    labels and one-way swaps only. When the rows its model is surest of disagree with
    their labels far more often than the rule's estimated noise rate, the model has
    probably learned the noise (its probabilities are flat where labels are wrong) or
    is too weak for the data; the warning gives both numbers and names
    ``filter_by='prune_by_noise_rate'``, which flags what cleanlab flags.

    Examples
    --------
    >>> from sknoisy.exceptions import UnflaggedNoiseWarning
    >>> issubclass(UnflaggedNoiseWarning, UserWarning)
    True
    """
