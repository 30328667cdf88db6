"""The reference deployment's settings: one frozen dataclass, plus the endpoints config file."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tixallo_qa.core import signing
from tixallo_qa.core.events import EVENT_OF

DEFAULT_RETRIES: tuple[float, ...] = (1.0, 5.0, 25.0)
# What an endpoint subscribes to by default: every event the deployment fires.
EVENT_TYPES = tuple(EVENT_OF.values())


class ConfigError(ValueError):
    """Bad configuration; the message is one line naming the setting and the fix."""


@dataclass(frozen=True)
class EndpointConfig:
    """A webhook endpoint declared in a config file (the Tixallo app's webhook settings)."""

    workspace: str
    url: str
    secret: str
    events: tuple[str, ...] = EVENT_TYPES
    active: bool = True


@dataclass(frozen=True)
class ServerConfig:
    """How one reference deployment runs."""

    host: str = "127.0.0.1"
    port: int = 8000
    db_path: str = ":memory:"
    rate_limit: int = 60  # requests per window per key; 0 = off
    rate_window: float = 60  # seconds; 429 answers show it rounded up to whole seconds
    faults: tuple[str, ...] = ()
    webhook_timeout: float = 10.0
    webhook_retries: tuple[float, ...] = DEFAULT_RETRIES
    webhook_scheme: str = signing.DEFAULT  # how the dispatcher signs (tixallo_qa.core.signing)
    config_file: str | None = None
    ready_file: str | None = None
    endpoints: tuple[EndpointConfig, ...] = field(default=())
    # HTTPS: the certificate and key it serves; the CA bundle its dispatcher verifies https
    # webhook receivers with (None: the system's CAs).
    tls_cert: str | None = None
    tls_key: str | None = None
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("--tls-cert and --tls-key go together: give both to serve HTTPS")
        for flag, path in (
            ("--tls-cert", self.tls_cert),
            ("--tls-key", self.tls_key),
            ("--ca-bundle", self.ca_bundle),
        ):
            if path and not Path(path).is_file():
                raise ConfigError(f"{flag} {path}: no such file; give an existing PEM file")
        if self.rate_limit < 0:
            raise ConfigError(
                f"--rate-limit {self.rate_limit}: use a positive number, or 0 for none"
            )
        if not self.rate_window > 0:
            raise ConfigError(f"--rate-window {self.rate_window}: use a positive number of seconds")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port {self.port}: use 1-65535, or 0 for any free port")
        if self.webhook_scheme not in signing.names():
            raise ConfigError(
                f"--webhook-scheme {self.webhook_scheme!r}: use one of {', '.join(signing.names())}"
            )
        if any(r < 0 for r in self.webhook_retries):
            raise ConfigError("--webhook-retries: delays must be >= 0 seconds")


def parse_retries(text: str) -> tuple[float, ...]:
    """``"1,5,25"`` -> ``(1.0, 5.0, 25.0)``; an empty string means no retry."""
    try:
        return tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise ConfigError(
            f"--webhook-retries {text!r}: use comma-separated seconds, e.g. 1,5,25"
        ) from None


def load_endpoints(path: str) -> tuple[EndpointConfig, ...]:
    """Read ``[[endpoints]]`` (TOML) or ``{"endpoints": [...]}`` (JSON) from ``path``."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"config file {p}: cannot be read ({exc.strerror})") from None
    try:
        data: Any = tomllib.loads(raw.decode()) if p.suffix == ".toml" else json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"config file {p}: not valid {p.suffix.lstrip('.') or 'JSON'}: {first}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("endpoints", []), list):
        raise ConfigError(f"config file {p}: expected an object with an 'endpoints' list")
    out = []
    for i, item in enumerate(data.get("endpoints", [])):
        where = f"config file {p}, endpoints[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected an object")
        for key in ("workspace", "url", "secret"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise ConfigError(f"{where}: '{key}' must be a non-empty string")
        events = item.get("events", list(EVENT_TYPES))
        if not isinstance(events, list) or any(e not in EVENT_TYPES for e in events):
            raise ConfigError(f"{where}: 'events' must be a list of {', '.join(EVENT_TYPES)}")
        if not str(item["url"]).startswith(("http://", "https://")):
            raise ConfigError(f"{where}: 'url' must be an http(s) URL")
        out.append(
            EndpointConfig(
                workspace=item["workspace"],
                url=item["url"],
                secret=item["secret"],
                events=tuple(events),
                active=bool(item.get("active", True)),
            )
        )
    return tuple(out)
