"""Where a webhook endpoint points: a sink's root (``https://host:port``) or its full delivery URL."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class SinkUrl:
    """A ``--sink-url`` understood: the sink's root, its delivery path, and which form was given."""

    root: str
    path: str
    given_as_root: bool

    @property
    def delivery_url(self) -> str:
        return self.root + self.path

    def explain(self, flag: str = "--sink-url") -> str:
        """One line saying which form was used (a person can then tell a doubled path at once)."""
        if self.given_as_root:
            return f"{flag} is the sink's root: deliveries go to {self.delivery_url} (path {self.path})"
        return f"{flag} is a full delivery URL: deliveries go to {self.delivery_url} as given"


def parse(url: str, default_path: str) -> SinkUrl:
    """``url`` as the sink's root (no path: ``default_path`` is appended) or a full delivery URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"{url!r} is not an http(s) URL: give the sink's root, e.g. http://127.0.0.1:8787"
        )
    root = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    path = parts.path.rstrip("/")
    if not path:
        return SinkUrl(root, "/" + default_path.lstrip("/"), True)
    query = f"?{parts.query}" if parts.query else ""
    return SinkUrl(root, path + query, False)
