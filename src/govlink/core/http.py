"""HTTP for every platform client: one client factory, one retry policy, evidence.

Why one module: every platform needs the same things (pooling, timeouts, mTLS,
proxy, a correlation id per logical call, masked logging, retries that never
repeat an unsafe request) and they must behave the same everywhere. Platform
clients build requests and parse replies in their own sans-I/O code and hand the
request to :class:`HttpTransport` or :class:`AsyncHttpTransport`; those two shells
differ only in ``await``. Every reply carries an :class:`Evidence` record so a vendor
can show an auditor exactly what was sent and received.

Outcomes of :meth:`HttpTransport.request`:

* 2xx and 4xx other than 429 are *returned* (the platform client knows what its
  platform's 400 means);
* 429 and 5xx are retried for safe requests (429 for unsafe ones too: the server
  says it did not process it); when the retries run out, or at once for an unsafe
  request on 5xx, a :class:`~govlink.core.errors.TransportError` (or
  :class:`~govlink.core.errors.RateLimitedError`) is raised with ``.evidence``
  holding the last raw reply;
* connection failures that provably happened before the request was sent are
  retried for every request; timeouts and resets after sending only for safe ones;
  a :class:`~govlink.core.errors.GovLinkError` raised during an attempt is retried
  when its ``retryable`` says so (for unsafe requests only a
  :class:`~govlink.core.errors.TokenUnavailableError`: nothing reached the API).

Reply bodies are read under a size cap while they arrive (``GOVLINK_HTTP__MAX_REPLY_BYTES``,
default 64 MiB, counted after decoding gzip/deflate): past it a
:class:`~govlink.core.errors.ReplyTooLargeError` is raised and never retried. Large
bodies go to disk instead: :meth:`HttpTransport.download` streams a body into a
:class:`Sink` such as :class:`FileSink` (temporary file renamed into place; default
cap 1 GiB), with the same retry rules; :meth:`HttpTransport.stream` opens a streamed
reply for callers that read it themselves. Both carry the correlation header and
return evidence. Platform code normally reaches all this through
:mod:`govlink.core.driver` (``Send`` and ``Stream`` steps) rather than directly.

Every request, including those an ``httpx.Auth`` flow adds (a gateway token
request), carries the client's timeout.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import re
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
)

from govlink._version import __version__
from govlink.core.clock import Clock, SystemClock
from govlink.core.config import GovLinkSettings, HttpSettings
from govlink.core.errors import (
    ConfigurationError,
    GovLinkError,
    GovLinkTimeoutError,
    PlatformError,
    RateLimitedError,
    ReplyTooLargeError,
    TokenUnavailableError,
    TransportError,
)
from govlink.core.lifecycle import AsyncClosable, Closable
from govlink.core.redact import install_log_redaction, redact_body, redact_text

__all__ = [
    "CORRELATION_HEADER",
    "DEFAULT_DOWNLOAD_CAP",
    "RETRYABLE_STATUS",
    "AsyncHttpTransport",
    "Evidence",
    "FileSink",
    "HttpTransport",
    "Reply",
    "RetryPolicy",
    "Sink",
    "StreamReply",
    "Streamed",
    "build_async_client",
    "build_client",
    "new_correlation_id",
]

log = logging.getLogger("govlink.http")

# httpx logs every URL at INFO (a lookup by ID number puts it in the query string);
# mask those records too, not only ours.
install_log_redaction(
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)

#: The header carrying a logical call's correlation id (the one constant for all of govlink).
CORRELATION_HEADER = "X-Correlation-ID"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
#: Default cap of a body streamed to a sink (a file): 1 GiB.
DEFAULT_DOWNLOAD_CAP = 1024 * 1024 * 1024
_MAX_LOGGED_BODY = 2000
_CHUNK = 64 * 1024
_LONG_DIGITS = re.compile(r"\d{9}")


def new_correlation_id() -> str:
    """A fresh id for one logical call (kept across its retries).

    A uuid4 in hex, re-drawn when it holds a run of 9+ digits, so the log masking
    (which hides 9- and 12-digit ID numbers) never mangles a correlation id.
    """
    while True:
        cid = uuid.uuid4().hex
        if not _LONG_DIGITS.search(cid):
            return cid


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
    #: Bytes of the reply body received (for a streamed body, which is not kept here).
    response_size: int | None = None

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
            "request_body": redact_body(self.request_body, _MAX_LOGGED_BODY),
            "response_body": redact_body(self.response_body, _MAX_LOGGED_BODY),
            "response_size": (
                len(self.response_body) if self.response_size is None else self.response_size
            ),
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

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    @property
    def text(self) -> str:
        return self.response.text

    @property
    def correlation_id(self) -> str:
        return self.evidence.correlation_id

    def json(self) -> Any:
        return self.response.json()


def _retry_after_seconds(response: httpx.Response, now: float | None = None) -> float | None:
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


class _RetryableStatus(Exception):
    """Internal: a reply whose status means "try again" (carried through tenacity)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


# Mistakes on our side (bad URL scheme, malformed request): retrying cannot help.
_NEVER_RETRY = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


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


# Failures that happen before any byte of the request left: safe to retry always.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


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
        if isinstance(exc, _RetryableStatus):
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
        if isinstance(exc, _RetryableStatus):
            asked = _retry_after_seconds(exc.response, now)
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
                _describe(exc),
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


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "no error"
    if isinstance(exc, _RetryableStatus):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


def _timeout(http: HttpSettings, override: float | None = None) -> httpx.Timeout:
    return httpx.Timeout(override or http.timeout, connect=http.connect_timeout)


def _ssl_verify(http: HttpSettings) -> ssl.SSLContext | bool:
    """What to pass as ``verify``: a context when a CA bundle or client cert is set.

    httpx 0.28 deprecates ``verify=<path>`` and ``cert=``; an explicit
    :class:`ssl.SSLContext` also lets a bad file surface as a
    :class:`ConfigurationError` naming the variable, at client creation.
    """
    if http.client_key is not None and http.client_cert is None:
        raise ConfigurationError(
            "a client key is set without a client certificate",
            setting="GOVLINK_HTTP__CLIENT_CERT",
            expected="the path of the PEM client certificate that goes with the key",
        )
    if http.ca_bundle is None and http.client_cert is None:
        return http.verify
    if http.ca_bundle is not None:
        cafile = str(http.ca_bundle)
        setting = "GOVLINK_HTTP__CA_BUNDLE"
    else:
        import certifi

        cafile = certifi.where()
        setting = "GOVLINK_HTTP__VERIFY"
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"the CA bundle {cafile} cannot be loaded ({_os_reason(exc)})",
            setting=setting,
            expected="the path of a readable PEM file of CA certificates",
        ) from None
    if not http.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if http.client_cert is not None:
        secret = http.client_key_password
        password = secret.get_secret_value() if secret is not None else ""
        try:
            context.load_cert_chain(
                str(http.client_cert),
                str(http.client_key) if http.client_key is not None else None,
                password=lambda: password,  # never prompt on a terminal
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"the client certificate {http.client_cert} / key {http.client_key} cannot be "
                f"loaded ({_os_reason(exc)})",
                setting="GOVLINK_HTTP__CLIENT_CERT",
                expected="readable PEM files for the certificate and GOVLINK_HTTP__CLIENT_KEY "
                "that match each other (GOVLINK_HTTP__CLIENT_KEY_PASSWORD if the key is "
                "encrypted)",
            ) from None
    return context


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _client_kwargs(settings: GovLinkSettings, platform: str | None) -> dict[str, Any]:
    http = settings.http
    platform_settings = settings.platform(platform) if platform is not None else None
    kwargs: dict[str, Any] = {
        "timeout": _timeout(http, platform_settings.timeout if platform_settings else None),
        "limits": httpx.Limits(
            max_connections=http.max_connections,
            max_keepalive_connections=http.max_keepalive_connections,
        ),
        "headers": {"User-Agent": http.user_agent or f"govlink/{__version__}"},
        "verify": _ssl_verify(http),
        "follow_redirects": False,
    }
    if http.proxy:
        kwargs["proxy"] = http.proxy
    if platform_settings is not None and platform_settings.base_url:
        kwargs["base_url"] = platform_settings.base_url
    return kwargs


def _give_timeout(request: httpx.Request, timeout: httpx.Timeout) -> None:
    """Give ``request`` the client's timeout when it has none of its own.

    httpx applies the client timeout only to requests the client builds; a request
    an ``httpx.Auth`` flow yields (a gateway token request) would otherwise wait
    forever on a stalled token endpoint, past the call's timeout and retry budget.
    """
    if "timeout" not in request.extensions:
        request.extensions["timeout"] = timeout.as_dict()


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
    timeout: httpx.Timeout = kwargs["timeout"]

    def default_timeout(request: httpx.Request) -> None:
        _give_timeout(request, timeout)

    kwargs["event_hooks"] = {"request": [default_timeout]}
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
    timeout: httpx.Timeout = kwargs["timeout"]

    async def default_timeout(request: httpx.Request) -> None:
        _give_timeout(request, timeout)

    kwargs["event_hooks"] = {"request": [default_timeout]}
    return httpx.AsyncClient(**kwargs)


def _evidence(
    request: httpx.Request,
    response: httpx.Response | None,
    cid: str,
    started_at: datetime,
    elapsed: float,
    attempts: int,
    size: int | None = None,
) -> Evidence:
    return Evidence(
        correlation_id=cid,
        method=request.method,
        url=str(request.url),
        status_code=response.status_code if response is not None else None,
        started_at=started_at,
        elapsed_seconds=elapsed,
        attempts=attempts,
        request_body=_request_body(request),
        response_body=_response_body(response),
        response_headers=dict(response.headers) if response is not None else {},
        response_size=size,
    )


def _request_body(request: httpx.Request) -> bytes:
    try:
        return request.content
    except httpx.RequestNotRead:  # pragma: no cover - streaming uploads
        return b""


def _response_body(response: httpx.Response | None) -> bytes:
    if response is None:
        return b""
    try:
        return response.content
    except httpx.ResponseNotRead:
        return b""


def _translate(exc: BaseException, what: str, cid: str) -> GovLinkError:
    """Map what ended the retries to the govlink error a caller can act on."""
    if isinstance(exc, GovLinkError):
        if exc.correlation_id is None:
            exc.correlation_id = cid
        return exc
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


_GIVE_UP_ON = (httpx.HTTPError, _RetryableStatus, GovLinkError)
_BUILD_KEYS = frozenset(
    {"content", "data", "files", "json", "params", "headers", "cookies", "timeout", "extensions"}
)

_SEND_KEYS = frozenset({"auth", "follow_redirects"})
# Headers that describe the encoded body; dropped when a decoded body is re-wrapped.
_ENCODING_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


@dataclass(frozen=True)
class StreamReply:
    """An open streamed reply (status and headers read, body not yet) and its evidence."""

    response: httpx.Response
    evidence: Evidence

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    @property
    def correlation_id(self) -> str:
        return self.evidence.correlation_id


@dataclass(frozen=True)
class Streamed:
    """A body streamed to a :class:`Sink`: status, headers, bytes written, evidence."""

    status_code: int
    headers: httpx.Headers
    size: int
    evidence: Evidence


class Sink(Protocol):
    """Where a streamed body goes (:meth:`HttpTransport.download`).

    ``begin`` sees the status and headers first (raise to refuse the reply, e.g.
    an error page instead of a PDF); ``write`` gets the decoded body in chunks;
    ``finish`` runs once the whole body arrived; ``abort`` drops what was written
    (before a retry, or when the download fails). ``begin`` is called again after
    an ``abort`` when a safe download is retried.
    """

    def begin(self, status_code: int, headers: httpx.Headers) -> None: ...

    def write(self, chunk: bytes) -> None: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


def _refuse_errors(status_code: int, headers: httpx.Headers, head: bytes) -> None:
    """:class:`FileSink`'s default check: an HTTP error reply is never saved as the file."""
    if status_code >= 400:
        raise PlatformError(
            f"the download was refused (HTTP {status_code}): {redact_body(head, _MAX_LOGGED_BODY)}",
            status_code=status_code,
            raw=head,
        )


class FileSink:
    """A :class:`Sink` writing to a temporary file next to ``target``, renamed on finish.

    A half-downloaded file never has the final name. ``check`` (optional) is called
    with the status, headers and the first ``head_size`` bytes before anything is
    kept: raise from it to refuse the reply (an error page saved as ``receipt.pdf``).
    """

    def __init__(
        self,
        target: str | Path,
        *,
        check: Callable[[int, httpx.Headers, bytes], None] | None = None,
        head_size: int = 1024,
    ) -> None:
        self.target = Path(target)
        self.check = check or _refuse_errors
        self.head_size = head_size
        self.size = 0
        self._tmp: Path | None = None
        self._out: Any = None
        self._status = 0
        self._headers = httpx.Headers()
        self._head = b""
        self._checked = False

    def begin(self, status_code: int, headers: httpx.Headers) -> None:
        import tempfile

        self.abort()
        self._status, self._headers = status_code, headers
        self._head, self._checked, self.size = b"", False, 0
        self.target.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in finish/abort
            prefix=f".{self.target.name}.", suffix=".part", dir=self.target.parent, delete=False
        )
        self._tmp, self._out = Path(handle.name), handle

    def _run_check(self) -> None:
        self._checked = True
        self.check(self._status, self._headers, self._head)

    def write(self, chunk: bytes) -> None:
        if not self._checked:
            self._head += chunk
            if len(self._head) >= self.head_size:
                self._run_check()
        self._out.write(chunk)
        self.size += len(chunk)

    def finish(self) -> None:
        if not self._checked:
            self._run_check()
        assert self._tmp is not None
        self._out.close()
        self._tmp.replace(self.target)
        self._tmp = self._out = None

    def abort(self) -> None:
        if self._out is not None:
            self._out.close()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
        self._tmp = self._out = None


class _Call:
    """The sans-I/O part of one logical call, shared by the sync and async shells.

    It owns the correlation id, attempt count, timing, retry decisions, the size
    cap, logging and the translation of the final failure; the shells only send
    and await.
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
        clock: Clock,
        max_bytes: int,
        budget_started: float | None = None,
    ) -> None:
        unknown = set(kwargs) - _BUILD_KEYS - _SEND_KEYS
        if unknown:
            raise TypeError(f"unexpected request argument(s): {', '.join(sorted(unknown))}")
        self.policy = policy
        self.method = method.upper()
        self.url = url
        self.safe = safe
        self.headers = httpx.Headers(kwargs.pop("headers", None))
        self.cid = correlation_id or self.headers.get(CORRELATION_HEADER) or new_correlation_id()
        self.headers[CORRELATION_HEADER] = self.cid
        self.send_kwargs = {key: kwargs.pop(key) for key in _SEND_KEYS & set(kwargs)}
        self.retry_statuses = retry_statuses
        self.kwargs = kwargs
        self.what = f"{self.method} {url}"
        self.clock = clock
        self.max_bytes = max_bytes
        self.started_at = clock.now()
        self.t0 = clock.monotonic()
        self.budget_t0 = self.t0 if budget_started is None else budget_started
        self.attempts = 0
        self.size: int | None = None
        self.request: httpx.Request | None = None
        self.response: httpx.Response | None = None

    def retryable(self, exc: BaseException) -> bool:
        """Whether a failed first attempt goes on to tenacity's retry loop.

        The first attempt is made without tenacity: almost every call succeeds at
        once, and stepping tenacity's machinery costs more than govlink's own
        bookkeeping of a call. A failure it would not retry is raised as it would.
        """
        return self.policy.should_retry(exc, safe=self.safe)

    def retry_kwargs(self) -> dict[str, Any]:
        return self.policy._tenacity_kwargs(
            safe=self.safe,
            correlation_id=self.cid,
            what=self.what,
            clock=self.clock,
            started=self.budget_t0,
        )

    def elapsed(self) -> float:
        return self.clock.monotonic() - self.t0

    def prepare(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        self.attempts += 1
        self.response = None
        self.size = None
        self.request = client.build_request(
            self.method, self.url, headers=self.headers.copy(), **self.kwargs
        )
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s attempt %d [correlation id %s] body=%s",
                self.request.method,
                redact_text(str(self.request.url)),
                self.attempts,
                self.cid,
                redact_body(_request_body(self.request), _MAX_LOGGED_BODY),
            )
        return self.request

    # -- the size cap ---------------------------------------------------------------

    def whole_body_fits(self, response: httpx.Response) -> bool:
        """Whether the reply can be read in one go: a plain body of a declared length.

        h11 and h2 never deliver more than a declared ``Content-Length``, so such a
        body needs no counting (the fast path); compressed or chunked bodies are
        counted chunk by chunk while they are read.
        """
        if "content-encoding" in response.headers:
            return False
        declared = _declared_length(response)
        if declared is not None and declared > self.max_bytes:
            raise self.too_large(response, declared)
        return declared is not None

    def count(self, response: httpx.Response, parts: list[bytes], chunk: bytes) -> None:
        parts.append(chunk)
        self.size = (self.size or 0) + len(chunk)
        if self.size > self.max_bytes:
            raise self.too_large(response, self.size)

    def too_large(self, response: httpx.Response, seen: int) -> ReplyTooLargeError:
        self.response = response
        self.size = seen
        return ReplyTooLargeError(
            f"{self.what}: the reply is larger than the {self.max_bytes}-byte cap "
            f"({seen} bytes or more, HTTP {response.status_code})",
            limit=self.max_bytes,
            correlation_id=self.cid,
        )

    @staticmethod
    def rewrap(response: httpx.Response, parts: list[bytes]) -> httpx.Response:
        """A read reply holding the decoded body that was counted while streaming."""
        headers = [
            (k, v) for k, v in response.headers.multi_items() if k.lower() not in _ENCODING_HEADERS
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=b"".join(parts),
            request=response.request,
            extensions=response.extensions,
        )

    # -- outcomes ------------------------------------------------------------------

    def received(self, response: httpx.Response) -> None:
        """Log the reply; raise to make tenacity retry when its status says so."""
        self.response = response
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %d in %.3f s [correlation id %s] body=%s",
                response.request.method,
                redact_text(str(response.request.url)),
                response.status_code,
                self.elapsed(),
                self.cid,
                redact_body(_response_body(response), _MAX_LOGGED_BODY),
            )
        if response.status_code in self.retry_statuses:
            raise _RetryableStatus(response)

    def opened(self, response: httpx.Response) -> None:
        """A streamed reply is open (its body is the caller's): log its status only."""
        self.response = response
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %d in %.3f s, body streamed [correlation id %s]",
                self.method,
                redact_text(str(response.request.url)),
                response.status_code,
                self.elapsed(),
                self.cid,
            )

    def evidence(self, response: httpx.Response | None) -> Evidence:
        assert self.request is not None
        return _evidence(
            self.request,
            response,
            self.cid,
            self.started_at,
            self.elapsed(),
            self.attempts,
            self.size,
        )

    def failed(self, exc: BaseException) -> GovLinkError:
        log.warning(
            "giving up on %s after %d attempt(s) in %.2f s: %s [correlation id %s]",
            redact_text(self.what),
            self.attempts,
            self.elapsed(),
            _describe(exc),
            self.cid,
        )
        error = _translate(exc, self.what, self.cid)
        if self.request is not None and error.evidence is None:
            error.evidence = self.evidence(self.response)
        return error

    def reply(self, response: httpx.Response) -> Reply:
        return Reply(response, self.evidence(response))


def _declared_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None or not value.isdigit():
        return None
    return int(value)


_ERROR_BODY_CAP = 64 * 1024  # an error reply to a download is kept for evidence up to this


class _TransportBase:
    settings: GovLinkSettings
    policy: RetryPolicy
    clock: Clock

    def _call(
        self,
        method: str,
        url: str,
        safe: bool,
        correlation_id: str | None,
        retry_statuses: frozenset[int],
        max_bytes: int | None,
        budget_started: float | None,
        kwargs: dict[str, Any],
    ) -> _Call:
        return _Call(
            self.policy,
            method,
            url,
            safe=safe,
            correlation_id=correlation_id,
            retry_statuses=retry_statuses,
            kwargs=kwargs,
            clock=self.clock,
            max_bytes=max_bytes or self.settings.http.max_reply_bytes,
            budget_started=budget_started,
        )


class HttpTransport(_TransportBase, Closable):
    """Synchronous shell: send a request with retries and return a :class:`Reply`.

    Non-retryable HTTP errors (4xx other than 429) are returned, not raised: the
    platform client knows what its platform's 400 means. Retries that run out raise
    the matching :class:`~govlink.core.errors.GovLinkError` (with ``.evidence``).
    Reply bodies are read with the ``GOVLINK_HTTP__MAX_REPLY_BYTES`` cap
    (:class:`~govlink.core.errors.ReplyTooLargeError`, never retried).
    ``clock`` and ``sleep`` are injectable so tests can check waits without waiting.
    """

    def __init__(
        self,
        client: httpx.Client,
        settings: GovLinkSettings,
        policy: RetryPolicy | None = None,
        *,
        clock: Clock | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.policy = policy or RetryPolicy.from_settings(settings.http)
        self.clock: Clock = clock or SystemClock()
        self._sleep = sleep or time.sleep

    def _run(self, call: _Call, attempt: Callable[[_Call], Any]) -> Any:
        try:
            first: Exception | None = None
            try:
                return attempt(call)
            except Exception as exc:
                if not call.retryable(exc):
                    raise
                first = exc
            result: Any = None
            for retry in Retrying(sleep=self._sleep, **call.retry_kwargs()):
                # Attempt 1 ran without tenacity (see _Call.retryable); tenacity is
                # shown it raising, so waits, limits and logs are those of a loop
                # over every attempt.
                with retry:
                    if first is not None:
                        replay, first = first, None
                        raise replay
                    result = attempt(call)
            return result
        except _GIVE_UP_ON as exc:
            raise call.failed(exc) from exc

    def request(
        self,
        method: str,
        url: str,
        *,
        safe: bool,
        correlation_id: str | None = None,
        retry_statuses: frozenset[int] = RETRYABLE_STATUS,
        max_bytes: int | None = None,
        budget_started: float | None = None,
        **kwargs: Any,
    ) -> Reply:
        """Send with retries; the whole reply read under ``max_bytes`` (default: settings).

        ``budget_started`` (a :meth:`Clock.monotonic` value) lets several requests of
        one logical call share one retry budget (the driver passes the call's start).
        """
        call = self._call(
            method, url, safe, correlation_id, retry_statuses, max_bytes, budget_started, kwargs
        )
        response: httpx.Response = self._run(call, self._attempt)
        return call.reply(response)

    def _attempt(self, call: _Call) -> httpx.Response:
        response = self.client.send(call.prepare(self.client), stream=True, **call.send_kwargs)
        try:
            if call.whole_body_fits(response):
                response.read()
                call.size = len(response.content)
            else:
                parts: list[bytes] = []
                for chunk in response.iter_bytes(_CHUNK):
                    call.count(response, parts, chunk)
                response = call.rewrap(response, parts)
        finally:
            response.close()
        call.received(response)
        return response

    def _open(self, call: _Call) -> httpx.Response:
        """One attempt at opening a streamed reply; a retryable status is read and retried."""
        response = self.client.send(call.prepare(self.client), stream=True, **call.send_kwargs)
        if response.status_code in call.retry_statuses:
            try:
                parts: list[bytes] = []
                for chunk in response.iter_bytes(_CHUNK):
                    parts.append(chunk)
                    if sum(map(len, parts)) > _ERROR_BODY_CAP:
                        break
                response = call.rewrap(response, parts)
            finally:
                response.close()
            call.received(response)
        call.opened(response)
        return response

    @contextmanager
    def stream(
        self,
        method: str,
        url: str,
        *,
        safe: bool,
        correlation_id: str | None = None,
        retry_statuses: frozenset[int] = RETRYABLE_STATUS,
        budget_started: float | None = None,
        **kwargs: Any,
    ) -> Iterator[StreamReply]:
        """Open a streamed reply: status and headers, body read by the caller.

        Opening follows the retry rules of :meth:`request` (a retryable status is
        retried for safe requests); the body is the caller's to read (``iter_bytes``)
        and to cap, and a failure while reading it is not retried — use
        :meth:`download` for a capped, retried body. Closed when the block ends.
        """
        call = self._call(
            method, url, safe, correlation_id, retry_statuses, None, budget_started, kwargs
        )
        response: httpx.Response = self._run(call, self._open)
        try:
            yield StreamReply(response, call.evidence(response))
        finally:
            response.close()

    def download(
        self,
        method: str,
        url: str,
        sink: Sink,
        *,
        safe: bool,
        correlation_id: str | None = None,
        retry_statuses: frozenset[int] = RETRYABLE_STATUS,
        max_bytes: int = DEFAULT_DOWNLOAD_CAP,
        budget_started: float | None = None,
        **kwargs: Any,
    ) -> Streamed:
        """Stream the reply body into ``sink`` under ``max_bytes``, with retries.

        The whole attempt (open, write, finish) is retried under the rules of
        :meth:`request`: for a safe request a failure half-way aborts the sink and
        starts again; for an unsafe one only failures before sending are retried.
        """
        call = self._call(
            method, url, safe, correlation_id, retry_statuses, max_bytes, budget_started, kwargs
        )

        def attempt(call: _Call) -> httpx.Response:
            sink.abort()
            response = self._open(call)
            try:
                sink.begin(response.status_code, response.headers)
                parts: list[bytes] = []
                for chunk in response.iter_bytes(_CHUNK):
                    call.count(response, parts, chunk)
                    parts.clear()
                    sink.write(chunk)
                sink.finish()
            finally:
                response.close()
            return response

        try:
            response: httpx.Response = self._run(call, attempt)
        except BaseException:
            sink.abort()
            raise
        return Streamed(
            response.status_code, response.headers, call.size or 0, call.evidence(response)
        )

    def close(self) -> None:
        self.client.close()


class AsyncHttpTransport(_TransportBase, AsyncClosable):
    """Asynchronous twin of :class:`HttpTransport` (same policy, cap and evidence)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: GovLinkSettings,
        policy: RetryPolicy | None = None,
        *,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.policy = policy or RetryPolicy.from_settings(settings.http)
        self.clock: Clock = clock or SystemClock()
        self._sleep = sleep or asyncio.sleep

    async def _run(self, call: _Call, attempt: Callable[[_Call], Awaitable[Any]]) -> Any:
        try:
            first: Exception | None = None
            try:
                return await attempt(call)
            except Exception as exc:
                if not call.retryable(exc):
                    raise
                first = exc
            result: Any = None
            async for retry in AsyncRetrying(sleep=self._sleep, **call.retry_kwargs()):
                with retry:
                    if first is not None:
                        replay, first = first, None
                        raise replay
                    result = await attempt(call)
            return result
        except _GIVE_UP_ON as exc:
            raise call.failed(exc) from exc

    async def request(
        self,
        method: str,
        url: str,
        *,
        safe: bool,
        correlation_id: str | None = None,
        retry_statuses: frozenset[int] = RETRYABLE_STATUS,
        max_bytes: int | None = None,
        budget_started: float | None = None,
        **kwargs: Any,
    ) -> Reply:
        """See :meth:`HttpTransport.request`."""
        call = self._call(
            method, url, safe, correlation_id, retry_statuses, max_bytes, budget_started, kwargs
        )
        response: httpx.Response = await self._run(call, self._attempt)
        return call.reply(response)

    async def _attempt(self, call: _Call) -> httpx.Response:
        response = await self.client.send(
            call.prepare(self.client), stream=True, **call.send_kwargs
        )
        try:
            if call.whole_body_fits(response):
                await response.aread()
                call.size = len(response.content)
            else:
                parts: list[bytes] = []
                async for chunk in response.aiter_bytes(_CHUNK):
                    call.count(response, parts, chunk)
                response = call.rewrap(response, parts)
        finally:
            await response.aclose()
        call.received(response)
        return response

    async def _open(self, call: _Call) -> httpx.Response:
        response = await self.client.send(
            call.prepare(self.client), stream=True, **call.send_kwargs
        )
        if response.status_code in call.retry_statuses:
            try:
                parts: list[bytes] = []
                async for chunk in response.aiter_bytes(_CHUNK):
                    parts.append(chunk)
                    if sum(map(len, parts)) > _ERROR_BODY_CAP:
                        break
                response = call.rewrap(response, parts)
            finally:
                await response.aclose()
            call.received(response)
        call.opened(response)
        return response

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        safe: bool,
        correlation_id: str | None = None,
        retry_statuses: frozenset[int] = RETRYABLE_STATUS,
        budget_started: float | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[StreamReply]:
        """See :meth:`HttpTransport.stream` (read the body with ``aiter_bytes``)."""
        call = self._call(
            method, url, safe, correlation_id, retry_statuses, None, budget_started, kwargs
        )
        response: httpx.Response = await self._run(call, self._open)
        try:
            yield StreamReply(response, call.evidence(response))
        finally:
            await response.aclose()

    async def download(
        self,
        method: str,
        url: str,
        sink: Sink,
        *,
        safe: bool,
        correlation_id: str | None = None,
        retry_statuses: frozenset[int] = RETRYABLE_STATUS,
        max_bytes: int = DEFAULT_DOWNLOAD_CAP,
        budget_started: float | None = None,
        **kwargs: Any,
    ) -> Streamed:
        """See :meth:`HttpTransport.download`."""
        call = self._call(
            method, url, safe, correlation_id, retry_statuses, max_bytes, budget_started, kwargs
        )

        async def attempt(call: _Call) -> httpx.Response:
            sink.abort()
            response = await self._open(call)
            try:
                sink.begin(response.status_code, response.headers)
                parts: list[bytes] = []
                async for chunk in response.aiter_bytes(_CHUNK):
                    call.count(response, parts, chunk)
                    parts.clear()
                    sink.write(chunk)
                sink.finish()
            finally:
                await response.aclose()
            return response

        try:
            response: httpx.Response = await self._run(call, attempt)
        except BaseException:
            sink.abort()
            raise
        return Streamed(
            response.status_code, response.headers, call.size or 0, call.evidence(response)
        )

    async def aclose(self) -> None:
        await self.client.aclose()
