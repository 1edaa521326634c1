"""Stochastic views of a batch for methods that learn from augmented copies (DivideMix).

Images get small random shifts, each image its own offset; tabular rows get gaussian
noise. An MLP is not shift-invariant, so shifting flattened images for it hurts (a
DivideMix prototype on Fashion-MNIST lost 4 points that way): the kind of view should
suit the model, which is why the caller chooses it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["augment", "random_shift"]


def random_shift(X: torch.Tensor, max_shift: int, *, padding: str = "zeros",
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by its own random offset of at most ``max_shift`` pixels.

    Every image (row) gets its own vertical and horizontal offset, drawn uniformly
    from ``-max_shift..max_shift``; the pixels shifted in are zeros (``'zeros'``) or
    the mirrored border (``'reflect'``). Offsets are capped at the image size minus 1.

    Parameters
    ----------
    X : torch.Tensor of shape (N, H, W) or (N, C, H, W)
        Images.
    max_shift : int
        Largest offset in pixels; 0 returns ``X``.
    padding : {'zeros', 'reflect'}, default='zeros'
        What fills the uncovered border.
    generator : torch.Generator or None, default=None
        Source of the offsets, on ``X``'s device; ``None`` uses torch's global one.

    Returns
    -------
    torch.Tensor of the shape of ``X``

    Examples
    --------
    >>> import torch
    >>> X = torch.arange(16.0).reshape(1, 4, 4)
    >>> out = random_shift(X, 1, generator=torch.Generator().manual_seed(0))
    >>> out.shape, bool(torch.isin(out[0, 1:3, 1:3], X).all())
    (torch.Size([1, 4, 4]), True)
    """
    images = X.unsqueeze(1) if X.ndim == 3 else X
    n, _, height, width = images.shape
    shift = min(int(max_shift), height - 1, width - 1)
    if shift <= 0:
        return X
    mode = "constant" if padding == "zeros" else "reflect"
    padded = F.pad(images, (shift, shift, shift, shift), mode=mode)
    offsets = torch.randint(-shift, shift + 1, (2, n), generator=generator,
                            device=X.device if generator is None else generator.device)
    offsets = offsets.to(X.device) + shift
    rows = torch.arange(height, device=X.device)[None, :] + offsets[0][:, None]
    cols = torch.arange(width, device=X.device)[None, :] + offsets[1][:, None]
    batch = torch.arange(n, device=X.device)[:, None, None]
    # Advanced indexing over (image, row, column) with channels last, then back.
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    out = out.permute(0, 3, 1, 2)
    return out.squeeze(1) if X.ndim == 3 else out


def augment(X: torch.Tensor, kind, *, input_noise: float = 0.1, max_shift: int = 2,
            padding: str = "zeros", generator: torch.Generator | None = None) -> torch.Tensor:
    """One random view of a batch.

    Parameters
    ----------
    X : torch.Tensor
        A batch of inputs (already standardised by the core, for tabular data).
    kind : {'shift', 'noise'} or callable
        ``'shift'``: :func:`random_shift` of images; ``'noise'``: ``X`` plus gaussian
        noise of standard deviation ``input_noise``; a callable is applied to ``X``.
    input_noise : float, default=0.1
        Standard deviation of ``'noise'``.
    max_shift : int, default=2
        Largest offset of ``'shift'``, in pixels.
    padding : {'zeros', 'reflect'}, default='zeros'
        Border filling of ``'shift'``.
    generator : torch.Generator or None, default=None
        Source of the randomness, on ``X``'s device; ``None`` uses torch's global one.

    Returns
    -------
    torch.Tensor of the shape of ``X``

    Examples
    --------
    >>> import torch
    >>> X = torch.zeros(3, 4)
    >>> view = augment(X, "noise", input_noise=0.5, generator=torch.Generator().manual_seed(0))
    >>> view.shape, bool(view.abs().sum() > 0)
    (torch.Size([3, 4]), True)
    """
    if callable(kind):
        return kind(X)
    if kind == "shift":
        return random_shift(X, max_shift, padding=padding, generator=generator)
    noise = torch.randn(X.shape, generator=generator, dtype=X.dtype, device=X.device)
    return X + input_noise * noise
