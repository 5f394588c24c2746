"""Tasks (spec 6: digits and a synthetic teacher) and a minimal seeded training loop with a status."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .parametrize import _check_int, param_groups
from .schemes import check_optimizer

TASKS = ("teacher", "digits")


@dataclass
class Task:
    """A supervised data set: inputs ``X`` (float32), targets ``y``, and its loss ("mse" or "ce")."""

    name: str
    X: torch.Tensor
    y: torch.Tensor
    loss: str

    @property
    def in_dim(self) -> int:
        return int(self.X.shape[1])

    @property
    def out_dim(self) -> int:
        return int(self.y.max()) + 1 if self.loss == "ce" else int(self.y.shape[1])

    def loss_fn(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out, y) if self.loss == "ce" else F.mse_loss(out, y)


def teacher_task(n_samples: int = 2048, dim: int = 16, hidden: int = 64, seed: int = 0) -> Task:
    """Synthetic teacher of spec 6: x ~ N(0, I_d), y = tanh(2 W2 tanh(2 W1 x)), standardised, MSE."""
    _check_int(n_samples, "n_samples")
    _check_int(dim, "dim")
    _check_int(hidden, "hidden")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, dim))
    W1 = rng.standard_normal((dim, hidden)) / math.sqrt(dim)
    W2 = rng.standard_normal((hidden, 1)) / math.sqrt(hidden)
    y = np.tanh(2 * np.tanh(2 * X @ W1) @ W2)
    y = (y - y.mean()) / y.std()
    return Task("teacher", torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.float32), "mse")


def digits_task(n_train: int = 1500, seed: int = 0) -> Task:
    """scikit-learn's digits (1797 x 64), standardised, ``n_train`` random training rows, cross-entropy."""
    from sklearn.datasets import load_digits

    _check_int(n_train, "n_train")
    X, y = load_digits(return_X_y=True)
    if n_train > len(X):
        raise ValueError(f"n_train must be <= {len(X)}, got {n_train}")
    idx = np.random.default_rng(seed).permutation(len(X))[:n_train]
    X = X[idx]
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    return Task("digits", torch.tensor(X, dtype=torch.float32), torch.tensor(y[idx], dtype=torch.long), "ce")


def make_task(name: str, seed: int = 0) -> Task:
    """A task by name: "teacher" or "digits"."""
    if name == "teacher":
        return teacher_task(seed=seed)
    if name == "digits":
        return digits_task(seed=seed)
    raise ValueError(f"task must be one of {TASKS}, got {name!r}")


@dataclass
class TrainResult:
    """Training history: minibatch ``losses`` per step, the full-data ``final_loss`` and a ``status``
    ("ok" or "diverged"; a diverged run has ``final_loss = inf``)."""

    losses: np.ndarray
    final_loss: float
    status: str
    steps: int


@torch.no_grad()
def evaluate(model: nn.Module, task: Task) -> float:
    """Full-data loss of ``model`` on ``task``."""
    return float(task.loss_fn(model(task.X), task.y))


def make_optimizer(model: nn.Module, lr: float, optimizer: str = "adam",
                   roles: tuple[str, ...] | None = None) -> torch.optim.Optimizer:
    """``torch.optim.SGD`` or ``Adam`` on :func:`param_groups` of a parametrised ``model``."""
    groups = param_groups(model, lr, optimizer, roles=roles)
    return (torch.optim.SGD if check_optimizer(optimizer) == "sgd" else torch.optim.Adam)(groups, lr=lr)


def train(model: nn.Module, task: Task, *, lr: float, steps: int, optimizer: str = "adam",
          batch_size: int = 128, seed: int = 0, roles: tuple[str, ...] | None = None,
          diverge_factor: float = 1e3) -> TrainResult:
    """Train a parametrised ``model`` on ``task`` with the scheme's parameter groups (spec 6).

    Minibatches are drawn with replacement from a ``torch.Generator`` seeded with ``seed``. ``roles``
    restricts training to those roles (``("block", "block_inner")`` freezes stem and readout as in
    spec 6). A non-finite loss, or one above ``diverge_factor`` times the initial loss, stops the run
    with ``status="diverged"``.
    """
    _check_int(steps, "steps", 0)
    _check_int(batch_size, "batch_size")
    if not isinstance(task, Task):
        raise TypeError(f"task must be a Task, got {type(task).__name__}")
    opt = make_optimizer(model, lr, optimizer, roles=roles)
    gen = torch.Generator().manual_seed(int(seed))
    start = evaluate(model, task)
    losses = np.full(steps, np.nan)
    for s in range(steps):
        idx = torch.randint(len(task.X), (batch_size,), generator=gen)
        loss = task.loss_fn(model(task.X[idx]), task.y[idx])
        value = float(loss.detach())
        losses[s] = value
        if not math.isfinite(value) or value > diverge_factor * max(start, 1e-12):
            return TrainResult(losses[: s + 1], math.inf, "diverged", s + 1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    final = evaluate(model, task)
    if not math.isfinite(final) or final > diverge_factor * max(start, 1e-12):
        return TrainResult(losses, math.inf, "diverged", steps)
    return TrainResult(losses, final, "ok", steps)
