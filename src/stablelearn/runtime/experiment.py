"""What an experiment is and what it returns: claims, tables, figures.

An :class:`Experiment` names a reproduction, its ``quick`` and ``full`` configurations and the
function that runs it. The function receives a :class:`Context` and returns a :class:`Result`.
A :class:`Claim` records one statement of a paper, the criterion it was checked by, what was
measured and whether it holds; claims that do not hold are reported as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = ["Claim", "Table", "Result", "Experiment", "Context", "VERDICTS", "verdict_word", "interval_verdict",
           "bootstrap_ci", "loglog_slope", "cell_cache", "to_jsonable"]


VERDICTS = ("holds", "fails", "inconclusive")


@dataclass
class Claim:
    """One claim of a paper, checked against a measurement.

    ``holds`` must be computed from the measured numbers by ``criterion``, never typed in: ``True``
    (holds), ``False`` (fails) or ``None`` (inconclusive: the measured interval covers both sides).
    """

    statement: str
    criterion: str
    measured: str
    holds: bool | None
    details: str = ""

    def __post_init__(self) -> None:
        # numpy's bool is accepted and normalised; anything else is a bug in the experiment
        if isinstance(self.holds, np.bool_):
            self.holds = bool(self.holds)
        elif not (self.holds is None or isinstance(self.holds, bool)):
            raise TypeError(f"Claim.holds must be a bool or None, got {type(self.holds).__name__}")

    @property
    def verdict(self) -> str:
        """``"holds"``, ``"fails"`` or ``"inconclusive"``."""
        return verdict_word(self.holds)

    def to_dict(self) -> dict[str, Any]:
        return {"statement": self.statement, "criterion": self.criterion, "measured": self.measured,
                "holds": self.holds, "verdict": self.verdict, "details": self.details}


def verdict_word(holds: bool | None) -> str:
    """The verdict word of a claim's ``holds`` value (True, False or None)."""
    return "inconclusive" if holds is None else ("holds" if holds else "fails")


def interval_verdict(low: float, high: float, *, threshold: float = 0.0, side: str = "above") -> bool | None:
    """Three-valued verdict of a claim "the quantity lies ``side`` of ``threshold``" from its interval.

    ``True`` when ``[low, high]`` lies entirely on the claimed side, ``False`` when entirely on the other
    side, ``None`` (inconclusive) when it contains the threshold.
    """
    if side not in ("above", "below"):
        raise ValueError(f"side must be 'above' or 'below', got {side!r}")
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValueError(f"interval must be finite with low <= high, got [{low}, {high}]")
    if side == "below":
        low, high, threshold = -high, -low, -threshold
    if low > threshold:
        return True
    if high < threshold:
        return False
    return None


def bootstrap_ci(values: Any, *, statistic: Callable[[np.ndarray], Any] = np.mean, level: float = 0.95,
                 n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Percentile bootstrap interval of ``statistic`` over ``values`` (resampled along axis 0).

    Returns ``(estimate, low, high)``. For paired comparisons pass the per-pair differences.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim == 0 or len(x) < 2:
        raise ValueError(f"values must hold at least 2 entries, got shape {x.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    stats = np.array([statistic(x[i]) for i in idx], dtype=float)
    lo, hi = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return float(statistic(x)), float(lo), float(hi)


def format_cell(value: Any) -> str:
    """Format one table entry: floats to 4 significant digits, None and NaN as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int,)) or type(value).__name__.startswith("int"):
        return str(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value).replace("|", "\\|").replace("\n", " ")
    if math.isnan(f):
        return "–"
    return f"{f:.4g}"


@dataclass
class Table:
    """A titled table; rows are lists aligned with ``columns``."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str = ""

    def __post_init__(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"Table {self.title!r}: row {i} has {len(row)} entries, "
                                 f"expected {len(self.columns)} (columns={list(self.columns)})")

    def to_markdown(self) -> str:
        head = "| " + " | ".join(map(str, self.columns)) + " |"
        sep = "|" + "---|" * len(self.columns)
        body = ["| " + " | ".join(format_cell(v) for v in row) + " |" for row in self.rows]
        lines = [f"**{self.title}**", "", head, sep, *body]
        if self.caption:
            lines += ["", self.caption]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "columns": list(self.columns),
                "rows": [[to_jsonable(v) for v in row] for row in self.rows], "caption": self.caption}


@dataclass
class Result:
    """What an experiment's ``run`` returns."""

    claims: list[Claim] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)  # name -> matplotlib Figure
    notes: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Experiment:
    """A registered reproduction: ``run(ctx) -> Result`` with a quick and a full configuration."""

    name: str
    description: str
    run: Callable[["Context"], Result]
    quick: Mapping[str, Any]
    full: Mapping[str, Any]
    expected_time: Mapping[str, str] = field(default_factory=dict)
    version: str = "1"  # part of every cell's cache key: bump it when a cell's meaning changes

    def config(self, profile: str) -> dict[str, Any]:
        if profile not in ("quick", "full"):
            raise ValueError(f"profile must be 'quick' or 'full', got {profile!r}")
        return dict(self.quick if profile == "quick" else self.full)


@dataclass
class Context:
    """What a running experiment may use: its configuration, its folder and the cell executor.

    ``map(fn, cells, desc=...)`` runs ``fn`` on each cell (a JSON-serialisable dict) through the
    run's executor, storing each finished cell under ``dir / "cells"`` so that a re-run resumes.
    """

    config: dict[str, Any]
    profile: str = "quick"
    seed: int = 0
    dir: Path = field(default_factory=lambda: Path("."))
    executor: Any = None
    fresh: bool = False
    progress: bool | None = None
    salt: str = ""

    def map(self, fn: Callable[[dict], Any], cells: Sequence[dict], desc: str | None = None) -> list:
        from stablelearn.runtime.sweep import sweep

        return sweep(fn, cells, executor=self.executor, cache_dir=self.dir / "cells",
                     fresh=self.fresh, desc=desc, progress=self.progress, salt=self.salt)


def loglog_slope(x: Any, y: Any) -> float:
    """Least-squares slope of ``log y`` against ``log x`` (a rate or a scaling exponent).

    NaN when fewer than two points are given or a value is not positive and finite, so a claim built on it
    shows the failure instead of a number.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.size < 2 or not (np.isfinite(x).all() and np.isfinite(y).all()
                                                 and (x > 0).all() and (y > 0).all()):
        return math.nan
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def cell_cache(maxsize: int = 8) -> Callable[[Callable[[dict], Any]], Callable[[dict], Any]]:
    """Cache a function of one JSON-able dict (a cell or part of one) per process, keyed by its JSON.

    For expensive set-up that several cells share (a trained model, snapshots): each worker process
    computes it once, deterministically from the dict alone.
    """
    import functools
    import json

    def wrap(fn: Callable[[dict], Any]) -> Callable[[dict], Any]:
        @functools.lru_cache(maxsize=maxsize)
        def by_key(key: str) -> Any:
            return fn(json.loads(key))

        @functools.wraps(fn)
        def cached(spec: dict) -> Any:
            return by_key(json.dumps(spec, sort_keys=True))

        cached.cache_clear = by_key.cache_clear  # type: ignore[attr-defined]
        return cached

    return wrap


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/torch scalars and arrays (recursively) to plain JSON types; NaN/inf to None."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (str, bool)) or obj is None:
        return obj
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy arrays and scalars, torch tensors
        return to_jsonable(obj.tolist())
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return str(obj)
