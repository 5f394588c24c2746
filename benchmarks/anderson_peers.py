"""EG-AA / AA (stablelearn.anderson) side by side with scipy.optimize.anderson and the C `aa` package
(cvxgrp/aa, SCS's AA core), in one process on the same problems.

Part 1: per-iteration wall time of the AA step at n = 1e4, 1e5, 1e6 (m = 5) on a diagonal quadratic
        (map cost reported separately), and iterations to tolerance where affordable.
Part 2: iterations and wall time to relative gap 1e-6 on the reproduction suite (spec section 6).

    python benchmarks/anderson_peers.py [--quick]

Prints Markdown tables and writes benchmarks/results/anderson_peers.json.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # one BLAS thread for every peer
    os.environ.setdefault(_var, "1")

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import NoConvergence, anderson as scipy_anderson

import aa
from stablelearn.anderson import Accelerator, solve
from stablelearn.anderson import problems as P

M = 5


def table(title, cols, rows):
    print(f"\n**{title}**\n\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r) + " |")


# ----------------------------------------------------------------------------------- peers as loops
def run_aa_c(T, x0, n_iter, record=None, type1=False, max_weight_norm=1e6):
    """The cvxgrp/aa usage pattern (README): apply before the map, safeguard after it; the package's
    defaults (type-II reg 1e-12, type-I 1e-8, safeguard_factor 1, max_weight_norm 1e6)."""
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
    Armijo line search; counts its iterations through the callback."""
    count = {"k": 0, "hit": None}

    def cb(x, f):
        count["k"] += 1
        if record is not None and count["hit"] is None and record(x):
            count["hit"] = count["k"]
            raise StopIteration

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scipy_anderson(lambda x: -grad(x), x0, alpha=1.0 / L, M=M, maxiter=n_iter, f_tol=1e-300,
                           callback=cb)
    except (NoConvergence, StopIteration, ValueError, OverflowError, FloatingPointError, np.linalg.LinAlgError):
        pass
    return count["hit"] if record is not None else count["k"]


def run_ours(T, x0, n_iter, F=None, record=None, accel="aa"):
    acc = Accelerator(M, governor="none") if accel == "aa" else Accelerator(M, governor="dissipative")
    x = x0
    for i in range(n_iter):
        x = acc.step(x, T(x), energy=F if accel != "aa" else None)
        if record is not None and record(x):
            return i + 1
    return n_iter if record is None else None


# ----------------------------------------------------------------------------------- part 1
def per_iteration(ns, n_iter, warm=5):
    rows, out = [], []
    for n in ns:
        p = P.quadratic(n, 1e4, seed=0, rotate=False)
        T = lambda x: x - p.grad(x)
        x0 = np.zeros(n)
        res = {}

        def timed(fn):
            fn(warm)
            t = time.perf_counter()
            fn(n_iter)
            return (time.perf_counter() - t) / n_iter * 1e3

        res["map only"] = timed(lambda k: [T(x0) for _ in range(k)])
        res["aa C (type-II)"] = timed(lambda k: run_aa_c(T, x0, k))
        res["ours AA (Accelerator)"] = timed(lambda k: run_ours(T, x0, k))
        res["ours EG-AA (Accelerator+guard)"] = timed(lambda k: run_ours(T, x0, k, F=p.F, accel="egaa"))
        res["ours solve(aa)"] = timed(lambda k: solve(x0, T=T, method="aa", max_iter=k, tol=0.0))
        res["ours solve(egaa)"] = timed(lambda k: solve(x0, grad=p.grad, F=p.F, L=1.0, method="egaa", max_iter=k,
                                                        tol=0.0))
        eig, bt = torch.tensor(np.logspace(0, -4, n)), torch.tensor(-p.grad(x0))
        Tt = lambda x: x - (eig * x - bt)
        res["ours AA torch-cpu f64"] = timed(lambda k: run_ours(Tt, torch.zeros(n, dtype=torch.float64), k))
        res["scipy anderson"] = timed(lambda k: run_scipy(p.grad, 1.0, x0, k))
        rows.append([f"{n:.0e}"] + [round(v, 3) for v in res.values()]
                    + [round(res["ours AA (Accelerator)"] / res["aa C (type-II)"], 2)])
        out.append({"n": n, **res})
    table(f"Per-iteration wall time, ms (diagonal quadratic kappa=1e4, m={M}, mean of {n_iter} iterations)",
          ["n", *list(out[0])[1:], "ours AA / aa C"], rows)
    return out


def iters_to_tol(ns, cap):
    rows, out = [], []
    for n in ns:
        p = P.quadratic(n, 1e4, seed=0, rotate=False)
        T = lambda x: x - p.grad(x)
        x0 = np.zeros(n)
        rec = lambda x: (p.F(x) - p.F_star) / (p.F(x0) - p.F_star) <= 1e-6
        row = {}
        for name, fn in [("aa C (type-II)", lambda: run_aa_c(T, x0, cap, rec)),
                         ("aa C (type-I)", lambda: run_aa_c(T, x0, cap, rec, type1=True)),
                         ("ours AA", lambda: run_ours(T, x0, cap, record=rec)),
                         ("ours EG-AA faithful", lambda: run_ours(T, x0, cap, F=p.F, record=rec, accel="egaa")),
                         ("scipy anderson", lambda: run_scipy(p.grad, 1.0, x0, cap, rec))]:
            t = time.perf_counter()
            k = fn()
            row[name] = (k, time.perf_counter() - t)
        rows.append([f"{n:.0e}"] + [f"{k if k else '– (cap %d)' % cap} / {t:.2f}s" for k, t in row.values()])
        out.append({"n": n, **{k: list(v) for k, v in row.items()}})
    table("Iterations / wall time to rel. gap 1e-6 (diagonal quadratic kappa=1e4; wall includes the F "
          "evaluation used to detect the target)", ["n", *list(out[0])[1:]], rows)
    return out


# ----------------------------------------------------------------------------------- part 2
SUITE = [lambda: P.quadratic(300, 1e2), lambda: P.quadratic(300, 1e4), lambda: P.quadratic(300, 1e6),
         lambda: P.lasso(300, 600, 0.95), lambda: P.logistic("breast_cancer", False),
         lambda: P.logistic("breast_cancer", True), lambda: P.logistic("wine", False), lambda: P.ridge("digits", 1e-3)]


def suite(builders, cap):
    rows, out = [], []
    for build in builders:
        p = build()
        F0 = p.F(p.x0)
        gap = lambda x: (p.F(x) - p.F_star) / (F0 - p.F_star)
        T = lambda x: (p.prox(x - p.grad(x) / p.L, 1.0 / p.L) if p.prox is not None else x - p.grad(x) / p.L)
        res = {}
        for label, kw in [("AA", {"method": "aa"}), ("EG-AA faithful", {"method": "egaa", "preset": "faithful"}),
                          ("EG-AA robust", {"method": "egaa", "preset": "robust"}),
                          ("EG-AA robust, sufficient-decrease guard",
                           {"method": "egaa", "preset": "robust", "guard_ref": "monotone", "sigma": 0.5}),
                          ("FISTA+restart", {"method": "fista_restart"})]:
            r = p.solve(max_iter=cap, tol=0.0, **kw)
            g = p.rel_gap(r.history.F)
            hit = np.flatnonzero(g <= 1e-6)
            if hit.size:  # time a clean run to the target (AA without the history F evaluations)
                k = int(hit[0])
                t = time.perf_counter()
                if label == "AA":
                    solve(p.x0, grad=p.grad, prox=p.prox, L=p.L, method="aa", max_iter=k, tol=0.0)
                else:
                    p.solve(max_iter=k, tol=0.0, **kw)
                res[label] = (k, time.perf_counter() - t)
            else:
                res[label] = (None, float("nan"))
        rec = lambda x: gap(x) <= 1e-6
        for label, kw in [("aa C type-II", {}), ("aa C type-II wmax=1e10", {"max_weight_norm": 1e10}),
                          ("aa C type-I", {"type1": True})]:
            t = time.perf_counter()
            k = run_aa_c(T, p.x0.copy(), cap, rec, **kw)
            res[label] = (k, time.perf_counter() - t if k else float("nan"))
        if p.prox is None:
            t = time.perf_counter()
            k = run_scipy(p.grad, p.L, p.x0.copy(), cap, rec)
            res["scipy anderson"] = (k, time.perf_counter() - t if k else float("nan"))
        else:
            res["scipy anderson"] = ("n/a (nonsmooth)", float("nan"))
        eg, plain = res["EG-AA robust"], res["AA"]
        ok = ("n/a (neither reaches 1e-6)" if eg[0] is None and plain[0] is None
              else eg[0] is not None and (plain[0] is None or eg[1] <= plain[1]))
        rows.append([p.name] + [f"{k if k is not None else '–'} / {t:.3f}s" if isinstance(t, float) and t == t
                                else f"{k if k is not None else '–'}" for k, t in res.values()] + [ok])
        out.append({"problem": p.name, **{k: list(v) for k, v in res.items()}, "egaa_robust_not_slower_than_aa": ok})
    table(f"Iterations / wall time to rel. gap 1e-6 on the suite (budget {cap}; wall of a clean run to the "
          "target, AA without history F evaluations; peers include the F evaluation that detects the target)",
          ["problem", *[k for k in out[0] if k not in ("problem", "egaa_robust_not_slower_than_aa")],
           "EG-AA robust wall <= AA wall"], rows)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n up to 1e5 and a 4-problem suite")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ns = [10**4, 10**5] if args.quick else [10**4, 10**5, 10**6]
    result = {"quick": args.quick, "m": M}
    result["per_iteration_ms"] = per_iteration(ns, n_iter=20 if args.quick else 30)
    result["iters_to_tol"] = iters_to_tol([10**4] if args.quick else [10**4, 10**5], cap=1500)
    result["suite"] = suite([SUITE[i] for i in (1, 3, 4, 5)] if args.quick else SUITE, cap=3000)
    out = Path(__file__).parent / "results" / "anderson_peers.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
