"""End-to-end quick profile of the `rbno` reproduction through the runtime API."""

import json

import numpy as np

from stablelearn.experiments.rbno import EXPERIMENT
from stablelearn.runtime import run_experiment


def test_quick_profile_end_to_end(tmp_path):
    rec = run_experiment(EXPERIMENT, tmp_path, profile="quick", seed=0, progress=False)
    assert rec["status"] == "ok", rec["error"]
    names = [c["statement"].split(":")[0].split(" (")[0] for c in rec["claims"]]
    assert names == ["C1", "C2", "C3a", "C3b", "C3c", "C4"]
    assert all(isinstance(c["holds"], bool) for c in rec["claims"])
    saved = json.loads((tmp_path / "rbno" / "result.json").read_text())
    methods = saved["data"]["heat 16x16"]["methods"]
    # internal consistency of the measured table: the RB optimum is the best the reduced space offers
    # in the FOSLS functional, and no RB method beats the FE solution in J
    fe_J = saved["data"]["heat 16x16"]["fe_mean_J"]
    for m in ("RB optimum", "RBNO (residual)", "RBNO (RB coef.)", "RBNO (both)"):
        assert methods[m]["mean_J"] >= methods["RB optimum"]["mean_J"] * (1 - 1e-9) >= fe_J * (1 - 1e-9)
    assert all(np.isfinite(v["rel_X"]) for v in methods.values())
    assert (tmp_path / "rbno" / "estimator_and_samples_heat.png").exists()
