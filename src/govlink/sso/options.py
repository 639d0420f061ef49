"""SSO options (``settings.sso.options``) and the SSO client-auth styles.

Validated when settings load; read with ``SsoOptions.of(settings)``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from govlink.core.auth import AuthContext, AuthStyle, accept_auth_styles, register_auth_style
from govlink.core.options import (
    BlankIsNone,
    OptionsModel,
    OptionText,
    PathList,
    Upper,
    register_options,
)

__all__ = ["SSO_AUTH_STYLES", "SsoOptions"]

SSO_AUTH_STYLES = ("client_secret_post", "client_secret_basic", "private_key_jwt")
"""The OpenID Connect client-auth styles the SSO client implements."""

_SECONDS = "a number of seconds >= 0"


@register_options
class SsoOptions(OptionsModel):
    platform = "sso"

    issuer: Annotated[OptionText | None, BlankIsNone] = Field(
        None, description="the issuer URL the ID tokens carry (default: from discovery)"
    )
    discovery: bool = Field(True, description="true or false")
    algorithms: PathList = Field(
        ["RS256"], description="asymmetric JWS algorithms, e.g. RS256,ES256"
    )
    leeway: float = Field(60.0, ge=0, description=_SECONDS)
    userinfo_method: Annotated[Literal["GET", "POST"], Upper] = Field(
        "POST", description="GET or POST"
    )
    jwks_ttl: float = Field(3600.0, ge=0, description=_SECONDS)
    jwks_refetch_cooldown: float = Field(60.0, ge=0, description=_SECONDS)
    login_timeout: float = Field(600.0, ge=0, description=_SECONDS)
    scope: Annotated[OptionText | None, BlankIsNone] = Field(
        "openid", description="space-separated OAuth scopes (default openid)"
    )
    acr_values: Annotated[OptionText | None, BlankIsNone] = Field(
        "LoA1", description="the requested assurance level, e.g. LoA1 (empty: none)"
    )
    fetch_userinfo: bool = Field(True, description="true or false")
    min_acr: Annotated[OptionText | None, BlankIsNone] = Field(
        None,
        description="the weakest level of assurance a login may have, e.g. LoA2 "
        "(default: the weakest of acr_values)",
    )
    trusted_audiences: PathList = Field(
        [],
        description="other client ids an ID token may also be issued to "
        "(comma-separated; default none)",
    )


def _client_secret(ctx: AuthContext) -> None:
    ctx.client_id("the client id the identity provider registered for this application")
    ctx.secret("the secret the identity provider issued (or env:NAME / file:PATH)")


def _private_key_jwt(ctx: AuthContext) -> None:
    ctx.client_id("the client id the identity provider registered for this application")
    if ctx.block.private_key_file is None:
        raise ctx.missing(
            "PRIVATE_KEY_FILE", "the path of a PEM private key registered with the provider"
        )


for _name, _where in (("client_secret_post", "body"), ("client_secret_basic", "Basic header")):
    register_auth_style(
        AuthStyle(
            _name,
            "platform",
            _client_secret,
            ("client_id", "client_secret"),
            summary=f"OpenID Connect client secret in the token request ({_where})",
            owner="sso",
        )
    )
register_auth_style(
    AuthStyle(
        "private_key_jwt",
        "platform",
        _private_key_jwt,
        ("client_id", "private_key_file", "extra.alg", "extra.kid"),
        summary="OpenID Connect signed client assertion",
        owner="sso",
    )
)
accept_auth_styles("sso", SSO_AUTH_STYLES, gateway_styles=False)
