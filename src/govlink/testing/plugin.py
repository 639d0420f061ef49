"""pytest plugin (entry point ``pytest11: govlink``): the mocks as fixtures.

Fixtures
--------
``govlink_mock``
    One mock server per test session on a free loopback port, reset before each
    test that uses it. A :class:`~govlink.testing._handle.MockHandle`: ``.base_url``,
    ``.settings(**overrides)``, ``.set_fault(...)``, ``.clear_faults()``,
    ``.advance_clock(s)``, ``.set_clock(dt)``, ``.journal(**filters)``,
    ``.count(**filters)``, ``.switch(platform, **switches)``, ``.state()``.
    ``--govlink-mock-url URL`` (or ``GOVLINK_MOCK_URL``) uses an already running
    server (e.g. ``govlink mock up`` in an earlier CI step) instead of starting one.
``govlink_client`` / ``async_govlink_client``
    :class:`~govlink.client.GovLink` / ``AsyncGovLink`` on that server, closed after
    the test.
``govlink_mock_app``
    The same mocks in-process (no socket): ``.app``, ``.transport`` (async httpx),
    ``.sync_transport``, ``.client()``, ``.async_client()`` and the handle helpers.

Hermetic switch
---------------
``--govlink-hermetic`` (or ini ``govlink_hermetic = true``, or the marker
``@pytest.mark.govlink_hermetic``) fails any test that connects to, sends to or
resolves anything but loopback — before a single packet leaves.

The module imports nothing heavy at load time: it is loaded by every pytest run
in an environment where govlink is installed.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from govlink.client import AsyncGovLink, GovLink
    from govlink.testing._handle import MockHandle
    from govlink.testing._hermetic import HermeticGuard
    from govlink.testing._inprocess import InProcessMock

__all__ = [
    "async_govlink_client",
    "govlink_client",
    "govlink_mock",
    "govlink_mock_app",
    "govlink_mock_session",
]

_GUARD_KEY = pytest.StashKey["HermeticGuard"]()
_MOCK_EXTRA_HINT = "the mock server needs govlink's 'mock' extra: pip install 'govlink[mock]'"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("govlink", "govlink mock platforms")
    group.addoption(
        "--govlink-hermetic",
        action="store_true",
        default=False,
        help="fail any test that connects to an address other than loopback",
    )
    group.addoption(
        "--govlink-mock-url",
        default=None,
        help="use the mock server already running at this URL (default: start one per "
        "session; env GOVLINK_MOCK_URL)",
    )
    parser.addini(
        "govlink_hermetic",
        type="bool",
        default=False,
        help="like --govlink-hermetic, for every run",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "govlink_hermetic: fail the test if it connects to anything but loopback "
        "(no request can reach a real platform)",
    )


# --- hermetic switch ----------------------------------------------------------------------


def _hermetic(item: pytest.Item) -> bool:
    config = item.config
    return bool(
        config.getoption("--govlink-hermetic")
        or config.getini("govlink_hermetic")
        or item.get_closest_marker("govlink_hermetic") is not None
    )


def _violations_failure(guard: HermeticGuard) -> None:
    if guard.violations:
        found = "; ".join(dict.fromkeys(guard.violations))
        guard.violations.clear()
        pytest.fail(f"hermetic test reached for the network: {found}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    if _hermetic(item):
        from govlink.testing._hermetic import HermeticGuard

        guard = HermeticGuard()
        guard.install()
        item.stash[_GUARD_KEY] = guard
    result = yield
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    guard = item.stash.get(_GUARD_KEY, None)
    try:
        result = yield
    except BaseException as exc:
        if guard is not None and guard.violations:
            from govlink.testing._hermetic import HermeticViolation

            if isinstance(exc, HermeticViolation):
                guard.violations.clear()  # the test failed with it: reported once
            else:  # swallowed, then something else failed: say what started it
                _violations_failure(guard)
        raise
    if guard is not None:
        # a test that caught the HermeticViolation (or a retry loop that did) still fails
        _violations_failure(guard)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    guard = item.stash.get(_GUARD_KEY, None)
    try:
        result = yield
    finally:
        if guard is not None:
            guard.uninstall()
            del item.stash[_GUARD_KEY]
    if guard is not None:
        _violations_failure(guard)
    return result


# --- the mock server ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def govlink_mock_session(request: pytest.FixtureRequest) -> Iterator[MockHandle]:
    """The session's mock server, NOT reset between tests (use ``govlink_mock``)."""
    import httpx

    from govlink.testing._handle import MockHandle

    url = request.config.getoption("--govlink-mock-url") or os.environ.get("GOVLINK_MOCK_URL")
    if url:
        handle = MockHandle(
            url, httpx.Client(base_url=f"{url.rstrip('/')}/__admin", trust_env=False)
        )
        try:
            handle.health()
        except httpx.HTTPError as exc:
            handle.close()
            pytest.fail(f"no govlink mock server answers at {url}: {exc}", pytrace=False)
        yield handle
        handle.close()
        return
    try:
        from mock_servers.server import MockServer
    except ImportError as exc:  # pragma: no cover - depends on the installation
        pytest.fail(f"{_MOCK_EXTRA_HINT} ({exc})", pytrace=False)
    server = MockServer(host="127.0.0.1", port=0).start()
    admin = httpx.Client(base_url=server.admin_url, trust_env=False, timeout=30.0)
    handle = MockHandle(server.base_url, admin)
    try:
        yield handle
    finally:
        handle.close()
        server.stop()


@pytest.fixture
def govlink_mock(govlink_mock_session: MockHandle) -> MockHandle:
    """The session's mock server, reset (journal, faults, clock, platform state)."""
    govlink_mock_session.reset()
    return govlink_mock_session


@pytest.fixture
def govlink_client(govlink_mock: MockHandle) -> Iterator[GovLink]:
    """A :class:`~govlink.client.GovLink` on the session's mock server."""
    client = govlink_mock.client()
    try:
        yield client
    finally:
        client.close()


if TYPE_CHECKING:
    _async_fixture = pytest.fixture
else:
    try:  # pytest-asyncio drives async fixtures in both its strict and auto modes
        from pytest_asyncio import fixture as _async_fixture
    except ImportError:  # pragma: no cover - pytest then says the fixture needs a plugin
        _async_fixture = pytest.fixture


@_async_fixture
async def async_govlink_client(govlink_mock: MockHandle) -> AsyncIterator[AsyncGovLink]:
    """An :class:`~govlink.client.AsyncGovLink` on the session's mock server."""
    client = govlink_mock.async_client()
    try:
        yield client
    finally:
        await client.aclose()


# --- in-process -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _govlink_mock_app_session() -> Iterator[InProcessMock]:
    try:
        from govlink.testing._inprocess import InProcessMock
    except ImportError as exc:  # pragma: no cover - depends on the installation
        pytest.fail(f"{_MOCK_EXTRA_HINT} ({exc})", pytrace=False)
    mock = InProcessMock()
    try:
        yield mock
    finally:
        mock.close()


@pytest.fixture
def govlink_mock_app(_govlink_mock_app_session: InProcessMock) -> InProcessMock:
    """The mocks in-process (no sockets), reset before the test."""
    _govlink_mock_app_session.reset()
    return _govlink_mock_app_session
