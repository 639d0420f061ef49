"""Isolation for the population-database unit tests: no GOVLINK_* variable or .env."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from citizens_support import make_settings

from govlink.core.config import GovLinkSettings


@pytest.fixture(autouse=True)
def _clean_settings_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("GOVLINK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # GovLinkSettings reads ./.env


@pytest.fixture
def settings() -> GovLinkSettings:
    return make_settings()
