"""Test-wide settings."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    # The tests train tiny networks: one thread avoids thread start-up and contention
    # costs on a shared 2-core CI machine, and keeps printed doctest numbers stable.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def restore_torch_threads():
    """Give torch's global thread count back after a test that sets it (``--threads``)."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
