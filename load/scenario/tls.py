"""TLS of the load generator: every ``Wire`` verifies the deployment against ``TIXALLO_CA_BUNDLE``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent.ssl


def context_factory(ca_bundle: str | None) -> Callable[..., Any]:
    """What geventhttpclient calls for a context (it passes its own ``cafile``: ours wins)."""

    def make(cafile: str | None = None, **_: Any) -> Any:
        return gevent.ssl.create_default_context(cafile=ca_bundle or cafile)

    return make
