"""The DVCQG session login (PLATFORMS.md §2), as a credential provider of the driver.

``POST {adapter}{paths.auth}`` with JSON ``{"username", "password"}`` and the
``dstcode`` header answers ``{"session": …, "error_code": 0}`` ([OC]
``getAccessToken``). The session then travels in every JSON body, so it is not an
``httpx.Auth``: the dossier plans ask the runner for it with
``NeedCredential("dossiers")`` and hand back an expired one with
``NeedCredential("dossiers", expired=session)``. The runner makes one login at a
time however many callers ask (:mod:`govlink.core.driver`), through the same
transport, timeout and retry budget as the call, and records it in the evidence.

The ``dvcqg_session`` auth style is registered in :mod:`govlink.dossiers.options`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from govlink.core.auth import extra_value
from govlink.core.clock import Clock, SystemClock
from govlink.core.config import PlatformSettings
from govlink.core.driver import Plan, Send
from govlink.core.errors import AuthenticationError, ConfigurationError, PlatformError
from govlink.core.http import Reply
from govlink.core.redact import redact_text

__all__ = [
    "DEFAULT_AUTH_PATH",
    "LoginRequest",
    "SessionProvider",
    "build_login_request",
    "parse_login_reply",
]

log = logging.getLogger("govlink.dossiers")

DEFAULT_AUTH_PATH = "/auth"
"""Default login path under the adapter URL (``paths.auth`` overrides it)."""

_OK_CODES = frozenset({"0", "00"})
_MAX_ERROR_TEXT = 300


@dataclass(frozen=True)
class LoginRequest:
    """What to send to log in (the password is kept out of the repr)."""

    url: str
    json: dict[str, str] = field(repr=False)
    headers: dict[str, str] = field(default_factory=dict)


def build_login_request(platform: PlatformSettings) -> LoginRequest:
    """The login request for ``settings.dossiers``; the ``dstcode`` header is sent
    when ``auth.extra.dstcode`` is set ([OC] sends it on the login and every call)."""
    prefix = "GOVLINK_DOSSIERS__"
    if not platform.base_url:
        raise ConfigurationError(
            "no adapter URL configured for dossiers",
            setting=f"{prefix}BASE_URL",
            expected="the portal adapter's https:// URL",
        )
    auth = platform.auth
    if not auth.username:
        raise ConfigurationError(
            "dossiers needs a login user name",
            setting=f"{prefix}AUTH__USERNAME",
            expected="the integration account's user name",
        )
    if auth.password is None or not auth.password.get_secret_value():
        raise ConfigurationError(
            "dossiers needs a login password",
            setting=f"{prefix}AUTH__PASSWORD",
            expected="the password, or env:NAME / file:PATH",
        )
    path = platform.paths.get("auth") or DEFAULT_AUTH_PATH
    headers = {"Accept": "application/json"}
    dstcode = extra_value(auth, "dstcode")
    if dstcode:
        headers["dstcode"] = dstcode
    return LoginRequest(
        url=f"{platform.base_url}{path}",
        json={"username": auth.username, "password": auth.password.get_secret_value()},
        headers=headers,
    )


def parse_login_reply(status: int, body: bytes | str | Mapping[str, Any]) -> str:
    """The session from a login reply; :class:`AuthenticationError` when refused.

    A 2xx reply that is not JSON is a garbled answer, not a refusal: it raises a
    retryable :class:`PlatformError`.
    """
    data: Any = body
    if isinstance(body, bytes | str):
        try:
            data = json.loads(body)
        except ValueError:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            message = (
                f"the portal's login reply (HTTP {status}) is not JSON: "
                f"{redact_text(text[:_MAX_ERROR_TEXT])}"
            )
            if status < 400:
                raise _GarbledLogin(
                    message, status_code=status, hint="a garbled reply; retried automatically"
                ) from None
            raise AuthenticationError(
                message,
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


class _GarbledLogin(PlatformError):
    retryable = True


class SessionProvider:
    """The DVCQG session for the driver (:class:`~govlink.core.driver.CredentialProvider`).

    ``cached()`` is the current session unless it is older than ``max_age`` seconds
    (the portal's lifetime is not published: log in again before it could lapse);
    ``obtain()`` is the login plan; ``invalidate(session)`` forgets that session if
    it is still the current one, so many callers that saw the same expiry cause one
    new login.
    """

    def __init__(
        self,
        platform: PlatformSettings,
        *,
        max_age: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.platform = platform
        self.max_age = max_age
        self.clock: Clock = clock or SystemClock()
        self.logins = 0
        self._session: str | None = None
        self._since = 0.0
        self._state = threading.Lock()

    def cached(self) -> str | None:
        with self._state:
            session, since = self._session, self._since
        if session is None:
            return None
        if self.max_age is not None and self.clock.monotonic() - since >= self.max_age:
            return None
        return session

    def obtain(self) -> Plan[str]:
        login = build_login_request(self.platform)
        reply: Reply = yield Send(
            "POST", login.url, safe=True, json=login.json, headers=login.headers
        )
        session = parse_login_reply(reply.status_code, reply.content)
        with self._state:
            self._session = session
            self._since = self.clock.monotonic()
            self.logins += 1
        log.info("logged in to the DVCQG adapter")
        return session

    def invalidate(self, value: str) -> None:
        with self._state:
            if self._session is not None and self._session == value:
                self._session = None

    def clear(self) -> None:
        with self._state:
            self._session = None
