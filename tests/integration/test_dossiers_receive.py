"""Dossiers that flow down: the mock portal pushes citizen-submitted dossiers to a
provincial receiver ([OC] /nhanhsdvcqg); nothing is acknowledged before it is stored."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from govlink.dossiers._inbound import Delivery, DirectoryStore, DossierReceiver
from govlink.testing._handle import MockHandle


def _serve(receiver: DossierReceiver) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, reply = receiver.handle(body)
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/nhanhsdvcqg"


@pytest.fixture
def receiver_url() -> Iterator[Callable[[Callable[[Delivery], None]], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(store: Callable[[Delivery], None]) -> str:
        server, url = _serve(DossierReceiver(store))
        servers.append(server)
        return url

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _mock(govlink_mock: MockHandle, path: str) -> str:
    return f"{govlink_mock.url('dossiers')}/_mock/{path}"


def test_a_dossier_is_acknowledged_only_once_it_is_stored(
    govlink_mock: MockHandle,
    tmp_path: Path,
    receiver_url: Callable[[Callable[[Delivery], None]], str],
) -> None:
    directory = DirectoryStore(tmp_path / "in")
    failures = {"left": 1}

    def store(delivery: Delivery) -> None:  # the province's database is down once
        if failures["left"]:
            failures["left"] -= 1
            raise OSError("database unavailable")
        directory(delivery)

    url = receiver_url(store)
    injected = httpx.post(
        _mock(govlink_mock, "submitted"),
        json={"data": {"MaHoSo": "G22.99-260302-0100", "MaTTHC": "1.001193"}},
    )
    assert injected.json()["error_code"] == "00"
    first = httpx.post(_mock(govlink_mock, "deliver"), params={"to": url}, timeout=30).json()
    assert (first["delivered"], first["pending"]) == (2, 1)  # two seeded, one refused (-1)
    assert len(list(directory.directory.glob("*.json"))) == 2
    second = httpx.post(_mock(govlink_mock, "deliver"), params={"to": url}, timeout=30).json()
    assert (second["delivered"], second["pending"]) == (1, 0)  # the portal sent it again
    third = httpx.post(_mock(govlink_mock, "deliver"), params={"to": url}, timeout=30).json()
    assert third["results"] == []  # acknowledged dossiers are not delivered again
    files = sorted(directory.directory.glob("*.json"))
    assert len(files) == 3
    saved = {json.loads(f.read_text("utf-8"))["data"]["MaHoSo"] for f in files}
    assert "G22.99-260302-0100" in saved
    state = httpx.get(_mock(govlink_mock, "submitted")).json()["submitted"]
    assert all(item["acknowledged"] for item in state)


def test_a_redelivery_after_a_lost_answer_stores_nothing_twice(
    govlink_mock: MockHandle,
    tmp_path: Path,
    receiver_url: Callable[[Callable[[Delivery], None]], str],
) -> None:
    """Stored, then the answer is lost (the receiver died): the portal resends, the
    same key lands on the same file."""
    directory = DirectoryStore(tmp_path / "in")
    answers = {"lost": 2}

    def store(delivery: Delivery) -> None:
        directory(delivery)
        if answers["lost"]:
            answers["lost"] -= 1
            raise ConnectionError("crashed after storing, before answering")

    url = receiver_url(store)
    httpx.post(_mock(govlink_mock, "deliver"), params={"to": url}, timeout=30)
    httpx.post(_mock(govlink_mock, "deliver"), params={"to": url}, timeout=30)
    assert len(list(directory.directory.glob("*.json"))) == 2  # two dossiers, no copies


def test_delivery_needs_a_receiver_url(govlink_mock: MockHandle) -> None:
    reply = httpx.post(_mock(govlink_mock, "deliver")).json()
    assert reply["error_code"] == "04"
    outside = {"to": "http://example.com/nhanhsdvcqg"}
    assert httpx.post(_mock(govlink_mock, "deliver"), params=outside).json()["error_code"] == "04"
