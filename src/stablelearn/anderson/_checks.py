"""Input validation shared by the package: scikit-learn-like ValueErrors that name the argument."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_number(value: Any, name: str, *, low: float = 0.0, strict: bool = True) -> float:
    """A finite float >= low (> low if ``strict``)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < low or (strict and v == low):
        raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} {low:g}, got {value!r}")
    return v


def check_int(value: Any, name: str, low: int = 0) -> int:
    """An integer (not bool) >= low."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)
