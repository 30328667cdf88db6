"""How filters compare values: query strings are text, payload values are JSON."""

from __future__ import annotations

from typing import Any


def as_text(value: Any) -> str:
    """``True`` -> ``"true"``, ``None`` -> ``"null"``, anything else ``str()``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)
