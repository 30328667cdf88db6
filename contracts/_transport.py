"""The one paced HTTP client: every request the suite sends, schemathesis' included, goes through it.

Requests name *who* sends them (an identity such as ``main`` or ``other``) with a placeholder
credential; the session picks a key of that identity's pool just before sending, waits for the
key's pacing slot, and waits out a 429 the suite's own traffic caused. Generated cases therefore
never hold a real key, and no request bypasses the per-key budget.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from tixallo_qa.contracts._breaker import Breaker
from tixallo_qa.contracts._exchanges import Exchange, ExchangeLog
from tixallo_qa.core.ratelimit import KeyPool, parse_retry_after

PLACEHOLDER_PREFIX = "tixallo-identity:"
MAIN = "main"
OTHER = "other"
# A 429 on a paced key is retried this many times before it is handed to the check as it is.
MAX_OWN_429_RETRIES = 3

Observer = Callable[[Exchange, requests.Response | None], None]


def placeholder(identity: str) -> str:
    """The credential that stands for "a key of ``identity``" until the request is sent."""
    return f"{PLACEHOLDER_PREFIX}{identity}"


def bearer(identity: str) -> str:
    return f"Bearer {placeholder(identity)}"


class PacedSession(requests.Session):
    """A ``requests.Session`` that fills in, paces and records the credentials of every request."""

    def __init__(
        self,
        pools: Mapping[str, KeyPool],
        log: ExchangeLog,
        *,
        timeout: float = 10.0,
        max_own_429_retries: int = MAX_OWN_429_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        labels: Mapping[str, str] | None = None,
        verify: str | bool = True,
        breaker: Breaker | None = None,
    ) -> None:
        super().__init__()
        # TIXALLO_CA_BUNDLE (``core.tls.requests_verify``); schemathesis passes the same.
        self.verify = verify
        # Stops every request at once when the target went away (``contracts._breaker``).
        self.breaker = breaker
        self.pools = dict(pools)
        self.log = log
        self.timeout = timeout
        self.max_own_429_retries = max_own_429_retries
        self._sleep = sleep
        self._key_identity = {key: name for name, pool in self.pools.items() for key in pool.keys}
        self.observers: list[Observer] = []
        # Names for known keys outside the pools (the spare rate-limit key...), for request counts only.
        self.labels = dict(labels or {})
        self._local = threading.local()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """As requests does, except that TIXALLO_CA_BUNDLE beats REQUESTS_CA_BUNDLE.

        requests lets those variables override ``Session.verify`` whenever a request does not
        pass ``verify`` itself; the one CA setting of the project must win.
        """
        # What the environment says of a host does not change during a run: asked once per
        # origin, not per request (requests re-reads the proxy variables for every one).
        cache_key = (urlsplit(str(url))[:2], repr(proxies), stream, repr(verify), repr(cert))
        merged = self._environment.get(cache_key)
        if merged is None:
            merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
            if verify is None or verify is True:
                merged["verify"] = self.verify
            self._environment[cache_key] = merged
        return {**merged, "proxies": dict(merged.get("proxies") or {})}

    @contextlib.contextmanager
    def raw_429(self) -> Iterator[None]:
        """Within this block a 429 is returned as it is (the rate-limit check wants to see it)."""
        previous = getattr(self._local, "raw_429", False)
        self._local.raw_429 = True
        try:
            yield
        finally:
            self._local.raw_429 = previous

    def _identity_of(self, authorization: str | None) -> tuple[str | None, str | None, str]:
        """(identity, fixed key or None, scheme) for an Authorization header value."""
        if not authorization:
            return None, None, ""
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if credential.startswith(PLACEHOLDER_PREFIX):
            name = credential[len(PLACEHOLDER_PREFIX) :]
            if name not in self.pools:
                raise KeyError(f"no key pool for identity {name!r}: its setting is missing")
            return name, None, scheme
        identity = self._key_identity.get(credential)
        return identity, (credential if identity else None), scheme

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        header = request.headers.get("Authorization")
        identity, fixed_key, scheme = self._identity_of(
            header.decode() if isinstance(header, bytes) else header
        )
        attempt = 0
        while True:
            if self.breaker is not None:
                self.breaker.check()
            prepared = request.copy()
            key = ""
            if identity is not None:
                pool = self.pools[identity]
                reservation = pool.reserve(fixed_key)
                if reservation.delay > 0:
                    self._sleep(reservation.delay)
                key = reservation.key
                prepared.headers["Authorization"] = f"{scheme} {key}" if scheme else key
            body = prepared.body
            raw = (
                body.encode()
                if isinstance(body, str)
                else body
                if isinstance(body, bytes)
                else None
            )
            headers = {
                k: v.decode("latin-1") if isinstance(v, bytes) else v
                for k, v in prepared.headers.items()
            }
            exchange = self.log.new(str(prepared.method), str(prepared.url), headers, raw)
            exchange.identity = identity or self._label(header)
            exchange.started_at = time.time()
            started = time.monotonic()
            try:
                response = super().send(prepared, **kwargs)
                response.content  # noqa: B018 - read now, so the record holds the body
            except requests.RequestException as exc:
                exchange.elapsed = time.monotonic() - started
                exchange.error = f"{type(exc).__name__}: {exc}"
                self._notify(exchange, None)
                if self.breaker is not None:
                    self.breaker.failure(exc)
                    self.breaker.check()
                raise
            if self.breaker is not None:
                self.breaker.success()
            exchange.elapsed = time.monotonic() - started
            exchange.status = response.status_code
            exchange.response_headers = dict(response.headers)
            exchange.response_body = response.content or b""
            retry = identity is not None and not getattr(self._local, "raw_429", False)
            if (
                response.status_code == 429
                and identity is not None
                and retry
                and attempt < self.max_own_429_retries
            ):
                # Our own pacing let too much through (or another client shares the key): rest the
                # key for Retry-After and resend; this is not the deployment's defect.
                exchange.own_429 = True
                self.pools[identity].penalize(
                    key, parse_retry_after(response.headers.get("Retry-After"))
                )
                attempt += 1
                continue
            self._notify(exchange, response)
            # Checks see the placeholder, not the key, wherever they print the request.
            response.request = request
            response.exchange = exchange  # type: ignore[attr-defined]
            return response

    def _label(self, authorization: str | bytes | None) -> str | None:
        if not authorization:
            return None
        text = (
            authorization.decode("latin-1") if isinstance(authorization, bytes) else authorization
        )
        return self.labels.get(text.partition(" ")[2].strip() or text.strip())

    def _notify(self, exchange: Exchange, response: requests.Response | None) -> None:
        for observer in list(self.observers):
            observer(exchange, response)


def exchange_of(response: requests.Response) -> Exchange:
    """The recorded exchange behind a response of the paced session."""
    exchange = getattr(response, "exchange", None)
    if not isinstance(exchange, Exchange):
        raise LookupError("this response was not sent through the paced session")
    return exchange


class ApiClient:
    """Small helper over the paced session for the named checks: paths relative to the base URL."""

    def __init__(self, base_url: str, session: PacedSession) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session

    def request(
        self,
        method: str,
        path: str,
        *,
        identity: str | None = MAIN,
        authorization: str | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send ``method path``; as ``identity`` unless ``authorization`` gives the header verbatim."""
        all_headers = {"Accept": "application/json"}
        if json is not None or data is not None:
            all_headers["Content-Type"] = "application/json"
        if authorization is not None:
            all_headers["Authorization"] = authorization
        elif identity is not None:
            all_headers["Authorization"] = bearer(identity)
        all_headers.update(headers or {})
        return self.session.request(
            method, self.base_url + path, json=json, data=data, params=params, headers=all_headers
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)
