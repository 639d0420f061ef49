"""Reach the TCP connection behind an ASGI request, to break it on purpose.

ASGI hides the socket, but a "connection reset" fault must really reset it: a client
that only ever saw polite HTTP errors in tests will meet RSTs from a provincial
gateway in production. :class:`TrackingH11Protocol` (uvicorn's h11 protocol plus a
registry keyed by the client address that uvicorn also puts in ``scope["client"]``)
lets the fault middleware find the transport and abort it.

What a client sees:

* ``reset_connection``: the socket is closed with ``SO_LINGER`` 0, so the kernel
  sends a TCP RST instead of a FIN; httpx raises ``httpx.ReadError`` ("Connection
  reset by peer") or ``httpx.RemoteProtocolError`` ("Server disconnected without
  sending a response") depending on timing.
* ``truncate_body``: the status line and headers (with the full ``Content-Length``)
  and part of the body arrive, then a FIN; httpx raises
  ``httpx.RemoteProtocolError`` ("peer closed connection without sending complete
  message body").

In-process (no socket: ``httpx.ASGITransport``) the middleware raises
:class:`AbortConnection` instead; govlink's test transports turn it into the same
httpx exceptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import MutableMapping
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["AbortConnection", "TrackingH11Protocol", "abort_connection", "close_connection"]

_transports: dict[tuple[str, int], asyncio.BaseTransport] = {}
_lock = threading.Lock()


class AbortConnection(ConnectionResetError):
    """Raised (in-process only) where a real server would have broken the connection."""

    def __init__(self, message: str, *, truncated: bool = False) -> None:
        super().__init__(message)
        self.truncated = truncated


def _peer(transport: asyncio.BaseTransport) -> tuple[str, int] | None:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return str(peer[0]), int(peer[1])
    return None


class TrackingH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that remembers its transport by client address."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        peer = _peer(transport)
        if peer is not None:
            with _lock:
                _transports[peer] = transport

    def connection_lost(self, exc: Exception | None) -> None:
        peer = _peer(self.transport) if self.transport is not None else None
        if peer is not None:
            with _lock:
                if _transports.get(peer) is self.transport:
                    del _transports[peer]
        super().connection_lost(exc)


def _transport_for(scope: MutableMapping[str, Any]) -> asyncio.BaseTransport | None:
    client = scope.get("client")
    if not client:
        return None
    with _lock:
        return _transports.get((str(client[0]), int(client[1])))


async def _until_lost(scope: MutableMapping[str, Any], transport: asyncio.BaseTransport) -> None:
    """Wait (briefly) until uvicorn has seen the connection go.

    Returning from the app before that makes uvicorn log "ASGI callable returned
    without starting response" for what is, here, the whole point.
    """
    for _ in range(200):
        if _transport_for(scope) is not transport:
            return
        await asyncio.sleep(0.005)


async def abort_connection(scope: MutableMapping[str, Any]) -> bool:
    """Reset the request's TCP connection (RST). False when there is no socket."""
    transport = _transport_for(scope)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: nothing to reset
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if isinstance(transport, asyncio.Transport | asyncio.WriteTransport):
        transport.abort()
    else:  # pragma: no cover - every stream transport is a WriteTransport
        transport.close()
    await _until_lost(scope, transport)
    return True


async def close_connection(scope: MutableMapping[str, Any]) -> bool:
    """Close the request's connection after flushing what was written (FIN)."""
    transport = _transport_for(scope)
    if transport is None:
        return False
    transport.close()
    await _until_lost(scope, transport)
    return True
