"""Estimate the CPU cost of `stablelearn reproduce depth --profile full` without running it.

    python benchmarks/depth_full_estimate.py [--sample-depths 2 8 32]

The full profile is a list of cells (``stablelearn.experiments.depth.FULL``). This script lists every
cell of it with its kind and size, times a sample of them in process on one torch thread with
``time.process_time`` (CPU seconds: what a core spends on the cell, whatever the load), fits each kind's
CPU seconds as ``a + b * depth`` from the sampled depths and adds up the prediction for every cell. The
wall time on 2 quiet cores is then estimated as the makespan of the cells on 2 workers (costliest first)
plus the coordinate check, which runs its two cells in one process each.

What it cannot see: cells whose members diverge early cost less than the fit says (sweep B's and the
correction study's SGD grids), the report's plots and bootstrap (seconds), worker start-up, and how much
a loaded machine slows a CPU second (shared caches and memory bandwidth): run it when the load is low,
and read the load average printed beside the numbers.
"""
from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

import numpy as np
from _common import print_table, write_results

from stablelearn._conventions import limit_threads, spawn_seeds
from stablelearn.depth import DepthMuP, DepthMuPCorrected
from stablelearn.depth.sweep import train_group
from stablelearn.experiments.depth import FULL, collapse_cell, coord_cell, gia_cell
from stablelearn.experiments.depth import SCHEMES_A

SEED = 0


def cells(cfg: dict) -> list[tuple[str, callable, dict]]:
    """(kind, function, cell) for every cell of the profile, built as the experiment builds them."""
    out = []
    a, b, c, co, p = cfg["sweep_a"], cfg["sweep_b"], cfg["sweep_c"], cfg["correction"], cfg["prototype"]
    base_a = {"base_depth": 1, "optimizer": "adam", "batch_size": cfg["batch_size"], "train": "hidden"}
    for task in a["tasks"]:                                  # sweep A: one cell per scheme, width, depth, seed
        for lab, (sch, k) in SCHEMES_A.items():
            for w in a["widths"]:
                for d in a["depths"]:
                    for s in range(a["seeds"]):
                        out.append((f"A {task} k={k} n={w}", train_group,
                                    {**base_a, "task": task, "block_layers": k, "base_width": min(a["widths"]),
                                     "steps": a["steps"], "scheme": sch.to_dict(), "width": w, "depth": d,
                                     "log2_lrs": a["log2_lrs"], "seeds": [SEED + s]}))
    for task in b["tasks"]:                                  # sweep B and the prototype's convention
        for dec in (True, False):
            for beta in (0.0, 0.5):
                for d in b["depths"]:
                    for s in range(b["seeds"]):
                        out.append((f"B {'decoupled' if dec else 'standard'}", collapse_cell,
                                    {"task": task, "scheme": (DepthMuPCorrected(beta=beta) if beta else DepthMuP()).to_dict(),
                                     "decoupled": dec, "width": cfg["width"], "depth": d, "seed": SEED + s,
                                     "lr": b["lr"], "steps": b["steps"], "batch_size": cfg["batch_size"]}))
    for d in b["depths"]:
        for s in range(b["seeds"]):
            out.append(("B decoupled", collapse_cell,
                        {"task": b["tasks"][0], "scheme": DepthMuP().to_dict(), "decoupled": True, "width": cfg["width"],
                         "depth": d, "seed": SEED + s, "lr": p["lr"], "steps": b["steps"],
                         "batch_size": cfg["batch_size"], "base_width": p["base_width"]}))
    for task in c["tasks"]:                                  # sweep C
        for d in c["depths"]:
            for s in range(c["seeds"]):
                out.append(("C", gia_cell, {"task": task, "scheme": DepthMuP().to_dict(), "width": cfg["width"], "depth": d,
                                            "seed": SEED + s, "lr": c["lr"], "steps": c["steps"],
                                            "batch_size": cfg["batch_size"]}))
    seeds = spawn_seeds(SEED, co["seeds"])                   # correction study (tuning grid)
    for k in (2, 3):
        for opt in ("adam", "sgd"):
            n_variants = 1 + (len(co["betas"]) if k == 2 else 2)
            for v in range(n_variants):
                for d in co["depths"]:
                    for s in seeds:
                        out.append((f"E k={k} {opt}", train_group,
                                    {**base_a, "task": co["task"], "block_layers": k, "base_width": co["width"],
                                     "optimizer": opt, "steps": co["steps"], "width": co["width"], "depth": d,
                                     "scheme": (DepthMuPCorrected(beta=0.5) if v else DepthMuP()).to_dict(),
                                     "log2_lrs": co["log2_lrs"][opt], "seeds": [s]}))
    for task in a["tasks"]:          # the selected variant on sweep A's grids (depth-muP k=2 cells are sweep A's)
        for w in a["widths"]:
            for d in a["depths"]:
                for s in range(a["seeds"]):
                    out.append((f"A {task} k=2 n={w}", train_group,
                                {**base_a, "task": task, "block_layers": 2, "base_width": min(a["widths"]),
                                 "steps": a["steps"], "scheme": DepthMuPCorrected(beta=0.25).to_dict(), "width": w,
                                 "depth": d, "log2_lrs": a["log2_lrs"], "seeds": [SEED + s]}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sample-depths", type=int, nargs="+", default=[2, 8, 32])
    args = ap.parse_args()
    all_cells = cells(FULL)
    kinds = defaultdict(list)
    for kind, fn, cell in all_cells:
        kinds[kind].append((fn, cell))
    load0 = os.getloadavg()[0]
    fits, rows, sample_rows = {}, [], []
    t_start = time.perf_counter()
    with limit_threads(1):
        for kind, members in kinds.items():
            sample = {}
            for d in args.sample_depths:
                fn, cell = next((f, c) for f, c in members if c["depth"] == d)
                t0 = time.process_time()
                fn(cell)
                sample[d] = time.process_time() - t0
                sample_rows.append([kind, d, sample[d], f"{os.getloadavg()[0]:.1f}"])
                print(f"{kind} L={d}: {sample[d]:.2f} CPU s", flush=True)
            slope, intercept = np.polyfit(list(sample), list(sample.values()), 1)
            fits[kind] = (float(intercept), float(slope))
        coord = []
        for task in FULL["coord"]["tasks"][:1]:                  # the coordinate check: timed whole, one scheme
            k = FULL["coord"]
            t0 = time.process_time()
            coord_cell({"task": task, "scheme": DepthMuP().to_dict(), "widths": k["widths"], "depths": k["depths"],
                        "steps": k["steps"], "lr": k["lr"], "batch_size": FULL["batch_size"], "seed": SEED})
            coord.append(time.process_time() - t0)
            print(f"coord cell ({task}): {coord[-1]:.1f} CPU s", flush=True)
    costs = []
    for kind, members in kinds.items():
        a, b = fits[kind]
        pred = [max(a + b * c["depth"], 0.0) for _, c in members]
        costs += pred
        depths = sorted({c["depth"] for _, c in members})
        rows.append([kind, len(members), f"{depths[0]}..{depths[-1]}", a, b, sum(pred)])
    n_coord = 2 * len(FULL["coord"]["tasks"])
    costs += [coord[0]] * n_coord
    rows.append(["coordinate check", n_coord, "2..128", coord[0], 0.0, coord[0] * n_coord])
    total = sum(costs)
    free = [0.0, 0.0]
    for cost in sorted(costs, reverse=True):
        free[free.index(min(free))] += cost
    table = print_table(
        f"Full profile, CPU seconds per kind of cell (fit a + b·L on L in {args.sample_depths}, one torch thread; "
        f"load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end)",
        ["kind", "cells", "depths", "a (CPU s)", "b (CPU s per block)", "predicted CPU s"], rows,
        caption=f"total {total:.0f} CPU s = {total / 60:.1f} CPU min; on 2 quiet cores (2 workers, costliest cell "
                f"first) about {max(free) / 60:.1f} min wall")
    samples = print_table("Sampled cells", ["kind", "L", "CPU s", "load"], sample_rows)
    write_results("depth_full_estimate", {"table": table, "samples": samples, "total_cpu_s": total,
                                          "estimated_wall_2_cores_s": max(free), "coord_cell_cpu_s": coord,
                                          "sampling_wall_s": time.perf_counter() - t_start, "load_at_start": load0})


if __name__ == "__main__":
    main()
