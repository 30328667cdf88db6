"""Each key: does it authenticate, and is it in the workspace it should be in."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tixallo_qa.core.redact import fingerprint
from tixallo_qa.core.settings import Settings

from ._api import Answer, Api, key_label, same_workspace
from ._model import OK, PROBLEM, WARN, DoctorReport

# Listings run concurrently: a pool of 200 keys costs one request per key, not 200 round trips in a row.
WORKERS = 8
# A pool problem lists at most this many keys on its one line.
SHOWN = 4


@dataclass
class KeyState:
    """What the key checks learned, for the checks that depend on them."""

    main_key: str | None = None
    listings: dict[str, Answer] = field(default_factory=dict)
    other_answer: Answer | None = None

    @property
    def main_ok(self) -> bool:
        return self.main_key is not None and self.listings[self.main_key].status == 200


def _target_problem(api: Api, answer: Answer, label: str) -> str | None:
    """A problem every key would share (wrong base URL, broken deployment), or None."""
    where = f"GET {api.base_url.rstrip('/')}/tickets"
    if answer.error:
        return (
            f"{where} failed ({answer.error}): check that TIXALLO_BASE_URL serves the Tixallo API"
        )
    if answer.status == 404:
        return f"{where} answered 404: TIXALLO_BASE_URL must be the API root, e.g. https://tixallo.com/api/v1"
    if answer.status is not None and answer.status >= 500:
        return f"{where} answered {answer.status} for {label}: the deployment is failing; check its logs"
    if answer.status == 200 and (
        not isinstance(answer.body, dict) or not isinstance(answer.body.get("data"), list)
    ):
        kind = answer.content_type.split(";")[0] or "no content type"
        return (
            f"{where} answered 200 but not with a ticket list ({kind}): TIXALLO_BASE_URL must be "
            "the API root, e.g. https://tixallo.com/api/v1"
        )
    return None


def _cause(answer: Answer) -> str:
    if answer.status == 401:
        return "rejected (401)"
    if answer.status == 429:
        return "rate limited right now (429)"
    return f"answered {answer.status}"


def _keys_text(labels: list[str]) -> str:
    shown = ", ".join(labels[:SHOWN])
    return shown + (f" and {len(labels) - SHOWN} more" if len(labels) > SHOWN else "")


def check_keys(api: Api, settings: Settings, report: DoctorReport) -> KeyState:
    """List tickets once per key; report keys that fail, grouped by cause, one line each."""
    state = KeyState(main_key=settings.api_key)
    pool = list(dict.fromkeys(settings.api_keys))
    if not pool:
        return state
    first = api.list_tickets(pool[0])
    state.listings[pool[0]] = first
    problem = _target_problem(api, first, key_label("TIXALLO_API_KEY", pool[0], 0, len(pool)))
    if problem:
        report.add("keys", PROBLEM, problem)
        return state
    with ThreadPoolExecutor(WORKERS) as executor:
        for key, answer in zip(pool[1:], executor.map(api.list_tickets, pool[1:]), strict=True):
            state.listings[key] = answer
    failing: dict[str, list[str]] = defaultdict(list)
    for i, key in enumerate(pool):
        answer = state.listings[key]
        if answer.status != 200:
            failing[_cause(answer)].append(key_label("TIXALLO_API_KEY", key, i, len(pool)))
    for cause, labels in failing.items():
        if cause.startswith("rate limited"):
            report.add(
                "keys",
                WARN,
                f"{_keys_text(labels)} {'is' if len(labels) == 1 else 'are'} {cause}: another client "
                "is using its budget; run doctor again in a minute",
            )
        elif cause.startswith("rejected"):
            report.add(
                "keys",
                PROBLEM,
                f"{_keys_text(labels)} {'is' if len(labels) == 1 else 'are'} {cause}: unknown or revoked; "
                "create a key in the Tixallo app and put it in TIXALLO_API_KEY",
            )
        else:
            report.add(
                "keys", PROBLEM, f"{_keys_text(labels)} {cause}: check the deployment's logs"
            )
    good = sum(a.status == 200 for a in state.listings.values())
    if good and not failing:
        what = (
            f"all {good} keys authenticate"
            if good > 1
            else f"{key_label('TIXALLO_API_KEY', pool[0])} authenticates"
        )
        report.add("keys", OK, f"TIXALLO_API_KEY: {what}")
    _check_spare_keys(api, settings, state, report)
    return state


def _spare_verdict(label: str, answer: Answer, wait: str, fix: str) -> tuple[str, str]:
    """Status and line for a key that must authenticate (``wait`` if rate limited, else ``fix``)."""
    if answer.status == 200:
        return OK, f"{label} authenticates"
    if answer.status == 429:
        return WARN, f"{label} is rate limited right now (429): {wait}"
    return PROBLEM, f"{label} is {_cause(answer)}: {fix}"


def _check_spare_keys(api: Api, settings: Settings, state: KeyState, report: DoctorReport) -> None:
    pool = set(settings.api_keys)
    other = settings.other_api_key
    if other:
        label = key_label("TIXALLO_OTHER_API_KEY", other)
        if other in pool:
            report.add(
                "keys",
                PROBLEM,
                f"{label} is also in TIXALLO_API_KEY: set it to a key of a second workspace",
            )
        else:
            state.other_answer = answer = api.list_tickets(other)
            wait, fix = (
                "run doctor again in a minute",
                "set it to a working key of a second workspace",
            )
            report.add("keys", *_spare_verdict(label, answer, wait, fix))
    revoked = settings.revoked_api_key
    if revoked:
        label = key_label("TIXALLO_REVOKED_API_KEY", revoked)
        answer = api.list_tickets(revoked)
        if answer.status == 401:
            report.add("keys", OK, f"{label} is refused (401), as a revoked key must be")
        elif answer.status == 200:
            report.add(
                "keys",
                PROBLEM,
                f"{label} still authenticates (200): revoke it in the Tixallo app, or set "
                "TIXALLO_REVOKED_API_KEY to a key that is revoked",
            )
        else:
            report.add(
                "keys",
                WARN,
                f"{label} {_cause(answer)} instead of 401: the revoked-key check will say more",
            )
    spare = settings.rate_limit_api_key
    if spare:
        label = key_label("TIXALLO_RATE_LIMIT_API_KEY", spare)
        if spare in pool or spare == other:
            report.add(
                "keys",
                PROBLEM,
                f"{label} is also used as another setting's key: the 429 check exhausts it; set a spare key",
            )
            return
        wait, fix = (
            "fine, its window ends within a minute",
            "set it to a working spare key of the workspace",
        )
        report.add("keys", *_spare_verdict(label, api.list_tickets(spare), wait, fix))


def check_workspaces(
    api: Api, settings: Settings, state: KeyState, probe_id: str | None, report: DoctorReport
) -> None:
    """The pool's keys share one workspace; the other key is in a different one."""
    if not state.main_ok or state.main_key is None:
        return
    main_ids = state.listings[state.main_key].ids

    def same(key: str) -> bool | None:
        verdict = same_workspace(
            main_ids, state.listings[key].ids if key in state.listings else frozenset()
        )
        if verdict is None and probe_id is not None:
            # Empty listings tell nothing: whether the key can read the probe ticket does.
            answer = api.request("GET", f"/tickets/{probe_id}", key)
            verdict = {200: True, 404: False}.get(answer.status or 0)
        return verdict

    pool = list(dict.fromkeys(settings.api_keys))
    authenticated = [k for k in pool if state.listings.get(k, Answer()).status == 200]
    strangers = [
        key_label("TIXALLO_API_KEY", k, pool.index(k), len(pool))
        for k in authenticated[1:]
        if same(k) is False
    ]
    if strangers:
        report.add(
            "workspace",
            PROBLEM,
            f"{_keys_text(strangers)} {'belongs' if len(strangers) == 1 else 'belong'} to a different workspace "
            f"than key #1 ({fingerprint(state.main_key)}): a pool holds keys of one workspace; remove or replace "
            f"{'it' if len(strangers) == 1 else 'them'}",
        )
    elif len(authenticated) > 1:
        report.add(
            "workspace", OK, f"the {len(authenticated)} keys of TIXALLO_API_KEY share one workspace"
        )
    other = settings.other_api_key
    if other and state.other_answer is not None and state.other_answer.status == 200:
        state.listings[other] = state.other_answer
        label = key_label("TIXALLO_OTHER_API_KEY", other)
        verdict = same(other)
        if verdict is True:
            report.add(
                "workspace",
                PROBLEM,
                f"{label} sees the same tickets as TIXALLO_API_KEY, so it is a key of the same workspace: "
                "set it to a key of a second workspace",
            )
        elif verdict is False:
            report.add("workspace", OK, f"{label} is in a different workspace than TIXALLO_API_KEY")
        else:
            report.add(
                "workspace",
                WARN,
                f"cannot tell the workspace of {label}: both workspaces list no tickets",
            )


def check_tickets(api: Api, settings: Settings, state: KeyState, report: DoctorReport) -> None:
    """The fixture tickets the suite needs are readable with the main key."""
    if not state.main_ok or state.main_key is None:
        return
    for attr, env in (
        ("merged_ticket_id", "TIXALLO_MERGED_TICKET_ID"),
        ("noted_ticket_id", "TIXALLO_NOTED_TICKET_ID"),
    ):
        ticket_id = getattr(settings, attr)
        if not ticket_id:
            continue
        answer = api.request("GET", f"/tickets/{ticket_id}", state.main_key)
        if answer.status == 200:
            report.add("tickets", OK, f"{env} {ticket_id} is readable with TIXALLO_API_KEY")
        elif answer.status in (400, 404):
            report.add(
                "tickets",
                PROBLEM,
                f"{env}={ticket_id} is not found with TIXALLO_API_KEY ({answer.status}): set it to the id "
                "of such a ticket in the workspace under test",
            )
        elif answer.status == 429:
            report.add(
                "tickets",
                WARN,
                f"{env} not checked: TIXALLO_API_KEY is rate limited right now (429)",
            )
        else:
            report.add(
                "tickets",
                PROBLEM,
                f"GET /tickets/{ticket_id} answered {answer.status or answer.error}: check the deployment's logs",
            )
