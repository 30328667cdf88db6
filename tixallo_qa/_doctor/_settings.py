"""Which settings are set, and which checks each missing one would enable."""

from __future__ import annotations

from tixallo_qa.core import signing
from tixallo_qa.core.settings import Settings

from ._model import NOTE, OK, PROBLEM, DoctorReport

# setting attributes -> (TIXALLO_* names, the checks they enable, how to get a value).
OPTIONAL: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("other_api_key",),
        "workspace isolation (404 across workspaces, customers never shared, object-level authorization)",
        "a key of a second workspace",
    ),
    (("revoked_api_key",), "the revoked-key 401 check", "a key revoked in the Tixallo app"),
    (
        ("rate_limit_api_key",),
        "the 429 check (Retry-After, body, per-key budget)",
        "a spare key of the workspace the suite may exhaust",
    ),
    (
        ("merged_ticket_id",),
        "merged tickets (left out of the list, 409 on a message)",
        "the id of a ticket merged into another",
    ),
    (
        ("noted_ticket_id", "internal_note_marker"),
        "the internal-note leak check",
        "a ticket with an internal note, and a string only that note contains",
    ),
    (
        ("webhook_secret",),
        "every webhook check (signature, payload, lag, no event for rejected requests)",
        "the signing secret of the webhook endpoint that points at the sink",
    ),
)


def check_settings(settings: Settings, report: DoctorReport) -> None:
    """Add a line per setting group: set, or missing with what it would enable."""
    if not settings.api_keys:
        report.add(
            "settings",
            PROBLEM,
            "TIXALLO_API_KEY is not set: set it to an API key of the workspace under test "
            "(created in the Tixallo app; comma-separate several keys of that workspace for a pool)",
        )
    else:
        n = len(settings.api_keys)
        report.add("settings", OK, f"TIXALLO_API_KEY: {n} key{'s' if n > 1 else ''}")
    for attrs, enables, what in OPTIONAL:
        missing = settings.missing(*attrs)
        if attrs == ("webhook_secret",) and not signing.get(settings.webhook_scheme).needs_secret:
            missing = []
        if missing:
            names = " and ".join(missing)
            verb, it = ("are", "them") if len(missing) > 1 else ("is", "it")
            report.add(
                "settings",
                NOTE,
                f"{names} {verb} not set: {enables} will be skipped; set {it} to {what}",
            )
    report.add(
        "settings",
        OK,
        f"rate limit {settings.rate_limit}/min per key, profile {settings.profile}, "
        f"webhook timeout {settings.webhook_timeout:g} s",
    )
