"""Internal notes never leave the app over the public API (family: notes)."""

from __future__ import annotations

from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._catalogue import check, final
from tixallo_qa.contracts._curl import describe
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import get_ticket, require
from tixallo_qa.contracts._state import SuiteState
from tixallo_qa.contracts._transport import ApiClient
from tixallo_qa.core.redact import REDACTED
from tixallo_qa.core.settings import Settings


@check(
    "noted-ticket-hides-note",
    "notes",
    "a ticket with an internal note reads without the note, and with only public authors",
)
def test_noted_ticket(api: ApiClient, expect: Expect, target: Settings) -> None:
    require(target, "noted_ticket_id", "internal_note_marker")
    response, detail = get_ticket(api, expect, str(target.noted_ticket_id))
    marker = str(target.internal_note_marker)
    at = response.text.find(marker)
    expect.that(
        at < 0,
        "the internal note's text must not appear in the ticket",
        expected="marker absent",
        actual=f"marker present at character {at} of the body (shown as <redacted>)",
        responses=[response],
        focus=REDACTED,
    )
    authors = sorted({str(m.get("author_type")) for m in detail.get("messages") or []})
    public = _spec.author_types()
    expect.that(
        set(authors) <= set(public),
        "only public messages are returned",
        expected=f"author_type in {public}",
        actual=authors,
        responses=[response],
    )


@final
@check(
    "note-marker-never-returned",
    "notes",
    "the internal-note marker appears in no response the suite received (all checks, generated "
    "ones included), nor in the noted ticket read again at the end, after messages were posted to it",
)
def test_marker_never_returned(api: ApiClient, target: Settings, suite_state: SuiteState) -> None:
    require(target, "internal_note_marker")
    marker = str(target.internal_note_marker)
    if target.noted_ticket_id:
        # Read once more now that the run has posted to it: a note may surface only then.
        api.get(f"/tickets/{target.noted_ticket_id}")
    leaks = [e for e in suite_state.log if marker.encode() in e.response_body]
    if leaks:
        shown = "\n".join(describe(e, suite_state.redactor) for e in leaks[:3])
        raise AssertionError(
            f"the internal-note marker (shown as <redacted>) appeared in {len(leaks)} of {len(suite_state.log)} responses; the first:\n{shown}"
        )
