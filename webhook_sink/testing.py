"""Pytest fixtures for the webhook sink (filled in by its owner)."""
