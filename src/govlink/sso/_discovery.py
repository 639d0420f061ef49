"""Where the provider's endpoints are: its discovery document, else configuration.

The national provider is a WSO2 Identity Server. Whether a deployment exposes
``/.well-known/openid-configuration`` varies, so the client asks once and falls
back to the configured paths (WSO2 defaults, see :data:`DEFAULT_PATHS`). Explicit
settings always win over what discovery says: an operator who set a path did so
because the provider's metadata is wrong for their network (a gateway in front,
an internal host name in the document).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict

from govlink.core.driver import Send
from govlink.core.http import Reply
from govlink.sso._config import DEFAULT_PATHS, DISCOVERY_PATHS, SsoConfig
from govlink.sso._flow import oidc_request

__all__ = [
    "ProviderMetadata",
    "configured_metadata",
    "discovery_calls",
    "metadata_from_document",
    "parse_discovery_reply",
]

log = logging.getLogger("govlink.sso")

# discovery document key -> our path name
_ENDPOINT_KEYS = {
    "authorization_endpoint": "authorize",
    "token_endpoint": "token",
    "userinfo_endpoint": "userinfo",
    "introspection_endpoint": "introspect",
    "revocation_endpoint": "revoke",
    "end_session_endpoint": "logout",
    "jwks_uri": "jwks",
}


class ProviderMetadata(BaseModel):
    """The provider's endpoints and issuer; ``source`` says where they came from."""

    model_config = ConfigDict(extra="allow", frozen=True)

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    introspection_endpoint: str
    revocation_endpoint: str
    end_session_endpoint: str
    source: str = "configuration"
    """``discovery`` (with the document's URL) or ``configuration``."""
    id_token_signing_alg_values_supported: list[str] = []
    code_challenge_methods_supported: list[str] = []
    token_endpoint_auth_methods_supported: list[str] = []
    authorization_response_iss_parameter_supported: bool = False
    """RFC 9207: the provider puts ``iss`` on every authorization response."""


def discovery_calls(config: SsoConfig) -> list[Send]:
    """The URLs to try, in order (the configured one only, when set)."""
    explicit = config.paths.get("discovery")
    paths = (explicit,) if explicit else DISCOVERY_PATHS
    return [oidc_request("GET", config.url(p), safe=True) for p in paths]


def parse_discovery_reply(reply: Reply) -> dict[str, Any] | None:
    """The discovery document, or None when this URL does not offer one."""
    if reply.status_code != 200:
        return None
    try:
        document = reply.json()
    except ValueError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("issuer"), str):
        return None
    return document


def configured_metadata(config: SsoConfig) -> ProviderMetadata:
    """Endpoints from settings and WSO2 defaults; issuer defaults to the token endpoint.

    WSO2 puts ``<host>/oauth2/token`` in ``iss`` unless its operator changed it,
    hence that default (override with ``GOVLINK_SSO__OPTIONS__ISSUER``).
    """
    urls = {name: config.url(config.paths.get(name, path)) for name, path in DEFAULT_PATHS.items()}
    values = {key: urls[name] for key, name in _ENDPOINT_KEYS.items()}
    return ProviderMetadata(issuer=config.issuer or urls["token"], source="configuration", **values)


def metadata_from_document(
    config: SsoConfig, document: dict[str, Any], url: str
) -> ProviderMetadata:
    """Merge a discovery document with explicit settings (settings win) and defaults."""
    fallback = configured_metadata(config)
    values: dict[str, Any] = {k: v for k, v in document.items() if k not in _ENDPOINT_KEYS}
    for key, name in _ENDPOINT_KEYS.items():
        discovered = document.get(key)
        if name in config.paths or not isinstance(discovered, str):
            values[key] = getattr(fallback, key)
        else:
            values[key] = discovered
    values["issuer"] = config.issuer or document["issuer"]
    values["source"] = f"discovery ({url})"
    if not isinstance(values.get("authorization_response_iss_parameter_supported", False), bool):
        values.pop("authorization_response_iss_parameter_supported")
    for key in (
        "id_token_signing_alg_values_supported",
        "code_challenge_methods_supported",
        "token_endpoint_auth_methods_supported",
    ):
        if not isinstance(values.get(key, []), list):
            values.pop(key)
    metadata = ProviderMetadata.model_validate(values)
    supported = set(metadata.id_token_signing_alg_values_supported)
    if supported and not supported & set(config.algorithms):
        log.warning(
            "the provider signs ID tokens with %s but only %s are allowed "
            "(GOVLINK_SSO__OPTIONS__ALGORITHMS); logins will fail",
            ", ".join(sorted(supported)),
            ", ".join(config.algorithms),
        )
    return metadata
