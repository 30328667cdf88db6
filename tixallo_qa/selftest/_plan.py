"""Which faults a selftest runs, and the budgets every run gets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tixallo_qa.reference.faults import BY_NAME, BY_PLANT, CATALOGUE, FAMILIES, Fault

# The CI subset: one fault per catalogue family, and the family of contract checks (or "load")
# that must catch it. Chosen so each family's own checks are exercised, the short webhook
# timeout meets the late-webhook fault, and the load run meets one load fault.
QUICK: dict[str, str] = {
    "auth-any-scheme-accepted": "auth",
    "isolation-message-other-workspace": "isolation",
    "validation-priority-enum": "validation",
    "list-oldest-first": "listing",
    "notes-as-agent-message": "notes",
    "customer-name-overwritten": "customers",
    "roundtrip-message-author-agent": "round-trip",
    "errors-merged-400": "errors",
    "ratelimit-no-retry-after": "rate-limit",
    "webhook-late": "webhooks",
    "load-5xx-under-concurrency": "load",
}
LOAD_FAMILY = "load"


class PlanError(ValueError):
    """An unknown fault or family was asked for; the message lists the valid ones."""


@dataclass(frozen=True)
class Budgets:
    """How hard each tool tries against each deployment; the report states them."""

    profile: str = "smoke"
    # Keys of the main workspace: enough that per-key pacing never makes the suite wait.
    pool_size: int = 20
    # The reference delivers webhooks within milliseconds; 3 s is still 200x that, and the
    # late-webhook fault (15 s) stays far outside it.
    webhook_timeout: float = 3.0
    webhook_retries: str = "0.3,1,2"
    # The deployments' rate-limit window: short, so the smoke profile (which waits at most 15 s
    # at its end) still sees whether a client that waits what Retry-After says is served.
    rate_window: float = 10.0
    suite_timeout: float = 300.0
    # Stop the contract suite at a fault's first failing check (pytest --exitfirst): the kill
    # needs one, and a fault no check catches still meets every check.
    first_failure: bool = True
    # The default duration of 'tixallo-qa load': long enough for the trend gate's thirds.
    load_seconds: float = 15.0
    # More than the smoke profile's 10 generated examples per operation, and the coverage phase
    # the smoke profile leaves out: at 10, plain st measurably missed a fault it finds at 25.
    plain_max_examples: int = 25
    plain_seed: int = 1
    plain_timeout: float = 180.0

    def describe(self) -> dict[str, str]:
        """Human-readable budgets for the report."""
        return {
            "ours": (
                f"contract suite, '{self.profile}' profile, every check against every fault"
                + (" until the first that fails; " if self.first_failure else "; ")
                + f"pool of {self.pool_size} keys at the deployment's 60/min per key; "
                f"TIXALLO_WEBHOOK_TIMEOUT={self.webhook_timeout:g} s, webhook retries {self.webhook_retries} s; "
                f"a rate-limit window of {self.rate_window:g} s (60 requests per key in it)"
            ),
            "load": (
                f"for load-family faults and the faithful deployment: a {self.load_seconds:g} s "
                "closed-model load run (load.runner defaults: 20 users and a burst of 12 simultaneous "
                "requests every second) gated by the default SLOs, every created ticket read back"
                + (
                    "; it stops at its first 5xx, bad 2xx body or transport failure"
                    if self.first_failure
                    else ""
                )
                + "; "
                "a load fault meets the contract suite too when the load run misses it"
            ),
            "plain": (
                f"st run --checks all, phases examples,coverage,fuzzing,stateful, "
                f"--max-examples {self.plain_max_examples}, --seed {self.plain_seed}, no example "
                "database, stopping at its first failure (--max-failures 1); one key (header from "
                "a config file); rate limit out of reach except for rate-limit faults (60/min, so "
                "429s are seen)"
            ),
        }


def select_faults(
    names: Sequence[str] = (), family: str | None = None, *, quick: bool = False
) -> list[Fault]:
    """The faults to run, in catalogue order: all, the named ones, one family, or the CI subset."""
    unknown = [n for n in names if n not in BY_NAME and n not in BY_PLANT]
    if unknown:
        raise PlanError(
            f"unknown fault {', '.join(unknown)}: see 'tixallo-qa reference serve --list-faults'"
        )
    if family is not None and family not in FAMILIES:
        raise PlanError(f"unknown family {family!r}: choose one of {', '.join(FAMILIES)}")
    chosen = [
        f
        for f in CATALOGUE
        if (not names or f.name in names or f.plant in names)
        and (family is None or f.family == family)
        and (not quick or f.plant in QUICK)
    ]
    if not chosen:
        raise PlanError("no fault matches the selection: widen --faults/--family/--quick")
    return chosen


def runs_load(fault: Fault | None) -> bool:
    """Load-family faults face the load run as well; so does the faithful deployment (None)."""
    return fault is None or fault.family == LOAD_FAMILY
