"""The monitor's history: one row per ``on_step`` call, as a pandas-free table with CSV/JSONL writers."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

__all__ = ["MonitorHistory", "json_line"]


class MonitorHistory:
    """A pandas-free table: one row per ``on_step`` call (check columns are NaN between checks)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self.layer_rows: list[tuple[int, np.ndarray]] = []
        self.layer_names: list[str] = []

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def columns(self) -> list[str]:
        """Every column that appears in some row, in order of first appearance."""
        cols: dict[str, None] = {}
        for r in self.rows:
            cols.update(dict.fromkeys(r))
        return list(cols)

    def column(self, name: str) -> np.ndarray:
        """The column ``name`` as a float array (NaN where a row has no value)."""
        if name not in self.columns:
            raise KeyError(f"no column {name!r}; columns are {self.columns}")
        return np.array([r.get(name, np.nan) for r in self.rows], dtype=float)

    def checks(self) -> "MonitorHistory":
        """The rows where the spectral check ran."""
        out = MonitorHistory()
        out.rows = [r for r in self.rows if r.get("check", 0) == 1]
        return out

    def to_csv(self, path: str | Path) -> Path:
        """Write the table as CSV (empty cells where a row has no value); returns the path."""
        path = Path(path)
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns, restval="")
            writer.writeheader()
            writer.writerows(self.rows)
        return path

    def to_jsonl(self, path: str | Path) -> Path:
        """Write one JSON object per row (NaN and infinity as null); returns the path."""
        path = Path(path)
        with path.open("w") as fh:
            fh.writelines(json_line(r) for r in self.rows)
        return path


def json_line(row: dict[str, float]) -> str:
    """One history row as a JSON line; NaN and infinity (not JSON) become null."""
    return json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}) + "\n"
