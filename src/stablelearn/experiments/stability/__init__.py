"""Reproduction of arXiv 2512.21208 (Learning Stability Profile): the validation suite V1-V9 (docs/stability.md).

The paper is pure theory (no experiments could be found), so the claims are a validation plan: theorems that
must hold (Hard) and behaviours measured in NumPy prototypes (Soft, reported with the prototype's numbers).
Every tool check goes through ``stablelearn.stability``. Layout: ``cells`` (the one sweep and its dispatcher),
``gd_sgd`` / ``residual`` / ``energy`` / ``networks`` (the checks), ``claims``, ``figures``, ``data``.
"""

from __future__ import annotations

from stablelearn.runtime import Context, Experiment, Result

from .cells import run_check, sweep_cells
from .claims import (
    claims_v1,
    claims_v2,
    claims_v3,
    claims_v4,
    claims_v5,
    claims_v6,
    claims_v7,
    claims_v8,
    claims_v9,
    v6_summary,
)
from .figures import figures

__all__ = ["EXPERIMENT", "run"]


def run(ctx: Context) -> Result:
    """Run every check as one sweep, then build the claims, tables and figures."""
    cfg, seed = ctx.config, ctx.seed
    cells = sweep_cells(cfg, seed)
    results = ctx.map(run_check, cells, desc="stability checks")
    out = {c["check"]: r for c, r in zip(cells, results) if c["check"] != "v6"}
    v6 = [r for c, r in zip(cells, results) if c["check"] == "v6"]
    claims, tables = [], []
    for part in (claims_v1(out["v1"]), claims_v2(out["v2"]), claims_v3(out["v3"])):
        claims += part[0]
        tables.append(part[1])
    c4, t4 = claims_v4(out["v4_linear"], out["v4_nonlinear"], out["v4_resnet"])
    claims += c4 + claims_v5(out["v5"])
    tables += t4
    for part in (claims_v6(v6, cfg["v6"]["burn"]), claims_v7(out["v7"]), claims_v8(out["v8"], cfg["v8"]["horizons"]),
                 claims_v9(out["v9"])):
        claims += part[0]
        tables.append(part[1])
    notes = (
        "The paper (arXiv 2512.21208) is theory; only its abstracts could be read and it reports no experiments. "
        "The claims are the validation suite V1-V9 of docs/stability.md: Hard items are theorems (standard derivations "
        "under the reconstructed definitions), Soft items compare with NumPy prototypes. Prototype "
        "numbers that depend on an unknown random draw (batch order in V2/V3, W and b in V4, the MLP init in V6) "
        "cannot be matched exactly; the tables show both. Deviations: V3/V8 draw each mini-batch independently "
        "(a uniform subset; the mean-square law's assumption); V4's ResNet is trained once at one depth and evaluated at "
        "the others with h = T/K (S_rep then approaches its depth limit with the O(1/K) Euler error, largest at K = 10); V6 draws its curves with the library's StabilityMonitor at its default tracking (tracking=\"power\": each check goes on from the previous check's vector to the default residual tolerance), "
        "checked against exact cold solves at the same weights."
    )
    data = {"claims_held": sum(bool(c.holds) for c in claims), "claims_total": len(claims),
            "v1_lam_max": out["v1"]["lam_max"], "v3_eta_ms": out["v3"]["eta_ms"],
            "v6_late_ratio": v6_summary(max(v6, key=lambda r: r["eta"]), cfg["v6"]["burn"])["ratio_late"]}
    return Result(claims=claims, tables=tables, figures=figures(out["v1"], out["v3"], v6, out["v8"], cfg["v8"]["horizons"]),
                  notes=notes, data=data)


QUICK = {
    "v1": {"cs": [0.5, 0.9, 0.99, 1.01, 1.1, 1.5], "steps": 3000},
    "v2": {"cs": [0.5, 3.0], "batch": 32, "epochs": 50},
    "v3": {"batch": 16, "n_batches": 4000, "factors": [0.8, 0.95, 1.05, 1.2], "seeds": 20, "steps": 2000},
    "v4_linear": {"hs": [0.3, 0.49, 0.51, 0.6], "depth": 200},
    "v4_nonlinear": {"hs": [0.1, 0.2, 0.6, 0.9, 0.99, 1.01, 1.1], "dim": 20, "depth": 300},
    "v4_resnet": {"n": 200, "width": 8, "train_depth": 20, "T": 1.0, "train_steps": 150, "depths": [10, 20, 100]},
    "v5": {"T": 10_000, "tangent_T": 4000},
    "v6": {"etas": [0.04, 0.08, 0.12], "n": 1000, "steps": 3000, "check_every": 250, "burn": 1000},
    "v7": {"cs": [0.5, 0.99, 1.05, 1.5], "lam": 0.05, "steps": 3000},
    "v8": {"cs": [0.9, 1.01], "horizons": [250, 500, 1000, 2000, 4000], "batch": 16, "n_batches": 4000,
           "sgd_factors": [0.95, 1.2]},
    "v9": {"n": 1000, "train_steps": 100, "probe": 200, "kink_tol": 1e-6},
}
FULL = {
    **QUICK,
    "v3": {**QUICK["v3"], "seeds": 100, "factors": [0.5, 0.8, 0.95, 1.05, 1.2]},
    "v4_resnet": {**QUICK["v4_resnet"], "train_steps": 400, "depths": [10, 20, 100, 1000]},
    "v6": {**QUICK["v6"], "steps": 6000, "check_every": 500, "burn": 1000},
    "v9": {**QUICK["v9"], "train_steps": 300, "probe": 1000},
}

EXPERIMENT = Experiment(
    name="stability",
    description="Learning Stability Profile (2512.21208): validation suite V1-V9, thresholds, energies, EoS",
    run=run, quick=QUICK, full=FULL, expected_time={"quick": "30-60 s", "full": "70-150 s"},
    version="3",  # 2: V6 through the tracking monitor, one sweep with a dispatcher cell; 3: tracking="power"
)
