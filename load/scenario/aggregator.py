"""The join point (master or single process): gathers every process's batches, joins with the sink once."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment
from locust.stats import StatsError

from tixallo_qa.core.histogram import Histogram
from tixallo_qa.core.settings import load_settings
from tixallo_qa.load import files
from tixallo_qa.load.accounting import Accounting, accepted, event_key, expected_key, join
from tixallo_qa.load.options import ChildPlan
from tixallo_qa.load.scenario.collector import MAX_ERROR_EVENTS
from tixallo_qa.target import sink_client

log = logging.getLogger("tixallo.load")
WEBHOOK = "WEBHOOK"  # request type of the lag rows in locust's statistics
POLL = 0.25
_EVENT_FIELDS = (
    "seq",
    "event_type",
    "ticket_id",
    "message_id",
    "delivery_id",
    "verdict",
    "status",
    "received_at",
    "payload",
)


class WebhookLostError(Exception):
    """No accepted delivery arrived for a created ticket or message."""


class Aggregator:
    """Every process's batches merged: HDR histograms added exactly, counts summed, samples kept."""

    def __init__(self) -> None:
        self.window = 1.0
        self.created: list[dict[str, Any]] = []
        self.histograms: dict[str, dict[int, Histogram]] = {}
        self.counts: dict[str, int] = {}
        self.failures: dict[str, dict[str, int]] = {}
        self.rate_limited: dict[str, int] = {}
        self.errors: dict[str, dict[str, Any]] = {}
        self.error_events: list[list[Any]] = []
        self.inflight: dict[int, int] = {}
        self.span: list[float] = []

    def add(self, batch: dict[str, Any]) -> None:
        self.window = float(batch.get("window") or self.window)
        self.created.extend(batch.get("created", []))
        for name, windows in batch.get("histograms", {}).items():
            mine = self.histograms.setdefault(name, {})
            for window, encoded in windows.items():
                hist = Histogram.decode(encoded)
                key = int(window)
                if key in mine:
                    mine[key].add(hist)
                else:
                    mine[key] = hist
        for name, n in batch.get("counts", {}).items():
            self.counts[name] = self.counts.get(name, 0) + int(n)
        for endpoint, kinds in batch.get("failures", {}).items():
            mine_kinds = self.failures.setdefault(endpoint, {})
            for kind, n in kinds.items():
                mine_kinds[kind] = mine_kinds.get(kind, 0) + int(n)
        for endpoint, n in batch.get("rate_limited", {}).items():
            self.rate_limited[endpoint] = self.rate_limited.get(endpoint, 0) + int(n)
        for key, entry in batch.get("errors", {}).items():
            known = self.errors.get(key)
            if known is None:
                self.errors[key] = dict(entry)
                continue
            known["count"] += int(entry["count"])
            known["first_at"] = min(known["first_at"], entry["first_at"])
            known["last_at"] = max(known["last_at"], entry["last_at"])
            if "sample" not in known and "sample" in entry:
                known["sample"], known["detail"] = entry["sample"], entry.get("detail", "")
        room = MAX_ERROR_EVENTS * 4 - len(self.error_events)
        self.error_events.extend(batch.get("error_events", [])[: max(0, room)])
        for level, n in batch.get("inflight", {}).items():
            self.inflight[int(level)] = self.inflight.get(int(level), 0) + int(n)
        first, last = (batch.get("span") or [None, None])[:2]
        if first is not None and last is not None:
            self.span = (
                [min(self.span[0], first), max(self.span[1], last)] if self.span else [first, last]
            )

    def finish(self, environment: Environment, plan: ChildPlan) -> None:
        """Write what the processes reported, then account webhooks (files, then locust rows)."""
        out = Path(plan.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files.write_jsonl(out / files.CREATED, self.created)
        files.write_json(
            out / files.HISTOGRAMS,
            {
                "window": self.window,
                "endpoints": {
                    name: {str(w): h.encode() for w, h in sorted(windows.items())}
                    for name, windows in sorted(self.histograms.items())
                },
            },
        )
        files.write_json(
            out / files.REQUESTS,
            {
                "failures": self.failures,
                "rate_limited": self.rate_limited,
                "inflight": {str(k): v for k, v in sorted(self.inflight.items())},
                "span": self.span,
            },
        )
        files.write_json(
            out / files.ERRORS,
            {
                "kinds": sorted(self.errors.values(), key=lambda e: (-e["count"], e["kind"])),
                "events": sorted(self.error_events),
            },
        )
        files.write_json(out / files.COUNTS, self.counts)
        if not (plan.options.webhooks and plan.sink_url):
            return
        try:
            events = self._collect(plan)
        except Exception as exc:  # the sink is gone: say so in the report rather than crash the run
            log.error("webhook accounting failed: %s", exc)
            files.write_json(
                out / files.ACCOUNTING, {"error": f"the sink could not be queried: {exc}"}
            )
            return
        accounting = join(self.created, events, late_after_ms=plan.webhook_timeout * 1000.0)
        files.write_json(out / files.ACCOUNTING, accounting.as_dict())
        files.write_json(
            out / files.LAGS,
            {t: [round(v, 1) for v in a.lags_ms] for t, a in accounting.by_type.items()},
        )
        self._log_rows(environment, accounting, plan.webhook_timeout)
        self._mark(plan)

    def _collect(self, plan: ChildPlan) -> list[dict[str, Any]]:
        """The sink's events since the run began, polling until every create is matched or time is up."""
        assert plan.sink_url is not None
        expected = {expected_key(r) for r in self.created}
        last_ack = max((float(r["acked_at"]) for r in self.created), default=time.time())
        deadline = max(last_ack + plan.webhook_timeout, time.time() + 1.0)
        found: dict[int, dict[str, Any]] = {}
        seen: set[tuple[str, str]] = set()
        since = plan.sink_since
        with sink_client(load_settings(), url=plan.sink_url) as sink:
            while True:
                batch = sink.events(since=since, limit=10_000)
                for e in batch:
                    found[e.seq] = {name: getattr(e, name) for name in _EVENT_FIELDS}
                    since = max(since, e.seq)
                    key = event_key(found[e.seq])
                    if key is not None and accepted(found[e.seq]):
                        seen.add(key)
                if len(batch) == 10_000:
                    continue
                if expected <= seen or time.time() >= deadline:
                    break
                gevent.sleep(POLL)
        return [found[s] for s in sorted(found)]

    def _log_rows(self, environment: Environment, accounting: Accounting, timeout: float) -> None:
        """Lag as its own rows (request type WEBHOOK), kept out of the Aggregated API row."""
        stats = environment.runner.stats if environment.runner else environment.stats
        for event_type, account in accounting.by_type.items():
            if not account.expected:
                continue
            name = f"{event_type} lag"
            entry = stats.get(name, WEBHOOK)
            for lag in account.lags_ms:
                entry.log(round(lag), 0)
            if account.lost:
                error = WebhookLostError(f"no accepted delivery within {timeout:g} s of the create")
                for _ in range(account.lost):
                    entry.log_error(error)
                key = StatsError.create_key(WEBHOOK, name, error)
                stats.errors.setdefault(key, StatsError(WEBHOOK, name, error, occurrences=0))
                stats.errors[key].occurrences += account.lost

    def _mark(self, plan: ChildPlan) -> None:
        """Tell the sink when each action happened, so its own page and stats show the lag too."""
        assert plan.sink_url is not None
        marks = [
            {
                "event_type": t,
                "ticket_id": r["ticket_id"],
                "message_id": r.get("message_id"),
                "action_at": r["acked_at"],
            }
            for r in self.created
            for t in [expected_key(r)[0]]
        ]
        try:
            with sink_client(load_settings(), url=plan.sink_url) as sink:
                for i in range(0, len(marks), 5000):
                    sink.mark_many(marks[i : i + 5000])
        except Exception as exc:  # marks are a courtesy to the sink's page; the join is done
            log.warning("could not send marks to the sink: %s", exc)
