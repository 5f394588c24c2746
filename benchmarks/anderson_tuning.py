"""How EG-AA's default preset was chosen: candidate guards and governors on a tuning set of problems
that is disjoint from the reproduction suite (other seeds, sizes, data sets and regularisation).

    python benchmarks/anderson_tuning.py

Criteria, in order: (1) no more iterations to relative gap 1e-6 than plain AA on every tuning problem
where AA reaches it, and reaching it where AA does not; (2) a bound on the aggregate momentum (the
effective mass); (3) fewer objective evaluations per iteration; (4) fewer iterations overall.
Prints a Markdown table and writes benchmarks/results/anderson_tuning.json.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

from _common import print_table, write_results
from stablelearn.anderson import problems as P

TUNING = [lambda: P.quadratic(200, 1e3, seed=11), lambda: P.quadratic(200, 1e5, seed=11),
          lambda: P.lasso(200, 400, 0.9, seed=11), lambda: P.logistic("digits", True),
          lambda: P.logistic("digits", False), lambda: P.logistic("wine", True),
          lambda: P.ridge("diabetes", 1e-3, standardize=True), lambda: P.ridge("digits", 1e-2),
          lambda: P.logistic("breast_cancer", False, l2=1e-2)]
CANDIDATES = {
    "AA": {"method": "aa"},
    "guard F(Tx), no governor (robust)": {"method": "egaa", "preset": "robust"},
    "guard F(Tx) + dissipative (faithful)": {"method": "egaa", "preset": "faithful"},
    "descent guard, no governor": {"method": "egaa", "guard_ref": "descent", "governor": "none"},
    "descent guard + dissipative": {"method": "egaa", "guard_ref": "descent", "governor": "dissipative"},
    "descent guard + trust, growth 2": {"method": "egaa", "preset": "trust", "growth": 2.0},
    "descent guard + trust, growth 10 (default)": {"method": "egaa", "preset": "trust"},
    "descent guard + trust, growth 100": {"method": "egaa", "preset": "trust", "growth": 100.0},
}
TARGET, BUDGET = 1e-6, 3000


def main() -> None:
    rows, out = [], []
    for build in TUNING:
        p = build()
        row, rec = [p.name], {"problem": p.name}
        for label, kw in CANDIDATES.items():
            r = p.solve(max_iter=BUDGET, tol=1e-12, **kw)
            hit = np.flatnonzero(p.rel_gap(r.history.F) <= TARGET)
            k = int(hit[0]) if hit.size else None
            f_per_iter = r.n_F / max(r.n_iter, 1)
            row.append(f"{k if k is not None else '–'} ({f_per_iter:.2f})")
            rec[label] = {"iters": k, "F_per_iter": f_per_iter, "status": r.status}
        rows.append(row)
        out.append(rec)
    no_worse = []
    for label in CANDIDATES:
        ok = all((rec["AA"]["iters"] is None and rec[label]["iters"] is not None)
                 or (rec["AA"]["iters"] is not None and rec[label]["iters"] is not None
                     and rec[label]["iters"] <= rec["AA"]["iters"]) for rec in out)
        mean_f = float(np.mean([rec[label]["F_per_iter"] for rec in out]))
        no_worse.append([label, ok, round(mean_f, 3)])
    t1 = print_table(f"Tuning set: iterations to rel. gap {TARGET:g} (F evaluations per iteration; budget {BUDGET}, "
                     "stop at ||r|| <= 1e-12 ||r0||)", ["problem", *CANDIDATES], rows)
    t2 = print_table("Tuning set: criterion (1) and mean F evaluations per iteration",
                     ["candidate", "<= AA everywhere and converges where AA does not", "mean F evals / iter"],
                     no_worse)
    write_results("anderson_tuning", {"iterations": t1, "summary": t2, "runs": out})


if __name__ == "__main__":
    main()
