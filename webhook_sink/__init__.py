"""The webhook sink: receives, verifies and stores Tixallo deliveries, and answers questions about them."""

from __future__ import annotations

from tixallo_qa.webhook_sink.client import Event, SinkClient
from tixallo_qa.webhook_sink.config import SinkConfig

__all__ = ["Event", "SinkClient", "SinkConfig"]
