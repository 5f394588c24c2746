"""Shared test set-up: a headless matplotlib, and one torch thread per pytest-xdist worker
(two workers on two cores)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


import contextlib

import numpy as np
import pytest


@contextlib.contextmanager
def _unchanged_global_state():
    """Assert that a block leaves torch's RNG and thread count and NumPy's global RNG as they were."""
    import torch

    torch_rng, threads = torch.get_rng_state().clone(), torch.get_num_threads()
    np_rng = np.random.get_state()[1].copy()
    yield
    assert torch.equal(torch.get_rng_state(), torch_rng), "torch's global RNG state changed"
    assert torch.get_num_threads() == threads, "torch's thread count changed"
    assert np.array_equal(np.random.get_state()[1], np_rng), "NumPy's global RNG state changed"


@pytest.fixture
def unchanged_global_state():
    """``with unchanged_global_state(): ...`` fails the test if the block touched a global RNG or torch's threads."""
    return _unchanged_global_state
