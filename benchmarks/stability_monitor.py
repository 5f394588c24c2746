"""StabilityMonitor overhead: the same training run with and without the monitor at its default settings.

Run: python benchmarks/stability_monitor.py [--quick]
Mini-batch SGD with momentum on digits (an MLP and a small CNN); the monitor's probe set is 512 fixed
training samples; its defaults (overhead=0.1, metrics=DEFAULT_METRICS) choose how often it checks.
Runs alternate (plain, monitored); medians of ``repeats`` are reported, for wall time and for process CPU
time (one torch thread; robust to other jobs sharing the machine). Target: <= 10 % extra time.
Writes benchmarks/results/stability_monitor.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from stablelearn.stability import StabilityMonitor


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return torch.as_tensor(X / 16.0, dtype=torch.float32), torch.as_tensor(y)


def _model(kind: str) -> nn.Module:
    torch.manual_seed(0)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(32 * 64, 10))


def train(kind: str, steps: int, monitored: bool, batch: int = 64) -> tuple[float, dict]:
    X, y = _data()
    model = _model(kind)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.functional.cross_entropy
    mon = StabilityMonitor(model, loss_fn, (X[:512], y[:512]), alerts="off") if monitored else None
    gen = torch.Generator().manual_seed(0)
    t0, c0 = time.perf_counter(), time.process_time()
    for step in range(steps):
        idx = torch.randint(0, X.shape[0], (batch,), generator=gen)
        opt.zero_grad()
        loss_fn(model(X[idx]), y[idx]).backward()
        opt.step()
        if mon is not None:
            mon.on_step(step, opt)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    info = {"cpu": cpu}
    if mon is not None:
        checks = mon.history.checks()
        info |= {"checks": len(checks), "every": round(mon.effective_every),
                "monitor_share": mon.monitor_time / mon.train_time,
                "last_sharpness": float(checks.column("sharpness")[-1]) if len(checks) else float("nan")}
        mon.close()
    return wall, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    args = parser.parse_args()
    torch.set_num_threads(1)
    steps, repeats = (1000, 3) if args.quick else (5000, 5)
    rows, records = [], []
    for kind in ("mlp", "cnn"):
        train(kind, 50, True)  # warm-up: imports and first-call overheads
        plain, mon, plain_cpu, mon_cpu, shares, info = [], [], [], [], [], {}
        for _ in range(repeats):
            wall, base = train(kind, steps, False)
            plain.append(wall)
            plain_cpu.append(base["cpu"])
            wall, info = train(kind, steps, True)
            mon.append(wall)
            mon_cpu.append(info["cpu"])
            shares.append(info["monitor_share"])
        p, m = statistics.median(plain), statistics.median(mon)
        pc, mc = statistics.median(plain_cpu), statistics.median(mon_cpu)
        extra, extra_cpu, share = m / p - 1, mc / pc - 1, statistics.median(shares)
        rows.append(f"| {kind} | {steps} | {p:.2f} | {m:.2f} | {extra:+.1%} | {extra_cpu:+.1%} | {share:.1%} | "
                    f"{info['checks']} | {info['every']} |")
        records.append({"model": kind, "steps": steps, "plain_s": plain, "monitored_s": mon, "plain_cpu_s": plain_cpu,
                        "monitored_cpu_s": mon_cpu, "extra_wall": extra, "extra_cpu": extra_cpu,
                        "monitor_share": shares, **info})
    print("| model | steps | plain wall s | monitored wall s | extra wall | extra CPU time | monitor/train time "
          "(monitor's clock) | checks | steps per check |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    out = Path(__file__).parent / "results" / "stability_monitor.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"quick": args.quick, "rows": records}, indent=1, default=float))


if __name__ == "__main__":
    main()
