"""The SSO clients: thin shells that run :class:`SsoProtocol`'s plans.

``SsoClient`` blocks, ``AsyncSsoClient`` awaits; both hand the same plans from
:mod:`govlink.sso._protocol` to the core driver's runners, so a fix in the protocol
fixes both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import httpx

from govlink.core.clock import Clock
from govlink.core.config import GovLinkSettings
from govlink.core.driver import AsyncRunner, Runner
from govlink.core.http import AsyncHttpTransport, HttpTransport, build_async_client, build_client
from govlink.core.lifecycle import AsyncClosable, Closable
from govlink.sso._discovery import ProviderMetadata
from govlink.sso._protocol import SsoProtocol, Steps
from govlink.sso._verify import KeySet
from govlink.sso.models import (
    CitizenIdentity,
    IntrospectionResult,
    LoginRequest,
    LoginResult,
    LoginState,
    OrganisationIdentity,
    TokenSet,
)

__all__ = ["AsyncSsoClient", "SsoClient"]

T = TypeVar("T")

Callback = str | Mapping[str, Any]
SavedState = LoginState | Mapping[str, Any] | str


class SsoClient(Closable):
    """OpenID Connect login against the national identity provider (blocking I/O).

    Typical web-app use::

        sso = SsoClient(settings)
        login = sso.begin_login("https://portal.example/callback")
        session["sso"] = login.state.model_dump()      # keep it server-side or signed
        redirect(login.url)
        ...
        result = sso.finish_login(request.url, session.pop("sso"))
        result.identity  # CitizenIdentity | OrganisationIdentity
    """

    def __init__(
        self,
        settings: GovLinkSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.protocol = SsoProtocol(settings, clock=clock)
        self._http = HttpTransport(build_client(settings, "sso", transport=transport), settings)
        self._runner = Runner(self._http)

    def _run(self, steps: Steps[T]) -> T:
        return self._runner.run(steps)

    def discover(self) -> ProviderMetadata:
        """The provider's endpoints (discovery document, else configuration); cached."""
        return self._run(self.protocol.discover())

    def signing_keys(self, *, refresh: bool = False) -> KeySet:
        """The provider's ID-token signing keys (the cached set unless ``refresh``)."""
        return self._run(self.protocol.keys(refresh=refresh))

    def begin_login(
        self,
        redirect_uri: str,
        *,
        acr_values: str | None = None,
        scope: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> LoginRequest:
        """The authorization URL and the :class:`LoginState` to keep in the session.

        ``acr_values`` defaults to ``LoA1`` (option ``acr_values``), ``scope`` to
        ``openid``; ``extra`` adds parameters such as ``prompt`` or ``login_hint``.
        """
        return self._run(
            self.protocol.begin_login(redirect_uri, acr_values=acr_values, scope=scope, extra=extra)
        )

    def finish_login(self, callback: Callback, saved_state: SavedState) -> LoginResult:
        """Check the callback against the saved state, redeem the code, verify, fetch userinfo.

        ``callback`` is the full callback URL, its query string, or its parameters.
        """
        return self._run(self.protocol.finish_login(callback, saved_state))

    def verify_id_token(
        self, id_token: str, *, nonce: str | None = None, access_token: str | None = None
    ) -> dict[str, Any]:
        """The claims of a verified ID token (JWKS cached; refetched once on a new key)."""
        return self._run(
            self.protocol.verify_id_token(id_token, nonce=nonce, access_token=access_token)
        )

    def userinfo(self, access_token: str) -> CitizenIdentity | OrganisationIdentity:
        return self._run(self.protocol.userinfo(access_token))

    def refresh(self, previous: LoginResult | TokenSet, *, scope: str | None = None) -> TokenSet:
        """New tokens for the same person: pass the login result or token set to refresh."""
        return self._run(self.protocol.refresh(previous, scope=scope))

    def introspect(self, token: str, *, token_type_hint: str | None = None) -> IntrospectionResult:
        """Ask the provider whether ``token`` is still active (and for whom)."""
        return self._run(self.protocol.introspect(token, token_type_hint=token_type_hint))

    def revoke(self, token: str, *, token_type_hint: str | None = None) -> None:
        self._run(self.protocol.revoke(token, token_type_hint=token_type_hint))

    def logout_url(
        self,
        id_token_hint: str,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
    ) -> str:
        """Where to send the browser to end the provider's session too."""
        return self._run(self.protocol.logout_url(id_token_hint, post_logout_redirect_uri, state))

    def close(self) -> None:
        self._http.close()


class AsyncSsoClient(AsyncClosable):
    """The asynchronous twin of :class:`SsoClient` (same methods, awaited)."""

    def __init__(
        self,
        settings: GovLinkSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.protocol = SsoProtocol(settings, clock=clock)
        self._http = AsyncHttpTransport(
            build_async_client(settings, "sso", transport=transport), settings
        )
        self._runner = AsyncRunner(self._http)

    async def _run(self, steps: Steps[T]) -> T:
        return await self._runner.run(steps)

    async def discover(self) -> ProviderMetadata:
        return await self._run(self.protocol.discover())

    async def signing_keys(self, *, refresh: bool = False) -> KeySet:
        return await self._run(self.protocol.keys(refresh=refresh))

    async def begin_login(
        self,
        redirect_uri: str,
        *,
        acr_values: str | None = None,
        scope: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> LoginRequest:
        return await self._run(
            self.protocol.begin_login(redirect_uri, acr_values=acr_values, scope=scope, extra=extra)
        )

    async def finish_login(self, callback: Callback, saved_state: SavedState) -> LoginResult:
        return await self._run(self.protocol.finish_login(callback, saved_state))

    async def verify_id_token(
        self, id_token: str, *, nonce: str | None = None, access_token: str | None = None
    ) -> dict[str, Any]:
        return await self._run(
            self.protocol.verify_id_token(id_token, nonce=nonce, access_token=access_token)
        )

    async def userinfo(self, access_token: str) -> CitizenIdentity | OrganisationIdentity:
        return await self._run(self.protocol.userinfo(access_token))

    async def refresh(
        self, previous: LoginResult | TokenSet, *, scope: str | None = None
    ) -> TokenSet:
        """See :meth:`SsoClient.refresh`."""
        return await self._run(self.protocol.refresh(previous, scope=scope))

    async def introspect(
        self, token: str, *, token_type_hint: str | None = None
    ) -> IntrospectionResult:
        return await self._run(self.protocol.introspect(token, token_type_hint=token_type_hint))

    async def revoke(self, token: str, *, token_type_hint: str | None = None) -> None:
        await self._run(self.protocol.revoke(token, token_type_hint=token_type_hint))

    async def logout_url(
        self,
        id_token_hint: str,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
    ) -> str:
        return await self._run(
            self.protocol.logout_url(id_token_hint, post_logout_redirect_uri, state)
        )

    async def aclose(self) -> None:
        await self._http.aclose()
