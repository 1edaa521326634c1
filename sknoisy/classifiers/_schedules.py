"""The Co-teaching forget-rate schedule, kept as a pure function so it can be checked alone."""

from __future__ import annotations

__all__ = ["forget_rate_schedule"]


def forget_rate_schedule(epoch: int, forget_rate: float, num_gradual: int = 10,
                         exponent: float = 1.0) -> float:
    """Fraction of each batch that Co-teaching drops at a given epoch.

    Co-teaching keeps the ``R(T) = 1 - tau * min(T ** c / T_k, 1)`` smallest-loss
    fraction of every batch (Han et al., 2018); this returns the dropped fraction
    ``tau * min(T ** c / T_k, 1)``, where ``T`` counts the epochs already trained:
    the first epoch (``T = 0``) drops nothing, as in the paper, and epoch ``T_k + 1``
    is the first to drop ``tau``. Networks learn clean patterns before they memorise
    noise, so early epochs can afford to keep almost everything. (The reference
    code's ``linspace(0, tau, T_k)`` reaches ``tau`` one epoch sooner.)

    Parameters
    ----------
    epoch : int
        The current epoch, counted from 1, so ``T = epoch - 1`` (0 or less gives 0).
    forget_rate : float
        The final dropped fraction ``tau``, in [0, 1); the paper sets it to the noise
        rate.
    num_gradual : int, default=10
        ``T_k``: the epochs over which the rate ramps up.
    exponent : float, default=1.0
        ``c``: the shape of the ramp (1 is linear).

    Returns
    -------
    float
        The dropped fraction ``1 - R(T)`` for this epoch.

    See Also
    --------
    sknoisy.classifiers.CoTeachingClassifier : Uses this schedule.

    Examples
    --------
    >>> from sknoisy.classifiers._schedules import forget_rate_schedule
    >>> [round(forget_rate_schedule(t, 0.5, num_gradual=4), 3) for t in range(1, 8)]
    [0.0, 0.125, 0.25, 0.375, 0.5, 0.5, 0.5]
    """
    completed = epoch - 1
    if completed <= 0:
        return 0.0
    return float(forget_rate) * min(float(completed) ** exponent / num_gradual, 1.0)
