"""Tasks (the synthetic teacher and scikit-learn's digits) and a minimal seeded training loop with a status.

The data and protocol are those of the CPU-scale reproduction described in ``docs/depth.md``
("Reproduction"); the paper itself (arXiv 2512.21075) uses CIFAR-10.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from stablelearn._conventions import as_rng, check_choice, check_float, check_int, check_statuses, torch_generator

from .parametrize import Parametrized, param_groups, record_of
from .schemes import ROLES, check_optimizer

TASKS = ("teacher", "digits")


@dataclass
class Task:
    """A supervised data set.

    Attributes
    ----------
    name : str
    X : torch.Tensor
        Inputs, floating point, shape (N, features...).
    y : torch.Tensor
        Targets: class indices (int64, shape (N,)) for ``loss="ce"``, floats (N, outputs) for ``"mse"``.
    loss : {"mse", "ce"}
    """

    name: str
    X: torch.Tensor
    y: torch.Tensor
    loss: str

    def __post_init__(self) -> None:
        check_choice(self.loss, "loss", ("mse", "ce"))
        if not isinstance(self.X, torch.Tensor) or not isinstance(self.y, torch.Tensor):
            raise TypeError("X and y must be torch tensors")
        if not self.X.is_floating_point():
            raise TypeError(f"X must be a floating-point tensor, got dtype {self.X.dtype}")
        if self.X.dim() < 2 or len(self.X) == 0 or len(self.y) != len(self.X):
            raise ValueError(f"X must have shape (N, features) with N >= 1 and y N rows; got X {tuple(self.X.shape)}, "
                             f"y {tuple(self.y.shape)}")

    @property
    def in_dim(self) -> int:
        """Number of input features."""
        return int(self.X.shape[1])

    @property
    def out_dim(self) -> int:
        """Number of outputs (classes for cross-entropy)."""
        return int(self.y.max()) + 1 if self.loss == "ce" else int(self.y.shape[1])

    def loss_fn(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy or mean squared error."""
        return F.cross_entropy(out, y) if self.loss == "ce" else F.mse_loss(out, y)


def teacher_task(n_samples: int = 2048, dim: int = 16, hidden: int = 64, seed: int | np.random.Generator | None = 0
                 ) -> Task:
    """Synthetic teacher: x ~ N(0, I_d), y = tanh(2 W2 tanh(2 W1 x)), standardised, MSE loss.

    Parameters
    ----------
    n_samples, dim, hidden : int
        N, the input dimension d and the teacher's hidden width.
    seed : int, None or numpy.random.Generator

    Returns
    -------
    Task
    """
    n_samples = check_int(n_samples, "n_samples", low=2)
    dim = check_int(dim, "dim", low=1)
    hidden = check_int(hidden, "hidden", low=1)
    rng = as_rng(seed)
    X = rng.standard_normal((n_samples, dim))
    W1 = rng.standard_normal((dim, hidden)) / math.sqrt(dim)
    W2 = rng.standard_normal((hidden, 1)) / math.sqrt(hidden)
    y = np.tanh(2 * np.tanh(2 * X @ W1) @ W2)
    y = (y - y.mean()) / max(float(y.std()), 1e-12)
    return Task("teacher", torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.float32), "mse")


def digits_task(n_train: int = 1500, seed: int | np.random.Generator | None = 0) -> Task:
    """scikit-learn's digits (1797 x 64), standardised, ``n_train`` random rows, cross-entropy loss.

    Parameters
    ----------
    n_train : int
        Rows kept (1 to 1797).
    seed : int, None or numpy.random.Generator
        Which rows.

    Returns
    -------
    Task
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    n_train = check_int(n_train, "n_train", low=1, high=len(X))
    idx = as_rng(seed).permutation(len(X))[:n_train]
    X = X[idx]
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    return Task("digits", torch.tensor(X, dtype=torch.float32), torch.tensor(y[idx], dtype=torch.long), "ce")


def make_task(name: str, seed: int | np.random.Generator | None = 0) -> Task:
    """A task by name.

    Parameters
    ----------
    name : {"teacher", "digits"}
    seed : int, None or numpy.random.Generator

    Returns
    -------
    Task
    """
    check_choice(name, "task", TASKS)
    return teacher_task(seed=seed) if name == "teacher" else digits_task(seed=seed)


STATUSES = check_statuses(("completed", "diverged", "non_finite"), "stablelearn.depth")


@dataclass
class TrainResult:
    """One training run.

    Attributes
    ----------
    final_loss : float
        Full-data loss after training; ``inf`` when the run did not complete.
    status : str
        ``"completed"`` (every step ran and the final loss is finite and below the divergence threshold),
        ``"diverged"`` (a loss exceeded ``diverge_factor`` times the initial full-data loss) or
        ``"non_finite"`` (a loss was NaN or infinite).
    n_iter : int
        Optimizer steps taken.
    wall_time : float
        Seconds.
    history : dict of numpy.ndarray
        ``"loss"``: the minibatch loss of every step run (before that step's update).
    diverged_at : int or None
        The step whose loss crossed the threshold (``n_iter`` when it was the final evaluation); None
        when the run completed.
    """

    final_loss: float
    status: str
    n_iter: int
    wall_time: float
    history: dict[str, np.ndarray]
    diverged_at: int | None = None


def diverged_status(value: float) -> str:
    """``"non_finite"`` for a NaN or infinite loss, else ``"diverged"``."""
    return "diverged" if math.isfinite(value) else "non_finite"


def check_task_fits(model: nn.Module, task: Task) -> None:
    """Raise ValueError naming the mismatch when ``model``'s stem or readout does not fit ``task``."""
    if not isinstance(task, Task):
        raise TypeError(f"task must be a stablelearn.depth.Task, got {type(task).__name__}")
    record = record_of(model)
    modules = dict(model.named_modules())
    stem, head = modules[record.input_layer], modules[record.output_layer]
    fan_in = getattr(stem, "in_features", getattr(stem, "in_channels", None))
    if fan_in is not None and task.X.dim() >= 2 and int(task.X.shape[1]) != fan_in:
        raise ValueError(f"model and task do not fit: the model's stem takes {fan_in} inputs, task {task.name!r} "
                         f"has {int(task.X.shape[1])} features")
    fan_out = getattr(head, "out_features", getattr(head, "out_channels", None))
    if fan_out is not None and fan_out != task.out_dim:
        raise ValueError(f"model and task do not fit: the model's readout has {fan_out} outputs, task "
                         f"{task.name!r} needs {task.out_dim}")


def select_roles(record: Parametrized, roles: tuple[str, ...] | None) -> set[str]:
    """Names of the parameters whose role is in ``roles`` (all when None)."""
    if roles is not None:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"roles must be a subset of {ROLES}; unknown {sorted(unknown)}")
    return {k for k, r in record.roles.items() if roles is None or r in roles}


@torch.no_grad()
def evaluate(model: nn.Module, task: Task) -> float:
    """Full-data loss of ``model`` on ``task``."""
    return float(task.loss_fn(model(task.X), task.y))


def make_optimizer(model: nn.Module, lr: float, optimizer: str = "adam",
                   roles: tuple[str, ...] | None = None) -> torch.optim.Optimizer:
    """``torch.optim.SGD`` or ``torch.optim.Adam`` on :func:`param_groups` of a parametrised ``model``."""
    groups = param_groups(model, lr, optimizer, roles=roles)
    return (torch.optim.SGD if check_optimizer(optimizer) == "sgd" else torch.optim.Adam)(groups, lr=lr)


def train(model: nn.Module, task: Task, *, lr: float, steps: int, optimizer: str = "adam",
          batch_size: int = 128, seed: int | torch.Generator | None = 0, roles: tuple[str, ...] | None = None,
          diverge_factor: float = 1e3) -> TrainResult:
    """Train a parametrised ``model`` on ``task`` with the scheme's parameter groups.

    The protocol of the LR sweeps in ``docs/depth.md`` ("Reproduction"): minibatches drawn with
    replacement, the full-data loss at the end.

    Parameters
    ----------
    model : nn.Module
        A network prepared by :func:`~stablelearn.depth.parametrize` (or one of the package's models).
    task : Task
        The data; its feature and output sizes must fit the model's stem and readout.
    lr : float
        Base learning rate (each parameter gets ``lr`` times its scheme's factor).
    steps : int
        Optimizer steps (>= 0).
    optimizer : {"adam", "sgd"}
    batch_size : int
    seed : int, None or torch.Generator
        The minibatch order (a generator seeded with it; the global RNG is not used).
    roles : tuple of str, optional
        Train only these roles; ``("block", "block_inner", "block_vector", "hidden")`` freezes the stem
        and readout as TP6 does.
    diverge_factor : float
        A non-finite loss, or one above ``diverge_factor`` times the initial full-data loss, stops the
        run (status ``"non_finite"`` or ``"diverged"``, ``final_loss = inf``). At least 1.

    Returns
    -------
    TrainResult
    """
    steps = check_int(steps, "steps", low=0)
    batch_size = check_int(batch_size, "batch_size", low=1)
    diverge_factor = check_float(diverge_factor, "diverge_factor", low=1.0)
    check_task_fits(model, task)
    t0 = time.perf_counter()
    opt = make_optimizer(model, lr, optimizer, roles=roles)
    gen = torch_generator(seed)
    start = evaluate(model, task)
    limit = diverge_factor * max(start, 1e-12)
    losses = np.full(steps, np.nan)
    for s in range(steps):
        idx = torch.randint(len(task.X), (batch_size,), generator=gen)
        loss = task.loss_fn(model(task.X[idx]), task.y[idx])
        value = float(loss.detach())
        losses[s] = value
        if not math.isfinite(value) or value > limit:
            return TrainResult(math.inf, diverged_status(value), s, time.perf_counter() - t0,
                               {"loss": losses[: s + 1]}, s)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    final = evaluate(model, task)
    if not math.isfinite(final) or final > limit:
        return TrainResult(math.inf, diverged_status(final), steps, time.perf_counter() - t0,
                           {"loss": losses}, steps)
    return TrainResult(final, "completed", steps, time.perf_counter() - t0, {"loss": losses})
