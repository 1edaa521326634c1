"""Reading a network's intermediate representation: the input of its classifier layer.

D2L watches the dimensionality of the penultimate representation and class-relation
smoothing builds class centroids from it; both find the layer and hook it here.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

__all__ = ["capture_layer", "last_linear"]


def last_linear(module: nn.Module) -> nn.Linear | None:
    """The last ``torch.nn.Linear`` of ``module`` (its classifier), or None."""
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    return linears[-1] if linears else None


@contextmanager
def capture_layer(layer: nn.Module, *, read_input: bool = True) -> Iterator[list]:
    """Collect what ``layer`` receives (``read_input``) or returns in every forward pass.

    Yields the list the detached tensors are appended to, one per call of ``layer``;
    the hook is removed on exit, also after an error.

    Examples
    --------
    >>> import torch
    >>> from sknoisy._core._layers import capture_layer, last_linear
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> with capture_layer(last_linear(net)) as seen:
    ...     _ = net(torch.zeros(5, 3))
    >>> seen[0].shape
    torch.Size([5, 4])
    """
    captured: list[torch.Tensor] = []
    if read_input:
        handle = layer.register_forward_pre_hook(
            lambda module, inputs: captured.append(inputs[0].detach()))
    else:
        handle = layer.register_forward_hook(
            lambda module, inputs, output: captured.append(output.detach()))
    try:
        yield captured
    finally:
        handle.remove()
