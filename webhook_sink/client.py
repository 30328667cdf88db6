"""Synchronous client of the sink's query API, for ``contracts/`` (pytest) and ``load/`` (gevent).

Plain ``httpx`` in blocking mode: nothing here starts an event loop, so it works under locust's
gevent patching as well as in pytest.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import httpx

from tixallo_qa.webhook_sink._text import as_text
from tixallo_qa.webhook_sink.delivery import NO_ANSWER

# Record attributes a filter may name; anything else is a top-level payload field.
RECORD_FIELDS = (
    "event_type",
    "ticket_id",
    "message_id",
    "verdict",
    "delivery_id",
    "status",
    "retry",
    "double_fire",
    "injected",
)
CLOSEST = 5
_IDENTITY = frozenset({"event_type", "ticket_id", "message_id", "delivery_id"})


@dataclass(frozen=True)
class Event:
    """One recorded delivery, accepted or not, as the sink stored it."""

    seq: int
    verdict: str
    status: int
    received_at: float
    received_monotonic: float
    event_type: str | None
    delivery_id: str | None
    ticket_id: str | None
    message_id: str | None
    payload: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""
    body_size: int = 0
    body_truncated: bool = False
    schema_errors: tuple[str, ...] = ()
    retry: bool = False
    double_fire: bool = False
    injected: bool = False
    lag: float | None = None
    detail: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["schema_errors"] = tuple(values.get("schema_errors") or ())
        return cls(**values)

    @property
    def valid(self) -> bool:
        """Authentic and well-formed (the verdict; schema errors are separate)."""
        return self.verdict == "valid"

    def get(self, name: str) -> Any:
        """A record attribute, else a top-level payload field (None when absent)."""
        if name in RECORD_FIELDS:
            return getattr(self, name)
        return self.payload.get(name) if isinstance(self.payload, dict) else None

    def has(self, name: str) -> bool:
        return name in RECORD_FIELDS or (isinstance(self.payload, dict) and name in self.payload)

    def summary(self) -> str:
        """One line for failure messages."""
        flags = [f for f in ("retry", "double_fire", "injected") if getattr(self, f)]
        parts = [
            f"#{self.seq} {self.event_type or '(no type)'} verdict={self.verdict} status={'none (the sender hung up)' if self.status == NO_ANSWER else self.status}",
            f"ticket_id={self.ticket_id}" if self.ticket_id else "",
            f"message_id={self.message_id}" if self.message_id else "",
            f"delivery_id={self.delivery_id}" if self.delivery_id else "",
            f"flags={','.join(flags)}" if flags else "",
            f"schema_errors={list(self.schema_errors)}" if self.schema_errors else "",
            f"detail={self.detail!r}" if self.detail else "",
        ]
        return " ".join(p for p in parts if p)


def _params(fields_: Mapping[str, Any]) -> dict[str, str]:
    return {k: as_text(v) for k, v in fields_.items() if v is not None}


def _describe(event_type: str | None, fields_: Mapping[str, Any]) -> str:
    wanted = ", ".join(f"{k}={v!r}" for k, v in fields_.items())
    return (event_type or "any event") + (f" with {wanted}" if wanted else "")


class SinkAuthError(RuntimeError):
    """The sink refused this client's token (401); the message names the setting to fix."""


class SinkClient:
    """Talks to one sink. ``wait_for`` and ``expect_none`` raise ``AssertionError`` with evidence.

    ``token`` is the sink's ``TIXALLO_SINK_TOKEN`` (sent as a bearer token); ``verify`` is the
    TLS context (or bool) an https sink's certificate is checked with.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        token: str | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            trust_env=False,
            verify=verify,
            headers={"Authorization": f"Bearer {token}"} if token else None,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SinkClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _json(self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any) -> Any:
        response = self._http.request(method, path, timeout=timeout or self._timeout, **kwargs)
        if response.status_code == 401:
            raise SinkAuthError(
                f"the webhook sink at {self.base_url} refused the token (401): set TIXALLO_SINK_TOKEN "
                "to the token that sink printed when it started (also in its settings file)"
            )
        if response.status_code >= 400:
            raise RuntimeError(
                f"webhook sink {method} {path}: {response.status_code} {response.text[:300]}"
            )
        return response.json()

    # -- queries ---------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """The sink's health and non-secret configuration."""
        return dict(self._json("GET", "/_sink/health"))

    def events(
        self,
        event_type: str | None = None,
        *,
        since: int | float | None = None,
        limit: int = 1000,
        order: str = "asc",
        **fields_: Any,
    ) -> list[Event]:
        """Recorded events matching ``event_type`` and ``fields_`` (record attributes or payload fields)."""
        params = _params(
            {"event_type": event_type, "since": since, "limit": limit, "order": order, **fields_}
        )
        return [
            Event.from_json(e) for e in self._json("GET", "/_sink/events", params=params)["events"]
        ]

    def stats(self) -> dict[str, Any]:
        """Counts by event type and verdict, retries, double fires, unmatched marks, lag percentiles."""
        return dict(self._json("GET", "/_sink/stats"))

    def clear(self) -> None:
        """Forget every recorded event and mark."""
        self._json("POST", "/_sink/clear")

    def wait(
        self,
        event_type: str | None = None,
        *,
        timeout: float = 10.0,
        count: int = 1,
        **fields_: Any,
    ) -> tuple[list[Event], bool]:
        """Long-poll: the matching events once ``count`` are recorded or ``timeout`` passed, and whether enough came."""
        params = _params({"event_type": event_type, "count": count, **fields_})
        deadline = time.monotonic() + timeout
        while True:
            # The server caps one poll at 300 s; longer waits poll again until the deadline.
            left = max(0.0, min(deadline - time.monotonic(), 300.0))
            data = self._json(
                "GET",
                "/_sink/wait",
                params={**params, "timeout": f"{left:.3f}"},
                timeout=left + self._timeout,
            )
            if data["satisfied"] or time.monotonic() >= deadline:
                return [Event.from_json(e) for e in data["events"]], bool(data["satisfied"])

    # -- assertions ------------------------------------------------------------------------
    def wait_for(
        self, event_type: str, *, timeout: float = 10.0, count: int = 1, **fields_: Any
    ) -> list[Event]:
        """The first ``count`` events of ``event_type`` whose fields equal ``fields_``; AssertionError on timeout.

        Any verdict matches (pass ``verdict="valid"`` to require it), so a delivery that arrived
        badly signed is returned for the caller to assert on rather than reported as missing.
        """
        events, satisfied = self.wait(event_type, timeout=timeout, count=count, **fields_)
        if satisfied:
            return events[:count]
        raise AssertionError(self._missing_message(event_type, count, fields_, events, timeout))

    def expect_none(
        self,
        event_type: str,
        *,
        within: float = 2.0,
        window: float | None = None,
        **fields_: Any,
    ) -> None:
        """Assert no event of ``event_type`` with ``fields_`` arrives within ``within`` seconds (fails fast).

        ``window`` is the whole watch to name in the failure, when part of it passed before the call.
        """
        events, _ = self.wait(event_type, timeout=within, count=1, **fields_)
        if events:
            shown = within if window is None else window
            lines = [
                f"expected no {_describe(event_type, fields_)} within {shown:g} s, but {len(events)} arrived:"
            ]
            lines += [f"  {e.summary()}" for e in events[:10]]
            raise AssertionError("\n".join(lines))

    def closest(
        self, event_type: str | None, fields_: Mapping[str, Any], limit: int = CLOSEST
    ) -> list[tuple[Event, list[str]]]:
        """Recorded events most like the expected one, each with the fields that differ."""
        candidates: dict[int, Event] = {}
        probes: list[dict[str, Any]] = [{}]
        if event_type:
            probes.append({"event_type": event_type})
        for name in ("ticket_id", "message_id", "delivery_id"):
            if fields_.get(name) is not None:
                probes.append({name: fields_[name]})
        for probe in probes:
            for event in self.events(limit=200, order="desc", **probe):
                candidates[event.seq] = event
        wanted = {"event_type": event_type, **fields_} if event_type else dict(fields_)
        scored = []
        for event in candidates.values():
            differ = [
                f"{k}={event.get(k)!r}" if event.has(k) else f"{k} missing"
                for k, v in wanted.items()
                if not event.has(k) or as_text(event.get(k)) != as_text(v)
            ]
            # Another event or ticket is further away than the same one with a wrong value.
            weight = sum(
                2 if k in _IDENTITY else 1
                for k, v in wanted.items()
                if not event.has(k) or as_text(event.get(k)) != as_text(v)
            )
            scored.append((weight, -event.seq, event, differ))
        scored.sort(key=lambda s: (s[0], s[1]))
        return [(event, differ) for _, _, event, differ in scored[:limit]]

    def _missing_message(
        self,
        event_type: str,
        count: int,
        fields_: Mapping[str, Any],
        found: list[Event],
        timeout: float,
    ) -> str:
        lines = [
            f"expected {count} x {_describe(event_type, fields_)} within {timeout:g} s; {len(found)} matched"
        ]
        lines += [f"  matched: {e.summary()}" for e in found[:10]]
        near = [
            (e, d)
            for e, d in self.closest(event_type, fields_)
            if e.seq not in {f.seq for f in found}
        ]
        if near:
            lines.append("closest recorded events:")
            lines += [f"  {e.summary()}  differs: {', '.join(d) or 'nothing'}" for e, d in near]
        else:
            total = self.stats()["total"]
            lines.append(
                f"no similar events recorded (the sink holds {total} in all; is the endpoint pointing at {self.base_url}?)"
            )
        return "\n".join(lines)

    # -- marks and faults ------------------------------------------------------------------
    def mark(
        self,
        event_type: str,
        *,
        action_at: float | None = None,
        ticket_id: str | None = None,
        message_id: str | None = None,
    ) -> None:
        """Tell the sink when the action behind an event happened (default: now), for lag."""
        self.mark_many(
            [
                {
                    "event_type": event_type,
                    "ticket_id": ticket_id,
                    "message_id": message_id,
                    "action_at": time.time() if action_at is None else action_at,
                }
            ]
        )

    def mark_many(self, marks: Iterable[Mapping[str, Any]]) -> int:
        """Send many marks at once (``event_type``, ``ticket_id``/``message_id``, ``action_at``)."""
        body = [{k: v for k, v in m.items() if v is not None} for m in marks]
        return int(self._json("POST", "/_sink/marks", json=body)["added"])

    def marks(self, *, unmatched: bool = False) -> list[dict[str, Any]]:
        """The marks; with ``unmatched`` only those no accepted delivery matched (lost so far)."""
        return list(
            self._json("GET", "/_sink/marks", params={"unmatched": as_text(unmatched)})["marks"]
        )

    def inject_fault(
        self,
        *,
        status: int | None = None,
        stall: float = 0.0,
        count: int | None = None,
        share: float | None = None,
        seed: int | None = None,
        plan: Sequence[Mapping[str, Any]] | None = None,
        fresh: bool = False,
    ) -> dict[str, Any]:
        """Answer ``status`` (a 4xx or 5xx) and/or stall ``stall`` s, for the next ``count``
        deliveries or a ``share``; or each fault of ``plan`` (``{"status": 400}``,
        ``{"stall": 30}``) to one delivery in turn. ``fresh``: first attempts only.

        A stall ends when the sender hangs up; that delivery is recorded with status 0 (no answer).
        """
        rule = {
            "status": status,
            "stall": stall or None,
            "count": count,
            "share": share,
            "seed": seed,
            "plan": [dict(f) for f in plan] if plan else None,
            "fresh": fresh or None,
        }
        return dict(
            self._json(
                "POST", "/_sink/faults", json={k: v for k, v in rule.items() if v is not None}
            )
        )

    def fault(self) -> dict[str, Any] | None:
        """The active fault rule (its ``applied`` count says how many deliveries met it), or None."""
        rule = self._json("GET", "/_sink/faults")["fault"]
        return dict(rule) if rule is not None else None

    def clear_faults(self) -> None:
        """Answer every delivery normally again."""
        self._json("DELETE", "/_sink/faults")
