"""The webhook sink: receives, verifies and stores Tixallo deliveries, and answers questions about them."""

from __future__ import annotations

from webhook_sink.client import Event, SinkClient
from webhook_sink.config import SinkConfig

__all__ = ["Event", "SinkClient", "SinkConfig"]
