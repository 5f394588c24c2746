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
from stablelearn._conventions import check_bool, check_int, progress_disabled
from stablelearn.runtime.experiment import Context, Experiment, Result, to_jsonable, verdict_word

__all__ = ["run_experiment", "load_results", "check_record", "write_json"]


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` (through :func:`to_jsonable`) to ``path`` as indented JSON, atomically.

    Parameters
    ----------
    path : pathlib.Path
        The file; it is replaced in one step, so a reader never sees half of it.
    obj : Any
        The value.
    """
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

    Parameters
    ----------
    experiment : Experiment
        What to run.
    out_dir : path
        The run folder.
    profile : {"quick", "full"}, default "quick"
        Which configuration to run.
    seed : int, default 0
        The run's seed, given to the experiment as ``ctx.seed`` (a non-negative integer below ``2**32``).
    executor : Executor, optional
        Runs the cells (default: in-process).
    fresh : bool, default False
        Recompute finished cells.
    progress : bool or None, default None
        The house progress rule.

    Returns
    -------
    dict
        The record: name, description, profile, seed, config, started, status (``"ok"``, ``"failed"``,
        ``"interrupted"``), claims, tables, figures, notes, data, error, wall_time.
    """
    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment must be an Experiment, got {type(experiment).__name__}")
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(f"executor must be an Executor (see get_executor), got {executor!r}")
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path, got {out_dir!r} ({type(out_dir).__name__})")
    seed = check_int(seed, "seed", low=0, high=2**32 - 1)
    fresh = check_bool(fresh, "fresh")
    progress_disabled(progress)
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


def _read_json(path: Path) -> Any:
    """The JSON value in ``path``; any failure is a ValueError that names the file."""
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: JSON and UTF-8 decoding errors
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"{path}: cannot be read as JSON: {why}") from None


_TEXT = (str, int, float, type(None))  # what a text field of a record may hold (rendered with str)


def _check_type(value: Any, types: type | tuple[type, ...], where: str, what: str) -> None:
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise ValueError(f"{where} must be {what}, got {value!r}")
    if not isinstance(value, types):
        raise ValueError(f"{where} must be {what}, got {type(value).__name__} {str(value)[:40]!r}")


def check_record(rec: Any, path: Path) -> dict[str, Any]:
    """Check that ``rec``, read from ``path`` (``DIR/<name>/result.json``), is a record the report can show.

    Parameters
    ----------
    rec : Any
        The decoded JSON.
    path : pathlib.Path
        Where it was read from (named in every message).

    Returns
    -------
    dict
        ``rec``.

    Raises
    ------
    ValueError
        Naming ``path`` and the first field that is missing or of the wrong type.
    """
    _check_type(rec, dict, f"{path}", "a JSON object (an experiment's record)")
    for key in ("name", "status"):
        if key not in rec:
            raise ValueError(f"{path}: field {key!r} is missing")
        _check_type(rec[key], str, f"{path}: {key!r}", "a string")
    if rec["name"] != path.parent.name:
        raise ValueError(f"{path}: 'name' is {rec['name']!r}, but the folder is {path.parent.name!r}")
    for key in ("profile", "description", "notes", "error"):
        _check_type(rec.get(key), _TEXT, f"{path}: {key!r}", "a string")
    _check_type(rec.get("wall_time"), (int, float, type(None)), f"{path}: 'wall_time'", "a number of seconds")
    for key in ("claims", "tables", "figures"):
        _check_type(rec.get(key, []), list, f"{path}: {key!r}", "a list")
    for i, c in enumerate(rec.get("claims", [])):
        where = f"{path}: claims[{i}]"
        _check_type(c, dict, where, "a JSON object")
        if "holds" not in c:
            raise ValueError(f"{where}: field 'holds' is missing")
        _check_type(c["holds"], (bool, type(None)), f"{where}: 'holds'", "true, false or null")
        for key in ("statement", "criterion", "measured", "details"):
            _check_type(c.get(key), _TEXT, f"{where}: {key!r}", "a string")
        if "verdict" in c and c["verdict"] != verdict_word(c["holds"]):
            raise ValueError(f"{where}: 'verdict' is {c['verdict']!r} but 'holds' is {c['holds']!r}")
    for i, t in enumerate(rec.get("tables", [])):
        where = f"{path}: tables[{i}]"
        _check_type(t, dict, where, "a JSON object")
        for key in ("columns", "rows"):
            if key not in t:
                raise ValueError(f"{where}: field {key!r} is missing")
            _check_type(t[key], list, f"{where}: {key!r}", "a list")
        for key in ("title", "caption"):
            _check_type(t.get(key), _TEXT, f"{where}: {key!r}", "a string")
        for j, row in enumerate(t["rows"]):
            _check_type(row, list, f"{where}: rows[{j}]", "a list")
            if len(row) != len(t["columns"]):
                raise ValueError(f"{where}: rows[{j}] has {len(row)} entries for {len(t['columns'])} columns")
    for i, f in enumerate(rec.get("figures", [])):
        _check_type(f, str, f"{path}: figures[{i}]", "a file name")
        if f in ("", ".", "..") or Path(f).name != f or "\\" in f:
            raise ValueError(f"{path}: figures[{i}] must be a file name in the experiment's folder, got {f!r}")
    return rec


def load_results(out_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The checked ``result.json`` records under ``out_dir``, in the order of ``run.json`` when present.

    Parameters
    ----------
    out_dir : path
        A run folder.

    Returns
    -------
    list of dict
        One record per ``out_dir/<name>/result.json``: those named in ``run.json`` first, in its order,
        then the others by name.

    Raises
    ------
    ValueError
        Naming the file, when ``run.json`` or a ``result.json`` cannot be read or is not a valid record
        (see :func:`check_record`).
    """
    root = Path(out_dir)
    order: list[str] = []
    run_file = root / "run.json"
    if run_file.exists():
        run = _read_json(run_file)
        _check_type(run, dict, f"{run_file}", "a JSON object")
        order = run.get("experiments", [])
        _check_type(order, list, f"{run_file}: 'experiments'", "a list of names")
        for i, name in enumerate(order):
            _check_type(name, str, f"{run_file}: experiments[{i}]", "a name")
    found = {p.parent.name: p for p in root.glob("*/result.json")}
    names = [n for n in order if n in found] + sorted(n for n in found if n not in order)
    return [check_record(_read_json(found[n]), found[n]) for n in names]
