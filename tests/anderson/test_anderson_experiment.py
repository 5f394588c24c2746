"""The quick reproduction end to end through the runtime (about 1-1.5 minutes on 2 cores)."""

import json

import pytest

from stablelearn.experiments.anderson import EXPERIMENT
from stablelearn.runtime import run_experiment


def test_quick_profile_end_to_end(tmp_path):
    rec = run_experiment(EXPERIMENT, tmp_path, profile="quick", progress=False)
    assert rec["status"] == "ok", rec["error"]
    claims = rec["claims"]
    assert len(claims) == 8 and all(isinstance(c["holds"], bool) for c in claims)
    # spec 4.5 is a guarantee of the guard (base_step, h = 1/L): the monotonicity claims must hold
    assert all(c["holds"] for c in claims if "monotone" in c["statement"])
    iters = rec["tables"][0]
    assert len(iters["rows"]) == len(EXPERIMENT.quick["problems"])
    folder = tmp_path / "anderson"
    assert {"gap.png", "residual.png"} <= {p.name for p in folder.iterdir()}
    assert json.loads((folder / "result.json").read_text())["data"]["iters"]


@pytest.mark.slow
def test_full_profile_end_to_end(tmp_path):
    rec = run_experiment(EXPERIMENT, tmp_path, profile="full", progress=False)
    assert rec["status"] == "ok", rec["error"]
    assert all(c["holds"] for c in rec["claims"] if "monotone" in c["statement"])
