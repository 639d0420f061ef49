"""The DVCQG session login (govlink.dossiers._session) and its single flight in the runner."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from _dvcqg_fake import BASE, portal_settings, served

from govlink.core.clock import ManualClock
from govlink.core.config import GovLinkSettings
from govlink.core.errors import AuthenticationError, ConfigurationError, PlatformError
from govlink.dossiers import AsyncDossierClient, DossierClient
from govlink.dossiers._session import SessionProvider, build_login_request, parse_login_reply


def test_login_request_from_the_mock_profile() -> None:
    settings = GovLinkSettings.load(dossiers={"auth": {"extra": {"dstcode": "H47"}}})
    login = build_login_request(settings.dossiers)
    assert login.url == "http://127.0.0.1:8700/dvcqg/auth"
    assert login.json == {"username": "govlink-demo", "password": "demo-password"}
    assert login.headers["dstcode"] == "H47"
    assert "demo-password" not in repr(login)


def test_login_path_comes_from_settings_paths() -> None:
    settings = GovLinkSettings.load(dossiers={"paths": {"auth": "/api/login"}})
    login = build_login_request(settings.dossiers)
    assert login.url.endswith("/dvcqg/api/login")
    assert login.headers["dstcode"] == "000.00.00.H47"  # the mock profile's


def test_no_dstcode_header_when_none_is_configured() -> None:
    settings = GovLinkSettings.load(dossiers={"auth": {"extra": {"dstcode": ""}}})
    assert "dstcode" not in build_login_request(settings.dossiers).headers


def test_login_without_password_names_the_variable_when_settings_load() -> None:
    with pytest.raises(ConfigurationError) as caught:
        GovLinkSettings.load(dossiers={"auth": {"password": ""}})
    assert caught.value.setting == "GOVLINK_DOSSIERS__AUTH__PASSWORD"


@pytest.mark.parametrize(
    "body",
    [
        b'{"session": "abc", "error_code": 0}',
        '{"session": "abc", "error_code": "0"}',
        {"session": "abc", "error_code": "00"},
    ],
)
def test_parse_login_reply_accepts_the_observed_success_forms(body: object) -> None:
    assert parse_login_reply(200, body) == "abc"  # type: ignore[arg-type]


def test_parse_login_reply_refusal_carries_the_portal_message_masked() -> None:
    body = b'{"error_code": 1, "message": "Sai m\xe1\xba\xadt kh\xe1\xba\xa9u cho 001234567890"}'
    with pytest.raises(AuthenticationError) as caught:
        parse_login_reply(200, body)
    text = str(caught.value)
    assert "Sai mật khẩu" in text
    assert "001234567890" not in text
    assert "GOVLINK_DOSSIERS__AUTH__USERNAME" in text


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b'{"error_code": 0, "session": "x"}'),
        (200, b'{"error_code": 0}'),
        (200, b"[1, 2]"),
    ],
)
def test_parse_login_reply_rejects_what_is_not_a_session(status: int, body: bytes) -> None:
    with pytest.raises(AuthenticationError):
        parse_login_reply(status, body)


class SlowPortal:
    """Logins take 50 ms; a call with ``expired`` session answers code 02 once."""

    def __init__(self) -> None:
        self.logins = 0
        self.expired: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path.endswith("/auth"):
            time.sleep(0.05)
            with self.lock:
                self.logins += 1
                return httpx.Response(200, json={"session": f"s{self.logins}", "error_code": 0})
        if body["session"] in self.expired:
            return httpx.Response(200, json={"error_code": "02", "message": "hết hạn"})
        return httpx.Response(200, json={"error_code": "0", "result": []})


def test_a_garbled_2xx_login_reply_is_retryable_not_a_refusal() -> None:
    with pytest.raises(PlatformError) as caught:
        parse_login_reply(200, b"<html>gateway error</html>")
    assert caught.value.retryable
    assert not isinstance(caught.value, AuthenticationError)


def test_fifty_threads_log_in_once_and_relogin_once_after_expiry() -> None:
    portal = SlowPortal()
    settings = portal_settings(BASE)
    barrier = threading.Barrier(50)
    with served(portal), DossierClient(settings) as client:

        def worker(_: int) -> int:
            barrier.wait()
            return len(client.procedures())

        with ThreadPoolExecutor(max_workers=50) as pool:
            list(pool.map(worker, range(50)))
        assert portal.logins == 1
        portal.expired.add("s1")  # every caller now sees "session expired" for s1
        with ThreadPoolExecutor(max_workers=50) as pool:
            list(pool.map(worker, range(50)))
    assert portal.logins == 2


async def test_fifty_tasks_log_in_once_and_relogin_once_after_expiry() -> None:
    portal = SlowPortal()
    settings = portal_settings(BASE)
    with served(portal):
        async with AsyncDossierClient(settings) as client:
            await asyncio.gather(*(client.procedures() for _ in range(50)))
            assert portal.logins == 1
            portal.expired.add("s1")
            await asyncio.gather(*(client.procedures() for _ in range(50)))
    assert portal.logins == 2


def _provider(clock: ManualClock | None = None, max_age: float | None = None) -> SessionProvider:
    return SessionProvider(portal_settings(BASE).dossiers, max_age=max_age, clock=clock)


def _log_in(provider: SessionProvider, session: str) -> str:
    plan = provider.obtain()
    next(plan)  # the login request
    reply = httpx.Response(200, json={"session": session, "error_code": 0})
    try:
        plan.send(type("R", (), {"status_code": 200, "content": reply.content})())
    except StopIteration as done:
        value: str = done.value
        return value
    raise AssertionError("the login plan did not finish")


def test_invalidate_only_clears_the_current_session() -> None:
    provider = _provider()
    _log_in(provider, "new")
    provider.invalidate("old")
    assert provider.cached() == "new"
    provider.invalidate("new")
    assert provider.cached() is None


def test_failed_login_is_not_cached_and_propagates() -> None:
    provider = _provider()
    plan = provider.obtain()
    next(plan)
    refused = type("R", (), {"status_code": 200, "content": b'{"error_code": "01"}'})()
    with pytest.raises(AuthenticationError):
        plan.send(refused)
    assert provider.cached() is None


def test_max_age_forces_a_new_login() -> None:
    clock = ManualClock()
    provider = _provider(clock, max_age=600)
    _log_in(provider, "first")
    clock.advance(599)
    assert provider.cached() == "first"
    clock.advance(1)
    assert provider.cached() is None
    _log_in(provider, "second")
    assert provider.logins == 2
