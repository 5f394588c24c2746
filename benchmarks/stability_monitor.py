"""StabilityMonitor overhead and tracking accuracy: the same training run with and without the monitor.

Run: python benchmarks/stability_monitor.py [--quick]
SGD with momentum 0.9 (lr 0.05, batch 64) on digits, for an MLP 64-256-256-10 and a small CNN; the monitor
tracks the sharpness (and the probe loss, read off the same graph) on a fixed probe of 512 training samples
every 100 or every 1000 steps. Plain and monitored runs alternate in one process; the best of 3 is kept for
each (the machine is shared, so the minimum is the least disturbed run). "monitor clock" is the time spent
inside ``on_step`` over the training time between the calls, both measured by the monitor in the same run
(best of 3): it compares two things measured under the same load, so other jobs move it least. The tracked sharpness is then
compared with the exact top eigenvalue (a cold Lanczos to 1e-6) at the weights of every check, from one more
monitored run that keeps a copy of the weights at each check. Writes benchmarks/results/stability_monitor.json.
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import torch
from _common import print_table, write_results
from torch import nn

from stablelearn._conventions import limit_threads, torch_seeded
from stablelearn.stability import StabilityMonitor, sharpness


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


def train(kind: str, steps: int, every: int | None, probe: int = 512, snapshots: list | None = None,
          batch: int = 64) -> tuple[float, dict]:
    """Wall time of ``steps`` SGD steps (monitored every ``every`` steps unless None) and the monitor's record."""
    X, y = _data()
    model = _model(kind)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.functional.cross_entropy
    mon = None
    if every is not None:
        mon = StabilityMonitor(model, loss_fn, (X[:probe], y[:probe]), every=every, alerts="off",
                               metrics=("sharpness", "probe_loss"))
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for step in range(steps):
        idx = torch.randint(0, X.shape[0], (batch,), generator=gen)
        opt.zero_grad()
        loss_fn(model(X[idx]), y[idx]).backward()
        opt.step()
        if mon is not None:
            row = mon.on_step(step, opt)
            if snapshots is not None and row is not None and row.get("check"):
                snapshots.append((step, copy.deepcopy(model.state_dict()), row["sharpness"], row["hvps"]))
    wall = time.perf_counter() - t0
    info: dict = {}
    if mon is not None:
        checks = mon.history.checks()
        hvps = checks.column("hvps")
        info = {"checks": len(checks), "hvps_first": float(hvps[0]), "hvps_mean_later": float(hvps[1:].mean())
                if len(hvps) > 1 else float("nan"), "monitor_time": mon.monitor_time,
                "monitor_share": mon.monitor_time / mon.train_time}
        mon.close()
    return wall, info


def accuracy(kind: str, steps: int, every: int, probe: int) -> dict:
    """Max and mean relative error of the tracked sharpness against a cold exact solve at the same weights."""
    snaps: list = []
    train(kind, steps, every, probe, snapshots=snaps)
    X, y = _data()
    model = _model(kind)
    errors = []
    for _, state, tracked, _ in snaps:
        model.load_state_dict(state)
        exact = sharpness(model, nn.functional.cross_entropy, (X[:probe], y[:probe]), tol=1e-6, iters=300).value
        errors.append(abs(tracked - exact) / abs(exact))
    return {"max_rel_error": max(errors), "mean_rel_error": sum(errors) / len(errors), "n": len(errors),
            "final_exact": exact, "final_tracked": snaps[-1][2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one configuration pass with fewer steps")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    steps = 500 if args.quick else 2000
    configs = [("mlp", 100, 512), ("mlp", 1000, 512), ("cnn", 100, 512), ("cnn", 1000, 512), ("cnn", 100, 128)]
    rows, records = [], []
    with limit_threads(1):
        for kind, every, probe in configs:
            train(kind, 30, every, probe)  # warm-up: imports and first-call overheads
            plain, monitored, infos = [], [], []
            for _ in range(args.repeats):
                plain.append(train(kind, steps, None)[0])
                wall, info = train(kind, steps, every, probe)
                monitored.append(wall)
                infos.append(info)
            p, m = min(plain), min(monitored)
            info = infos[monitored.index(m)]
            acc = accuracy(kind, steps, every, probe)
            share = min(i["monitor_share"] for i in infos)  # time inside on_step / training time, same run
            rows.append([kind, every, probe, steps, p, m, m / p - 1, share, info["checks"], info["hvps_first"],
                         info["hvps_mean_later"], acc["max_rel_error"], acc["mean_rel_error"]])
            records.append({"model": kind, "every": every, "probe": probe, "steps": steps, "plain_s": plain,
                            "monitored_s": monitored, "extra_wall": m / p - 1, "monitor_clock_share": share,
                            "monitor_shares": [i["monitor_share"] for i in infos],
                            "load_average": os.getloadavg(), **info, **acc})
            print(rows[-1], flush=True)
    table = print_table(
        f"StabilityMonitor overhead (best of {args.repeats}, one torch thread) and tracking accuracy",
        ["model", "every", "probe", "steps", "plain s", "monitored s", "extra wall", "monitor clock", "checks",
         "HVPs first check", "HVPs per later check", "max rel. error vs exact", "mean rel. error"], rows)
    write_results("stability_monitor", {"quick": args.quick, "table": table, "rows": records})


if __name__ == "__main__":
    main()
