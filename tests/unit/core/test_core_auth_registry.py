"""The auth registry: styles checked when settings load, gateways stacked in front of a
platform's own auth, the Ho Chi Minh City and Hà Giang gateway styles."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import httpx
import pytest
import respx

from govlink.core.auth import (
    AuthStyle,
    HeaderJsonCredentialsAuth,
    LgspUserTokenAuth,
    XRoadClientAuth,
    _registry,
    accept_auth_styles,
    accepted_auth_styles,
    auth_for,
    auth_style,
    auth_styles,
    register_auth_style,
    resolve_auth,
)
from govlink.core.clock import VN_TZ
from govlink.core.config import GovLinkSettings
from govlink.core.errors import AuthenticationError, ConfigurationError

LGSP = "https://lgsp.example.vn"
PORTAL = "https://lgsp.example.vn/dvcqg"

HCM_AUTH = {
    "style": "header_json_credentials",
    "client_id": "AK",
    "client_secret": "SK",
    "extra": {"AppName": "MotCua", "PartnerCode": "P01", "PartnerCodeCus": "C01"},
}
HG_AUTH = {
    "style": "lgsp_user_token",
    "token_url": f"{LGSP}/api/token",
    "username": "user 42",
    "client_id": "AK",
    "client_secret": "SK",
    "extra": {"AppName": "MotCua", "PartnerCode": "P01", "authentication_token": "issued-key"},
}


def load_error(**sections: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.load(**sections)
    return caught.value


def credentials(header: str) -> dict[str, str]:
    decoded: dict[str, str] = json.loads(base64.b64decode(header))
    return decoded


# --------------------------------------------------------------- load-time checks


def test_a_style_the_platform_cannot_use_fails_at_load_listing_valid_values() -> None:
    error = load_error(dossiers={"auth": {"style": "client_credentials_basic"}})
    assert error.setting == "GOVLINK_DOSSIERS__AUTH__STYLE"
    assert "not usable" in str(error)
    assert "GOVLINK_DOSSIERS__GATEWAY__" in str(error)  # where a gateway style belongs
    assert "dvcqg_session" in str(error)
    assert "hashed_basic" not in str(error)
    error = load_error(sso={"auth": {"style": "hashed_basic"}})
    assert error.setting == "GOVLINK_SSO__AUTH__STYLE"
    assert "private_key_jwt" in str(error)


def test_a_misspelt_style_from_the_environment_gets_a_suggestion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOVLINK_CITIZENS__AUTH__STYLE", "hashed_basik")
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.load()
    assert caught.value.setting == "GOVLINK_CITIZENS__AUTH__STYLE"
    assert "did you mean 'hashed_basic'" in str(caught.value)


def test_style_names_are_checked_even_for_an_unconfigured_platform() -> None:
    error = load_error(payments={"base_url": None, "auth": {"style": "kerberos"}})
    assert error.setting == "GOVLINK_PAYMENTS__AUTH__STYLE"


def test_a_missing_credential_of_a_configured_platform_fails_at_load() -> None:
    error = load_error(citizens={"auth": {"style": "header_json_credentials", "client_id": "AK"}})
    assert error.setting == "GOVLINK_CITIZENS__AUTH__EXTRA__APPNAME"


def test_every_platform_accepts_none_and_names_its_own_styles() -> None:
    assert accepted_auth_styles("dossiers") == ("dvcqg_session", "none")
    assert "vdxp_hmac" in accepted_auth_styles("documents")
    assert "vdxp_hmac" not in accepted_auth_styles("payments")
    gateway = accepted_auth_styles("gateway")
    assert {"header_json_credentials", "lgsp_user_token", "client_credentials_form"} <= set(gateway)
    assert "dvcqg_session" not in gateway
    assert accepted_auth_styles("dossiers", block="gateway") == gateway


# ------------------------------------------------------------------ the hook


def test_platform_logins_are_registered_from_their_own_package() -> None:
    styles = auth_styles()
    assert styles["dvcqg_session"].owner == "dossiers"
    assert styles["vdxp_hmac"].owner == "documents"
    assert styles["private_key_jwt"].owner == "sso"
    assert styles["client_credentials_basic"].owner == "core"


def test_a_platform_can_register_and_accept_its_own_style(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_registry, "_STYLES", dict(_registry._STYLES))
    monkeypatch.setattr(_registry, "_ACCEPTED", dict(_registry._ACCEPTED))
    built: list[str] = []

    def build(ctx: Any) -> str:
        built.append(ctx.username("the portal account"))
        return "session-maker"

    register_auth_style(AuthStyle("portal_login", "platform", build, ("username",), owner="x"))
    accept_auth_styles("payments", ("portal_login",))
    settings = GovLinkSettings.load(payments={"auth": {"style": "portal_login", "username": "u"}})
    assert built == ["u"]  # checked when settings loaded
    resolved = resolve_auth(settings, "payments")
    assert (resolved.style, resolved.own, resolved.http_auth) == (
        "portal_login",
        "session-maker",
        None,
    )
    error = load_error(payments={"auth": {"style": "portal_login"}})
    assert error.setting == "GOVLINK_PAYMENTS__AUTH__USERNAME"
    with pytest.raises(ValueError, match="already registered"):
        register_auth_style(AuthStyle("portal_login", "header", build))
    assert auth_style("PORTAL_LOGIN") is not None


def test_a_strategy_refusing_its_values_is_reported_against_the_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_registry, "_STYLES", dict(_registry._STYLES))

    def build(ctx: Any) -> None:
        raise ValueError("mode must be 'basic' or 'form'")

    register_auth_style(AuthStyle("picky_gateway", "token", build))
    error = load_error(gateway={"auth": {"style": "picky_gateway"}})
    assert error.setting == "GOVLINK_GATEWAY__AUTH__STYLE"
    assert "mode must be" in str(error)


# ------------------------------------------------------------- behind a gateway


def behind_gateway(**dossiers: Any) -> GovLinkSettings:
    section: dict[str, Any] = {
        "base_url": PORTAL,
        "gateway": {
            "style": "client_credentials_basic",
            "token_url": f"{LGSP}/token",
            "client_id": "consumer",
            "client_secret": "consumer-secret",
        },
        **dossiers,
    }
    return GovLinkSettings.load(dossiers=section, http={"max_retries": 0})


def test_gateway_block_errors_name_the_gateway_variables() -> None:
    error = load_error(dossiers={"gateway": {"style": "dvcqg_session"}})
    assert error.setting == "GOVLINK_DOSSIERS__GATEWAY__STYLE"
    assert "client_credentials_basic" in str(error)
    error = load_error(dossiers={"gateway": {"style": "client_credentials_form"}})
    assert error.setting in {
        "GOVLINK_DOSSIERS__GATEWAY__CLIENT_ID",
        "GOVLINK_DOSSIERS__GATEWAY__TOKEN_URL",
    }


def test_the_shared_gateway_section_has_no_gateway_block() -> None:
    error = load_error(gateway={"gateway": {"style": "bearer", "extra": {"token": "t"}}})
    assert error.setting == "GOVLINK_GATEWAY__GATEWAY__STYLE"


def test_two_styles_writing_authorization_cannot_be_stacked() -> None:
    error = load_error(
        citizens={
            "gateway": {"style": "bearer", "extra": {"token": "t"}},
        }
    )  # the mock profile's citizens auth is hashed_basic, also Authorization
    assert error.setting == "GOVLINK_CITIZENS__AUTH__STYLE"
    assert "both write the Authorization header" in str(error)


@respx.mock(assert_all_called=True)
def test_dvcqg_session_in_the_body_behind_a_wso2_bearer_in_the_header(
    respx_mock: respx.MockRouter,
) -> None:
    from govlink.dossiers import Dossier, DossierClient

    token = respx_mock.post(f"{LGSP}/token").mock(
        return_value=httpx.Response(200, json={"access_token": "gw-1", "expires_in": 3600})
    )
    login = respx_mock.post(f"{PORTAL}/auth").mock(
        return_value=httpx.Response(200, json={"session": "s-1", "error_code": 0})
    )
    push = respx_mock.post(f"{PORTAL}/integration").mock(
        return_value=httpx.Response(
            200,
            json={"error_code": "00", "result": [{"MaHoSo": "HS-1", "error_code": "00"}]},
        )
    )
    settings = behind_gateway()
    assert resolve_auth(settings, "dossiers").gateway_style == "client_credentials_basic"
    dossier = Dossier(
        ma_ho_so="HS-1",
        procedure_code="1.001193",
        status=2,
        received_at=datetime(2026, 3, 2, 8, tzinfo=VN_TZ),
    )
    with DossierClient(settings) as client:
        report = client.sync_dossiers([dossier], is_updating=False)
    assert report.accepted == ["HS-1"]
    assert token.call_count == 1  # one gateway token for the login and the push
    assert token.calls[0].request.headers["Authorization"].startswith("Basic ")
    for route in (login, push):
        assert route.calls[0].request.headers["Authorization"] == "Bearer gw-1"
    assert json.loads(push.calls[0].request.content)["session"] == "s-1"
    assert json.loads(login.calls[0].request.content)["username"] == "govlink-demo"


@respx.mock(assert_all_called=True)
def test_a_per_request_header_is_kept_when_the_gateway_replays_after_401(
    respx_mock: respx.MockRouter,
) -> None:
    api: list[dict[str, str]] = []  # httpx replays the same Request object: copy its headers

    def dancu(request: httpx.Request) -> httpx.Response:
        api.append(dict(request.headers))
        return httpx.Response(401 if request.headers["Authorization"] == "Bearer t1" else 200)

    token = respx_mock.post(f"{LGSP}/token").mock(
        side_effect=[httpx.Response(200, json={"access_token": t}) for t in ("t1", "t2")]
    )
    respx_mock.post(f"{LGSP}/dancu/ws").mock(side_effect=dancu)

    settings = GovLinkSettings.load(
        citizens={
            "auth": {"style": "x_road", "client_id": "VN/GOV/000.00.00.H47/MOTCUA"},
            "gateway": {
                "style": "client_credentials_basic",
                "token_url": f"{LGSP}/token",
                "client_id": "k",
                "client_secret": "s",
            },
        }
    )
    auth = auth_for(settings, "citizens")
    with httpx.Client(auth=auth) as client:
        assert client.post(f"{LGSP}/dancu/ws", content=b"<soap/>").status_code == 200
    assert token.call_count == 2
    assert [h["authorization"] for h in api] == ["Bearer t1", "Bearer t2"]
    assert {h["x-road-client"] for h in api} == {"VN/GOV/000.00.00.H47/MOTCUA"}


@respx.mock(assert_all_called=True)
async def test_the_stacked_auth_works_with_an_async_client(respx_mock: respx.MockRouter) -> None:
    dancu = respx_mock.get(f"{LGSP}/dancu/ws").respond(200)  # and no token: none is routed
    settings = GovLinkSettings.load(
        citizens={
            "auth": {"style": "x_road", "client_id": "SYS"},
            "gateway": {
                "style": "header_json_credentials",
                **{k: v for k, v in HCM_AUTH.items() if k != "style"},
            },
        }
    )
    auth = auth_for(settings, "citizens")
    async with httpx.AsyncClient(auth=auth) as client:
        reply = await client.get(f"{LGSP}/dancu/ws")
    assert reply.status_code == 200
    sent = dancu.calls.last.request.headers
    assert credentials(sent["Authorization"])["AccessKey"] == "AK"
    assert sent["X-Road-Client"] == "SYS"


# ------------------------------------------------------- Ho Chi Minh City style


@respx.mock(assert_all_called=True)
def test_hcm_style_sends_the_credentials_as_authorization_on_every_call(
    respx_mock: respx.MockRouter,
) -> None:
    api = respx_mock.post(f"{LGSP}/api/hoso").mock(return_value=httpx.Response(200))
    settings = GovLinkSettings.load(gateway={"auth": HCM_AUTH})
    auth = auth_for(settings, "gateway")
    assert isinstance(auth, HeaderJsonCredentialsAuth)
    with httpx.Client(auth=auth) as client:
        client.post(f"{LGSP}/api/hoso", json={})
        client.post(f"{LGSP}/api/hoso", json={})
    assert api.call_count == 2  # and no token request: respx refuses unrouted calls
    headers = [call.request.headers["Authorization"] for call in api.calls]
    assert headers[0] == headers[1]
    assert credentials(headers[0]) == {
        "AccessKey": "AK",
        "SecretKey": "SK",
        "AppName": "MotCua",
        "PartnerCode": "P01",
        "PartnerCodeCus": "C01",
    }
    assert list(credentials(headers[0])) == [
        "AccessKey",
        "SecretKey",
        "AppName",
        "PartnerCode",
        "PartnerCodeCus",
    ]


def test_hcm_style_needs_its_partner_code() -> None:
    auth = dict(HCM_AUTH, extra={"AppName": "MotCua"})
    error = load_error(gateway={"auth": auth})
    assert error.setting == "GOVLINK_GATEWAY__AUTH__EXTRA__PARTNERCODE"


# ------------------------------------------------------------- Hà Giang style


@respx.mock(assert_all_called=True)
def test_hg_style_fetches_the_token_per_user_and_sends_it_in_its_header(
    respx_mock: respx.MockRouter,
) -> None:
    token = respx_mock.get(f"{LGSP}/api/token/user%2042/").mock(
        return_value=httpx.Response(200, json={"data": {"token": "hg-token"}})
    )
    api = respx_mock.post(f"{LGSP}/api/vanban").mock(return_value=httpx.Response(200))
    settings = GovLinkSettings.load(gateway={"auth": HG_AUTH})
    auth = auth_for(settings, "gateway")
    assert isinstance(auth, LgspUserTokenAuth)
    with httpx.Client(auth=auth) as client:
        client.post(f"{LGSP}/api/vanban", json={})
        client.post(f"{LGSP}/api/vanban", json={})
    assert token.call_count == 1
    asked = token.calls[0].request
    assert asked.headers["X-Authentication-Token"] == "issued-key"
    assert credentials(asked.headers["lgspaccesstoken"])["SecretKey"] == "SK"
    for call in api.calls:
        assert call.request.headers["X-Authentication-Token"] == "hg-token"
        assert credentials(call.request.headers["lgspaccesstoken"])["AccessKey"] == "AK"
        assert "Authorization" not in call.request.headers


@respx.mock
def test_hg_style_refetches_once_after_a_401(respx_mock: respx.MockRouter) -> None:
    token = respx_mock.get(f"{LGSP}/api/token/user%2042/").mock(
        side_effect=[
            httpx.Response(200, json={"data": {"token": "old"}}),
            httpx.Response(200, json={"data": {"token": "new"}}),
        ]
    )
    api = respx_mock.post(f"{LGSP}/api/vanban").mock(
        side_effect=lambda request: httpx.Response(
            401 if request.headers["X-Authentication-Token"] == "old" else 200
        )
    )
    auth = auth_for(GovLinkSettings.load(gateway={"auth": HG_AUTH}), "gateway")
    with httpx.Client(auth=auth) as client:
        assert client.post(f"{LGSP}/api/vanban", json={}).status_code == 200
    assert (token.call_count, api.call_count) == (2, 2)


@respx.mock
def test_hg_style_token_refusal_masks_the_credentials(respx_mock: respx.MockRouter) -> None:
    auth = auth_for(GovLinkSettings.load(gateway={"auth": HG_AUTH}), "gateway")
    assert auth is not None
    echoed = auth.build_token_request().headers["lgspaccesstoken"]  # type: ignore[attr-defined]
    respx_mock.get(f"{LGSP}/api/token/user%2042/").mock(
        return_value=httpx.Response(200, json={"data": {}, "echo": echoed, "key": "issued-key"})
    )
    with httpx.Client(auth=auth) as client, pytest.raises(AuthenticationError) as caught:
        client.get(f"{LGSP}/api/vanban")
    text = str(caught.value)
    assert "data.token" in text
    assert echoed not in text
    assert "issued-key" not in text


def test_hg_style_names_its_own_settings() -> None:
    auth = dict(HG_AUTH, extra={"AppName": "MotCua", "PartnerCode": "P01"})
    error = load_error(gateway={"auth": auth})
    assert error.setting == "GOVLINK_GATEWAY__AUTH__EXTRA__AUTHENTICATION_TOKEN"
    error = load_error(gateway={"auth": dict(HG_AUTH, username=None)})
    assert error.setting == "GOVLINK_GATEWAY__AUTH__USERNAME"


def test_x_road_style_object_is_what_the_registry_builds() -> None:
    settings = GovLinkSettings.load(citizens={"auth": {"style": "x_road", "client_id": "SYS"}})
    resolved = resolve_auth(settings, "citizens")
    assert isinstance(resolved.own, XRoadClientAuth)
    assert resolved.gateway is None
    assert resolved.http_auth is resolved.own


# ------------------------------------------------------------------ doctor


@respx.mock
def test_doctor_proves_a_new_token_style_and_a_platform_gateway_block(
    respx_mock: respx.MockRouter,
) -> None:
    from govlink.doctor import Status, run_doctor

    hg = respx_mock.get(f"{LGSP}/api/token/user%2042/").mock(
        return_value=httpx.Response(200, json={"data": {"token": "hg-token"}})
    )
    wso2 = respx_mock.post(f"{LGSP}/token").mock(
        return_value=httpx.Response(200, json={"access_token": "gw", "expires_in": 60})
    )
    respx_mock.get(url__startswith=LGSP).mock(return_value=httpx.Response(200))  # reachable
    login = respx_mock.post(f"{PORTAL}/auth").mock(  # doctor's credentials probe
        return_value=httpx.Response(200, json={"error_code": "0", "session": "s"})
    )
    settings = GovLinkSettings.load(
        gateway={"base_url": LGSP, "auth": HG_AUTH},
        dossiers={
            "base_url": PORTAL,
            "gateway": {
                "style": "client_credentials_basic",
                "token_url": f"{LGSP}/token",
                "client_id": "k",
                "client_secret": "s",
            },
        },
    )
    report = run_doctor(settings, targets=["gateway", "dossiers"])
    tokens = {c.target: c for c in report.checks if c.name == "token"}
    assert tokens["gateway"].status is Status.OK, tokens["gateway"].reason
    assert "lgsp_user_token" in tokens["gateway"].reason
    assert tokens["dossiers"].status is Status.OK, tokens["dossiers"].reason
    assert "client_credentials_basic" in tokens["dossiers"].reason
    # the gateway token twice for dossiers: the token check, then the login probe's client
    assert (hg.call_count, wso2.call_count) == (1, 2)
    assert login.calls.last.request.headers["Authorization"] == "Bearer gw"
