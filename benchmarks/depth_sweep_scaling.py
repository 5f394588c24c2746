"""Cost of one LR x depth sweep (`stablelearn.depth.lr_sweep`): batched vs one-by-one, a process pool and Ray,
and the arithmetic bound on what batching can win.

    python benchmarks/depth_sweep_scaling.py [--quick] [--widths 64 128] [--skip-ray] [--ratio-only | --modes-only] [--reps 2]

The same grid (teacher task, depth-muP two-layer blocks, Adam, stem and readout frozen: 2 depths x 13 LRs
x 2 seeds = 52 runs of 40 steps, batch 128) runs, for each width, as

* ``one-by-one``: one network per cell, in process (``batched=False``, 1 job);
* ``batched``: all LRs of one (depth, seed) as one stacked model, in process (``batched=True``, 1 job);
* ``pool-2``: one network per cell on a 2-process local pool;
* ``ray-2``: one network per cell on a local Ray instance with 2 CPUs;
* ``batched pool-2``: the batched cells on the 2-process pool.

On a shared machine wall times move from minute to minute, so the script measures three things:

1. **CPU seconds, interleaved** (``time.process_time``, one torch thread): for every (depth, seed) cell the
   13 one-by-one runs and the batched cell alternate (order swapped on every repetition); the ratio of
   the sums is batched's gain on one core. From the same per-cell CPU times, the wall time of each mode on
   2 quiet cores is estimated (a pool of 2 workers handed the cells costliest first, as ``lr_sweep`` does).
2. **Wall seconds of each mode** run one after the other, with the load average beside them.
3. **The arithmetic bound**: the floating-point operations of the grid (every matrix product of the
   training steps and of the loss evaluations), this machine's matrix-product peak on 1 and 2 threads,
   and from them the largest speed-up batching could give over the measured one-by-one run.

Every mode's losses are compared with the one-by-one run (max relative difference over finished runs,
and whether the same runs diverged).
"""
from __future__ import annotations

import argparse
import os
import resource

import numpy as np
import torch
from _common import Clock, print_table, timed, write_results

from stablelearn._conventions import limit_threads
from stablelearn.depth import DepthMuP, lr_sweep
from stablelearn.runtime import get_executor

IN_DIM, OUT_DIM, N_ROWS, BLOCK_LAYERS = 16, 1, 2048, 2          # the teacher task, two-layer blocks


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def sweep(grid: dict, width: int, batched: bool, executor=None, depths=None, seeds=None):
    return lr_sweep("teacher", {"depth-muP": DepthMuP()}, widths=[width], batched=batched, executor=executor,
                    progress=False, **{**grid, "depths": depths or grid["depths"], "seeds": seeds or grid["seeds"]})


def interleaved(grid: dict, width: int, reps: int) -> dict:
    """CPU and wall seconds of one-by-one and batched per (depth, seed) cell, alternating, mean over reps."""
    cells = [(d, s) for d in grid["depths"] for s in grid["seeds"]]
    for batched in (False, True):                  # warm-up: first-call costs out of the measurement
        sweep({**grid, "steps": 1}, width, batched, depths=grid["depths"][:1], seeds=grid["seeds"][:1])
    cpu = {(c, b): 0.0 for c in cells for b in (False, True)}
    wall = {False: 0.0, True: 0.0}
    for rep in range(reps):
        for i, (d, s) in enumerate(cells):
            for batched in ((False, True) if (rep + i) % 2 == 0 else (True, False)):
                w, c = timed(lambda: sweep(grid, width, batched, depths=[d], seeds=[s]))
                cpu[(d, s), batched] += c / reps
                wall[batched] += w / reps
    return {"cells": cells, "cpu": cpu, "wall": wall}


def makespan(costs: list[float], workers: int = 2) -> float:
    """Wall time of ``costs`` handed costliest first to ``workers`` workers, each taking the next when free."""
    free = [0.0] * workers
    for c in sorted(costs, reverse=True):
        free[free.index(min(free))] += c
    return max(free)


def run_mode(mode: str, grid: dict, width: int) -> tuple[float, float, float, object]:
    """(start-up, sweep wall, CPU seconds of this process and its finished children, result)."""
    batched = mode.startswith("batched")
    kind, jobs = ("ray", 2) if "ray" in mode else ("local", 2 if "pool" in mode else 1)
    ex = get_executor(kind, jobs=jobs)

    def cpu() -> float:
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    try:
        clock = Clock(cpu)
        ex.map(len, [{}] * 4 * jobs, progress=False)    # start the workers outside the timing
        startup = clock.elapsed()[0]
        clock.restart()
        res = sweep(grid, width, batched, executor=ex)
        wall = clock.elapsed()[0]
    finally:
        ex.close()
    return startup, wall, clock.elapsed()[1], res       # children's CPU counts once the pool's workers have exited


def flops(grid: dict, width: int, batched: bool) -> float:
    """Floating-point operations of the grid's matrix products (2 per multiply-add), every run completing:
    forward and backward of the training steps (stem and readout frozen: no weight gradient for them, no
    input gradient into the first block), the final full-data loss of every run, and the initial one of
    every run (one-by-one) or of every distinct initialisation (batched: one per cell)."""
    n, B, total = width, grid["batch_size"], 0.0
    n_lrs, n_seeds = len(grid["log2_lrs"]), len(grid["seeds"])
    for L in grid["depths"]:
        hidden = BLOCK_LAYERS * L
        forward = IN_DIM * n + hidden * n * n + n * OUT_DIM                     # multiply-adds per row
        backward = hidden * n * n + (hidden - 1) * n * n + n * OUT_DIM
        runs = n_lrs * n_seeds
        starts = n_seeds if batched else runs
        total += 2 * (runs * grid["steps"] * B * (forward + backward) + (runs + starts) * N_ROWS * forward)
    return total


def gemm_peak(threads: int, width: int, members: int) -> dict:
    """Best-of-5 GFLOP/s per CPU second of a 4096^3 torch.mm and of torch.bmm on [members, width, width]^2
    (CPU seconds, so that other jobs on the machine do not count; with 2 threads, per CPU second of both)."""
    out = {}
    with limit_threads(threads):
        for name, a, b, op in [("mm 4096", torch.randn(4096, 4096), torch.randn(4096, 4096), torch.mm),
                               (f"bmm {members}x{width}^3", torch.randn(members, width, width),
                                torch.randn(members, width, width), torch.bmm)]:
            reps = 3 if name.startswith("mm") else 100
            best = min(_timed(op, a, b, reps) for _ in range(5))
            out[name] = 2 * a.numel() * b.shape[-1] / best / 1e9
    return out


def _timed(op, a, b, reps: int) -> float:
    """CPU seconds per call (all threads of this process: on 2 threads the peak is per 2 cores)."""
    op(a, b)
    return timed(op, a, b, reps=reps)[1]


def compare(ref, res) -> tuple[float, bool]:
    fin = np.isfinite(ref.losses) & np.isfinite(res.losses)
    rel = float(np.max(np.abs(res.losses[fin] - ref.losses[fin]) / np.abs(ref.losses[fin]))) if fin.any() else 0.0
    return rel, bool(np.array_equal(np.isfinite(ref.losses), np.isfinite(res.losses)))


def ratio_rows(grid: dict, width: int, reps: int, n_runs: int, peak: dict, cpu_rows: list, est_rows: list,
               bound_rows: list) -> None:
    """The interleaved CPU measurement of one width, its 2-core estimate and its arithmetic bound (rows appended)."""
    m = interleaved(grid, width, reps)
    one = [m["cpu"][c, False] for c in m["cells"]]
    bat = [m["cpu"][c, True] for c in m["cells"]]
    cpu_rows.append([width, n_runs, sum(one), sum(bat), f"{sum(one) / sum(bat):.2f}x",
                     f"{m['wall'][False]:.1f} / {m['wall'][True]:.1f}", load()])
    one_runs = [t / len(grid["log2_lrs"]) for t in one for _ in grid["log2_lrs"]]   # per run, evenly
    est = {"one-by-one": sum(one), "batched": sum(bat), "pool-2": makespan(one_runs),
           "batched pool-2": makespan(bat)}
    est_rows += [[width, mode, t, f"{est['one-by-one'] / t:.2f}x", f"{est['pool-2'] / t:.2f}x"]
                 for mode, t in est.items()]
    f_one, f_bat = flops(grid, width, False), flops(grid, width, True)
    best1 = max(peak[1].values())
    floor = f_bat / best1 / 1e9
    bound_rows.append([width, f_one / 1e9, f_one / sum(one) / 1e9, f_bat / sum(bat) / 1e9, best1,
                       floor, f"{sum(one) / floor:.2f}x", f"{2 * sum(one) / floor:.2f}x"])
    print(f"width {width}: one-by-one {sum(one):.2f} CPU s, batched {sum(bat):.2f} CPU s", flush=True)


def modes_table(title: str, start_load: str, rows: list):
    return print_table(
        f"Wall seconds, modes one after the other: {title}; load average at start {start_load} on "
        f"{os.cpu_count()} cores", ["width", "mode", "start-up (s)", "sweep wall (s)", "speed-up vs one-by-one",
                                    "CPU s (incl. workers' start-up)", "load after", "max rel. loss diff",
                                    "same runs diverged"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--widths", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--reps", type=int, default=2, help="repetitions of the interleaved CPU measurement")
    ap.add_argument("--ratio-only", action="store_true", help="only the interleaved CPU measurement and the bound")
    ap.add_argument("--modes-only", action="store_true", help="only the wall times of the modes")
    args = ap.parse_args()
    grid = dict(depths=[2, 8], log2_lrs=[-9.0, -8.0, -7.0, -6.0, -5.0, -4.0], seeds=[0, 1], steps=20,
                batch_size=64) if args.quick else \
        dict(depths=[2, 8], log2_lrs=[x / 2 for x in range(-20, -7)], seeds=[0, 1], steps=40, batch_size=128)
    modes = ["one-by-one", "batched", "pool-2", *([] if args.skip_ray else ["ray-2"]), "batched pool-2"]
    n_runs = len(grid["depths"]) * len(grid["log2_lrs"]) * len(grid["seeds"])
    start_load = load()
    cpu_rows, est_rows, bound_rows, rows, raw = [], [], [], [], []
    peak = {} if args.modes_only else {t: gemm_peak(t, max(args.widths), len(grid["log2_lrs"])) for t in (1, 2)}
    print(f"matrix-product peak (GFLOP/s): {peak}, load {load()}", flush=True)
    with limit_threads(1):
        for width in args.widths:
            if not args.modes_only:
                ratio_rows(grid, width, args.reps, n_runs, peak, cpu_rows, est_rows, bound_rows)
            if args.ratio_only:
                continue
            ref_wall, ref = None, None
            for mode in modes:
                startup, wall, cpu, res = run_mode(mode, grid, width)
                if ref is None:
                    ref_wall, ref = wall, res
                rel, same = compare(ref, res)
                rows.append([width, mode, startup, wall, f"{ref_wall / wall:.2f}x", cpu, load(), rel, same])
                raw.append({"width": width, "mode": mode, "startup_s": startup, "wall_s": wall, "cpu_s": cpu,
                            "load_after": load(), "speedup_vs_one_by_one": ref_wall / wall, "max_rel_diff": rel,
                            "same_divergence": same})
                print(f"width {width} {mode}: {wall:.1f} s wall, load {load()}", flush=True)
    title = (f"{n_runs} runs per width (L in {grid['depths']}, {len(grid['log2_lrs'])} LRs, {len(grid['seeds'])} "
             f"seeds, {grid['steps']} Adam steps, batch {grid['batch_size']}), one torch thread")
    payload = {"quick": args.quick, "grid": grid, "load_average_at_start": start_load, "gemm_peak_gflops": peak}
    if args.modes_only:
        payload["table"] = modes_table(title, start_load, rows)
        payload["rows"] = raw
        write_results("depth_sweep_modes", payload)
        return
    cpu_t = print_table(f"CPU seconds, in process, interleaved cell by cell ({args.reps} repetitions, mean): {title}",
                        ["width", "runs", "one-by-one (CPU s)", "batched (CPU s)", "batched gain on one core",
                         "wall one-by-one / batched (s)", "load after"], cpu_rows)
    est_t = print_table("Estimated wall on 2 quiet cores, from the per-cell CPU seconds above (pool: 2 workers, "
                        "costliest cell first)", ["width", "mode", "estimated wall (s)", "vs one-by-one in process",
                                                  "vs one-by-one pool-2"], est_rows)
    bound_t = print_table(
        f"Arithmetic bound (matrix-product peak per CPU second on 1 thread, best of mm 4096 and bmm; on 2 threads, "
        f"per CPU second: {peak[2]})",
        ["width", "GFLOP one-by-one", "one-by-one GFLOP/s", "batched GFLOP/s", "peak GFLOP/s (1 thread)",
         "batched at peak (s)", "max batched gain, 1 core", "max batched pool-2 gain vs one-by-one in process"],
        bound_rows, caption="max gain = one-by-one CPU seconds / (batched FLOPs at the 1-thread peak); "
                            "the pool can at most halve that time on 2 cores.")
    payload.update({"cpu": cpu_t, "estimate_2_cores": est_t, "bound": bound_t})
    if not args.ratio_only:
        payload["table"] = modes_table(title, start_load, rows)
        payload["rows"] = raw
    write_results("depth_sweep_ratio" if args.ratio_only else "depth_sweep_scaling", payload)


if __name__ == "__main__":
    main()
