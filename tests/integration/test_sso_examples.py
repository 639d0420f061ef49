"""The two example web apps log in against the mock (browser steps done with httpx)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from sso_support import CITIZEN_ID, sso_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"govlink_example_{name}", EXAMPLES / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def provider_redirect(url: str) -> str:
    """The browser at the provider: headless login, back to the app's callback."""
    with httpx.Client(trust_env=False) as browser:
        response = browser.get(url, headers={"X-Mock-Login": CITIZEN_ID})
    assert response.status_code == 302, response.text
    return response.headers["location"]


def test_flask_example_logs_in_and_out(govlink_mock):
    pytest.importorskip("flask")
    module = load_example("sso_flask_app")
    app = module.create_app(sso_settings(govlink_mock), secret_key="test")
    base = "http://127.0.0.1:8000"  # the callback registered in the seed
    with app.test_client() as client:
        assert "chưa đăng nhập" in client.get("/", base_url=base).text
        to_provider = client.get("/login", base_url=base)
        assert to_provider.status_code == 302
        callback = provider_redirect(to_provider.headers["Location"])
        assert callback.startswith(base + "/callback?")
        back = client.get(callback.removeprefix(base), base_url=base)
        assert back.status_code == 302
        home = client.get("/", base_url=base).text
        assert "N***" in home  # the masked name
        assert "*********001" in home
        assert "NGUYỄN VĂN AN" not in home
        out = client.get("/logout", base_url=base)
        assert out.headers["Location"].startswith(govlink_mock.base_url + "/sso/oidc/logout?")
        assert "chưa đăng nhập" in client.get("/", base_url=base).text


def test_flask_example_refuses_a_forged_callback(govlink_mock):
    pytest.importorskip("flask")
    module = load_example("sso_flask_app")
    app = module.create_app(sso_settings(govlink_mock), secret_key="test")
    base = "http://127.0.0.1:8000"
    with app.test_client() as client:
        client.get("/login", base_url=base)
        page = client.get("/callback?code=x&state=forged", base_url=base).text
    assert "Đăng nhập thất bại" in page
    assert "state" in page


async def test_starlette_example_logs_in_and_out(govlink_mock):
    module = load_example("sso_starlette_app")
    app = module.create_app(sso_settings(govlink_mock), secret_key="test")
    base = "http://127.0.0.1:8765"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        to_provider = await client.get("/login")
        assert to_provider.status_code == 302
        callback = provider_redirect(to_provider.headers["location"])
        assert callback.startswith(base + "/callback?")
        back = await client.get(callback)
        assert back.status_code == 302
        home = (await client.get("/")).text
        assert "N***" in home
        assert "NGUYỄN VĂN AN" not in home
        out = await client.get("/logout")
        assert out.headers["location"].startswith(govlink_mock.base_url + "/sso/oidc/logout?")
        assert "chưa đăng nhập" in (await client.get("/")).text
