"""Small convolutional network used for image inputs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class ConvNet(nn.Module):
    """Small CNN for images of shape (N, H, W) or (N, C, H, W); returns class logits.

    Each block is conv3x3 -> batch norm -> ReLU -> 2x2 max-pool; the blocks are
    followed by global average pooling, dropout and a linear classifier, so any image
    size of at least ``2 ** len(channels)`` pixels per side works.

    Parameters
    ----------
    in_channels : int
        Number of input channels (1 for (N, H, W) inputs).
    n_classes : int
        Number of output logits.
    channels : sequence of int, default=(32, 64)
        Output channels of each convolutional block.
    dropout : float, default=0.0
        Dropout probability before the classifier (training mode only).

    Examples
    --------
    >>> import torch
    >>> from sknoisy.modules import ConvNet
    >>> net = ConvNet(in_channels=1, n_classes=10)
    >>> net(torch.zeros(2, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        channels: Sequence[int] = (32, 64),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"ConvNet: dropout must be in [0, 1); got {dropout!r}.")
        blocks: list[nn.Module] = []
        width = int(in_channels)
        for out in channels:
            blocks += [
                nn.Conv2d(width, int(out), kernel_size=3, padding=1),
                nn.BatchNorm2d(int(out)),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            width = int(out)
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(width, int(n_classes))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if X.ndim == 3:
            # (N, H, W) grey-scale images: add the channel axis the convolutions expect.
            X = X.unsqueeze(1)
        out = self.pool(self.features(X)).flatten(1)
        return self.classifier(self.dropout(out))
