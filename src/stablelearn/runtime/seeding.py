"""Seeds derived from configurations, so a cell's randomness depends only on its own dict."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import numpy as np

from stablelearn._conventions import check_int

__all__ = ["config_hash", "seed_from", "seed_everything"]


def config_hash(obj: Any) -> str:
    """A stable hex digest of a JSON-serialisable object (key order does not matter).

    Parameters
    ----------
    obj : JSON-serialisable
        A configuration (a cell dict).

    Returns
    -------
    str
        The SHA-256 digest in hexadecimal.

    Raises
    ------
    TypeError
        If ``obj`` is not JSON-serialisable.
    """
    try:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)
    except (TypeError, ValueError) as exc:  # ValueError: a circular reference
        raise TypeError(f"cell configuration must be JSON-serialisable: {exc}") from None
    return hashlib.sha256(text.encode()).hexdigest()


def seed_from(obj: Any) -> int:
    """A 32-bit seed determined by ``obj`` alone.

    Parameters
    ----------
    obj : JSON-serialisable
        A configuration.

    Returns
    -------
    int
        A seed in ``[0, 2**32)``.
    """
    return int(config_hash(obj)[:8], 16)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's legacy global generator and torch (when imported).

    This changes global state on purpose; the runtime calls it only inside :func:`call_seeded`, which
    restores the caller's generators afterwards. Library code takes ``seed=`` arguments instead.

    Parameters
    ----------
    seed : int
        A non-negative integer below ``2**64``.
    """
    seed = check_int(seed, "seed", low=0, high=2**64 - 1)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
