"""DVCQG session login pieces and the single-flight session cache."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from govlink.core.auth import DvcqgSession, SessionCache
from govlink.core.clock import ManualClock
from govlink.core.config import GovLinkSettings
from govlink.core.errors import AuthenticationError, ConfigurationError


def test_login_request_from_the_mock_profile() -> None:
    settings = GovLinkSettings.load(dossiers={"auth": {"extra": {"dstcode": "H47"}}})
    login = DvcqgSession.build_login_request(settings)
    assert login.method == "POST"
    assert login.url == "http://127.0.0.1:8700/dvcqg/auth"
    assert login.json == {"username": "govlink-demo", "password": "demo-password"}
    assert login.headers["dstcode"] == "H47"
    assert "demo-password" not in repr(login)
    assert login.as_kwargs()["json"] == login.json


def test_login_path_comes_from_settings_paths() -> None:
    settings = GovLinkSettings.load(dossiers={"paths": {"auth": "/api/login"}})
    login = DvcqgSession.build_login_request(settings.dossiers)
    assert login.url.endswith("/dvcqg/api/login")
    assert "dstcode" not in login.headers


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
    assert DvcqgSession.parse_login_reply(200, body) == "abc"  # type: ignore[arg-type]


def test_parse_login_reply_refusal_carries_the_portal_message_masked() -> None:
    body = b'{"error_code": 1, "message": "Sai m\xe1\xba\xadt kh\xe1\xba\xa9u cho 001234567890"}'
    with pytest.raises(AuthenticationError) as caught:
        DvcqgSession.parse_login_reply(200, body)
    text = str(caught.value)
    assert "Sai mật khẩu" in text
    assert "001234567890" not in text
    assert "GOVLINK_DOSSIERS__AUTH__USERNAME" in text


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b"<html>gateway error</html>"),
        (500, b'{"error_code": 0, "session": "x"}'),
        (200, b'{"error_code": 0}'),
        (200, b"[1, 2]"),
    ],
)
def test_parse_login_reply_rejects_what_is_not_a_session(status: int, body: bytes) -> None:
    with pytest.raises(AuthenticationError):
        DvcqgSession.parse_login_reply(status, body)


def test_fifty_threads_log_in_once_and_relogin_once_after_expiry() -> None:
    cache = SessionCache()
    calls: list[int] = []
    lock = threading.Lock()

    def login() -> str:
        time.sleep(0.05)
        with lock:
            calls.append(1)
            return f"session-{len(calls)}"

    barrier = threading.Barrier(50)

    def worker(_: int) -> str:
        barrier.wait()
        return cache.get(login)

    with ThreadPoolExecutor(max_workers=50) as pool:
        sessions = list(pool.map(worker, range(50)))
    assert sessions == ["session-1"] * 50
    assert len(calls) == 1

    # every caller saw "session expired" for session-1 and invalidates it
    def expired(_: int) -> str:
        barrier.wait()
        cache.invalidate("session-1")
        return cache.get(login)

    with ThreadPoolExecutor(max_workers=50) as pool:
        sessions = list(pool.map(expired, range(50)))
    assert len(calls) == 2
    assert set(sessions) == {"session-2"}


async def test_fifty_tasks_log_in_once_and_relogin_once_after_expiry() -> None:
    cache = SessionCache()
    calls: list[int] = []

    async def login() -> str:
        await asyncio.sleep(0.02)
        calls.append(1)
        return f"session-{len(calls)}"

    sessions = await asyncio.gather(*(cache.aget(login) for _ in range(50)))
    assert set(sessions) == {"session-1"}
    assert len(calls) == 1

    async def after_expiry() -> str:
        cache.invalidate("session-1")
        return await cache.aget(login)

    sessions = await asyncio.gather(*(after_expiry() for _ in range(50)))
    assert set(sessions) == {"session-2"}
    assert len(calls) == 2


def test_invalidate_only_clears_the_current_session() -> None:
    cache = SessionCache()
    cache.get(lambda: "new")
    assert cache.invalidate("old") is False
    assert cache.current() == "new"
    assert cache.invalidate("new") is True
    assert cache.current() is None


def test_failed_login_is_not_cached_and_propagates() -> None:
    cache = SessionCache()

    def refused() -> str:
        raise AuthenticationError("wrong password")

    with pytest.raises(AuthenticationError):
        cache.get(refused)
    assert cache.get(lambda: "ok") == "ok"


def test_max_age_forces_a_new_login() -> None:
    clock = ManualClock()
    cache = SessionCache(max_age=600, clock=clock)
    cache.get(lambda: "first")
    clock.advance(599)
    assert cache.get(lambda: "second") == "first"
    clock.advance(1)
    assert cache.get(lambda: "second") == "second"
    assert cache.logins == 2
