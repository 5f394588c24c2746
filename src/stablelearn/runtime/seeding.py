"""Seeds derived from configurations, so a cell's randomness depends only on its own dict."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import numpy as np

__all__ = ["config_hash", "seed_from", "seed_everything"]


def config_hash(obj: Any) -> str:
    """A stable hex digest of a JSON-serialisable object (key order does not matter)."""
    try:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)
    except TypeError as exc:
        raise TypeError(f"cell configuration must be JSON-serialisable: {exc}") from None
    return hashlib.sha256(text.encode()).hexdigest()


def seed_from(obj: Any) -> int:
    """A 32-bit seed determined by ``obj`` alone."""
    return int(config_hash(obj)[:8], 16)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's legacy global generator and torch (when imported)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
