"""HTTP for every platform client: one client factory, one retry policy, evidence.

Why one module: every platform needs the same things (pooling, timeouts, mTLS,
proxy, a correlation id per logical call, masked logging, retries that never
repeat an unsafe request) and they must behave the same everywhere. Platform
clients build requests and parse replies in their own sans-I/O code and hand the
request to :class:`HttpTransport` or :class:`AsyncHttpTransport`; those two shells
differ only in ``await``. Every reply carries an :class:`Evidence` record so a vendor
can show an auditor exactly what was sent and received.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from govlink._version import __version__
from govlink.core.config import GovLinkSettings, HttpSettings
from govlink.core.errors import (
    GovLinkError,
    GovLinkTimeoutError,
    RateLimitedError,
    TransportError,
)
from govlink.core.redact import redact_text

__all__ = [
    "AsyncHttpTransport",
    "Evidence",
    "HttpTransport",
    "Reply",
    "RetryPolicy",
    "build_async_client",
    "build_client",
    "new_correlation_id",
]

log = logging.getLogger("govlink.http")

CORRELATION_HEADER = "X-Correlation-ID"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_MAX_LOGGED_BODY = 2000


def new_correlation_id() -> str:
    """A fresh id for one logical call (kept across its retries)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Evidence:
    """What was sent and received in one logical call, for audit and support.

    ``response_body`` is the raw reply, unmasked: it is the vendor's own record.
    :meth:`masked` gives the version fit for logs and tickets.
    """

    correlation_id: str
    method: str
    url: str
    status_code: int | None
    started_at: datetime
    elapsed_seconds: float
    attempts: int
    request_body: bytes = b""
    response_body: bytes = b""
    response_headers: Mapping[str, str] = field(default_factory=dict)

    def masked(self) -> dict[str, Any]:
        """A log-safe summary: bodies truncated and personal data masked."""
        return {
            "correlation_id": self.correlation_id,
            "method": self.method,
            "url": redact_text(self.url),
            "status_code": self.status_code,
            "started_at": self.started_at.isoformat(),
            "elapsed_seconds": round(self.elapsed_seconds, 4),
            "attempts": self.attempts,
            "request_body": redact_text(_preview(self.request_body)),
            "response_body": redact_text(_preview(self.response_body)),
        }


@dataclass(frozen=True)
class Reply:
    """An HTTP reply together with the evidence of the call that produced it."""

    response: httpx.Response
    evidence: Evidence

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def content(self) -> bytes:
        return self.response.content

    def json(self) -> Any:
        return self.response.json()


def _preview(body: bytes) -> str:
    text = body[:_MAX_LOGGED_BODY].decode("utf-8", errors="replace")
    return text + ("…" if len(body) > _MAX_LOGGED_BODY else "")


def _retry_after_seconds(response: httpx.Response, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


class _RetryableStatus(Exception):
    """Internal: a reply whose status means "try again" (carried through tenacity)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring ``Retry-After``, capped in time.

    ``safe`` requests (idempotent by nature or made so by an idempotency key) are
    retried on timeouts, connection errors and 429/5xx. Unsafe requests are retried
    only when the request provably never reached the server (connect errors) or the
    server said it did not process it (429).
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
        if isinstance(exc, _RetryableStatus):
            return safe or exc.response.status_code == 429
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return True
        if isinstance(exc, httpx.TimeoutException | httpx.TransportError):
            return safe
        return False

    def delay(self, attempt: int, exc: BaseException | None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` starts at 1)."""
        if isinstance(exc, _RetryableStatus):
            asked = _retry_after_seconds(exc.response)
            if asked is not None:
                return min(asked, self.total_seconds)
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (attempt - 1)))
        return random.uniform(0, ceiling)

    def _tenacity_kwargs(self, *, safe: bool, correlation_id: str, what: str) -> dict[str, Any]:
        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.delay(state.attempt_number, exc)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "retrying %s after %s (attempt %d of %d, waiting %.2f s) [correlation id %s]",
                what,
                _describe(exc),
                state.attempt_number,
                self.max_retries + 1,
                state.upcoming_sleep,
                correlation_id,
            )

        return {
            "retry": retry_if_exception(lambda e: self.should_retry(e, safe=safe)),
            "stop": stop_after_attempt(self.max_retries + 1) | stop_after_delay(self.total_seconds),
            "wait": wait,
            "before_sleep": before_sleep,
            "reraise": True,
        }


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "no error"
    if isinstance(exc, _RetryableStatus):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


def _timeout(http: HttpSettings, override: float | None = None) -> httpx.Timeout:
    return httpx.Timeout(override or http.timeout, connect=http.connect_timeout)


def _client_kwargs(settings: GovLinkSettings, platform: str | None) -> dict[str, Any]:
    http = settings.http
    verify: Any = http.verify
    if http.ca_bundle is not None:
        verify = str(http.ca_bundle)
    kwargs: dict[str, Any] = {
        "timeout": _timeout(http, getattr(settings, platform).timeout if platform else None),
        "limits": httpx.Limits(
            max_connections=http.max_connections,
            max_keepalive_connections=http.max_keepalive_connections,
        ),
        "headers": {"User-Agent": http.user_agent or f"govlink/{__version__}"},
        "verify": verify,
        "follow_redirects": False,
    }
    if http.client_cert is not None:
        kwargs["cert"] = (
            (str(http.client_cert), str(http.client_key))
            if http.client_key
            else str(http.client_cert)
        )
    if http.proxy:
        kwargs["proxy"] = http.proxy
    if platform is not None:
        base = settings.platform(platform).base_url
        if base:
            kwargs["base_url"] = base
    return kwargs


def build_client(
    settings: GovLinkSettings,
    platform: str | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    auth: httpx.Auth | None = None,
) -> httpx.Client:
    """A pooled ``httpx.Client`` configured from settings (base URL of ``platform``)."""
    kwargs = _client_kwargs(settings, platform)
    if transport is not None:
        kwargs["transport"] = transport
    if auth is not None:
        kwargs["auth"] = auth
    return httpx.Client(**kwargs)


def build_async_client(
    settings: GovLinkSettings,
    platform: str | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    auth: httpx.Auth | None = None,
) -> httpx.AsyncClient:
    """The async twin of :func:`build_client`."""
    kwargs = _client_kwargs(settings, platform)
    if transport is not None:
        kwargs["transport"] = transport
    if auth is not None:
        kwargs["auth"] = auth
    return httpx.AsyncClient(**kwargs)


def _prepare(
    client: httpx.Client | httpx.AsyncClient,
    method: str,
    url: str,
    correlation_id: str,
    **kwargs: Any,
) -> httpx.Request:
    headers = dict(kwargs.pop("headers", None) or {})
    headers.setdefault(CORRELATION_HEADER, correlation_id)
    return client.build_request(method, url, headers=headers, **kwargs)


def _log_reply(request: httpx.Request, response: httpx.Response, cid: str, elapsed: float) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "%s %s -> %d in %.3f s [correlation id %s] body=%s",
            request.method,
            redact_text(str(request.url)),
            response.status_code,
            elapsed,
            cid,
            redact_text(_preview(response.content)),
        )


def _evidence(
    request: httpx.Request,
    response: httpx.Response | None,
    cid: str,
    started_at: datetime,
    elapsed: float,
    attempts: int,
) -> Evidence:
    return Evidence(
        correlation_id=cid,
        method=request.method,
        url=str(request.url),
        status_code=response.status_code if response is not None else None,
        started_at=started_at,
        elapsed_seconds=elapsed,
        attempts=attempts,
        request_body=request.content if _has_content(request) else b"",
        response_body=response.content if response is not None else b"",
        response_headers=dict(response.headers) if response is not None else {},
    )


def _has_content(request: httpx.Request) -> bool:
    try:
        request.read()
    except httpx.RequestNotRead:  # pragma: no cover - streaming uploads
        return False
    return True


def _translate(exc: BaseException, what: str, cid: str) -> GovLinkError:
    """Map what ended the retries to the govlink error a caller can act on."""
    if isinstance(exc, _RetryableStatus):
        response = exc.response
        if response.status_code == 429:
            return RateLimitedError(
                f"{what}: the platform is rate limiting (HTTP 429)",
                retry_after=_retry_after_seconds(response),
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
    return TransportError(
        f"{what}: {type(exc).__name__}: {exc}",
        hint="check the base URL, network, proxy and TLS settings (govlink doctor)",
        correlation_id=cid,
    )


_GIVE_UP_ON = (httpx.HTTPError, _RetryableStatus)


class _Call:
    """The sans-I/O part of one logical call, shared by the sync and async shells.

    It owns the correlation id, attempt count, timing, retry decisions, logging and
    the translation of the final failure; the shells only send and await.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        method: str,
        url: str,
        *,
        safe: bool,
        correlation_id: str | None,
        retry_statuses: frozenset[int],
        kwargs: dict[str, Any],
    ) -> None:
        self.policy = policy
        self.method = method
        self.url = url
        self.safe = safe
        self.cid = correlation_id or new_correlation_id()
        self.retry_statuses = retry_statuses
        self.kwargs = kwargs
        self.what = f"{method} {url}"
        self.started_at = datetime.now(UTC)
        self.t0 = time.perf_counter()
        self.attempts = 0
        self.request: httpx.Request | None = None

    def retry_kwargs(self) -> dict[str, Any]:
        return self.policy._tenacity_kwargs(safe=self.safe, correlation_id=self.cid, what=self.what)

    def prepare(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        self.attempts += 1
        self.request = _prepare(client, self.method, self.url, self.cid, **dict(self.kwargs))
        return self.request

    def received(self, response: httpx.Response) -> None:
        """Log the reply; raise to make tenacity retry when its status says so."""
        assert self.request is not None
        _log_reply(self.request, response, self.cid, time.perf_counter() - self.t0)
        if response.status_code in self.retry_statuses:
            raise _RetryableStatus(response)

    def failed(self, exc: BaseException) -> GovLinkError:
        log.warning(
            "giving up on %s after %d attempt(s) [correlation id %s]",
            self.what,
            self.attempts,
            self.cid,
        )
        return _translate(exc, self.what, self.cid)

    def reply(self, response: httpx.Response) -> Reply:
        assert self.request is not None
        elapsed = time.perf_counter() - self.t0
        return Reply(
            response,
            _evidence(self.request, response, self.cid, self.started_at, elapsed, self.attempts),
        )


class HttpTransport:
    """Synchronous shell: send a request with retries and return a :class:`Reply`.

    Non-retryable HTTP errors (4xx other than 429) are returned, not raised: the
    platform client knows what its platform's 400 means. Retries that run out raise
    the matching :class:`~govlink.core.errors.GovLinkError`.
    """

    def __init__(
        self,
        client: httpx.Client,
        settings: GovLinkSettings,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.policy = policy or RetryPolicy.from_settings(settings.http)

    def request(
        self,
        method: str,
        url: str,
        *,
        safe: bool,
        correlation_id: str | None = None,
        retry_statuses: frozenset[int] = RETRYABLE_STATUS,
        **kwargs: Any,
    ) -> Reply:
        call = _Call(
            self.policy,
            method,
            url,
            safe=safe,
            correlation_id=correlation_id,
            retry_statuses=retry_statuses,
            kwargs=kwargs,
        )
        try:
            for attempt in Retrying(**call.retry_kwargs()):
                with attempt:
                    response = self.client.send(call.prepare(self.client))
                    response.read()
                    call.received(response)
        except _GIVE_UP_ON as exc:
            raise call.failed(exc) from exc
        return call.reply(response)

    def close(self) -> None:
        self.client.close()


class AsyncHttpTransport:
    """Asynchronous twin of :class:`HttpTransport` (same policy, same evidence)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: GovLinkSettings,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.policy = policy or RetryPolicy.from_settings(settings.http)

    async def request(
        self,
        method: str,
        url: str,
        *,
        safe: bool,
        correlation_id: str | None = None,
        retry_statuses: frozenset[int] = RETRYABLE_STATUS,
        **kwargs: Any,
    ) -> Reply:
        call = _Call(
            self.policy,
            method,
            url,
            safe=safe,
            correlation_id=correlation_id,
            retry_statuses=retry_statuses,
            kwargs=kwargs,
        )
        try:
            async for attempt in AsyncRetrying(sleep=asyncio.sleep, **call.retry_kwargs()):
                with attempt:
                    response = await self.client.send(call.prepare(self.client))
                    await response.aread()
                    call.received(response)
        except _GIVE_UP_ON as exc:
            raise call.failed(exc) from exc
        return call.reply(response)

    async def aclose(self) -> None:
        await self.client.aclose()
