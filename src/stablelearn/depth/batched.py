"""Batched training: many copies of one network, each with its own learning rate and data order, trained
as one stacked model.

An LR sweep trains the same small network for every (learning rate, seed); one at a time, most of the
time goes to Python and per-operation overhead. :func:`train_batched` stacks every member's parameters
along a new leading axis, computes all members' losses and gradients in one call per step and applies
SGD or Adam with a per-member learning rate. Each member reproduces what
:func:`~stablelearn.depth.train` does for it alone (same initial weights, same minibatches, same update
rule; equal to float32 round-off), and a member that diverges is recorded and dropped from the stack
without affecting the others.

Two forward paths (``docs/depth.md``, "Batched sweeps"): for the package's :class:`ResidualMLP` a
stacked forward of batched matrix products (``torch.bmm`` on weights stored as ``[members, in, out]``,
so that every weight gradient comes out contiguous) with ordinary autograd; for any other network
``torch.func.functional_call`` under ``vmap``. Adam runs as one fused update per member
(``torch._fused_adam_``, the kernel of ``torch.optim.Adam(fused=True)``), SGD as one vectorised update
per parameter.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from stablelearn._conventions import check_float, check_int
from stablelearn.nn import ResidualBlock

from .models import Abs, MeanSubtract, ResidualMLP
from .parametrize import _Scale, record_of
from .schemes import check_optimizer
from .training import Task, TrainResult, check_task_fits, diverged_status, evaluate, select_roles

__all__ = ["train_batched"]

_BETAS = (0.9, 0.999)
_EPS = 1e-8
_EVAL_ACTIVATIONS = 2 ** 25         # activations per layer in one chunk of the final evaluation
_STACKABLE = (ResidualMLP, nn.ModuleList, nn.Sequential, nn.Linear, ResidualBlock, nn.ReLU, nn.Tanh, nn.GELU, Abs,
              MeanSubtract)


def _stackable(model: nn.Module) -> bool:
    """Whether the stacked forward reproduces ``model``: a :class:`ResidualMLP` made of known modules
    whose only hook is the readout multiplier."""
    if type(model) is not ResidualMLP:
        return False
    for m in model.modules():
        if type(m) not in _STACKABLE or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks:
            return False
        if any(not isinstance(h, _Scale) for h in m._forward_hooks.values()):
            return False
    return True


def _stacked(module: nn.Module, name: str, x: torch.Tensor, p: dict[str, torch.Tensor]) -> torch.Tensor:
    """``module``'s forward for every member at once: ``x`` is ``[members, batch, features]``, Linear weights
    in ``p`` are ``[members, in, out]``; the same operations, in the same order, as the module's own forward."""
    if isinstance(module, nn.Linear):
        w, b = p[name + ".weight"], p.get(name + ".bias")
        out = torch.bmm(x, w) if b is None else torch.baddbmm(b.unsqueeze(1), x, w)
    elif isinstance(module, ResidualMLP):                  # stem, blocks, phi, readout (_ResidualNet.forward)
        out = _stacked(module.stem, "stem", x, p)
        out = _stacked(module.blocks, "blocks", out, p)
        out = _stacked(module.head, "head", _stacked(module.head_act, "head_act", out, p), p)
    elif isinstance(module, (nn.Sequential, nn.ModuleList)):
        out = x
        for i, m in enumerate(module):
            out = _stacked(m, f"{name}.{i}", out, p)
    elif isinstance(module, ResidualBlock):
        out = x + module.branch_multiplier * _stacked(module.branch, name + ".branch", x, p)
    elif isinstance(module, MeanSubtract):
        out = x - x.mean(dim=-1, keepdim=True)
    else:                                                   # an elementwise activation
        out = module(x)
    for hook in module._forward_hooks.values():             # the readout multiplier
        out = out * hook.multiplier
    return out


def _stack(models: Sequence[nn.Module], names: Sequence[str], transpose: set[str]) -> dict[str, torch.Tensor]:
    params = [dict(m.named_parameters()) for m in models]
    out = {}
    for k in names:
        v = torch.stack([p[k].detach() for p in params])
        out[k] = v.transpose(1, 2).contiguous() if k in transpose else v.clone()
    return out


def _forward_fn(base: nn.Module, stacked: bool) -> Callable[[dict, torch.Tensor], torch.Tensor]:
    """``f(params, x)``: every member's output, ``x`` being ``[members, batch, ...]``."""
    if stacked:
        return lambda p, x: _stacked(base, "", x, p)
    buffers = dict(base.named_buffers())
    return vmap(lambda p, x: functional_call(base, (p, buffers), (x,)))


def train_batched(models: Sequence[nn.Module], task: Task, *, lrs: Sequence[float], seeds: Sequence[int],
                  steps: int, optimizer: str = "adam", batch_size: int = 128,
                  roles: tuple[str, ...] | None = None, diverge_factor: float = 1e3) -> list[TrainResult]:
    """Train ``len(lrs)`` members at once; member ``i`` starts from ``models[i]`` and uses ``lrs[i]``, ``seeds[i]``.

    Equivalent, member by member, to ``train(models[i], task, lr=lrs[i], seed=seeds[i], ...)`` (the same
    minibatches, drawn from a generator seeded with the member's seed, and the same SGD or Adam update
    with the scheme's per-parameter LR factors and Adam-epsilon factors), up to float32 round-off. The
    models are not modified.

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
    stacked = _stackable(base)
    names = [k for k, _ in base.named_parameters()]
    transpose = {f"{k}.weight" for k, m in base.named_modules() if isinstance(m, nn.Linear)} if stacked else set()
    P = _stack(models, names, transpose)
    train_names = [k for k in names if k in trained]
    forward = _forward_fn(base, stacked)
    per_member_loss = vmap(task.loss_fn)
    # members that share an initialisation share its initial loss: evaluate each distinct model once
    start_of: dict[int, float] = {}
    for m in models:
        if id(m) not in start_of:
            start_of[id(m)] = evaluate(m, task)
    limit = np.array([diverge_factor * max(start_of[id(m)], 1e-12) for m in models])
    # Adam: members' parameters grouped by (LR factor, epsilon), one fused update per member and group
    groups: dict[tuple[float, float], list[str]] = {}
    for k in train_names:
        eps = _EPS * record.scheme.adam_eps_factor(record.roles[k], record.m_n, record.m_L) if opt == "adam" else 0.0
        groups.setdefault((record.lr_factor(k, opt), eps), []).append(k)
    M = {k: torch.zeros_like(P[k]) for k in train_names} if opt == "adam" else {}
    V = {k: torch.zeros_like(P[k]) for k in train_names} if opt == "adam" else {}
    distinct = sorted(set(seeds))
    gens = {s: torch.Generator().manual_seed(s) for s in distinct}
    member_seed = torch.tensor([distinct.index(s) for s in seeds])
    alive = np.arange(n)                                   # member ids still in the stack
    history = np.full((n, steps), np.nan)
    results: list[TrainResult | None] = [None] * n
    lr = torch.tensor(lrs, dtype=torch.float64)
    views = None
    for s in range(steps):
        idx = torch.stack([torch.randint(len(task.X), (batch_size,), generator=gens[q]) for q in distinct])
        pick = idx[member_seed[alive]]
        leaves = {k: v.detach().requires_grad_(k in trained) for k, v in P.items()}
        losses = per_member_loss(forward(leaves, task.X[pick]), task.y[pick])
        grads = torch.autograd.grad(losses.sum(), [leaves[k] for k in train_names]) if train_names else ()
        grads = dict(zip(train_names, (g.contiguous() for g in grads)))
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
            P, M, V, grads = ({k: v[keep] for k, v in D.items()} for D in (P, M, V, grads))
        with torch.no_grad():
            if opt == "sgd":
                for (factor, _), ks in groups.items():
                    step_lr = (lr[torch.from_numpy(alive)] * factor).to(P[ks[0]].dtype)
                    for k in ks:
                        P[k].addcmul_(step_lr.view((-1,) + (1,) * (P[k].dim() - 1)), grads[k], value=-1)
                continue
            if views is None or bad.any():                  # per-member views of the state, kept until a drop
                views = {g: [[[D[k][j] for k in ks] for D in (P, M, V)] for j in range(len(alive))]
                         for g, ks in groups.items()}
            step = torch.tensor(float(s + 1))
            for (factor, eps), ks in groups.items():
                for j, i in enumerate(alive):
                    p, m, v = views[factor, eps][j]
                    torch._fused_adam_(p, [grads[k][j] for k in ks], m, v, [], [step] * len(ks), lr=lrs[i] * factor,
                                       beta1=_BETAS[0], beta2=_BETAS[1], weight_decay=0.0, eps=eps, amsgrad=False,
                                       maximize=False)
    if len(alive):
        # the final full-data loss, a few members at a time (memory: _EVAL_ACTIVATIONS per layer at once)
        width = max([v.shape[-1] for v in P.values()] + [1])
        chunk = max(1, _EVAL_ACTIVATIONS // (len(task.X) * width))
        parts = []
        with torch.no_grad():
            for lo in range(0, len(alive), chunk):
                q = {k: v[lo:lo + chunk] for k, v in P.items()}
                m = min(chunk, len(alive) - lo)
                out = forward(q, task.X.expand(m, *task.X.shape))
                parts.append(per_member_loss(out, task.y.expand(m, *task.y.shape)))
        final = torch.cat(parts).numpy().astype(float)
        for j, i in enumerate(alive):
            i = int(i)
            value = float(final[j])
            status = "completed"
            if not math.isfinite(value) or value > limit[i]:
                status, value = diverged_status(value), math.inf
            results[i] = TrainResult(value, status, steps, time.perf_counter() - t0, {"loss": history[i].copy()},
                                     None if status == "completed" else steps)
    return results  # type: ignore[return-value]
