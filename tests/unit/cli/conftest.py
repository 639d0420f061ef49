"""Fixtures for the CLI tests: a clean environment and a loopback HTTP server."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from govlink.cli.app import run


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No GOVLINK_* variable or .env of the developer's machine leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("GOVLINK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps tables at 80 columns otherwise


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``govlink ARGS`` in-process and capture what a user would see."""

    def invoke(*args: str) -> CliResult:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


@dataclass
class LocalServer:
    """A loopback HTTP server: 404 for any GET, a client-credentials token endpoint."""

    base_url: str
    client_id: str = "doctor-test"
    client_secret: str = "doctor-test-secret-4711"
    token_requests: list[dict[str, str]] = field(default_factory=list)


def _handler(state: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)  # adds the Date header
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._reply(404, {"detail": "no such resource"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            if not self.path.endswith("/token"):
                self._reply(404, {"detail": "no such resource"})
                return
            state.token_requests.append({"body": body, **dict(self.headers)})
            pair = f"{state.client_id}:{state.client_secret}".encode()
            expected = "Basic " + base64.b64encode(pair).decode()
            if self.headers.get("Authorization") != expected:
                self._reply(401, {"error": "invalid_client"})
                return
            self._reply(200, {"access_token": "t-1", "token_type": "Bearer", "expires_in": 3600})

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    state = LocalServer(base_url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def make_profile(tmp_path: Path) -> Callable[[str], Path]:
    """Write a profile file (TOML text) and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "profiles.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
