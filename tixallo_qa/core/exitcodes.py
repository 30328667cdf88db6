"""The one exit-code table every command follows: run, contracts, load, doctor and selftest."""

from __future__ import annotations

PASSED = 0
DEFECTS = 1
USAGE = 2
INFRASTRUCTURE = 3
INCONCLUSIVE = 4
INTERRUPTED = 130

MEANING = {
    PASSED: "passed",
    DEFECTS: "defects found: a check failed or an SLO was breached",
    USAGE: "usage or configuration: a bad flag or setting, fixed before anything is sent",
    INFRASTRUCTURE: "the target or the sink is unreachable, or another infrastructure failure",
    INCONCLUSIVE: "inconclusive: e.g. the load generator was overloaded, or too few samples for a gate",
    INTERRUPTED: "interrupted (Ctrl-C)",
}
# When phases end differently, the run exits with the first of these that occurred: a defect
# found is news even when the target later went away.
PRECEDENCE = (INTERRUPTED, USAGE, DEFECTS, INFRASTRUCTURE, INCONCLUSIVE, PASSED)


def combine(*codes: int) -> int:
    """The exit code of several phases' codes (``PRECEDENCE``); unknown codes count as 3."""
    known = [c if c in MEANING else INFRASTRUCTURE for c in codes]
    for code in PRECEDENCE:
        if code in known:
            return code
    return PASSED


def epilog() -> str:
    """The table, for ``--help``."""
    return "exit codes: " + "; ".join(f"{code} {text}" for code, text in MEANING.items())
