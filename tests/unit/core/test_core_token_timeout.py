"""A stalled gateway token endpoint cannot hold a call past its timeout (issue 11 #12).

A real loopback server is used on purpose: what is checked is that the socket read
of the token request gives up after the configured timeout, which only a server
that really stalls can show.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from govlink.core.auth import ClientCredentialsAuth
from govlink.core.config import GovLinkSettings
from govlink.core.errors import GovLinkTimeoutError
from govlink.core.http import (
    AsyncHttpTransport,
    HttpTransport,
    build_async_client,
    build_client,
)

STALL_SECONDS = 10.0


@pytest.fixture
def stalled_gateway() -> Iterator[str]:
    """``/token`` stalls for 10 s (released at teardown); ``/api`` would answer 200."""
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/token":
                release.wait(STALL_SECONDS)
                return
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def _settings() -> GovLinkSettings:
    return GovLinkSettings(
        http={"timeout": 1.0, "connect_timeout": 1.0, "max_retries": 0}  # type: ignore[arg-type]
    )


def test_sync_call_with_a_1s_timeout_gives_up_on_a_stalled_token_endpoint(
    stalled_gateway: str,
) -> None:
    settings = _settings()
    auth = ClientCredentialsAuth(f"{stalled_gateway}/token", "key", "secret")
    transport = HttpTransport(build_client(settings, auth=auth), settings)
    started = time.monotonic()
    with pytest.raises(GovLinkTimeoutError) as caught:
        transport.request("POST", f"{stalled_gateway}/api", safe=False, json={"a": 1})
    took = time.monotonic() - started
    transport.close()
    assert took < 3.0, f"the call took {took:.1f} s with a 1 s timeout"
    assert "GOVLINK_HTTP__TIMEOUT" in str(caught.value)


def test_async_call_with_a_1s_timeout_gives_up_on_a_stalled_token_endpoint(
    stalled_gateway: str,
) -> None:
    settings = _settings()
    auth = ClientCredentialsAuth(f"{stalled_gateway}/token", "key", "secret")

    async def call() -> None:
        transport = AsyncHttpTransport(build_async_client(settings, auth=auth), settings)
        try:
            await transport.request("POST", f"{stalled_gateway}/api", safe=False, json={"a": 1})
        finally:
            await transport.aclose()

    started = time.monotonic()
    with pytest.raises(GovLinkTimeoutError):
        asyncio.run(call())
    took = time.monotonic() - started
    assert took < 3.0, f"the call took {took:.1f} s with a 1 s timeout"
