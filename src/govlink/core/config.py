"""Settings and deployment profiles.

A *profile* describes one deployment: for each platform its base URL, path
overrides, auth style and credential references. Profiles live in a TOML file
(``[profiles.NAME]``); one profile, ``mock``, is built in and points at
``govlink mock up`` on its default port.

Precedence, highest first (tested in ``tests/unit/core/test_config.py``):

1. keyword arguments to :class:`GovLinkSettings` / :meth:`GovLinkSettings.load`;
2. environment variables ``GOVLINK_…`` (nested with ``__``, e.g.
   ``GOVLINK_SSO__BASE_URL``);
3. a ``.env`` file in the working directory;
4. the selected profile from the profile file (``GOVLINK_PROFILE_FILE``);
5. the built-in ``mock`` profile's values when the profile is ``mock``;
6. field defaults.

Credential values may be references instead of literals: ``env:NAME`` reads the
environment variable ``NAME``, ``file:/path`` reads a file (trailing newline
stripped). A missing reference is a :class:`ConfigurationError` naming the setting.

Loading fails loudly: auth styles are checked against the registry
(:mod:`govlink.core.auth`) and each platform's ``options`` against its typed model
(:mod:`govlink.core.options`); unknown keys in a profile are refused; every file
named in settings is read with a size bound and must be UTF-8.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from govlink.core.errors import ConfigurationError
from govlink.core.redact import mask_secrets

__all__ = [
    "MAX_PROFILE_BYTES",
    "MAX_SECRET_FILE_BYTES",
    "MOCK_DEFAULT_PORT",
    "PLATFORMS",
    "AuthSettings",
    "GovLinkSettings",
    "HttpSettings",
    "PlatformSettings",
    "builtin_profile",
    "mock_profile",
    "read_bounded_text",
    "resolve_reference",
]

MOCK_DEFAULT_PORT = 8700
MAX_SECRET_FILE_BYTES = 64 * 1024
"""Largest ``file:`` secret reference read (a key or token, never megabytes)."""
MAX_PROFILE_BYTES = 1024 * 1024
"""Largest profile TOML file or ``.env`` file read."""
PLATFORMS = ("sso", "dossiers", "payments", "citizens", "documents")
# Path prefix of each platform on the mock server (``mock_servers`` mounts the same).
MOCK_PREFIXES: dict[str, str] = {
    "sso": "/sso",
    "dossiers": "/dvcqg",
    "payments": "/payment",
    "citizens": "/dancu",
    "documents": "/vdxp",
    "gateway": "/gateway",
}


def resolve_reference(value: str, *, setting: str) -> str:
    """Resolve ``env:NAME`` / ``file:PATH`` credential references; literals pass through."""
    if value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            raise ConfigurationError(
                f"{setting} refers to environment variable {name}, which is not set",
                setting=name,
                expected=f"the value of {setting}",
            )
        return os.environ[name]
    if value.startswith("file:"):
        path = Path(value[5:]).expanduser()
        text = read_bounded_text(
            path,
            setting=setting,
            limit=MAX_SECRET_FILE_BYTES,
            expected="a readable UTF-8 file path after 'file:'",
        )
        return text.rstrip("\r\n")
    return value


def read_bounded_text(path: Path, *, setting: str, limit: int, expected: str) -> str:
    """The UTF-8 text of ``path``, read at most ``limit`` bytes; a one-line
    :class:`ConfigurationError` naming ``setting`` when it is missing, too large
    (``/dev/zero`` included), or not UTF-8."""
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ConfigurationError(
            f"{setting} refers to file {path}, which cannot be read ({exc.strerror})",
            setting=setting,
            expected=expected,
        ) from None
    if len(data) > limit:
        raise ConfigurationError(
            f"{setting} refers to file {path}, which is larger than {limit} bytes",
            setting=setting,
            expected=expected,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{setting} refers to file {path}, which is not UTF-8 text "
            f"(byte {exc.start} is 0x{data[exc.start]:02x})",
            setting=setting,
            expected=expected,
        ) from None


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AuthSettings(_Section):
    """How to authenticate to one platform or its gateway.

    ``style`` names a strategy from :mod:`govlink.core.auth` (``none``,
    ``client_credentials_basic``, ``client_credentials_form``, ``gateway_header_json``,
    ``dvcqg_session``, ``hashed_basic``, ``x_road``, ``bearer``) or a platform-specific
    one (``client_secret_post``, ``client_secret_basic``, ``private_key_jwt`` for SSO;
    ``vdxp_hmac`` for the document axis). ``extra`` holds style-specific values such as
    ``AppName``/``PartnerCode`` or the ``X-Road-Client`` identifier.
    """

    style: str = "none"
    token_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    private_key_file: Path | None = None
    extra: dict[str, str] = Field(default_factory=dict)

    @field_validator("token_url")
    @classmethod
    def _check_token_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an absolute http:// or https:// URL")
        return value

    @field_validator("client_secret", "password", mode="before")
    @classmethod
    def _resolve_secret(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str):
            return resolve_reference(value, setting=f"auth.{info.field_name}")
        return value


class PlatformSettings(_Section):
    """One platform's endpoint in one deployment.

    ``gateway`` is a second auth block for a platform reached through a gateway: its
    style (a gateway style such as ``client_credentials_basic``) authenticates to the
    gateway, while ``auth`` stays the platform's own (e.g. the DVCQG session in the
    JSON body behind a WSO2 bearer token in the header).
    """

    base_url: str | None = None
    auth: AuthSettings = Field(default_factory=AuthSettings)
    gateway: AuthSettings | None = None
    timeout: float | None = Field(default=None, gt=0)
    paths: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/")


class HttpSettings(_Section):
    """Transport settings shared by every platform client."""

    timeout: float = Field(default=30.0, gt=0)
    connect_timeout: float = Field(default=10.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=20)
    backoff_initial: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=30.0, ge=0)
    retry_total_seconds: float = Field(default=120.0, gt=0)
    max_connections: int = Field(default=100, ge=1)
    max_keepalive_connections: int = Field(default=20, ge=0)
    proxy: str | None = None
    verify: bool = True
    ca_bundle: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    client_key_password: SecretStr | None = None
    user_agent: str | None = None
    #: Largest reply body read into memory (bytes); larger ones raise ReplyTooLargeError.
    max_reply_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)

    @field_validator("client_key_password", mode="before")
    @classmethod
    def _resolve_key_password(cls, value: Any) -> Any:
        if isinstance(value, str):
            return resolve_reference(value, setting="GOVLINK_HTTP__CLIENT_KEY_PASSWORD")
        return value


def _mock_signing_options(agency_code: str) -> dict[str, Any]:
    """The mock axis's TEST certificate for ``agency_code`` and its CA as trust store.

    The mock platforms ship a test PKI (``mock_servers/vdxp/pki``, the certificates
    ``govlink mock issue-cert`` issues from); the built-in profile signs and verifies
    with it, so documents work out of the box. Found without importing the mock
    (``find_spec`` only locates the package); empty when it is not installed.
    """
    import importlib.util

    try:
        spec = importlib.util.find_spec("mock_servers")
    except (ImportError, ValueError):
        return {}
    locations = list(spec.submodule_search_locations or ()) if spec else []
    for location in locations:
        pki = Path(location) / "vdxp" / "pki"
        key, cert = pki / f"{agency_code}.key.pem", pki / f"{agency_code}.cert.pem"
        ca = pki / "ca.cert.pem"
        if key.is_file() and cert.is_file() and ca.is_file():
            return {
                "agency_code": agency_code,
                "signing_key": str(key),
                "signing_cert": str(cert),
                "trust_store": str(ca),
            }
    return {}


def mock_profile(port: int = MOCK_DEFAULT_PORT, host: str = "127.0.0.1") -> dict[str, Any]:
    """The profile that matches ``govlink mock up --host HOST --port PORT``."""
    root = f"http://{host}:{port}"
    gateway_token = f"{root}{MOCK_PREFIXES['gateway']}/token"
    return {
        "sso": {
            "base_url": f"{root}{MOCK_PREFIXES['sso']}",
            "auth": {
                "style": "client_secret_post",
                "client_id": "govlink-demo",
                "client_secret": "demo-secret",
            },
        },
        "dossiers": {
            "base_url": f"{root}{MOCK_PREFIXES['dossiers']}",
            "auth": {
                "style": "dvcqg_session",
                "username": "govlink-demo",
                "password": "demo-password",
                "extra": {"madonvi": "000.00.00.H47", "dstcode": "000.00.00.H47"},
            },
            # the mock drops repeated idempotency keys, so replaying a write is safe
            "options": {"portal_deduplicates": True},
        },
        "payments": {
            "base_url": f"{root}{MOCK_PREFIXES['payments']}",
            "auth": {
                "style": "none",
                "client_id": "GOVLINKDEMO",
                "client_secret": "demo-payment-secret",
            },
        },
        "citizens": {
            "base_url": f"{root}{MOCK_PREFIXES['citizens']}",
            "auth": {
                "style": "hashed_basic",
                "username": "govlink-demo",
                "client_secret": "demo-dancu-secret",
            },
        },
        "documents": {
            "base_url": f"{root}{MOCK_PREFIXES['documents']}",
            "auth": {
                "style": "vdxp_hmac",
                "client_id": "000.00.00.H47",
                "client_secret": "demo-vdxp-secret",
            },
            "options": _mock_signing_options("000.00.00.H47"),
        },
        "gateway": {
            "base_url": f"{root}{MOCK_PREFIXES['gateway']}",
            "auth": {
                "style": "client_credentials_basic",
                "token_url": gateway_token,
                "client_id": "govlink-demo",
                "client_secret": "demo-gateway-secret",
            },
        },
    }


def builtin_profile(name: str) -> dict[str, Any] | None:
    """Profiles shipped with govlink (only ``mock`` today)."""
    return mock_profile() if name == "mock" else None


def _load_profile_file(path: Path, name: str) -> dict[str, Any]:
    if not path.exists():
        raise ConfigurationError(
            f"profile file {path} does not exist",
            setting="GOVLINK_PROFILE_FILE",
            expected="the path of a TOML file with [profiles.NAME] tables",
        )
    text = read_bounded_text(
        path,
        setting="GOVLINK_PROFILE_FILE",
        limit=MAX_PROFILE_BYTES,
        expected="a UTF-8 TOML file with [profiles.NAME] tables",
    )
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(
            f"profile file {path} is not valid TOML: {exc}",
            setting="GOVLINK_PROFILE_FILE",
            expected="a TOML file with [profiles.NAME] tables",
        ) from None
    stray = sorted(key for key in document if key != "profiles")
    if stray:
        raise ConfigurationError(
            f"profile file {path} has top-level key(s) {', '.join(map(repr, stray))}; "
            "settings go under [profiles.NAME]",
            setting="GOVLINK_PROFILE_FILE",
            expected="a TOML file whose tables are all [profiles.NAME…]",
        )
    profiles = document.get("profiles", {})
    if name not in profiles:
        if builtin_profile(name) is not None:
            return {}
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigurationError(
            f"profile {name!r} is not in {path} (profiles there: {known})",
            setting="GOVLINK_PROFILE",
            expected="one of the profile names in the file, or 'mock'",
        )
    section = profiles[name]
    if not isinstance(section, dict):
        raise ConfigurationError(
            f"[profiles.{name}] in {path} is not a table",
            setting="GOVLINK_PROFILE_FILE",
            expected="a TOML table per profile",
        )
    _refuse_unknown_keys(section, path, name)
    return section


def _refuse_unknown_keys(section: dict[str, Any], path: Path, name: str) -> None:
    """Top-level keys of a profile that no setting reads (nested sections refuse
    theirs through their models)."""
    known = sorted(set(GovLinkSettings.model_fields) - {"profile", "profile_file"})
    unknown = sorted(key for key in section if key not in known)
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigurationError(
            f"unknown setting(s) {', '.join(repr(k) for k in unknown)} in "
            f"[profiles.{name}] of {path}{hint}",
            setting=f"GOVLINK_{unknown[0].upper()}",
            expected="nothing: no such setting exists (the settings are " + ", ".join(known) + ")",
        )


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``, tables merged key by key (profile layering)."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class _ProfileSource(PydanticBaseSettingsSource):
    """Lowest-priority source: the selected profile (file, then built-in)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # pragma: no cover - __call__ does the work

    def __call__(self) -> dict[str, Any]:
        state = self.current_state
        name = str(state.get("profile") or "mock")
        file_value = state.get("profile_file")
        values: dict[str, Any] = builtin_profile(name) or {}
        if file_value:
            values = deep_merge(values, _load_profile_file(Path(file_value), name))
        elif builtin_profile(name) is None:
            raise ConfigurationError(
                f"profile {name!r} is not built in and no profile file is set",
                setting="GOVLINK_PROFILE_FILE",
                expected="the path of a TOML file defining [profiles." + name + "]",
            )
        return values


class GovLinkSettings(BaseSettings):
    """Everything govlink needs to talk to one deployment.

    Build it with :meth:`load` (or :meth:`from_profile`) to get
    :class:`ConfigurationError` messages that name the environment variable to fix.
    """

    model_config = SettingsConfigDict(
        env_prefix="GOVLINK_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    profile: str = "mock"
    profile_file: Path | None = None
    http: HttpSettings = Field(default_factory=HttpSettings)
    sso: PlatformSettings = Field(default_factory=PlatformSettings)
    dossiers: PlatformSettings = Field(default_factory=PlatformSettings)
    payments: PlatformSettings = Field(default_factory=PlatformSettings)
    citizens: PlatformSettings = Field(default_factory=PlatformSettings)
    documents: PlatformSettings = Field(default_factory=PlatformSettings)
    gateway: PlatformSettings = Field(default_factory=PlatformSettings)
    unmask: bool = False

    def __init__(self, **values: Any) -> None:
        env_file = values.get("_env_file", self.model_config.get("env_file"))
        if isinstance(env_file, str | Path):
            _check_env_file(Path(env_file))
        super().__init__(**values)

    @model_validator(mode="before")
    @classmethod
    def _resolve_auth_references(cls, data: Any) -> Any:
        """Resolve ``env:``/``file:`` secrets here, where the variable to name is known
        (``AuthSettings`` alone can only say ``auth.client_secret``)."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for section in (*PLATFORMS, "gateway"):
            platform = out.get(section)
            if not isinstance(platform, dict):
                continue
            platform = out[section] = dict(platform)
            for block in ("auth", "gateway"):
                auth = platform.get(block)
                if not isinstance(auth, dict):
                    continue
                auth = platform[block] = dict(auth)
                for name in ("client_secret", "password"):
                    value = auth.get(name)
                    if isinstance(value, str):
                        variable = f"GOVLINK_{section.upper()}__{block.upper()}__{name.upper()}"
                        auth[name] = SecretStr(resolve_reference(value, setting=variable))
        return out

    @model_validator(mode="after")
    def _validate_platforms(self) -> GovLinkSettings:
        """Auth styles against the registry, options against each platform's model."""
        from govlink.core.auth import validate_auth
        from govlink.core.options import validate_options

        for name in PLATFORMS:
            validate_options(name, getattr(self, name).options)
        validate_auth(self)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, dotenv_settings, _ProfileSource(settings_cls))

    @classmethod
    def load(cls, **overrides: Any) -> GovLinkSettings:
        """Build settings; turn validation failures into one actionable error."""
        try:
            return cls(**overrides)
        except SettingsError as exc:
            # a complex value (a whole section, ``paths``, ``extra``) that is not JSON
            found = re.search(r'field "(\w+)"', str(exc))
            name = found.group(1) if found else "…"
            variable = _unparsable_variable(f"GOVLINK_{name.upper()}")
            raise ConfigurationError(
                f"cannot parse the value of {variable} ({exc})",
                setting=variable,
                expected='valid JSON (e.g. \'{"auth": "/login"}\'), or one variable per '
                "field (GOVLINK_SECTION__FIELD)",
            ) from None
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            loc = [str(part) for part in first["loc"]]
            variable = "GOVLINK_" + "__".join(part.upper() for part in loc)
            raise ConfigurationError(
                f"invalid setting {'.'.join(loc)}: {first['msg']}",
                setting=variable,
                expected=_expected_for(first),
            ) from None

    @classmethod
    def from_profile(cls, name: str, profile_file: str | Path | None = None) -> GovLinkSettings:
        """Settings for profile ``name`` (built-in, or from ``profile_file``)."""
        overrides: dict[str, Any] = {"profile": name}
        if profile_file is not None:
            overrides["profile_file"] = Path(profile_file)
        return cls.load(**overrides)

    def platform(self, name: str) -> PlatformSettings:
        """Settings of platform ``name`` with a clear error when it has no base URL."""
        if name not in (*PLATFORMS, "gateway"):
            raise ConfigurationError(
                f"unknown platform {name!r}",
                setting="platform",
                expected=", ".join((*PLATFORMS, "gateway")),
            )
        settings: PlatformSettings = getattr(self, name)
        if settings.base_url is None:
            raise ConfigurationError(
                f"no base URL configured for {name} in profile {self.profile!r}",
                setting=f"GOVLINK_{name.upper()}__BASE_URL",
                expected="the platform's https:// URL (or use the 'mock' profile)",
            )
        return settings

    def masked_dump(self) -> dict[str, Any]:
        """A JSON-ready view with every secret masked (``govlink config show``).

        ``SecretStr`` fields dump as stars already; ``auth.extra`` and ``options`` are
        free-form, so any value whose key names a credential is masked too, as are
        passwords inside URLs (proxies, DSNs).
        """
        masked: dict[str, Any] = mask_secrets(self.model_dump(mode="json"))
        return masked

    def __repr_args__(self) -> Any:
        """``repr(settings)`` shows the masked view: secrets must not reach logs."""
        return list(self.masked_dump().items())


def _check_env_file(path: Path) -> None:
    """Refuse a ``.env`` that is huge or not UTF-8 before pydantic-settings reads it."""
    if path.is_file():
        read_bounded_text(
            path,
            setting=f"the .env file {path}",
            limit=MAX_PROFILE_BYTES,
            expected="a UTF-8 file of GOVLINK_…=value lines",
        )


def _unparsable_variable(prefix: str) -> str:
    """The environment variable under ``prefix`` whose JSON value does not parse."""
    for key, value in os.environ.items():
        if key.upper().startswith(prefix) and value.lstrip()[:1] in ("{", "["):
            try:
                json.loads(value)
            except ValueError:
                return key.upper()
    return prefix


def _expected_for(error: Any) -> str:
    kind = str(error.get("type", ""))
    if kind == "extra_forbidden":
        return "no such setting exists here: check the spelling (see docs/configuration.md)"
    if kind.startswith(("float", "int")):
        return "a number"
    if kind.startswith("bool"):
        return "true or false"
    if "url" in str(error.get("msg", "")).lower():
        return "an http:// or https:// URL"
    return str(error.get("msg", "a valid value"))
