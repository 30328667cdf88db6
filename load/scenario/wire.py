"""The HTTP every scenario request goes over: geventhttpclient's keep-alive pool, nothing in between.

Locust's ``FastHttpSession`` reaches that same pool through geventhttpclient's ``UserAgent``, which
on every request parses and re-quotes the URL, runs a cookie jar, watches for redirects and wraps
the answer twice: on loopback that was about a third of the generator's CPU per request
(bench/README.md, "Where the open model's cost is"), for nothing a Tixallo API client uses. A
``Wire`` writes the request on a pooled connection and reads the answer whole; the scenarios
report every request to locust themselves (``Pacer``), so its statistics stay as they were.

A ``Wire`` follows no redirect and retries nothing: a 3xx from an API is counted as what it is, and
a request the server broke off is a failure, not a second try (the pool still reopens a kept-alive
connection the server had closed before the request was written, as every HTTP client does).
geventhttpclient's ``HTTPClient.request`` resends a GET, PUT or DELETE the server hung up on, up to
the pool's size plus one times, inside one call: a reset read would be a slow success. So ``send``
writes on the pool itself, once.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from geventhttpclient import HTTPClient
from geventhttpclient.response import HTTPSocketPoolResponse

from tixallo_qa.load.scenario import tls

USER_AGENT = "tixallo-qa-load"
# What a browser or an SDK asks for; zlib decodes both (a server that compresses is measured
# compressing, as its real clients make it).
ACCEPT_ENCODING = "gzip, deflate"


class Answer(NamedTuple):
    """A whole answer: its status, its headers (``get`` ignores case) and its decoded body."""

    status: int
    headers: Any
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


def decode(content: bytes, encoding: str | None) -> bytes:
    """The body as sent before ``Content-Encoding`` (gzip or deflate; anything else as it came)."""
    if not encoding or not content:
        return content
    name = encoding.strip().lower()
    if name in ("gzip", "x-gzip"):
        return zlib.decompress(content, 16 + zlib.MAX_WBITS)
    if name == "deflate":
        try:
            return zlib.decompress(content)
        except zlib.error:  # raw deflate, as some servers send it
            return zlib.decompress(content, -zlib.MAX_WBITS)
    return content


class Wire:
    """Requests to one deployment over up to ``concurrency`` kept-alive connections."""

    def __init__(
        self,
        base_url: str,
        *,
        concurrency: int,
        timeout: float,
        ca_bundle: str | None = None,
        context_factory: Callable[..., Any] | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        # Paths are the API's own (``/tickets``): the deployment's prefix goes in front.
        self.prefix = parts.path.rstrip("/")
        self.client = HTTPClient.from_url(
            base_url,
            concurrency=max(1, concurrency),
            connection_timeout=timeout,
            network_timeout=timeout,
            ssl_context_factory=context_factory or tls.context_factory(ca_bundle),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
        )

    def send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer:
        """One request, its answer read whole; raises what the connection raised (no answer)."""
        client, body = self.client, body or b""
        head = client._build_request(method, self.prefix + path, body=body, headers=headers)
        pool = client._connection_pool
        sock = pool.get_socket()
        try:
            sock.sendall(head.encode("latin-1") + body)
        except BaseException:
            pool.release_socket(sock)
            raise
        # Reads the status line and headers; on failure it releases the socket itself.
        response = HTTPSocketPoolResponse(
            sock,
            pool,
            block_size=client.block_size,
            method=method,
            headers_type=client.headers_type,
        )
        try:
            content = response.read()
        finally:
            response.release()
        encoding = response.get("content-encoding")
        if encoding:
            content = decode(content, encoding if isinstance(encoding, str) else encoding[-1])
        return Answer(response.status_code, response, content)

    def close(self) -> None:
        self.client.close()
