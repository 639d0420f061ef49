"""``govlink config show``: secrets never shown, each value's source named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from govlink.cli.config_cmd import mask_secrets

SECRET = "s3cr3t-gateway-value-9981"
HEADER_SECRET = "header-json-secret-5521"
PASSWORD = "portal-password-7734"


@pytest.fixture
def prod_profile(make_profile: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PORTAL_PASSWORD", PASSWORD)
    return make_profile(
        f"""
[profiles.prod.dossiers]
base_url = "https://dvcqg.example.gov.vn/adapter"
[profiles.prod.dossiers.auth]
style = "dvcqg_session"
username = "tinh-h47"
password = "env:PORTAL_PASSWORD"

[profiles.prod.gateway]
base_url = "https://lgsp.example.gov.vn"
[profiles.prod.gateway.auth]
style = "gateway_header_json"
client_id = "access-key-id"
client_secret = "{SECRET}"
extra = {{ AppName = "motcua", PartnerCode = "P01", SecretKey = "{HEADER_SECRET}" }}

[profiles.prod.http]
proxy = "http://proxyuser:{SECRET}@proxy.example.gov.vn:3128"
"""
    )


def test_mock_profile_masks_its_secrets(cli: Callable[..., Any]) -> None:
    result = cli("config", "show")
    assert result.code == 0
    for secret in ("demo-secret", "demo-password", "demo-payment-secret", "demo-gateway-secret"):
        assert secret not in result.out
    assert "http://127.0.0.1:8700/sso" in result.out
    assert "built-in profile 'mock'" in result.out


def test_profile_file_secrets_never_printed(cli: Callable[..., Any], prod_profile: Path) -> None:
    for args in (("config", "show"), ("config", "show", "--json")):
        result = cli(*args, "--profile", "prod", "--profile-file", str(prod_profile))
        assert result.code == 0, result.err
        for secret in (SECRET, HEADER_SECRET, PASSWORD):
            assert secret not in result.out
            assert secret not in result.err
        assert "https://lgsp.example.gov.vn" in result.out
        assert "proxyuser" in result.out  # the URL is still recognisable


def test_unmask_does_not_reveal_secrets(cli: Callable[..., Any], prod_profile: Path) -> None:
    result = cli("config", "show", "--profile", "prod", "--profile-file", str(prod_profile))
    assert SECRET not in result.out
    assert cli("config", "show", "--unmask").code == 2  # no such option: secrets stay masked


def test_json_names_sources(
    cli: Callable[..., Any], prod_profile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVLINK_HTTP__TIMEOUT", "12.5")
    result = cli(
        "config", "show", "--json", "--profile", "prod", "--profile-file", str(prod_profile)
    )
    assert result.code == 0, result.err
    data = result.json()
    assert isinstance(data, dict)
    assert data["profile"] == "prod"
    assert data["profile_file"] == str(prod_profile)
    assert data["settings"]["http"]["timeout"] == 12.5
    assert data["settings"]["gateway"]["auth"]["client_secret"] == "********"
    sources = data["sources"]
    assert sources["http.timeout"] == "environment GOVLINK_HTTP__TIMEOUT"
    assert sources["profile"] == "command-line option"
    assert sources["gateway.base_url"].startswith(f"profile file {prod_profile} [profiles.prod]")
    assert sources["dossiers.auth.password"].endswith("→ env:PORTAL_PASSWORD")
    assert sources["http.max_retries"] == "default"


def test_dotenv_and_json_variables_are_named(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("GOVLINK_HTTP__MAX_RETRIES=7\n", encoding="utf-8")
    monkeypatch.setenv("GOVLINK_SSO", '{"base_url": "https://sso.example.gov.vn"}')
    result = cli("config", "show", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert isinstance(data, dict)
    assert data["settings"]["http"]["max_retries"] == 7
    assert data["sources"]["http.max_retries"] == ".env GOVLINK_HTTP__MAX_RETRIES"
    assert data["sources"]["sso.base_url"] == "environment GOVLINK_SSO"


def test_mask_secrets_by_key_and_url() -> None:
    masked = mask_secrets(
        {
            "client_id": "visible",
            "client_secret": "hidden-1",
            "token_url": "https://gw/token",
            "extra": {"SecretKey": "hidden-2", "AppName": "motcua", "api_key": "hidden-3"},
            "proxy": "http://u:hidden-4@proxy:8080",
            "nothing": None,
        }
    )
    text = repr(masked)
    for hidden in ("hidden-1", "hidden-2", "hidden-3", "hidden-4"):
        assert hidden not in text
    assert masked["client_id"] == "visible"
    assert masked["token_url"] == "https://gw/token"
    assert masked["extra"]["AppName"] == "motcua"
    assert masked["proxy"] == "http://u:********@proxy:8080"
    assert masked["nothing"] is None
