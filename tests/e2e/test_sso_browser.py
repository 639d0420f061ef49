"""A real browser through the mock's login page: the example app's whole code flow.

Headless Chromium opens the Starlette example app (served by uvicorn on a free
loopback port), clicks "log in", picks a seeded citizen on the mock provider's login
page, consents, and must land back in the app showing the citizen's masked name;
then logs out through the provider.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sso_starlette_app.py"
CITIZEN_ID = "001085000001"


@pytest.fixture
def example_app_url(govlink_mock: Any) -> Iterator[str]:
    import uvicorn

    spec = importlib.util.spec_from_file_location("govlink_example_sso_starlette_e2e", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    app = module.create_app(govlink_mock.settings(), secret_key="e2e")

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the example app did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_citizen_logs_in_through_the_mock_login_page(
    chromium_browser, example_app_url, govlink_mock
):
    context = chromium_browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(example_app_url + "/")
        page.click("#login")

        # the mock provider's login page, served by the mock server
        page.wait_for_url(f"{govlink_mock.base_url}/sso/authenticationendpoint/login.do*")
        assert "govlink demo" in page.inner_text("#client-name")
        page.click(f"[data-testid=identity-{CITIZEN_ID}]")

        page.wait_for_url("**/oauth2_consent.do*")
        assert "NGUYỄN VĂN AN" in page.inner_text("#who")
        page.click("#approve")

        # back in the example app, logged in
        page.wait_for_url(example_app_url + "/")
        name = page.inner_text("#name")
        assert name == "N***"  # masked: the app never shows the full name by default
        assert "NGUYỄN VĂN AN" not in page.content()
        assert page.inner_text("#id-number").endswith("001")
        assert page.inner_text("#loa") == "LoA2"
        assert len(govlink_mock.state()["sso"]["sessions"]) == 1

        page.click("#logout")
        page.wait_for_url(example_app_url + "/")
        assert page.locator("#login").is_visible()
        assert govlink_mock.state()["sso"]["sessions"] == []
    finally:
        context.close()
