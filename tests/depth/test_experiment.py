"""The quick profile of the `depth` reproduction, end to end through the runtime."""
import json

import pytest

from stablelearn.experiments.depth import EXPERIMENT
from stablelearn.runtime import run_experiment


def test_quick_profile_runs_and_reports_every_claim(tmp_path):
    rec = run_experiment(EXPERIMENT, tmp_path, profile="quick", progress=False)
    assert rec["status"] == "ok", rec["error"]
    a = EXPERIMENT.quick["sweep_a"]
    n_claims = (5 + (len(a["widths"]) > 1)) * len(a["tasks"]) + 3 * len(EXPERIMENT.quick["sweep_b"]["tasks"]) \
        + len(EXPERIMENT.quick["sweep_c"]["tasks"]) + len(EXPERIMENT.quick["coord"]["tasks"]) + 1 \
        + 2 * len(a["tasks"])                                          # prototype convention; selected correction
    assert len(rec["claims"]) == n_claims
    assert all(isinstance(c["holds"], bool) and c["measured"] for c in rec["claims"])
    folder = tmp_path / "depth"
    assert json.loads((folder / "result.json").read_text())["status"] == "ok"
    assert (folder / "table.md").read_text().count("**Sweep") == 5
    assert "**Correction study" in (folder / "table.md").read_text()
    assert len(list(folder.glob("*.png"))) == len(rec["figures"]) >= 6
    drift = rec["data"]["sweep_a_teacher"][f"depth-muP k=1 n={max(a['widths'])}"]["drift"]
    assert drift["low"] <= drift["slope"] <= drift["high"]


def test_full_profile_code_path_on_a_tiny_grid(tmp_path):
    """Several widths and tasks (the full profile's branches) on a grid small enough for CI."""
    from stablelearn.runtime import Context

    cfg = {"width": 16, "batch_size": 16,
           "sweep_a": {"tasks": ["digits"], "widths": [16, 32], "depths": [1, 2], "log2_lrs": [-8.0, -6.0, -4.0],
                       "seeds": 2, "steps": 3},
           "sweep_b": {"tasks": ["digits"], "depths": [1, 2], "seeds": 1, "steps": 2, "lr": 0.1},
           "sweep_c": {"tasks": ["teacher"], "depths": [1, 2], "seeds": 1, "steps": 2, "lr": 0.1},
           "coord": {"tasks": ["digits"], "widths": [16, 32], "depths": [1, 2], "steps": 1, "lr": 0.05},
           "prototype": {"base_width": 1, "lr": 0.05},
           "correction": {"task": "teacher", "width": 8, "depths": [1, 2], "seeds": 1, "steps": 2, "betas": [0.5, 1.0],
                          "beta_k3": 0.5, "log2_lrs": {"adam": [-8.0, -6.0, -4.0], "sgd": [-2.0, 0.0, 2.0]}}}
    res = EXPERIMENT.run(Context(config=cfg, profile="full", dir=tmp_path, progress=False))
    assert len(res.claims) == 3 + 1 + 1 + 1 + 6 + 2
    sweep_a = next(t for t in res.tables if t.title.startswith("Sweep A"))
    assert sweep_a.columns[:2] == ["scheme", "width"] and len(sweep_a.rows) == 3 * 2
    study = next(t for t in res.tables if t.title.startswith("Correction study"))
    assert len(study.rows) == 2 * (1 + 2) + 2 * 3                      # k=2: base + 2 betas; k=3: base + 2 layer sets
    import matplotlib.pyplot as plt
    for fig in res.figures.values():
        plt.close(fig)


@pytest.mark.slow
def test_full_profile(tmp_path):
    rec = run_experiment(EXPERIMENT, tmp_path, profile="full", progress=False)
    assert rec["status"] == "ok", rec["error"]
    assert all(isinstance(c["holds"], bool) for c in rec["claims"])
