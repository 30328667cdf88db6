"""Timestamps as instants: the spec fixes RFC 3339 in UTC but not the precision (part B 15)."""

from __future__ import annotations

import re
from datetime import datetime

# RFC 3339 date-time with a zone designator; precision free.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def is_rfc3339(value: object) -> bool:
    return isinstance(value, str) and bool(_RFC3339.match(value))


def instant(value: object) -> datetime | None:
    """The instant a timestamp names, or None when it is not an RFC 3339 date-time."""
    if not is_rfc3339(value):
        return None
    assert isinstance(value, str)
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return None


def same_instant(a: object, b: object) -> bool:
    left, right = instant(a), instant(b)
    return left is not None and right is not None and left == right


def is_utc(value: object) -> bool:
    """RFC 3339 with the UTC designator ``Z`` (or the same zero offset written ``+00:00``)."""
    if not is_rfc3339(value):
        return False
    assert isinstance(value, str)
    return value[-1] in "Zz" or value.endswith("+00:00")
