"""Wall time of one LR x depth sweep (`stablelearn.depth.lr_sweep`) per executor: does it scale with workers?

    python benchmarks/depth_sweep_scaling.py [--quick] [--executor local|ray|all]

The same cells (teacher task, depth-muP two-layer blocks, Adam) run with the in-process executor
(1 job), a 2-process local pool and a local Ray instance with 2 CPUs; nothing is cached, and the
losses of every executor are checked to agree exactly with the in-process run.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from stablelearn.depth import DepthMuP, DepthMuPCorrected, lr_sweep
from stablelearn.runtime import get_executor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--executor", choices=["local", "ray", "all"], default="all")
    args = ap.parse_args()
    torch.set_num_threads(1)
    grid = dict(depths=[2, 8], log2_lrs=[-8.0, -7.0, -6.0, -5.0], seeds=[0, 1], widths=[64], steps=30,
                batch_size=64) if args.quick else \
        dict(depths=[2, 4, 8, 16], log2_lrs=[-9.0, -8.0, -7.0, -6.0, -5.0, -4.0], seeds=[0, 1], widths=[64],
             steps=60, batch_size=64)
    schemes = {"depth-muP": DepthMuP(), "corrected": DepthMuPCorrected()}
    runs = []
    if args.executor in ("local", "all"):
        runs += [("local", 1), ("local", 2)]
    if args.executor in ("ray", "all"):
        runs += [("ray", 2)]
    n_cells = len(schemes) * len(grid["depths"]) * len(grid["log2_lrs"]) * len(grid["seeds"])
    rows, reference = [], None
    for kind, jobs in runs:
        ex = get_executor(kind, jobs=jobs)
        try:
            t0 = time.perf_counter()
            ex.map(len, [{}] * 4 * jobs)  # start the workers (process spawn, torch import) outside the timing
            startup = time.perf_counter() - t0
            t0 = time.perf_counter()
            res = lr_sweep("teacher", schemes, progress=False, executor=ex, **grid)
            wall = time.perf_counter() - t0
        finally:
            ex.close()
        if reference is None:
            reference = res.losses
        rows.append({"executor": kind, "jobs": jobs, "cells": n_cells, "startup_s": startup, "wall_s": wall,
                     "same_losses_as_first": bool(np.array_equal(res.losses, reference))})
    base = rows[0]["wall_s"]
    print("| executor | jobs | cells | start-up (s) | sweep wall (s) | speed-up | identical losses |\n"
          "|---|---|---|---|---|---|---|")
    for r in rows:
        r["speedup"] = base / r["wall_s"]
        print(f"| {r['executor']} | {r['jobs']} | {r['cells']} | {r['startup_s']:.1f} | {r['wall_s']:.1f} | "
              f"{r['speedup']:.2f}x | "
              f"{r['same_losses_as_first']} |")
    out = Path(__file__).parent / "results" / "depth_sweep_scaling.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"quick": args.quick, "grid": grid, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
