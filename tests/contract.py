"""The bad-input contract the fuzz suites assert: a ValueError/TypeError whose message names the argument."""

from __future__ import annotations

from typing import Any, Callable

import pytest

_NO_RESULT = object()


def refused(fn: Callable[[], Any], name: str) -> None:
    """``fn()`` must raise ValueError or TypeError whose message names ``name``."""
    with pytest.raises((ValueError, TypeError)) as info:
        fn()
    assert name in str(info.value), f"message {info.value!r} does not name {name!r}"


def returns_or_refused(fn: Callable[[], Any], name: str) -> Any:
    """``fn()``'s result, or ``None`` when it raised ValueError/TypeError naming ``name`` (any other
    exception, or a message that does not name the argument, fails the test)."""
    try:
        return fn()
    except (ValueError, TypeError) as err:
        assert name in str(err), f"message does not name {name!r}: {err}"
        return None
