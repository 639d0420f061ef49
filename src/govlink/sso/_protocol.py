"""Every SSO operation once, as a driver plan (the sans-I/O core).

Each public operation is a :data:`~govlink.core.driver.Plan`: it *yields* the
:class:`~govlink.core.driver.Send` steps it needs and *receives* each
:class:`~govlink.core.http.Reply`, then returns its result. The core
:class:`~govlink.core.driver.Runner` runs them for :class:`~govlink.sso.client.SsoClient`
and :class:`~govlink.core.driver.AsyncRunner` for
:class:`~govlink.sso.client.AsyncSsoClient`; neither client holds any logic of its
own. Caches (discovery metadata, JWKS) live here, shared by both.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from govlink.core.clock import Clock
from govlink.core.config import GovLinkSettings
from govlink.core.driver import Plan
from govlink.core.errors import ValidationError
from govlink.sso import _flow as flow
from govlink.sso._assurance import check_level, weakest_level
from govlink.sso._config import SsoConfig
from govlink.sso._discovery import (
    ProviderMetadata,
    configured_metadata,
    discovery_calls,
    metadata_from_document,
    parse_discovery_reply,
)
from govlink.sso._errors import TokenVerificationError
from govlink.sso._verify import IdTokenVerifier, KeySet, UnknownKeyError
from govlink.sso.models import (
    CitizenIdentity,
    IntrospectionResult,
    LoginRequest,
    LoginResult,
    LoginState,
    OrganisationIdentity,
    TokenSet,
    identity_from_claims,
)

__all__ = ["SsoProtocol", "Steps"]

log = logging.getLogger("govlink.sso")

T = TypeVar("T")
Steps = Plan[T]
"""An operation: a driver plan returning ``T``."""


class SsoProtocol:
    """State and logic of one SSO client, free of I/O."""

    def __init__(
        self,
        settings: GovLinkSettings,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.config = SsoConfig.from_settings(settings)
        self._now: Callable[[], float] = (
            (lambda: clock.now().timestamp()) if clock is not None else time.time
        )
        # Cache ages (JWKS TTL, refetch cooldown) are measured on a monotonic clock: a
        # wall-clock step (NTP, a VM resumed) must not keep a rotated key out.
        self._monotonic: Callable[[], float] = (
            clock.monotonic if clock is not None else time.monotonic
        )
        self.client_auth = flow.ClientAuth(self.config)
        self._metadata: ProviderMetadata | None = None
        self._keys: KeySet | None = None
        self._keys_loaded_at: float = 0.0
        self._last_forced_refetch: float | None = None
        self._verifier: IdTokenVerifier | None = None

    def now(self) -> float:
        return self._now()

    # -- caches -------------------------------------------------------------------------

    def metadata(self) -> Steps[ProviderMetadata]:
        """Discovery once per client; configured endpoints when none is offered."""
        if self._metadata is not None:
            return self._metadata
        if self.config.discovery:
            for call in discovery_calls(self.config):
                reply = yield call
                document = parse_discovery_reply(reply)
                if document is not None:
                    self._metadata = metadata_from_document(self.config, document, call.url)
                    log.debug("SSO endpoints from %s", call.url)
                    return self._metadata
            log.info(
                "the identity provider offers no discovery document; using configured "
                "endpoints (GOVLINK_SSO__PATHS__…, WSO2 defaults)"
            )
        self._metadata = configured_metadata(self.config)
        return self._metadata

    def keys(self, *, refresh: bool = False) -> Steps[KeySet]:
        """The provider's JWKS, cached for ``jwks_ttl`` seconds or until ``refresh``."""
        keys = self._keys
        age = self._monotonic() - self._keys_loaded_at
        if keys is not None and not refresh and 0 <= age < self.config.jwks_ttl:
            return keys
        metadata = yield from self.metadata()
        reply = yield flow.oidc_request("GET", metadata.jwks_uri, safe=True)
        document = flow.parse_json_object(reply, "fetching the provider's JWKS")
        self._keys = KeySet.from_jwks(document, fetched_at=self.now())
        self._keys_loaded_at = self._monotonic()
        log.debug("loaded %d signing key(s) from %s", len(self._keys), metadata.jwks_uri)
        return self._keys

    def verifier(self) -> Steps[IdTokenVerifier]:
        if self._verifier is None:
            metadata = yield from self.metadata()
            self._verifier = IdTokenVerifier(
                issuer=metadata.issuer,
                client_id=self.config.client_id,
                algorithms=self.config.algorithms,
                leeway=self.config.leeway,
                clock=self._now,
                trusted_audiences=self.config.trusted_audiences,
            )
        return self._verifier

    # -- operations ----------------------------------------------------------------------

    def discover(self) -> Steps[ProviderMetadata]:
        return (yield from self.metadata())

    def verify_id_token(
        self, id_token: str, *, nonce: str | None = None, access_token: str | None = None
    ) -> Steps[dict[str, Any]]:
        """Verified claims; on an unknown ``kid`` the JWKS is refetched exactly once.

        Forced refetches are rate limited (``jwks_refetch_cooldown``, default 60 s):
        tokens with made-up ``kid`` values must not let anyone who can hand us a token
        drive requests to the provider's JWKS endpoint.
        """
        verifier = yield from self.verifier()
        cached = self._keys
        keys = yield from self.keys()
        try:
            return verifier.verify(id_token, keys, nonce=nonce, access_token=access_token)
        except UnknownKeyError as exc:
            if keys is not cached:
                raise  # the key set was fetched for this very token: no second fetch
            now = self._monotonic()
            last = self._last_forced_refetch
            cooldown = self.config.jwks_refetch_cooldown
            if last is not None and 0 <= now - last < cooldown:
                ago = now - last
                log.info("ID token signed with unknown key %r; JWKS refetched recently", exc.kid)
                raise UnknownKeyError(
                    exc.kid,
                    keys.kids(),
                    hint=f"the JWKS was not fetched again: it was refetched {ago:.0f} s ago "
                    f"for another unknown key, and govlink waits {cooldown:g} s between such "
                    "refetches (GOVLINK_SSO__OPTIONS__JWKS_REFETCH_COOLDOWN); if the provider "
                    f"has just rotated its keys, retry in {cooldown - ago:.0f} s",
                ) from None
            self._last_forced_refetch = now
            log.info("ID token signed with unknown key %r; refetching the JWKS once", exc.kid)
        keys = yield from self.keys(refresh=True)
        return verifier.verify(id_token, keys, nonce=nonce, access_token=access_token)

    def begin_login(
        self,
        redirect_uri: str,
        *,
        acr_values: str | None,
        scope: str | None,
        extra: Mapping[str, str] | None,
    ) -> Steps[LoginRequest]:
        metadata = yield from self.metadata()
        state = flow.new_login_state(
            redirect_uri,
            scope=scope or self.config.scope,
            acr_values=self.config.acr_values if acr_values is None else (acr_values or None),
            now=self.now(),
        )
        url = flow.authorization_url(
            metadata.authorization_endpoint, self.config.client_id, state, extra
        )
        return LoginRequest(url=url, state=state)

    def finish_login(
        self,
        callback: str | Mapping[str, Any],
        saved_state: LoginState | Mapping[str, Any] | str,
    ) -> Steps[LoginResult]:
        saved = LoginState.coerce(saved_state)
        params = flow.parse_callback(callback)
        metadata = yield from self.metadata()
        code = flow.check_callback(
            params,
            saved,
            now=self.now(),
            login_timeout=self.config.login_timeout,
            issuer=metadata.issuer,
            iss_required=metadata.authorization_response_iss_parameter_supported,
        )
        call = flow.token_call(
            self.client_auth, metadata.token_endpoint, code, saved, now=self.now()
        )
        tokens = flow.parse_token_reply((yield call), "exchanging the authorization code")
        if not tokens.id_token:
            raise TokenVerificationError(
                "format",
                "the token reply has no id_token",
                hint="the provider did not treat this as an OpenID Connect login; "
                "check that scope includes 'openid'",
            )
        id_claims = yield from self.verify_id_token(
            tokens.id_token, nonce=saved.nonce, access_token=tokens.access_token
        )
        userinfo: dict[str, Any] = {}
        if self.config.fetch_userinfo:
            userinfo = yield from self.userinfo_claims(tokens.access_token)
            if userinfo.get("sub") != id_claims["sub"]:
                raise TokenVerificationError(
                    "sub",
                    "userinfo describes another subject than the ID token "
                    "(OIDC Core §5.3.2 forbids using it)",
                )
        identity = identity_from_claims(userinfo or id_claims)
        required = self.config.min_acr or weakest_level(saved.acr_values)
        if required is not None:
            check_level(
                required,
                id_claims,
                ial=identity.ial,
                loa_levels=tuple(x.level for x in identity.loas if x.level),
            )
        return LoginResult(tokens=tokens, id_claims=id_claims, identity=identity, userinfo=userinfo)

    def userinfo_claims(self, access_token: str) -> Steps[dict[str, Any]]:
        metadata = yield from self.metadata()
        call = flow.userinfo_call(
            metadata.userinfo_endpoint, access_token, method=self.config.userinfo_method
        )
        return flow.parse_userinfo_reply((yield call))

    def userinfo(self, access_token: str) -> Steps[CitizenIdentity | OrganisationIdentity]:
        claims = yield from self.userinfo_claims(access_token)
        return identity_from_claims(claims)

    def refresh(self, previous: LoginResult | TokenSet, *, scope: str | None) -> Steps[TokenSet]:
        """New tokens for the same person (OIDC Core §12.2).

        ``previous`` is the login result or token set being refreshed: its refresh
        token is sent, and a new ID token must verify (without a nonce) *and* name the
        same subject as the previous one — tokens for another person are refused.
        """
        tokens_before, subject = _previous_tokens(previous)
        if not tokens_before.refresh_token:
            raise ValidationError(
                "previous", "a login result or token set that holds a refresh token"
            )
        metadata = yield from self.metadata()
        call = flow.refresh_call(
            self.client_auth,
            metadata.token_endpoint,
            tokens_before.refresh_token,
            scope=scope,
            now=self.now(),
        )
        tokens = flow.parse_token_reply((yield call), "refreshing the tokens")
        if tokens.id_token:
            claims = yield from self.verify_id_token(
                tokens.id_token, access_token=tokens.access_token
            )
            if subject is not None and claims.get("sub") != subject:
                raise TokenVerificationError(
                    "sub",
                    "the refreshed ID token names another subject than the login it refreshes",
                    hint="OIDC Core §12.2 forbids accepting it: end this session and ask the "
                    "user to log in again",
                )
        return tokens

    def introspect(self, token: str, *, token_type_hint: str | None) -> Steps[IntrospectionResult]:
        metadata = yield from self.metadata()
        call = flow.introspection_call(
            self.client_auth,
            metadata.introspection_endpoint,
            token,
            token_endpoint=metadata.token_endpoint,
            token_type_hint=token_type_hint,
            now=self.now(),
        )
        return flow.parse_introspection_reply((yield call))

    def revoke(self, token: str, *, token_type_hint: str | None) -> Steps[None]:
        metadata = yield from self.metadata()
        call = flow.revocation_call(
            self.client_auth,
            metadata.revocation_endpoint,
            token,
            token_endpoint=metadata.token_endpoint,
            token_type_hint=token_type_hint,
            now=self.now(),
        )
        flow.parse_revocation_reply((yield call))

    def logout_url(
        self, id_token_hint: str, post_logout_redirect_uri: str | None, state: str | None
    ) -> Steps[str]:
        metadata = yield from self.metadata()
        return flow.logout_url(
            metadata.end_session_endpoint, id_token_hint, post_logout_redirect_uri, state
        )


def _previous_tokens(previous: LoginResult | TokenSet) -> tuple[TokenSet, str | None]:
    """The token set being refreshed and the subject its login was for."""
    if isinstance(previous, LoginResult):
        subject = previous.id_claims.get("sub")
        return previous.tokens, subject if isinstance(subject, str) else None
    if isinstance(previous, TokenSet):
        return previous, _stored_subject(previous.id_token)
    raise ValidationError(
        "previous",
        "the LoginResult or TokenSet being refreshed (a bare refresh token cannot prove "
        "that the new tokens are for the same person)",
        got=type(previous).__name__,
    )


def _stored_subject(id_token: str | None) -> str | None:
    """``sub`` of an ID token this application already verified and stored.

    Its signature was checked when it was received; here it only says whom the
    stored tokens belong to, so it is read without verifying again (an expired ID
    token is normal at refresh time).
    """
    if not id_token:
        return None
    import base64
    import json

    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    return subject if isinstance(subject, str) else None
