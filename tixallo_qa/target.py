"""The running target: built once from ``Settings``, it is what every command tests.

With no ``TIXALLO_BASE_URL`` it starts the local reference deployment (seeded, on a free loopback
port) and a sink for its webhooks, as child processes. With one, it attaches to that deployment
and to the sink the settings name, starting a sink there when none answers and one can be
started. It holds the settings that describe what runs, the sink's client and the sink's last
record before this target was made (later records are this run's), splits the key pool between
phases, and stops exactly what it started.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from tixallo_qa.core import clocks, exitcodes, reach, tls
from tixallo_qa.core.children import Child, ChildError
from tixallo_qa.core.children import start as start_child
from tixallo_qa.core.settings import Settings, load_settings
from tixallo_qa.webhook_sink.client import SinkClient

DEFAULT_POOL_SIZE = 200
# The embedded reference deployment's rate-limit window: 60 requests per key in 5 s, not per
# minute. The rate-limit checks read the window from the deployment's own answers
# (window_seconds, Retry-After), and the one that waits out a window then waits 5 s, beside
# the rest of the run, instead of a minute after it. Keys are still paced at the per-minute
# TIXALLO_RATE_LIMIT, well within what this window allows. ``tixallo-qa reference serve`` keeps
# the documented 60 s.
EMBEDDED_RATE_WINDOW = 5.0
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
    """The target cannot be started or reached as configured; the message says what to do.

    ``code`` is the exit code it means (``core.exitcodes``): 3 by default (infrastructure),
    2 when a setting is what has to change.
    """

    code = exitcodes.INFRASTRUCTURE

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class TargetUnreachableError(TargetError):
    """The deployment (or the sink) does not answer at all: refused, unresolvable, TLS, timeout."""


class SinkUnavailableError(TargetError):
    """A sink is required, none answers, and none can be started with these settings."""

    code = exitcodes.USAGE


def sink_status(
    url: str, *, token: str | None = None, ca_bundle: str | None = None, timeout: float = 1.0
) -> Literal["answers", "refuses", "none"]:
    """Does a tixallo-qa sink answer at ``url`` (with ``token``), refuse the token, or is none there?

    A TLS failure is no "none": starting a second sink there would only fail on the port, so it
    raises ``TargetUnreachableError`` with the line that names ``TIXALLO_CA_BUNDLE``.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else None
    try:
        response = httpx.get(
            f"{url}/_sink/health",
            headers=headers,
            timeout=timeout,
            verify=tls.client_context(ca_bundle),
            trust_env=False,
        )
    except httpx.HTTPError as exc:
        if tls.ssl_error(exc) is not None:
            raise TargetUnreachableError(
                reach.problem(
                    exc,
                    url,
                    what="the webhook sink",
                    setting="TIXALLO_SINK_HOST",
                    ca_bundle=ca_bundle,
                )
            ) from None
        return "none"
    if response.status_code == 200:
        return "answers"
    if response.status_code == 401:
        with contextlib.suppress(ValueError):
            if response.json().get("sink") == "tixallo-qa":
                return "refuses"
    return "none"


def sink_answers(
    url: str, timeout: float = 1.0, *, token: str | None = None, ca_bundle: str | None = None
) -> bool:
    """Is a tixallo-qa sink answering at ``url`` (and taking ``token``)?"""
    try:
        return sink_status(url, token=token, ca_bundle=ca_bundle, timeout=timeout) == "answers"
    except TargetError:
        return False


def sink_client(
    settings: Settings, *, url: str | None = None, timeout: float | None = None
) -> SinkClient:
    """The client of the sink ``settings`` describe (or at ``url``): its token, the CA bundle."""
    return SinkClient(
        url or settings.sink_url,
        timeout=timeout or max(10.0, settings.webhook_timeout),
        token=settings.sink_token,
        verify=tls.client_context(settings.ca_bundle),
    )


def probe_deployment(settings: Settings) -> reach.Answer:
    """One unauthenticated request to the deployment (401s cost no key's budget), or one line.

    Raises ``TargetUnreachableError`` (refused, unresolvable, TLS, no answer) within
    ``reach.PROBE_TIMEOUT`` seconds at most.
    """
    assert settings.base_url is not None
    try:
        return reach.probe(
            settings.base_url.rstrip("/") + "/tickets",
            ca_bundle=settings.ca_bundle,
            timeout=settings.request_timeout,
            shown=settings.base_url,
        )
    except reach.UnreachableError as exc:
        raise TargetUnreachableError(str(exc)) from None


def with_sink_token(settings: Settings) -> Settings:
    """``settings`` with a sink token: the configured one, else a new random one."""
    return (
        settings if settings.sink_token else settings.replace(sink_token=secrets.token_urlsafe(24))
    )


@dataclass
class Target:
    """What runs, how to reach it, and what to stop."""

    settings: Settings
    embedded: bool
    description: str
    workdir: Path
    sink: SinkClient | None = None
    baseline: int = 0  # the sink's last seq when this target was made
    children: list[Child] = field(default_factory=list)
    # The deployment's answer to the reachability probe, and the clock skew its Date showed.
    reached: reach.Answer | None = None
    clock: clocks.Skew | None = None
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
        rate_window: float = EMBEDDED_RATE_WINDOW,
        webhook_retries: str | None = None,
        workdir: Path | None = None,
        probe: bool = True,
    ) -> Target:
        """Start (embedded) or attach to (configured) the target; raises ``TargetError``.

        ``probe`` sends one unauthenticated request first (a deployment that does not answer
        raises ``TargetUnreachableError`` before anything starts) and reads its clock.
        """
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
                        "(unset TIXALLO_BASE_URL)",
                        code=exitcodes.USAGE,
                    )
                target.description = str(settings.base_url)
                # Before anything starts: a deployment that does not answer ends the run here.
                if probe:
                    target._probe()
                if sink != "off":
                    target._attach_sink(settings, required=sink == "required")
            current = target.settings
            if sink != "off" and sink_answers(
                current.sink_url, token=current.sink_token, ca_bundle=current.ca_bundle
            ):
                target.sink = sink_client(current)
                target.baseline = int(target.sink.health().get("last_seq") or 0)
            if settings.embedded and probe:
                target._probe()
            return target
        except BaseException:
            target.stop()
            raise

    # -- starting --------------------------------------------------------------------------
    def _probe(self) -> None:
        answer = probe_deployment(self.settings)
        self.reached = answer
        self.clock = clocks.from_date_header(answer.date, answer.sent_at, answer.received_at)

    def _child(self, name: str, argv: Sequence[str], env: dict[str, str]) -> Child:
        try:
            child = start_child(name, argv, self.workdir, env=env)
        except ChildError as exc:
            raise TargetError(str(exc)) from None
        self.children.append(child)
        return child

    def _start_sink(self, settings: Settings, *, port: int | None = None) -> Child:
        """A sink child with these settings (their token and TLS files; the token must be set)."""
        assert settings.sink_token, "a started sink always has a token (with_sink_token)"
        argv = [
            "tixallo_qa.webhook_sink",
            "--port", str(settings.sink_port if port is None else port),
            "--db", str(self.workdir / "sink.sqlite3"),
        ]  # fmt: skip
        # The token travels in the environment, never on the command line.
        child = self._child("webhook sink", argv, settings.to_env())
        return child

    def _attach_sink(self, settings: Settings, *, required: bool) -> None:
        url = settings.sink_url
        state = sink_status(url, token=settings.sink_token, ca_bundle=settings.ca_bundle)
        if state == "answers":
            self.description += f", sink already running at {url}"
            return
        if state == "refuses":
            raise TargetError(
                f"the webhook sink at {url} refuses "
                + ("TIXALLO_SINK_TOKEN" if settings.sink_token else "requests without a token")
                + " (401): set TIXALLO_SINK_TOKEN to the token that sink printed when it started "
                "(also saved in .tixallo/sink.env)",
                code=exitcodes.USAGE,
            )
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
        settings = with_sink_token(settings)
        self._start_sink(settings)
        # Children (the contract suite, locust) reach the sink with this token.
        self.settings = self.settings.replace(sink_token=settings.sink_token)
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
            sink_settings = with_sink_token(
                base.replace(sink_host="127.0.0.1", webhook_secret=secret)
            )
            sink = self._start_sink(sink_settings, port=0)
            sink_url = str(sink.info["url"])
            sink_env = {
                "TIXALLO_SINK_HOST": "127.0.0.1",
                "TIXALLO_SINK_PORT": str(sink.port),
                "TIXALLO_SINK_TOKEN": str(sink_settings.sink_token),
            }
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
        if base.ca_bundle:
            # An https sink: the dispatcher verifies it against the same CA bundle.
            argv += ["--ca-bundle", base.ca_bundle]
        for fault in faults:
            argv += ["--fault", fault]
        reference = self._child("reference deployment", argv, {})
        described = {
            **{k: v for k, v in base.to_env().items() if k not in _SEEDED},
            **fixtures,
            **sink_env,
            "TIXALLO_BASE_URL": str(reference.info["base_url"]),
            "TIXALLO_RATE_LIMIT": str(rate_limit),
            "TIXALLO_RATE_WINDOW": str(rate_window),
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
