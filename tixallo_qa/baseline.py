"""Baselines: the known failures of a deployment, so a pipeline gates on what is new.

A baseline file lists failures by check id (a contract check's name, or ``load/<SLO>``) and a
fingerprint of *what* failed: the first line of the failure with its volatile parts (ids,
numbers, timestamps) masked, so the same defect matches run after run while another defect of
the same check does not. Each entry carries a reason for a person to fill in and an expiry
date, after which its failure fails the run again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

VERSION = 1
DEFAULT_DAYS = 30
TODO_REASON = "TODO: why this failure is accepted, and who fixes it"
LOAD_PREFIX = "load/"
_VOLATILE = [
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<uuid>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    # Quoted values (subjects, bodies: unique per run), then ids, then any other number.
    (re.compile(r"'[^']*'|\"[^\"]*\""), "<text>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{6,}\b"), "<hex>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
]  # fmt: skip


class BaselineError(ValueError):
    """A baseline file that cannot be used; the message names the file, the entry and the fix."""


def first_line(message: str) -> str:
    return next((line.strip() for line in message.splitlines() if line.strip()), "")


def normalize(line: str) -> str:
    """The failure line with what changes from run to run masked."""
    for pattern, mask in _VOLATILE:
        line = pattern.sub(mask, line)
    return " ".join(line.split())


def fingerprint(check: str, message: str) -> str:
    """A short, stable hash of which check failed and how (its first line, normalized)."""
    what = f"{check}\n{normalize(first_line(message))}"
    return hashlib.sha256(what.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Failure:
    """One failure of a run, as a baseline sees it."""

    check: str
    message: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.check, self.message)

    @property
    def summary(self) -> str:
        return first_line(self.message)[:300]


@dataclass(frozen=True)
class Entry:
    """A known failure: which check, which way it fails, why it is accepted, until when."""

    check: str
    fingerprint: str
    reason: str
    expires: date
    summary: str = ""

    def expired(self, today: date) -> bool:
        return self.expires < today

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "fingerprint": self.fingerprint,
            "summary": self.summary,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
        }


@dataclass
class Baseline:
    entries: list[Entry] = field(default_factory=list)

    @classmethod
    def from_failures(
        cls, failures: Iterable[Failure], *, reason: str = TODO_REASON, expires: date
    ) -> Baseline:
        entries = {
            (f.check, f.fingerprint): Entry(f.check, f.fingerprint, reason, expires, f.summary)
            for f in failures
        }
        return cls(list(entries.values()))

    @classmethod
    def load(cls, path: str | Path) -> Baseline:
        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BaselineError(
                f"baseline {p}: cannot be read ({exc.strerror}): write one with "
                "'tixallo-qa baseline write <report-dir>'"
            ) from None
        except yaml.YAMLError as exc:
            raise BaselineError(f"baseline {p}: not YAML ({exc}): fix the file") from None
        if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
            raise BaselineError(f"baseline {p}: expected a mapping with a list under 'entries'")
        entries = []
        for number, item in enumerate(data["entries"], start=1):
            where = f"baseline {p}, entry {number}"
            if not isinstance(item, dict):
                raise BaselineError(f"{where}: expected check, fingerprint, reason, expires")
            missing = [k for k in ("check", "fingerprint", "reason", "expires") if not item.get(k)]
            if missing:
                raise BaselineError(f"{where}: set {', '.join(missing)}")
            expires = item["expires"]
            if not isinstance(expires, date):
                try:
                    expires = date.fromisoformat(str(expires))
                except ValueError:
                    raise BaselineError(
                        f"{where}: expires {expires!r} is not a date: write it as YYYY-MM-DD"
                    ) from None
            entries.append(
                Entry(
                    str(item["check"]),
                    str(item["fingerprint"]),
                    str(item["reason"]),
                    expires,
                    str(item.get("summary", "")),
                )
            )
        return cls(entries)

    def write(self, path: str | Path) -> None:
        header = (
            "# tixallo-qa baseline: known failures. A run given --baseline fails only on failures\n"
            "# not listed here, or listed but past their expiry. Fill in each reason.\n"
        )
        body = yaml.safe_dump(
            {"version": VERSION, "entries": [e.to_dict() for e in self.entries]},
            sort_keys=False,
            allow_unicode=True,
            width=100,
        )
        Path(path).write_text(header + body, encoding="utf-8")

    def judge(
        self,
        failures: Iterable[Failure],
        passed: Iterable[str],
        today: date | None = None,
        *,
        load: bool | None = None,
    ) -> Judgement:
        """Which failures are new, known or expired; which entries now pass or did not run.

        ``load`` limits the judgement to the load SLOs' entries (True) or the checks' (False).
        """
        today = today or datetime.now(UTC).date()
        entries = [
            e for e in self.entries if load is None or e.check.startswith(LOAD_PREFIX) == load
        ]
        by_key = {(e.check, e.fingerprint): e for e in entries}
        judgement = Judgement()
        matched: set[tuple[str, str]] = set()
        for failure in failures:
            key = (failure.check, failure.fingerprint)
            entry = by_key.get(key)
            if entry is None:
                judgement.new.append(failure)
            elif entry.expired(today):
                judgement.expired.append((failure, entry))
            else:
                judgement.known.append((failure, entry))
            matched.add(key)
        ran_and_passed = set(passed)
        for key, entry in by_key.items():
            if key in matched:
                continue
            if entry.check in ran_and_passed:
                judgement.fixed.append(entry)
            else:
                judgement.unchecked.append(entry)
        return judgement


@dataclass
class Judgement:
    """A run's failures against a baseline."""

    new: list[Failure] = field(default_factory=list)
    known: list[tuple[Failure, Entry]] = field(default_factory=list)
    expired: list[tuple[Failure, Entry]] = field(default_factory=list)
    fixed: list[Entry] = field(default_factory=list)  # listed; the check ran and passed
    unchecked: list[Entry] = field(
        default_factory=list
    )  # listed; failed another way or did not run

    @property
    def failing(self) -> list[Failure]:
        """The failures that fail the run: new ones and expired known ones."""
        return [*self.new, *(f for f, _ in self.expired)]

    def extend(self, other: Judgement) -> None:
        self.new += other.new
        self.known += other.known
        self.expired += other.expired
        self.fixed += other.fixed
        self.unchecked += other.unchecked

    def to_dict(self) -> dict[str, Any]:
        return {
            "new": [{"check": f.check, "fingerprint": f.fingerprint} for f in self.new],
            "known": [e.to_dict() for _, e in self.known],
            "expired": [e.to_dict() for _, e in self.expired],
            "fixed": [e.to_dict() for e in self.fixed],
            "unchecked": [e.to_dict() for e in self.unchecked],
        }


def default_expiry(days: int = DEFAULT_DAYS) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


def failures_in_summary(summary: dict[str, Any]) -> list[Failure]:
    """The failures a report folder's ``summary.json`` records (contract checks and load SLOs)."""
    # Known failures are failures still: a baseline written again keeps them.
    listed = [*summary.get("failures", []), *summary.get("known", [])]
    out = [Failure(str(f["name"]), str(f.get("message", ""))) for f in listed]
    load = summary.get("load") or {}
    for slo in load.get("slos", []):
        if slo.get("passed") is False:
            out.append(Failure(LOAD_PREFIX + str(slo["name"]), f"{slo['name']} breached"))
    return out
