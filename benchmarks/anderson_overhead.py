"""Per-iteration cost of EG-AA's guard against plain AA, side by side in one process.

For each problem, AA and EG-AA (default preset) run exactly the same number of iterations (the number
AA needs to relative gap 1e-6) without any monitoring (``record_F=False``; AA without F), interleaved
(AA, EG-AA, AA, EG-AA, ...), best of ``--repeat``; CPU time (``time.process_time``) beside wall time,
so that a loaded machine shows up as a gap between the two. ``--profile`` adds a cProfile listing of
both loops. The floor column is what the ratio would be if the guard cost nothing but its objective
evaluations: 1 + (F evaluations per iteration) x (what F adds to a gradient at the same point) / (AA's time
per iteration).

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


def runner(p, method: str, k: int, solver=solve):
    kw = {"F": p.F} if method == "egaa" else {}
    return lambda: solver(p.x0, grad=p.grad, prox=p.prox, L=p.L, method=method, max_iter=k, tol=0.0,
                          record_F=False, **kw)


def objective_extra(p, repeat: int) -> float:
    """Seconds that evaluating F at a fresh point adds to the gradient there (the suite's problems share the
    matrix-vector product between the two, as EG-AA's guard evaluates F(x~) and the next iteration grad(x~))."""
    points = [np.random.default_rng(i).standard_normal(p.x0.size) * 1e-3 for i in range(50)]
    best = best_of({"grad": lambda: [p.grad(x) for x in points],
                    "F+grad": lambda: [(p.F(x), p.grad(x)) for x in points]}, repeat)
    return (best["F+grad"][1] - best["grad"][1]) / len(points)


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
        fns = {m: runner(p, m, k) for m in ("aa", "egaa")}
        if old is not None:
            fns.update({f"baseline {m}": runner(p, m, k, old) for m in ("aa", "egaa")})
        best = best_of(fns, args.repeat)
        eg = fns["egaa"]()
        f_extra = objective_extra(p, args.repeat)
        rows.append([p.name, k, *(f"{best[m][0] / k * 1e6:.0f} / {best[m][1] / k * 1e6:.0f}" for m in fns),
                     round(best["egaa"][0] / best["aa"][0], 3), round(best["egaa"][1] / best["aa"][1], 3),
                     round(eg.n_F / max(eg.n_iter, 1), 3), round(f_extra * 1e6, 1),
                     round(1.0 + eg.n_F / max(eg.n_iter, 1) * f_extra * k / best["aa"][1], 3)]
                    + ([round(best[m][1] / best[f"baseline {m}"][1], 3) for m in ("aa", "egaa")] if old else []))
        out.append({"problem": p.name, "iterations": k, "best_wall_s": {m: best[m][0] for m in fns},
                    "best_cpu_s": {m: best[m][1] for m in fns}, "F_extra_cpu_s": f_extra})
        if args.profile:
            for m, fn in list(fns.items())[:2]:
                print(f"--- cProfile {p.name} {m}")
                prof = cProfile.Profile()
                prof.runcall(lambda: [fn() for _ in range(5)])
                pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    load = os.getloadavg()[0]
    table = print_table(f"Per-iteration cost, EG-AA default vs AA, same iteration count (best of {args.repeat}, "
                        f"interleaved; us wall / us CPU; load average {load:.1f})",
                        ["problem", "iterations", "AA", "EG-AA default",
                         *(["baseline AA", "baseline EG-AA default"] if old else []), "wall ratio", "CPU ratio",
                         "EG-AA F evals / iter", "F extra us (CPU)", "floor: 1 + F cost / AA (CPU)",
                         *(["AA / baseline AA (CPU)", "EG-AA / baseline EG-AA (CPU)"]
                                                   if old else [])], rows)
    write_results("anderson_overhead_baseline" if old else "anderson_overhead",
                  {"table": table, "runs": out, "load_average": load, "baseline": args.baseline})


if __name__ == "__main__":
    main()
