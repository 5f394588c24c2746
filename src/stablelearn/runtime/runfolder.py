"""Run folders: ``DIR/<experiment>/result.json``, figures as PNG, ``table.md``, cells, and the reports.

``run_experiment`` runs one experiment into ``DIR/<name>/`` and always writes ``result.json``, also
when the experiment raises (status ``"failed"`` with the traceback) or is interrupted.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from stablelearn.runtime.executors import Executor, LocalExecutor
from stablelearn.runtime.experiment import Context, Experiment, Result, to_jsonable

__all__ = ["run_experiment", "load_results", "write_json"]


def write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(to_jsonable(obj), indent=2))
    os.replace(tmp, path)


def _save_figures(result: Result, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = []
    for name, fig in result.figures.items():
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        fig.savefig(folder / f"{safe}.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        names.append(f"{safe}.png")
    return names


def run_experiment(experiment: Experiment, out_dir: str | os.PathLike, *, profile: str = "quick",
                   seed: int = 0, executor: Executor | None = None, fresh: bool = False,
                   progress: bool | None = None) -> dict[str, Any]:
    """Run ``experiment`` into ``out_dir/<name>/`` and return the record written to ``result.json``.

    Exceptions raised by the experiment are caught and recorded (status ``"failed"``);
    ``KeyboardInterrupt`` is recorded (status ``"interrupted"``) and re-raised. Finished cells stay.
    """
    folder = Path(out_dir) / experiment.name
    folder.mkdir(parents=True, exist_ok=True)
    config = experiment.config(profile)
    record: dict[str, Any] = {
        "name": experiment.name, "description": experiment.description, "profile": profile,
        "seed": seed, "config": config, "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "status": "running", "claims": [], "tables": [], "figures": [], "notes": "", "data": {},
        "error": None, "wall_time": None,
    }
    ctx = Context(config=config, profile=profile, seed=seed, dir=folder,
                  executor=executor or LocalExecutor(), fresh=fresh, progress=progress,
                  salt=f"{experiment.name}:{experiment.version}")
    t0 = time.perf_counter()
    try:
        result = experiment.run(ctx)
        if not isinstance(result, Result):
            raise TypeError(f"experiment {experiment.name!r} returned {type(result).__name__}, expected Result")
        record.update(status="ok", claims=[c.to_dict() for c in result.claims],
                      tables=[t.to_dict() for t in result.tables], notes=result.notes, data=result.data,
                      figures=_save_figures(result, folder))
        (folder / "table.md").write_text("\n\n".join(t.to_markdown() for t in result.tables) + "\n")
    except KeyboardInterrupt:
        record.update(status="interrupted", error="interrupted (KeyboardInterrupt); finished cells are kept")
        raise
    except Exception:  # noqa: BLE001 - recorded and shown in the report
        record.update(status="failed", error=traceback.format_exc())
    finally:
        record["wall_time"] = time.perf_counter() - t0
        write_json(folder / "result.json", record)
    return record


def load_results(out_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The ``result.json`` records under ``out_dir``, in the order of ``run.json`` when present."""
    root = Path(out_dir)
    order: list[str] = []
    run_file = root / "run.json"
    if run_file.exists():
        order = json.loads(run_file.read_text()).get("experiments", [])
    found = {p.parent.name: p for p in root.glob("*/result.json")}
    names = [n for n in order if n in found] + sorted(n for n in found if n not in order)
    return [json.loads(found[n].read_text()) for n in names]
