"""Helpers shared by the SSO integration tests (a login through the mock, headless)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from govlink.core.config import GovLinkSettings
from govlink.sso import LoginRequest
from govlink.testing._handle import MockHandle

REDIRECT_URI = "http://127.0.0.1:8000/callback"  # registered for govlink-demo in the seed
CITIZEN_ID = "001085000001"  # NGUYỄN VĂN AN, LoA2
ORGANISATION_ID = "0100000001"


def sso_settings(mock: MockHandle, **sso: Any) -> GovLinkSettings:
    """The mock profile, no retries (an injected 500 fails at once), SSO overrides."""
    return mock.settings(http={"max_retries": 0}, sso=sso)


def authorize(url: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
    """What the browser does with the authorization URL (redirects not followed)."""
    with httpx.Client(trust_env=False, follow_redirects=False) as browser:
        return browser.get(url, headers=headers)


def headless_callback(login: LoginRequest, identity: str = CITIZEN_ID) -> str:
    """Log ``identity`` in through the mock's shortcut; the callback URL it redirects to."""
    response = authorize(login.url, headers={"X-Mock-Login": identity})
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(login.state.redirect_uri), location
    return location


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
