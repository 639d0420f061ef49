"""httpx transports that call the mock app in-process: no socket, no port.

For unit tests that want the real mocks (their validation, their errors) without a
server. :class:`MockASGITransport` is ``httpx.ASGITransport`` plus one thing: where a
real server would break the TCP connection (the ``reset_connection`` and
``truncate_body`` faults), it raises the httpx exception a client would get from a
socket, so retry code is exercised the same way. :class:`SyncASGITransport` gives
the sync clients the same app through a private event loop thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx

__all__ = ["MockASGITransport", "SyncASGITransport"]

_CLIENT = ("127.0.0.1", 123)


def _abort_class() -> type[BaseException]:
    from mock_servers.connections import AbortConnection

    return AbortConnection


class MockASGITransport(httpx.ASGITransport):
    """``httpx.ASGITransport`` that turns mock connection faults into httpx errors."""

    def __init__(self, app: Any, *, client: tuple[str, int] = _CLIENT) -> None:
        super().__init__(app=app, client=client)
        self._abort = _abort_class()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except self._abort as exc:
            if getattr(exc, "truncated", False):
                raise httpx.RemoteProtocolError(
                    f"peer closed connection without sending complete message body ({exc})",
                    request=request,
                ) from None
            raise httpx.ReadError(
                f"[Errno 104] Connection reset by peer ({exc})", request=request
            ) from None


class SyncASGITransport(httpx.BaseTransport):
    """Run an ASGI app for a sync ``httpx.Client`` on a private event-loop thread.

    The loop starts on first use and stops on :meth:`close`. Responses are read in
    full before they are handed back (mock replies are small).
    """

    def __init__(self, app: Any, *, client: tuple[str, int] = _CLIENT) -> None:
        self._inner = MockASGITransport(app, client=client)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="govlink-mock-inprocess", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        forwarded = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=body,
            extensions=request.extensions,
        )

        async def call() -> tuple[int, httpx.Headers, bytes]:
            response = await self._inner.handle_async_request(forwarded)
            content = await response.aread()
            return response.status_code, response.headers, content

        future = asyncio.run_coroutine_threadsafe(call(), self._running_loop())
        try:
            status, headers, content = future.result()
        except httpx.TransportError as exc:
            raise type(exc)(str(exc), request=request) from None
        return httpx.Response(
            status, headers=headers, stream=httpx.ByteStream(content), request=request
        )

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()
