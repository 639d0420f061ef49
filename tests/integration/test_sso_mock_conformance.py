"""The mock identity provider as a strict relying party sees it.

Discovery is checked the way OpenID Connect Discovery §4 and RFC 8414 §3.3 ask a
relying party to: the document is fetched from ``<issuer>/.well-known/openid-
configuration`` and must name exactly that issuer. Most checks use plain httpx
(no govlink code), so they hold for any client.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

import httpx
import pytest
from sso_support import (
    CITIZEN_ID,
    REDIRECT_URI,
    authorize,
    headless_callback,
    query,
    sso_settings,
)

from govlink.sso import SsoClient

CLIENT_ID = "govlink-demo"


def _discover(issuer: str) -> httpx.Response:
    with httpx.Client(trust_env=False) as http:
        return http.get(issuer.rstrip("/") + "/.well-known/openid-configuration")


def _authorize_url(metadata: dict[str, object], **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        **extra,
    }
    return str(httpx.URL(str(metadata["authorization_endpoint"]), params=params))


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _exchange(metadata: dict[str, object], code: str, verifier: str | None) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "client_secret": "demo-secret",
    }
    if verifier is not None:
        form["code_verifier"] = verifier
    with httpx.Client(trust_env=False) as http:
        return http.post(str(metadata["token_endpoint"]), data=form)


def test_discovery_from_the_documented_issuer_names_that_issuer(govlink_mock) -> None:
    issuer = govlink_mock.base_url + "/sso"
    reply = _discover(issuer)
    assert reply.status_code == 200
    metadata = reply.json()
    assert metadata["issuer"] == issuer
    verifier, challenge = _pkce()
    callback = authorize(
        _authorize_url(metadata, code_challenge=challenge, code_challenge_method="S256"),
        headers={"X-Mock-Login": CITIZEN_ID},
    ).headers["location"]
    tokens = _exchange(metadata, query(callback)["code"], verifier)
    assert tokens.status_code == 200, tokens.text
    id_token = tokens.json()["id_token"]
    payload = id_token.split(".")[1]
    claims = httpx.Response(200, content=base64.urlsafe_b64decode(payload + "==")).json()
    assert claims["iss"] == issuer


def test_the_wso2_issuer_is_discovered_below_the_token_endpoint(govlink_mock) -> None:
    govlink_mock.switch("sso", issuer="wso2")
    issuer = govlink_mock.base_url + "/sso/oauth2/token"
    reply = _discover(issuer)
    assert reply.status_code == 200
    assert reply.json()["issuer"] == issuer
    # no document that would name another issuer than its location
    assert _discover(govlink_mock.base_url + "/sso").status_code == 404


def test_the_govlink_client_discovers_either_issuer_style(govlink_mock) -> None:
    for style, suffix in (("root", "/sso"), ("wso2", "/sso/oauth2/token")):
        govlink_mock.switch("sso", issuer=style)
        with SsoClient(sso_settings(govlink_mock)) as sso:
            login = sso.begin_login(REDIRECT_URI)
            result = sso.finish_login(headless_callback(login), login.state)
        assert result.id_claims["iss"] == govlink_mock.base_url + suffix


def test_require_pkce_refuses_an_authorization_request_without_s256(govlink_mock) -> None:
    govlink_mock.switch("sso", require_pkce=True)
    metadata = _discover(govlink_mock.base_url + "/sso").json()
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    refused = authorize(_authorize_url(metadata), headers={"X-Mock-Login": CITIZEN_ID})
    assert refused.status_code == 302
    assert query(refused.headers["location"])["error"] == "invalid_request"
    plain = authorize(
        _authorize_url(metadata, code_challenge="x" * 43, code_challenge_method="plain"),
        headers={"X-Mock-Login": CITIZEN_ID},
    )
    assert query(plain.headers["location"])["error"] == "invalid_request"
    verifier, challenge = _pkce()
    accepted = authorize(
        _authorize_url(metadata, code_challenge=challenge, code_challenge_method="S256"),
        headers={"X-Mock-Login": CITIZEN_ID},
    )
    code = query(accepted.headers["location"])["code"]
    assert _exchange(metadata, code, verifier).status_code == 200


@pytest.mark.parametrize("enabled", [True, False])
def test_iss_parameter_on_authorization_responses(govlink_mock, enabled: bool) -> None:
    govlink_mock.switch("sso", iss_parameter=enabled)
    issuer = govlink_mock.base_url + "/sso"
    metadata = _discover(issuer).json()
    assert metadata.get("authorization_response_iss_parameter_supported", False) is enabled
    _, challenge = _pkce()
    ok = authorize(
        _authorize_url(metadata, code_challenge=challenge, code_challenge_method="S256"),
        headers={"X-Mock-Login": CITIZEN_ID},
    )
    denied = authorize(_authorize_url(metadata, response_type="token"))
    for reply in (ok, denied):
        params = query(reply.headers["location"])
        assert params.get("iss") == (issuer if enabled else None)


def test_unknown_issuer_style_is_refused(govlink_mock) -> None:
    with pytest.raises(Exception, match="issuer"):
        govlink_mock.switch("sso", issuer="keycloak")
