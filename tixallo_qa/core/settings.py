"""The one typed settings object that describes a target, built in one place.

Precedence: defaults < env file (``--env-file``) < environment (``TIXALLO_*``) < CLI flags.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tixallo_qa.core import signing
from tixallo_qa.core.redact import Secrets

PROFILES = ("smoke", "standard", "thorough")
# TIXALLO_CA_BUNDLE falls back to this variable, as OpenSSL-based clients do.
CA_FALLBACK = "SSL_CERT_FILE"
WEBHOOK_SCHEMES = signing.names()


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it and says how to fix it."""


@dataclass(frozen=True)
class _Spec:
    env: str
    attr: str
    kind: str  # "str", "int", "float", "bool", "keys", "choice"
    help: str
    secret: bool = False
    choices: tuple[str, ...] = ()


# Every TIXALLO_* setting, in the order a person reads them.
SETTINGS: tuple[_Spec, ...] = (
    _Spec(
        "TIXALLO_BASE_URL",
        "base_url",
        "str",
        "base URL of the deployment, e.g. https://tixallo.com/api/v1; unset = start the local reference deployment",
    ),
    _Spec(
        "TIXALLO_API_KEY",
        "api_keys",
        "keys",
        "key of the workspace under test; comma-separated for a pool of keys",
        secret=True,
    ),
    _Spec(
        "TIXALLO_OTHER_API_KEY",
        "other_api_key",
        "str",
        "a key of a second workspace (isolation checks)",
        secret=True,
    ),
    _Spec(
        "TIXALLO_REVOKED_API_KEY",
        "revoked_api_key",
        "str",
        "a revoked key (must get 401)",
        secret=True,
    ),
    _Spec(
        "TIXALLO_RATE_LIMIT_API_KEY",
        "rate_limit_api_key",
        "str",
        "a spare key the suite may exhaust to check 429 behaviour",
        secret=True,
    ),
    _Spec(
        "TIXALLO_MERGED_TICKET_ID",
        "merged_ticket_id",
        "str",
        "a ticket of the workspace that was merged into another",
    ),
    _Spec("TIXALLO_NOTED_TICKET_ID", "noted_ticket_id", "str", "a ticket holding an internal note"),
    _Spec(
        "TIXALLO_INTERNAL_NOTE_MARKER",
        "internal_note_marker",
        "str",
        "a string that appears only in that internal note",
        secret=True,
    ),
    _Spec(
        "TIXALLO_WEBHOOK_SECRET",
        "webhook_secret",
        "str",
        "signing secret of the webhook endpoint that points at the sink",
        secret=True,
    ),
    _Spec("TIXALLO_SINK_HOST", "sink_host", "str", "where the webhook sink listens"),
    _Spec("TIXALLO_SINK_PORT", "sink_port", "int", "port of the webhook sink"),
    _Spec("TIXALLO_SINK_PATH", "sink_path", "str", "path the sink receives deliveries on"),
    _Spec(
        "TIXALLO_SINK_TOKEN",
        "sink_token",
        "str",
        "token the sink's query API, marks, clear, faults and live page require "
        "(made and saved by 'tixallo-qa sink' when unset; deliveries need none)",
        secret=True,
    ),
    _Spec(
        "TIXALLO_SINK_TLS_CERT",
        "sink_tls_cert",
        "str",
        "certificate file (PEM) the sink serves HTTPS with; unset = plain http",
    ),
    _Spec(
        "TIXALLO_SINK_TLS_KEY", "sink_tls_key", "str", "private key file (PEM) of that certificate"
    ),
    _Spec(
        "TIXALLO_CA_BUNDLE",
        "ca_bundle",
        "str",
        "CA bundle file (PEM) that verifies the deployment's and the sink's HTTPS certificates; "
        "unset = SSL_CERT_FILE, else the system's CAs",
    ),
    _Spec(
        "TIXALLO_WEBHOOK_SCHEME",
        "webhook_scheme",
        "choice",
        "signature scheme the sink verifies",
        choices=WEBHOOK_SCHEMES,
    ),
    _Spec(
        "TIXALLO_WEBHOOK_TOLERANCE",
        "webhook_tolerance",
        "float",
        "seconds a webhook timestamp may differ from the sink's clock",
    ),
    _Spec(
        "TIXALLO_WEBHOOK_SHARED",
        "webhook_shared",
        "bool",
        "the sink's endpoint also receives events the suite did not cause (turns off the unexpected-event check)",
    ),
    _Spec(
        "TIXALLO_WEBHOOK_TIMEOUT", "webhook_timeout", "float", "seconds an event may take to arrive"
    ),
    _Spec(
        "TIXALLO_RATE_LIMIT",
        "rate_limit",
        "int",
        "requests per minute per key the deployment enforces (0 = none)",
    ),
    _Spec(
        "TIXALLO_RATE_WINDOW",
        "rate_window",
        "float",
        "seconds of the deployment's rate-limit window, as its 429s must state it (default 60)",
    ),
    _Spec("TIXALLO_PROFILE", "profile", "choice", "how many generated examples", choices=PROFILES),
    _Spec(
        "TIXALLO_REQUEST_TIMEOUT", "request_timeout", "float", "seconds one API request may take"
    ),
    _Spec(
        "TIXALLO_REPORT_DIR", "report_dir", "str", "folder that receives one report folder per run"
    ),
)
_BY_ENV = {s.env: s for s in SETTINGS}
_BY_ATTR = {s.attr: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """A target and how to test it. Secrets are kept out of ``repr``."""

    base_url: str | None = None
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    other_api_key: str | None = field(default=None, repr=False)
    revoked_api_key: str | None = field(default=None, repr=False)
    rate_limit_api_key: str | None = field(default=None, repr=False)
    merged_ticket_id: str | None = None
    noted_ticket_id: str | None = None
    internal_note_marker: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    sink_host: str = "127.0.0.1"
    sink_port: int = 8787
    sink_path: str = "/webhooks/tixallo"
    sink_token: str | None = field(default=None, repr=False)
    sink_tls_cert: str | None = None
    sink_tls_key: str | None = None
    ca_bundle: str | None = None
    webhook_scheme: str = "tixallo"
    webhook_tolerance: float = 300.0
    webhook_shared: bool = False
    webhook_timeout: float = 10.0
    rate_limit: int = 60
    rate_window: float = 60.0
    profile: str = "standard"
    request_timeout: float = 10.0
    report_dir: str = "reports"

    @property
    def embedded(self) -> bool:
        """No target configured: the local reference deployment and sink are started and tested."""
        return self.base_url is None

    @property
    def webhook_verifiable(self) -> bool:
        """A sink can verify deliveries: the endpoint's secret is set, or the scheme needs none."""
        return bool(self.webhook_secret) or not signing.get(self.webhook_scheme).needs_secret

    @property
    def api_key(self) -> str | None:
        """The first key of the pool."""
        return self.api_keys[0] if self.api_keys else None

    @property
    def sink_url(self) -> str:
        """Base URL of the sink (no path); https when it serves TLS."""
        scheme = "https" if self.sink_tls_cert else "http"
        host = f"[{self.sink_host}]" if ":" in self.sink_host else self.sink_host
        return f"{scheme}://{host}:{self.sink_port}"

    @property
    def secrets(self) -> Secrets:
        """Every secret value, for redaction (its repr names only how many)."""
        values: list[str] = list(self.api_keys)
        for spec in SETTINGS:
            if spec.secret and spec.kind != "keys":
                value = getattr(self, spec.attr)
                if value:
                    values.append(value)
        return Secrets(v for v in values if v)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """The settings as ``TIXALLO_*`` variables, for child processes (pytest, locust workers)."""
        env: dict[str, str] = {}
        for spec in SETTINGS:
            value = getattr(self, spec.attr)
            if value is None or value == ():
                continue
            if spec.kind == "keys":
                env[spec.env] = ",".join(value)
            elif spec.kind == "bool":
                env[spec.env] = "true" if value else "false"
            else:
                env[spec.env] = str(value)
        return env

    def missing(self, *attrs: str) -> list[str]:
        """The ``TIXALLO_*`` names of the given settings that are not set."""
        return [_BY_ATTR[a].env for a in attrs if getattr(self, a) in (None, (), "")]


def parse_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a ``KEY=value`` file (comments, blank lines, ``export`` and quotes allowed)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(
            f"env file {p}: cannot be read ({exc.strerror}): pass an existing file to --env-file"
        ) from None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].strip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SettingsError(
                f"env file {p}, line {number}: expected NAME=value: fix or remove that line"
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def set_in_env_file(path: str | os.PathLike[str], name: str, value: str) -> None:
    """Set ``name=value`` in an env file (replacing its line or appending one); the file is 0600."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    lines = p.read_text(encoding="utf-8").splitlines() if p.exists() else []
    kept = [
        line
        for line in lines
        if line.strip().removeprefix("export ").partition("=")[0].strip() != name
    ]
    kept.append(f"{name}={value}")
    # Created private: the file holds a secret from its first byte.
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(kept) + "\n")


def _convert(spec: _Spec, raw: str, origin: str) -> Any:
    raw = raw.strip()
    if spec.kind == "str":
        return raw or None
    if spec.kind == "keys":
        return tuple(k.strip() for k in raw.split(",") if k.strip())
    if spec.kind == "bool":
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("", "0", "false", "no", "off"):
            return False
        raise SettingsError(
            f"{spec.env}={raw!r} ({origin}) is not a boolean: set it to true or false"
        )
    if spec.kind == "choice":
        if raw not in spec.choices:
            raise SettingsError(
                f"{spec.env}={raw!r} ({origin}) is not one of {', '.join(spec.choices)}: set it to one of those"
            )
        return raw
    try:
        number = int(raw) if spec.kind == "int" else float(raw)
    except ValueError:
        kind = "an integer" if spec.kind == "int" else "a number"
        raise SettingsError(
            f"{spec.env}={raw!r} ({origin}) is not {kind}: set it to {kind}"
        ) from None
    return number


def _validate(s: Settings) -> None:
    if s.base_url is not None:
        parts = urlsplit(s.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(
                f"TIXALLO_BASE_URL={s.base_url!r} is not an http(s) URL: set it like https://tixallo.com/api/v1"
            )
    if not 0 <= s.sink_port <= 65535:
        raise SettingsError(
            f"TIXALLO_SINK_PORT={s.sink_port} is not a port: use 1-65535 (0 = any free port)"
        )
    if s.rate_limit < 0:
        raise SettingsError(
            f"TIXALLO_RATE_LIMIT={s.rate_limit} is negative: use the per-key limit per minute, or 0 for none"
        )
    for attr in ("webhook_timeout", "request_timeout", "webhook_tolerance", "rate_window"):
        if getattr(s, attr) <= 0:
            raise SettingsError(f"{_BY_ATTR[attr].env}={getattr(s, attr)} must be positive")
    if not s.sink_path.startswith("/"):
        raise SettingsError(f"TIXALLO_SINK_PATH={s.sink_path!r} must start with '/'")
    if bool(s.sink_tls_cert) != bool(s.sink_tls_key):
        given, missing = (
            ("TIXALLO_SINK_TLS_CERT", "TIXALLO_SINK_TLS_KEY")
            if s.sink_tls_cert
            else ("TIXALLO_SINK_TLS_KEY", "TIXALLO_SINK_TLS_CERT")
        )
        raise SettingsError(
            f"{given} is set but {missing} is not: set both (the certificate and its key) to serve HTTPS, or neither"
        )
    for attr in ("sink_tls_cert", "sink_tls_key", "ca_bundle"):
        path = getattr(s, attr)
        if path and not Path(path).is_file():
            raise SettingsError(
                f"{_BY_ATTR[attr].env}={path!r} is not a file: set it to an existing PEM file"
            )


def load_settings(
    *,
    env_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings: defaults < env file < environment < overrides (CLI flags, by attribute)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    layers: list[tuple[str, Mapping[str, str]]] = []
    if env_file is not None:
        layers.append((f"from {env_file}", parse_env_file(env_file)))
    layers.append(("from the environment", environ))
    for origin, layer in layers:
        for name, raw in layer.items():
            spec = _BY_ENV.get(name)
            if spec is not None:
                values[spec.attr] = _convert(spec, raw, origin)
    for attr, value in (overrides or {}).items():
        if value is None:
            continue
        spec = _BY_ATTR[attr]
        values[attr] = (
            _convert(spec, value, "from the command line") if isinstance(value, str) else value
        )
    if "ca_bundle" not in values and environ.get(CA_FALLBACK):
        # The usual OpenSSL variable, honoured everywhere a TLS client is made (one setting).
        fallback = environ[CA_FALLBACK].strip()
        if not Path(fallback).is_file():
            raise SettingsError(
                f"{CA_FALLBACK}={fallback!r} (used because TIXALLO_CA_BUNDLE is not set) is not a file: "
                "set TIXALLO_CA_BUNDLE to the CA bundle to trust, or fix or unset SSL_CERT_FILE"
            )
        values["ca_bundle"] = fallback
    settings = Settings(**values)
    _validate(settings)
    return settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--env-file`` and one flag per setting (``TIXALLO_BASE_URL`` -> ``--base-url``)."""
    group = parser.add_argument_group("target settings (flags override TIXALLO_* variables)")
    group.add_argument("--env-file", metavar="PATH", help="read TIXALLO_* settings from this file")
    for spec in SETTINGS:
        flag = "--" + spec.env[len("TIXALLO_") :].lower().replace("_", "-")
        group.add_argument(flag, dest=f"setting_{spec.attr}", metavar=spec.env, help=spec.help)


def from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from parsed CLI arguments (see ``add_arguments``)."""
    overrides = {
        spec.attr: getattr(args, f"setting_{spec.attr}", None)
        for spec in SETTINGS
        if getattr(args, f"setting_{spec.attr}", None) is not None
    }
    return load_settings(
        env_file=getattr(args, "env_file", None), environ=environ, overrides=overrides
    )


def format_env(settings: Settings, *, reveal: bool = False) -> str:
    """Settings as ``export`` lines; secrets are shown only with ``reveal`` (writing an env file)."""
    lines = []
    for name, value in settings.to_env().items():
        if _BY_ENV[name].secret and not reveal:
            value = "<redacted>"
        lines.append(f"{name}={value}")
    return "\n".join(lines)
