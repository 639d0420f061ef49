"""The SSO client's settings, read once from ``settings.sso`` and checked up front.

Everything deployment-specific lives in the profile (``[profiles.X.sso]``): the
identity host, the client credentials and auth style, path overrides and a few
options. A mistake is reported when the client is built, naming the variable to
fix, not on the first login attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govlink.core.config import GovLinkSettings
from govlink.core.errors import ConfigurationError
from govlink.sso.options import SSO_AUTH_STYLES, SsoOptions

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "AUTH_STYLES",
    "DEFAULT_PATHS",
    "DISCOVERY_PATHS",
    "SsoConfig",
]

DEFAULT_PATHS: dict[str, str] = {
    "authorize": "/oauth2/authorize",
    "token": "/oauth2/token",
    "userinfo": "/oauth2/userinfo",
    "introspect": "/oauth2/introspect",
    "revoke": "/oauth2/revoke",
    "logout": "/oidc/logout",
    "jwks": "/oauth2/jwks",
}
"""The WSO2 Identity Server defaults the national provider is observed to use."""

DISCOVERY_PATHS: tuple[str, ...] = (
    "/.well-known/openid-configuration",
    # WSO2's issuer is ``…/oauth2/token``, so OIDC discovery puts metadata below it.
    "/oauth2/token/.well-known/openid-configuration",
)

ASYMMETRIC_ALGORITHMS: frozenset[str] = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
AUTH_STYLES: frozenset[str] = frozenset({*SSO_AUTH_STYLES, "none"})

_OPTION = "GOVLINK_SSO__OPTIONS__"


@dataclass(frozen=True)
class SsoConfig:
    """Checked SSO settings (see ``docs/platforms/sso.md`` for each option)."""

    base_url: str
    client_id: str
    client_secret: str | None = field(repr=False)
    auth_style: str
    private_key_file: Path | None = None
    assertion_alg: str = "RS256"
    assertion_kid: str | None = None
    paths: dict[str, str] = field(default_factory=dict)
    issuer: str | None = None
    discovery: bool = True
    algorithms: tuple[str, ...] = ("RS256",)
    leeway: float = 60.0
    userinfo_method: str = "POST"
    jwks_ttl: float = 3600.0
    jwks_refetch_cooldown: float = 60.0
    login_timeout: float = 600.0
    scope: str = "openid"
    acr_values: str | None = "LoA1"
    fetch_userinfo: bool = True
    min_acr: str | None = None
    trusted_audiences: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: GovLinkSettings) -> SsoConfig:
        sso = settings.platform("sso")
        assert sso.base_url is not None  # platform() guarantees it
        auth = sso.auth
        if not auth.client_id:
            raise ConfigurationError(
                "the SSO client has no client_id",
                setting="GOVLINK_SSO__AUTH__CLIENT_ID",
                expected="the client id the identity provider registered for this application",
            )
        secret = auth.client_secret.get_secret_value() if auth.client_secret else None
        style = auth.style or "none"
        if style == "none" and secret:
            style = "client_secret_post"  # the style the national provider is observed to use
        if style not in AUTH_STYLES:
            raise ConfigurationError(
                f"unknown SSO auth style {style!r}",
                setting="GOVLINK_SSO__AUTH__STYLE",
                expected=", ".join(sorted(AUTH_STYLES)),
            )
        if style.startswith("client_secret") and not secret:
            raise ConfigurationError(
                f"auth style {style} needs a client secret",
                setting="GOVLINK_SSO__AUTH__CLIENT_SECRET",
                expected="the secret the identity provider issued (or env:NAME / file:PATH)",
            )
        if style == "private_key_jwt" and auth.private_key_file is None:
            raise ConfigurationError(
                "auth style private_key_jwt needs a private key",
                setting="GOVLINK_SSO__AUTH__PRIVATE_KEY_FILE",
                expected="the path of a PEM private key registered with the provider",
            )
        options = SsoOptions.of(settings)
        unknown = sorted(set(sso.paths) - set(DEFAULT_PATHS) - {"discovery"})
        if unknown:
            raise ConfigurationError(
                f"unknown SSO path {unknown[0]!r}",
                setting=f"GOVLINK_SSO__PATHS__{unknown[0].upper()}",
                expected="one of " + ", ".join((*DEFAULT_PATHS, "discovery")),
            )
        return cls(
            base_url=sso.base_url,
            client_id=auth.client_id,
            client_secret=secret,
            auth_style=style,
            private_key_file=auth.private_key_file,
            assertion_alg=auth.extra.get("alg", "RS256"),
            assertion_kid=auth.extra.get("kid"),
            paths=dict(sso.paths),
            issuer=options.issuer,
            discovery=options.discovery,
            algorithms=_algorithms(options.algorithms),
            leeway=options.leeway,
            userinfo_method=options.userinfo_method,
            jwks_ttl=options.jwks_ttl,
            jwks_refetch_cooldown=options.jwks_refetch_cooldown,
            login_timeout=options.login_timeout,
            scope=options.scope or "openid",
            acr_values=options.acr_values,
            fetch_userinfo=options.fetch_userinfo,
            min_acr=options.min_acr,
            trusted_audiences=tuple(a.strip() for a in options.trusted_audiences if a.strip()),
        )

    def url(self, path: str) -> str:
        """An absolute URL for ``path`` (paths may already be absolute URLs)."""
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + "/" + path.lstrip("/")


def _algorithms(value: Any) -> tuple[str, ...]:
    names = value.split(",") if isinstance(value, str) else list(value or ())
    cleaned = tuple(str(n).strip() for n in names if str(n).strip())
    bad = [n for n in cleaned if n not in ASYMMETRIC_ALGORITHMS]
    if bad or not cleaned:
        shown = bad[0] if bad else "nothing"
        raise ConfigurationError(
            f"ID-token algorithm {shown!r} is not allowed: only asymmetric signatures are "
            "accepted (never 'none', never HMAC, which a public key could forge)",
            setting=_OPTION + "ALGORITHMS",
            expected=", ".join(sorted(ASYMMETRIC_ALGORITHMS)),
        )
    return cleaned
