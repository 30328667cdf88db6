"""The deployment under test: the configured one, or the local reference deployment started here."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tixallo_qa.core.settings import Settings


@dataclass
class Target:
    """Settings that describe the running target, and how to stop what was started for it."""

    settings: Settings
    description: str
    started_sink: bool = False
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        while self._stops:
            self._stops.pop()()


def start_target(settings: Settings) -> Target:
    """Start what ``settings`` leave to us: the whole reference deployment, or just a local sink."""
    from tixallo_qa import target as embedded

    if settings.embedded:
        running = embedded.start_embedded(settings)
        return Target(
            running.settings,
            f"embedded reference deployment at {running.settings.base_url}",
            _stops=[running.stop],
        )
    target = Target(settings, f"{settings.base_url}")
    # The webhook checks need a sink where the deployment's endpoint points; start one unless one answers.
    if (settings.webhook_secret or settings.webhook_scheme == "none") and not embedded.sink_is_up(
        settings.sink_url
    ):
        workdir = Path(tempfile.mkdtemp(prefix="tixallo-contracts-sink-"))
        sink = embedded.start_sink(
            workdir,
            secret=settings.webhook_secret,
            host=settings.sink_host,
            port=settings.sink_port,
            path=settings.sink_path,
            scheme=settings.webhook_scheme,
        )
        target.started_sink = True
        target._stops.append(sink.stop)
    return target
