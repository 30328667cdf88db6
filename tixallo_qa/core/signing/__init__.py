"""Webhook signature schemes behind one registry: a new scheme is one class in one file here.

Each module of this package defines one ``Scheme`` subclass; the registry finds them all. The
settings (``TIXALLO_WEBHOOK_SCHEME``'s choices), the sink's verifier, the test signer, doctor
and the reference deployment's dispatcher all take the list and the classes from here.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Mapping

from tixallo_qa.core.signing._scheme import (
    BAD_SIGNATURE,
    MISSING_HEADERS,
    OK,
    STALE_TIMESTAMP,
    VALID,
    Check,
    Scheme,
)

DEFAULT = "tixallo"

__all__ = [
    "BAD_SIGNATURE",
    "DEFAULT",
    "MISSING_HEADERS",
    "OK",
    "STALE_TIMESTAMP",
    "VALID",
    "Check",
    "Scheme",
    "get",
    "make",
    "names",
    "signed_names",
    "timestamp_headers",
]


@functools.cache
def _registry() -> dict[str, type[Scheme]]:
    found: dict[str, type[Scheme]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Scheme)
                and value.__module__ == module.__name__
            ):
                found[value.name] = value
    # The default first: it is what a person reads first in every list.
    return {DEFAULT: found.pop(DEFAULT), **found}


def names() -> tuple[str, ...]:
    """Every scheme's name, the default first."""
    return tuple(_registry())


def signed_names() -> tuple[str, ...]:
    """The schemes that sign (every one but ``none``)."""
    return tuple(n for n, s in _registry().items() if s.needs_secret)


def timestamp_headers() -> tuple[str, ...]:
    """Every scheme's timestamp header (lower case), for reading a delivery's send time."""
    return tuple(
        dict.fromkeys(s.timestamp_header for s in _registry().values() if s.timestamp_header)
    )


def get(name: str) -> type[Scheme]:
    """The scheme class called ``name`` (``KeyError`` naming the choices otherwise)."""
    try:
        return _registry()[name]
    except KeyError:
        raise KeyError(f"no webhook scheme {name!r}: choose one of {', '.join(names())}") from None


def make(
    name: str,
    secret: str | None,
    tolerance: float = 300.0,
    options: Mapping[str, str] | None = None,
) -> Scheme:
    """A ready scheme: ``secret`` signs and verifies, ``tolerance`` bounds timestamp skew."""
    return get(name)(secret or "", tolerance, **dict(options or {}))
