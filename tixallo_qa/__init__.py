"""tixallo-qa: contract, webhook and load testing for the Tixallo v1 API."""

from __future__ import annotations

from tixallo_qa.core.settings import Settings, SettingsError, load_settings

__all__ = ["Settings", "SettingsError", "load_settings"]
