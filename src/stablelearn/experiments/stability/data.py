"""Data sets, losses and small helpers shared by the stability checks (bundled scikit-learn data only)."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

#: Numbers measured in the NumPy prototypes of the validation plan (docs/stability.md, "Reproduction").
PROTOTYPE = {
    "v1_lam_max": 4.0242, "v1_lam_min": 0.00856, "v1_loss": 0.2411, "v1_div_step": {1.01: 996, 1.1: 109, 1.5: 29},
    "v2_L": 3.330, "v2_LB": 6.55, "v2_sens": {"0.5@1": 0.876, "0.5@50": 0.0575, "3.0@50": 7.4e-8},
    "v3_eta_ms": 0.4550, "v3_worst": 0.198,
    "v3_median": {0.8: 3.6e-7, 0.95: 3.1e-8, 1.05: 4e-9, 1.2: 4e70},
    "v4_linear": {0.3: 2.3e-3, 0.49: 2.9e-4, 0.51: 2.6e3, 0.6: 1.7e29},
    "v5_chi": 9.2e-4, "v6_initial": 22.2, "v7_LSS": 2.625, "v7_nnz": 6,
}




def rel(a: float, b: float) -> float:
    """Relative difference |a - b| / |b|."""
    return abs(a - b) / abs(b)


def standardize(a: np.ndarray) -> np.ndarray:
    """Columns to zero mean and unit variance."""
    return (a - a.mean(axis=0)) / a.std(axis=0)


def diabetes(bias: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Standardised diabetes regression data (with a bias column unless ``bias=False``)."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    X = standardize(X)
    if bias:
        X = np.hstack([X, np.ones((X.shape[0], 1))])
    return X, standardize(y[:, None])[:, 0]


def mse_half(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """loss = 1/2 * sum over outputs, mean over samples (the validation suite's loss)."""
    return 0.5 * ((out - y) ** 2).sum(dim=1).mean()


def cancer() -> tuple[np.ndarray, np.ndarray]:
    """Standardised breast-cancer data with a bias column and 0/1 labels."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return np.hstack([standardize(X), np.ones((X.shape[0], 1))]), y.astype(float)


def batch_indices(rng: np.random.Generator, n: int, size: tuple[int, ...]) -> np.ndarray:
    """Independent mini-batches, each a uniform B-subset without replacement (i.i.d. across steps, the
    mean-square law's assumption); ``size = (..., B)``."""
    *lead, B = size
    return np.argpartition(rng.random((*lead, n)), B, axis=-1)[..., :B]


def digits(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The first ``n`` digits: inputs in [0, 1], labels, one-hot targets."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = torch.as_tensor(X[:n] / 16.0, dtype=torch.float32)
    y = torch.as_tensor(y[:n])
    return X, y, nn.functional.one_hot(y, 10).float()


def double_copy(model: nn.Module) -> nn.Module:
    """A float64 copy of ``model``."""
    return copy.deepcopy(model).double()


