"""Rate limit (opt-in spare key), tested for truth: what counts, 429's shape and advice, per key (family: rate-limit)."""

from __future__ import annotations

import math
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tixallo_qa.contracts import _ratelimit_truth as truth_of
from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._catalogue import check, final, first
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import fill, require
from tixallo_qa.contracts._profiles import Budget
from tixallo_qa.contracts._transport import ApiClient
from tixallo_qa.core.settings import Settings

# Requests past the configured limit we allow before calling the limit unenforced.
SLACK = 5


@check(
    "rate-limit-ignores-401",
    "rate-limit",
    "requests refused 401 count against no key: more of them than the limit stay 401 and the main key is still served (assumption, part B 14)",
)
def test_unauthenticated_requests_spend_no_budget(
    api: ApiClient, expect: Expect, target: Settings
) -> None:
    # Runs before the spare key is exhausted below: nothing here should touch any key's budget.
    if target.rate_limit <= 0:
        pytest.skip(
            "TIXALLO_RATE_LIMIT is 0 (no limit enforced): set it to the deployment's per-key limit to enable this check"
        )
    unknown = f"Bearer tixallo-qa-unknown-{secrets.token_hex(16)}"
    statuses: list[int] = []
    last = None
    with api.session.raw_429():
        for _ in range(target.rate_limit + SLACK):
            last = api.get("/tickets", params={"limit": 1}, identity=None, authorization=unknown)
            statuses.append(last.status_code)
            if last.status_code != 401:
                break
        expect.that(
            set(statuses) == {401},
            f"{target.rate_limit + SLACK} requests with an unknown key are all 401, never 429",
            expected="401 every time",
            actual=f"statuses {sorted(set(statuses))} after {len(statuses)} requests",
            responses=[last] if last is not None else [],
        )
        served = api.get("/tickets", params={"limit": 1})
    expect.status(served, 200, "the main key is still served after a burst of 401s")


@dataclass
class Truth:
    """The spare key spent (see ``contracts._ratelimit_truth``), the main key's answer meanwhile,
    and the patient client's retry, under way in the background."""

    spent: truth_of.Spend
    main_after: Any
    patient: truth_of.PatientRetry | None


@pytest.fixture(scope="session")
def truth(api: ApiClient, target: Settings, budget: Budget) -> Iterator[Truth]:
    """Spend the spare key with a mix of 2xx, 400 and 404 answers, retry early, and schedule a patient retry."""
    require(target, "rate_limit_api_key")
    if target.rate_limit <= 0:
        pytest.skip(
            "TIXALLO_RATE_LIMIT is 0 (no limit enforced): set it to the deployment's per-key limit to enable this check"
        )
    spare = f"Bearer {target.rate_limit_api_key}"
    bounds = _spec.limit()
    operations = {str(op["operation_id"]): op for op in _spec.operations()}

    def send(kind: str) -> Any:
        if kind in operations:
            # An early retry on one operation of the spec; served, it would change nothing
            # (an empty body is a 400, an unknown ticket a 404).
            op = operations[kind]
            return api.request(
                op["method"],
                fill(op["path"], str(uuid.uuid4())),
                identity=None,
                authorization=spare,
                json={} if op["request"] else None,
            )
        if kind == truth_of.BAD_QUERY:
            params = {"limit": int(bounds["minimum"]) - 1}
            return api.get("/tickets", params=params, identity=None, authorization=spare)
        if kind == truth_of.BAD_BODY:
            return api.post("/tickets", json={}, identity=None, authorization=spare)
        if kind == truth_of.UNKNOWN:
            return api.get(f"/tickets/{uuid.uuid4()}", identity=None, authorization=spare)
        return api.get("/tickets", params={"limit": 1}, identity=None, authorization=spare)

    # The early retries: every operation once, reads and writes (each 429 is judged), then a
    # plain read, whose advice the patient client follows.
    early = [*operations, *[truth_of.OK] * max(1, truth_of.EARLY_RETRIES - len(operations))]
    with api.session.raw_429():
        spent = truth_of.spend(send, cap=2 * target.rate_limit + SLACK, early=early)
        if spent.refused is not None and not spent.served:
            # Refused before it was spent: an earlier run used it within its window. Wait that
            # out when the profile allows, or judge nothing (no defect has been seen).
            wait = spent.refused.wait
            if wait is None or wait > budget.rate_limit_wait:
                pytest.skip(
                    "the spare key (TIXALLO_RATE_LIMIT_API_KEY) was already rate limited when the "
                    f"run began (an earlier run within its window?), for {spent.refused.retry_after} s: "
                    f"more than the {budget.name} profile waits; run again later"
                )
            time.sleep(wait + truth_of.MARGIN)
            spent = truth_of.spend(send, cap=2 * target.rate_limit + SLACK, early=early)
        main_after = api.get("/tickets", params={"limit": 1}) if spent.refused else None
    last = spent.last_refusal()
    patient = None
    if last is not None and last.wait is not None:
        patient = truth_of.PatientRetry(lambda: send(truth_of.OK), last).start()
    try:
        yield Truth(spent, main_after, patient)
    finally:
        if patient is not None:
            patient.cancel()


def _refused(truth: Truth) -> Any:
    """The first 429, or skip: the checks of the 429 itself say why there was none."""
    if truth.spent.refused is None:
        pytest.skip("the spare key was never refused (rate-limit-counts-every-status says so)")
    return truth.spent.refused.response


@first
@check(
    "rate-limit-counts-every-status",
    "rate-limit",
    "a fresh key is served its limit and no more, counting every authenticated answer alike: "
    "a mix of 2xx, 400 and 404 until the 429 (assumption, part B 14)",
)
def test_counts_every_status(truth: Truth, expect: Expect, target: Settings) -> None:
    spent = truth.spent
    crossed = truth_of.crossed_minute(spent)
    problem = truth_of.budget_problem(spent, target.rate_limit)
    if problem and crossed and spent.refused is not None:
        pytest.skip(
            f"{crossed}: a fixed window may have restarted during it, so the count proves nothing"
        )
    outlasted = truth_of.outlasted_window(spent)
    if problem and outlasted:
        pytest.skip(
            f"{outlasted}: its first requests may have expired, so the count proves nothing"
        )
    last = spent.refused or (spent.served[-1] if spent.served else None)
    wrong = truth_of.answer_problem(spent)
    expect.that(
        wrong is None,
        "each request of the mix gets the answer its kind must get while the key has budget",
        expected="2xx, 400 and 404 as sent",
        actual=wrong,
        responses=[
            a.response for a in spent.served if truth_of.answer_problem(truth_of.Spend([a]))
        ][:1],
    )
    expect.that(
        problem is None,
        "what counts against a key's budget (part B 14)",
        expected=f"{target.rate_limit} requests served (every status counts), then 429",
        actual=problem,
        responses=[last.response] if last is not None else [],
    )


def _judge_429(expect: Expect, refused: truth_of.Answer, target: Settings) -> None:
    """One 429: a positive integer Retry-After within the window, the documented body, and the
    configured limit and window in it."""
    response = refused.response
    request = f"{response.request.method} {str(response.request.path_url).split('?')[0]}"
    retry_after = response.headers.get("Retry-After")
    expect.that(
        refused.wait is not None and refused.wait >= 1,
        f"the 429 to {request}: Retry-After is present and a positive integer",
        expected="e.g. Retry-After: 60",
        actual=retry_after,
        responses=[response],
    )
    body = expect.json(response, f"the 429 to {request}")
    errors = _spec.validate("#/components/schemas/RateLimitError", body)
    expect.that(
        not errors,
        f"the 429 to {request}: the body matches the spec's RateLimitError",
        expected="RateLimitError",
        actual=errors,
        responses=[response],
    )
    expect.equal(
        body.get("limit"),
        target.rate_limit,
        f"the 429 to {request}: the body's limit is the enforced one (TIXALLO_RATE_LIMIT)",
        responses=[response],
    )
    # Whole seconds: a window of a fraction of a second may be stated either way.
    windows = sorted({math.floor(target.rate_window), math.ceil(target.rate_window)})
    window = body.get("window_seconds")
    expect.that(
        window in windows,
        f"the 429 to {request}: window_seconds is the window in seconds (TIXALLO_RATE_WINDOW)",
        expected=" or ".join(str(w) for w in windows),
        actual=window,
        responses=[response],
    )
    expect.that(
        isinstance(window, int) and refused.wait is not None and refused.wait <= window,
        f"the 429 to {request}: Retry-After asks for no longer than the window: waiting one "
        "window always frees a budget",
        expected=f"Retry-After <= window_seconds ({window})",
        actual=f"Retry-After: {retry_after}",
        responses=[response],
    )


@check(
    "rate-limit-429",
    "rate-limit",
    "every 429 the spare key gets (the first, and one retry on each operation of the spec, reads "
    "and writes) has a positive integer Retry-After no longer than the window, the documented "
    "body as JSON, and the enforced limit (TIXALLO_RATE_LIMIT) and window (TIXALLO_RATE_WINDOW) in it",
)
def test_rate_limited(truth: Truth, expect: Expect, target: Settings) -> None:
    refused = truth.spent.refused
    expect.that(
        refused is not None,
        f"the spare key must be refused within 2 x {target.rate_limit} + {SLACK} requests",
        expected="429",
        actual=f"{len(truth.spent.served)} requests, none refused",
        responses=[truth.spent.served[-1].response] if truth.spent.served else [],
    )
    for each in truth.spent.refusals():
        _judge_429(expect, each, target)


@check(
    "rate-limit-early-retry-refused",
    "rate-limit",
    "a client that retries before Retry-After has passed is refused again with 429, on every "
    "operation of the spec (the limit comes before the body and the ticket: part B 13)",
)
def test_early_retry_refused(truth: Truth, expect: Expect, target: Settings) -> None:
    refused = _refused(truth)
    if len(truth.spent.served) < target.rate_limit:
        pytest.skip(
            "the key was served less than its limit, so requests of an earlier run may free budget "
            "at any moment (rate-limit-counts-every-status reports the shortfall)"
        )
    problem = truth_of.early_problem(truth.spent)
    outlasted = truth_of.outlasted_window(truth.spent, early=True)
    if problem and outlasted:
        pytest.skip(
            f"{outlasted}: budget may have been freed meanwhile, so a served retry proves nothing"
        )
    wrong = next((a.response for a in truth.spent.early if a.status != 429), None)
    expect.that(
        problem is None,
        f"{len(truth.spent.early)} retries sent at once after the 429 are all refused",
        expected="429 every time",
        actual=problem,
        responses=[refused] + ([wrong] if wrong is not None else []),
    )


@check(
    "rate-limit-per-key", "rate-limit", "spending one key's budget leaves other keys' budgets alone"
)
def test_budget_is_per_key(truth: Truth, expect: Expect) -> None:
    _refused(truth)
    expect.status(
        truth.main_after, 200, "the main key still works while the spare key is rate limited"
    )


@final
@check(
    "rate-limit-retry-after-honest",
    "rate-limit",
    "a client that waits what Retry-After says succeeds on its next request (waits at most one window, in standard and thorough)",
)
def test_retry_after_honest(truth: Truth, expect: Expect, budget: Budget) -> None:
    refused = _refused(truth)
    patient = truth.patient
    if patient is None:
        pytest.skip(
            f"the 429 gave no usable Retry-After ({refused.headers.get('Retry-After')!r}): rate-limit-429 says so"
        )
    if patient.remaining() > budget.rate_limit_wait:
        patient.cancel()
        pytest.skip(
            f"Retry-After asked for {patient.after.retry_after} s and {patient.remaining():.0f} s of it "
            f"are left; the {budget.name} profile waits at most {budget.rate_limit_wait:g} s at its end: "
            "run the standard profile to check it"
        )
    expect.that(
        patient.wait(patient.remaining() + 30.0),
        "the retry after Retry-After is answered",
        expected="an answer",
        actual="none within 30 s of its due time",
        responses=[refused],
    )
    problem = patient.problem()
    shown = [patient.after.response] + ([patient.answer.response] if patient.answer else [])
    expect.that(
        problem is None,
        "a client that waits what Retry-After says succeeds",
        expected="200",
        actual=problem,
        responses=shown,
    )
