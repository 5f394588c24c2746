"""The quick reproduction end to end through the runtime (about 1-1.5 minutes on 2 cores)."""

import json

import pytest

from stablelearn.experiments.anderson import EXPERIMENT
from stablelearn.runtime import run_experiment


def test_quick_profile_end_to_end(tmp_path):
    rec = run_experiment(EXPERIMENT, tmp_path, profile="quick", progress=False)
    assert rec["status"] == "ok", rec["error"]
    claims = rec["claims"]
    assert len(claims) == 24 and all(isinstance(c["holds"], bool) for c in claims)
    # monotonicity is a guarantee of the guard (h = 1/L): the monotonicity claims must hold
    assert all(c["holds"] for c in claims if "monotone" in c["statement"])
    # the default preset (issue 15): no more iterations than AA wherever AA converges, monotone, and a guard that
    # costs at most 1.1 objective evaluations per iteration
    default = [c for c in claims if c["statement"].startswith("EG-AA watchdog (default)")]
    assert len(default) == 4
    assert all(c["holds"] for c in default if not any(s in c["statement"] for s in ("beats FISTA", "diverges")))
    # "converges where AA diverges" (gap 1e-6 within 3000 iterations) is a coin toss on raw breast_cancer: every
    # preset reaches 1e-6 there at 1,700-3,000 iterations or just misses it (gap up to 6e-6), as the last bits of
    # the start or the CPU's kernels vary (docs/anderson.md, "Reproduction"). What holds on any CPU: AA diverges
    # on the raw logistic problems, and the default gets within 1e-4 of the optimum on each.
    data = json.loads((tmp_path / "anderson" / "result.json").read_text())["data"]
    assert data["aa_diverged"]
    assert all(data["final_gap"][n]["EG-AA watchdog (default)"] <= 1e-4 for n in data["aa_diverged"]), data
    per_iter = [v["EG-AA watchdog (default)"] for v in data["F_per_iter"].values()]
    assert max(per_iter) <= 1.1, per_iter  # on every problem, not on average
    iters = rec["tables"][0]
    assert len(iters["rows"]) == len(EXPERIMENT.quick["problems"])
    folder = tmp_path / "anderson"
    assert {"gap.png", "residual.png"} <= {p.name for p in folder.iterdir()}
    assert json.loads((folder / "result.json").read_text())["data"]["iters"]


@pytest.mark.slow
def test_full_profile_end_to_end(tmp_path):
    rec = run_experiment(EXPERIMENT, tmp_path, profile="full", progress=False)
    assert rec["status"] == "ok", rec["error"]
    # monotonicity is a guarantee of the guard in exact arithmetic; on the kappa = 1e6 quadratics (|F| ~ 1e7)
    # F's own float64 rounding is about 1e-12 of |F|, and which variant shows a rise of that size there depends
    # on the path (BLAS rounding differs between processes: "faithful" 1.1e-12 in one process, the lookahead
    # 3.1e-12 in the pool; docs/anderson.md). So: within 1e-12 of max(1, |F|) on every other problem, 1e-11 there
    data = json.loads((tmp_path / "anderson" / "result.json").read_text())["data"]
    for label, rises in data["largest_rise"].items():
        for name, rise in rises.items():
            assert rise <= (1e-11 if "kappa=1e+06" in name else 1e-12), (label, name, rise)
