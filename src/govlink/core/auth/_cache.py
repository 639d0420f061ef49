"""The token cache: a token with its refresh deadline, and the one-token cache."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from govlink.core.clock import Clock, SystemClock

__all__ = ["Token", "TokenCache"]


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
