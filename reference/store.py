"""SQLite persistence of the reference deployment: schema and every query, nothing else."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

SCHEMA_VERSION = 1
KEY_PREFIX = "txk_"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- The per-workspace ticket_number counter, bumped in the creating transaction.
    ticket_counter INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    key_hash TEXT NOT NULL UNIQUE,  -- sha256 hex of the token; the token itself is never stored
    prefix TEXT NOT NULL,           -- first characters, to tell keys apart in listings
    label TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    email TEXT NOT NULL,
    name TEXT,
    company TEXT,
    created_at TEXT NOT NULL
);
-- Not UNIQUE: the customer-duplicated fault must be able to plant duplicates; the faithful
-- path finds before it creates, in one transaction.
CREATE INDEX IF NOT EXISTS customers_by_email ON customers(workspace_id, email);
CREATE INDEX IF NOT EXISTS customers_by_email_any ON customers(email);
CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    ticket_number INTEGER NOT NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    source TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    merged_into TEXT REFERENCES tickets(id)
);
-- Not UNIQUE on ticket_number for the same reason: the atomic counter is the guarantee, and the
-- ticket-number-race fault must be able to break it.
CREATE INDEX IF NOT EXISTS tickets_newest ON tickets(workspace_id, created_at DESC, ticket_number DESC);
CREATE INDEX IF NOT EXISTS tickets_newest_any ON tickets(created_at DESC, ticket_number DESC);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    author_type TEXT NOT NULL,
    body TEXT NOT NULL,
    internal INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_ticket ON messages(ticket_id, created_at, seq);
CREATE TABLE IF NOT EXISTS endpoints (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,  -- comma-separated event types
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES endpoints(id),
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,  -- the exact JSON sent, so a retry signs the same bytes
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,  -- unix seconds; while sending, a lease in the future
    created_at REAL NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(next_attempt_at) WHERE status = 'pending';
"""

TICKET_COLUMNS = (
    "id, ticket_number, subject, description, status, priority, source, created_at, updated_at, "
    "customer_id, workspace_id, merged_into"
)
TICKET_FIELDS = (
    "id",
    "ticket_number",
    "subject",
    "description",
    "status",
    "priority",
    "source",
    "created_at",
    "updated_at",
    "customer_id",
)


class StoreError(RuntimeError):
    """The database cannot be opened or is not a reference database; one line, for the user."""


def hash_key(token: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(token.encode()).hexdigest()


def format_ts(epoch: float) -> str:
    """RFC 3339 UTC with millisecond precision and 'Z'."""
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def shift_ts(value: str, *, seconds: float = 0.0, offset_hours: float = 0.0) -> str:
    """A timestamp moved by ``seconds`` and written with a UTC offset (faults only)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    if not offset_hours:
        return format_ts(moment.timestamp())
    return moment.astimezone(timezone(timedelta(hours=offset_hours))).isoformat(
        timespec="milliseconds"
    )


def new_id() -> str:
    return str(uuid.uuid4())


class Store:
    """One SQLite connection (WAL), used directly from the event loop: every call takes microseconds."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves.
            self.conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, cached_statements=256
            )
            self.conn.execute("PRAGMA busy_timeout = 5000")
            if path != ":memory:":
                self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"database {path}: schema version {version} is newer than this code's {SCHEMA_VERSION}"
                )
            self.conn.executescript(_SCHEMA)
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise StoreError(
                f"database {path}: cannot be used ({exc}): pass a writable path or a new file"
            ) from None
        self._last_ms = 0
        self._depth = 0

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def tx(self) -> Iterator[None]:
        """One write transaction; nested uses join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._depth = 0

    def now(self) -> str:
        """The current time as stored; never goes backwards, so creation order and time agree."""
        ms = max(int(time.time() * 1000), self._last_ms)
        self._last_ms = ms
        return format_ts(ms / 1000)

    def past(self, seconds: float) -> str:
        """A time ``seconds`` ago, as stored (only a load fault backdates anything)."""
        return format_ts(time.time() - seconds)

    # -- workspaces and keys -----------------------------------------------------------------

    def create_workspace(self, name: str) -> str:
        ws_id = new_id()
        self.conn.execute(
            "INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)",
            (ws_id, name, self.now()),
        )
        return ws_id

    def workspace_id(self, name_or_id: str) -> str | None:
        row = self.conn.execute(
            "SELECT id FROM workspaces WHERE name = ? OR id = ?", (name_or_id, name_or_id)
        ).fetchone()
        return row[0] if row else None

    def workspaces(self) -> list[tuple[str, str]]:
        return self.conn.execute("SELECT id, name FROM workspaces ORDER BY created_at").fetchall()

    def is_empty(self) -> bool:
        return self.conn.execute("SELECT count(*) FROM workspaces").fetchone()[0] == 0

    def create_key(self, workspace_id: str, label: str | None = None) -> tuple[str, str]:
        """A new key: returns (key id, token). The token is shown once and stored only hashed."""
        token = KEY_PREFIX + secrets.token_urlsafe(24)
        key_id = new_id()
        self.conn.execute(
            "INSERT INTO api_keys (id, workspace_id, key_hash, prefix, label, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key_id, workspace_id, hash_key(token), token[:8], label, self.now()),
        )
        return key_id, token

    def revoke_key(self, key_id_or_token: str) -> bool:
        cur = self.conn.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE (id = ? OR key_hash = ?) AND revoked_at IS NULL",
            (self.now(), key_id_or_token, hash_key(key_id_or_token)),
        )
        return cur.rowcount > 0

    def api_keys(self) -> list[tuple[str, str, str, str | None, str | None]]:
        """(id, workspace name, prefix, label, revoked_at) of every key."""
        return self.conn.execute(
            "SELECT k.id, w.name, k.prefix, k.label, k.revoked_at FROM api_keys k "
            "JOIN workspaces w ON w.id = k.workspace_id ORDER BY k.created_at"
        ).fetchall()

    def key_for_token(self, token: str) -> tuple[str, str, bool] | None:
        """(key id, workspace id, revoked) for a presented token, by its hash."""
        row = self.conn.execute(
            "SELECT id, workspace_id, revoked_at IS NOT NULL FROM api_keys WHERE key_hash = ?",
            (hash_key(token),),
        ).fetchone()
        return (row[0], row[1], bool(row[2])) if row else None

    # -- customers ---------------------------------------------------------------------------

    def find_customer(self, workspace_id: str | None, email: str) -> tuple[str, str | None] | None:
        """(id, name) of the oldest customer with this email (in any workspace when None)."""
        if workspace_id is None:
            row = self.conn.execute(
                "SELECT id, name FROM customers WHERE email = ? ORDER BY created_at LIMIT 1",
                (email,),
            ).fetchone()
        else:
            row = self.conn.execute(
                "SELECT id, name FROM customers WHERE workspace_id = ? AND email = ? "
                "ORDER BY created_at LIMIT 1",
                (workspace_id, email),
            ).fetchone()
        return (row[0], row[1]) if row else None

    def create_customer(
        self, workspace_id: str, email: str, name: str | None, company: str | None = None
    ) -> str:
        cid = new_id()
        self.conn.execute(
            "INSERT INTO customers (id, workspace_id, email, name, company, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (cid, workspace_id, email, name, company, self.now()),
        )
        return cid

    def set_customer_name(self, customer_id: str, name: str) -> None:
        self.conn.execute("UPDATE customers SET name = ? WHERE id = ?", (name, customer_id))

    def customer(self, customer_id: str) -> dict[str, Any]:
        row = self.conn.execute(
            "SELECT name, email, company FROM customers WHERE id = ?", (customer_id,)
        ).fetchone()
        return {"name": row[0], "email": row[1], "company": row[2]}

    # -- tickets and messages ----------------------------------------------------------------

    def next_ticket_number(self, workspace_id: str) -> int:
        """Bump and return the workspace counter (atomic inside the caller's transaction)."""
        row = self.conn.execute(
            "UPDATE workspaces SET ticket_counter = ticket_counter + 1 WHERE id = ? RETURNING ticket_counter",
            (workspace_id,),
        ).fetchone()
        return int(row[0])

    def peek_ticket_number(self, workspace_id: str) -> int:
        row = self.conn.execute(
            "SELECT ticket_counter FROM workspaces WHERE id = ?", (workspace_id,)
        ).fetchone()
        return int(row[0])

    def set_ticket_counter(self, workspace_id: str, value: int) -> None:
        self.conn.execute(
            "UPDATE workspaces SET ticket_counter = ? WHERE id = ?", (value, workspace_id)
        )

    def insert_ticket(self, ticket: dict[str, Any], workspace_id: str) -> None:
        self.conn.execute(
            "INSERT INTO tickets (id, ticket_number, subject, description, status, priority, source, "
            "created_at, updated_at, customer_id, workspace_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*(ticket[f] for f in TICKET_FIELDS), workspace_id),
        )

    def insert_message(
        self,
        ticket_id: str,
        author_type: str,
        body: str,
        created_at: str,
        *,
        internal: bool = False,
    ) -> str:
        mid = new_id()
        self.conn.execute(
            "INSERT INTO messages (id, ticket_id, author_type, body, internal, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (mid, ticket_id, author_type, body, int(internal), created_at),
        )
        return mid

    def forget_ticket(self, ticket_id: str) -> None:
        """Drop a ticket and its messages (only load faults lose writes)."""
        with self.tx():
            self.conn.execute("DELETE FROM messages WHERE ticket_id = ?", (ticket_id,))
            self.conn.execute("DELETE FROM tickets WHERE id = ?", (ticket_id,))

    def forget_message(self, message_id: str) -> None:
        """Drop one message (only a load fault loses writes)."""
        with self.tx():
            self.conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))

    def set_subject(self, ticket_id: str, subject: str) -> None:
        """Overwrite a ticket's subject (only a load fault crosses fields)."""
        with self.tx():
            self.conn.execute("UPDATE tickets SET subject = ? WHERE id = ?", (subject, ticket_id))

    def touch_ticket(self, ticket_id: str, updated_at: str) -> None:
        self.conn.execute("UPDATE tickets SET updated_at = ? WHERE id = ?", (updated_at, ticket_id))

    def merge(self, ticket_id: str, into_id: str) -> None:
        self.conn.execute("UPDATE tickets SET merged_into = ? WHERE id = ?", (into_id, ticket_id))

    def ticket(self, ticket_id: str) -> tuple[Any, ...] | None:
        """The ticket row (``TICKET_COLUMNS`` order) whatever its workspace; callers check it."""
        return self.conn.execute(
            f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,)
        ).fetchone()

    def list_tickets(
        self,
        workspace_id: str | None,
        limit: int,
        *,
        include_merged: bool = False,
        oldest_first: bool = False,
        by_activity: bool = False,
        status: str | None = None,
        skip: int = 0,
    ) -> list[tuple[Any, ...]]:
        """Newest first (ties by ticket_number), merged left out; None = every workspace.

        ``by_activity`` (order by updated_at), ``status`` (a filter) and ``skip`` serve faults only.
        """
        where = []
        params: list[Any] = []
        if workspace_id is not None:
            where.append("workspace_id = ?")
            params.append(workspace_id)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if not include_merged:
            where.append("merged_into IS NULL")
        order = "ASC" if oldest_first else "DESC"
        sql = f"SELECT {TICKET_COLUMNS} FROM tickets"
        if where:
            sql += " WHERE " + " AND ".join(where)
        column = "updated_at" if by_activity else "created_at"
        sql += f" ORDER BY {column} {order}, ticket_number {order} LIMIT ? OFFSET ?"
        return self.conn.execute(sql, (*params, limit, skip)).fetchall()

    def newest_elsewhere(self, workspace_id: str) -> tuple[Any, ...] | None:
        """The newest ticket of any other workspace (for the list-leak fault)."""
        return self.conn.execute(
            f"SELECT {TICKET_COLUMNS} FROM tickets WHERE workspace_id != ? AND merged_into IS NULL "
            "ORDER BY created_at DESC, ticket_number DESC LIMIT 1",
            (workspace_id,),
        ).fetchone()

    def public_message_count(self, ticket_id: str) -> int:
        """How many public messages the ticket has (faults only)."""
        row = self.conn.execute(
            "SELECT count(*) FROM messages WHERE ticket_id = ? AND internal = 0", (ticket_id,)
        ).fetchone()
        return int(row[0])

    def messages(self, ticket_id: str, *, include_internal: bool = False) -> list[tuple[Any, ...]]:
        """(id, author_type, body, created_at, internal) oldest first."""
        sql = "SELECT id, author_type, body, created_at, internal FROM messages WHERE ticket_id = ?"
        if not include_internal:
            sql += " AND internal = 0"
        return self.conn.execute(sql + " ORDER BY created_at, seq", (ticket_id,)).fetchall()

    def internal_notes(self, ticket_id: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT body FROM messages WHERE ticket_id = ? AND internal = 1 ORDER BY seq",
            (ticket_id,),
        ).fetchall()
        return [r[0] for r in rows]

    # -- webhook endpoints -------------------------------------------------------------------

    def add_endpoint(
        self, workspace_id: str, url: str, secret: str, events: tuple[str, ...], active: bool = True
    ) -> str:
        eid = new_id()
        self.conn.execute(
            "INSERT INTO endpoints (id, workspace_id, url, secret, events, active, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (eid, workspace_id, url, secret, ",".join(events), int(active), self.now()),
        )
        return eid

    def upsert_endpoint(
        self, workspace_id: str, url: str, secret: str, events: tuple[str, ...], active: bool
    ) -> str:
        """Make the endpoint of (workspace, url) match a config file entry."""
        row = self.conn.execute(
            "SELECT id FROM endpoints WHERE workspace_id = ? AND url = ?", (workspace_id, url)
        ).fetchone()
        if row is None:
            return self.add_endpoint(workspace_id, url, secret, events, active)
        self.conn.execute(
            "UPDATE endpoints SET secret = ?, events = ?, active = ? WHERE id = ?",
            (secret, ",".join(events), int(active), row[0]),
        )
        return str(row[0])

    def set_endpoint_active(self, endpoint_id: str, active: bool) -> bool:
        cur = self.conn.execute(
            "UPDATE endpoints SET active = ? WHERE id = ?", (int(active), endpoint_id)
        )
        return cur.rowcount > 0

    def endpoints(self) -> list[tuple[str, str, str, str, int]]:
        """(id, workspace name, url, events, active) of every endpoint."""
        return self.conn.execute(
            "SELECT e.id, w.name, e.url, e.events, e.active FROM endpoints e "
            "JOIN workspaces w ON w.id = e.workspace_id ORDER BY e.created_at"
        ).fetchall()

    def subscribed_endpoints(self, workspace_id: str | None, event_type: str) -> list[str]:
        """Ids of the active endpoints subscribed to ``event_type`` (every workspace's when None)."""
        if workspace_id is None:
            rows = self.conn.execute("SELECT id, events FROM endpoints WHERE active = 1").fetchall()
        else:
            rows = self.conn.execute(
                "SELECT id, events FROM endpoints WHERE active = 1 AND workspace_id = ?",
                (workspace_id,),
            ).fetchall()
        return [r[0] for r in rows if event_type in r[1].split(",")]

    # -- outbox ------------------------------------------------------------------------------

    def enqueue(
        self,
        endpoint_id: str,
        event_type: str,
        payload: str,
        at: float,
        delivery_id: str | None = None,
    ) -> None:
        """Queue one delivery (``delivery_id`` is chosen by a fault only; else a new UUID)."""
        self.conn.execute(
            "INSERT INTO outbox (delivery_id, endpoint_id, event_type, payload, next_attempt_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (delivery_id or new_id(), endpoint_id, event_type, payload, at, time.time()),
        )

    def claim_due(self, now: float, lease_until: float, limit: int) -> list[tuple[Any, ...]]:
        """Due pending deliveries, leased until ``lease_until`` so they are not picked twice.

        Rows: (seq, delivery_id, event_type, payload, attempts, url, secret).
        """
        with self.tx():
            rows = self.conn.execute(
                "SELECT o.seq, o.delivery_id, o.event_type, o.payload, o.attempts, e.url, e.secret "
                "FROM outbox o JOIN endpoints e ON e.id = o.endpoint_id "
                "WHERE o.status = 'pending' AND o.next_attempt_at <= ? ORDER BY o.next_attempt_at LIMIT ?",
                (now, limit),
            ).fetchall()
            if rows:
                self.conn.executemany(
                    "UPDATE outbox SET next_attempt_at = ? WHERE seq = ?",
                    [(lease_until, r[0]) for r in rows],
                )
        return rows

    def next_due(self) -> float | None:
        row = self.conn.execute(
            "SELECT min(next_attempt_at) FROM outbox WHERE status = 'pending'"
        ).fetchone()
        return row[0]

    def mark_delivered(self, seq: int, status: int | None) -> None:
        self.conn.execute(
            "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, last_status = ?, delivered_at = ? "
            "WHERE seq = ?",
            (status, time.time(), seq),
        )

    def mark_retry(
        self,
        seq: int,
        at: float,
        status: int | None,
        error: str | None,
        new_delivery_id: str | None = None,
    ) -> None:
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_status = ?, last_error = ?, "
            "delivery_id = coalesce(?, delivery_id) WHERE seq = ?",
            (at, status, error, new_delivery_id, seq),
        )

    def mark_failed(self, seq: int, status: int | None, error: str | None) -> None:
        self.conn.execute(
            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_status = ?, last_error = ? "
            "WHERE seq = ?",
            (status, error, seq),
        )

    def release_leases(self, now: float) -> None:
        """On start: every pending delivery (leased by a stopped process, or waiting) is due now."""
        self.conn.execute(
            "UPDATE outbox SET next_attempt_at = ? WHERE status = 'pending' AND next_attempt_at > ?",
            (now, now),
        )

    def outbox_counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall()
        return {r[0]: r[1] for r in rows}
