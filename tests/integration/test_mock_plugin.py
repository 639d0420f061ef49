"""The pytest plugin as a vendor uses it: fixtures, in-process variant, hermetic switch."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from govlink.client import AsyncGovLink, GovLink
from govlink.core.config import PLATFORMS
from govlink.testing import (
    HermeticGuard,
    HermeticViolation,
    InProcessMock,
    MockAdminError,
    MockHandle,
    is_loopback_address,
)

ROOT = Path(__file__).resolve().parents[2]
# inner pytest runs: no cache dir, and no hypothesis plugin (its summary alone costs seconds)
INNER = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
KEY, SECRET = "govlink-demo", "demo-gateway-secret"


# --- govlink_mock ---------------------------------------------------------------------------


def test_settings_point_every_platform_at_the_mock(govlink_mock: MockHandle) -> None:
    assert govlink_mock.base_url.startswith("http://127.0.0.1:")
    settings = govlink_mock.settings()
    for name in (*PLATFORMS, "gateway"):
        assert settings.platform(name).base_url.startswith(govlink_mock.base_url), name
    tuned = govlink_mock.settings(http={"max_retries": 0}, sso={"timeout": 2})
    assert tuned.http.max_retries == 0
    assert tuned.sso.timeout == 2
    assert tuned.sso.auth.client_id == "govlink-demo"  # deep-merged, not replaced


def test_handle_helpers_drive_the_admin_api(govlink_mock: MockHandle) -> None:
    fault = govlink_mock.set_fault(platform="gateway", path="/token", status=503, count=1)
    assert govlink_mock.faults() == [{**fault, "remaining": 1}]
    with httpx.Client(trust_env=False) as http:
        url = f"{govlink_mock.url('gateway')}/token"
        codes = [
            http.post(
                url, data={"grant_type": "client_credentials"}, auth=(KEY, SECRET)
            ).status_code
            for _ in range(2)
        ]
    assert codes == [503, 200]
    assert govlink_mock.count(platform="gateway", status=503) == 1
    assert [e["status"] for e in govlink_mock.journal(path="/gateway/token")] == [503, 200]
    assert govlink_mock.journal(status="5xx", limit=5)[0]["fault"]["id"] == fault["id"]
    govlink_mock.clear_faults()
    assert govlink_mock.faults() == []

    when = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)
    assert abs(govlink_mock.set_clock(when) - when) < timedelta(seconds=2)
    assert abs(govlink_mock.advance_clock(60) - (when + timedelta(seconds=60))) < timedelta(
        seconds=2
    )
    assert abs(govlink_mock.now() - (when + timedelta(seconds=60))) < timedelta(seconds=2)
    assert govlink_mock.state()["gateway"]["tokens_issued"] == 1
    assert govlink_mock.switch("gateway", token_ttl=30) == {"token_ttl": 30}
    assert govlink_mock.url("dvcqg") == govlink_mock.url("dossiers")

    with pytest.raises(MockAdminError) as bad_fault:
        govlink_mock.set_fault(platform="gateway", latency=5)
    assert bad_fault.value.field == "latency"
    with pytest.raises(MockAdminError) as bad_switch:
        govlink_mock.switch("gateway", colour="red")
    assert bad_switch.value.field == "colour"
    with pytest.raises(ValueError, match="aware"):
        govlink_mock.set_clock(datetime(2026, 1, 1))


@pytest.fixture(autouse=True)
def _quiet_inner_runs(request: pytest.FixtureRequest) -> None:
    if "pytester" in request.fixturenames:
        pytester: pytest.Pytester = request.getfixturevalue("pytester")
        pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


def test_the_server_is_reset_before_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx

        def test_one_dirties_it(govlink_mock):
            govlink_mock.set_fault(platform="gateway", status=500)
            govlink_mock.advance_clock(3600)
            httpx.post(govlink_mock.url("gateway") + "/token", trust_env=False)
            assert govlink_mock.count() == 1

        def test_two_finds_it_clean(govlink_mock):
            assert govlink_mock.count() == 0
            assert govlink_mock.faults() == []
            assert abs(govlink_mock.health()["clock"]["offset_seconds"]) < 1
        """
    )
    pytester.runpytest(*INNER).assert_outcomes(passed=2)


def test_an_already_running_server_can_be_used(
    pytester: pytest.Pytester, govlink_mock: MockHandle
) -> None:
    pytester.makepyfile(
        f"""
        def test_uses_it(govlink_mock):
            assert govlink_mock.base_url == {govlink_mock.base_url!r}
        """
    )
    result = pytester.runpytest(*INNER, f"--govlink-mock-url={govlink_mock.base_url}")
    result.assert_outcomes(passed=1)


def test_govlink_client_is_configured_for_the_mock(
    govlink_client: GovLink, govlink_mock: MockHandle
) -> None:
    assert isinstance(govlink_client, GovLink)
    assert govlink_client.settings.gateway.base_url == f"{govlink_mock.base_url}/gateway"
    assert govlink_client.settings.sso.base_url == f"{govlink_mock.base_url}/sso"


async def test_async_govlink_client_is_configured_for_the_mock(
    async_govlink_client: AsyncGovLink, govlink_mock: MockHandle
) -> None:
    assert isinstance(async_govlink_client, AsyncGovLink)
    assert async_govlink_client.settings.documents.base_url == f"{govlink_mock.base_url}/vdxp"


# --- govlink_mock_app (in-process) ----------------------------------------------------------


@pytest.mark.govlink_hermetic
def test_in_process_mock_needs_no_socket(govlink_mock_app: InProcessMock) -> None:
    with govlink_mock_app.http_client() as http:
        token = http.post(
            "/gateway/token", data={"grant_type": "client_credentials"}, auth=(KEY, SECRET)
        )
        assert token.status_code == 200
        govlink_mock_app.set_fault(
            platform="gateway", path="/api/ping", reset_connection=True, count=1
        )
        with pytest.raises(httpx.ReadError, match="reset"):
            http.get("/gateway/api/ping")
        govlink_mock_app.set_fault(platform="gateway", path="/token", truncate_body=True, count=1)
        with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
            http.post(
                "/gateway/token", data={"grant_type": "client_credentials"}, auth=(KEY, SECRET)
            )
    statuses = [e["status"] for e in govlink_mock_app.journal(platform="gateway")]
    assert statuses == [200, None, 200]
    assert govlink_mock_app.state()["gateway"]["tokens_issued"] == 2


@pytest.mark.govlink_hermetic
async def test_in_process_mock_async(govlink_mock_app: InProcessMock) -> None:
    assert govlink_mock_app.count() == 0  # reset since the previous test
    govlink_mock_app.set_fault(platform="gateway", status=429, retry_after=1, count=1)
    async with govlink_mock_app.async_http_client() as http:
        first = await http.post("/gateway/token", data={"grant_type": "client_credentials"})
        second = await http.post(
            "/gateway/token", data={"grant_type": "client_credentials"}, auth=(KEY, SECRET)
        )
    assert (first.status_code, first.headers["retry-after"], second.status_code) == (429, "1", 200)


def test_in_process_facades_use_the_transports(govlink_mock_app: InProcessMock) -> None:
    settings = govlink_mock_app.settings()
    assert settings.gateway.base_url is not None
    assert settings.gateway.base_url.startswith("http://mock.govlink.test")
    with govlink_mock_app.client() as client:
        assert isinstance(client, GovLink)
    assert isinstance(govlink_mock_app.async_client(), AsyncGovLink)


# --- hermetic switch --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("10.255.255.1", False),
        ("::ffff:10.0.0.1", False),
        ("0.0.0.0", False),
        ("example.com", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback_address(host) is loopback


def test_guard_refuses_before_the_real_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []

    def spy_connect(sock: socket.socket, address: Any) -> None:
        calls.append(address)  # stands in for the real syscall: must never see 10.x

    def spy_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(host)
        return []

    monkeypatch.setattr(socket.socket, "connect", spy_connect)
    monkeypatch.setattr(socket, "getaddrinfo", spy_getaddrinfo)
    with HermeticGuard() as guard:
        sock = socket.socket()
        try:
            with pytest.raises(HermeticViolation, match=r"10\.255\.255\.1"):
                sock.connect(("10.255.255.1", 9))
            with pytest.raises(HermeticViolation, match="resolve"):
                socket.getaddrinfo("portal.dichvucong.gov.vn", 443)
            with pytest.raises(HermeticViolation):
                socket.create_connection(("10.255.255.1", 9), timeout=0.1)
            with pytest.raises(HermeticViolation):
                sock.sendto(b"x", ("8.8.8.8", 53))
            sock.connect(("127.0.0.1", 9))  # loopback passes through
            socket.getaddrinfo("localhost", 80)
        finally:
            sock.close()
    assert calls == [("127.0.0.1", 9), "localhost"]
    assert len(guard.violations) == 4
    assert socket.socket.connect is spy_connect  # uninstalled: originals back


def test_hermetic_option_fails_tests_that_reach_out(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import socket
        import httpx
        import pytest

        def test_reaches_a_private_address():
            socket.create_connection(("10.255.255.1", 9), timeout=0.2)

        def test_swallows_the_error():
            try:
                httpx.get("http://10.255.255.1:9/", timeout=0.2)
            except Exception:
                pass

        def test_loopback_is_fine(govlink_mock):
            health = httpx.get(govlink_mock.base_url + "/__admin/health", trust_env=False)
            assert health.status_code == 200
        """
    )
    result = pytester.runpytest(*INNER, "--govlink-hermetic")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*hermetic test*10.255.255.1*"])
    result.stdout.no_fnmatch_line("*Timeout*")  # refused before any packet, not timed out


def test_hermetic_marker_without_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import socket
        import pytest

        @pytest.mark.govlink_hermetic
        def test_marked():
            socket.getaddrinfo("example.com", 443)

        def test_unmarked_is_not_guarded():
            assert socket.socket.connect.__qualname__ != "HermeticGuard.install.<locals>.connect"
        """
    )
    pytester.runpytest(*INNER).assert_outcomes(passed=1, failed=1)


# --- from outside: the example project --------------------------------------------------------


def test_example_project_passes_with_the_installed_plugin(tmp_path: Path) -> None:
    example = ROOT / "examples" / "pytest_project"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            *INNER,
            "--govlink-hermetic",
            "--rootdir",
            str(example),
            "-c",
            str(example / "pyproject.toml"),
            str(example / "tests"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
