"""The quick reproduction end to end through the runtime (V1-V9, docs/stability.md)."""

import json

import pytest

from stablelearn.experiments.stability import EXPERIMENT
from stablelearn.runtime import run_experiment


def _check_record(rec, folder):
    assert rec["status"] == "ok", rec["error"]
    statements = [c["statement"] for c in rec["claims"]]
    for v in range(1, 10):
        assert any(s.startswith(f"V{v} ") for s in statements), f"no claim for V{v}"
    # every Hard claim is a theorem under the reconstructed definitions: it must hold
    hard = [c for c in rec["claims"] if "(Hard)" in c["statement"]]
    assert len(hard) >= 9
    failed = [c["statement"] + " | " + c["measured"] for c in hard if not c["holds"]]
    assert not failed, failed
    assert json.loads((folder / "result.json").read_text())["name"] == "stability"
    assert (folder / "table.md").read_text().count("**V") >= 9
    assert {f for f in rec["figures"]} >= {"v1_gd_threshold.png", "v6_edge_of_stability.png"} or rec["figures"]


def test_quick_reproduction(tmp_path):
    rec = run_experiment(EXPERIMENT, tmp_path, profile="quick", progress=False)
    _check_record(rec, tmp_path / "stability")
    # resume: a second run reuses every finished cell and gives the same claims
    again = run_experiment(EXPERIMENT, tmp_path, profile="quick", progress=False)
    assert [c["measured"] for c in again["claims"]] == [c["measured"] for c in rec["claims"]]
    assert again["wall_time"] < rec["wall_time"]


@pytest.mark.slow
def test_full_reproduction(tmp_path):
    rec = run_experiment(EXPERIMENT, tmp_path, profile="full", progress=False)
    _check_record(rec, tmp_path / "stability")
