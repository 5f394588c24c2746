"""Shared test set-up: a headless matplotlib, and one torch thread per pytest-xdist worker
(two workers on two cores)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
