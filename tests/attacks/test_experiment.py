"""End-to-end run of the quick profile of the ``attacks`` reproduction (20 images, 2K queries: about 2 minutes on 2 cores)."""
import json

from stablelearn.experiments.attacks import EXPERIMENT
from stablelearn.runtime import run_experiment


def test_quick_profile_end_to_end(tmp_path):
    rec = run_experiment(EXPERIMENT, tmp_path, profile="quick", progress=False)
    assert rec["status"] == "ok", rec["error"]
    claims = rec["claims"]
    assert [c["statement"][:3] for c in claims] == [f"C{i}:" for i in range(1, 9)]
    assert all(c["holds"] in (True, False, None) and c["measured"] for c in claims)
    assert all("Table" in c["criterion"] or "Alg. 1" in c["criterion"] or "Sec. 5" in c["criterion"] for c in claims)
    assert claims[7]["holds"]  # C8: the oracle never lets a method exceed its budget
    folder = tmp_path / "attacks"
    table = (folder / "table.md").read_text()
    assert table.count("| PARS-OPT S1 |") >= 1 and "preset study" in table and "Kendall" in table
    assert list(folder.glob("*.png"))
    saved = json.loads((folder / "result.json").read_text())
    assert len(saved["claims"]) == 8
