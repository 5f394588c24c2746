"""The quick profile of the `depth` reproduction, end to end through the runtime."""
import json

from stablelearn.experiments.depth import EXPERIMENT
from stablelearn.runtime import run_experiment


def test_quick_profile_runs_and_reports_every_claim(tmp_path):
    rec = run_experiment(EXPERIMENT, tmp_path, profile="quick", progress=False)
    assert rec["status"] == "ok", rec["error"]
    n_claims = 5 * len(EXPERIMENT.quick["sweep_a"]["tasks"]) + 3 * len(EXPERIMENT.quick["sweep_b"]["tasks"]) \
        + len(EXPERIMENT.quick["sweep_c"]["tasks"]) + len(EXPERIMENT.quick["coord"]["tasks"])
    assert len(rec["claims"]) == n_claims
    assert all(isinstance(c["holds"], bool) and c["measured"] for c in rec["claims"])
    folder = tmp_path / "depth"
    assert json.loads((folder / "result.json").read_text())["status"] == "ok"
    assert (folder / "table.md").read_text().count("**Sweep") == 3
    assert len(list(folder.glob("*.png"))) == len(rec["figures"]) >= 6
    drift = rec["data"]["sweep_a_teacher"]["depth-muP k=1"]["drift"]
    assert drift["low"] <= drift["slope"] <= drift["high"]
