"""Authentication for the gateways and platforms (PLATFORMS.md §2, §4, §6).

* :mod:`._registry` — the one registry of auth styles, validated when settings load
  (:func:`register_auth_style`, :func:`accept_auth_styles`, :func:`resolve_auth`,
  :func:`auth_for`);
* :mod:`._tokens` — gateway token styles (WSO2 client credentials, header-JSON token,
  Hà Giang ``lgspaccesstoken``);
* :mod:`._headers` — per-request header styles (hashed Basic, X-Road, bearer, Ho Chi
  Minh City JSON credentials).

Platform logins live in their platform: the DVCQG session is
:mod:`govlink.dossiers._session`, registered as the ``dvcqg_session`` style by
:mod:`govlink.dossiers.options`.
"""

from __future__ import annotations

from typing import Any

from govlink.core.auth._cache import Token, TokenCache
from govlink.core.auth._headers import (
    HashedBasicAuth,
    HeaderJsonCredentialsAuth,
    StaticBearerAuth,
    XRoadClientAuth,
    basic_authorization,
    hashed_basic_credentials,
    lgsp_credentials,
)
from govlink.core.auth._registry import (
    AuthContext,
    AuthStyle,
    ResolvedAuth,
    accept_auth_styles,
    accepted_auth_styles,
    auth_for,
    auth_style,
    auth_styles,
    chain_auth,
    extra_value,
    register_auth_style,
    resolve_auth,
    validate_auth,
)
from govlink.core.auth._tokens import (
    ClientCredentialsAuth,
    GatewayHeaderJsonAuth,
    LgspUserTokenAuth,
    TokenAuth,
)

__all__ = [
    "AUTH_STYLES",
    "PLATFORM_HANDLED_STYLES",
    "AuthContext",
    "AuthStyle",
    "ClientCredentialsAuth",
    "GatewayHeaderJsonAuth",
    "HashedBasicAuth",
    "HeaderJsonCredentialsAuth",
    "LgspUserTokenAuth",
    "ResolvedAuth",
    "StaticBearerAuth",
    "Token",
    "TokenAuth",
    "TokenCache",
    "XRoadClientAuth",
    "accept_auth_styles",
    "accepted_auth_styles",
    "auth_for",
    "auth_style",
    "auth_styles",
    "basic_authorization",
    "chain_auth",
    "extra_value",
    "hashed_basic_credentials",
    "lgsp_credentials",
    "register_auth_style",
    "resolve_auth",
    "validate_auth",
]


def __getattr__(name: str) -> Any:
    """``AUTH_STYLES`` / ``PLATFORM_HANDLED_STYLES``: views of the registry, computed
    when asked (platforms register their own styles when settings first load)."""
    if name == "AUTH_STYLES":
        return frozenset(auth_styles())
    if name == "PLATFORM_HANDLED_STYLES":
        return frozenset(n for n, s in auth_styles().items() if s.kind == "platform")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
