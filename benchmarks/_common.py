"""What every benchmark shares: print a Markdown table and write benchmarks/results/<name>.json.

Benchmarks import it as ``from _common import report`` (scripts run from the repository root or from
``benchmarks/``; the folder is on ``sys.path`` either way because the script lives in it).
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any, Sequence

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
