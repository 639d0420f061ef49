"""The sans-I/O part of one logical call, shared by the sync and async transports."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from govlink.core.clock import Clock
from govlink.core.errors import GovLinkError, ReplyTooLargeError
from govlink.core.http._evidence import (
    CORRELATION_HEADER,
    MAX_LOGGED_BODY,
    Evidence,
    Reply,
    Streamed,
    StreamReply,
    evidence_of,
    new_correlation_id,
    request_body,
    response_body,
)
from govlink.core.http._retry import RetryableStatus, RetryPolicy, describe, translate
from govlink.core.redact import redact_body, redact_text

__all__ = ["CHUNK", "Call"]

log = logging.getLogger("govlink.http")

#: Bytes asked of httpx per read of a streamed body.
CHUNK = 64 * 1024
_ERROR_BODY_CAP = 64 * 1024  # an error reply to a download is kept for evidence up to this
_BUILD_KEYS = frozenset(
    {"content", "data", "files", "json", "params", "headers", "cookies", "timeout", "extensions"}
)
_SEND_KEYS = frozenset({"auth", "follow_redirects"})
# Headers that describe the encoded body; dropped when a decoded body is re-wrapped.
_ENCODING_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


def _declared_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None or not value.isdigit():
        return None
    return int(value)


class Call:
    """One logical call: everything but the sending and awaiting.

    It owns the correlation id, attempt count, timing, retry decisions, the size
    cap, logging, the records returned and the translation of the final failure;
    the shells (:class:`~govlink.core.http.HttpTransport`,
    :class:`~govlink.core.http.AsyncHttpTransport`) only send, read and await.
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
        self._first_failure: Exception | None = None

    # -- retries ---------------------------------------------------------------------

    def hold(self, exc: Exception) -> bool:
        """Whether the failed first attempt goes on to tenacity's retry loop.

        The first attempt is made without tenacity: almost every call succeeds at
        once, and stepping tenacity's machinery costs more than govlink's own
        bookkeeping of a call. A failure it would retry is kept for :meth:`replay`;
        one it would not is for the shell to raise as it is.
        """
        if not self.policy.should_retry(exc, safe=self.safe):
            return False
        self._first_failure = exc
        return True

    def replay(self) -> None:
        """Raise the held failure of attempt 1, once.

        Called at the top of every attempt inside tenacity's loop, so tenacity sees
        attempt 1 fail and its waits, limits and logs are those of a loop over every
        attempt.
        """
        first, self._first_failure = self._first_failure, None
        if first is not None:
            raise first

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
        """The request of the next attempt (fresh headers; counted; logged at DEBUG)."""
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
                redact_body(request_body(self.request), MAX_LOGGED_BODY),
            )
        return self.request

    # -- the size cap ----------------------------------------------------------------

    def whole_body_fits(self, response: httpx.Response) -> bool:
        """Whether the reply can be read in one go: a plain body of a declared length.

        h11 and h2 never deliver more than a declared ``Content-Length``, so such a
        body needs no counting (the fast path); compressed or chunked bodies are
        counted chunk by chunk while they are read (:meth:`keep`).
        """
        if "content-encoding" in response.headers:
            return False
        declared = _declared_length(response)
        if declared is not None and declared > self.max_bytes:
            raise self.too_large(response, declared)
        return declared is not None

    def keep(self, response: httpx.Response, parts: list[bytes], chunk: bytes) -> None:
        """Keep ``chunk`` of a body read under the cap (raise past it)."""
        parts.append(chunk)
        self.tally(response, chunk)

    def tally(self, response: httpx.Response, chunk: bytes) -> None:
        """Count ``chunk`` of a body passed on to a sink (raise past the cap)."""
        self.size = (self.size or 0) + len(chunk)
        if self.size > self.max_bytes:
            raise self.too_large(response, self.size)

    @staticmethod
    def keep_error(parts: list[bytes], chunk: bytes) -> bool:
        """Keep ``chunk`` of an error reply to a stream; False once enough is kept."""
        parts.append(chunk)
        return sum(map(len, parts)) <= _ERROR_BODY_CAP

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
    def _rewrap(response: httpx.Response, parts: list[bytes]) -> httpx.Response:
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

    # -- outcomes --------------------------------------------------------------------

    def must_retry(self, response: httpx.Response) -> bool:
        return response.status_code in self.retry_statuses

    def received(self, response: httpx.Response, parts: list[bytes] | None) -> httpx.Response:
        """The reply whose body was read: whole (``parts`` None) or kept in ``parts``.

        Logged; raises to make tenacity retry when its status says so.
        """
        if parts is None:
            self.size = len(response.content)
        else:
            response = self._rewrap(response, parts)
        self.response = response
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %d in %.3f s [correlation id %s] body=%s",
                response.request.method,
                redact_text(str(response.request.url)),
                response.status_code,
                self.elapsed(),
                self.cid,
                redact_body(response_body(response), MAX_LOGGED_BODY),
            )
        if self.must_retry(response):
            raise RetryableStatus(response)
        return response

    def opened(self, response: httpx.Response) -> httpx.Response:
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
        return response

    def evidence(self, response: httpx.Response | None) -> Evidence:
        assert self.request is not None
        return evidence_of(
            self.request,
            response,
            self.cid,
            self.started_at,
            self.elapsed(),
            self.attempts,
            self.size,
        )

    def failed(self, exc: BaseException) -> GovLinkError:
        """The error to raise when the retries end on ``exc`` (logged once, with evidence)."""
        log.warning(
            "giving up on %s after %d attempt(s) in %.2f s: %s [correlation id %s]",
            redact_text(self.what),
            self.attempts,
            self.elapsed(),
            describe(exc),
            self.cid,
        )
        error = translate(exc, self.what, self.cid)
        if self.request is not None and error.evidence is None:
            error.evidence = self.evidence(self.response)
        return error

    def reply(self, response: httpx.Response) -> Reply:
        return Reply(response, self.evidence(response))

    def stream_reply(self, response: httpx.Response) -> StreamReply:
        return StreamReply(response, self.evidence(response))

    def streamed(self, response: httpx.Response) -> Streamed:
        return Streamed(
            response.status_code, response.headers, self.size or 0, self.evidence(response)
        )
