"""Shared fixtures: servers start once per session and are cleared per test."""

from __future__ import annotations

pytest_plugins = ["reference.testing", "webhook_sink.testing"]
