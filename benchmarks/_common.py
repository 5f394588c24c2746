"""What every benchmark shares: print a Markdown table, write benchmarks/results/<name>.json, and time code
(wall and CPU seconds, best of N, interleaved).

Benchmarks import it as ``from _common import report`` (scripts run from the repository root or from
``benchmarks/``; the folder is on ``sys.path`` either way because the script lives in it).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from stablelearn.runtime import Table, to_jsonable

RESULTS = Path(__file__).resolve().parent / "results"


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> Table:
    """Print ``rows`` as a Markdown table (floats to 4 significant digits) and return the :class:`Table`."""
    table = Table(title, list(columns), [list(r) for r in rows], caption)
    print("\n" + table.to_markdown(), flush=True)
    return table


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (tables as :class:`Table` or plain data) with the machine's facts to
    ``benchmarks/results/<name>.json``; NaN and infinity become null. Returns the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {k: (v.to_dict() if isinstance(v, Table) else v) for k, v in payload.items()}
    data["machine"] = {"python": sys.version.split()[0], "platform": platform.platform(),
                       "processor": platform.processor() or platform.machine()}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(to_jsonable(data), indent=2))
    print(f"\nwrote {path}", flush=True)
    return path


class Clock:
    """Wall and CPU seconds since it was made (or since :meth:`restart`).

    ``cpu`` is the CPU clock: ``time.process_time`` (this process, all its threads) by default; pass another
    (e.g. one that adds finished children from ``resource.getrusage``) to count more.
    """

    def __init__(self, cpu: Callable[[], float] = time.process_time) -> None:
        self._cpu = cpu
        self.restart()

    def restart(self) -> None:
        """Start counting again from now."""
        self.wall0, self.cpu0 = time.perf_counter(), self._cpu()

    def elapsed(self) -> tuple[float, float]:
        """``(wall seconds, CPU seconds)`` since the start."""
        return time.perf_counter() - self.wall0, self._cpu() - self.cpu0


def timed(fn: Callable[..., Any], *args: Any, reps: int = 1) -> tuple[float, float]:
    """``(wall, CPU)`` seconds per call of ``fn(*args)``, the mean over ``reps`` calls in a row."""
    clock = Clock()
    for _ in range(reps):
        fn(*args)
    wall, cpu = clock.elapsed()
    return wall / reps, cpu / reps


def best_of(fns: Mapping[str, Callable[[], Any]], rounds: int) -> dict[str, tuple[float, float]]:
    """Best (smallest) wall and best CPU seconds of each function over ``rounds`` rounds, interleaved: every
    round calls each function once, in order, so that a change of load hits all of them alike.

    Returns ``{name: (best wall, best CPU)}`` (the two minima may come from different rounds).
    """
    best = {name: (float("inf"), float("inf")) for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            wall, cpu = timed(fn)
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best
