"""Authentication strategies for the gateways and platforms (PLATFORMS.md §2, §4, §6).

Every strategy is an :class:`httpx.Auth`, so it plugs into the one client factory of
:mod:`govlink.core.http` and works with ``httpx.Client`` and ``httpx.AsyncClient``
alike. The token strategies share one sans-I/O core (:class:`TokenCache` plus a
"how to ask for a token" builder per gateway style) and two thin shells that differ
only in their lock and in ``await``:

* the token request is *yielded* from the auth flow with an absolute URL, so it goes
  through the same client (pooling, proxy, mTLS, and the test transports);
* a token is cached and refreshed ``refresh_margin`` seconds before it expires;
* concurrent callers wait for the one caller that fetches (a thread lock for sync
  clients, one asyncio lock per event loop for async clients), so 50 callers cause
  exactly one token request;
* a 401 from the API triggers one refresh and one replay; a second 401 is returned
  to the caller, never looped on.

The DVCQG session login (§2) is not an ``httpx.Auth``: the session travels in the JSON
body and expiry shows in the reply body. :class:`DvcqgSession` builds and parses the
login exchange and :class:`SessionCache` gives the same single-flight guarantees to
the dossier client, which detects expiry and calls :meth:`SessionCache.invalidate`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote_plus

import httpx

from govlink._version import __version__
from govlink.core.clock import Clock, SystemClock, format_compact
from govlink.core.config import PLATFORMS, AuthSettings, GovLinkSettings, resolve_reference
from govlink.core.errors import AuthenticationError, ConfigurationError, TokenUnavailableError
from govlink.core.redact import redact_text

__all__ = [
    "AUTH_STYLES",
    "PLATFORM_HANDLED_STYLES",
    "ClientCredentialsAuth",
    "DvcqgSession",
    "GatewayHeaderJsonAuth",
    "HashedBasicAuth",
    "LoginRequest",
    "SessionCache",
    "SessionManager",
    "StaticBearerAuth",
    "Token",
    "TokenCache",
    "XRoadClientAuth",
    "auth_for",
    "basic_authorization",
    "hashed_basic_credentials",
]

log = logging.getLogger("govlink.auth")

_CORRELATION_HEADER = "X-Correlation-ID"  # same header as govlink.core.http
_MAX_ERROR_TEXT = 300


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    """An access token and when to stop using it (``refresh_at``, monotonic seconds)."""

    value: str = field(repr=False)
    token_type: str = "Bearer"  # noqa: S105 - a token kind, not a secret
    expires_in: float | None = None
    refresh_at: float | None = None
    scope: str | None = None

    def authorization(self) -> str:
        """The ``Authorization`` header value for API calls."""
        kind = "Bearer" if self.token_type.lower() == "bearer" else self.token_type
        return f"{kind} {self.value}"


class TokenCache:
    """The one token a strategy holds, with its refresh deadline. Thread-safe.

    ``refresh_margin`` is clamped to half the token's lifetime, so a gateway that
    issues 20-second tokens does not make every call fetch a new one.
    """

    def __init__(self, clock: Clock | None = None, refresh_margin: float = 30.0) -> None:
        if refresh_margin < 0:
            raise ValueError("refresh_margin must be >= 0 seconds")
        self.clock: Clock = clock or SystemClock()
        self.refresh_margin = refresh_margin
        self._token: Token | None = None
        self._state = threading.Lock()

    def make(
        self,
        value: str,
        *,
        token_type: str = "Bearer",  # noqa: S107 - a token kind, not a secret
        expires_in: float | None = None,
        scope: str | None = None,
    ) -> Token:
        """A token whose refresh deadline is computed from the clock now."""
        refresh_at = None
        if expires_in is not None:
            margin = min(self.refresh_margin, expires_in / 2)
            refresh_at = self.clock.monotonic() + expires_in - margin
        return Token(value, token_type, expires_in, refresh_at, scope)

    def fresh(self, *, stale: str | None = None) -> Token | None:
        """The cached token if still usable and not the one the API just refused."""
        with self._state:
            token = self._token
        if token is None or (stale is not None and token.value == stale):
            return None
        if token.refresh_at is not None and self.clock.monotonic() >= token.refresh_at:
            return None
        return token

    def store(self, token: Token) -> None:
        with self._state:
            self._token = token

    def clear(self) -> None:
        with self._state:
            self._token = None


class _LoopLocks:
    """One :class:`asyncio.Lock` per running event loop.

    An asyncio lock binds to the first loop that waits on it, so a strategy object
    shared by two loops (two threads, or successive ``asyncio.run`` calls) needs one
    lock per loop. Loops are held weakly so closed loops do not pile up.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._guard = threading.Lock()

    def get(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            lock = self._locks.get(loop)
            if lock is None:
                lock = asyncio.Lock()
                self._locks[loop] = lock
            return lock


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


class _TokenAuth(httpx.Auth, ABC):
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
        self._async_locks = _LoopLocks()

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

    @staticmethod
    def _apply(request: httpx.Request, token: Token) -> None:
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


class ClientCredentialsAuth(_TokenAuth):
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


class GatewayHeaderJsonAuth(_TokenAuth):
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
        document = {
            "AccessKey": self.access_key,
            "SecretKey": self._secret_key,
            "AppName": self.app_name,
            "PartnerCode": self.partner_code,
            "PartnerCodeCus": self.partner_code_cus or "",
        }
        encoded = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        return self.header_prefix + base64.b64encode(encoded).decode("ascii")

    def build_token_request(self) -> httpx.Request:
        headers = {self.header_name: self.credentials_header(), "Accept": "application/json"}
        return httpx.Request(self.method, self.token_url, headers=headers)

    def _secrets(self) -> tuple[str, ...]:
        return (self._secret_key, self.credentials_header())

    def _credentials_hint(self) -> str:
        return f"the access key {self.access_key!r}, its secret key, AppName and PartnerCode"


# ------------------------------------------------------------ per-request strategies


def basic_authorization(user: str, password: str, *, form_encode: bool = False) -> str:
    """The ``Authorization: Basic …`` value for ``user``/``password``.

    ``form_encode`` applies RFC 6749 §2.3.1 (OAuth clients URL-encode both parts
    first, so a ``:`` in a client id survives); WSO2 API-Manager gateways are observed
    to take the raw pair, which is the default here.
    """
    if form_encode:
        user, password = quote_plus(user), quote_plus(password)
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def hashed_basic_credentials(url: str, username: str, secret: str, timestamp: str) -> str:
    """``base64(user:sha256hex(url + user + timestamp + secret))`` (PLATFORMS.md §4)."""
    digest = hashlib.sha256(f"{url}{username}{timestamp}{secret}".encode()).hexdigest()
    return basic_authorization(username, digest).removeprefix("Basic ")


class HashedBasicAuth(httpx.Auth):
    """Population-database style Basic header, recomputed for every request.

    Sends ``Timestamp: <ts>`` and ``Authorization: Basic base64(user:sha256hex(url +
    user + ts + secret))`` where ``url`` is the full request URL. The timestamp form
    (``yyyyMMddHHmmss`` in Vietnam time) is an assumption: pass ``timestamp_format``
    to change it.
    """

    def __init__(
        self,
        username: str,
        secret: str,
        *,
        clock: Clock | None = None,
        timestamp_format: Callable[[datetime], str] = format_compact,
        timestamp_header: str = "Timestamp",
    ) -> None:
        if not username or not secret:
            raise ValueError("username and secret must not be empty")
        self.username = username
        self._secret = secret
        self.clock: Clock = clock or SystemClock()
        self.timestamp_format = timestamp_format
        self.timestamp_header = timestamp_header

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = self.timestamp_format(self.clock.now())
        request.headers[self.timestamp_header] = timestamp
        credentials = hashed_basic_credentials(
            str(request.url), self.username, self._secret, timestamp
        )
        request.headers["Authorization"] = f"Basic {credentials}"
        yield request


class XRoadClientAuth(httpx.Auth):
    """Identify the calling subsystem to an X-Road style exchange (``X-Road-Client``)."""

    def __init__(self, client_id: str) -> None:
        if not client_id:
            raise ValueError("client_id must not be empty")
        self.client_id = client_id

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Road-Client"] = self.client_id
        yield request


class StaticBearerAuth(httpx.Auth):
    """A fixed bearer token (issued out of band, e.g. a long-lived gateway key)."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("token must not be empty")
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


# ------------------------------------------------------------------- DVCQG session

DVCQG_AUTH_PATH = "/auth"
"""Default login path under the adapter URL (``paths.auth`` overrides it)."""


@dataclass(frozen=True)
class LoginRequest:
    """What to send to log in; hand it to ``HttpTransport.request(**as_kwargs())``."""

    method: str
    url: str
    json: dict[str, str] = field(repr=False)
    headers: dict[str, str] = field(default_factory=dict)

    def as_kwargs(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "json": self.json, "headers": self.headers}


_OK_CODES = frozenset({"0", "00"})


class DvcqgSession:
    """Sans-I/O pieces of the DVCQG session login (PLATFORMS.md §2).

    ``POST {adapter}{auth_path}`` with JSON ``{"username", "password"}`` and a
    ``dstcode`` header answers ``{"session": …, "error_code": 0}``.
    """

    @staticmethod
    def build_login_request(
        settings: Any, *, platform: str = "dossiers", auth_path: str | None = None
    ) -> LoginRequest:
        """The login request for ``settings`` (PlatformSettings or GovLinkSettings).

        ``dstcode`` comes from ``auth.extra["dstcode"]`` and is sent only when set
        (its meaning is not public; observed integrations send the unit code).
        """
        platform_settings = (
            settings.platform(platform) if isinstance(settings, GovLinkSettings) else settings
        )
        prefix = f"GOVLINK_{platform.upper()}__"
        base_url = platform_settings.base_url
        if not base_url:
            raise ConfigurationError(
                f"no adapter URL configured for {platform}",
                setting=f"{prefix}BASE_URL",
                expected="the portal adapter's https:// URL",
            )
        auth: AuthSettings = platform_settings.auth
        if not auth.username:
            raise ConfigurationError(
                f"{platform} needs a login user name",
                setting=f"{prefix}AUTH__USERNAME",
                expected="the integration account's user name",
            )
        if auth.password is None or not auth.password.get_secret_value():
            raise ConfigurationError(
                f"{platform} needs a login password",
                setting=f"{prefix}AUTH__PASSWORD",
                expected="the password, or env:NAME / file:PATH",
            )
        path = auth_path or platform_settings.paths.get("auth") or DVCQG_AUTH_PATH
        headers = {"Accept": "application/json"}
        dstcode = _extra(auth, "dstcode")
        if dstcode:
            headers["dstcode"] = dstcode
        return LoginRequest(
            method="POST",
            url=f"{base_url}{path}",
            json={"username": auth.username, "password": auth.password.get_secret_value()},
            headers=headers,
        )

    @staticmethod
    def parse_login_reply(status: int, body: bytes | str | Mapping[str, Any]) -> str:
        """The session from a login reply; :class:`AuthenticationError` otherwise."""
        data: Any = body
        if isinstance(body, bytes | str):
            try:
                data = json.loads(body)
            except ValueError:
                text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
                raise AuthenticationError(
                    f"the portal's login reply (HTTP {status}) is not JSON: "
                    f"{redact_text(text[:_MAX_ERROR_TEXT])}",
                    hint="check the adapter URL and auth path (GOVLINK_DOSSIERS__BASE_URL, "
                    "GOVLINK_DOSSIERS__PATHS__AUTH)",
                ) from None
        if not isinstance(data, Mapping):
            raise AuthenticationError(
                f"the portal's login reply (HTTP {status}) is not a JSON object",
                hint="check the adapter URL and auth path",
            )
        code = str(data.get("error_code", "")).strip()
        session = data.get("session")
        if status >= 400 or code not in _OK_CODES or not isinstance(session, str) or not session:
            message = next(
                (
                    str(data[key])
                    for key in ("message", "error_message", "error_desc", "msg", "error")
                    if data.get(key)
                ),
                "no message",
            )
            raise AuthenticationError(
                f"the portal refused the login (HTTP {status}, error_code "
                f"{code or 'missing'}): {redact_text(message[:_MAX_ERROR_TEXT])}",
                hint="check GOVLINK_DOSSIERS__AUTH__USERNAME / __PASSWORD and the dstcode "
                "(GOVLINK_DOSSIERS__AUTH__EXTRA__DSTCODE)",
            )
        return session


class SessionCache:
    """Single-flight holder of one login session (sync and async callers).

    ``get``/``aget`` return the current session, logging in (once, however many
    callers ask at the same moment) when there is none. When a reply says the
    session expired, call :meth:`invalidate` with the session that call used: it
    clears only if that is still the current one, so 50 callers that all saw the
    expiry cause one re-login.
    """

    def __init__(self, *, max_age: float | None = None, clock: Clock | None = None) -> None:
        self.max_age = max_age
        self.clock: Clock = clock or SystemClock()
        self._session: str | None = None
        self._since = 0.0
        self._state = threading.Lock()
        self._thread_lock = threading.Lock()
        self._async_locks = _LoopLocks()
        self.logins = 0

    def current(self) -> str | None:
        """The session in use, or None (expired by ``max_age`` counts as none)."""
        with self._state:
            session, since = self._session, self._since
        expired = self.max_age is not None and self.clock.monotonic() - since >= self.max_age
        if session is not None and expired:
            return None
        return session

    def _store(self, session: str) -> str:
        if not session:
            raise AuthenticationError("the login returned an empty session")
        with self._state:
            self._session = session
            self._since = self.clock.monotonic()
            self.logins += 1
        return session

    def get(self, login: Callable[[], str]) -> str:
        session = self.current()
        if session is not None:
            return session
        with self._thread_lock:
            session = self.current()
            if session is not None:
                return session
            return self._store(login())

    async def aget(self, login: Callable[[], Awaitable[str]]) -> str:
        session = self.current()
        if session is not None:
            return session
        async with self._async_locks.get():
            session = self.current()
            if session is not None:
                return session
            return self._store(await login())

    def invalidate(self, old_session: str) -> bool:
        """Forget ``old_session`` if it is still current; True when it was cleared."""
        with self._state:
            if self._session is not None and self._session == old_session:
                self._session = None
                return True
            return False

    def clear(self) -> None:
        with self._state:
            self._session = None


SessionManager = SessionCache
"""Alias: the name the foundation issue uses for the session helper."""


# ---------------------------------------------------------------- from settings

PLATFORM_HANDLED_STYLES = frozenset(
    {"client_secret_post", "client_secret_basic", "private_key_jwt", "dvcqg_session", "vdxp_hmac"}
)
"""Styles a platform client implements itself (``auth_for`` returns None for them)."""

AUTH_STYLES = frozenset(
    {
        "none",
        "bearer",
        "client_credentials_basic",
        "client_credentials_form",
        "gateway_header_json",
        "hashed_basic",
        "x_road",
    }
    | PLATFORM_HANDLED_STYLES
)


def _norm(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def _extra(auth: AuthSettings, name: str) -> str | None:
    """``auth.extra[name]`` matched loosely (env variables arrive lower-cased)."""
    wanted = _norm(name)
    for key, value in auth.extra.items():
        if _norm(key) == wanted and value != "":
            return value
    return None


def auth_for(settings: GovLinkSettings, platform: str) -> httpx.Auth | None:
    """The ``httpx.Auth`` for ``settings.<platform>.auth.style`` (None: no header auth)."""
    known = (*PLATFORMS, "gateway")
    if platform not in known:
        raise ConfigurationError(
            f"unknown platform {platform!r}", setting="platform", expected=", ".join(known)
        )
    prefix = f"GOVLINK_{platform.upper()}__AUTH__"
    auth: AuthSettings = getattr(settings, platform).auth
    style = auth.style.strip().lower()
    if style not in AUTH_STYLES:
        raise ConfigurationError(
            f"unknown auth style {auth.style!r} for {platform}",
            setting=f"{prefix}STYLE",
            expected="one of " + ", ".join(sorted(AUTH_STYLES)),
        )
    if style == "none" or style in PLATFORM_HANDLED_STYLES:
        return None

    def need(value: str | None, name: str, expected: str) -> str:
        if not value:
            raise ConfigurationError(
                f"auth style {style!r} for {platform} needs {name.lower()}",
                setting=prefix + name,
                expected=expected,
            )
        return value

    def need_extra(name: str, expected: str) -> str:
        value = _extra(auth, name)
        value = resolve_reference(value, setting=f"{prefix}EXTRA__{name.upper()}") if value else ""
        return need(value, f"EXTRA__{name.upper()}", expected)

    def secret() -> str:
        value = auth.client_secret.get_secret_value() if auth.client_secret else None
        return need(value, "CLIENT_SECRET", "the secret, or env:NAME / file:PATH")

    def token_url() -> str:
        if auth.token_url:
            return auth.token_url
        gateway = settings.gateway.base_url
        if gateway:
            return f"{gateway}/token"
        return need(None, "TOKEN_URL", "the gateway's token URL, e.g. https://lgsp.example/token")

    if style == "bearer":
        return StaticBearerAuth(need_extra("token", "the bearer token, or env:NAME / file:PATH"))
    if style in ("client_credentials_basic", "client_credentials_form"):
        return ClientCredentialsAuth(
            token_url(),
            need(auth.client_id, "CLIENT_ID", "the gateway consumer key"),
            secret(),
            mode="basic" if style == "client_credentials_basic" else "form",
            scope=_extra(auth, "scope"),
            settings_prefix=prefix,
        )
    if style == "gateway_header_json":
        options: dict[str, Any] = {}
        for key in ("header_name", "header_prefix", "method", "token_field", "expires_field"):
            value = _extra(auth, key)
            if value is not None:
                options[key] = value
        return GatewayHeaderJsonAuth(
            token_url(),
            need(auth.client_id, "CLIENT_ID", "the gateway AccessKey"),
            secret(),
            need_extra("AppName", "the application name registered at the gateway"),
            need_extra("PartnerCode", "the partner code issued by the gateway"),
            _extra(auth, "PartnerCodeCus"),
            settings_prefix=prefix,
            **options,
        )
    if style == "hashed_basic":
        return HashedBasicAuth(
            need(auth.username, "USERNAME", "the account name issued by the platform"), secret()
        )
    # x_road
    client = _extra(auth, "x_road_client") or auth.client_id
    return XRoadClientAuth(
        need(client, "EXTRA__X_ROAD_CLIENT", "the X-Road client id, e.g. VN/GOV/000.00.00.H47/SYS")
    )
