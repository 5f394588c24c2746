"""StabilityMonitor overhead and tracking accuracy: the same training run with and without the monitor.

Run: python benchmarks/stability_monitor.py [--quick] [--repeats N] [--pieces]
SGD with momentum 0.9 (lr 0.05, batch 64) on digits, for an MLP 64-256-256-10 and a small CNN; the monitor
tracks the sharpness (and the probe loss, read off the same graph) on a fixed probe every 100 or every 1000
steps, with ``tracking="power"`` (the default) or ``"lanczos"`` (the previous default). Plain and monitored
runs alternate in one process, best of N for each (the machine is shared, so the minimum is the least
disturbed run), in wall time and in this process's CPU time. "monitor clock" is the time inside ``on_step``
over the training time between the calls, both measured by the monitor in the same run. The tracked sharpness
is compared with the exact top eigenvalue (a cold Lanczos to 1e-6) at the weights of every check, from one
more monitored run that keeps a copy of the weights at each check. A first table gives the cost of the pieces
of a check (one gradient graph on the probe, one HVP by three routes) in training steps. Writes
benchmarks/results/stability_monitor.json.
"""

from __future__ import annotations

import argparse
import copy
import os

import torch
from _common import Clock, best_of, print_table, write_results
from torch import nn
from torch.func import functional_call, jvp, vjp

from stablelearn._conventions import limit_threads, torch_seeded
from stablelearn.stability import StabilityMonitor, hessian_eigenvalues

LR, MOMENTUM, BATCH = 0.05, 0.9, 64


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return torch.as_tensor(X / 16.0, dtype=torch.float32), torch.as_tensor(y)


def _model(kind: str) -> nn.Module:
    with torch_seeded(0):
        if kind == "mlp":
            return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
        return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(32 * 64, 10))


def sgd_step(model: nn.Module, opt: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor,
             gen: torch.Generator) -> None:
    """One SGD step of the benchmark on a random batch of ``BATCH`` rows drawn from ``gen``."""
    idx = torch.randint(0, X.shape[0], (BATCH,), generator=gen)
    opt.zero_grad()
    nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
    opt.step()


def train(kind: str, steps: int, every: int | None, probe: int = 512, tracking: str = "power",
          snapshots: list | None = None) -> tuple[float, float, dict]:
    """Wall and CPU time of ``steps`` SGD steps (monitored every ``every`` steps unless None) and the record."""
    X, y = _data()
    model = _model(kind)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.functional.cross_entropy
    mon = None
    if every is not None:
        mon = StabilityMonitor(model, loss_fn, (X[:probe], y[:probe]), every=every, alerts="off",
                               metrics=("sharpness", "probe_loss"), tracking=tracking)
    gen = torch.Generator().manual_seed(0)
    clock = Clock()
    for step in range(steps):
        sgd_step(model, opt, X, y, gen)
        if mon is not None:
            row = mon.on_step(step, opt)
            if snapshots is not None and row is not None and row.get("check"):
                snapshots.append((step, copy.deepcopy(model.state_dict()), row["sharpness"]))
    wall, cpu = clock.elapsed()
    info: dict = {}
    if mon is not None:
        hvps = mon.history.checks().column("hvps")
        info = {"checks": len(hvps), "hvps_first": float(hvps[0]),
                "hvps_mean_later": float(hvps[1:].mean()) if len(hvps) > 1 else float("nan"),
                "monitor_share": mon.monitor_time / mon.train_time}
        mon.close()
    return wall, cpu, info


def accuracy(kind: str, steps: int, every: int, probe: int, tracking: str) -> dict:
    """Max and mean relative error of the tracked sharpness against a cold exact solve at the same weights,
    and the smallest relative gap between the top two exact eigenvalues at the checks."""
    snaps: list = []
    train(kind, steps, every, probe, tracking, snapshots=snaps)
    X, y = _data()
    model = _model(kind)
    errors, gaps = [], []
    for _, state, tracked in snaps:
        model.load_state_dict(state)
        top, second = hessian_eigenvalues(model, nn.functional.cross_entropy, (X[:probe], y[:probe]), k=2,
                                          tol=1e-6, iters=300).values
        errors.append(abs(tracked - top) / abs(top))
        gaps.append((top - second) / abs(top))
    return {"max_rel_error": max(errors), "mean_rel_error": sum(errors) / len(errors), "n": len(errors),
            "errors": errors, "min_gap": min(gaps)}


def _best(fn, n: int = 7) -> float:
    """Best wall seconds of ``n`` calls of ``fn``."""
    return best_of({"fn": fn}, n)["fn"][0]


def hvp_costs(kind: str, probe: int = 512) -> list:
    """Best-of-7 wall time of one training step, a forward and a gradient on the probe, the gradient graph a
    check builds, and one HVP three ways (on that retained graph; double-backward rebuilding the graph;
    torch.func forward-over-reverse), each also in training steps."""
    X, y = _data()
    xp, yp = X[:probe], y[:probe]
    loss_fn = nn.functional.cross_entropy
    model = _model(kind)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    gen = torch.Generator().manual_seed(0)

    def steps() -> None:
        for _ in range(20):
            sgd_step(model, opt, X, y, gen)

    params = {k: p.detach().clone() for k, p in model.named_parameters()}
    v = {k: torch.randn(p.shape, generator=gen) for k, p in params.items()}

    def loss(p: dict) -> torch.Tensor:
        return loss_fn(functional_call(model, p, (xp,)), yp)

    def graph() -> tuple[list, tuple]:
        leaves = [p.detach().requires_grad_(True) for p in params.values()]
        g = torch.autograd.grad(loss(dict(zip(params, leaves))), leaves, create_graph=True)
        return leaves, g

    def forward() -> None:
        with torch.no_grad():
            loss(params)

    def gradient() -> None:
        leaves = [p.detach().requires_grad_(True) for p in params.values()]
        torch.autograd.grad(loss(dict(zip(params, leaves))), leaves)

    leaves, g = graph()

    def retained() -> None:
        torch.autograd.grad(g, leaves, list(v.values()), retain_graph=True)

    def double_backward() -> None:
        leaves2, g2 = graph()
        torch.autograd.grad(g2, leaves2, list(v.values()))

    def forward_over_reverse() -> None:
        def grad_fn(p: dict) -> dict:
            value, pullback = vjp(loss, p)
            return pullback(torch.ones_like(value))[0]

        jvp(grad_fn, (params,), (v,))

    step = _best(steps) / 20
    rows = []
    for name, fn in [("forward on the probe", forward), ("gradient on the probe", gradient),
                     ("gradient graph (create_graph) on the probe", graph), ("HVP on the retained graph", retained),
                     ("HVP by double-backward (graph rebuilt)", double_backward),
                     ("HVP by forward-over-reverse (torch.func)", forward_over_reverse)]:
        t = _best(fn)
        rows.append([kind, probe, name, 1e3 * t, t / step])
    return [[kind, probe, "training step (batch 64)", 1e3 * step, 1.0]] + rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and configurations")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pieces", action="store_true", help="only the table of a check's pieces")
    args = parser.parse_args()
    if args.pieces:
        with limit_threads(1):
            load = os.getloadavg()[0]
            rows = hvp_costs("mlp") + hvp_costs("cnn")
        costs = print_table(f"Pieces of a check, best of 7, one torch thread (load {load:.1f})",
                            ["model", "probe", "what", "ms", "training steps"], rows)
        write_results("stability_monitor_pieces", {"costs": costs, "load_average": load})
        return
    steps = 500 if args.quick else 2000
    configs = [("mlp", 100, 512, "lanczos"), ("mlp", 100, 512, "power"), ("mlp", 1000, 512, "power"),
               ("mlp", 100, 128, "power"), ("cnn", 100, 512, "lanczos"), ("cnn", 100, 512, "power"),
               ("cnn", 1000, 512, "power"), ("cnn", 100, 128, "power")]
    if args.quick:
        configs = [c for c in configs if c[1] == 100 and c[2] == 512]
    rows, records, cost_rows = [], [], []
    with limit_threads(1):
        load_start = os.getloadavg()
        for kind in ("mlp", "cnn"):
            cost_rows += hvp_costs(kind)
        costs = print_table(f"Pieces of a check, best of 7, one torch thread (load {load_start[0]:.1f})",
                            ["model", "probe", "what", "ms", "training steps"], cost_rows)
        for kind, every, probe, tracking in configs:
            train(kind, 30, every, probe, tracking)  # warm-up: imports and first-call overheads
            load = os.getloadavg()[0]
            runs: dict[str, list] = {"plain": [], "monitored": []}
            for _ in range(args.repeats):  # interleaved
                runs["plain"].append(train(kind, steps, None))
                runs["monitored"].append(train(kind, steps, every, probe, tracking))
            load = max(load, os.getloadavg()[0])
            pw, pc = min(r[0] for r in runs["plain"]), min(r[1] for r in runs["plain"])
            mw, mc = min(r[0] for r in runs["monitored"]), min(r[1] for r in runs["monitored"])
            infos = [r[2] for r in runs["monitored"]]
            info = infos[0]
            share = min(i["monitor_share"] for i in infos)
            acc = accuracy(kind, steps, every, probe, tracking)
            rows.append([kind, every, probe, tracking, pw, mw, mw / pw - 1, mc / pc - 1, share, info["checks"],
                         info["hvps_first"], info["hvps_mean_later"], acc["max_rel_error"], acc["mean_rel_error"],
                         acc["min_gap"], load])
            records.append({"model": kind, "every": every, "probe": probe, "tracking": tracking, "steps": steps,
                            "plain": runs["plain"], "monitored": [r[:2] for r in runs["monitored"]],
                            "extra_wall": mw / pw - 1, "extra_cpu": mc / pc - 1, "monitor_clock_share": share,
                            "load_average_max": load, **info, **acc})
            print(rows[-1], flush=True)
    table = print_table(
        f"StabilityMonitor overhead (best of {args.repeats}, interleaved, one torch thread) and tracking accuracy",
        ["model", "every", "probe", "tracking", "plain s", "monitored s", "extra wall", "extra CPU", "monitor clock",
         "checks", "HVPs first check", "HVPs per later check", "max rel. error vs exact", "mean rel. error",
         "min top-2 gap", "load (1 min)"], rows)
    write_results("stability_monitor", {"quick": args.quick, "costs": costs, "table": table, "rows": records})


if __name__ == "__main__":
    main()
