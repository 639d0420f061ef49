"""Per-request strategies (hashed Basic, X-Road, bearer) and ``auth_for`` from settings."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from govlink.core.auth import (
    AUTH_STYLES,
    ClientCredentialsAuth,
    GatewayHeaderJsonAuth,
    HashedBasicAuth,
    StaticBearerAuth,
    XRoadClientAuth,
    auth_for,
)
from govlink.core.clock import ManualClock
from govlink.core.config import GovLinkSettings
from govlink.core.errors import ConfigurationError


def capture(auth: httpx.Auth, url: str) -> list[httpx.Request]:
    """Two POSTs to ``url`` through ``auth``: the requests as respx received them."""
    with respx.mock(assert_all_called=True) as router:
        route = router.post(url).respond(200)
        with httpx.Client(auth=auth) as client:
            client.post(url, content=b"<soap/>")
            client.post(url, content=b"<soap/>")
        return [call.request for call in route.calls]


def test_hashed_basic_matches_the_published_formula() -> None:
    # 07:00 UTC is 14:00 in Vietnam: the timestamp is Vietnam time.
    clock = ManualClock(datetime(2026, 1, 1, 7, 0, tzinfo=UTC))
    auth = HashedBasicAuth("govlink-demo", "demo-dancu-secret", clock=clock)
    request = capture(auth, "https://dancu.test/dancu/ws?op=TraCuu")[0]
    assert request.headers["Timestamp"] == "20260101140000"
    # base64("govlink-demo:" + sha256hex(url + user + timestamp + secret)), computed offline
    assert request.headers["Authorization"] == (
        "Basic Z292bGluay1kZW1vOmM5N2E0MGI0NTVjY2ZiYjczNmI1YWQ1MTE4MWZhMGU4ZmY1M2M5ZGE0NDEz"
        "ZjAzMDM0NzA4MTRjZDBhNzUwMjA="
    )


def test_hashed_basic_is_recomputed_for_every_request() -> None:
    clock = ManualClock(datetime(2026, 1, 1, 7, 0, tzinfo=UTC))

    class Ticking(ManualClock):
        def now(self) -> datetime:
            value = super().now()
            self.advance(1)
            return value

    auth = HashedBasicAuth("u", "s", clock=Ticking(clock.now()))
    first, second = capture(auth, "https://dancu.test/ws")
    assert first.headers["Timestamp"] == "20260101140000"
    assert second.headers["Timestamp"] == "20260101140001"
    assert first.headers["Authorization"] != second.headers["Authorization"]


def test_hashed_basic_timestamp_format_is_injectable() -> None:
    clock = ManualClock(datetime(2026, 1, 1, 7, 0, tzinfo=UTC))
    auth = HashedBasicAuth(
        "u", "s", clock=clock, timestamp_format=lambda when: str(int(when.timestamp()))
    )
    request = capture(auth, "https://dancu.test/ws")[0]
    assert request.headers["Timestamp"] == "1767250800"
    user, _, digest = base64.b64decode(request.headers["Authorization"][6:]).decode().partition(":")
    assert user == "u"
    assert len(digest) == 64


def test_x_road_and_static_bearer_headers() -> None:
    request = capture(XRoadClientAuth("VN/GOV/000.00.00.H47/MOTCUA"), "https://x.test/a")[0]
    assert request.headers["X-Road-Client"] == "VN/GOV/000.00.00.H47/MOTCUA"
    request = capture(StaticBearerAuth("abc"), "https://x.test/a")[0]
    assert request.headers["Authorization"] == "Bearer abc"


def settings_with(platform: str, auth: dict[str, object], **more: object) -> GovLinkSettings:
    section: dict[str, object] = {"auth": auth}
    return GovLinkSettings.load(**{platform: section}, **more)


def test_auth_for_builds_each_style_from_settings() -> None:
    s = settings_with(
        "gateway",
        {"style": "client_credentials_form", "client_id": "k", "client_secret": "s"},
    )
    auth = auth_for(s, "gateway")
    assert isinstance(auth, ClientCredentialsAuth)
    assert auth.mode == "form"
    assert auth.token_url == "http://127.0.0.1:8700/gateway/token"  # from the mock profile

    auth = auth_for(GovLinkSettings.load(), "gateway")  # the mock profile's own style
    assert isinstance(auth, ClientCredentialsAuth)
    assert auth.mode == "basic"

    assert isinstance(auth_for(GovLinkSettings.load(), "citizens"), HashedBasicAuth)

    s = settings_with("citizens", {"style": "x_road", "client_id": "VN/GOV/X/Y"})
    xroad = auth_for(s, "citizens")
    assert isinstance(xroad, XRoadClientAuth)
    assert xroad.client_id == "VN/GOV/X/Y"

    s = settings_with("citizens", {"style": "bearer", "extra": {"token": "t0k"}})
    assert isinstance(auth_for(s, "citizens"), StaticBearerAuth)


def test_platform_handled_styles_and_none_give_no_auth() -> None:
    s = GovLinkSettings.load()
    assert auth_for(s, "sso") is None  # client_secret_post: the SSO client does it
    assert auth_for(s, "dossiers") is None  # dvcqg_session
    assert auth_for(s, "documents") is None  # vdxp_hmac
    assert auth_for(s, "payments") is None  # none


def test_gateway_header_json_from_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVLINK_GATEWAY__AUTH__STYLE", "gateway_header_json")
    monkeypatch.setenv("GOVLINK_GATEWAY__AUTH__EXTRA__APPNAME", "MotCua")
    monkeypatch.setenv("GOVLINK_GATEWAY__AUTH__EXTRA__PARTNERCODE", "P01")
    monkeypatch.setenv("GOVLINK_GATEWAY__AUTH__EXTRA__HEADER_NAME", "lgspaccesstoken")
    auth = auth_for(GovLinkSettings.load(), "gateway")
    assert isinstance(auth, GatewayHeaderJsonAuth)
    assert (auth.app_name, auth.partner_code, auth.partner_code_cus) == ("MotCua", "P01", None)
    assert auth.header_name == "lgspaccesstoken"


def test_unknown_style_names_the_variable_and_lists_valid_styles_at_load() -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings_with("citizens", {"style": "kerberos"})
    assert caught.value.setting == "GOVLINK_CITIZENS__AUTH__STYLE"
    for style in ("client_credentials_basic", "gateway_header_json", "hashed_basic", "x_road"):
        assert style in str(caught.value)
    assert "vdxp_hmac" not in str(caught.value)  # the document axis's own style
    assert {"header_json_credentials", "lgsp_user_token", "dvcqg_session"} <= AUTH_STYLES


@pytest.mark.parametrize(
    ("platform", "auth", "variable"),
    [
        ("citizens", {"style": "bearer"}, "GOVLINK_CITIZENS__AUTH__EXTRA__TOKEN"),
        (
            "gateway",
            {"style": "client_credentials_basic", "client_id": None},
            "GOVLINK_GATEWAY__AUTH__CLIENT_ID",
        ),
        (
            "citizens",
            {"style": "hashed_basic", "client_secret": ""},
            "GOVLINK_CITIZENS__AUTH__CLIENT_SECRET",
        ),
        (
            "gateway",
            {"style": "gateway_header_json", "extra": {"AppName": "A"}},
            "GOVLINK_GATEWAY__AUTH__EXTRA__PARTNERCODE",
        ),
        (
            "payments",
            {"style": "x_road", "client_id": None},
            "GOVLINK_PAYMENTS__AUTH__EXTRA__X_ROAD_CLIENT",
        ),
    ],
)
def test_missing_credential_names_the_variable(
    platform: str, auth: dict[str, object], variable: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        auth_for(settings_with(platform, auth), platform)
    assert caught.value.setting == variable
    assert variable in str(caught.value)


def test_missing_token_url_without_a_gateway_names_the_variable(tmp_path: Path) -> None:
    profile = tmp_path / "profiles.toml"
    profile.write_text(
        '[profiles.prod.citizens]\nbase_url = "https://dancu.example.vn"\n'
        '[profiles.prod.citizens.auth]\nstyle = "client_credentials_basic"\n'
        'client_id = "k"\nclient_secret = "s"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.from_profile("prod", profile)
    assert caught.value.setting == "GOVLINK_CITIZENS__AUTH__TOKEN_URL"


def test_extra_values_may_be_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_GATEWAY_TOKEN", "from-env")
    s = settings_with("citizens", {"style": "bearer", "extra": {"token": "env:MY_GATEWAY_TOKEN"}})
    auth = auth_for(s, "citizens")
    request = capture(auth, "https://x.test/a")[0]  # type: ignore[arg-type]
    assert request.headers["Authorization"] == "Bearer from-env"


def test_unknown_platform_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown platform"):
        auth_for(GovLinkSettings.load(), "tax")
