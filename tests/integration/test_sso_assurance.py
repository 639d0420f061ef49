"""Levels of assurance enforced, refresh for the same person, RFC 9207 and state first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sso_support import (
    CITIZEN_ID,
    ORGANISATION_ID,
    REDIRECT_URI,
    headless_callback,
    sso_settings,
)

import mock_servers
from govlink.sso import (
    AsyncSsoClient,
    InsufficientAssuranceError,
    LoginStateError,
    SsoClient,
    SsoProviderError,
    TokenVerificationError,
)

SEED_CITIZENS = json.loads(
    (Path(mock_servers.__file__).parent / "seed" / "citizens.json").read_text(encoding="utf-8")
)
SEED_CITIZEN = SEED_CITIZENS[0]


def test_a_login_weaker_than_requested_is_refused(govlink_mock) -> None:
    govlink_mock.switch("sso", acr="LoA1")  # the provider authenticates at LoA1 only
    with SsoClient(sso_settings(govlink_mock)) as sso:
        login = sso.begin_login(REDIRECT_URI, acr_values="LoA2")
        with pytest.raises(InsufficientAssuranceError) as info:
            sso.finish_login(headless_callback(login), login.state)
    assert info.value.required == "LoA2"
    assert info.value.actual == "LoA1"
    assert "LoA2 or higher is required" in str(info.value)


def test_the_account_level_caps_what_the_provider_grants(govlink_mock) -> None:
    # an account whose identity was verified at LoA1 only
    record = {**SEED_CITIZEN, "so_dinh_danh": "079200000009", "tech_id": None, "loa": "LoA1"}
    govlink_mock.load_seed(citizens=[*SEED_CITIZENS, record])
    try:
        with SsoClient(sso_settings(govlink_mock)) as sso:
            login = sso.begin_login(REDIRECT_URI, acr_values="LoA2")
            with pytest.raises(InsufficientAssuranceError):
                sso.finish_login(headless_callback(login, "079200000009"), login.state)
            weak_ok = sso.begin_login(REDIRECT_URI, acr_values="LoA1")
            result = sso.finish_login(headless_callback(weak_ok, "079200000009"), weak_ok.state)
    finally:
        govlink_mock.load_seed(citizens=SEED_CITIZENS)
    assert result.level == "LoA1"
    with pytest.raises(InsufficientAssuranceError):
        result.require_level("LoA2")  # a route that needs LoA2 refuses this session


def test_min_acr_option_applies_to_every_login(govlink_mock) -> None:
    govlink_mock.switch("sso", acr="LoA1")
    settings = sso_settings(govlink_mock, options={"min_acr": "LoA2", "acr_values": "LoA1"})
    with SsoClient(settings) as sso:
        login = sso.begin_login(REDIRECT_URI)
        with pytest.raises(InsufficientAssuranceError):
            sso.finish_login(headless_callback(login), login.state)


def test_a_strong_enough_login_passes_and_states_its_level(govlink_mock) -> None:
    with SsoClient(sso_settings(govlink_mock)) as sso:
        login = sso.begin_login(REDIRECT_URI, acr_values="LoA2")
        result = sso.finish_login(headless_callback(login), login.state)
    assert result.level == "LoA2"
    result.require_level("LoA1")
    result.require_level("LoA2")


async def test_async_login_enforces_the_level_too(govlink_mock) -> None:
    govlink_mock.switch("sso", acr="LoA1")
    async with AsyncSsoClient(sso_settings(govlink_mock)) as sso:
        login = await sso.begin_login(REDIRECT_URI, acr_values="LoA2")
        with pytest.raises(InsufficientAssuranceError):
            await sso.finish_login(headless_callback(login), login.state)


def test_refresh_refuses_tokens_for_another_person(govlink_mock) -> None:
    with SsoClient(sso_settings(govlink_mock)) as sso:
        citizen = sso.begin_login(REDIRECT_URI)
        first = sso.finish_login(headless_callback(citizen), citizen.state)
        other = sso.begin_login(REDIRECT_URI)
        second = sso.finish_login(headless_callback(other, ORGANISATION_ID), other.state)
        # a login result whose stored tokens were swapped for someone else's
        swapped = first.model_copy(update={"tokens": second.tokens})
        with pytest.raises(TokenVerificationError) as info:
            sso.refresh(swapped)
        assert info.value.rule == "sub"
        renewed = sso.refresh(first)  # the same person: fine
        assert renewed.id_token
        again = sso.refresh(renewed)  # a token set works too (its stored ID token says whom)
        assert again.access_token != renewed.access_token
        with pytest.raises(Exception, match="LoginResult or TokenSet"):
            sso.refresh(first.tokens.refresh_token)  # type: ignore[arg-type]


def test_rfc9207_a_callback_without_iss_is_refused(govlink_mock) -> None:
    govlink_mock.switch("sso", iss_parameter=True)
    with SsoClient(sso_settings(govlink_mock)) as sso:
        login = sso.begin_login(REDIRECT_URI)
        callback = headless_callback(login)
        assert "iss=" in callback
        stripped = "&".join(p for p in callback.split("&") if not p.startswith("iss="))
        with pytest.raises(LoginStateError, match="no iss parameter"):
            sso.finish_login(stripped, login.state)
        result = sso.finish_login(callback, login.state)
    assert result.identity.subject == CITIZEN_ID


def test_nothing_from_a_callback_is_used_before_its_state_is_verified(govlink_mock) -> None:
    with SsoClient(sso_settings(govlink_mock)) as sso:
        login = sso.begin_login(REDIRECT_URI)
        forged = f"{REDIRECT_URI}?error=access_denied&error_description=<b>call+0900</b>&state=x"
        with pytest.raises(LoginStateError) as info:
            sso.finish_login(forged, login.state)
        assert "<b>" not in str(info.value)
        genuine = f"{REDIRECT_URI}?error=access_denied&state={login.state.state}"
        with pytest.raises(SsoProviderError):
            sso.finish_login(genuine, login.state)
