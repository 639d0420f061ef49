"""What goes wrong: each error the mock injects is caught by the client, and the mock
refuses what the real provider would refuse."""

from __future__ import annotations

import pytest
from sso_support import (
    CITIZEN_ID,
    REDIRECT_URI,
    authorize,
    headless_callback,
    query,
    sso_settings,
)

from govlink.core.errors import AuthenticationError, GovLinkError, SignatureError, TransportError
from govlink.sso import (
    AsyncSsoClient,
    LoginStateError,
    SsoClient,
    SsoProviderError,
    TokenVerificationError,
)
from govlink.testing._handle import MockAdminError


@pytest.fixture
def sso(govlink_mock):
    with SsoClient(sso_settings(govlink_mock)) as client:
        yield client


def login_error(sso: SsoClient, identity: str = CITIZEN_ID) -> GovLinkError:
    login = sso.begin_login(REDIRECT_URI)
    with pytest.raises(GovLinkError) as info:
        sso.finish_login(headless_callback(login, identity), login.state)
    return info.value


# --- injected errors ----------------------------------------------------------------------------


def test_access_denied_at_authorize(govlink_mock, sso):
    govlink_mock.switch("sso", deny_access=True)
    login = sso.begin_login(REDIRECT_URI)
    response = authorize(login.url, headers={"X-Mock-Login": CITIZEN_ID})
    callback = response.headers["location"]
    assert query(callback)["error"] == "access_denied"
    with pytest.raises(SsoProviderError) as info:
        sso.finish_login(callback, login.state)
    assert isinstance(info.value, AuthenticationError)
    assert info.value.error == "access_denied"
    assert "mock switch deny_access" in str(info.value)


@pytest.mark.parametrize(
    ("switches", "rule"),
    [
        ({"bad_signature": True}, "signature"),
        ({"bad_signature": "unknown_kid"}, "kid"),
        ({"wrong_alg": True}, "alg"),
        ({"wrong_alg": "none"}, "alg"),
        ({"expired_token": True}, "exp"),
        ({"wrong_nonce": True}, "nonce"),
        ({"wrong_audience": True}, "aud"),
        ({"wrong_audience": "multiple"}, "azp"),
    ],
)
def test_bad_id_tokens_are_refused(govlink_mock, sso, switches, rule):
    govlink_mock.switch("sso", **switches)
    error = login_error(sso)
    assert isinstance(error, TokenVerificationError)
    assert isinstance(error, SignatureError)
    assert error.rule == rule


async def test_bad_id_tokens_are_refused_async(govlink_mock):
    govlink_mock.switch("sso", wrong_nonce=True)
    async with AsyncSsoClient(sso_settings(govlink_mock)) as sso:
        login = await sso.begin_login(REDIRECT_URI)
        with pytest.raises(TokenVerificationError) as info:
            await sso.finish_login(headless_callback(login), login.state)
    assert info.value.rule == "nonce"


def test_userinfo_500_is_a_transport_error(govlink_mock, sso):
    govlink_mock.switch("sso", userinfo_500=True)
    error = login_error(sso)
    assert isinstance(error, TransportError)
    assert "500" in str(error)


@pytest.mark.parametrize("mode", [True, "drop"])
def test_key_rotation_is_followed(govlink_mock, sso, mode):
    login = sso.begin_login(REDIRECT_URI)
    first = sso.finish_login(headless_callback(login), login.state)
    govlink_mock.switch("sso", rotate_keys=mode)
    login = sso.begin_login(REDIRECT_URI)
    second = sso.finish_login(headless_callback(login), login.state)
    assert first.tokens.id_token
    assert second.tokens.id_token
    import jwt

    assert (
        jwt.get_unverified_header(first.tokens.id_token)["kid"]
        != jwt.get_unverified_header(second.tokens.id_token)["kid"]
    )
    jwks_fetches = govlink_mock.journal(platform="sso", path="/sso/oauth2/jwks")
    assert len(jwks_fetches) == 2  # cached, then refetched once for the new key


def test_unknown_switch_is_refused(govlink_mock):
    with pytest.raises(MockAdminError) as info:
        govlink_mock.switch("sso", wrong_signature=True)
    assert "bad_signature" in str(info.value)  # the message lists the known switches
    with pytest.raises(MockAdminError):
        govlink_mock.switch("sso", wrong_alg="RS512")


# --- what the mock refuses, like the real provider ---------------------------------------


def test_unregistered_redirect_uri_is_refused_at_authorize(sso):
    login = sso.begin_login("https://evil.example/callback")
    response = authorize(login.url, headers={"X-Mock-Login": CITIZEN_ID})
    assert response.status_code == 400
    assert "callback" in response.text.lower()
    assert "location" not in response.headers


def test_loopback_redirects_follow_the_switch(govlink_mock, sso):
    login = sso.begin_login("http://127.0.0.1:54321/some/callback")
    assert authorize(login.url, headers={"X-Mock-Login": CITIZEN_ID}).status_code == 302
    govlink_mock.switch("sso", allow_loopback_redirects=False)
    login = sso.begin_login("http://127.0.0.1:54321/some/callback")
    assert authorize(login.url, headers={"X-Mock-Login": CITIZEN_ID}).status_code == 400
    # the exactly registered URI still works
    login = sso.begin_login(REDIRECT_URI)
    assert authorize(login.url, headers={"X-Mock-Login": CITIZEN_ID}).status_code == 302


def test_reused_code_is_refused_and_revokes_its_tokens(sso):
    login = sso.begin_login(REDIRECT_URI)
    callback = headless_callback(login)
    first = sso.finish_login(callback, login.state)
    with pytest.raises(SsoProviderError) as info:
        sso.finish_login(callback, login.state)
    assert info.value.error == "invalid_grant"
    assert info.value.status_code == 400
    assert "Inactive authorization code" in str(info.value)
    assert not sso.introspect(first.tokens.access_token).active


def test_expired_code_is_refused(govlink_mock, sso):
    login = sso.begin_login(REDIRECT_URI)
    callback = headless_callback(login)
    govlink_mock.advance_clock(61)
    with pytest.raises(SsoProviderError) as info:
        sso.finish_login(callback, login.state)
    assert info.value.error == "invalid_grant"
    assert "Expired" in str(info.value)


def test_bad_pkce_verifier_is_refused(sso):
    login = sso.begin_login(REDIRECT_URI)
    callback = headless_callback(login)
    tampered = login.state.model_copy(update={"code_verifier": "x" * 64})
    with pytest.raises(SsoProviderError) as info:
        sso.finish_login(callback, tampered)
    assert info.value.error == "invalid_grant"
    assert "PKCE" in str(info.value)


def test_redirect_uri_must_match_at_the_token_endpoint(sso):
    login = sso.begin_login(REDIRECT_URI)
    callback = headless_callback(login)
    moved = login.state.model_copy(update={"redirect_uri": "http://localhost:8000/callback"})
    with pytest.raises(SsoProviderError) as info:
        sso.finish_login(callback, moved)
    assert "Callback url mismatch" in str(info.value)


@pytest.mark.parametrize("style", ["client_secret_post", "client_secret_basic"])
def test_wrong_client_secret_is_refused(govlink_mock, style):
    settings = sso_settings(govlink_mock, auth={"style": style, "client_secret": "wrong"})
    with SsoClient(settings) as sso:
        error = login_error(sso)
    assert isinstance(error, SsoProviderError)
    assert error.error == "invalid_client"
    assert error.status_code == 401
    assert "GOVLINK_SSO__AUTH__CLIENT_ID" in str(error)


def test_user_declining_consent(govlink_mock, sso):
    import httpx

    login = sso.begin_login(REDIRECT_URI)
    with httpx.Client(trust_env=False) as browser:
        page = browser.get(login.url, follow_redirects=True)
        key = page.url.params["sessionDataKey"]
        browser.post(
            govlink_mock.base_url + "/sso/commonauth",
            data={"sessionDataKey": key, "identity": CITIZEN_ID},
        )
        back = browser.post(
            govlink_mock.base_url + "/sso/oauth2/authorize",
            data={"sessionDataKeyConsent": key, "consent": "deny"},
        )
    with pytest.raises(SsoProviderError) as info:
        sso.finish_login(back.headers["location"], login.state)
    assert info.value.error == "access_denied"


def test_unknown_test_identity_in_the_shortcut(sso):
    login = sso.begin_login(REDIRECT_URI)
    response = authorize(login.url, headers={"X-Mock-Login": "999999999999"})
    with pytest.raises(SsoProviderError) as info:
        sso.finish_login(response.headers["location"], login.state)
    assert info.value.error == "login_required"


def test_forged_callback_state_is_refused(sso):
    login = sso.begin_login(REDIRECT_URI)
    callback = headless_callback(login).replace(login.state.state, "forged")
    with pytest.raises(LoginStateError):
        sso.finish_login(callback, login.state)
