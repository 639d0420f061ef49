"""Sans-I/O OAuth 2.0 / OpenID Connect: build requests, parse replies, no network.

Everything here is a pure function of its inputs (plus a random source for
state, nonce and PKCE), so the sync and async clients share one implementation
and the unit tests need no server. Requests are :class:`~govlink.core.driver.Send` steps;
the ``parse_*`` functions turn a :class:`~govlink.core.http.Reply` into a model or
an error that says what to do next.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt

from govlink.core.auth import basic_authorization
from govlink.core.driver import Send
from govlink.core.errors import ConfigurationError, ValidationError
from govlink.core.http import Reply
from govlink.sso._config import SsoConfig
from govlink.sso._errors import LoginStateError, SsoProviderError
from govlink.sso.models import IntrospectionResult, LoginState, TokenSet

__all__ = [
    "RESERVED_AUTHORIZE_PARAMS",
    "ClientAuth",
    "authorization_url",
    "check_callback",
    "introspection_call",
    "logout_url",
    "new_login_state",
    "oauth_error",
    "oidc_request",
    "parse_callback",
    "parse_introspection_reply",
    "parse_json_object",
    "parse_revocation_reply",
    "parse_token_reply",
    "parse_userinfo_reply",
    "pkce_challenge",
    "refresh_call",
    "revocation_call",
    "token_call",
    "userinfo_call",
]

RESERVED_AUTHORIZE_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "acr_values",
    }
)
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def oidc_request(
    method: str,
    url: str,
    *,
    safe: bool,
    data: dict[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Send:
    """One request to the provider, asking for JSON (``safe`` = may be retried)."""
    return Send(
        method, url, safe=safe, data=data, headers={"Accept": "application/json", **(headers or {})}
    )


# -- login start -----------------------------------------------------------------


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_login_state(
    redirect_uri: str, *, scope: str, acr_values: str | None, now: float
) -> LoginState:
    """Fresh unguessable ``state``, ``nonce`` and PKCE verifier for one login."""
    _check_redirect_uri(redirect_uri)
    if "openid" not in scope.split():
        raise ValidationError("scope", "a space-separated list that includes 'openid'", got=scope)
    return LoginState(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(48),  # 64 chars, within RFC 7636's 43..128
        redirect_uri=redirect_uri,
        scope=scope,
        acr_values=acr_values,
        created_at=now,
    )


def _check_redirect_uri(uri: str) -> None:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise ValidationError(
            "redirect_uri",
            "an absolute http(s) URL without a #fragment, registered with the provider",
            got=uri,
        )


def authorization_url(
    endpoint: str,
    client_id: str,
    state: LoginState,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The URL to send the browser to (code flow, PKCE S256, nonce, acr_values)."""
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": state.redirect_uri,
        "scope": state.scope,
        "state": state.state,
        "nonce": state.nonce,
        "code_challenge": pkce_challenge(state.code_verifier),
        "code_challenge_method": "S256",
    }
    if state.acr_values:
        params["acr_values"] = state.acr_values
    for key, value in (extra or {}).items():
        if key in RESERVED_AUTHORIZE_PARAMS:
            raise ValidationError(
                f"extra[{key!r}]",
                "a parameter govlink does not set itself (state, nonce, PKCE and redirect_uri "
                "are managed; use the acr_values= and scope= arguments)",
                got=key,
            )
        params[key] = str(value)
    separator = "&" if "?" in endpoint else "?"
    return endpoint + separator + urlencode(params)


# -- callback ---------------------------------------------------------------------


def parse_callback(value: str | Mapping[str, Any]) -> dict[str, str]:
    """The callback's query parameters from a full URL, a query string or a mapping.

    A parameter given twice is refused (OAuth forbids it; it smells of injection).
    """
    if isinstance(value, str):
        query = urlsplit(value).query if ("?" in value or "://" in value) else value
        pairs = parse_qsl(query, keep_blank_values=True)
        out: dict[str, str] = {}
        for key, item in pairs:
            if key in out:
                raise LoginStateError(
                    f"the callback carries parameter {key!r} twice",
                    hint="the callback URL was tampered with; start the login again",
                )
            out[key] = item
        return out
    result: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, list | tuple):
            if len(item) != 1:
                raise LoginStateError(
                    f"the callback carries parameter {key!r} {len(item)} times",
                    hint="the callback URL was tampered with; start the login again",
                )
            item = item[0]
        result[str(key)] = str(item)
    return result


def check_callback(
    params: Mapping[str, str],
    saved: LoginState,
    *,
    now: float,
    login_timeout: float,
    issuer: str | None = None,
    iss_required: bool = False,
) -> str:
    """The authorization code, once the callback is proven to belong to this login.

    Nothing from the callback is used before its ``state`` matches this login's — not
    even ``error``/``error_description``, which an attacker could otherwise inject
    into the application's pages and logs. Then its ``iss`` (RFC 9207) is checked:
    required when the provider advertises
    ``authorization_response_iss_parameter_supported`` (``iss_required``), compared
    with the issuer whenever present.
    """
    got_state = params.get("state")
    if not got_state:
        raise LoginStateError(
            "the callback has no state parameter",
            hint="the callback did not come from the login this session started; log in again",
        )
    if not hmac.compare_digest(got_state.encode(), saved.state.encode()):
        raise LoginStateError(
            "the callback's state does not match this session's login",
            hint="a forged callback, or a login started in another tab; log in again",
        )
    callback_iss = params.get("iss")
    if callback_iss is None and iss_required:
        raise LoginStateError(
            "the callback has no iss parameter, which this provider always sends (RFC 9207)",
            hint="a mix-up attack, or a proxy that drops parameters; log in again",
        )
    if callback_iss is not None and issuer is not None and callback_iss != issuer:
        raise LoginStateError(
            f"the callback comes from issuer {callback_iss!r}, expected {issuer!r}",
            hint="a mix-up attack or a misconfigured issuer; log in again",
        )
    error = params.get("error")
    if error:
        description = params.get("error_description")
        raise SsoProviderError(
            f"the identity provider refused the login: {error}"
            + (f" ({description})" if description else ""),
            error=error,
            error_description=description,
            raw=dict(params),
            hint=_CALLBACK_HINTS.get(error, "offer the user to log in again"),
        )
    if login_timeout and now - saved.created_at > login_timeout:
        raise LoginStateError(
            f"the login took longer than {login_timeout:g} s",
            hint="start the login again (GOVLINK_SSO__OPTIONS__LOGIN_TIMEOUT sets the limit)",
        )
    code = params.get("code")
    if not code:
        raise LoginStateError(
            "the callback has neither a code nor an error",
            hint="check that the provider redirects to this callback URL; log in again",
        )
    return code


_CALLBACK_HINTS = {
    "access_denied": "the user declined, or the provider denied access; offer to log in again",
    "login_required": "the user is not logged in at the provider; start an interactive login",
    "consent_required": "the user must consent at the provider; start an interactive login",
    "invalid_request": "the authorization request was malformed; check redirect_uri and scope",
    "unauthorized_client": "this client may not use the code flow; ask the provider",
    "server_error": "the provider failed; try again later",
    "temporarily_unavailable": "the provider is busy; try again later",
}


# -- client authentication ----------------------------------------------------------


class ClientAuth:
    """Adds the client's credentials to a token/introspect/revoke request.

    ``client_secret_post`` (form fields, what the national provider is observed to
    use), ``client_secret_basic`` (RFC 6749 §2.3.1 Basic header) or
    ``private_key_jwt`` (RFC 7523 client assertion signed with the configured key,
    ``aud`` = the token endpoint).
    """

    def __init__(self, config: SsoConfig) -> None:
        self.config = config
        self._private_key: Any = None
        if config.auth_style == "private_key_jwt":
            self._private_key = _load_private_key(config)

    def apply(
        self, data: dict[str, str], headers: dict[str, str], *, token_endpoint: str, now: float
    ) -> None:
        config = self.config
        style = config.auth_style
        if style == "client_secret_basic":
            assert config.client_secret is not None
            headers["Authorization"] = basic_authorization(
                config.client_id, config.client_secret, form_encode=True
            )
            return
        data["client_id"] = config.client_id
        if style == "client_secret_post":
            assert config.client_secret is not None
            data["client_secret"] = config.client_secret
        elif style == "private_key_jwt":
            data["client_assertion_type"] = JWT_BEARER
            data["client_assertion"] = self.assertion(token_endpoint, now=now)

    def assertion(self, audience: str, *, now: float) -> str:
        """A short-lived, single-use client assertion (RFC 7523 §3)."""
        claims = {
            "iss": self.config.client_id,
            "sub": self.config.client_id,
            "aud": audience,
            "jti": uuid.uuid4().hex,
            "iat": int(now),
            "exp": int(now) + 120,
        }
        headers = {"kid": self.config.assertion_kid} if self.config.assertion_kid else None
        return jwt.encode(
            claims, self._private_key, algorithm=self.config.assertion_alg, headers=headers
        )


def _load_private_key(config: SsoConfig) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    path = config.private_key_file
    assert path is not None
    try:
        return load_pem_private_key(path.expanduser().read_bytes(), password=None)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the SSO private key {path} ({exc.strerror})",
            setting="GOVLINK_SSO__AUTH__PRIVATE_KEY_FILE",
            expected="a readable PEM private key file",
        ) from None
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"{path} is not an unencrypted PEM private key ({exc})",
            setting="GOVLINK_SSO__AUTH__PRIVATE_KEY_FILE",
            expected="an unencrypted PEM private key (PKCS#8 or PKCS#1)",
        ) from None


# -- requests -------------------------------------------------------------------------


def _authenticated_post(
    auth: ClientAuth, url: str, data: dict[str, str], token_endpoint: str, now: float
) -> Send:
    headers: dict[str, str] = {}
    auth.apply(data, headers, token_endpoint=token_endpoint, now=now)
    return oidc_request("POST", url, safe=False, data=data, headers=headers)


def token_call(
    auth: ClientAuth, token_endpoint: str, code: str, state: LoginState, *, now: float
) -> Send:
    """Exchange the code. Not retried: a code is single-use."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": state.redirect_uri,
        "code_verifier": state.code_verifier,
    }
    return _authenticated_post(auth, token_endpoint, data, token_endpoint, now)


def refresh_call(
    auth: ClientAuth,
    token_endpoint: str,
    refresh_token: str,
    *,
    scope: str | None,
    now: float,
) -> Send:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if scope:
        data["scope"] = scope
    return _authenticated_post(auth, token_endpoint, data, token_endpoint, now)


def introspection_call(
    auth: ClientAuth,
    endpoint: str,
    token: str,
    *,
    token_endpoint: str,
    token_type_hint: str | None,
    now: float,
) -> Send:
    data = {"token": token}
    if token_type_hint:
        data["token_type_hint"] = token_type_hint
    return replace(_authenticated_post(auth, endpoint, data, token_endpoint, now), safe=True)


def revocation_call(
    auth: ClientAuth,
    endpoint: str,
    token: str,
    *,
    token_endpoint: str,
    token_type_hint: str | None,
    now: float,
) -> Send:
    data = {"token": token}
    if token_type_hint:
        data["token_type_hint"] = token_type_hint
    # revoking twice is harmless (RFC 7009 §2.2), so a retry is safe
    return replace(_authenticated_post(auth, endpoint, data, token_endpoint, now), safe=True)


def userinfo_call(endpoint: str, access_token: str, *, method: str) -> Send:
    headers = {"Authorization": f"Bearer {access_token}"}
    return oidc_request(
        method, endpoint, safe=True, data={} if method == "POST" else None, headers=headers
    )


def logout_url(
    endpoint: str,
    id_token_hint: str,
    post_logout_redirect_uri: str | None,
    state: str | None = None,
) -> str:
    """RP-initiated logout (``id_token_hint``, ``post_logout_redirect_uri``, ``state``)."""
    params = {"id_token_hint": id_token_hint}
    if post_logout_redirect_uri is not None:
        _check_redirect_uri(post_logout_redirect_uri)
        params["post_logout_redirect_uri"] = post_logout_redirect_uri
    if state is not None:
        params["state"] = state
    separator = "&" if "?" in endpoint else "?"
    return endpoint + separator + urlencode(params)


# -- replies ----------------------------------------------------------------------------

_ERROR_HINTS = {
    "invalid_client": "check GOVLINK_SSO__AUTH__CLIENT_ID, the client secret or key, and "
    "GOVLINK_SSO__AUTH__STYLE (client_secret_post, client_secret_basic, private_key_jwt)",
    "invalid_grant": "the code or refresh token is expired, already used, or was issued for "
    "another redirect_uri or PKCE verifier; start the login again",
    "invalid_token": "the access token expired or was revoked; refresh it or log in again",
    "unauthorized_client": "this client is not allowed this grant; ask the provider's operator",
    "unsupported_grant_type": "the provider does not allow this grant for this client",
    "invalid_request": "the request was malformed; check the redirect URI and parameters",
    "invalid_scope": "ask only for scopes registered for this client",
}


def oauth_error(reply: Reply, action: str) -> SsoProviderError:
    """An :class:`SsoProviderError` from an OAuth error reply (WSO2 style JSON or not)."""
    raw: Any
    try:
        raw = reply.json()
    except ValueError:
        raw = reply.content[:500].decode("utf-8", errors="replace")
    error = f"http_{reply.status_code}"
    description: str | None = None
    if isinstance(raw, Mapping):
        error = str(raw.get("error") or error)
        if raw.get("error_description") is not None:
            description = str(raw["error_description"])
    if error.startswith("http_"):
        header = reply.response.headers.get("WWW-Authenticate", "")
        if 'error="invalid_token"' in header:
            error = "invalid_token"
    message = f"{action} refused by the identity provider (HTTP {reply.status_code}): {error}"
    if description:
        message += f": {description}"
    return SsoProviderError(
        message,
        error=error,
        error_description=description,
        status_code=reply.status_code,
        raw=raw,
        hint=_ERROR_HINTS.get(error),
        correlation_id=reply.evidence.correlation_id,
    )


def parse_json_object(reply: Reply, action: str) -> dict[str, Any]:
    """The reply's JSON object, or an :class:`SsoProviderError` explaining what came."""
    if reply.status_code != 200:
        raise oauth_error(reply, action)
    try:
        body = reply.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        content_type = reply.response.headers.get("Content-Type", "?")
        raise SsoProviderError(
            f"{action}: the identity provider answered {content_type}, not a JSON object",
            error="invalid_response",
            status_code=reply.status_code,
            raw=reply.content[:500],
            hint="check the endpoint URL (GOVLINK_SSO__PATHS__…) or the discovery document",
            correlation_id=reply.evidence.correlation_id,
        )
    return body


_TOKEN_FIELDS = frozenset(TokenSet.model_fields) - {"extra", "received_at"}


def parse_token_reply(reply: Reply, action: str, *, now: float | None = None) -> TokenSet:
    body = parse_json_object(reply, action)
    if not isinstance(body.get("access_token"), str):
        raise SsoProviderError(
            f"{action}: the token reply has no access_token",
            error="invalid_response",
            status_code=reply.status_code,
            raw={k: v for k, v in body.items() if "token" not in k},
            correlation_id=reply.evidence.correlation_id,
        )
    known = {k: v for k, v in body.items() if k in _TOKEN_FIELDS}
    extra = {k: v for k, v in body.items() if k not in _TOKEN_FIELDS}
    return TokenSet.model_validate(
        {**known, "extra": extra, "received_at": time.time() if now is None else now}
    )


def parse_userinfo_reply(reply: Reply) -> dict[str, Any]:
    claims = parse_json_object(reply, "userinfo")
    if not isinstance(claims.get("sub"), str):
        raise SsoProviderError(
            "userinfo: the reply has no sub claim",
            error="invalid_response",
            status_code=reply.status_code,
            correlation_id=reply.evidence.correlation_id,
        )
    return claims


_INTROSPECTION_FIELDS = frozenset(IntrospectionResult.model_fields) - {"extra"}


def parse_introspection_reply(reply: Reply) -> IntrospectionResult:
    body = parse_json_object(reply, "token introspection")
    if not isinstance(body.get("active"), bool):
        raise SsoProviderError(
            "token introspection: the reply has no boolean 'active'",
            error="invalid_response",
            status_code=reply.status_code,
            raw=body,
            correlation_id=reply.evidence.correlation_id,
        )
    known = {k: v for k, v in body.items() if k in _INTROSPECTION_FIELDS}
    extra = {k: v for k, v in body.items() if k not in _INTROSPECTION_FIELDS}
    return IntrospectionResult.model_validate({**known, "extra": extra})


def parse_revocation_reply(reply: Reply) -> None:
    if reply.status_code != 200:
        raise oauth_error(reply, "token revocation")
