"""Errors of the SSO client, each naming the rule that failed.

They extend the core hierarchy so a caller can catch by meaning: a token that does
not verify is a :class:`~govlink.core.errors.SignatureError`; a login the provider
or the callback refused is an :class:`~govlink.core.errors.AuthenticationError`.
"""

from __future__ import annotations

from typing import Any

from govlink.core.errors import AuthenticationError, SignatureError

__all__ = [
    "InsufficientAssuranceError",
    "LoginStateError",
    "SsoProviderError",
    "TokenVerificationError",
]

_RULE_HINTS: dict[str, str] = {
    "format": "the value is not a signed JWT; check what was passed as the ID token",
    "alg": "the provider must sign with an allowed algorithm (GOVLINK_SSO__OPTIONS__ALGORITHMS)",
    "kid": "the signing key is not in the provider's JWKS even after a refetch; "
    "check jwks_uri and the provider's key rollover",
    "signature": "the token was altered or signed with a key the provider does not publish; "
    "do not trust it and start the login again",
    "iss": "check GOVLINK_SSO__OPTIONS__ISSUER or the provider's discovery document",
    "aud": "the token was issued to another client; check GOVLINK_SSO__AUTH__CLIENT_ID",
    "azp": "the token was issued to another client; check GOVLINK_SSO__AUTH__CLIENT_ID",
    "exp": "the token has expired; start the login again (or check the server clock)",
    "nbf": "the token is not valid yet; check the server clock",
    "iat": "the token was issued in the future; check the server clock "
    "(GOVLINK_SSO__OPTIONS__LEEWAY allows a small skew)",
    "nonce": "the token does not belong to this login (replay?); start the login again",
    "sub": "the provider's reply is inconsistent; start the login again",
    "at_hash": "the access token does not belong to this ID token; start the login again",
}


class TokenVerificationError(SignatureError):
    """An ID token failed one verification rule; ``rule`` names it (``exp``, ``aud``…)."""

    def __init__(self, rule: str, message: str, *, hint: str | None = None) -> None:
        self.rule = rule
        super().__init__(
            f"ID token rejected ({rule}): {message}",
            hint=hint or _RULE_HINTS.get(rule),
        )


class InsufficientAssuranceError(AuthenticationError):
    """The login's level of assurance is weaker than required.

    ``required`` is the weakest acceptable level (``LoA2``…), ``actual`` what the
    signed ID token (and, for VNeID, its ``loAs``/``IAL``) shows, or ``None`` when the
    provider stated no level at all.
    """

    def __init__(self, required: str, actual: str | None, *, detail: str = "") -> None:
        self.required = required
        self.actual = actual
        shown = actual if actual is not None else "no level at all"
        super().__init__(
            f"the login's level of assurance is {shown}, {required} or higher is required"
            + (f" ({detail})" if detail else ""),
            hint=f"ask the user to log in again with an account verified at {required} "
            f"(begin_login(acr_values={required!r})); do not grant access on this login",
        )


class LoginStateError(AuthenticationError):
    """The callback does not match the login this session started (state, age, code)."""


class SsoProviderError(AuthenticationError):
    """The identity provider answered with an OAuth error (``error``/``error_description``).

    ``status_code`` is the HTTP status when the error came in a reply (``None`` when
    it came back on the redirect to the callback URL); ``raw`` is the reply as parsed.
    """

    def __init__(
        self,
        message: str,
        *,
        error: str,
        error_description: str | None = None,
        status_code: int | None = None,
        raw: Any = None,
        hint: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self.error = error
        self.error_description = error_description
        self.status_code = status_code
        self.raw = raw
        super().__init__(message, hint=hint, correlation_id=correlation_id)
