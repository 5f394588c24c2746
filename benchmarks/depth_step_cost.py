"""Cost per training step: our parametrised residual MLP vs the same network built with `mup` vs plain torch.

    python benchmarks/depth_step_cost.py [--quick]

All three networks have the same architecture (stem, L one-layer pre-activation blocks, readout) and
the same muP numbers (checked in tests/depth/test_mup_agreement.py); the timing is interleaved over
repetitions and reported as the median ms per Adam step (forward + backward + step), one torch thread.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from _common import print_table, write_results
from torch import nn

from stablelearn._conventions import limit_threads
from stablelearn.depth import MuP, ResidualBlock, ResidualMLP, make_optimizer


class Net(nn.Module):
    def __init__(self, d, width, depth, c, readout):
        super().__init__()
        self.stem = nn.Linear(d, width, bias=False)
        self.blocks = nn.ModuleList(ResidualBlock(nn.Sequential(nn.ReLU(), nn.Linear(width, width, bias=False)))
                                    for _ in range(depth))
        self.head_act = nn.ReLU()
        self.head = readout(width, c, bias=False)

    def forward(self, x):
        h = self.stem(x)
        for b in self.blocks:
            h = b(h)
        return self.head(self.head_act(h))


def build(kind, width, depth, base, lr):
    d, c = 32, 10
    if kind == "stablelearn":
        model = ResidualMLP(d, width, depth, c, scheme=MuP(), base_width=base)
        return model, make_optimizer(model, lr, "adam")
    if kind == "mup":
        import mup

        model = Net(d, width, depth, c, mup.MuReadout)
        mup.set_base_shapes(model, Net(d, base, depth, c, mup.MuReadout), delta=Net(d, 2 * base, depth, c, mup.MuReadout))
        return model, mup.MuAdam(model.parameters(), lr=lr)
    model = Net(d, width, depth, c, nn.Linear)
    return model, torch.optim.Adam(model.parameters(), lr=lr)


def time_steps(model, opt, x, y, steps):
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return (time.perf_counter() - t0) / steps * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    shapes = [(128, 8), (512, 8)] if args.quick else [(128, 8), (128, 32), (512, 8), (512, 32)]
    reps, steps = (5, 10) if args.quick else (9, 20)
    kinds = ["plain torch (SP)", "mup", "stablelearn"]
    rows = []
    with limit_threads(1):
        for width, depth in shapes:
            g = torch.Generator().manual_seed(0)
            x, y = torch.randn(128, 32, generator=g), torch.randint(0, 10, (128,), generator=g)
            built = {k: build(k.split()[0] if k != "plain torch (SP)" else "plain", width, depth, 64, 1e-3)
                     for k in kinds}
            for k in kinds:
                time_steps(*built[k], x, y, 3)                                 # warm-up
            times = {k: [] for k in kinds}
            for _ in range(reps):
                for k in kinds:
                    times[k].append(time_steps(*built[k], x, y, steps))
            med = {k: statistics.median(v) for k, v in times.items()}
            rows.append([width, depth, *[med[k] for k in kinds], f"{100 * (med['stablelearn'] / med['mup'] - 1):+.1f}%",
                         f"{100 * (med['stablelearn'] / med['plain torch (SP)'] - 1):+.1f}%"])
    table = print_table("ms per Adam step (median, one torch thread)",
                        ["width", "depth", *[f"{k} ms/step" for k in kinds], "overhead vs mup", "overhead vs plain"],
                        rows)
    write_results("depth_step_cost", {"quick": args.quick, "reps": reps, "steps": steps, "table": table})


if __name__ == "__main__":
    main()
