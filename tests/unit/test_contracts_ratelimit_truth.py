"""The rate-limit truth logic against scripted limiters: what counts, early retries, patient retries."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tixallo_qa.contracts import _ratelimit_truth as truth

pytestmark = pytest.mark.unit

LIMIT = 12
STATUS = {truth.OK: 200, truth.BAD_QUERY: 400, truth.BAD_BODY: 400, truth.UNKNOWN: 404}


@dataclass
class Response:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Limiter:
    """A key's budget as a deployment keeps it, with its planted quirks."""

    limit: int = LIMIT
    uncounted: frozenset[int] = frozenset()
    serve_every_refused: int = 0
    retry_after: str | None = "60"
    dates: Callable[[int], str] | None = None
    used: int = 0
    refused: int = 0
    sent: int = 0

    def send(self, kind: str) -> Response:
        self.sent += 1
        headers = {"Date": self.dates(self.sent)} if self.dates else {}
        if self.used >= self.limit:
            self.refused += 1
            if not (self.serve_every_refused and self.refused % self.serve_every_refused == 0):
                retry = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
                return Response(429, {**headers, **retry})
        status = STATUS[kind]
        if status not in self.uncounted:
            self.used += 1
        return Response(status, headers)


def _spend(limiter: Limiter) -> truth.Spend:
    clock = itertools.count(0.0, 0.01)
    return truth.spend(limiter.send, cap=2 * LIMIT + 5, clock=lambda: next(clock))


def test_a_faithful_limiter_counts_every_status_and_refuses_early_retries() -> None:
    spent = _spend(Limiter())
    assert len(spent.served) == LIMIT and spent.refused is not None
    assert set(spent.counts()) == {"2xx", "400", "404"}  # the mix reached every answer
    assert truth.budget_problem(spent, LIMIT) is None
    assert len(spent.early) == truth.EARLY_RETRIES and truth.early_problem(spent) is None
    assert spent.last_refusal() is spent.early[-1]


@pytest.mark.parametrize(
    ("uncounted", "named"),
    [
        ({400}, "400 answers were not counted"),
        ({404}, "404 answers were not counted"),
        ({400, 404}, "no request was refused"),
    ],
)
def test_answers_that_do_not_count_show_as_more_than_the_limit(
    uncounted: set[int], named: str
) -> None:
    spent = _spend(Limiter(uncounted=frozenset(uncounted)))
    problem = truth.budget_problem(spent, LIMIT)
    assert problem is not None and named in problem


def test_a_smaller_budget_than_advertised_and_none_at_all_are_problems() -> None:
    assert "smaller than" in str(truth.budget_problem(_spend(Limiter(limit=LIMIT - 6)), LIMIT))
    # A few requests short: an earlier run may have spent them moments ago.
    assert truth.budget_problem(_spend(Limiter(limit=LIMIT - 2)), LIMIT) is None
    assert "no request was refused" in str(
        truth.budget_problem(_spend(Limiter(limit=10**6)), LIMIT)
    )


@pytest.mark.parametrize("every", [2, 3, 5])
def test_a_limiter_that_lets_refused_requests_through_is_caught_by_early_retries(
    every: int,
) -> None:
    problem = truth.early_problem(_spend(Limiter(serve_every_refused=every)))
    assert problem is not None and f"retry {every - 1}" in problem


def test_a_burst_across_a_minute_of_the_deployments_clock_proves_nothing() -> None:
    def at(second: int) -> Callable[[int], str]:
        start = datetime(2026, 5, 4, 10, 0, second, tzinfo=UTC)
        return lambda n: format_datetime(start + timedelta(seconds=n // 4), usegmt=True)

    assert truth.crossed_minute(_spend(Limiter(dates=at(0)))) is None
    assert "across a minute boundary" in str(truth.crossed_minute(_spend(Limiter(dates=at(57)))))
    assert truth.crossed_minute(_spend(Limiter())) is None  # no Date header: nothing to go by


def test_retry_after_is_read_only_as_whole_seconds() -> None:
    assert truth.Answer("x", 429, 0, 0, "60").wait == 60
    for value in (None, "", "soon", "1.5", "Wed, 21 Oct 2015 07:28:00 GMT"):
        assert truth.Answer("x", 429, 0, 0, value).wait is None


def test_the_patient_retry_goes_out_when_due_and_judges_the_answer() -> None:
    for status, expected in ((200, None), (429, "was answered 429")):
        refused = truth.Answer(truth.OK, 429, 0.0, 0.0, "0")
        patient = truth.PatientRetry(lambda s=status: Response(s), refused, margin=0.0).start()
        assert patient.wait(10.0)
        problem = patient.problem()
        assert problem is None if expected is None else expected in str(problem)


def test_a_cancelled_or_unusable_patient_retry_sends_nothing() -> None:
    sent: list[int] = []
    now = time.monotonic()
    far = truth.Answer(truth.OK, 429, now, now, "3600")
    patient = truth.PatientRetry(lambda: sent.append(1) or Response(200), far).start()
    assert patient.remaining() > 3000
    patient.cancel()
    assert patient.wait(10.0) and sent == [] and "not sent" in str(patient.problem())
    with pytest.raises(ValueError, match="no usable Retry-After"):
        truth.PatientRetry(lambda: Response(200), truth.Answer(truth.OK, 429, 0.0, 0.0, None))


def test_early_retries_are_the_kinds_asked_for_and_each_refusal_is_kept() -> None:
    early = [truth.BAD_BODY, truth.UNKNOWN, truth.OK]
    clock = itertools.count(0.0, 0.01)
    spent = truth.spend(Limiter().send, cap=2 * LIMIT + 5, early=early, clock=lambda: next(clock))
    assert [a.kind for a in spent.early] == early
    assert spent.refusals() == [spent.refused, *spent.early]


def test_the_patient_client_follows_the_latest_refusal_that_gave_advice() -> None:
    limiter = Limiter()
    clock = itertools.count(0.0, 0.01)
    spent = truth.spend(
        limiter.send, cap=2 * LIMIT + 5, early=[truth.OK], clock=lambda: next(clock)
    )
    limiter.retry_after = None  # a later refusal without Retry-After (a write, say)
    spent.early.append(truth.answer(truth.BAD_BODY, lambda: limiter.send(truth.BAD_BODY)))
    assert spent.early[-1].wait is None
    assert spent.last_refusal() is spent.early[0]
