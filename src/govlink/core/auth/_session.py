"""The DVCQG session login (PLATFORMS.md §2) and the single-flight session cache.

The session is not an ``httpx.Auth``: it travels in the JSON body and its expiry
shows in the reply body. :class:`DvcqgSession` builds and parses the login exchange
and :class:`SessionCache` gives the same single-flight guarantees as the token styles
to the dossier client, which detects expiry and calls :meth:`SessionCache.invalidate`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from govlink.core.auth._cache import _LoopLocks
from govlink.core.auth._registry import extra_value
from govlink.core.clock import Clock, SystemClock
from govlink.core.config import AuthSettings, GovLinkSettings
from govlink.core.errors import AuthenticationError, ConfigurationError
from govlink.core.redact import redact_text

__all__ = ["DVCQG_AUTH_PATH", "DvcqgSession", "LoginRequest", "SessionCache"]

_MAX_ERROR_TEXT = 300


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
        dstcode = extra_value(auth, "dstcode")
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
