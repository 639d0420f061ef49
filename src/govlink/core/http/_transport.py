"""The two transport shells: :class:`HttpTransport` sends, :class:`AsyncHttpTransport` awaits.

Everything that is not I/O lives in :class:`~govlink.core.http._call.Call`; the
shells differ only in ``await``, ``async for`` and their tenacity loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from tenacity import AsyncRetrying, Retrying

from govlink.core.clock import Clock, SystemClock
from govlink.core.config import GovLinkSettings
from govlink.core.http._call import CHUNK, Call
from govlink.core.http._evidence import Reply, Streamed, StreamReply
from govlink.core.http._retry import GIVE_UP_ON, RETRYABLE_STATUS, RetryPolicy
from govlink.core.http._sinks import DEFAULT_DOWNLOAD_CAP, Sink, aborted_on_failure
from govlink.core.lifecycle import AsyncClosable, Closable

__all__ = ["AsyncHttpTransport", "HttpTransport"]


class _TransportBase:
    """What both shells hold: settings, retry policy, clock; how a call starts."""

    def __init__(
        self, settings: GovLinkSettings, policy: RetryPolicy | None, clock: Clock | None
    ) -> None:
        self.settings = settings
        self.policy = policy or RetryPolicy.from_settings(settings.http)
        self.clock: Clock = clock or SystemClock()

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
    ) -> Call:
        return Call(
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
        super().__init__(settings, policy, clock)
        self.client = client
        self._sleep = sleep or time.sleep

    def _run(self, call: Call, attempt: Callable[[Call], Any]) -> Any:
        try:
            try:
                return attempt(call)
            except Exception as exc:
                if not call.hold(exc):
                    raise
            result: Any = None
            for retry in Retrying(sleep=self._sleep, **call.retry_kwargs()):
                with retry:
                    call.replay()
                    result = attempt(call)
            return result
        except GIVE_UP_ON as exc:
            raise call.failed(exc) from exc

    def _send(self, call: Call) -> httpx.Response:
        return self.client.send(call.prepare(self.client), stream=True, **call.send_kwargs)

    def _attempt(self, call: Call) -> httpx.Response:
        """One attempt at a whole reply, read under the cap."""
        response = self._send(call)
        parts: list[bytes] | None = None
        try:
            if call.whole_body_fits(response):
                response.read()
            else:
                parts = []
                for chunk in response.iter_bytes(CHUNK):
                    call.keep(response, parts, chunk)
        finally:
            response.close()
        return call.received(response, parts)

    def _open(self, call: Call) -> httpx.Response:
        """One attempt at opening a streamed reply; a retryable status is read and retried."""
        response = self._send(call)
        if call.must_retry(response):
            parts: list[bytes] = []
            try:
                for chunk in response.iter_bytes(CHUNK):
                    if not call.keep_error(parts, chunk):
                        break
            finally:
                response.close()
            call.received(response, parts)  # raises: the status says "try again"
        return call.opened(response)

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
        return call.reply(self._run(call, self._attempt))

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
            yield call.stream_reply(response)
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

        def attempt(call: Call) -> httpx.Response:
            sink.abort()
            response = self._open(call)
            try:
                sink.begin(response.status_code, response.headers)
                for chunk in response.iter_bytes(CHUNK):
                    call.tally(response, chunk)
                    sink.write(chunk)
                sink.finish()
            finally:
                response.close()
            return response

        with aborted_on_failure(sink):
            response: httpx.Response = self._run(call, attempt)
        return call.streamed(response)

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
        super().__init__(settings, policy, clock)
        self.client = client
        self._sleep = sleep or asyncio.sleep

    async def _run(self, call: Call, attempt: Callable[[Call], Awaitable[Any]]) -> Any:
        try:
            try:
                return await attempt(call)
            except Exception as exc:
                if not call.hold(exc):
                    raise
            result: Any = None
            async for retry in AsyncRetrying(sleep=self._sleep, **call.retry_kwargs()):
                with retry:
                    call.replay()
                    result = await attempt(call)
            return result
        except GIVE_UP_ON as exc:
            raise call.failed(exc) from exc

    async def _send(self, call: Call) -> httpx.Response:
        return await self.client.send(call.prepare(self.client), stream=True, **call.send_kwargs)

    async def _attempt(self, call: Call) -> httpx.Response:
        response = await self._send(call)
        parts: list[bytes] | None = None
        try:
            if call.whole_body_fits(response):
                await response.aread()
            else:
                parts = []
                async for chunk in response.aiter_bytes(CHUNK):
                    call.keep(response, parts, chunk)
        finally:
            await response.aclose()
        return call.received(response, parts)

    async def _open(self, call: Call) -> httpx.Response:
        response = await self._send(call)
        if call.must_retry(response):
            parts: list[bytes] = []
            try:
                async for chunk in response.aiter_bytes(CHUNK):
                    if not call.keep_error(parts, chunk):
                        break
            finally:
                await response.aclose()
            call.received(response, parts)  # raises: the status says "try again"
        return call.opened(response)

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
        return call.reply(await self._run(call, self._attempt))

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
            yield call.stream_reply(response)
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

        async def attempt(call: Call) -> httpx.Response:
            sink.abort()
            response = await self._open(call)
            try:
                sink.begin(response.status_code, response.headers)
                async for chunk in response.aiter_bytes(CHUNK):
                    call.tally(response, chunk)
                    sink.write(chunk)
                sink.finish()
            finally:
                await response.aclose()
            return response

        with aborted_on_failure(sink):
            response: httpx.Response = await self._run(call, attempt)
        return call.streamed(response)

    async def aclose(self) -> None:
        await self.client.aclose()
