"""Fixtures for the payment unit tests: a clean environment and settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from payments_fakes import make_settings

from govlink.core.config import GovLinkSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No GOVLINK_* variable or .env of the developer's machine leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("GOVLINK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings() -> GovLinkSettings:
    return make_settings()
