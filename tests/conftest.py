"""Shared fixtures: servers start once per session and are cleared per test."""

from __future__ import annotations

pytest_plugins = ["tixallo_qa.reference.testing", "tixallo_qa.webhook_sink.testing"]
