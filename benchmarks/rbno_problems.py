"""RBNO vs PCA-Net and the neuralop FNO on Darcy flow and linear elasticity (arXiv 2512.21319) at CPU scale.

Runs the `rbno` reproduction's method comparison (same basis, same test set, same scoring) with a
modest configuration: Darcy 16x16 and elasticity 16x8, 16 KL modes, 100 snapshots, r = 24. Prints
the claims and tables and writes JSON to benchmarks/results/rbno_problems.json.

    python benchmarks/rbno_problems.py [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import write_results

from stablelearn.experiments import rbno
from stablelearn.runtime import Experiment, run_experiment


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="8x8 / 8x4 meshes, few steps (a smoke run)")
    args = ap.parse_args()
    n = 8 if args.quick else 16
    cfg = dict(rbno.EXPERIMENT.quick)
    cfg.update(problems=[{"problem": "darcy", "n": n, "modes": 16}, {"problem": "elasticity", "n": n, "modes": 16}],
               n_snapshots=100, r=24, n_train=1024, n_test=50, pcanet_steps=100 if args.quick else 600,
               sample_sizes=[64, 1024], c1_meshes=[], timing_params=5)
    steps = 100 if args.quick else 600
    cfg["train"] = dict(cfg["train"], steps=steps)
    cfg["baseline_train"] = dict(cfg["baseline_train"], steps=steps)
    ex = Experiment(name="rbno_problems", description="RBNO on Darcy and elasticity", run=rbno.run,
                    quick=cfg, full=cfg)
    with tempfile.TemporaryDirectory() as tmp:
        rec = run_experiment(ex, tmp, profile="quick")
        if rec["status"] != "ok":
            raise SystemExit(rec["error"])
        print((Path(tmp) / "rbno_problems" / "table.md").read_text())
    for c in rec["claims"]:
        print(f"- [{'holds' if c['holds'] else 'fails'}] {c['statement']} | {c['criterion']} | {c['measured']}")
    write_results("rbno_problems", {k: rec[k] for k in ("config", "claims", "tables", "data", "wall_time")})
    print(f"({rec['wall_time']:.0f} s)")


if __name__ == "__main__":
    main()
