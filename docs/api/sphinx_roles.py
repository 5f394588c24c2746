"""A griffe extension for the API reference: the docstrings use Sphinx roles (``:func:`name```), which
mkdocstrings would print as they are; show each role's target as inline code instead."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?[a-z]+:`(~?)([^`<]*?)(?:\s*<([^>]+)>)?`")


def _code(m: re.Match) -> str:
    text = m.group(2).strip() or m.group(3)
    return f"`{text.rsplit('.', 1)[-1] if m.group(1) else text}`"


def plain(text: str) -> str:
    """``text`` with every Sphinx role replaced by its title or target as inline code (``~a.b``: ``b``)."""
    return ROLE.sub(_code, text)


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring as inline code."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)
