"""Shared fixtures: servers start once per session and are cleared per test."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tixallo_qa.reference.testing", "tixallo_qa.webhook_sink.testing"]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ``TIXALLO_*`` variable of the machine running the tests reaches the test."""
    for name in list(os.environ):
        if name.startswith("TIXALLO_"):
            monkeypatch.delenv(name)
    return monkeypatch
