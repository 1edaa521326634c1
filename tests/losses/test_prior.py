"""prior_penalty: KL(prior || mean prediction of the batch)."""

import numpy as np
import pytest
import torch

from sknoisy.losses import prior_penalty


def test_matches_the_kl_of_the_mean_softmax():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0], [1.0, -2.0, 0.0],
                           [0.0, 0.0, 0.0]])
    mean = torch.softmax(logits, dim=1).mean(dim=0).numpy()
    uniform = np.full(3, 1 / 3)
    np.testing.assert_allclose(float(prior_penalty(logits)),
                               np.sum(uniform * np.log(uniform / mean)), rtol=1e-6)
    prior = torch.tensor([0.5, 0.5, 0.0])
    expected = np.sum(0.5 * np.log(0.5 / mean[:2]))
    np.testing.assert_allclose(float(prior_penalty(logits, prior)), expected, rtol=1e-6)


def test_zero_at_the_prior_and_pushes_towards_it():
    balanced = torch.tensor([[3.0, 0.0], [0.0, 3.0]])
    assert float(prior_penalty(balanced)) == pytest.approx(0.0, abs=1e-7)
    collapsed = torch.tensor([[3.0, 0.0], [3.0, 0.0]], requires_grad=True)
    prior_penalty(collapsed).backward()
    # Descending the gradient raises the neglected class's logits.
    assert torch.all(collapsed.grad[:, 1] < 0) and torch.all(collapsed.grad[:, 0] > 0)


def test_bad_prior_shape_is_rejected():
    with pytest.raises(ValueError, match="one probability per class"):
        prior_penalty(torch.zeros(2, 3), torch.tensor([0.5, 0.5]))
