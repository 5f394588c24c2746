"""Per-iteration cost of EG-AA's guard against plain AA, side by side in one process.

For each problem, AA and EG-AA (default preset) run exactly the same number of iterations (the number
AA needs to relative gap 1e-6) without any monitoring (``record_F=False``), interleaved (AA, EG-AA, ...),
best of ``--repeat``; CPU time (``time.process_time``) beside wall time, so that a loaded machine shows up
as a gap between the two. Each method gets the oracle it is best served by: AA ``grad`` alone, EG-AA
``value_and_grad`` (one call gives F and the gradient at a point, sharing their matrix product); EG-AA
with ``grad`` and ``F`` as two functions is timed beside it. ``--profile`` adds a cProfile listing of
the first two loops. The floor column is what EG-AA's ratio would be if the guard cost nothing but its
oracle calls: 1 + (value_and_grad calls per iteration x its time - the gradient's time) / (AA's time per
iteration).

    python benchmarks/anderson_overhead.py [--repeat 15] [--profile] [--baseline DIR]

``--baseline DIR`` also times an earlier implementation, interleaved with the current one: DIR is the
``stablelearn/anderson`` package folder of another commit, e.g. ``git archive 502fc1c src/stablelearn/anderson |
tar -x -C /tmp/old`` then ``--baseline /tmp/old/src/stablelearn/anderson``; it is loaded as
``stablelearn.anderson_baseline`` (its relative imports resolve to the installed ``stablelearn``).

Prints a Markdown table and writes benchmarks/results/anderson_overhead.json.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import cProfile
import importlib.util
import pstats
import sys

import numpy as np

from _common import best_of, print_table, write_results
from stablelearn.anderson import problems as P
from stablelearn.anderson import solve

PROBLEMS = [lambda: P.quadratic(300, 1e2), lambda: P.ridge("digits", 1e-3), lambda: P.logistic("breast_cancer", True),
            lambda: P.lasso(300, 600, 0.95),
            # fifth pass: larger instances, where the guard's fixed Python cost weighs less
            lambda: P.quadratic(1000, 1e2), lambda: P.quadratic(3000, 1e2), lambda: P.logistic("digits", True)]
TARGET = 1e-6


def runner(p, method: str, k: int, solver=solve, oracle: str = "value_and_grad"):
    """A timed run of ``method``: AA with ``grad``; EG-AA with ``value_and_grad`` or ``grad`` and ``F``."""
    if method == "aa":
        kw = {"grad": p.grad}
    else:
        kw = {"value_and_grad": p.value_and_grad} if oracle == "value_and_grad" else {"grad": p.grad, "F": p.F}
    return lambda: solver(p.x0, prox=p.prox, L=p.L, method=method, max_iter=k, tol=0.0, record_F=False, **kw)


def oracle_costs(p, repeat: int) -> dict[str, float]:
    """CPU seconds per point of ``grad``, ``F`` then ``grad`` (two functions), and ``value_and_grad``."""
    points = [np.random.default_rng(i).standard_normal(p.x0.size) * 1e-3 for i in range(50)]
    best = best_of({"grad": lambda: [p.grad(x) for x in points],
                    "F, grad": lambda: [(p.F(x), p.grad(x)) for x in points],
                    "value_and_grad": lambda: [p.value_and_grad(x) for x in points]}, repeat)
    return {name: cpu / len(points) for name, (_, cpu) in best.items()}


def load_baseline(folder: str):
    """``solve`` of the ``stablelearn.anderson`` package in ``folder`` (an earlier commit's copy)."""
    name = "stablelearn.anderson_baseline"
    found = importlib.util.spec_from_file_location(name, f"{folder}/__init__.py", submodule_search_locations=[folder])
    module = importlib.util.module_from_spec(found)
    sys.modules[name] = module
    found.loader.exec_module(module)
    return module.solve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--baseline", help="folder of an earlier stablelearn/anderson package to time beside this one")
    args = ap.parse_args()
    old = load_baseline(args.baseline) if args.baseline else None
    rows, out = [], []
    for build in PROBLEMS:
        p = build()
        r = p.solve("aa", max_iter=3000, tol=0.0)
        hit = np.flatnonzero(p.rel_gap(r.history.F) <= TARGET)
        k = int(hit[0]) if hit.size else 3000
        fns = {"aa": runner(p, "aa", k), "egaa": runner(p, "egaa", k),
               "egaa F, grad": runner(p, "egaa", k, oracle="F, grad")}
        if old is not None:  # an earlier package takes grad and F
            fns.update({f"baseline {m}": runner(p, m, k, old, "F, grad") for m in ("aa", "egaa")})
        best = best_of(fns, args.repeat)
        eg, cost = fns["egaa"](), oracle_costs(p, args.repeat)
        calls = eg.info["value_and_grad_calls"] / max(eg.n_iter, 1)
        aa_iter = best["aa"][1] / k
        rows.append([p.name, k, *(f"{best[m][0] / k * 1e6:.0f} / {best[m][1] / k * 1e6:.0f}" for m in fns),
                     round(best["egaa"][1] / best["aa"][1], 3), round(best["egaa F, grad"][1] / best["aa"][1], 3),
                     round(eg.n_F / max(eg.n_iter, 1), 3), round(calls, 3),
                     round((cost["value_and_grad"] - cost["grad"]) * 1e6, 1),
                     round((cost["F, grad"] - cost["grad"]) * 1e6, 1),
                     round(1.0 + (calls * cost["value_and_grad"] - cost["grad"]) / aa_iter, 3)]
                    + ([round(best[m][1] / best[f"baseline {m}"][1], 3) for m in ("aa", "egaa")] if old else []))
        out.append({"problem": p.name, "iterations": k, "best_wall_s": {m: best[m][0] for m in fns},
                    "best_cpu_s": {m: best[m][1] for m in fns}, "oracle_cpu_s": cost,
                    "value_and_grad_calls_per_iteration": calls})
        if args.profile:
            for m, fn in list(fns.items())[:2]:
                print(f"--- cProfile {p.name} {m}")
                prof = cProfile.Profile()
                prof.runcall(lambda: [fn() for _ in range(5)])
                pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    load = os.getloadavg()[0]
    table = print_table(f"Per-iteration cost, EG-AA default vs AA, same iteration count (best of {args.repeat}, "
                        f"interleaved; us wall / us CPU; load average {load:.1f})",
                        ["problem", "iterations", "AA (grad)", "EG-AA default (value_and_grad)",
                         "EG-AA default (F, grad)", *(["baseline AA", "baseline EG-AA default"] if old else []),
                         "EG-AA / AA (CPU)", "EG-AA (F, grad) / AA (CPU)", "F evals / iter",
                         "value_and_grad calls / iter", "value_and_grad - grad, us", "F, grad - grad, us",
                         "floor (CPU)",
                         *(["AA / baseline AA (CPU)", "EG-AA / baseline EG-AA (CPU)"]
                                                   if old else [])], rows)
    write_results("anderson_overhead_baseline" if old else "anderson_overhead",
                  {"table": table, "runs": out, "load_average": load, "baseline": args.baseline})


if __name__ == "__main__":
    main()
