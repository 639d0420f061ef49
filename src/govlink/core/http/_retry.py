"""The retry policy: what may be retried, how long to wait, and what giving up raises."""

from __future__ import annotations

import email.utils
import logging
import random
import ssl
import time
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import httpx
from tenacity import RetryCallState, retry_if_exception

from govlink.core.clock import Clock, SystemClock
from govlink.core.config import HttpSettings
from govlink.core.errors import (
    GovLinkError,
    GovLinkTimeoutError,
    RateLimitedError,
    TokenUnavailableError,
    TransportError,
)
from govlink.core.redact import redact_text

__all__ = [
    "GIVE_UP_ON",
    "RETRYABLE_STATUS",
    "RetryPolicy",
    "RetryableStatus",
    "describe",
    "retry_after_seconds",
    "translate",
]

log = logging.getLogger("govlink.http")

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def retry_after_seconds(response: httpx.Response, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or None.

    ``now`` is the current POSIX time (defaults to the system clock).
    """
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is not a delay
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


class RetryableStatus(Exception):
    """Internal: a reply whose status means "try again" (carried through tenacity)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


# Mistakes on our side (bad URL scheme, malformed request): retrying cannot help.
_NEVER_RETRY = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)
# Failures that happen before any byte of the request left: safe to retry always.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: What ends a call's retries and is translated to a govlink error (:func:`translate`).
GIVE_UP_ON = (httpx.HTTPError, RetryableStatus, GovLinkError)


def _tls_verification_failed(exc: BaseException) -> bool:
    """Whether ``exc`` was caused by the server's certificate not being trusted."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring ``Retry-After``, capped in time.

    ``safe`` requests (idempotent by nature or made so by an idempotency key) are
    retried on timeouts, connection errors and 429/5xx. Unsafe requests are retried
    only when the request provably never reached the server (connect errors, pool
    timeouts, a gateway token that could not be obtained) or the server said it did
    not process it (429). A :class:`~govlink.core.errors.GovLinkError` raised while
    an attempt ran is retried only when its ``retryable`` says so (and, for an
    unsafe request, only a :class:`~govlink.core.errors.TokenUnavailableError`,
    which proves the API request was never sent). No retry starts if its wait would
    end past ``total_seconds`` after the call began.
    """

    max_retries: int = 3
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    total_seconds: float = 120.0

    @classmethod
    def from_settings(cls, http: HttpSettings) -> RetryPolicy:
        return cls(
            max_retries=http.max_retries,
            backoff_initial=http.backoff_initial,
            backoff_max=http.backoff_max,
            total_seconds=http.retry_total_seconds,
        )

    def should_retry(self, exc: BaseException, *, safe: bool) -> bool:
        if isinstance(exc, RetryableStatus):
            return safe or exc.response.status_code == 429
        if isinstance(exc, GovLinkError):
            return exc.retryable and (safe or isinstance(exc, TokenUnavailableError))
        if isinstance(exc, _NEVER_RETRY) or _tls_verification_failed(exc):
            return False  # a configuration problem: trying again cannot help
        if isinstance(exc, _NOT_SENT):
            return True
        if isinstance(exc, httpx.TimeoutException | httpx.TransportError):
            return safe
        return False

    def delay(self, attempt: int, exc: BaseException | None, *, now: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` starts at 1)."""
        if isinstance(exc, RetryableStatus):
            asked = retry_after_seconds(exc.response, now)
            if asked is not None:
                return asked
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (attempt - 1)))
        return random.uniform(0, ceiling)

    def _tenacity_kwargs(
        self,
        *,
        safe: bool,
        correlation_id: str,
        what: str,
        clock: Clock | None = None,
        started: float | None = None,
    ) -> dict[str, Any]:
        clock = clock or SystemClock()
        start = clock.monotonic() if started is None else started

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.delay(state.attempt_number, exc, now=clock.now().timestamp())

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number > self.max_retries:
                return True
            waited = clock.monotonic() - start
            return waited + (state.upcoming_sleep or 0.0) > self.total_seconds

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "retrying %s after %s (attempt %d of %d failed, waiting %.2f s) "
                "[correlation id %s]",
                redact_text(what),
                describe(exc),
                state.attempt_number,
                self.max_retries + 1,
                state.upcoming_sleep,
                correlation_id,
            )

        return {
            "retry": retry_if_exception(lambda e: self.should_retry(e, safe=safe)),
            "stop": stop,
            "wait": wait,
            "before_sleep": before_sleep,
            "reraise": True,
        }


def describe(exc: BaseException | None) -> str:
    """A failure named for a log line (``HTTP 503``, ``ConnectError``)."""
    if exc is None:
        return "no error"
    if isinstance(exc, RetryableStatus):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


def translate(exc: BaseException, what: str, cid: str) -> GovLinkError:
    """Map what ended the retries to the govlink error a caller can act on."""
    if isinstance(exc, GovLinkError):
        if exc.correlation_id is None:
            exc.correlation_id = cid
        return exc
    if isinstance(exc, RetryableStatus):
        response = exc.response
        if response.status_code == 429:
            return RateLimitedError(
                f"{what}: the platform is rate limiting (HTTP 429)",
                retry_after=retry_after_seconds(response),
                correlation_id=cid,
            )
        return TransportError(
            f"{what}: the platform answered HTTP {response.status_code}",
            hint="the platform is unavailable; try again later or check its status",
            correlation_id=cid,
        )
    if isinstance(exc, httpx.TimeoutException):
        return GovLinkTimeoutError(
            f"{what}: no answer in time ({type(exc).__name__})",
            hint="raise GOVLINK_HTTP__TIMEOUT or try again later",
            correlation_id=cid,
        )
    if _tls_verification_failed(exc):
        return TransportError(
            f"{what}: the server's TLS certificate is not trusted ({exc})",
            hint="set GOVLINK_HTTP__CA_BUNDLE to the CA file your operator gave you "
            "(govlink doctor checks it)",
            correlation_id=cid,
        )
    return TransportError(
        f"{what}: {type(exc).__name__}: {exc}",
        hint="check the base URL, network, proxy and TLS settings (govlink doctor)",
        correlation_id=cid,
    )
