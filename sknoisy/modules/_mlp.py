"""Multilayer perceptron used for tabular (2-D) inputs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MLP(nn.Module):
    """Fully connected network that returns class logits.

    Inputs with more than two dimensions (for example images) are flattened, so the
    same module also serves as an image baseline.

    Parameters
    ----------
    n_features : int
        Number of input features (the product of the non-batch dimensions).
    n_classes : int
        Number of output logits.
    hidden_sizes : sequence of int, default=(256, 256)
        Width of each hidden layer; an empty sequence gives a linear model.
    dropout : float, default=0.0
        Dropout probability after each hidden activation. Dropout is active only in
        training mode, so predictions are deterministic.
    batch_norm : bool, default=False
        Insert ``BatchNorm1d`` before each activation.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.modules import MLP
    >>> net = MLP(n_features=4, n_classes=3, hidden_sizes=(8,))
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 3])
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden_sizes: Sequence[int] = (256, 256),
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MLP: dropout must be in [0, 1); got {dropout!r}.")
        layers: list[nn.Module] = []
        width = int(n_features)
        for size in hidden_sizes:
            layers.append(nn.Linear(width, int(size)))
            if batch_norm:
                layers.append(nn.BatchNorm1d(int(size)))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = int(size)
        layers.append(nn.Linear(width, int(n_classes)))
        self.layers = nn.Sequential(*layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layers(X.flatten(1))
