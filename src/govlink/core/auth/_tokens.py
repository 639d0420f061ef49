"""Gateway token styles: fetch a token, cache it, refresh it, replay once on 401.

Every strategy is an :class:`httpx.Auth`, so it plugs into the client factory of
:mod:`govlink.core.http` and works with ``httpx.Client`` and ``httpx.AsyncClient``
alike. The styles share one sans-I/O core (:class:`TokenCache` plus a "how to ask
for a token" builder per gateway style) and two thin shells that differ only in their
lock and in ``await``:

* the token request is *yielded* from the auth flow with an absolute URL, so it goes
  through the same client (pooling, proxy, mTLS, timeouts, and the test transports);
* a token is cached and refreshed ``refresh_margin`` seconds before it expires;
* concurrent callers wait for the one caller that fetches (a thread lock for sync
  clients, one asyncio lock per event loop for async clients), so 50 callers cause
  exactly one token request;
* a 401 from the API triggers one refresh and one replay; a second 401 is returned
  to the caller, never looped on.

Each style registers itself in :mod:`govlink.core.auth._registry` at the bottom.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import Any, Literal
from urllib.parse import quote

import httpx

from govlink._version import __version__
from govlink.core.auth._cache import Token, TokenCache
from govlink.core.auth._headers import (
    LGSP_CREDENTIAL_SETTINGS,
    basic_authorization,
    lgsp_credentials,
)
from govlink.core.auth._registry import AuthContext, AuthStyle, register_auth_style
from govlink.core.clock import Clock
from govlink.core.errors import AuthenticationError, TokenUnavailableError
from govlink.core.http import CORRELATION_HEADER as _CORRELATION_HEADER
from govlink.core.locks import LoopLocks
from govlink.core.redact import redact_text

__all__ = ["ClientCredentialsAuth", "GatewayHeaderJsonAuth", "LgspUserTokenAuth", "TokenAuth"]

log = logging.getLogger("govlink.auth")

_MAX_ERROR_TEXT = 300


def _masked_reply_text(response: httpx.Response, secrets: tuple[str, ...]) -> str:
    text = response.text[:_MAX_ERROR_TEXT].strip() or f"HTTP {response.status_code}, empty body"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return redact_text(text)


def _dig(data: Any, path: str) -> Any:
    """``data["a"]["b"]`` for ``path == "a.b"``; None when any step is missing."""
    for part in path.split("."):
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


class TokenAuth(httpx.Auth, ABC):
    """Token cache, single flight and one-replay-on-401; subclasses say how to ask."""

    def __init__(
        self,
        token_url: str,
        *,
        refresh_margin: float = 30.0,
        clock: Clock | None = None,
        token_field: str = "access_token",  # noqa: S107 - a JSON key, not a secret
        expires_field: str = "expires_in",
        settings_prefix: str | None = None,
    ) -> None:
        if not token_url.startswith(("http://", "https://")):
            raise ValueError(f"token_url must be an absolute http(s) URL, got {token_url!r}")
        self.token_url = token_url
        self.token_field = token_field
        self.expires_field = expires_field
        self.settings_prefix = settings_prefix
        self.cache = TokenCache(clock, refresh_margin)
        self._thread_lock = threading.Lock()
        self._async_locks = LoopLocks()

    # -- what differs between gateway styles ---------------------------------------

    @abstractmethod
    def build_token_request(self) -> httpx.Request:
        """The request that obtains a token (absolute URL)."""

    def _secrets(self) -> tuple[str, ...]:
        return ()

    def _credentials_hint(self) -> str:
        return "the credentials"

    # -- sans-I/O core ---------------------------------------------------------------

    def _token_request(self, api_request: httpx.Request) -> httpx.Request:
        request = self.build_token_request()
        request.headers.setdefault("User-Agent", f"govlink/{__version__}")
        cid = api_request.headers.get(_CORRELATION_HEADER)
        if cid:
            request.headers[_CORRELATION_HEADER] = cid
        log.debug("requesting a token from %s [correlation id %s]", self.token_url, cid)
        return request

    def _hint(self) -> str:
        where = f" ({self.settings_prefix}…)" if self.settings_prefix else ""
        return f"check {self._credentials_hint()}{where} and the token URL {self.token_url}"

    def parse_token_reply(self, response: httpx.Response, correlation_id: str | None) -> Token:
        """Turn the gateway's reply into a :class:`Token`, or raise what to fix."""
        status = response.status_code
        if status == 429 or status >= 500:
            raise TokenUnavailableError(
                f"the token endpoint answered HTTP {status}: "
                f"{_masked_reply_text(response, self._secrets())}",
                hint="the gateway is unavailable; nothing was sent to the API, retry later",
                correlation_id=correlation_id,
            )
        if not 200 <= status < 300:
            raise AuthenticationError(
                f"the gateway refused the token request (HTTP {status}): "
                f"{_masked_reply_text(response, self._secrets())}",
                hint=self._hint(),
                correlation_id=correlation_id,
            )
        try:
            data = response.json()
        except ValueError:
            raise AuthenticationError(
                "the token endpoint did not answer JSON: "
                f"{_masked_reply_text(response, self._secrets())}",
                hint=f"check that {self.token_url} is the gateway's token URL",
                correlation_id=correlation_id,
            ) from None
        value = _dig(data, self.token_field)
        if not isinstance(value, str) or not value:
            raise AuthenticationError(
                f"the token reply has no {self.token_field!r}: "
                f"{_masked_reply_text(response, self._secrets())}",
                hint=self._hint(),
                correlation_id=correlation_id,
            )
        expires_in: float | None
        try:
            raw_expiry = _dig(data, self.expires_field)
            expires_in = float(raw_expiry) if raw_expiry is not None else None
        except (TypeError, ValueError):
            expires_in = None
        token_type = data.get("token_type") if isinstance(data, Mapping) else None
        scope = data.get("scope") if isinstance(data, Mapping) else None
        return self.cache.make(
            value,
            token_type=token_type if isinstance(token_type, str) and token_type else "Bearer",
            expires_in=expires_in,
            scope=scope if isinstance(scope, str) else None,
        )

    def _accept(self, response: httpx.Response, api_request: httpx.Request) -> Token:
        token = self.parse_token_reply(response, api_request.headers.get(_CORRELATION_HEADER))
        self.cache.store(token)
        log.info(
            "obtained a gateway token from %s (expires in %s s)",
            self.token_url,
            "?" if token.expires_in is None else f"{token.expires_in:g}",
        )
        return token

    def _apply(self, request: httpx.Request, token: Token) -> None:
        """Put ``token`` on an API request (``Authorization: Bearer`` unless overridden)."""
        request.headers["Authorization"] = token.authorization()

    @staticmethod
    def _log_replay(request: httpx.Request) -> None:
        log.info(
            "HTTP 401 from %s %s: refreshing the token and replaying once [correlation id %s]",
            request.method,
            redact_text(str(request.url)),
            request.headers.get(_CORRELATION_HEADER),
        )

    def invalidate(self) -> None:
        """Forget the cached token (the next call fetches a new one)."""
        self.cache.clear()

    # -- sync and async shells -------------------------------------------------------

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()  # replayable after a 401
        stale: str | None = None
        for attempt in (1, 2):
            token = self.cache.fresh(stale=stale)
            if token is None:
                with self._thread_lock:
                    token = self.cache.fresh(stale=stale)
                    if token is None:
                        reply = yield self._token_request(request)
                        reply.read()
                        token = self._accept(reply, request)
            self._apply(request, token)
            response = yield request
            if response.status_code != 401 or attempt == 2:
                return
            self._log_replay(request)
            stale = token.value

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        stale: str | None = None
        for attempt in (1, 2):
            token = self.cache.fresh(stale=stale)
            if token is None:
                async with self._async_locks.get():
                    token = self.cache.fresh(stale=stale)
                    if token is None:
                        reply = yield self._token_request(request)
                        await reply.aread()
                        token = self._accept(reply, request)
            self._apply(request, token)
            response = yield request
            if response.status_code != 401 or attempt == 2:
                return
            self._log_replay(request)
            stale = token.value


class ClientCredentialsAuth(TokenAuth):
    """WSO2 API-Manager gateway token (LGSP/NGSP, PLATFORMS.md §6).

    ``mode="basic"`` sends ``Authorization: Basic base64(key:secret)``; ``mode="form"``
    sends ``client_id``/``client_secret`` as form fields. Both post
    ``grant_type=client_credentials`` (and ``scope`` when given).
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        mode: Literal["basic", "form"] = "basic",
        scope: str | None = None,
        refresh_margin: float = 30.0,
        clock: Clock | None = None,
        settings_prefix: str | None = None,
    ) -> None:
        super().__init__(
            token_url, refresh_margin=refresh_margin, clock=clock, settings_prefix=settings_prefix
        )
        if mode not in ("basic", "form"):
            raise ValueError(f"mode must be 'basic' or 'form', got {mode!r}")
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret must not be empty")
        self.client_id = client_id
        self._client_secret = client_secret
        self.mode = mode
        self.scope = scope

    def build_token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        headers = {"Accept": "application/json"}
        if self.mode == "basic":
            headers["Authorization"] = basic_authorization(self.client_id, self._client_secret)
        else:
            form["client_id"] = self.client_id
            form["client_secret"] = self._client_secret
        return httpx.Request("POST", self.token_url, data=form, headers=headers)

    def _secrets(self) -> tuple[str, ...]:
        return (self._client_secret,)

    def _credentials_hint(self) -> str:
        return f"the consumer key {self.client_id!r} and its secret"


class GatewayHeaderJsonAuth(TokenAuth):
    """Vendor gateway variant: credentials travel as base64 JSON in one header.

    Assumed wire form (configurable, because it is not publicly specified): the token
    request is ``POST token_url`` with header ``header_name: header_prefix +
    base64(json({"AccessKey", "SecretKey", "AppName", "PartnerCode",
    "PartnerCodeCus"}))`` and the reply is JSON holding the token at ``token_field``
    (dotted path allowed, e.g. ``data.access_token``) and its lifetime at
    ``expires_field``. API calls then carry ``Authorization: Bearer <token>``.
    """

    def __init__(
        self,
        token_url: str,
        access_key: str,
        secret_key: str,
        app_name: str,
        partner_code: str,
        partner_code_cus: str | None = None,
        *,
        header_name: str = "Authorization",
        header_prefix: str = "",
        method: str = "POST",
        token_field: str = "access_token",  # noqa: S107 - a JSON key, not a secret
        expires_field: str = "expires_in",
        refresh_margin: float = 30.0,
        clock: Clock | None = None,
        settings_prefix: str | None = None,
    ) -> None:
        super().__init__(
            token_url,
            refresh_margin=refresh_margin,
            clock=clock,
            token_field=token_field,
            expires_field=expires_field,
            settings_prefix=settings_prefix,
        )
        if not access_key or not secret_key:
            raise ValueError("access_key and secret_key must not be empty")
        self.access_key = access_key
        self._secret_key = secret_key
        self.app_name = app_name
        self.partner_code = partner_code
        self.partner_code_cus = partner_code_cus
        self.header_name = header_name
        self.header_prefix = header_prefix
        self.method = method.upper()

    def credentials_header(self) -> str:
        """The header value: base64 of the credentials JSON (keys in the observed order)."""
        return self.header_prefix + lgsp_credentials(
            self.access_key,
            self._secret_key,
            self.app_name,
            self.partner_code,
            self.partner_code_cus,
        )

    def build_token_request(self) -> httpx.Request:
        headers = {self.header_name: self.credentials_header(), "Accept": "application/json"}
        return httpx.Request(self.method, self.token_url, headers=headers)

    def _secrets(self) -> tuple[str, ...]:
        return (self._secret_key, self.credentials_header())

    def _credentials_hint(self) -> str:
        return f"the access key {self.access_key!r}, its secret key, AppName and PartnerCode"


class LgspUserTokenAuth(TokenAuth):
    """Hà Giang LGSP style (PLATFORMS.md §6, opencps-v2 ``QLVBIntegrationActionImpl``).

    The token is fetched with ``GET {token_url}/{user_id}/`` carrying two headers:
    ``lgspaccesstoken`` (the base64 JSON credential document) and
    ``X-Authentication-Token`` (a key issued with the account); the reply holds it at
    ``data.token``. API calls then carry ``lgspaccesstoken`` and
    ``X-Authentication-Token: <token>`` (not ``Authorization``). The reply gives no
    lifetime, so the token is kept until the API answers 401 (refreshed once, replayed
    once) unless ``expires_field`` names one.
    """

    def __init__(
        self,
        token_url: str,
        user_id: str,
        authentication_key: str,
        access_key: str,
        secret_key: str,
        app_name: str,
        partner_code: str,
        partner_code_cus: str | None = None,
        *,
        token_field: str = "data.token",  # noqa: S107 - a JSON path, not a secret
        expires_field: str = "data.expires_in",
        refresh_margin: float = 30.0,
        clock: Clock | None = None,
        settings_prefix: str | None = None,
    ) -> None:
        if not user_id or not authentication_key:
            raise ValueError("user_id and authentication_key must not be empty")
        if not access_key or not secret_key:
            raise ValueError("access_key and secret_key must not be empty")
        super().__init__(
            f"{token_url.rstrip('/')}/{quote(user_id, safe='')}/",
            refresh_margin=refresh_margin,
            clock=clock,
            token_field=token_field,
            expires_field=expires_field,
            settings_prefix=settings_prefix,
        )
        self.user_id = user_id
        self._authentication_key = authentication_key
        self.access_key = access_key
        self._credentials = lgsp_credentials(
            access_key, secret_key, app_name, partner_code, partner_code_cus
        )
        self._secret_key = secret_key

    def build_token_request(self) -> httpx.Request:
        headers = {
            "lgspaccesstoken": self._credentials,
            "X-Authentication-Token": self._authentication_key,
            "Accept": "application/json",
        }
        return httpx.Request("GET", self.token_url, headers=headers)

    def _apply(self, request: httpx.Request, token: Token) -> None:
        request.headers["lgspaccesstoken"] = self._credentials
        request.headers["X-Authentication-Token"] = token.value

    def _secrets(self) -> tuple[str, ...]:
        return (self._secret_key, self._credentials, self._authentication_key)

    def _credentials_hint(self) -> str:
        return (
            f"the access key {self.access_key!r}, its secret key, AppName, PartnerCode, "
            f"the user id {self.user_id!r} and the X-Authentication-Token key"
        )


# ------------------------------------------------------------------ registrations


def _client_credentials(ctx: AuthContext) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(
        ctx.token_url(),
        ctx.client_id("the gateway consumer key"),
        ctx.secret(),
        mode="basic" if ctx.style == "client_credentials_basic" else "form",
        scope=ctx.extra_value("scope"),
        settings_prefix=ctx.prefix,
    )


def _gateway_header_json(ctx: AuthContext) -> GatewayHeaderJsonAuth:
    options: dict[str, Any] = {}
    for key in ("header_name", "header_prefix", "method", "token_field", "expires_field"):
        value = ctx.extra_value(key)
        if value is not None:
            options[key] = value
    return GatewayHeaderJsonAuth(
        ctx.token_url(),
        ctx.client_id("the gateway AccessKey"),
        ctx.secret(),
        ctx.need_extra("AppName", "the application name registered at the gateway"),
        ctx.need_extra("PartnerCode", "the partner code issued by the gateway"),
        ctx.extra_value("PartnerCodeCus"),
        settings_prefix=ctx.prefix,
        **options,
    )


def _lgsp_user_token(ctx: AuthContext) -> LgspUserTokenAuth:
    options: dict[str, Any] = {}
    for key in ("token_field", "expires_field"):
        value = ctx.extra_value(key)
        if value is not None:
            options[key] = value
    return LgspUserTokenAuth(
        ctx.token_url(),
        ctx.username("the user id the gateway issued (appended to the token URL)"),
        ctx.need_extra(
            "authentication_token", "the X-Authentication-Token key, or env:NAME / file:PATH"
        ),
        ctx.client_id("the gateway AccessKey"),
        ctx.secret("the gateway SecretKey, or env:NAME / file:PATH"),
        ctx.need_extra("AppName", "the application name registered at the gateway"),
        ctx.need_extra("PartnerCode", "the partner code issued by the gateway"),
        ctx.extra_value("PartnerCodeCus"),
        settings_prefix=ctx.prefix,
        **options,
    )


for _mode in ("basic", "form"):
    register_auth_style(
        AuthStyle(
            f"client_credentials_{_mode}",
            "token",
            _client_credentials,
            ("token_url (or gateway.base_url + /token)", "client_id", "client_secret"),
            summary=f"WSO2 API Manager client credentials ({_mode}), then Bearer",
        )
    )
register_auth_style(
    AuthStyle(
        "gateway_header_json",
        "token",
        _gateway_header_json,
        ("token_url", *LGSP_CREDENTIAL_SETTINGS, "extra.header_name", "extra.token_field"),
        summary="token fetched with base64 JSON credentials in one header, then Bearer",
    )
)
register_auth_style(
    AuthStyle(
        "lgsp_user_token",
        "token",
        _lgsp_user_token,
        (
            "token_url (the part before /{userId}/)",
            "username (userId)",
            "extra.authentication_token",
            *LGSP_CREDENTIAL_SETTINGS,
        ),
        authorization=False,
        summary="Hà Giang LGSP: GET token_url/{userId}/ with lgspaccesstoken and "
        "X-Authentication-Token, token at data.token, sent as X-Authentication-Token",
    )
)
