"""Settings: precedence of sources, profiles, references and actionable errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govlink.core.config import GovLinkSettings, mock_profile, resolve_reference
from govlink.core.errors import ConfigurationError

PROFILE = """
[profiles.mock.sso]
base_url = "https://file.example/sso"

[profiles.mock.http]
timeout = 40

[profiles.hcm.dossiers]
base_url = "https://dvcqg.example.vn/adapter"
paths = { auth = "/api/login" }

[profiles.hcm.dossiers.auth]
style = "dvcqg_session"
username = "motcua-hcm"
password = "env:HCM_DVCQG_PASSWORD"
extra = { madonvi = "000.00.00.H29" }

[profiles.hcm.gateway]
base_url = "https://lgsp.example.vn"

[profiles.hcm.gateway.auth]
style = "client_credentials_basic"
client_id = "hcm-key"
client_secret = "file:{secret_file}"
"""


@pytest.fixture
def profile_file(tmp_path: Path) -> Path:
    secret_file = tmp_path / "gateway.secret"
    secret_file.write_text("from-a-file\n", encoding="utf-8")
    path = tmp_path / "govlink.toml"
    path.write_text(PROFILE.replace("{secret_file}", str(secret_file)), encoding="utf-8")
    return path


def test_precedence_kwargs_env_dotenv_file_builtin_defaults(
    tmp_path: Path, profile_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 6. defaults and 5. the built-in mock profile
    settings = GovLinkSettings.load()
    assert settings.http.timeout == 30.0
    assert settings.sso.base_url == "http://127.0.0.1:8700/sso"

    # 4. the profile file beats the built-in profile (and defaults)
    monkeypatch.setenv("GOVLINK_PROFILE_FILE", str(profile_file))
    settings = GovLinkSettings.load()
    assert settings.sso.base_url == "https://file.example/sso"
    assert settings.http.timeout == 40.0
    assert settings.sso.auth.client_id == "govlink-demo"  # merged, not replaced

    # 3. .env beats the profile file
    (tmp_path / ".env").write_text(
        "GOVLINK_SSO__BASE_URL=https://dotenv.example/sso\nGOVLINK_HTTP__TIMEOUT=50\n",
        encoding="utf-8",
    )
    settings = GovLinkSettings.load()
    assert settings.sso.base_url == "https://dotenv.example/sso"
    assert settings.http.timeout == 50.0

    # 2. environment variables beat .env
    monkeypatch.setenv("GOVLINK_SSO__BASE_URL", "https://env.example/sso")
    settings = GovLinkSettings.load()
    assert settings.sso.base_url == "https://env.example/sso"
    assert settings.http.timeout == 50.0  # still from .env

    # 1. keyword arguments beat everything
    settings = GovLinkSettings.load(sso={"base_url": "https://kwargs.example/sso"})
    assert settings.sso.base_url == "https://kwargs.example/sso"
    assert settings.sso.auth.style == "client_secret_post"  # the rest still merged in


def test_named_profile_from_file_with_references(
    profile_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HCM_DVCQG_PASSWORD", "p@ss")
    settings = GovLinkSettings.from_profile("hcm", profile_file)
    dossiers = settings.platform("dossiers")
    assert dossiers.base_url == "https://dvcqg.example.vn/adapter"
    assert dossiers.paths == {"auth": "/api/login"}
    assert dossiers.auth.password is not None
    assert dossiers.auth.password.get_secret_value() == "p@ss"
    assert dossiers.auth.extra == {"madonvi": "000.00.00.H29"}
    gateway = settings.platform("gateway")
    assert gateway.auth.client_secret is not None
    assert gateway.auth.client_secret.get_secret_value() == "from-a-file"
    # a non-mock profile does not inherit the mock's endpoints
    with pytest.raises(ConfigurationError) as caught:
        settings.platform("sso")
    assert caught.value.setting == "GOVLINK_SSO__BASE_URL"


def test_profile_can_be_selected_from_dotenv(tmp_path: Path, profile_file: Path) -> None:
    (tmp_path / ".env").write_text(
        f"GOVLINK_PROFILE=hcm\nGOVLINK_PROFILE_FILE={profile_file}\nHCM_DVCQG_PASSWORD=x\n",
        encoding="utf-8",
    )
    # HCM_DVCQG_PASSWORD lives only in .env, not in the environment: the reference
    # must name it rather than silently resolving to something else.
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.load()
    assert caught.value.setting == "HCM_DVCQG_PASSWORD"


def test_mock_profile_follows_host_and_port() -> None:
    profile = mock_profile(port=9123, host="127.0.0.2")
    assert profile["citizens"]["base_url"] == "http://127.0.0.2:9123/dancu"
    assert profile["gateway"]["auth"]["token_url"] == "http://127.0.0.2:9123/gateway/token"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("GOVLINK_HTTP__TIMEOUT", "soon", "a number"),
        ("GOVLINK_HTTP__VERIFY", "perhaps", "true or false"),
        ("GOVLINK_SSO__BASE_URL", "ftp://sso.example", "http:// or https://"),
        ("GOVLINK_HTTP__MAX_RETRIES", "-1", "greater than or equal to 0"),
        ("GOVLINK_SSO__PATHS", "{not json", "valid JSON"),
    ],
)
def test_malformed_setting_names_the_variable_and_the_expected_form(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.load()
    assert caught.value.setting == variable
    assert variable in str(caught.value)
    assert expected in str(caught.value)


def test_misspelt_setting_is_named() -> None:
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.load(sso={"baseurl": "https://x.example"})
    assert caught.value.setting == "GOVLINK_SSO__BASEURL"
    assert "spelling" in str(caught.value)


def test_unknown_profile_without_file_names_the_profile_file_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOVLINK_PROFILE", "production")
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.load()
    assert caught.value.setting == "GOVLINK_PROFILE_FILE"
    assert "[profiles.production]" in str(caught.value)


def test_profile_missing_from_file_lists_the_known_ones(profile_file: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.from_profile("hanoi", profile_file)
    assert caught.value.setting == "GOVLINK_PROFILE"
    assert "hcm" in str(caught.value)


def test_missing_or_broken_profile_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.from_profile("hcm", tmp_path / "nope.toml")
    assert caught.value.setting == "GOVLINK_PROFILE_FILE"
    broken = tmp_path / "broken.toml"
    broken.write_text("[profiles.hcm\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        GovLinkSettings.from_profile("hcm", broken)


def test_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SECRET", "v1")
    assert resolve_reference("env:MY_SECRET", setting="x") == "v1"
    assert resolve_reference("literal", setting="x") == "literal"
    path = tmp_path / "s.txt"
    path.write_text("v2\r\n", encoding="utf-8")
    assert resolve_reference(f"file:{path}", setting="x") == "v2"
    with pytest.raises(ConfigurationError) as caught:
        resolve_reference("env:NOT_SET_ANYWHERE", setting="auth.client_secret")
    assert caught.value.setting == "NOT_SET_ANYWHERE"
    with pytest.raises(ConfigurationError) as caught:
        resolve_reference(f"file:{tmp_path / 'missing'}", setting="auth.client_secret")
    assert "file:" in str(caught.value)


def test_secret_reference_in_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVLINK_GATEWAY__AUTH__CLIENT_SECRET", "env:VAULT_GATEWAY_SECRET")
    monkeypatch.setenv("VAULT_GATEWAY_SECRET", "resolved")
    secret = GovLinkSettings.load().gateway.auth.client_secret
    assert secret is not None
    assert secret.get_secret_value() == "resolved"


def test_masked_dump_hides_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = GovLinkSettings.load(
        citizens={"auth": {"style": "bearer", "extra": {"token": "tkn-123", "scope": "a"}}},
        http={"client_key_password": "pw-456"},
    )
    dumped = json.dumps(settings.masked_dump())
    for secret in ("demo-secret", "demo-password", "demo-gateway-secret", "tkn-123", "pw-456"):
        assert secret not in dumped
    assert '"scope": "a"' in dumped
    assert "govlink-demo" in dumped  # identifiers stay visible


def test_unknown_platform_name() -> None:
    with pytest.raises(ConfigurationError, match="unknown platform"):
        GovLinkSettings.load().platform("tax")


def test_unknown_key_in_a_profile_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "govlink.toml"
    path.write_text(
        '[profiles.prod.dossier]\nbase_url = "https://dvcqg.example.vn"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.from_profile("prod", path)
    assert "'dossier'" in str(caught.value)
    assert "did you mean 'dossiers'" in str(caught.value)
    assert caught.value.setting == "GOVLINK_DOSSIER"


def test_unknown_nested_key_in_a_profile_is_named(tmp_path: Path) -> None:
    path = tmp_path / "govlink.toml"
    path.write_text('[profiles.prod.citizens.auth]\nstyl = "hashed_basic"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.from_profile("prod", path)
    assert caught.value.setting == "GOVLINK_CITIZENS__AUTH__STYL"


def test_settings_outside_the_profiles_table_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "govlink.toml"
    path.write_text('[profile.prod.sso]\nbase_url = "https://sso.example.vn"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.from_profile("prod", path)
    assert "'profile'" in str(caught.value)
    assert caught.value.setting == "GOVLINK_PROFILE_FILE"


def test_a_secret_file_is_read_with_a_bound() -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_reference("file:/dev/zero", setting="GOVLINK_GATEWAY__AUTH__CLIENT_SECRET")
    assert "larger than" in str(caught.value)
    assert caught.value.setting == "GOVLINK_GATEWAY__AUTH__CLIENT_SECRET"


def test_files_that_are_not_utf8_give_one_line(tmp_path: Path) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\xff\xfe\x00key")
    with pytest.raises(ConfigurationError) as caught:
        resolve_reference(f"file:{secret}", setting="GOVLINK_CITIZENS__AUTH__CLIENT_SECRET")
    assert "not UTF-8" in str(caught.value)
    assert "\n" not in str(caught.value)
    profile = tmp_path / "govlink.toml"
    profile.write_bytes(b"[profiles.prod.sso]\n# H\xe0 N\xf4i (Latin-1, not UTF-8)\n")
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.from_profile("prod", profile)
    assert "not UTF-8" in str(caught.value)
    assert caught.value.setting == "GOVLINK_PROFILE_FILE"


def test_a_huge_or_garbled_dotenv_is_refused(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"  # the tests run in tmp_path
    dotenv.write_bytes(b"GOVLINK_UNMASK=\xff\n")
    with pytest.raises(ConfigurationError, match="not UTF-8"):
        GovLinkSettings.load()
    dotenv.write_bytes(b"# padding\n" * 200_000)
    with pytest.raises(ConfigurationError, match="larger than"):
        GovLinkSettings.load()
    dotenv.write_text("GOVLINK_UNMASK=true\n", encoding="utf-8")
    assert GovLinkSettings.load().unmask is True


def test_a_broken_secret_reference_names_the_variable_it_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOVLINK_DOSSIERS__GATEWAY__CLIENT_SECRET", "file:/dev/zero")
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.load()
    assert caught.value.setting == "GOVLINK_DOSSIERS__GATEWAY__CLIENT_SECRET"
    monkeypatch.delenv("GOVLINK_DOSSIERS__GATEWAY__CLIENT_SECRET")
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.load(citizens={"auth": {"client_secret": "env:NOT_SET_ANYWHERE"}})
    assert "GOVLINK_CITIZENS__AUTH__CLIENT_SECRET" in str(caught.value)


def test_a_relative_token_url_names_its_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.load(dossiers={"gateway": {"token_url": "lgsp.example/token"}})
    assert caught.value.setting == "GOVLINK_DOSSIERS__GATEWAY__TOKEN_URL"
