"""The fixtures the contract suite needs, created directly in the database (no webhooks fire).

Seeding refuses a database that already holds workspaces: keys are stored only as hashes, so an
old seed's keys cannot be shown again, and mixing two seeds would make fixtures ambiguous.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from tixallo_qa.reference.config import EVENT_TYPES
from tixallo_qa.reference.store import Store
from tixallo_qa.reference.tickets import Tickets
from tixallo_qa.reference.validation import rules_for

WORKSPACE_A = "workspace-a"
WORKSPACE_B = "workspace-b"
DEFAULT_WEBHOOK_PATH = "/webhooks/tixallo"


class SeedError(RuntimeError):
    """The database cannot be seeded; one line, for the user."""


def seed_store(
    store: Store,
    *,
    sink_url: str | None,
    webhook_secret: str | None = None,
    pool_size: int = 1,
    webhook_path: str = DEFAULT_WEBHOOK_PATH,
) -> dict[str, str]:
    """Seed an open store; returns the ``TIXALLO_*`` settings that describe the fixtures."""
    if pool_size < 1:
        raise SeedError(f"pool size {pool_size}: use 1 or more keys")
    if not store.is_empty():
        raise SeedError(
            f"database {store.path} is already seeded (its keys are stored only hashed and cannot be "
            "shown again): use a new database path, or delete this one to reseed"
        )
    default_priority = next(
        r.default for r in rules_for("CreateTicketRequest") if r.name == "priority"
    )
    tickets = Tickets(store, default_priority=default_priority or "medium")
    settings: dict[str, str] = {}
    with store.tx():
        a = store.create_workspace(WORKSPACE_A)
        b = store.create_workspace(WORKSPACE_B)
        pool = [store.create_key(a, f"pool-{i + 1}")[1] for i in range(pool_size)]
        other = store.create_key(b, "other-workspace")[1]
        revoked_id, revoked = store.create_key(a, "revoked")
        store.revoke_key(revoked_id)
        rate_limit_key = store.create_key(a, "rate-limit")[1]

        def ticket(subject: str, description: str) -> str:
            fields = {
                "subject": subject,
                "description": description,
                "customer_email": "seed.customer@example.com",
                "customer_name": "Seed Customer",
            }
            return str(tickets.create(a, fields, emit=False)["id"])

        survivor = ticket("Duplicate report (kept)", "The ticket the duplicate was merged into.")
        merged = ticket("Duplicate report (merged)", "This ticket was merged into another one.")
        store.merge(merged, survivor)
        noted = ticket(
            "Ticket with an internal note", "A customer question that agents discussed internally."
        )
        marker = "internal-note-marker-" + secrets.token_hex(12)
        tickets.add_note(noted, f"Agent-only note, never public: {marker}")
        settings.update(
            {
                "TIXALLO_API_KEY": ",".join(pool),
                "TIXALLO_OTHER_API_KEY": other,
                "TIXALLO_REVOKED_API_KEY": revoked,
                "TIXALLO_RATE_LIMIT_API_KEY": rate_limit_key,
                "TIXALLO_MERGED_TICKET_ID": merged,
                "TIXALLO_NOTED_TICKET_ID": noted,
                "TIXALLO_INTERNAL_NOTE_MARKER": marker,
            }
        )
        if sink_url:
            secret = webhook_secret or "whsec_" + secrets.token_urlsafe(24)
            url = sink_url.rstrip("/") + "/" + webhook_path.lstrip("/")
            store.add_endpoint(a, url, secret, EVENT_TYPES)
            settings["TIXALLO_WEBHOOK_SECRET"] = secret
    return settings


def seed(
    db_path: str,
    *,
    sink_url: str | None,
    webhook_secret: str | None = None,
    pool_size: int = 1,
    webhook_path: str = DEFAULT_WEBHOOK_PATH,
) -> dict[str, str]:
    """Seed the database at ``db_path`` (see ``seed_store``)."""
    store = Store(db_path)
    try:
        return seed_store(
            store,
            sink_url=sink_url,
            webhook_secret=webhook_secret,
            pool_size=pool_size,
            webhook_path=webhook_path,
        )
    finally:
        store.close()


def format_settings(settings: dict[str, str]) -> str:
    """``NAME=value`` lines."""
    return "".join(f"{k}={v}\n" for k, v in settings.items())


def write_env(path: str | os.PathLike[str], settings: dict[str, str]) -> None:
    """Write the settings as an env file readable only by its owner (it holds keys)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# Written by the Tixallo reference deployment; holds secrets (mode 0600).\n")
        fh.write(format_settings(settings))
