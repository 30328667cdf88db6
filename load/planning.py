"""Rate-limit planning: does the asked-for rate fit in keys x TIXALLO_RATE_LIMIT, before anything starts."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tixallo_qa.core.ratelimit import DEFAULT_MARGIN, required_keys
from tixallo_qa.load.options import LoadOptions

WINDOW = 60.0


@dataclass(frozen=True)
class RatePlan:
    """The asked-for request rate against what the key pool allows, and the verdict."""

    asked_rate: float  # requests per second (inf: closed users without think time)
    capacity: float  # requests per second the keys allow (inf: no limit)
    keys: int
    keys_needed: int
    limit_per_minute: int
    processes: int
    ok: bool
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "asked_rate": None if math.isinf(self.asked_rate) else round(self.asked_rate, 2),
            "capacity": None if math.isinf(self.capacity) else round(self.capacity, 2),
            "keys": self.keys,
            "keys_needed": self.keys_needed,
            "limit_per_minute": self.limit_per_minute,
            "processes": self.processes,
            "ok": self.ok,
            "message": self.message,
        }


def asked_rate(options: LoadOptions) -> float:
    """Upper bound of the request rate: the open model's peak, or users / mean think time + bursts."""
    if options.model == "open":
        return float(options.peak_rate or 0.0)
    if options.think_mean <= 0:
        return math.inf
    # A closed user sends at most one request per think time (latency only lowers it).
    return options.users / options.think_mean + options.burst_rate


def plan(options: LoadOptions, keys: int, limit_per_minute: int) -> RatePlan:
    """Compare the asked-for rate with the keys' budget; refuse (ok=False) with what is needed."""
    rate = asked_rate(options)
    per_key = limit_per_minute / (WINDOW + DEFAULT_MARGIN) if limit_per_minute > 0 else math.inf
    capacity = keys * per_key if limit_per_minute > 0 else math.inf
    needed = (
        0
        if limit_per_minute <= 0 or math.isinf(rate)
        else required_keys(rate, limit_per_minute, WINDOW)
    )

    def verdict(ok: bool, message: str) -> RatePlan:
        return RatePlan(
            rate, capacity, keys, needed, limit_per_minute, options.processes, ok, message
        )

    if keys < 1:
        return verdict(
            False, "no API key: set TIXALLO_API_KEY (comma-separated for a pool of keys)"
        )
    if limit_per_minute <= 0:
        # Unlimited keys may be shared between processes: nothing is paced.
        return verdict(True, "no rate limit (TIXALLO_RATE_LIMIT=0): keys are not paced")
    if keys < options.processes:
        return verdict(
            False,
            f"{options.processes} processes need at least one key each (keys are split between "
            f"processes, never shared), but only {keys} are set: add keys to TIXALLO_API_KEY or lower --processes",
        )
    if options.measure_limiter:
        return verdict(
            True,
            f"--measure-limiter: {keys} keys x {limit_per_minute}/min are driven past their limit on purpose",
        )
    if math.isinf(rate):
        return verdict(
            False,
            f"closed users without think time send as fast as the server answers, which no key budget "
            f"bounds ({keys} keys x {limit_per_minute}/min = {capacity:.1f} req/s): set --think-time, "
            "use the open model (--rate), or pass --measure-limiter",
        )
    if rate > capacity:
        what = (
            f"--rate {rate:g}/s"
            if options.model == "open"
            else (
                f"{options.users} users with a mean think time of {options.think_mean:g} s"
                + (
                    f" and bursts of {options.burst_size} every {options.burst_every:g} s"
                    if options.bursts
                    else ""
                )
                + f" (up to {rate:.1f} req/s)"
            )
        )
        return verdict(
            False,
            f"{what} needs {needed} keys at TIXALLO_RATE_LIMIT={limit_per_minute}/min, but {keys} "
            f"{'is' if keys == 1 else 'are'} set ({capacity:.1f} req/s): give {needed} keys in "
            "TIXALLO_API_KEY (comma-separated), lower the load, or pass --measure-limiter to measure "
            "the limiter itself",
        )
    return verdict(
        True,
        f"{rate:.1f} req/s asked, {keys} keys x {limit_per_minute}/min allow {capacity:.1f} req/s",
    )
