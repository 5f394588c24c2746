"""Wall time of one LR x depth sweep (`stablelearn.depth.lr_sweep`): batched vs one-by-one, a process pool and Ray.

    python benchmarks/depth_sweep_scaling.py [--quick] [--widths 64 128] [--skip-ray]

The same grid (teacher task, depth-muP two-layer blocks, Adam, stem and readout frozen) runs, for each
width, as

* ``one-by-one``: one network per cell, in process (``batched=False``, 1 job);
* ``batched``: all LRs x seeds of a depth as one stacked model, in process (``batched=True``, 1 job);
* ``pool-2``: one network per cell on a 2-process local pool;
* ``ray-2``: one network per cell on a local Ray instance with 2 CPUs;
* ``batched pool-2``: batched groups on the 2-process pool.

Nothing is cached; worker start-up is timed apart from the sweep. Every mode's losses are compared with
the one-by-one run (max relative difference over the finished runs, and whether the same runs diverged).
On a shared machine the load changes from minute to minute, so the in-process ratio (batched vs
one-by-one) is measured interleaved: depth by depth, the two modes alternate (order swapped on every
repetition) and their times are summed; the pool and Ray modes run the whole grid after them.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _common import print_table, write_results

from stablelearn._conventions import limit_threads
from stablelearn.depth import DepthMuP, lr_sweep
from stablelearn.runtime import get_executor


def interleaved(grid: dict, width: int, reps: int) -> tuple[float, float]:
    """Seconds of one-by-one and of batched for the whole grid, measured depth by depth, alternating."""
    total = {False: 0.0, True: 0.0}
    for rep in range(reps):
        for i, depth in enumerate(grid["depths"]):
            for batched in ((False, True) if (rep + i) % 2 == 0 else (True, False)):
                t0 = time.perf_counter()
                lr_sweep("teacher", {"depth-muP": DepthMuP()}, widths=[width], batched=batched, progress=False,
                         **{**grid, "depths": [depth]})
                total[batched] += time.perf_counter() - t0
    return total[False] / reps, total[True] / reps


def run_mode(mode: str, grid: dict, width: int) -> tuple[float, float, object]:
    batched = mode.startswith("batched")
    kind, jobs = ("ray", 2) if "ray" in mode else ("local", 2 if "pool" in mode else 1)
    ex = get_executor(kind, jobs=jobs)
    try:
        t0 = time.perf_counter()
        ex.map(len, [{}] * 4 * jobs, progress=False)    # start the workers outside the timing
        startup = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = lr_sweep("teacher", {"depth-muP": DepthMuP()}, widths=[width], batched=batched, executor=ex,
                       progress=False, **grid)
        return startup, time.perf_counter() - t0, res
    finally:
        ex.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--widths", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--reps", type=int, default=2, help="repetitions of the interleaved in-process ratio")
    ap.add_argument("--ratio-only", action="store_true", help="only the interleaved batched vs one-by-one ratio")
    args = ap.parse_args()
    grid = dict(depths=[2, 8], log2_lrs=[-9.0, -8.0, -7.0, -6.0, -5.0, -4.0], seeds=[0, 1], steps=20,
                batch_size=64) if args.quick else \
        dict(depths=[2, 8], log2_lrs=[x / 2 for x in range(-20, -7)], seeds=[0, 1], steps=40, batch_size=128)
    modes = ["one-by-one", "batched", "pool-2", *([] if args.skip_ray else ["ray-2"]), "batched pool-2"]
    n_runs = len(grid["depths"]) * len(grid["log2_lrs"]) * len(grid["seeds"])
    rows, raw, ratio_rows = [], [], []
    load = os.getloadavg()[0]
    with limit_threads(1):
        for width in args.widths:
            one, bat = interleaved(grid, width, args.reps)
            ratio_rows.append([width, n_runs, one, bat, f"{one / bat:.2f}x", f"{os.getloadavg()[0]:.1f}"])
            print(f"width {width} interleaved: one-by-one {one:.1f} s, batched {bat:.1f} s", flush=True)
            if args.ratio_only:
                continue
            ref_wall, ref = None, None
            for mode in modes:
                startup, wall, res = run_mode(mode, grid, width)
                if ref is None:
                    ref_wall, ref = wall, res
                fin = np.isfinite(ref.losses) & np.isfinite(res.losses)
                rel = float(np.max(np.abs(res.losses[fin] - ref.losses[fin]) / np.abs(ref.losses[fin]))) if fin.any() else 0.0
                same = bool(np.array_equal(np.isfinite(ref.losses), np.isfinite(res.losses)))
                rows.append([width, mode, n_runs, startup, wall, f"{ref_wall / wall:.2f}x", rel, same])
                raw.append({"width": width, "mode": mode, "startup_s": startup, "wall_s": wall,
                            "speedup_vs_one_by_one": ref_wall / wall, "max_rel_diff": rel, "same_divergence": same})
                print(f"width {width} {mode}: {wall:.1f} s", flush=True)
    ratio = print_table(
        f"Batched vs one-by-one, in process, interleaved depth by depth ({args.reps} repetitions, mean)",
        ["width", "runs", "one-by-one (s)", "batched (s)", "speed-up", "load average after"], ratio_rows)
    if args.ratio_only:
        write_results("depth_sweep_ratio", {"quick": args.quick, "grid": grid, "load_average_at_start": load,
                                            "interleaved": ratio})
        return
    table = print_table(
        f"One LR sweep ({n_runs} runs per width: L in {grid['depths']}, {len(grid['log2_lrs'])} LRs, "
        f"{len(grid['seeds'])} seeds, {grid['steps']} Adam steps, batch {grid['batch_size']}); "
        f"load average at start {load:.1f} on {os.cpu_count()} cores",
        ["width", "mode", "runs", "start-up (s)", "sweep wall (s)", "speed-up vs one-by-one",
         "max rel. loss diff", "same runs diverged"], rows)
    write_results("depth_sweep_scaling", {"quick": args.quick, "grid": grid, "load_average_at_start": load,
                                          "interleaved": ratio, "table": table, "rows": raw})


if __name__ == "__main__":
    main()
