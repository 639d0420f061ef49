"""Login start and callback handling, client authentication, request building."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sso_testkit import BASE, CLIENT_ID, ISSUER, FakeProvider, sso_settings

from govlink.core.errors import AuthenticationError, ConfigurationError, ValidationError
from govlink.sso import LoginState, LoginStateError, SsoClient, SsoProviderError
from govlink.sso._flow import (
    authorization_url,
    check_callback,
    new_login_state,
    parse_callback,
    pkce_challenge,
)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def client() -> SsoClient:
    provider = FakeProvider({"keys": []})
    return SsoClient(sso_settings(), transport=provider.transport())


def test_pkce_s256_matches_rfc7636_appendix_b():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_begin_login_builds_the_code_flow_url(client):
    login = client.begin_login("https://portal.example/callback")
    params = query(login.url)
    assert login.url.startswith(BASE + "/oauth2/authorize?")
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == "https://portal.example/callback"
    assert params["scope"] == "openid"
    assert params["acr_values"] == "LoA1"
    assert params["state"] == login.state.state
    assert params["nonce"] == login.state.nonce
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"] == pkce_challenge(login.state.code_verifier)
    assert 43 <= len(login.state.code_verifier) <= 128
    assert login.state.code_verifier not in login.url


def test_each_login_gets_fresh_secrets(client):
    a, b = client.begin_login("https://p.example/cb"), client.begin_login("https://p.example/cb")
    assert a.state.state != b.state.state
    assert a.state.nonce != b.state.nonce
    assert a.state.code_verifier != b.state.code_verifier
    assert len(a.state.state) >= 32


def test_acr_scope_and_extra_parameters(client):
    login = client.begin_login(
        "https://p.example/cb",
        acr_values="LoA2",
        scope="openid profile",
        extra={"prompt": "login", "ui_locales": "vi"},
    )
    params = query(login.url)
    assert params["acr_values"] == "LoA2"
    assert params["scope"] == "openid profile"
    assert params["prompt"] == "login"
    assert params["ui_locales"] == "vi"


def test_acr_can_be_left_out(client):
    assert "acr_values" not in query(client.begin_login("https://p.example/cb", acr_values="").url)


@pytest.mark.parametrize("name", ["state", "nonce", "code_challenge", "redirect_uri", "client_id"])
def test_extra_cannot_override_security_parameters(client, name):
    with pytest.raises(ValidationError) as info:
        client.begin_login("https://p.example/cb", extra={name: "attacker"})
    assert name in str(info.value)


def test_scope_must_include_openid(client):
    with pytest.raises(ValidationError) as info:
        client.begin_login("https://p.example/cb", scope="profile")
    assert info.value.field == "scope"


@pytest.mark.parametrize(
    "uri", ["/callback", "ftp://p.example/cb", "https://p.example/cb#frag", "p.example/cb"]
)
def test_redirect_uri_must_be_absolute_http(client, uri):
    with pytest.raises(ValidationError):
        client.begin_login(uri)


def test_authorization_url_keeps_an_existing_query():
    state = new_login_state("https://p.example/cb", scope="openid", acr_values=None, now=0)
    url = authorization_url("https://idp.example/authorize?tenant=x", "c", state)
    assert url.startswith("https://idp.example/authorize?tenant=x&response_type=code")


def test_login_state_round_trips_through_a_session(client):
    login = client.begin_login("https://p.example/cb")
    stored = json.loads(json.dumps(login.state.model_dump()))  # what a cookie session does
    assert LoginState.coerce(stored) == login.state
    assert LoginState.coerce(login.state.model_dump_json()) == login.state
    assert login.state.code_verifier not in repr(login.state)


# --- the callback ------------------------------------------------------------------------------

SAVED = LoginState(
    state="expected-state-value",
    nonce="n",
    code_verifier="v" * 43,
    redirect_uri="https://p.example/cb",
    created_at=1000.0,
)


def test_callback_forms_are_accepted():
    url = "https://p.example/cb?code=abc&state=s1"
    assert parse_callback(url) == {"code": "abc", "state": "s1"}
    assert parse_callback("code=abc&state=s1") == {"code": "abc", "state": "s1"}
    assert parse_callback({"code": "abc", "state": ["s1"]}) == {"code": "abc", "state": "s1"}


def test_repeated_callback_parameters_are_refused():
    with pytest.raises(LoginStateError):
        parse_callback("https://p.example/cb?code=a&state=s&state=t")
    with pytest.raises(LoginStateError):
        parse_callback({"code": "a", "state": ["s", "t"]})


def test_good_callback_gives_the_code():
    params = {"code": "the-code", "state": SAVED.state}
    assert check_callback(params, SAVED, now=1010, login_timeout=600) == "the-code"


def test_provider_error_on_the_callback_is_an_authentication_error():
    params = {"error": "access_denied", "error_description": "User denied", "state": SAVED.state}
    with pytest.raises(SsoProviderError) as info:
        check_callback(params, SAVED, now=1010, login_timeout=600)
    error = info.value
    assert isinstance(error, AuthenticationError)
    assert error.error == "access_denied"
    assert error.error_description == "User denied"
    assert "access_denied" in str(error)
    assert "User denied" in str(error)


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"code": "c"}, "no state"),
        ({"code": "c", "state": "forged"}, "does not match"),
        ({"state": SAVED.state}, "neither a code"),
        ({"code": "c", "state": SAVED.state, "iss": "https://evil"}, "issuer"),
    ],
)
def test_callback_that_does_not_belong_to_this_login_is_refused(params, says):
    with pytest.raises(LoginStateError) as info:
        check_callback(params, SAVED, now=1010, login_timeout=600, issuer=ISSUER)
    assert says in str(info.value)


def test_stale_login_is_refused():
    with pytest.raises(LoginStateError) as info:
        check_callback({"code": "c", "state": SAVED.state}, SAVED, now=2000, login_timeout=600)
    assert "longer than 600" in str(info.value)


def test_finish_login_checks_state_before_any_request():
    provider = FakeProvider({"keys": []})
    sso = SsoClient(sso_settings(), transport=provider.transport())
    saved = sso.begin_login("https://p.example/cb").state
    with pytest.raises(LoginStateError):
        sso.finish_login("https://p.example/cb?code=c&state=forged", saved)
    assert provider.count("/oauth2/token") == 0


# --- client authentication at the token endpoint -------------------------------------------------


class TokenCapture(FakeProvider):
    def __init__(self) -> None:
        super().__init__({"keys": []})
        self.token_requests: list[httpx.Request] = []

        def token(request: httpx.Request) -> httpx.Response:
            self.token_requests.append(request)
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "x"})

        self.router.post("/oauth2/token").mock(side_effect=token)


def _exchange(settings) -> httpx.Request:
    provider = TokenCapture()
    with SsoClient(settings, transport=provider.transport()) as sso:
        login = sso.begin_login("https://p.example/cb")
        with pytest.raises(SsoProviderError):
            sso.finish_login({"code": "the-code", "state": login.state.state}, login.state)
        (request,) = provider.token_requests
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        assert form["grant_type"] == "authorization_code"
        assert form["code"] == "the-code"
        assert form["redirect_uri"] == "https://p.example/cb"
        assert form["code_verifier"] == login.state.code_verifier
        request.extensions["form"] = form
        return request


def test_client_secret_post_sends_credentials_in_the_form():
    request = _exchange(sso_settings())
    form = request.extensions["form"]
    assert form["client_id"] == CLIENT_ID
    assert form["client_secret"] == "s3cret"
    assert "authorization" not in request.headers


def test_client_secret_basic_sends_a_basic_header():
    request = _exchange(sso_settings(auth={"style": "client_secret_basic"}))
    assert "client_secret" not in request.extensions["form"]
    scheme, value = request.headers["authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(value).decode() == f"{CLIENT_ID}:s3cret"


def test_private_key_jwt_signs_an_assertion_for_the_token_endpoint(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = tmp_path / "client.pem"
    path.write_bytes(pem)
    settings = sso_settings(
        auth={
            "style": "private_key_jwt",
            "client_secret": None,
            "private_key_file": str(path),
            "extra": {"kid": "client-key-1"},
        }
    )
    form = _exchange(settings).extensions["form"]
    assert "client_secret" not in form
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assertion = form["client_assertion"]
    assert jwt.get_unverified_header(assertion)["kid"] == "client-key-1"
    claims = jwt.decode(
        assertion, key.public_key(), algorithms=["RS256"], audience=BASE + "/oauth2/token"
    )
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["exp"] - claims["iat"] <= 300
    assert claims["jti"]


def test_provider_errors_at_the_token_endpoint_say_what_to_do():
    provider = TokenCapture()
    with SsoClient(sso_settings(), transport=provider.transport()) as sso:
        login = sso.begin_login("https://p.example/cb")
        with pytest.raises(SsoProviderError) as info:
            sso.finish_login({"code": "c", "state": login.state.state}, login.state)
    error = info.value
    assert error.error == "invalid_grant"
    assert error.status_code == 400
    assert "start the login again" in str(error)
    assert error.correlation_id


@pytest.mark.parametrize(
    ("auth", "setting"),
    [
        ({"client_id": None}, "GOVLINK_SSO__AUTH__CLIENT_ID"),
        ({"client_secret": None}, "GOVLINK_SSO__AUTH__CLIENT_SECRET"),
        ({"style": "magic"}, "GOVLINK_SSO__AUTH__STYLE"),
        ({"style": "private_key_jwt"}, "GOVLINK_SSO__AUTH__PRIVATE_KEY_FILE"),
    ],
)
def test_configuration_mistakes_name_the_setting(auth, setting):
    with pytest.raises(ConfigurationError) as info:
        SsoClient(sso_settings(auth=auth))
    assert info.value.setting == setting


def test_unreadable_private_key_is_a_configuration_error(tmp_path):
    path = tmp_path / "not-a-key.pem"
    path.write_text("hello")
    settings = sso_settings(auth={"style": "private_key_jwt", "private_key_file": str(path)})
    with pytest.raises(ConfigurationError) as info:
        SsoClient(settings)
    assert "PEM" in str(info.value)


# --- other requests -----------------------------------------------------------------------------


def test_logout_url_carries_the_hint_and_where_to_return(client):
    url = client.logout_url("id.token.value", "https://p.example/", state="s1")
    assert url.startswith(BASE + "/oidc/logout?")
    assert query(url) == {
        "id_token_hint": "id.token.value",
        "post_logout_redirect_uri": "https://p.example/",
        "state": "s1",
    }


def test_userinfo_is_posted_with_a_bearer_token_by_default():
    provider = FakeProvider({"keys": []})
    seen: list[httpx.Request] = []

    def userinfo(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"sub": "x", "LoaiTaiKhoan": "2", "TenDoanhNghiep": "A"})

    provider.router.post("/oauth2/userinfo").mock(side_effect=userinfo)
    with SsoClient(sso_settings(), transport=provider.transport()) as sso:
        identity = sso.userinfo("at-123")
    assert seen[0].headers["authorization"] == "Bearer at-123"
    assert not identity.is_citizen
    assert identity.name == "A"


def test_userinfo_with_an_expired_token_is_an_authentication_error():
    provider = FakeProvider({"keys": []})
    provider.router.get("/oauth2/userinfo").respond(
        401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )
    settings = sso_settings(options={"userinfo_method": "GET"})
    with (
        SsoClient(settings, transport=provider.transport()) as sso,
        pytest.raises(SsoProviderError) as info,
    ):
        sso.userinfo("expired")
    assert info.value.error == "invalid_token"
    assert "refresh it or log in again" in str(info.value)


def test_login_timeout_is_configurable():
    provider = FakeProvider({"keys": []})
    sso = SsoClient(sso_settings(options={"login_timeout": 1}), transport=provider.transport())
    login = sso.begin_login("https://p.example/cb")
    stale = login.state.model_copy(update={"created_at": time.time() - 5})
    with pytest.raises(LoginStateError):
        sso.finish_login({"code": "c", "state": stale.state}, stale)
    sso.close()


def test_results_and_errors_carry_the_evidence_of_their_call():
    provider = FakeProvider({"keys": []})
    provider.router.post("/oauth2/userinfo").respond(
        200, json={"sub": "x", "LoaiTaiKhoan": "2", "TenDoanhNghiep": "A"}
    )
    with SsoClient(sso_settings(), transport=provider.transport()) as sso:
        identity = sso.userinfo("at-123")
        evidence = identity.evidence
        assert evidence is not None
        assert evidence.url is not None
        assert evidence.url.endswith("/oauth2/userinfo")
        assert evidence.status_code == 200
        assert {e.correlation_id for e in evidence.exchanges} == {evidence.correlation_id}
        assert "at-123" not in str(evidence.masked())  # the bearer token is not in it

        provider.router.post("/oauth2/userinfo").respond(401, json={"error": "invalid_token"})
        with pytest.raises(SsoProviderError) as info:
            sso.userinfo("expired")
    assert info.value.evidence.status_code == 401
    assert info.value.correlation_id == info.value.evidence.correlation_id
    assert info.value.evidence.correlation_id != evidence.correlation_id  # one id per call
