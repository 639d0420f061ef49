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


def provider_redirect(url: str, identity: str = CITIZEN_ID) -> str:
    """The browser at the provider: headless login, back to the app's callback."""
    with httpx.Client(trust_env=False) as browser:
        response = browser.get(url, headers={"X-Mock-Login": identity})
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


def test_flask_example_requires_a_level_per_route(govlink_mock):
    pytest.importorskip("flask")
    module = load_example("sso_flask_app")
    app = module.create_app(sso_settings(govlink_mock), secret_key="test")
    base = "http://127.0.0.1:8000"
    with app.test_client() as client:
        anonymous = client.get("/thu-tuc-muc-2", base_url=base)
        assert anonymous.headers["Location"].endswith("/login?level=LoA2")
        # a LoA1 login (the profile's default acr_values) may not open the LoA2 procedure
        to_provider = client.get("/login", base_url=base)
        client.get(
            provider_redirect(to_provider.headers["Location"]).removeprefix(base), base_url=base
        )
        refused = client.get("/thu-tuc-muc-2", base_url=base)
        assert refused.status_code == 403
        assert "mức LoA2" in refused.text
        # logging in again at LoA2 opens it
        to_provider = client.get("/login?level=LoA2", base_url=base)
        assert "acr_values=LoA2" in to_provider.headers["Location"]
        client.get(
            provider_redirect(to_provider.headers["Location"]).removeprefix(base), base_url=base
        )
        assert client.get("/thu-tuc-muc-2", base_url=base).status_code == 200


async def test_starlette_example_refuses_a_weaker_login_for_a_level_two_route(govlink_mock):
    module = load_example("sso_starlette_app")
    app = module.create_app(sso_settings(govlink_mock), secret_key="test")
    base = "http://127.0.0.1:8765"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        first = await client.get("/login")
        await client.get(provider_redirect(first.headers["location"]))
        assert (await client.get("/thu-tuc-muc-2")).status_code == 403
        govlink_mock.switch("sso", acr="LoA1")  # the provider cannot deliver LoA2 now
        again = await client.get("/login?level=LoA2")
        page = (await client.get(provider_redirect(again.headers["location"]))).text
        assert "Đăng nhập thất bại" in page
        assert "LoA2 or higher is required" in page
        govlink_mock.switch("sso", acr=None)
        third = await client.get("/login?level=LoA2")
        await client.get(provider_redirect(third.headers["location"]))
        assert (await client.get("/thu-tuc-muc-2")).status_code == 200
