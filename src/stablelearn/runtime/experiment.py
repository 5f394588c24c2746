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
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from stablelearn._conventions import as_rng, check_array, check_choice, check_float, check_int

if TYPE_CHECKING:
    from stablelearn.runtime.executors import Executor

__all__ = ["Claim", "Table", "Result", "Experiment", "Context", "VERDICTS", "verdict_word", "interval_verdict",
           "bootstrap_ci", "loglog_slope", "cell_cache", "to_jsonable"]


def _array(value: Any, name: str, **kwargs: Any) -> np.ndarray:
    """:func:`check_array`, with NumPy's own conversion errors (ragged lists) also naming ``name``."""
    try:
        return check_array(value, name, **kwargs)
    except (TypeError, ValueError) as exc:
        if name in str(exc):
            raise
        raise type(exc)(f"{name} must be an array of numbers: {exc}") from None


#: The three verdicts of a claim, in the order of ``holds`` = True, False, None.
VERDICTS = ("holds", "fails", "inconclusive")


@dataclass
class Claim:
    """One claim of a paper, checked against a measurement.

    Parameters
    ----------
    statement : str
        What the paper claims.
    criterion : str
        The test applied to the measurement, and where it comes from.
    measured : str
        What was measured.
    holds : bool or None
        Computed from the measured numbers by ``criterion``, never typed in: ``True`` (holds), ``False``
        (fails) or ``None`` (inconclusive: the measured interval covers both sides). NumPy booleans are
        accepted.
    details : str, default ""
        Anything else worth showing.

    Raises
    ------
    TypeError
        If ``holds`` is not a bool or None.
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
        """The claim as a JSON-able dict (with its ``verdict`` word), as written to ``result.json``."""
        return {"statement": self.statement, "criterion": self.criterion, "measured": self.measured,
                "holds": self.holds, "verdict": self.verdict, "details": self.details}


def verdict_word(holds: bool | None) -> str:
    """The verdict word of a claim's ``holds`` value.

    Parameters
    ----------
    holds : bool or None

    Returns
    -------
    str
        ``"holds"`` (True), ``"fails"`` (False) or ``"inconclusive"`` (None).
    """
    return "inconclusive" if holds is None else ("holds" if holds else "fails")


def interval_verdict(low: float, high: float, *, threshold: float = 0.0, side: str = "above") -> bool | None:
    """Three-valued verdict of a claim "the quantity lies ``side`` of ``threshold``" from its interval.

    Parameters
    ----------
    low, high : float
        The measured interval (finite, ``low <= high``).
    threshold : float, default 0.0
        The claim's threshold.
    side : {"above", "below"}, default "above"
        The side on which the claim puts the quantity.

    Returns
    -------
    bool or None
        ``True`` when ``[low, high]`` lies entirely on the claimed side, ``False`` when entirely on the
        other side, ``None`` (inconclusive) when it contains the threshold.

    Raises
    ------
    ValueError
        If an argument is NaN or infinite, ``low > high`` or ``side`` is unknown.
    TypeError
        If a number is not a real number or ``side`` not a string.
    """
    side = check_choice(side, "side", ("above", "below"))
    low, high = check_float(low, "low"), check_float(high, "high")
    threshold = check_float(threshold, "threshold")
    if low > high:
        raise ValueError(f"low must be <= high, got low={low!r}, high={high!r}")
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

    Parameters
    ----------
    values : array_like
        Finite numbers, at least 2 along axis 0. For paired comparisons pass the per-pair differences.
    statistic : callable, default numpy.mean
        A function of a resampled array returning a number.
    level : float, default 0.95
        The interval's coverage, in (0, 1).
    n_boot : int, default 2000
        Bootstrap resamples (at least 1).
    seed : None, int or numpy.random.Generator, default 0
        The resampling's randomness (:func:`stablelearn._conventions.as_rng`).

    Returns
    -------
    tuple of float
        ``(estimate, low, high)``: the statistic on ``values`` and the percentile interval.

    Raises
    ------
    ValueError
        For fewer than 2 values, non-finite values, or ``level``/``n_boot`` out of range.
    TypeError
        For non-numeric values or arguments of the wrong type.
    """
    x = _array(values, "values", dtype=float)
    if x.ndim == 0 or len(x) < 2:
        raise ValueError(f"values must hold at least 2 entries along axis 0, got shape {x.shape}")
    if not callable(statistic):
        raise TypeError(f"statistic must be callable, got {statistic!r}")
    level = check_float(level, "level", low=0, high=1, low_inclusive=False, high_inclusive=False)
    n_boot = check_int(n_boot, "n_boot", low=1)
    rng = as_rng(seed)
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    stats = np.array([statistic(x[i]) for i in idx], dtype=float)
    lo, hi = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return float(statistic(x)), float(lo), float(hi)


def escape_cell(text: str) -> str:
    """``text`` made safe for one cell of a Markdown table (``|`` escaped, newlines as spaces)."""
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def format_cell(value: Any) -> str:
    """Format one table entry as Markdown-safe text.

    Parameters
    ----------
    value : Any
        The entry.

    Returns
    -------
    str
        Floats to 4 significant digits, integers as they are, booleans as yes/no, None and NaN as a dash;
        any other value as its text with ``|`` escaped and newlines turned into spaces.
    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int,)) or type(value).__name__.startswith("int"):
        return str(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return escape_cell(str(value))
    if math.isnan(f):
        return "–"
    return f"{f:.4g}"


@dataclass
class Table:
    """A titled table.

    Parameters
    ----------
    title : str
        The table's title.
    columns : sequence of str
        The column names.
    rows : sequence of sequence
        The rows, each aligned with ``columns``.
    caption : str, default ""
        Text shown under the table.

    Raises
    ------
    ValueError
        If a row's length differs from the number of columns.
    """

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
        """The table in Markdown, every entry through :func:`format_cell`."""
        head = "| " + " | ".join(escape_cell(str(c)) for c in self.columns) + " |"
        sep = "|" + "---|" * len(self.columns)
        body = ["| " + " | ".join(format_cell(v) for v in row) + " |" for row in self.rows]
        lines = [f"**{self.title}**", "", head, sep, *body]
        if self.caption:
            lines += ["", self.caption]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The table as a JSON-able dict, as written to ``result.json``."""
        return {"title": self.title, "columns": list(self.columns),
                "rows": [[to_jsonable(v) for v in row] for row in self.rows], "caption": self.caption}


@dataclass
class Result:
    """What an experiment's ``run`` returns.

    Parameters
    ----------
    claims : list of Claim
        The claims checked.
    tables : list of Table
        The tables.
    figures : dict of str to matplotlib.figure.Figure
        Figures by name, saved as PNG.
    notes : str
        Free text shown in the report.
    data : dict
        JSON-able numbers kept in ``result.json``.
    """

    claims: list[Claim] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)  # name -> matplotlib Figure
    notes: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Experiment:
    """A reproduction: ``run(ctx) -> Result`` with a quick and a full configuration.

    Parameters
    ----------
    name : str
        Its name (for a discovered experiment, its module's name).
    description : str
        One line for ``stablelearn list`` and the report.
    run : callable
        ``run(ctx: Context) -> Result``.
    quick, full : mapping
        The two profiles' configurations (JSON-able).
    expected_time : mapping, optional
        Profile -> expected wall time on 2 cores, as text.
    version : str, default "1"
        Part of every cell's cache key: bump it when a cell's meaning changes.
    """

    name: str
    description: str
    run: Callable[["Context"], Result]
    quick: Mapping[str, Any]
    full: Mapping[str, Any]
    expected_time: Mapping[str, str] = field(default_factory=dict)
    version: str = "1"  # part of every cell's cache key: bump it when a cell's meaning changes

    def config(self, profile: str) -> dict[str, Any]:
        """A copy of the configuration of ``profile`` (``"quick"`` or ``"full"``)."""
        check_choice(profile, "profile", ("quick", "full"))
        return dict(self.quick if profile == "quick" else self.full)


@dataclass
class Context:
    """What a running experiment may use: its configuration, its folder and the cell executor.

    Parameters
    ----------
    config : dict
        The profile's configuration.
    profile : str, default "quick"
        The profile's name.
    seed : int, default 0
        The run's seed (``stablelearn reproduce --seed``).
    dir : pathlib.Path
        The experiment's folder in the run folder.
    executor : Executor or None
        The executor of the cells (None: in-process).
    fresh : bool, default False
        Recompute finished cells.
    progress : bool or None, default None
        The house progress rule.
    salt : str, default ""
        Folded into every cell's cache key (the runtime passes ``"<name>:<version>"``).
    """

    config: dict[str, Any]
    profile: str = "quick"
    seed: int = 0
    dir: Path = field(default_factory=lambda: Path("."))
    executor: Executor | None = None
    fresh: bool = False
    progress: bool | None = None
    salt: str = ""

    def map(self, fn: Callable[[dict], Any], cells: Sequence[dict], desc: str | None = None) -> list[Any]:
        """Run ``fn`` on each cell through the run's executor, resumably (see :func:`sweep`).

        Each finished cell is stored under ``dir / "cells"`` so that a re-run computes only the others.

        Parameters
        ----------
        fn : callable
            A module-level function of one JSON-serialisable dict.
        cells : sequence of dict
            The cells.
        desc : str, optional
            The progress bar's label.

        Returns
        -------
        list
            The results in the order of ``cells``.
        """
        from stablelearn.runtime.sweep import sweep

        return sweep(fn, cells, executor=self.executor, cache_dir=self.dir / "cells",
                     fresh=self.fresh, desc=desc, progress=self.progress, salt=self.salt)


def loglog_slope(x: Any, y: Any) -> float:
    """Least-squares slope of ``log y`` against ``log x`` (a rate or a scaling exponent).

    Parameters
    ----------
    x, y : array_like
        One-dimensional arrays of the same length.

    Returns
    -------
    float
        The slope; NaN when fewer than two points are given or a value is not positive and finite, so a
        claim built on it shows the failure instead of a number.

    Raises
    ------
    TypeError
        If ``x`` or ``y`` is not numeric.
    ValueError
        If they are not one-dimensional arrays of the same length.
    """
    x = _array(x, "x", ndim=1, finite=False, min_size=0)
    y = _array(y, "y", ndim=1, finite=False, min_size=0)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size < 2 or not (np.isfinite(x).all() and np.isfinite(y).all() and (x > 0).all() and (y > 0).all()):
        return math.nan
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def cell_cache(maxsize: int | None = 8) -> Callable[[Callable[[dict], Any]], Callable[[dict], Any]]:
    """Cache a function of one JSON-able dict (a cell or part of one) per process, keyed by its JSON.

    For expensive set-up that several cells share (a trained model, snapshots): each worker process
    computes it once, deterministically from the dict alone.

    Parameters
    ----------
    maxsize : int or None, default 8
        The number of entries kept (None: unbounded).

    Returns
    -------
    callable
        A decorator; the decorated function has ``cache_clear()``.
    """
    import functools
    import json

    if maxsize is not None:
        maxsize = check_int(maxsize, "maxsize", low=0)

    def wrap(fn: Callable[[dict], Any]) -> Callable[[dict], Any]:
        @functools.lru_cache(maxsize=maxsize)
        def by_key(key: str) -> Any:
            return fn(json.loads(key))

        @functools.wraps(fn)
        def cached(config: dict) -> Any:
            try:
                key = json.dumps(config, sort_keys=True)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"config must be JSON-serialisable: {exc}") from None
            return by_key(key)

        cached.cache_clear = by_key.cache_clear  # type: ignore[attr-defined]
        return cached

    return wrap


def to_jsonable(obj: Any) -> Any:
    """Convert NumPy/torch scalars and arrays (recursively) to plain JSON types.

    Parameters
    ----------
    obj : Any
        Dicts, lists, tuples, numbers, arrays, tensors, paths; anything else becomes its text.

    Returns
    -------
    Any
        The same structure in JSON types, NaN and infinities as None.
    """
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
