"""Log citizens and organisations in through the national identity provider (OIDC).

The provider (DVCQG shared authentication, VNeID-backed) is a WSO2 Identity
Server speaking OAuth 2.0 / OpenID Connect. :class:`SsoClient` and
:class:`AsyncSsoClient` run the authorization-code flow with PKCE, verify the ID
token against the provider's JWKS, and map the userinfo claims (Vietnamese names)
to :class:`CitizenIdentity` or :class:`OrganisationIdentity`.
"""

from __future__ import annotations

from govlink.sso._assurance import meets_level
from govlink.sso._discovery import ProviderMetadata
from govlink.sso._errors import (
    InsufficientAssuranceError,
    LoginStateError,
    SsoProviderError,
    TokenVerificationError,
)
from govlink.sso._verify import IdTokenVerifier, KeySet, UnknownKeyError
from govlink.sso.client import AsyncSsoClient, SsoClient
from govlink.sso.models import (
    Address,
    CitizenIdentity,
    IntrospectionResult,
    LevelOfAssurance,
    LoginRequest,
    LoginResult,
    LoginState,
    OrganisationIdentity,
    Relative,
    TokenSet,
    identity_from_claims,
)

__all__ = [
    "Address",
    "AsyncSsoClient",
    "CitizenIdentity",
    "IdTokenVerifier",
    "InsufficientAssuranceError",
    "IntrospectionResult",
    "KeySet",
    "LevelOfAssurance",
    "LoginRequest",
    "LoginResult",
    "LoginState",
    "LoginStateError",
    "OrganisationIdentity",
    "ProviderMetadata",
    "Relative",
    "SsoClient",
    "SsoProviderError",
    "TokenSet",
    "TokenVerificationError",
    "UnknownKeyError",
    "identity_from_claims",
    "meets_level",
]
