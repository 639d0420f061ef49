"""Endpoints: discovery when offered, configuration (WSO2 defaults) when not."""

from __future__ import annotations

import httpx
import pytest
import respx
from sso_testkit import BASE, ISSUER, FakeProvider, sso_settings

from govlink.core.errors import TransportError
from govlink.sso import SsoClient


def test_discovery_document_is_used_when_offered():
    provider = FakeProvider({"keys": []})
    provider.router.get("/.well-known/openid-configuration").respond(
        200,
        json={
            "issuer": "https://id.example/oauth2/token",
            "authorization_endpoint": "https://id.example/auth",
            "token_endpoint": "https://id.example/tok",
            "userinfo_endpoint": "https://id.example/me",
            "jwks_uri": "https://id.example/keys",
            "end_session_endpoint": "https://id.example/bye",
            "id_token_signing_alg_values_supported": ["RS256"],
        },
    )
    with SsoClient(sso_settings(), transport=provider.transport()) as sso:
        metadata = sso.discover()
        sso.discover()
    assert metadata.source.startswith("discovery")
    assert metadata.issuer == "https://id.example/oauth2/token"
    assert metadata.authorization_endpoint == "https://id.example/auth"
    assert metadata.token_endpoint == "https://id.example/tok"
    # not in the document: the WSO2 default under the configured base URL
    assert metadata.introspection_endpoint == BASE + "/oauth2/introspect"
    assert provider.count("/.well-known/openid-configuration") == 1  # cached


def test_wso2_location_below_the_issuer_is_tried_second():
    provider = FakeProvider({"keys": []}, discovery=False)
    provider.router.get("/oauth2/token/.well-known/openid-configuration").respond(
        200, json={"issuer": ISSUER, "jwks_uri": BASE + "/jwks2"}
    )
    with SsoClient(sso_settings(), transport=provider.transport()) as sso:
        metadata = sso.discover()
    assert metadata.jwks_uri == BASE + "/jwks2"
    assert "oauth2/token/.well-known" in metadata.source


def test_without_discovery_the_wso2_defaults_are_used():
    provider = FakeProvider({"keys": []}, discovery=False)
    with SsoClient(sso_settings(), transport=provider.transport()) as sso:
        metadata = sso.discover()
    assert metadata.source == "configuration"
    assert metadata.issuer == BASE + "/oauth2/token"
    assert metadata.authorization_endpoint == BASE + "/oauth2/authorize"
    assert metadata.token_endpoint == BASE + "/oauth2/token"
    assert metadata.userinfo_endpoint == BASE + "/oauth2/userinfo"
    assert metadata.introspection_endpoint == BASE + "/oauth2/introspect"
    assert metadata.revocation_endpoint == BASE + "/oauth2/revoke"
    assert metadata.end_session_endpoint == BASE + "/oidc/logout"
    assert metadata.jwks_uri == BASE + "/oauth2/jwks"


def test_explicit_paths_and_issuer_win_over_discovery():
    provider = FakeProvider({"keys": []})
    settings = sso_settings(
        paths={"token": "/gateway/token", "logout": "https://other.example/logout"},
        options={"issuer": "https://issuer.example"},
    )
    with SsoClient(settings, transport=provider.transport()) as sso:
        metadata = sso.discover()
    assert metadata.token_endpoint == BASE + "/gateway/token"
    assert metadata.end_session_endpoint == "https://other.example/logout"
    assert metadata.issuer == "https://issuer.example"
    assert metadata.authorization_endpoint == BASE + "/oauth2/authorize"


def test_discovery_can_be_switched_off():
    provider = FakeProvider({"keys": []})
    settings = sso_settings(options={"discovery": False})
    with SsoClient(settings, transport=provider.transport()) as sso:
        assert sso.discover().source == "configuration"
    assert provider.calls == []


def test_unknown_path_name_is_a_configuration_error():
    from govlink.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        SsoClient(sso_settings(paths={"tokens": "/x"}))
    assert info.value.setting == "GOVLINK_SSO__PATHS__TOKENS"


def test_unreachable_provider_is_a_transport_error():
    with respx.mock(assert_all_called=True) as provider, SsoClient(sso_settings()) as sso:
        provider.route(host="sso.example.gov.vn").mock(
            side_effect=httpx.ConnectError("connection refused")
        )
        with pytest.raises(TransportError):
            sso.discover()
