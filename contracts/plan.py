"""The contract suite's plan: the requests a profile sends, per identity, before anything is sent.

The figures are measured: the suite against the reference deployment (``tixallo-qa contracts
--json``, ``requests_by_identity``), rounded up. A deployment's answers move them a little (a
failing check may stop early, schemathesis draws other cases); checks whose settings are missing
are skipped and send nothing. The spare rate-limit key sends one request over its limit.
"""

from __future__ import annotations

from tixallo_qa.core.plan import DEFAULT_BUDGET, Demand, PhasePlan
from tixallo_qa.core.settings import Settings

# profile -> identity -> requests (measured; "none" carries no key).
MEASURED: dict[str, dict[str, int]] = {
    "smoke": {"main": 251, "other": 17, "revoked": 8, "none": 261},
    "standard": {"main": 501, "other": 27, "revoked": 8, "none": 514},
    "thorough": {"main": 1217, "other": 31, "revoked": 8, "none": 1692},
}
# Seconds per request beyond pacing, measured on loopback (the suite's own work included): what
# a pool of keys too large to wait on still costs.
PER_REQUEST = 0.04


def contracts_plan(
    settings: Settings, *, profile: str | None = None, budget: float = DEFAULT_BUDGET
) -> PhasePlan:
    """The plan for ``settings``: requests per identity on the keys it has, at its rate limit."""
    measured = MEASURED.get(profile or settings.profile, MEASURED["standard"])
    keys = {
        "main": len(settings.api_keys),
        "other": 1 if settings.other_api_key else 0,
        "revoked": 1 if settings.revoked_api_key else 0,
    }
    demands = [Demand("main", measured["main"], max(1, keys["main"]))]
    if keys["other"]:
        demands.append(Demand("other", measured["other"], 1))
    if keys["revoked"]:
        demands.append(Demand("revoked", measured["revoked"], 1))
    if settings.rate_limit_api_key and settings.rate_limit > 0:
        # Over its limit on purpose, unpaced: the 429 check.
        demands.append(Demand("rate-limit", settings.rate_limit + 1, 1, paced=False))
    demands.append(Demand("none", measured["none"], 0, paced=False))
    return PhasePlan(
        "contracts",
        tuple(demands),
        settings.rate_limit,
        budget=budget,
        per_request=PER_REQUEST,
    )
