"""V6 and V9: the edge of stability through the monitor, and the ReLU selection against the product bound."""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from stablelearn._conventions import torch_seeded
from stablelearn.stability import StabilityMonitor, input_jacobian_norm, sharpness, spectral_norm_bound

from .data import digits, double_copy, mse_half

def _tanh_mlp(seed: int) -> nn.Module:
    with torch_seeded(seed):
        return nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))


def _full_batch_gd(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, eta: float, steps: int,
                   mon: StabilityMonitor | None = None) -> tuple[float, list[float], list]:
    """Full-batch GD; with ``mon``, ``on_step`` after every update and a copy of the weights at each check."""
    opt = torch.optim.SGD(model.parameters(), lr=eta)
    losses, snapshots = [], []
    t0 = time.perf_counter()
    for step in range(steps + 1):
        opt.zero_grad()
        loss = mse_half(model(X), Y)
        losses.append(loss.item())
        loss.backward()
        opt.step()
        if mon is not None:
            row = mon.on_step(step, opt)
            if row is not None and row.get("check"):
                snapshots.append([p.detach().clone() for p in model.parameters()])
    return time.perf_counter() - t0, losses, snapshots


def v6_edge_of_stability(cell: dict) -> dict:
    """V6: full-batch GD on a tanh MLP: progressive sharpening to 2/eta and hovering there (EoS), drawn by
    ``StabilityMonitor`` itself (tracked sharpness every ``check_every`` steps at its default tolerance).

    The same run without the monitor gives the overhead; the exact sharpness (cold Lanczos to 1e-6) at the
    weights of every check gives the tracking error."""
    X, _, Y = digits(cell["n"])
    eta, steps = cell["eta"], cell["steps"]
    plain_time, _, _ = _full_batch_gd(_tanh_mlp(cell["seed"]), X, Y, eta, steps)
    model = _tanh_mlp(cell["seed"])
    mon = StabilityMonitor(model, mse_half, (X, Y), every=cell["check_every"], metrics=("sharpness", "probe_loss"),
                           alerts="off", seed=cell["seed"])
    wall, losses, snapshots = _full_batch_gd(model, X, Y, eta, steps, mon)
    mon.close()
    checks = mon.history.checks()
    exact = []
    for params in snapshots:
        with torch.no_grad():
            for p, q in zip(model.parameters(), params):
                p.copy_(q)
        exact.append(sharpness(model, mse_half, (X, Y), tol=1e-6, iters=300).value)
    return {"eta": eta, "edge": 2 / eta, "steps": checks.column("step"), "sharpness": checks.column("sharpness"),
            "exact": np.asarray(exact), "hvps": checks.column("hvps"), "losses": np.asarray(losses),
            "alerts": len(mon.fired), "plain_time": plain_time, "monitored_time": wall,
            "monitor_share": mon.monitor_time / mon.train_time}


def v9_relu_selection(cell: dict) -> dict:
    """V9: ReLU MLP on digits: autograd's ||J_x|| (selection ReLU'(0) = 0) against the product bound, per x;
    fp32 vs fp64 agreement of the activation pattern (the Clarke selection) and of ||J_x||."""
    X, y, _ = digits(cell["n"])
    with torch_seeded(cell["seed"]):
        model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(cell["train_steps"]):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
    probe = X[: cell["probe"]]
    bound = spectral_norm_bound(model, probe, iters=200)
    tool = input_jacobian_norm(model, probe, iters=500, tol=1e-7, seed=cell["seed"])
    per_x = {}
    for name, m, xs in (("fp32", model, probe), ("fp64", double_copy(model), probe.double())):
        jac = torch.func.vmap(torch.func.jacrev(m))(xs)
        per_x[name] = torch.linalg.matrix_norm(jac.double(), ord=2).detach().numpy()
    pre32 = model[0](probe), model[2](model[1](model[0](probe)))
    m64 = double_copy(model)
    pre64 = m64[0](probe.double()), m64[2](m64[1](m64[0](probe.double())))
    same = np.mean([((a > 0) == (b > 0)).float().mean().item() for a, b in zip(pre32, pre64)])
    near = int(sum(((a.abs() < cell["kink_tol"]).sum().item() for a in pre64)))
    return {"bound": bound.bound, "tool_max": bound.measured, "tool_per_x": tool.values, "tool_converged": tool.converged,
            "per_x32": per_x["fp32"], "per_x64": per_x["fp64"],
            "pattern_agreement": float(same), "near_kink": near, "accuracy": float((model(X).argmax(1) == y).float().mean())}
