"""A vendor's callback endpoint for the payment integration tests (loopback only)."""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from govlink.payments import (
    CallbackOutcome,
    ExpectedPayment,
    MemoryCallbackStore,
    PaymentClient,
    PaymentNotification,
)


class VendorEndpoint:
    """``POST /callback`` verified with the client's CallbackVerifier; ``GET /return``."""

    def __init__(
        self, client: PaymentClient, *, tolerance: timedelta | str | None = "default"
    ) -> None:
        self.created: dict[str, int] = {}
        self.processed: list[PaymentNotification] = []
        self.outcomes: list[CallbackOutcome] = []
        self.raw: list[dict[str, Any]] = []
        self.fail_next = 0  # answer HTTP 500 this many times (to see the mock retry)
        self.returns: list[str] = []
        self.store = MemoryCallbackStore()
        self.verifier = client.callback_verifier(self.lookup, self.store, tolerance=tolerance)
        self._cond = threading.Condition()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                with endpoint._cond:
                    if endpoint.fail_next > 0:
                        endpoint.fail_next -= 1
                        endpoint.raw.append({"failed_on_purpose": True})
                        endpoint._cond.notify_all()
                        self.send_response(500)
                        self.send_header("content-length", "0")
                        self.end_headers()
                        return
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = None
                outcome = endpoint.verifier.verify(payload, process=endpoint.processed.append)
                with endpoint._cond:
                    endpoint.raw.append(payload)
                    endpoint.outcomes.append(outcome)
                    endpoint._cond.notify_all()
                body = outcome.reply_json()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                endpoint.returns.append(self.path)
                body = b"back at the vendor"
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def callback_url(self) -> str:
        return f"{self.base_url}/callback"

    @property
    def return_url(self) -> str:
        return f"{self.base_url}/return"

    def lookup(self, reference: str) -> ExpectedPayment | None:
        amount = self.created.get(reference)
        return None if amount is None else ExpectedPayment(reference, amount)

    def wait_for(self, outcomes: int, timeout: float = 10.0) -> list[CallbackOutcome]:
        """Wait until ``outcomes`` callbacks were verified; return them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.outcomes) < outcomes:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {outcomes} callback(s), got {len(self.outcomes)}: {self.raw}"
                    )
                self._cond.wait(left)
            return list(self.outcomes)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def choose(url: str, action: str = "pay", bank: str = "VCB") -> httpx.Response:
    """Press a button of the mock's payment page, as the browser's form POST would."""
    with httpx.Client(timeout=15) as browser:
        return browser.post(url, data={"action": action, "bank": bank})


def payments_state(mock: Any) -> dict[str, Any]:
    state: dict[str, Any] = mock.state()["payments"]
    return state


def wait_for_delivery(
    mock: Any, reference: str, state: str, timeout: float = 10.0
) -> dict[str, Any]:
    """The mock's summary of one payment once its callback_state is ``state``."""
    deadline = time.monotonic() + timeout
    while True:
        recent = [tx for tx in payments_state(mock)["recent"] if tx["reference"] == reference]
        if recent and recent[0]["callback_state"] == state:
            return recent[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"callback of {reference} never reached {state!r}: {recent}")
        time.sleep(0.02)


def load_example(name: str) -> Any:
    """Import ``examples/<name>.py`` (the examples are scripts, not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"govlink_example_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


class ServedApp:
    """An ASGI (uvicorn) or WSGI (werkzeug) app on a free loopback port, in a thread."""

    def __init__(self, app: Any, *, asgi: bool) -> None:
        import socket

        self._stop: Any
        if asgi:
            import uvicorn

            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sock.listen(64)
            port = sock.getsockname()[1]
            config = uvicorn.Config(
                app, lifespan="off", log_config=None, log_level="warning", access_log=False
            )
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
            thread.start()
            deadline = time.monotonic() + 10
            while not server.started:
                if time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start")
                time.sleep(0.01)

            def stop() -> None:
                server.should_exit = True
                thread.join(timeout=5)
                sock.close()

            self._stop = stop
        else:
            from werkzeug.serving import make_server

            wsgi = make_server("127.0.0.1", 0, app, threaded=True)
            port = wsgi.server_port
            thread = threading.Thread(
                target=wsgi.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            thread.start()

            def stop() -> None:
                wsgi.shutdown()
                thread.join(timeout=5)

            self._stop = stop
        self.base_url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self._stop()


def wait_until(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
