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
from govlink.sso import flow
from govlink.sso.config import SsoConfig
from govlink.sso.discovery import (
    ProviderMetadata,
    configured_metadata,
    discovery_calls,
    metadata_from_document,
    parse_discovery_reply,
)
from govlink.sso.errors import TokenVerificationError
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
from govlink.sso.verify import IdTokenVerifier, KeySet, UnknownKeyError

__all__ = ["SsoProtocol", "Steps"]

log = logging.getLogger("govlink.sso")

T = TypeVar("T")
Steps = Plan[T]
"""An operation: a driver plan returning ``T``."""


class SsoProtocol:
    """State and logic of one SSO client, free of I/O."""

    def __init__(self, settings: GovLinkSettings, *, clock: Clock | None = None) -> None:
        self.config = SsoConfig.from_settings(settings)
        self._now: Callable[[], float] = (
            (lambda: clock.now().timestamp()) if clock is not None else time.time
        )
        self.client_auth = flow.ClientAuth(self.config)
        self._metadata: ProviderMetadata | None = None
        self._keys: KeySet | None = None
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
        now = self.now()
        if keys is not None and not refresh and now - keys.fetched_at < self.config.jwks_ttl:
            return keys
        metadata = yield from self.metadata()
        reply = yield flow.oidc_request("GET", metadata.jwks_uri, safe=True)
        document = flow.parse_json_object(reply, "fetching the provider's JWKS")
        self._keys = KeySet.from_jwks(document, fetched_at=now)
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
            now = self.now()
            last = self._last_forced_refetch
            if last is not None and now - last < self.config.jwks_refetch_cooldown:
                log.info("ID token signed with unknown key %r; JWKS refetched recently", exc.kid)
                raise
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

    def refresh(self, refresh_token: str, *, scope: str | None) -> Steps[TokenSet]:
        """New tokens; a new ID token is verified (without a nonce, per OIDC §12.2)."""
        metadata = yield from self.metadata()
        call = flow.refresh_call(
            self.client_auth, metadata.token_endpoint, refresh_token, scope=scope, now=self.now()
        )
        tokens = flow.parse_token_reply((yield call), "refreshing the tokens")
        if tokens.id_token:
            yield from self.verify_id_token(tokens.id_token, access_token=tokens.access_token)
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
