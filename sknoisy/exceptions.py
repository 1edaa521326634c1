"""Custom warnings and errors raised by sknoisy."""

__all__ = ["VanishingClassWarning"]


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
