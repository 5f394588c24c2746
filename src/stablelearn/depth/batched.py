"""Batched training: many copies of one network, each with its own learning rate and data order, trained
as one stacked model (``torch.func.functional_call`` under ``vmap``).

An LR sweep trains the same small network for every (learning rate, seed); one at a time, most of the
time goes to Python and per-operation overhead. :func:`train_batched` stacks every member's parameters
along a new leading axis, computes all members' losses and gradients in one vmapped call per step and
applies SGD or Adam with a per-member learning rate. Each member reproduces what
:func:`~stablelearn.depth.train` does for it alone (same initial weights, same minibatches, same update
rule; equal to float32 round-off), and a member that diverges is recorded and dropped from the stack
without affecting the others.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from stablelearn._conventions import check_float, check_int

from .parametrize import record_of
from .schemes import check_optimizer
from .training import Task, TrainResult, check_task_fits, diverged_status, select_roles

__all__ = ["train_batched"]

_BETAS = (0.9, 0.999)
_EPS = 1e-8


def _stack(models: Sequence[nn.Module], names: Sequence[str]) -> dict[str, torch.Tensor]:
    params = [dict(m.named_parameters()) for m in models]
    return {k: torch.stack([p[k].detach() for p in params]).clone() for k in names}


def train_batched(models: Sequence[nn.Module], task: Task, *, lrs: Sequence[float], seeds: Sequence[int],
                  steps: int, optimizer: str = "adam", batch_size: int = 128,
                  roles: tuple[str, ...] | None = None, diverge_factor: float = 1e3) -> list[TrainResult]:
    """Train ``len(lrs)`` members at once; member ``i`` starts from ``models[i]`` and uses ``lrs[i]``, ``seeds[i]``.

    Equivalent, member by member, to ``train(models[i], task, lr=lrs[i], seed=seeds[i], ...)`` (the same
    minibatches, drawn from a generator seeded with the member's seed, and the same SGD or Adam update
    with the scheme's per-parameter LR factors), up to float32 round-off. The models are not modified.

    Parameters
    ----------
    models : sequence of nn.Module
        One parametrised network per member (the same object may appear several times: members that
        share an initialisation), all of one architecture and scheme.
    task : Task
        The data.
    lrs : sequence of float
        Base learning rate per member (finite, > 0).
    seeds : sequence of int
        Data-order seed per member (as ``train``'s ``seed``).
    steps, optimizer, batch_size, roles, diverge_factor
        As in :func:`~stablelearn.depth.train`.

    Returns
    -------
    list of TrainResult
        One per member, in order.
    """
    n = len(models)
    if n == 0 or len(lrs) != n or len(seeds) != n:
        raise ValueError(f"models, lrs and seeds must have the same non-zero length, got {n}, {len(lrs)}, "
                         f"{len(seeds)}")
    steps = check_int(steps, "steps", low=0)
    batch_size = check_int(batch_size, "batch_size", low=1)
    diverge_factor = check_float(diverge_factor, "diverge_factor", low=1.0)
    lrs = [check_float(v, "lrs", low=0.0, low_inclusive=False) for v in lrs]
    seeds = [check_int(s, "seeds", low=0) for s in seeds]
    opt = check_optimizer(optimizer)
    base = models[0]
    record = record_of(base)
    for m in models:
        check_task_fits(m, task)
    t0 = time.perf_counter()
    trained = select_roles(record, roles)
    names = [k for k, _ in base.named_parameters()]
    train_names = [k for k in names if k in trained]
    frozen_names = [k for k in names if k not in trained]
    buffers = {k: v for k, v in base.named_buffers()}
    P = _stack(models, train_names)
    F = _stack(models, frozen_names)
    dtype = next(iter(P.values())).dtype if P else torch.float32
    factors = {k: record.lr_factor(k, opt) for k in train_names}
    lr = torch.tensor(lrs, dtype=torch.float64)

    def loss_of(p: dict, f: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return task.loss_fn(functional_call(base, ({**p, **f}, buffers), (x,)), y)

    batch_fn = vmap(loss_of)
    eval_fn = vmap(loss_of, in_dims=(0, 0, None, None))

    def step_fn(p: dict, f: dict, x: torch.Tensor, y: torch.Tensor) -> tuple[dict, torch.Tensor]:
        # vmapped forward, ordinary autograd backward (faster than vmap(grad(...)), same gradients):
        # the members' losses are independent, so the gradient of their sum is each member's own
        leaves = {k: v.detach().requires_grad_() for k, v in p.items()}
        losses = batch_fn(leaves, f, x, y)
        grads = torch.autograd.grad(losses.sum(), list(leaves.values())) if leaves else ()
        return dict(zip(leaves, grads)), losses.detach()
    with torch.no_grad():
        start = eval_fn(P, F, task.X, task.y).tolist()
    limit = np.array([diverge_factor * max(s, 1e-12) for s in start])
    distinct = sorted(set(seeds))
    gens = {s: torch.Generator().manual_seed(s) for s in distinct}
    member_seed = torch.tensor([distinct.index(s) for s in seeds])
    alive = np.arange(n)                                   # member ids still in the stack
    history = np.full((n, steps), np.nan)
    results: list[TrainResult | None] = [None] * n
    M = {k: torch.zeros_like(v) for k, v in P.items()} if opt == "adam" else {}
    V = {k: torch.zeros_like(v) for k, v in P.items()} if opt == "adam" else {}
    for s in range(steps):
        idx = torch.stack([torch.randint(len(task.X), (batch_size,), generator=gens[q]) for q in distinct])
        pick = idx[member_seed[alive]]
        grads, losses = step_fn(P, F, task.X[pick], task.y[pick])
        values = losses.detach().numpy().astype(float)
        history[alive, s] = values
        bad = ~np.isfinite(values) | (values > limit[alive])
        if bad.any():
            for j in np.flatnonzero(bad):
                i = int(alive[j])
                results[i] = TrainResult(math.inf, diverged_status(values[j]), s, time.perf_counter() - t0,
                                         {"loss": history[i, : s + 1].copy()}, s)
            keep = torch.from_numpy(np.flatnonzero(~bad))
            alive = alive[~bad]
            if len(alive) == 0:
                break
            P, F, M, V = ({k: v[keep] for k, v in D.items()} for D in (P, F, M, V))
            grads = {k: v[keep] for k, v in grads.items()}
        lr_alive = lr[torch.from_numpy(alive)]
        with torch.no_grad():
            for k in train_names:
                shape = (-1,) + (1,) * (P[k].dim() - 1)
                step_lr = (lr_alive * factors[k]).to(dtype).view(shape)
                g = grads[k]
                if opt == "sgd":
                    P[k] = P[k] - step_lr * g
                    continue
                b1, b2 = _BETAS
                M[k] = M[k].lerp(g, 1 - b1)
                V[k] = V[k].mul(b2).addcmul(g, g, value=1 - b2)
                bc1, bc2 = 1 - b1 ** (s + 1), 1 - b2 ** (s + 1)
                denom = (V[k].sqrt() / math.sqrt(bc2)).add(_EPS)
                P[k] = P[k] - (step_lr / bc1) * M[k] / denom
    if len(alive):
        with torch.no_grad():
            final = eval_fn(P, F, task.X, task.y).numpy().astype(float)
        for j, i in enumerate(alive):
            i = int(i)
            value = float(final[j])
            status = "completed"
            if not math.isfinite(value) or value > limit[i]:
                status, value = diverged_status(value), math.inf
            results[i] = TrainResult(value, status, steps, time.perf_counter() - t0, {"loss": history[i].copy()},
                                     None if status == "completed" else steps)
    return results  # type: ignore[return-value]
