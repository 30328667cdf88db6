"""The rate limit tested for truth: what a key's budget counts, and whether a 429's advice holds.

One spare key is spent with a mix of answers (2xx, 400, 404) until it is refused: part B 14 says
every authenticated request counts whatever its status, so a deployment that skips some shows by
serving more than its limit. Then a few retries go out at once, before ``Retry-After`` has
passed, and must be refused (the caller picks them: one per operation of the spec, reads and
writes, so every refusal's shape can be judged on each); and one more goes out in the
background when ``Retry-After`` says, and must succeed. The rest of the run overlaps that wait.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

# The request mix, by what each must be answered when the key still has budget.
OK, BAD_QUERY, BAD_BODY, UNKNOWN = "2xx", "400 (query)", "400 (body)", "404"
MIX = (OK, BAD_QUERY, UNKNOWN, BAD_BODY)
# Retries sent at once after the 429: a limiter that lets every n-th refused request through
# shows within a few.
EARLY_RETRIES = 5
# Retry-After is whole seconds; a deployment that rounds the wait down is off by under one.
MARGIN = 1.0
# A fresh key may show a few requests less than its limit: a run moments ago spent them.
SHORTFALL = 5


@dataclass(frozen=True)
class Answer:
    """One request of the spare key: what was sent, what came back, and when (monotonic clock)."""

    kind: str
    status: int
    sent: float
    received: float
    retry_after: str | None = None
    date: str | None = None
    response: Any = None  # the requests.Response, for failure messages

    @property
    def wait(self) -> float | None:
        """Seconds ``Retry-After`` asks for (delta-seconds form), or None when absent or not a number."""
        value = (self.retry_after or "").strip()
        return float(value) if re.fullmatch(r"[0-9]+", value) else None


def answer(
    kind: str, send: Callable[[], Any], clock: Callable[[], float] = time.monotonic
) -> Answer:
    """Send one request and record its answer."""
    sent = clock()
    response = send()
    return Answer(
        kind,
        int(response.status_code),
        sent,
        clock(),
        response.headers.get("Retry-After"),
        response.headers.get("Date"),
        response,
    )


def status_class(status: int) -> str:
    return "2xx" if 200 <= status < 300 else str(status)


@dataclass
class Spend:
    """The spare key spent: what was served before the first 429, the 429, and the early retries."""

    served: list[Answer] = field(default_factory=list)
    refused: Answer | None = None
    early: list[Answer] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(Counter(status_class(a.status) for a in self.served))

    def refusals(self) -> list[Answer]:
        """Every 429 the key got: the first, then each early retry that was refused."""
        return [a for a in [self.refused, *self.early] if a is not None and a.status == 429]

    def last_refusal(self) -> Answer | None:
        """The latest 429 the key got that gave advice (else the latest): what a patient client follows."""
        refusals = self.refusals()
        advised = [a for a in refusals if a.wait is not None]
        chosen = advised or refusals
        return chosen[-1] if chosen else None


def spend(
    send: Callable[[str], Any],
    *,
    cap: int,
    early: Sequence[str] = (OK,) * EARLY_RETRIES,
    mix: Sequence[str] = MIX,
    clock: Callable[[], float] = time.monotonic,
) -> Spend:
    """Send the mix until the first 429 (at most ``cap`` requests), then the ``early`` kinds at once."""
    spent = Spend()
    for i in range(cap):
        kind = mix[i % len(mix)]
        got = answer(kind, lambda kind=kind: send(kind), clock)  # type: ignore[misc]
        if got.status == 429:
            spent.refused = got
            break
        spent.served.append(got)
    if spent.refused is not None:
        for kind in early:
            spent.early.append(answer(kind, lambda kind=kind: send(kind), clock))  # type: ignore[misc]
    return spent


def crossed_minute(spent: Spend) -> str | None:
    """Why the count proves nothing: the burst crossed a minute of the deployment's clock.

    A fixed window aligned to the minute may then have restarted in the middle of the burst and
    legitimately served more than one budget (the docs leave the kind of window open).
    """
    if not spent.served or spent.refused is None:
        return None
    first, last = spent.served[0].date, spent.refused.date
    try:
        start, end = parsedate_to_datetime(first or ""), parsedate_to_datetime(last or "")
    except (TypeError, ValueError):
        return None
    if start.replace(second=0) != end.replace(second=0):
        return f"the burst ran from {first} to {last} by the deployment's clock, across a minute boundary"
    return None


def outlasted_window(spent: Spend, *, early: bool = False) -> str | None:
    """Why the count proves nothing: the burst (``early``: and its retries) outlasted the 429's window.

    A window that short (the embedded reference deployment's is seconds) may have let the
    burst's first requests expire before its last, and so legitimately served more than one
    budget.
    """
    if not spent.served or spent.refused is None:
        return None
    try:
        window = spent.refused.response.json().get("window_seconds")
    except (AttributeError, ValueError):
        return None
    last = spent.early[-1] if early and spent.early else spent.refused
    took = last.received - spent.served[0].sent
    if isinstance(window, int) and not isinstance(window, bool) and took >= window:
        return f"the burst took {took:.1f} s, longer than the {window} s window the 429 reports"
    return None


def budget_problem(spent: Spend, limit: int, *, shortfall: int = SHORTFALL) -> str | None:
    """What is wrong with how many requests the key was served, or None (part B 14)."""
    counts = spent.counts()
    shown = ", ".join(f"{n} answered {cls}" for cls, n in sorted(counts.items()))
    served = len(spent.served)
    if spent.refused is None:
        return f"no request was refused: all {served} were served ({shown}), the limit is {limit}"
    if served > limit:
        ok, bad, unknown = counts.get("2xx", 0), counts.get("400", 0), counts.get("404", 0)
        uncounted = [
            name
            for name, total in (
                ("400 answers", ok + unknown),
                ("404 answers", ok + bad),
                ("400 and 404 answers", ok),
            )
            if total == limit
        ]
        why = f": the {uncounted[0]} were not counted" if uncounted else ""
        return (
            f"{served} requests were served before the first 429 ({shown}), more than the limit "
            f"{limit}{why}; every authenticated request counts, whatever its status (part B 14)"
        )
    if served < limit - shortfall:
        return (
            f"only {served} requests were served before the first 429 ({shown}), where the limit is "
            f"{limit}: the budget is smaller than the one advertised"
        )
    return None


# What each request of the mix must be answered while the key has budget (a status class).
EXPECTED = {OK: "2xx", BAD_QUERY: "400", BAD_BODY: "400", UNKNOWN: "404"}


def answer_problem(spent: Spend) -> str | None:
    """A request of the mix answered otherwise than its kind must be (a 5xx above all), or None."""
    for n, got in enumerate(spent.served, start=1):
        if status_class(got.status) != EXPECTED.get(got.kind, status_class(got.status)):
            return (
                f"request {n} of the spare key's mix ({got.kind} expected) was answered "
                f"{got.status} before any 429"
            )
    return None


def early_problem(spent: Spend) -> str | None:
    """A retry sent before ``Retry-After`` had passed was served, or None."""
    if spent.refused is None:
        return None
    for n, retry in enumerate(spent.early, start=1):
        if retry.status != 429:
            after = retry.sent - spent.refused.received
            return (
                f"retry {n}, sent {after:.2f} s after the 429 that asked for Retry-After: "
                f"{spent.refused.retry_after}, was answered {retry.status} instead of 429"
            )
    return None


class PatientRetry:
    """One request sent in the background once the latest 429's ``Retry-After`` has passed."""

    def __init__(
        self,
        send: Callable[[], Any],
        after: Answer,
        *,
        margin: float = MARGIN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        wait = after.wait
        if wait is None:
            raise ValueError(f"no usable Retry-After: {after.retry_after!r}")
        self.after = after
        self.due = after.received + wait + margin
        self.answer: Answer | None = None
        self.error: str | None = None
        self._send = send
        self._clock = clock
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tixallo-patient-retry", daemon=True)

    def start(self) -> PatientRetry:
        self._thread.start()
        return self

    def _run(self) -> None:
        if self._cancelled.wait(max(0.0, self.due - self._clock())):
            return
        try:
            self.answer = answer(OK, self._send, self._clock)
        except Exception as exc:  # reported by the check that waits for it
            self.error = f"{type(exc).__name__}: {exc}"

    def remaining(self) -> float:
        """Seconds until it is sent (0 once due)."""
        return max(0.0, self.due - self._clock())

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for it to be answered; True once it was."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def cancel(self) -> None:
        self._cancelled.set()

    def problem(self) -> str | None:
        """What was wrong with the patient client's retry, or None when it succeeded."""
        if self.error is not None:
            return f"the retry after Retry-After failed: {self.error}"
        if self.answer is None:
            return "the retry after Retry-After was not sent"
        if not 200 <= self.answer.status < 300:
            waited = self.answer.sent - self.after.received
            return (
                f"a client that waited {waited:.1f} s, what Retry-After: {self.after.retry_after} "
                f"asked for (+{MARGIN:g} s), was answered {self.answer.status}, not served"
            )
        return None
