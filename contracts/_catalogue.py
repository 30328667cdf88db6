"""Names every check and its family, so reports and the selftest can say which check caught what."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

FAMILIES = (
    "schema",
    "auth",
    "isolation",
    "validation",
    "listing",
    "notes",
    "customers",
    "round-trip",
    "errors",
    "rate-limit",
    "webhooks",
    "oracles",
)
MARKER = "tixallo_check"
MARKER_HELP = f"{MARKER}(name, family, description): names a contract check and its family"

F = TypeVar("F", bound=Callable[..., Any])


def check(name: str, family: str, description: str) -> Callable[[F], F]:
    """Mark a test as the contract check ``name`` of ``family``."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}: use one of {', '.join(FAMILIES)}")

    def decorate(func: F) -> F:
        return pytest.mark.tixallo_check(name=name, family=family, description=description)(func)

    return decorate


def check_of(item: pytest.Item) -> tuple[str, str, str]:
    """(name, family, description) of a collected test; unmarked tests are named after themselves."""
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return item.name, "other", ""
    name = str(marker.kwargs["name"])
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        name = f"{name}[{callspec.id}]"
    return name, str(marker.kwargs["family"]), str(marker.kwargs.get("description", ""))


# Where a check runs in the session: -1 first, 0 in file order, 0.5 after those (the generated
# tests, seconds each), 0.75 the checks that wait out a window, 1 with the sweeps, 2 after them.
FINAL = "_tixallo_final"
WAITS = 0.75


def final(func: F) -> F:
    """Run this check after all others (it sweeps over what the whole run did)."""
    setattr(func, FINAL, True)
    return func


def first(func: F) -> F:
    """Run this check before all others (it starts a wait the rest of the run can overlap)."""
    setattr(func, FINAL, -1)
    return func


def late(func: F) -> F:
    """Run this check after the named ones (it takes seconds where they take milliseconds).

    A run that stops at its first failure (the selftest's) then meets the cheap checks first.
    """
    setattr(func, FINAL, 0.5)
    return func


def waits(func: F) -> F:
    """Run this check after the generated ones: it waits out a window its fixture opened early.

    The window (an event that must not come, a retry a second later) started before the first
    check; judged after the generated tests, it has passed by then instead of being waited out
    among the named checks. A run that stops at its first failure keeps such a check among the
    named ones (``plugin.place``), so a fault it catches ends that run before the generated tests.
    """
    setattr(func, FINAL, WAITS)
    return func


def after_sweeps(func: F) -> F:
    """Run this check after the sweeps too (it reports on what they fed it)."""
    setattr(func, FINAL, 2)
    return func


# Session fixtures a check starts at the beginning of the run, so the wait it judges overlaps
# everything else (``contracts._fixtures.early_starts`` sets them up before the first check).
STARTS = "_tixallo_starts"


def starts_early(*fixtures: str) -> Callable[[F], F]:
    """Set up these session fixtures before the first check (each starts a wait this check judges)."""

    def decorate(func: F) -> F:
        setattr(func, STARTS, (*getattr(func, STARTS, ()), *fixtures))
        return func

    return decorate
