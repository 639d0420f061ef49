"""Fixtures of the dossier unit tests: a fake adapter and settings pointing at it."""

from __future__ import annotations

import pytest
from _dvcqg_fake import BASE, FakePortal

from govlink.core.config import GovLinkSettings, mock_profile


@pytest.fixture
def portal() -> FakePortal:
    return FakePortal()


@pytest.fixture
def settings() -> GovLinkSettings:
    profile = mock_profile()
    profile["dossiers"]["base_url"] = BASE
    return GovLinkSettings.load(
        profile="mock", profile_file=None, **profile, http={"max_retries": 0}
    )
