"""``FitState``: what one call to ``fit`` knows, held by the net for that call only.

A method that needs the caller's raw inputs (a scikit-learn teacher wants the DataFrame
the user passed), the sample weights, a random generator or a derived seed reads them
here; whatever a method computes for the length of one fit (soft labels, running sums)
it stores here too. The core creates the state before training and removes it when the
fit ends, failed or not, so no fit-time scratch is left on a fitted estimator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["FitState"]


class FitState:
    """The inputs, weights and randomness of one ``fit`` call.

    Methods may set further attributes on it (``state.teacher_proba = ...``); they
    disappear with the state at the end of the fit.

    Parameters
    ----------
    X, y : object
        The training data exactly as the caller passed it (before validation).
    sample_weight : array-like or None
        As passed to ``fit``.
    weights : torch.Tensor or None
        The validated sample weights (mean 1) on the training device.
    seed : int
        The fit's seed, drawn once from ``random_state``.

    Attributes
    ----------
    generator : torch.Generator
        CPU generator seeded with ``seed``: shuffling and any per-batch randomness.

    Examples
    --------
    >>> state = FitState(X=None, y=None, sample_weight=None, weights=None, seed=7)
    >>> state.child_seed(1) == FitState(None, None, None, None, 7).child_seed(1)
    True
    >>> state.child_seed(1) != state.child_seed(2)
    True
    """

    def __init__(self, X: Any, y: Any, sample_weight: Any, weights: torch.Tensor | None,
                 seed: int) -> None:
        self.X = X
        self.y = y
        self.sample_weight = sample_weight
        self.weights = weights
        self.seed = int(seed)
        self.generator = torch.Generator().manual_seed(self.seed)

    def child_seed(self, *key: int) -> int:
        """A seed derived from the fit's seed and ``key`` alone.

        Sub-models (a teacher, the students of later generations, cross-validation
        folds) take ``child_seed(k)``: the value depends on nothing but the fit's seed
        and ``k``, not on how many random numbers were drawn before.

        Parameters
        ----------
        *key : int
            Non-negative integers naming the sub-model, for example ``(1, g)`` for
            generation ``g``.

        Returns
        -------
        int
            A seed in ``[0, 2**31 - 1)``.
        """
        sequence = np.random.SeedSequence(self.seed, spawn_key=tuple(int(k) for k in key))
        return int(sequence.generate_state(1, dtype=np.uint32)[0] % (2**31 - 1))
