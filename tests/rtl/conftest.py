"""Fixtures of the RTL tests: build caches (the projects are in fixtures/projects.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """A private TRIGC_CACHE_DIR for one test."""
    path = tmp_path / "cache"
    monkeypatch.setenv("TRIGC_CACHE_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One cache for the tests that only need builds, so each design builds once."""
    return tmp_path_factory.mktemp("rtl-cache")
