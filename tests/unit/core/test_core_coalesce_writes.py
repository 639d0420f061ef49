"""coalesce_request_writes: one send per request, same errors as httpcore.

A request's head and body are held until its response is read, then sent in one
write; a failed send is reported by the read (as httpcore does for a server that
answers early and closes); uploads above 64 KiB are not held in memory.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import httpcore
import httpx
import pytest

from govlink.core.soap import (
    _AsyncOneWriteStream,
    _OneWriteStream,
    coalesce_request_writes,
)


class FakeStream(httpcore.NetworkStream):
    def __init__(self, *, fail_writes: bool = False) -> None:
        self.writes: list[bytes] = []
        self.fail_writes = fail_writes

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self.fail_writes:
            raise httpcore.WriteError("peer closed")
        self.writes.append(bytes(buffer))

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return b"HTTP/1.1 200 OK\r\n\r\n"

    def close(self) -> None:
        pass

    def get_extra_info(self, info: str) -> Any:
        return None


def test_head_and_body_go_out_in_one_write_when_the_response_is_read() -> None:
    inner = FakeStream()
    stream = _OneWriteStream(inner)
    stream.write(b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n")
    stream.write(b"body")
    assert inner.writes == []  # held back
    assert stream.read(65536).startswith(b"HTTP/1.1 200")
    assert inner.writes == [b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody"]


def test_large_uploads_are_sent_as_they_come() -> None:
    inner = FakeStream()
    stream = _OneWriteStream(inner)
    stream.write(b"x" * (64 * 1024))
    assert len(inner.writes) == 1


def test_a_failed_send_is_reported_by_the_read_like_httpcore_does() -> None:
    stream = _OneWriteStream(FakeStream(fail_writes=True))
    stream.write(b"GET / HTTP/1.1\r\n\r\n")
    # the server may have answered before closing: the read still happens
    assert stream.read(65536).startswith(b"HTTP/1.1 200")


async def test_async_stream_coalesces_too() -> None:
    class AsyncFake(httpcore.AsyncNetworkStream):
        def __init__(self) -> None:
            self.writes: list[bytes] = []

        async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
            self.writes.append(bytes(buffer))

        async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
            return b"HTTP/1.1 204 No Content\r\n\r\n"

        async def aclose(self) -> None:
            pass

        def get_extra_info(self, info: str) -> Any:
            return None

    inner = AsyncFake()
    stream = _AsyncOneWriteStream(inner)
    await stream.write(b"GET / HTTP/1.1\r\n")
    await stream.write(b"\r\n")
    await stream.read(1024)
    assert inner.writes == [b"GET / HTTP/1.1\r\n\r\n"]


def test_clients_with_their_own_transport_are_left_alone() -> None:
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as client:
        assert coalesce_request_writes(client) is False


@pytest.fixture
def one_shot_server() -> Any:
    """A loopback HTTP server that records how many recv() calls each request took."""
    listener = socket.create_server(("127.0.0.1", 0))
    reads: list[int] = []

    def serve() -> None:
        for _ in range(2):
            conn, _addr = listener.accept()
            with conn:
                conn.settimeout(5)
                data, count = b"", 0
                while b"\r\n\r\n" not in data or not data.endswith(b"ping"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data, count = data + chunk, count + 1
                reads.append(count)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], reads
    listener.close()
    thread.join(timeout=5)


def test_a_real_request_reaches_the_server_in_one_piece(one_shot_server: Any) -> None:
    port, reads = one_shot_server
    with httpx.Client() as client:
        assert coalesce_request_writes(client) is True
        assert coalesce_request_writes(client) is True  # idempotent
        for _ in range(2):
            reply = client.post(f"http://127.0.0.1:{port}/", content=b"ping")
            assert reply.text == "ok"
    assert reads == [1, 1]
