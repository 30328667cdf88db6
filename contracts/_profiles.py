"""How much each profile sends: example budgets per check, sized for a 60 requests/min key."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """Example budgets of one profile."""

    name: str
    # Generated examples per operation and generation mode (schemathesis fuzzing phase).
    max_examples: int
    # Boundary cases derived from the spec (schemathesis coverage phase): many requests per operation.
    coverage: bool
    # Stateful scenarios through the spec's links, and steps per scenario.
    stateful_examples: int
    stateful_steps: int
    # Tickets created at once for the ticket_number race check.
    concurrent_creates: int
    # Boundary cases of the named validation checks: all of them, or the sharpest few.
    all_boundaries: bool
    # Seconds the run may wait at its end for a Retry-After to pass (the rest of the run overlaps
    # it): one documented window, or only a short one in smoke.
    rate_limit_wait: float = 75.0


PROFILES: dict[str, Budget] = {
    # One key at 60/min: about 170 requests on the main key (under 250), so under 5 minutes.
    "smoke": Budget(
        "smoke",
        max_examples=10,
        coverage=False,
        stateful_examples=4,
        stateful_steps=4,
        concurrent_creates=10,
        all_boundaries=False,
        rate_limit_wait=15.0,
    ),
    "standard": Budget(
        "standard",
        max_examples=25,
        coverage=True,
        stateful_examples=10,
        stateful_steps=6,
        concurrent_creates=15,
        all_boundaries=True,
    ),
    "thorough": Budget(
        "thorough",
        max_examples=100,
        coverage=True,
        stateful_examples=40,
        stateful_steps=10,
        concurrent_creates=20,
        all_boundaries=True,
    ),
}


def budget(profile: str) -> Budget:
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(
            f"TIXALLO_PROFILE={profile!r} is not one of {', '.join(PROFILES)}"
        ) from None
