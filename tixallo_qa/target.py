"""The running target: built once from ``Settings``, it is what every command tests.

With no ``TIXALLO_BASE_URL`` it starts the local reference deployment (seeded, on a free loopback
port) and a sink for its webhooks, as child processes. With one, it attaches to that deployment
and to the sink the settings name, starting a sink there when none answers and one can be
started. It holds the settings that describe what runs, the sink's client and the sink's last
record before this target was made (later records are this run's), splits the key pool between
phases, and stops exactly what it started.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from tixallo_qa.core.children import Child, ChildError
from tixallo_qa.core.children import start as start_child
from tixallo_qa.core.settings import Settings, load_settings
from tixallo_qa.webhook_sink.client import SinkClient

DEFAULT_POOL_SIZE = 200
# What the seeded reference deployment decides for itself, whatever the base settings say.
_SEEDED = (
    "TIXALLO_API_KEY", "TIXALLO_OTHER_API_KEY", "TIXALLO_REVOKED_API_KEY", "TIXALLO_RATE_LIMIT_API_KEY",
    "TIXALLO_MERGED_TICKET_ID", "TIXALLO_NOTED_TICKET_ID", "TIXALLO_INTERNAL_NOTE_MARKER",
    "TIXALLO_WEBHOOK_SECRET",
)  # fmt: skip
# "auto": use a sink that answers, else start one when it can verify (a secret, or scheme none);
# "required": the same, but no sink is an error; "off": no sink at all.
SinkPolicy = Literal["auto", "required", "off"]


class TargetError(RuntimeError):
    """The target cannot be started or reached as configured; the message says what to do."""


class SinkUnavailableError(TargetError):
    """A sink is required, none answers, and none can be started with these settings."""


def sink_answers(url: str, timeout: float = 1.0) -> bool:
    """Is a tixallo-qa sink answering at ``url``?"""
    try:
        return httpx.get(f"{url}/_sink/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Target:
    """What runs, how to reach it, and what to stop."""

    settings: Settings
    embedded: bool
    description: str
    workdir: Path
    sink: SinkClient | None = None
    baseline: int = 0  # the sink's last seq when this target was made
    started_sink: bool = False
    children: list[Child] = field(default_factory=list)
    _own_workdir: bool = False

    @classmethod
    def start(
        cls,
        settings: Settings,
        *,
        sink: SinkPolicy = "auto",
        faults: Sequence[str] = (),
        pool_size: int = DEFAULT_POOL_SIZE,
        rate_limit: int | None = None,
        rate_window: float = 60.0,
        webhook_retries: str | None = None,
        workdir: Path | None = None,
    ) -> Target:
        """Start (embedded) or attach to (configured) the target; raises ``TargetError``."""
        own = workdir is None
        workdir = Path(tempfile.mkdtemp(prefix="tixallo-target-")) if workdir is None else workdir
        workdir.mkdir(parents=True, exist_ok=True)
        target = cls(settings, settings.embedded, "", workdir, _own_workdir=own)
        try:
            if settings.embedded:
                target._start_reference(
                    settings,
                    with_sink=sink != "off",
                    faults=faults,
                    pool_size=pool_size,
                    rate_limit=settings.rate_limit if rate_limit is None else rate_limit,
                    rate_window=rate_window,
                    webhook_retries=webhook_retries,
                )
            else:
                if faults:
                    raise TargetError(
                        "faults can be planted only in the embedded reference deployment "
                        "(unset TIXALLO_BASE_URL)"
                    )
                target.description = str(settings.base_url)
                if sink != "off":
                    target._attach_sink(settings, required=sink == "required")
            if sink != "off" and sink_answers(target.settings.sink_url):
                target.sink = SinkClient(
                    target.settings.sink_url, timeout=max(10.0, target.settings.webhook_timeout)
                )
                target.baseline = int(target.sink.health().get("last_seq") or 0)
            return target
        except BaseException:
            target.stop()
            raise

    # -- starting --------------------------------------------------------------------------
    def _child(self, name: str, argv: Sequence[str], env: dict[str, str]) -> Child:
        try:
            child = start_child(name, argv, self.workdir, env=env)
        except ChildError as exc:
            raise TargetError(str(exc)) from None
        self.children.append(child)
        return child

    def _start_sink(self, settings: Settings, *, port: int | None = None) -> Child:
        argv = [
            "tixallo_qa.webhook_sink",
            "--port", str(settings.sink_port if port is None else port),
            "--db", str(self.workdir / "sink.sqlite3"),
        ]  # fmt: skip
        child = self._child("webhook sink", argv, settings.to_env())
        self.started_sink = True
        return child

    def _attach_sink(self, settings: Settings, *, required: bool) -> None:
        url = settings.sink_url
        if sink_answers(url):
            self.description += f", sink already running at {url}"
            return
        if not settings.webhook_verifiable:
            if required:
                raise SinkUnavailableError(
                    f"no webhook sink answers at {url} and none can be started without "
                    "TIXALLO_WEBHOOK_SECRET: set it (the secret of the endpoint pointing at the sink), "
                    "or start 'tixallo-qa sink'"
                )
            self.description += (
                ", no sink (TIXALLO_WEBHOOK_SECRET not set: webhook checks are skipped)"
            )
            return
        self._start_sink(settings)
        self.description += f", sink started at {url}"

    def _start_reference(
        self,
        base: Settings,
        *,
        with_sink: bool,
        faults: Sequence[str],
        pool_size: int,
        rate_limit: int,
        rate_window: float,
        webhook_retries: str | None,
    ) -> None:
        from tixallo_qa.reference.seed import seed  # the admin side of the reference deployment

        secret = secrets.token_urlsafe(32)
        sink_url: str | None = None
        sink_env: dict[str, str] = {}
        if with_sink:
            sink_settings = base.replace(sink_host="127.0.0.1", webhook_secret=secret)
            sink = self._start_sink(sink_settings, port=0)
            sink_url = f"http://127.0.0.1:{sink.port}"
            sink_env = {"TIXALLO_SINK_HOST": "127.0.0.1", "TIXALLO_SINK_PORT": str(sink.port)}
        db = self.workdir / "reference.sqlite3"
        fixtures = seed(
            str(db),
            sink_url=sink_url,
            webhook_secret=secret if with_sink else None,
            pool_size=pool_size,
            webhook_path=base.sink_path,
        )
        argv = [
            "tixallo_qa.reference", "serve",
            "--host", "127.0.0.1", "--port", "0", "--db", str(db),
            "--rate-limit", str(rate_limit), "--rate-window", str(rate_window),
            "--webhook-scheme", base.webhook_scheme,
        ]  # fmt: skip
        if webhook_retries:
            argv += ["--webhook-retries", webhook_retries]
        for fault in faults:
            argv += ["--fault", fault]
        reference = self._child("reference deployment", argv, {})
        described = {
            **{k: v for k, v in base.to_env().items() if k not in _SEEDED},
            **fixtures,
            **sink_env,
            "TIXALLO_BASE_URL": str(reference.info["base_url"]),
            "TIXALLO_RATE_LIMIT": str(rate_limit),
        }
        self.settings = load_settings(environ=described)
        self.description = f"embedded reference deployment at {self.settings.base_url}"

    # -- using -----------------------------------------------------------------------------
    def split_keys(self, share: int, *, keep: int) -> tuple[Settings, Settings] | None:
        """(the rest, the last ``share`` keys) when ``keep`` keys remain for the rest, else None.

        Each phase then has keys the other never spends, so both start with fresh budgets.
        """
        keys = self.settings.api_keys
        if share < 1 or len(keys) < share + keep:
            return None
        return (
            self.settings.replace(api_keys=keys[:-share]),
            self.settings.replace(api_keys=keys[-share:]),
        )

    def stop(self) -> None:
        """Stop what this target started (newest first) and remove its own working folder."""
        if self.sink is not None:
            self.sink.close()
            self.sink = None
        while self.children:
            self.children.pop().stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
