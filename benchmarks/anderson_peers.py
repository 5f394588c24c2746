"""EG-AA / AA (stablelearn.anderson) side by side with FISTA, scipy.optimize.anderson and the C `aa`
package (cvxgrp/aa, SCS's AA core), in one process on the same problems.

Part 1: per-iteration wall time of the AA step at n = 1e4, 1e5, 1e6 (m = 5) on a diagonal quadratic
        (the map's own cost reported separately).
Part 2: wall time to relative gap 1e-6 on the reproduction suite for EG-AA's default preset, plain AA,
        FISTA with restart, `aa` type-I and type-II (default and large `max_weight_norm`) and scipy.
        Each method is run once to find its iteration count k to the target, then timed on a clean
        run of exactly k iterations without any monitoring (best of `--repeat` runs).

    python benchmarks/anderson_peers.py [--quick]

Prints Markdown tables and writes benchmarks/results/anderson_peers.json.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # one BLAS thread for every peer
    os.environ.setdefault(_var, "1")

import argparse
import time
import warnings

import numpy as np
from scipy.optimize import NoConvergence, anderson as scipy_anderson

import aa
from _common import print_table, write_results
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


def best_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


# ----------------------------------------------------------------------------------- part 1
def per_iteration(ns, n_iter, repeat):
    rows, out = [], []
    for n in ns:
        p = P.quadratic(n, 1e4, seed=0, rotate=False)
        T = lambda x: x - p.grad(x)
        x0 = np.zeros(n)
        res = {}
        for name, fn in [("map only", lambda k: [T(x0) for _ in range(k)]),
                         ("aa C type-II", lambda k: run_aa_c(T, x0, k)),
                         ("ours AA (Accelerator)", lambda k: run_ours(T, x0, k)),
                         ("ours solve(aa)", lambda k: solve(x0, T=T, method="aa", max_iter=k, tol=0.0)),
                         ("ours solve(egaa)", lambda k: solve(x0, grad=p.grad, F=p.F, L=1.0, max_iter=k, tol=0.0,
                                                              record_F=False)),
                         ("scipy anderson", lambda k: run_scipy(p.grad, 1.0, x0, k))]:
            fn(3)
            res[name] = best_time(lambda: fn(n_iter), repeat) / n_iter * 1e3
        rows.append([f"{n:.0e}", *[round(v, 3) for v in res.values()],
                     round(res["ours AA (Accelerator)"] / res["aa C type-II"], 2)])
        out.append({"n": n, **res})
    table = print_table(f"Per-iteration wall time, ms (diagonal quadratic kappa=1e4, m={M}, map included, "
                        f"best of {repeat} runs of {n_iter} iterations)",
                        ["n", *list(out[0])[1:], "ours AA / aa C"], rows)
    return table, out


# ----------------------------------------------------------------------------------- part 2
SUITE = [lambda: P.quadratic(300, 1e2), lambda: P.quadratic(300, 1e4), lambda: P.quadratic(300, 1e6),
         lambda: P.lasso(300, 600, 0.95), lambda: P.logistic("breast_cancer", False),
         lambda: P.logistic("breast_cancer", True), lambda: P.logistic("wine", False), lambda: P.ridge("digits", 1e-3)]
OURS = {"EG-AA default": {"method": "egaa"}, "AA": {"method": "aa"}, "FISTA+restart": {"method": "fista_restart"}}
C_AA = {"aa C type-I": {"type1": True}, f"aa C type-I wmax={WMAX_LARGE:g}": {"type1": True,
                                                                            "max_weight_norm": WMAX_LARGE},
        "aa C type-II": {}, f"aa C type-II wmax={WMAX_LARGE:g}": {"max_weight_norm": WMAX_LARGE}}


def wall_to_target(p, cap, repeat):
    """{method: (iterations to TARGET or None, seconds of a clean run of that many iterations or None)}."""
    F0 = p.F(p.x0)
    reached = lambda x: (p.F(x) - p.F_star) / (F0 - p.F_star) <= TARGET
    T = lambda x: (p.prox(x - p.grad(x) / p.L, 1.0 / p.L) if p.prox is not None else x - p.grad(x) / p.L)
    res = {}
    for label, kw in OURS.items():
        needs_F = kw["method"] != "aa"
        r = p.solve(max_iter=cap, tol=0.0, **kw)
        hit = np.flatnonzero(p.rel_gap(r.history.F) <= TARGET)
        if not hit.size:
            res[label] = (None, None)
            continue
        k = int(hit[0])
        clean = lambda: solve(p.x0, grad=p.grad, prox=p.prox, F=p.F if needs_F else None, L=p.L, max_iter=k,
                              tol=0.0, record_F=False, **kw)
        res[label] = (k, best_time(clean, repeat))
    for label, kw in C_AA.items():
        k = run_aa_c(T, p.x0.copy(), cap, reached, **kw)
        res[label] = (k, best_time(lambda: run_aa_c(T, p.x0.copy(), k, **kw), repeat) if k else None)
    if p.prox is None:
        k = run_scipy(p.grad, p.L, p.x0.copy(), cap, reached)
        res["scipy anderson"] = (k, best_time(lambda: run_scipy(p.grad, p.L, p.x0.copy(), k), repeat) if k else None)
    else:
        res["scipy anderson"] = (None, None)
    return res


def suite(builders, cap, repeat):
    rows, out = [], []
    for build in builders:
        p = build()
        res = wall_to_target(p, cap, repeat)
        times = {k: t for k, (_, t) in res.items() if t is not None}
        fastest = min(times, key=times.get) if times else "none reaches the target"
        eg, plain = res["EG-AA default"][1], res["AA"][1]
        ratio = round(eg / plain, 2) if eg is not None and plain is not None else None
        rows.append([p.name, *[f"{k} / {t * 1e3:.1f} ms" if t is not None else
                               ("n/a (nonsmooth)" if label == "scipy anderson" and p.prox is not None else "–")
                               for label, (k, t) in res.items()], ratio, fastest])
        out.append({"problem": p.name, **{k: list(v) for k, v in res.items()}, "egaa_over_aa": ratio,
                    "fastest": fastest})
    table = print_table(f"Iterations / wall time to rel. gap {TARGET:g} (budget {cap}; best of {repeat} clean runs of "
                        "exactly that many iterations; '–' = not reached)",
                        ["problem", *res, "EG-AA default / AA wall", "fastest"], rows)
    return table, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n up to 1e5 and a 4-problem suite")
    ap.add_argument("--repeat", type=int, default=5, help="timed repetitions (the best is reported)")
    args = ap.parse_args()
    ns = [10**4, 10**5] if args.quick else [10**4, 10**5, 10**6]
    with limit_threads(1):
        t_iter, per_iter = per_iteration(ns, n_iter=20 if args.quick else 30, repeat=args.repeat)
        builders = [SUITE[i] for i in (1, 3, 4, 5)] if args.quick else SUITE
        t_suite, wall = suite(builders, cap=3000, repeat=args.repeat)
    write_results("anderson_peers", {"quick": args.quick, "m": M, "per_iteration_table": t_iter,
                                     "per_iteration_ms": per_iter, "suite_table": t_suite, "suite": wall})


if __name__ == "__main__":
    main()
