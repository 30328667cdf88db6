"""The sink's one typed configuration, built from ``tixallo_qa.core.settings.Settings`` plus flags."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tixallo_qa.core import settings as _settings
from tixallo_qa.core import signing
from tixallo_qa.core.netutil import is_loopback_host
from tixallo_qa.core.settings import Settings, SettingsError
from tixallo_qa.core.signing.body_hmac import ENCODINGS

SCHEMES = _settings.WEBHOOK_SCHEMES
HMAC_ENCODINGS = ENCODINGS
SYNCHRONOUS = ("FULL", "NORMAL")
# Query API prefix: the delivery path may be anything but this (and "/", the live page).
API_PREFIX = "/_sink"


@dataclass(frozen=True)
class SinkConfig:
    """Where the sink listens, how it verifies, where it stores. The secret is kept out of ``repr``."""

    host: str = "127.0.0.1"
    port: int = 8787
    path: str = "/webhooks/tixallo"
    scheme: str = "tixallo"
    secret: str | None = field(default=None, repr=False)
    tolerance: float = 300.0
    max_body: int = 1024 * 1024
    # None: a temporary file that lives as long as the server (tests, throwaway runs).
    db_path: str | None = None
    hmac_header: str = "X-Signature"
    hmac_prefix: str = "sha256="
    hmac_encoding: str = "hex"
    # SQLite's synchronous level. FULL (the default) fsyncs each group commit before any delivery
    # of it is answered: an acknowledged delivery survives a power loss. NORMAL
    # (``--synchronous NORMAL``) writes each commit to the WAL without that fsync: it survives a
    # crash or kill of the sink process (the OS has the write), which is all a test sink needs,
    # but not a power loss. Measured (bench/sink_ingest.py, 2 CPUs): with the lean indexes the
    # fsync runs on the writer thread while the loop serves, and NORMAL gained nothing
    # measurable (x0.99-1.01), so the stronger default stays.
    synchronous: str = "FULL"
    max_batch: int = 2000
    # Everything but deliveries (the query API, marks, clear, faults, the live page) needs this
    # token when set; without one the sink may listen on loopback only.
    token: str | None = field(default=None, repr=False)
    tls_cert: str | None = None
    tls_key: str | None = None
    # Flood limits: an exposed sink answers 503 with Retry-After (the sender retries) rather than
    # fall behind or drop. Deliveries being read, verified or committed at once, in all and per
    # client address (one HTTP/1.1 connection carries one request at a time, so per address
    # bounds one sender's connections); the seconds a body may take to arrive (a trickled body
    # holds a slot); and open connections (uvicorn's own 503 past that).
    max_inflight: int = 512
    max_inflight_per_client: int = 128
    body_timeout: float = 10.0
    max_connections: int = 2048
    retry_after: int = 1

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def base_url(self) -> str:
        """Base URL of the sink (live page at ``/``, query API under ``/_sink/``)."""
        scheme = "https" if self.tls_cert else "http"
        return f"{scheme}://{_url_host(self.host)}:{self.port}"

    @property
    def webhook_url(self) -> str:
        """The URL Tixallo's webhook endpoint must point at."""
        return self.base_url + self.path

    def replace(self, **changes: Any) -> SinkConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SinkConfig:
        """The config a ``Settings`` describes; ``overrides`` (flags) win, ``None`` ones are ignored."""
        values: dict[str, Any] = {
            "host": settings.sink_host,
            "port": settings.sink_port,
            "path": settings.sink_path,
            "scheme": settings.webhook_scheme,
            "secret": settings.webhook_secret,
            "tolerance": settings.webhook_tolerance,
            "token": settings.sink_token,
            "tls_cert": settings.sink_tls_cert,
            "tls_key": settings.sink_tls_key,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _validate(c: SinkConfig) -> None:
    if c.scheme not in SCHEMES:
        raise SettingsError(
            f"TIXALLO_WEBHOOK_SCHEME={c.scheme!r} is not one of {', '.join(SCHEMES)}: set it to one of those"
        )
    if signing.get(c.scheme).needs_secret and not c.secret:
        raise SettingsError(
            "TIXALLO_WEBHOOK_SECRET is not set: set it to the signing secret of the Tixallo webhook "
            "endpoint (or use --webhook-scheme none to accept unsigned deliveries)"
        )
    if not 0 <= c.port <= 65535:
        raise SettingsError(
            f"TIXALLO_SINK_PORT={c.port} is not a port: use 1-65535 (0 = any free port)"
        )
    if not c.path.startswith("/") or c.path == "/" or c.path.startswith(API_PREFIX):
        raise SettingsError(
            f"TIXALLO_SINK_PATH={c.path!r} must start with '/' and be neither '/' (the live page) "
            f"nor under {API_PREFIX}/ (the query API)"
        )
    if c.tolerance <= 0:
        raise SettingsError(f"TIXALLO_WEBHOOK_TOLERANCE={c.tolerance} must be positive")
    if c.max_body < 1024:
        raise SettingsError(f"--max-body {c.max_body} is too small: use at least 1024 bytes")
    if c.hmac_encoding not in HMAC_ENCODINGS:
        raise SettingsError(
            f"--hmac-encoding {c.hmac_encoding!r} is not one of {', '.join(HMAC_ENCODINGS)}"
        )
    if not c.hmac_header.strip():
        raise SettingsError("--hmac-header must name a header, e.g. X-Signature")
    if c.synchronous not in SYNCHRONOUS:
        raise SettingsError(
            f"--synchronous {c.synchronous!r} is not one of {', '.join(SYNCHRONOUS)}"
        )
    if c.max_batch < 1:
        raise SettingsError("max_batch must be at least 1")
    if not c.token and not is_loopback_host(c.host):
        raise SettingsError(
            f"the sink would listen on {c.host} without TIXALLO_SINK_TOKEN, so anyone who reaches it "
            "could read, forge and wipe its records: set TIXALLO_SINK_TOKEN (or run 'tixallo-qa sink', "
            "which makes one), or listen on 127.0.0.1"
        )
    if bool(c.tls_cert) != bool(c.tls_key):
        raise SettingsError(
            "TIXALLO_SINK_TLS_CERT and TIXALLO_SINK_TLS_KEY go together: set both to serve HTTPS, or neither"
        )
    for name, value in (
        ("--max-inflight", c.max_inflight),
        ("--max-inflight-per-client", c.max_inflight_per_client),
        ("--max-connections", c.max_connections),
    ):
        if value < 1:
            raise SettingsError(f"{name} {value}: use 1 or more")
    if c.body_timeout <= 0:
        raise SettingsError(f"--body-timeout {c.body_timeout:g}: use a positive number of seconds")
    if c.retry_after < 0:
        raise SettingsError(f"retry_after {c.retry_after}: use 0 or more seconds")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``TIXALLO_*`` setting flags plus the sink's own (shared by ``tixallo-qa sink`` and ``-m``)."""
    _settings.add_arguments(parser)
    group = parser.add_argument_group("webhook sink")
    # Short aliases of --sink-host/--sink-port/--sink-path/--webhook-scheme (same destination).
    for alias, setting, note in (
        ("host", "sink_host", ""),
        ("port", "sink_port", " (0 = a free port)"),
        ("path", "sink_path", ""),
        ("scheme", "webhook_scheme", ""),
    ):
        flag = "--" + setting.replace("_", "-")
        group.add_argument(
            f"--{alias}",
            dest=f"setting_{setting}",
            metavar=alias.upper(),
            help=f"alias of {flag}{note}",
        )
    group.add_argument(
        "--db",
        metavar="PATH",
        help="SQLite file of the records (default: <report dir>/webhook-sink.sqlite3)",
    )
    group.add_argument(
        "--fresh", action="store_true", help="forget the records of earlier runs in that file"
    )
    group.add_argument(
        "--max-body", type=int, metavar="BYTES", help="largest accepted body (default 1 MiB)"
    )
    group.add_argument(
        "--hmac-header",
        metavar="NAME",
        help="signature header of the hmac scheme (default X-Signature)",
    )
    group.add_argument(
        "--hmac-prefix", metavar="TEXT", help="prefix of that header's value (default 'sha256=')"
    )
    group.add_argument(
        "--hmac-encoding",
        choices=HMAC_ENCODINGS,
        help="digest encoding of the hmac scheme (default hex)",
    )
    group.add_argument(
        "--synchronous",
        choices=SYNCHRONOUS,
        help="SQLite fsync level: FULL (default) fsyncs each group commit (survives a power "
        "loss); NORMAL survives a crash of the sink process only",
    )
    group.add_argument(
        "--max-inflight",
        type=int,
        metavar="N",
        help="deliveries handled at once before it answers 503 + Retry-After (default 512)",
    )
    group.add_argument(
        "--max-inflight-per-client",
        type=int,
        metavar="N",
        help="the same, per client address (default 128)",
    )
    group.add_argument(
        "--body-timeout",
        type=float,
        metavar="SECONDS",
        help="longest a delivery's body may take to arrive before 408 (default 10)",
    )
    group.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help="open connections before new requests get 503 (default 2048)",
    )
    group.add_argument(
        "--ready-file", metavar="PATH", help='write {"url": ..., "port": ...} here once listening'
    )


def from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> SinkConfig:
    """The config from parsed flags (see ``add_arguments``); a bad setting raises ``SettingsError``."""
    settings = _settings.from_args(args, environ=environ)
    db = getattr(args, "db", None) or str(Path(settings.report_dir) / "webhook-sink.sqlite3")
    return SinkConfig.from_settings(
        settings,
        db_path=db,
        max_body=getattr(args, "max_body", None),
        hmac_header=getattr(args, "hmac_header", None),
        hmac_prefix=getattr(args, "hmac_prefix", None),
        hmac_encoding=getattr(args, "hmac_encoding", None),
        synchronous=getattr(args, "synchronous", None),
        max_inflight=getattr(args, "max_inflight", None),
        max_inflight_per_client=getattr(args, "max_inflight_per_client", None),
        body_timeout=getattr(args, "body_timeout", None),
        max_connections=getattr(args, "max_connections", None),
    )
