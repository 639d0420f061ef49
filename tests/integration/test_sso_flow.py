"""The whole login against the mock identity provider, sync and async."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sso_support import (
    CITIZEN_ID,
    ORGANISATION_ID,
    REDIRECT_URI,
    authorize,
    headless_callback,
    query,
    sso_settings,
)

from govlink import GovLink
from govlink.sso import (
    AsyncSsoClient,
    CitizenIdentity,
    OrganisationIdentity,
    SsoClient,
    SsoProviderError,
)


def test_citizen_logs_in_sync(govlink_mock):
    with SsoClient(sso_settings(govlink_mock)) as sso:
        login = sso.begin_login(REDIRECT_URI, acr_values="LoA2")
        result = sso.finish_login(headless_callback(login), login.state.model_dump())
    identity = result.identity
    assert isinstance(identity, CitizenIdentity)
    assert identity.id_number == CITIZEN_ID
    assert identity.full_name == "NGUYỄN VĂN AN"
    assert identity.birth_date_value is not None
    assert identity.birth_date_value.isoformat() == "1985-03-12"
    assert identity.level_of_assurance == "LoA2"
    assert identity.permanent_address is not None
    assert identity.permanent_address.province_code == "01"
    assert result.id_claims["nonce"] == login.state.nonce
    assert result.id_claims["acr"] == "LoA2"
    assert result.id_claims["iss"] == govlink_mock.base_url + "/sso"
    assert result.tokens.refresh_token
    assert CITIZEN_ID not in repr(result)


async def test_organisation_logs_in_async(govlink_mock):
    async with AsyncSsoClient(sso_settings(govlink_mock)) as sso:
        login = await sso.begin_login(REDIRECT_URI)
        callback = headless_callback(login, ORGANISATION_ID)
        result = await sso.finish_login(callback, login.state)
    identity = result.identity
    assert isinstance(identity, OrganisationIdentity)
    assert identity.enterprise_code == ORGANISATION_ID
    assert identity.name == "CÔNG TY TNHH PHẦN MỀM MẪU GOVLINK"
    assert identity.account_type == "2"


def test_login_hint_with_prompt_none_is_the_documented_shortcut(govlink_mock):
    with SsoClient(sso_settings(govlink_mock)) as sso:
        login = sso.begin_login(REDIRECT_URI, extra={"login_hint": CITIZEN_ID, "prompt": "none"})
        response = authorize(login.url)
        assert response.status_code == 302
        result = sso.finish_login(response.headers["location"], login.state)
    assert result.identity.subject == CITIZEN_ID


def test_facade_exposes_the_sso_client(govlink_mock):
    with GovLink(sso_settings(govlink_mock)) as gl:
        login = gl.sso.begin_login(REDIRECT_URI)
        assert gl.sso.finish_login(headless_callback(login), login.state).identity.is_citizen


def test_the_interactive_login_page_flow(govlink_mock):
    """Login page, pick a seeded citizen, consent: the steps a person clicks through."""
    with SsoClient(sso_settings(govlink_mock)) as sso, httpx.Client(trust_env=False) as browser:
        login = sso.begin_login(REDIRECT_URI)
        page = browser.get(login.url, follow_redirects=True)
        assert page.status_code == 200
        assert "NGUYỄN VĂN AN" in page.text
        assert "CÔNG TY TNHH PHẦN MỀM MẪU GOVLINK" in page.text
        key = page.url.params["sessionDataKey"]
        consent = browser.post(
            govlink_mock.base_url + "/sso/commonauth",
            data={"sessionDataKey": key, "identity": CITIZEN_ID},
            follow_redirects=True,
        )
        assert "Đồng ý" in consent.text
        back = browser.post(
            govlink_mock.base_url + "/sso/oauth2/authorize",
            data={"sessionDataKeyConsent": key, "consent": "approve"},
        )
        assert back.status_code == 302
        result = sso.finish_login(back.headers["location"], login.state)
        assert result.identity.subject == CITIZEN_ID
        # the provider now has a session: prompt=none logs in without any page
        again = sso.begin_login(REDIRECT_URI, extra={"prompt": "none"})
        silent = browser.get(again.url)
        assert silent.status_code == 302
        assert "code" in query(silent.headers["location"])


def test_custom_identity_typed_on_the_login_page(govlink_mock):
    with SsoClient(sso_settings(govlink_mock)) as sso, httpx.Client(trust_env=False) as browser:
        login = sso.begin_login(REDIRECT_URI)
        page = browser.get(login.url, follow_redirects=True)
        key = page.url.params["sessionDataKey"]
        browser.post(
            govlink_mock.base_url + "/sso/commonauth",
            data={
                "sessionDataKey": key,
                "custom": "1",
                "loai": "citizen",
                "so_dinh_danh": "079199000777",
                "ho_va_ten": "Võ Thị Tùy Chỉnh",
                "ngay_sinh": "1999-09-09",
                "gioi_tinh": "Nữ",
            },
        )
        back = browser.post(
            govlink_mock.base_url + "/sso/oauth2/authorize",
            data={"sessionDataKeyConsent": key, "consent": "approve"},
        )
        result = sso.finish_login(back.headers["location"], login.state)
    assert isinstance(result.identity, CitizenIdentity)
    assert result.identity.id_number == "079199000777"
    assert result.identity.full_name == "VÕ THỊ TÙY CHỈNH"
    assert result.identity.gender == "Nữ"


def test_refresh_introspect_revoke(govlink_mock):
    with SsoClient(sso_settings(govlink_mock)) as sso:
        login = sso.begin_login(REDIRECT_URI)
        tokens = sso.finish_login(headless_callback(login), login.state).tokens
        assert tokens.refresh_token
        info = sso.introspect(tokens.access_token)
        assert info.active
        assert info.client_id == "govlink-demo"
        assert info.sub == CITIZEN_ID
        assert info.exp is not None
        assert info.exp > time.time()

        renewed = sso.refresh(tokens)
        assert renewed.access_token != tokens.access_token
        assert renewed.id_token  # verified by refresh()
        assert not sso.introspect(tokens.access_token).active  # the old pair is gone
        with pytest.raises(SsoProviderError) as info_error:
            sso.refresh(tokens)  # refresh tokens rotate
        assert info_error.value.error == "invalid_grant"

        assert sso.userinfo(renewed.access_token).subject == CITIZEN_ID
        sso.revoke(renewed.access_token)
        assert not sso.introspect(renewed.access_token).active
        with pytest.raises(SsoProviderError) as after:
            sso.userinfo(renewed.access_token)
        assert after.value.error == "invalid_token"
        assert renewed.refresh_token
        with pytest.raises(SsoProviderError):
            sso.refresh(renewed)  # revoking the access token revoked its pair


async def test_refresh_introspect_revoke_async(govlink_mock):
    async with AsyncSsoClient(sso_settings(govlink_mock)) as sso:
        login = await sso.begin_login(REDIRECT_URI)
        tokens = (await sso.finish_login(headless_callback(login), login.state)).tokens
        assert tokens.refresh_token
        renewed = await sso.refresh(tokens)
        assert (await sso.introspect(renewed.access_token)).active
        await sso.revoke(renewed.access_token)
        assert not (await sso.introspect(renewed.access_token)).active


def test_logout_ends_the_session_and_returns(govlink_mock):
    with SsoClient(sso_settings(govlink_mock)) as sso:
        login = sso.begin_login(REDIRECT_URI)
        result = sso.finish_login(headless_callback(login), login.state)
        assert result.tokens.id_token
        assert govlink_mock.state()["sso"]["sessions"]
        url = sso.logout_url(result.tokens.id_token, "http://127.0.0.1:8000/", state="bye")
    response = authorize(url)
    assert response.status_code == 302
    assert response.headers["location"] == "http://127.0.0.1:8000/?state=bye"
    assert govlink_mock.state()["sso"]["sessions"] == []


def test_logout_without_state_returns_to_the_exact_address(govlink_mock):
    with SsoClient(sso_settings(govlink_mock)) as sso:
        login = sso.begin_login(REDIRECT_URI)
        id_token = sso.finish_login(headless_callback(login), login.state).tokens.id_token
        assert id_token
        to_app = authorize(sso.logout_url(id_token, "http://127.0.0.1:8000/"))
        assert to_app.headers["location"] == "http://127.0.0.1:8000/"
        page = authorize(sso.logout_url(id_token))  # nowhere to return: the provider's page
        assert page.status_code == 200
        assert "đăng xuất" in page.text


def test_logout_to_an_unregistered_address_is_refused(govlink_mock):
    with SsoClient(sso_settings(govlink_mock)) as sso:
        login = sso.begin_login(REDIRECT_URI)
        result = sso.finish_login(headless_callback(login), login.state)
        assert result.tokens.id_token
        url = sso.logout_url(result.tokens.id_token, "https://evil.example/")
    response = authorize(url)
    assert response.status_code == 400
    assert "not registered" in response.text


@pytest.mark.parametrize("style", ["client_secret_basic", "client_secret_post"])
def test_client_secret_styles(govlink_mock, style):
    with SsoClient(sso_settings(govlink_mock, auth={"style": style})) as sso:
        login = sso.begin_login(REDIRECT_URI)
        assert sso.finish_login(headless_callback(login), login.state).identity.is_citizen


def test_private_key_jwt(govlink_mock, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "client.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    govlink_mock.switch("sso", client_jwks={"keys": [{**jwk, "kid": "client-1", "use": "sig"}]})
    auth = {
        "style": "private_key_jwt",
        "client_secret": None,
        "private_key_file": str(path),
        "extra": {"kid": "client-1"},
    }
    with SsoClient(sso_settings(govlink_mock, auth=auth)) as sso:
        login = sso.begin_login(REDIRECT_URI)
        result = sso.finish_login(headless_callback(login), login.state)
        assert result.identity.subject == CITIZEN_ID
        assert sso.introspect(result.tokens.access_token).active

    # a key the mock does not know is refused
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with SsoClient(sso_settings(govlink_mock, auth=auth)) as sso:
        login = sso.begin_login(REDIRECT_URI)
        with pytest.raises(SsoProviderError) as info:
            sso.finish_login(headless_callback(login), login.state)
    assert info.value.error == "invalid_client"


def test_mock_discovery_and_jwks_are_public(govlink_mock):
    with SsoClient(sso_settings(govlink_mock)) as sso:
        metadata = sso.discover()
    assert metadata.source.startswith("discovery")
    keys = httpx.get(metadata.jwks_uri, trust_env=False).json()["keys"]
    assert keys
    assert all(k["kty"] == "RSA" and "d" not in k for k in keys)
    assert jwt.PyJWK(keys[0]).key.key_size == 2048


def test_mock_summary_counts_codes_tokens_and_sessions(govlink_mock):
    with SsoClient(sso_settings(govlink_mock)) as sso:
        login = sso.begin_login(REDIRECT_URI)
        sso.finish_login(headless_callback(login), login.state)
    summary = govlink_mock.state()["sso"]
    assert summary["codes_issued"] == 1
    assert summary["tokens_issued"] == 1
    assert summary["access_tokens_active"] == 1
    assert len(summary["sessions"]) == 1
