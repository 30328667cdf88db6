"""Pytest fixtures for the reference deployment (filled in by its owner)."""
