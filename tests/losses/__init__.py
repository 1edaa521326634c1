"""Tests for sknoisy.losses, with reference formulas written independently in NumPy."""

import numpy as np
import torch


def np_softmax(logits) -> np.ndarray:
    """Row-wise softmax in float64, the textbook way (shifted by the row max)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def np_log_softmax(logits) -> np.ndarray:
    """Row-wise log-softmax in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def np_onehot(target, n_classes: int) -> np.ndarray:
    """One-hot rows in float64."""
    target = np.asarray(target)
    out = np.zeros((target.size, n_classes))
    out[np.arange(target.size), target] = 1.0
    return out


def as_tensors(logits, target, dtype=torch.float64):
    """Return (logits with requires_grad, int64 target) tensors."""
    return (torch.tensor(logits, dtype=dtype, requires_grad=True),
            torch.tensor(target, dtype=torch.long))
