"""EG-AA / AA (stablelearn.anderson) side by side with FISTA, scipy.optimize.anderson and the C `aa`
package (cvxgrp/aa, SCS's AA core), in one process on the same problems.

Part 1: per-iteration wall time of the AA step at n = 1e4, 1e5, 1e6 (m = 5) on a diagonal quadratic
        (the map's own cost reported separately).
Part 2: wall time to relative gap 1e-6 on the reproduction suite for EG-AA's default preset, plain AA,
        FISTA with restart, `aa` type-I and type-II (default and large `max_weight_norm`) and scipy.
        Each method is run once to find its iteration count k to the target, then timed on a clean
        run of exactly k iterations without any monitoring (best of `--repeat` runs). AA, C `aa` and
        scipy get the gradient alone; EG-AA and FISTA with restart, which need F, get ``value_and_grad``
        (F and the gradient in one call).

    python benchmarks/anderson_peers.py [--quick] [--repeat 5] [--part both|iteration|suite|larger]

Prints Markdown tables and writes benchmarks/results/anderson_peers.json.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # one BLAS thread for every peer
    os.environ.setdefault(_var, "1")

import argparse
import warnings

import numpy as np
from scipy.optimize import NoConvergence, anderson as scipy_anderson

import aa
from _common import best_of, print_table, write_results
from stablelearn._conventions import limit_threads
from stablelearn.anderson import Accelerator, solve
from stablelearn.anderson import problems as P

M = 5
TARGET = 1e-6
WMAX_LARGE = 1e10


# ----------------------------------------------------------------------------------- peers as loops
def run_aa_c(T, x0, n_iter, record=None, type1=False, max_weight_norm=1e6):
    """The cvxgrp/aa usage pattern (README): apply before the map, safeguard after it; the package's
    defaults (type-II reg 1e-12, type-I 1e-8, safeguard_factor 1, max_weight_norm 1e6). Returns the
    number of map evaluations to ``record(x)`` (None if not reached), or ``n_iter`` without ``record``."""
    acc = aa.AndersonAccelerator(x0.size, M, type1=type1, regularization=1e-8 if type1 else 1e-12,
                                 max_weight_norm=max_weight_norm)
    x, x_prev = x0.copy(), x0.copy()
    for i in range(n_iter):
        if i > 0:
            acc.apply(x, x_prev)
        x_prev = x.copy()
        x = np.ascontiguousarray(T(x_prev))
        acc.safeguard(x, x_prev)
        if record is not None and record(x):
            return i + 1
    return n_iter if record is None else None


def run_scipy(grad, L, x0, n_iter, record=None):
    """scipy.optimize.anderson on -grad(x) = 0 with alpha = 1/L (first step = one GD step), default
    Armijo line search; returns its iteration count to ``record(x)`` (None if not reached)."""
    count = {"k": 0, "hit": None}

    def cb(x, f):
        count["k"] += 1
        if record is not None and count["hit"] is None and record(x):
            count["hit"] = count["k"]
            raise StopIteration

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scipy_anderson(lambda x: -grad(x), x0, alpha=1.0 / L, M=M, maxiter=n_iter, f_tol=1e-300, callback=cb)
    except (NoConvergence, StopIteration, ValueError, OverflowError, FloatingPointError, np.linalg.LinAlgError):
        pass
    return count["hit"] if record is not None else count["k"]


def run_ours(T, x0, n_iter):
    acc, x = Accelerator(M, governor="none"), x0
    for _ in range(n_iter):
        x = acc.step(x, T(x))
    return x


# ----------------------------------------------------------------------------------- part 1
def per_iteration(ns, n_iter, repeat):
    """Methods interleaved (one run of each per round, ``repeat`` rounds), best wall and best CPU time."""
    rows, out = [], []
    for n in ns:
        p = P.quadratic(n, 1e4, seed=0, rotate=False)
        T = lambda x: x - p.grad(x)
        x0 = np.zeros(n)
        fns = {"map only": lambda k: [T(x0) for _ in range(k)],
               "aa C type-II": lambda k: run_aa_c(T, x0, k),
               "ours AA (Accelerator)": lambda k: run_ours(T, x0, k),
               "ours solve(aa)": lambda k: solve(x0, T=T, method="aa", max_iter=k, tol=0.0),
               "ours solve(egaa)": lambda k: solve(x0, value_and_grad=p.value_and_grad, L=1.0, max_iter=k,
                                                   tol=0.0, record_F=False),
               "scipy anderson": lambda k: run_scipy(p.grad, 1.0, x0, k)}
        for fn in fns.values():
            fn(3)
        rounds = repeat if n < 10**6 else max(2, repeat // 3)
        best = best_of({name: (lambda fn=fn: fn(n_iter)) for name, fn in fns.items()}, rounds)
        res = {name: best[name][0] / n_iter * 1e3 for name in fns}
        res_cpu = {name: best[name][1] / n_iter * 1e3 for name in fns}
        rows.append([f"{n:.0e}", *[round(v, 3) for v in res.values()],
                     round(res["ours AA (Accelerator)"] / res["aa C type-II"], 2),
                     round(res_cpu["ours AA (Accelerator)"] / res_cpu["aa C type-II"], 2), rounds])
        out.append({"n": n, "wall_ms": res, "cpu_ms": res_cpu, "rounds": rounds})
    table = print_table(f"Per-iteration wall time, ms (diagonal quadratic kappa=1e4, m={M}, map included, methods "
                        f"interleaved, best of the rounds, {n_iter} iterations each; load average "
                        f"{os.getloadavg()[0]:.1f})",
                        ["n", *fns, "ours AA / aa C (wall)", "ours AA / aa C (CPU)", "rounds"], rows)
    return table, out


# ----------------------------------------------------------------------------------- part 2
SUITE = [lambda: P.quadratic(300, 1e2), lambda: P.quadratic(300, 1e4), lambda: P.quadratic(300, 1e6),
         lambda: P.lasso(300, 600, 0.95), lambda: P.logistic("breast_cancer", False),
         lambda: P.logistic("breast_cancer", True), lambda: P.logistic("wine", False), lambda: P.ridge("digits", 1e-3)]
# fifth pass: larger ill-conditioned instances, where the map, not the Python step, sets the time per iteration
LARGER = [lambda: P.quadratic(3000, 1e4), lambda: P.lasso(1000, 2000, 0.95)]
OURS = {"EG-AA default": {"method": "egaa"}, "AA": {"method": "aa"}, "FISTA+restart": {"method": "fista_restart"}}
C_AA = {"aa C type-I": {"type1": True}, f"aa C type-I wmax={WMAX_LARGE:g}": {"type1": True,
                                                                            "max_weight_norm": WMAX_LARGE},
        "aa C type-II": {}, f"aa C type-II wmax={WMAX_LARGE:g}": {"max_weight_norm": WMAX_LARGE}}


def wall_to_target(p, cap, repeat):
    """{method: (iterations to TARGET or None, best wall seconds, best CPU seconds)} of clean runs of exactly
    that many iterations, all methods interleaved (one run of each per round, ``repeat`` rounds)."""
    F0 = p.F(p.x0)
    reached = lambda x: (p.F(x) - p.F_star) / (F0 - p.F_star) <= TARGET
    T = lambda x: (p.prox(x - p.grad(x) / p.L, 1.0 / p.L) if p.prox is not None else x - p.grad(x) / p.L)
    ks, clean = {}, {}
    for label, kw in OURS.items():
        r = p.solve(max_iter=cap, tol=0.0, **kw)
        hit = np.flatnonzero(p.rel_gap(r.history.F) <= TARGET)
        ks[label] = int(hit[0]) if hit.size else None
        # each with the oracle it is best served by: AA the gradient alone, the methods that need F both in one call
        oracle = {"grad": p.grad} if kw["method"] == "aa" else {"value_and_grad": p.value_and_grad}
        clean[label] = (lambda k, kw=kw, oracle=oracle: solve(p.x0, prox=p.prox, L=p.L, max_iter=k, tol=0.0,
                                                              record_F=False, **oracle, **kw))
    for label, kw in C_AA.items():
        ks[label] = run_aa_c(T, p.x0.copy(), cap, reached, **kw)
        clean[label] = lambda k, kw=kw: run_aa_c(T, p.x0.copy(), k, **kw)
    ks["scipy anderson"] = run_scipy(p.grad, p.L, p.x0.copy(), cap, reached) if p.prox is None else None
    clean["scipy anderson"] = lambda k: run_scipy(p.grad, p.L, p.x0.copy(), k)
    best = best_of({label: (lambda label=label, k=k: clean[label](k)) for label, k in ks.items() if k}, repeat)
    return {label: (k, *best[label]) if k else (k, None, None) for label, k in ks.items()}


def suite(builders, cap, repeat):
    rows, out = [], []
    for build in builders:
        p = build()
        res = wall_to_target(p, cap, repeat)
        times = {k: t for k, (_, _, t) in res.items() if t is not None}
        fastest = min(times, key=times.get) if times else "none reaches the target"
        (_, eg_w, eg_c), (_, aa_w, aa_c) = res["EG-AA default"], res["AA"]
        ratios = [round(eg_w / aa_w, 2), round(eg_c / aa_c, 2)] if eg_w is not None and aa_w is not None else [None] * 2
        rows.append([p.name, *[f"{k} / {c * 1e3:.1f} ms" if c is not None else
                               ("n/a (nonsmooth)" if label == "scipy anderson" and p.prox is not None else "–")
                               for label, (k, _, c) in res.items()], *ratios, fastest])
        out.append({"problem": p.name, **{k: list(v) for k, v in res.items()}, "egaa_over_aa_wall": ratios[0],
                    "egaa_over_aa_cpu": ratios[1], "fastest": fastest})
    table = print_table(f"Iterations / CPU time to rel. gap {TARGET:g} (budget {cap}; clean runs of exactly that many "
                        f"iterations, methods interleaved, best of {repeat} rounds; '–' = not reached; load average "
                        f"{os.getloadavg()[0]:.1f})",
                        ["problem", *res, "EG-AA default / AA wall", "EG-AA default / AA CPU", "fastest (CPU)"], rows)
    return table, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n up to 1e5 and a 4-problem suite")
    ap.add_argument("--repeat", type=int, default=5, help="timed repetitions (the best is reported)")
    ap.add_argument("--part", choices=("both", "iteration", "suite", "larger"), default="both",
                    help="run only part 1 (per-iteration), part 2 (suite) or part 2 on LARGER (larger instances); "
                         "results go to anderson_peers_<part>")
    args = ap.parse_args()
    ns = [10**4, 10**5] if args.quick else [10**4, 10**5, 10**6]
    payload = {"quick": args.quick, "m": M, "load_average_at_start": os.getloadavg()[0]}
    with limit_threads(1):
        if args.part in ("both", "iteration"):
            payload["per_iteration_table"], payload["per_iteration_ms"] = per_iteration(
                ns, n_iter=20 if args.quick else 30, repeat=3 * args.repeat)
        if args.part in ("both", "suite"):
            builders = [SUITE[i] for i in (1, 3, 4, 5)] if args.quick else SUITE
            payload["suite_table"], payload["suite"] = suite(builders, cap=3000, repeat=args.repeat)
        if args.part == "larger":
            payload["suite_table"], payload["suite"] = suite(LARGER, cap=3000, repeat=args.repeat)
    payload["load_average_at_end"] = os.getloadavg()[0]
    write_results("anderson_peers" if args.part == "both" else f"anderson_peers_{args.part}", payload)


if __name__ == "__main__":
    main()
