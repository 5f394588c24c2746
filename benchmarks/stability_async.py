"""Would a background thread hide the check? A prototype measured beside plain and synchronous checks.

Run: python benchmarks/stability_async.py
The training of benchmarks/stability_monitor.py (one torch thread). Every 100 steps a stand-in for a check
(the probe's gradient graph and 3 HVPs on 512 rows, on a copy of the weights) runs either in the training
thread ("sync") or in one background thread ("async": torch releases the GIL inside its kernels, so on an
idle second core the check would overlap the training; the next check waits for the previous one). Plain,
sync and async runs alternate in one process, best of 3, wall and CPU time of the process. Not part of the
library: ``StabilityMonitor`` has no asynchronous mode (docs/stability.md, "Benchmarks").
Writes benchmarks/results/stability_async.json.
"""

from __future__ import annotations

import copy
import os
import time
from concurrent.futures import ThreadPoolExecutor

import torch
from _common import print_table, write_results
from stability_monitor import LR, MOMENTUM, _data, _model, sgd_step
from torch import nn

from stablelearn._conventions import limit_threads
from stablelearn.stability._functional import HessianOperator, ParamSpace


def run(kind: str, mode: str, every: int = 100, steps: int = 2000, hvps: int = 3) -> tuple[float, float]:
    X, y = _data()
    loss_fn = nn.functional.cross_entropy
    model = _model(kind)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    gen = torch.Generator().manual_seed(0)
    twin = copy.deepcopy(model)
    space = ParamSpace(twin)
    start = space.random_unit(0)

    def check() -> None:
        op = HessianOperator(space, loss_fn, [(X[:512], y[:512])])
        op.build()
        v = start
        for _ in range(hvps):
            v = op(v)
            v = v / v.norm()

    pool = ThreadPoolExecutor(1) if mode == "async" else None
    pending = None
    t0, c0 = time.perf_counter(), time.process_time()
    for step in range(steps):
        sgd_step(model, opt, X, y, gen)
        if mode != "plain" and step % every == 0:
            if pending is not None:
                pending.result()
            with torch.no_grad():
                for p, q in zip(twin.parameters(), model.parameters()):
                    p.copy_(q)
            if pool is None:
                check()
            else:
                pending = pool.submit(check)
    if pending is not None:
        pending.result()
    if pool is not None:
        pool.shutdown()
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    rows = []
    with limit_threads(1):
        for kind in ("mlp", "cnn"):
            run(kind, "async", steps=100)  # warm-up
            load = os.getloadavg()[0]
            res: dict[str, list] = {"plain": [], "sync": [], "async": []}
            for _ in range(3):
                for mode in res:
                    res[mode].append(run(kind, mode))
            load = max(load, os.getloadavg()[0])
            pw, pc = min(r[0] for r in res["plain"]), min(r[1] for r in res["plain"])
            for mode, r in res.items():
                w, c = min(x[0] for x in r), min(x[1] for x in r)
                rows.append([kind, mode, w, w / pw - 1, c, c / pc - 1, load])
    table = print_table("A check every 100 steps in the training thread or in a background thread (best of 3)",
                        ["model", "mode", "wall s", "extra wall", "CPU s", "extra CPU", "load (1 min)"], rows)
    write_results("stability_async", {"table": table})


if __name__ == "__main__":
    main()
