"""TLS of the load generator: locust's FastHttpUser verifies against ``TIXALLO_CA_BUNDLE``.

FastHttpUser does not verify certificates by default (``insecure = True``); a load run against a
real HTTPS deployment must, with the same bundle as every other client of the project.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import gevent.ssl


def context_factory(ca_bundle: str | None) -> Callable[..., Any]:
    """What geventhttpclient calls for a context (it passes its own ``cafile``: ours wins)."""

    def make(cafile: str | None = None, **_: Any) -> Any:
        return gevent.ssl.create_default_context(cafile=ca_bundle or cafile)

    return make


def configure(user_classes: Iterable[type], ca_bundle: str | None) -> None:
    """Make every user class verify TLS against ``ca_bundle`` (None: the system's CAs)."""
    factory = staticmethod(context_factory(ca_bundle))
    for cls in user_classes:
        cls.insecure = False  # type: ignore[attr-defined]
        cls.ssl_context_factory = factory  # type: ignore[attr-defined]
