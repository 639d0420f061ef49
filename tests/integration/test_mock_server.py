"""The mock server machinery: startup, mounting, journal, faults, clock, reset, switches.

Runs a real server (uvicorn on 127.0.0.1, free port) with the test-only ``echo``
platform mounted next to the registry's platforms, so these tests do not depend on
any national platform mock.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from govlink.core.config import mock_profile
from mock_servers import echo
from mock_servers.registry import PLATFORM_MODULES
from mock_servers.server import MockServer


@pytest.fixture(scope="module")
def echo_server() -> Iterator[MockServer]:
    with MockServer(extra_platforms=[echo.create_platform], fault_seed=7) as server:
        yield server


@pytest.fixture
def srv(echo_server: MockServer) -> MockServer:
    echo_server.admin.post("/reset").raise_for_status()
    return echo_server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as client:
        yield client


def _faults(srv: MockServer, **fault: object) -> dict[str, object]:
    response = srv.admin.post("/faults", json=fault)
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()
    return data


# --- startup and mounting -----------------------------------------------------------------


def test_server_starts_within_a_second_on_a_free_loopback_port() -> None:
    began = time.perf_counter()
    with MockServer() as server:
        elapsed = time.perf_counter() - began
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.port > 0
        assert httpx.get(f"{server.admin_url}/health", trust_env=False).json()["status"] == "ok"
    assert elapsed < 1.0, f"startup took {elapsed:.3f} s"
    assert server.startup_seconds is not None
    assert server.startup_seconds < 1.0


def test_every_registry_platform_is_mounted_or_says_why(srv: MockServer) -> None:
    health = srv.admin.get("/health").json()
    assert set(health["platforms"]) | set(health["unavailable"]) == {*PLATFORM_MODULES, "echo"}
    assert "gateway" in health["platforms"]
    assert "echo" in health["platforms"]


def test_a_platform_module_that_fails_to_load_answers_404_naming_why(http: httpx.Client) -> None:
    with MockServer(platforms={"sso": "mock_servers.no_such_module"}) as server:
        reply = http.get(f"{server.base_url}/sso/oauth2/authorize")
        assert reply.status_code == 404
        assert reply.json()["error"] == "platform_unavailable"
        assert "mock_servers.no_such_module" in reply.json()["detail"]
        problem = server.admin.get("/health").json()["unavailable"]["sso"]
        assert problem.startswith("failed to load: ModuleNotFoundError")


def test_profile_is_the_builtin_mock_profile_for_this_port() -> None:
    with MockServer() as server:
        assert server.profile() == mock_profile(port=server.port, host="127.0.0.1")


def test_root_lists_platforms_and_browsers_go_to_the_dashboard(
    srv: MockServer, http: httpx.Client
) -> None:
    index = http.get(srv.base_url + "/").json()
    assert index["platforms"]["echo"] == f"{srv.base_url}/echo"
    page = http.get(srv.base_url + "/", headers={"accept": "text/html"})
    assert page.status_code in (302, 307)
    assert page.headers["location"] == "/__admin/ui/"


def test_separate_ports_serve_each_platform_on_its_own_port(http: httpx.Client) -> None:
    with MockServer(separate_ports=True, extra_platforms=[echo.create_platform]) as server:
        own = server.urls["echo"]
        assert not own.startswith(server.base_url)
        assert http.post(f"{own}/hello", content=b"hi").json()["body"] == "hi"
        # also still under its prefix on the main port, and journaled in one place
        assert http.get(f"{server.base_url}/echo/again").status_code == 200
        entries = server.admin.get("/journal", params={"platform": "echo"}).json()["entries"]
        assert [e["path"] for e in entries] == ["/echo/hello", "/echo/again"]
        assert server.profile()["gateway"]["base_url"] == server.urls["gateway"]


def test_stop_releases_the_port() -> None:
    server = MockServer().start()
    port = server.port
    server.stop()
    server.stop()  # idempotent
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))


def test_a_platform_bug_is_a_500_with_the_error_in_the_journal(
    srv: MockServer, http: httpx.Client
) -> None:
    reply = http.get(f"{srv.base_url}/echo/boom")
    assert reply.status_code == 500
    (entry,) = srv.admin.get("/journal", params={"path": "/echo/boom"}).json()["entries"]
    assert entry["status"] == 500
    assert "RuntimeError: the echo platform blew up on purpose" in entry["error"]
    assert "echo.py" in entry["traceback"]
    assert http.get(f"{srv.base_url}/echo/after").status_code == 200  # server still fine


# --- journal --------------------------------------------------------------------------------


def test_journal_records_request_and_reply(srv: MockServer, http: httpx.Client) -> None:
    http.post(
        f"{srv.base_url}/echo/ho-so?ma=1",
        json={"MaHoSo": "H47.01-260101-0001", "ten": "NGUYỄN VĂN AN"},
        headers={"X-Correlation-ID": "abc123"},
    )
    (entry,) = srv.admin.get("/journal").json()["entries"]
    assert entry["platform"] == "echo"
    assert entry["method"] == "POST"
    assert entry["path"] == "/echo/ho-so"
    assert entry["platform_path"] == "/ho-so"
    assert entry["query"] == "ma=1"
    assert entry["status"] == 200
    assert entry["request"]["headers"]["x-correlation-id"] == "abc123"
    assert "NGUYỄN VĂN AN" in entry["request"]["body"]
    assert '"calls":1' in entry["response"]["body"]
    assert entry["response"]["headers"]["content-type"] == "application/json"
    assert 0 <= entry["duration_ms"] < 5000
    assert datetime.fromisoformat(entry["time"]).tzinfo is not None
    assert entry["fault"] is None


def test_brief_journal_and_single_entries(srv: MockServer, http: httpx.Client) -> None:
    http.post(f"{srv.base_url}/echo/a", content=b"x" * 1000)
    (brief,) = srv.admin.get("/journal", params={"brief": "true"}).json()["entries"]
    assert brief["request"] == {"body_size": 1000}
    assert brief["status"] == 200
    full = srv.admin.get(f"/journal/{brief['id']}").json()
    assert full["request"]["body"] == "x" * 1000
    assert srv.admin.get(f"/journal/{brief['id'] + 100}").status_code == 404


def test_journal_caps_large_bodies_at_64_kib(srv: MockServer, http: httpx.Client) -> None:
    assert len(http.get(f"{srv.base_url}/echo/big?n=100000").content) == 100_000
    (entry,) = srv.admin.get("/journal").json()["entries"]
    assert entry["response"]["body_size"] == 100_000
    assert entry["response"]["body_truncated"] is True
    assert len(entry["response"]["body"]) == 64 * 1024


def test_journal_filters_and_counts(srv: MockServer, http: httpx.Client) -> None:
    base = srv.base_url
    http.get(f"{base}/echo/a/1")
    http.post(f"{base}/echo/a/2")
    http.get(f"{base}/echo/status/404")
    http.get(f"{base}/echo/status/503")
    http.post(f"{base}/gateway/token", data={"grant_type": "client_credentials"})

    def paths(**params: object) -> list[str]:
        reply = srv.admin.get("/journal", params=params)
        assert reply.status_code == 200, reply.text
        count = srv.admin.get("/journal/count", params=params).json()["count"]
        entries = reply.json()["entries"]
        if "limit" not in params:
            assert count == len(entries)
        return [e["path"] for e in entries]

    assert paths(platform="echo", path="/echo/a") == ["/echo/a/1", "/echo/a/2"]
    assert paths(path="/a") == ["/echo/a/1", "/echo/a/2"]  # platform-relative
    assert paths(path="/echo/status/*") == ["/echo/status/404", "/echo/status/503"]
    assert paths(method="POST") == ["/echo/a/2", "/gateway/token"]
    assert paths(status="404") == ["/echo/status/404"]
    assert paths(status="4xx") == ["/echo/status/404", "/gateway/token"]
    assert paths(status="503,404") == ["/echo/status/404", "/echo/status/503"]
    assert paths(platform="gateway") == ["/gateway/token"]
    assert paths(platform="echo", limit=2, order="desc") == ["/echo/status/503", "/echo/status/404"]
    first = srv.admin.get("/journal").json()["entries"][0]["id"]
    assert paths(since=first + 3) == ["/gateway/token"]


def test_bad_journal_filters_are_400_naming_the_filter(srv: MockServer) -> None:
    for params, field in (
        ({"statuz": "200"}, "statuz"),
        ({"status": "abc"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"since": "x"}, "since"),
        ({"platform": "nope"}, "platform"),
        ({"order": "sideways"}, "order"),
    ):
        reply = srv.admin.get("/journal", params=params)
        assert reply.status_code == 400, params
        assert reply.json()["field"] == field


def test_clearing_the_journal_keeps_ids_increasing(srv: MockServer, http: httpx.Client) -> None:
    http.get(f"{srv.base_url}/echo/one")
    last = srv.admin.get("/journal").json()["entries"][-1]["id"]
    assert srv.admin.delete("/journal").status_code == 200
    assert srv.admin.get("/journal/count").json() == {"count": 0}
    http.get(f"{srv.base_url}/echo/two")
    assert srv.admin.get("/journal").json()["entries"][0]["id"] > last


# --- faults ---------------------------------------------------------------------------------


def test_status_fault_with_count_then_recovers(srv: MockServer, http: httpx.Client) -> None:
    fault = _faults(
        srv, platform="echo", path="/x", status=503, retry_after=7, count=1, body={"error": "down"}
    )
    first = http.get(f"{srv.base_url}/echo/x")
    second = http.get(f"{srv.base_url}/echo/x")
    assert (first.status_code, second.status_code) == (503, 200)
    assert first.headers["retry-after"] == "7"
    assert first.json() == {"error": "down"}
    listed = srv.admin.get("/faults").json()["faults"]
    assert listed[0]["id"] == fault["id"]
    assert (listed[0]["fired"], listed[0]["active"], listed[0]["remaining"]) == (1, False, 0)
    entries = srv.admin.get("/journal").json()["entries"]
    assert [e["status"] for e in entries] == [503, 200]
    assert entries[0]["fault"]["action"] == "status"
    assert srv.admin.get("/journal/count", params={"fault": "true"}).json()["count"] == 1


def test_latency_fault_delays_the_reply(srv: MockServer, http: httpx.Client) -> None:
    _faults(srv, platform="echo", latency_ms=300)
    began = time.perf_counter()
    assert http.get(f"{srv.base_url}/echo/slow").status_code == 200
    assert time.perf_counter() - began >= 0.29
    _faults(srv, platform="gateway", latency_ms=[20, 60])  # random range, other platform
    assert srv.admin.get("/faults").json()["faults"][1]["latency_ms"] == [20, 60]


def test_connection_reset_aborts_the_tcp_connection(srv: MockServer, http: httpx.Client) -> None:
    _faults(srv, platform="echo", method="POST", reset_connection=True, count=1)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        http.post(f"{srv.base_url}/echo/reset-me", content=b"payload")
    assert http.post(f"{srv.base_url}/echo/reset-me").status_code == 200  # count=1: recovered
    entries = srv.admin.get("/journal").json()["entries"]
    assert entries[0]["status"] is None
    assert entries[0]["response"] is None
    assert "reset" in entries[0]["error"]
    assert entries[0]["request"]["body"] == "payload"


def test_truncated_body_is_an_incomplete_read(srv: MockServer, http: httpx.Client) -> None:
    _faults(srv, platform="echo", truncate_body=True, count=1)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending complete message body"):
        http.get(f"{srv.base_url}/echo/cut")
    assert "truncated" in srv.admin.get("/journal").json()["entries"][0]["error"]


def test_malformed_body_does_not_parse(srv: MockServer, http: httpx.Client) -> None:
    _faults(srv, platform="echo", malformed_body=True)
    reply = http.get(f"{srv.base_url}/echo/garbled")
    assert reply.status_code == 200
    with pytest.raises(ValueError):
        reply.json()


def test_faults_match_method_and_path(srv: MockServer, http: httpx.Client) -> None:
    _faults(srv, platform="echo", method="POST", path="/echo/a*", status=500)
    _faults(srv, path="/echo/prefix", status=502)
    base = srv.base_url
    assert http.get(f"{base}/echo/abc").status_code == 200  # wrong method
    assert http.post(f"{base}/echo/abc").status_code == 500
    assert http.post(f"{base}/echo/b").status_code == 200  # glob does not match
    assert http.get(f"{base}/echo/prefix/x").status_code == 502
    assert http.get(f"{base}/echo/prefixed").status_code == 200  # whole segments only
    assert http.post(f"{base}/gateway/token").status_code != 502  # other platform


def test_probability_with_a_seed_is_replayable(srv: MockServer, http: httpx.Client) -> None:
    def pattern() -> list[int]:
        srv.admin.delete("/faults")
        _faults(srv, platform="echo", status=503, probability=0.5, seed=42)
        return [http.get(f"{srv.base_url}/echo/p").status_code for _ in range(30)]

    first = pattern()
    assert set(first) == {200, 503}
    assert pattern() == first
    srv.admin.delete("/faults")
    _faults(srv, platform="echo", status=503, probability=0)
    assert {http.get(f"{srv.base_url}/echo/p").status_code for _ in range(5)} == {200}


@pytest.mark.parametrize(
    ("fault", "field"),
    [
        ({"platform": "echo", "latency": 5}, "latency"),
        ({"status": 99}, "status"),
        ({"status": "503"}, "status"),
        ({"status": 503, "probability": 2}, "probability"),
        ({"latency_ms": [5]}, "latency_ms"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"status": 503, "reset_connection": True}, "reset_connection"),
        ({"platform": "echo"}, "status"),
        ({"platform": "nowhere", "status": 500}, "platform"),
        ({"status": 500, "count": 0}, "count"),
        ({"status": 500, "method": 5}, "method"),
        ({"status": 500, "path": "no-slash"}, "path"),
        ({"reset_connection": True, "retry_after": 3}, "retry_after"),
        ({"truncate_body": "half"}, "truncate_body"),
    ],
)
def test_bad_faults_are_400_naming_the_field(
    srv: MockServer, fault: dict[str, object], field: str
) -> None:
    reply = srv.admin.post("/faults", json=fault)
    assert reply.status_code == 400
    assert reply.json()["field"] == field
    assert reply.json()["error"]
    assert srv.admin.get("/faults").json()["faults"] == []


def test_fault_list_is_all_or_nothing_and_deletable(srv: MockServer) -> None:
    reply = srv.admin.post("/faults", json=[{"status": 500}, {"status": 1000}])
    assert reply.status_code == 400
    assert reply.json()["field"] == "status"
    assert "fault 1" in reply.json()["error"]
    assert srv.admin.get("/faults").json()["faults"] == []
    added = srv.admin.post("/faults", json=[{"status": 500}, {"status": 502}]).json()["faults"]
    assert srv.admin.delete(f"/faults/{added[0]['id']}").status_code == 200
    assert [f["status"] for f in srv.admin.get("/faults").json()["faults"]] == [502]
    assert srv.admin.delete("/faults/nope").status_code == 404
    assert srv.admin.post("/faults", content=b"{oops").json()["field"] == "body"


# --- clock, reset, switches, seed, state ----------------------------------------------------


def test_virtual_clock_set_and_advance_reach_the_mocks(srv: MockServer, http: httpx.Client) -> None:
    target = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    srv.admin.post("/clock", json={"set": "2026-03-01T15:00:00+07:00"}).raise_for_status()
    seen = datetime.fromisoformat(http.get(f"{srv.base_url}/echo/now").json()["now"])
    assert abs(seen - target) < timedelta(seconds=5)
    clock = srv.admin.post("/clock", json={"advance": 3600}).json()
    assert abs(datetime.fromisoformat(clock["now"]) - (target + timedelta(hours=1))) < timedelta(
        seconds=5
    )
    assert clock["now_vn"].endswith("+07:00")
    entry = srv.admin.get("/journal").json()["entries"][0]
    assert abs(datetime.fromisoformat(entry["time"]) - target) < timedelta(seconds=5)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"set": "2026-03-01T15:00:00"}, "set"),
        ({"set": "yesterday"}, "set"),
        ({"advance": "an hour"}, "advance"),
        ({"advance": 1, "set": "2026-03-01T15:00:00Z"}, "set"),
        ({"rewind": 5}, "rewind"),
    ],
)
def test_bad_clock_input_is_400(srv: MockServer, body: dict[str, object], field: str) -> None:
    reply = srv.admin.post("/clock", json=body)
    assert reply.status_code == 400
    assert reply.json()["field"] == field


def test_reset_clears_everything_but_the_seed(srv: MockServer, http: httpx.Client) -> None:
    srv.admin.post("/seed", json={"procedures": []}).raise_for_status()
    http.get(f"{srv.base_url}/echo/x")
    _faults(srv, platform="echo", status=500)
    srv.admin.post("/clock", json={"advance": 86400}).raise_for_status()
    srv.admin.post("/platforms/echo/switches", json={"status": 418}).raise_for_status()
    assert srv.admin.get("/state").json()["echo"] == {"calls": 1}

    assert srv.admin.post("/reset").status_code == 200
    assert srv.admin.get("/journal/count").json()["count"] == 0
    assert srv.admin.get("/faults").json()["faults"] == []
    assert abs(srv.admin.get("/clock").json()["offset_seconds"]) < 1
    assert srv.admin.get("/state").json()["echo"] == {"calls": 0}
    assert srv.admin.get("/platforms/echo/switches").json()["switches"] == {}
    assert srv.admin.get("/seed").json()["procedures"] == 0  # seed kept
    srv.admin.post("/seed", json={"procedures": _default_procedures()}).raise_for_status()


def _default_procedures() -> object:
    from mock_servers.seed import load_default_seed

    return load_default_seed()["procedures"]


def test_switches_are_validated_and_applied(srv: MockServer, http: httpx.Client) -> None:
    assert srv.admin.get("/platforms/echo/switches").json()["known"] == ["status"]
    assert srv.admin.post("/platforms/echo/switches", json={"status": 418}).status_code == 200
    assert http.get(f"{srv.base_url}/echo/tea").status_code == 418
    bad_name = srv.admin.post("/platforms/echo/switches", json={"colour": "red"})
    assert (bad_name.status_code, bad_name.json()["field"]) == (400, "colour")
    bad_value = srv.admin.post("/platforms/echo/switches", json={"status": "teapot"})
    assert (bad_value.status_code, bad_value.json()["field"]) == (400, "status")
    assert srv.admin.get("/platforms/nowhere/switches").status_code == 404
    assert srv.admin.delete("/platforms/echo/switches").json() == {"switches": {}}


def test_seed_sections_can_be_replaced_at_runtime(srv: MockServer) -> None:
    before = srv.admin.get("/seed").json()
    assert before["citizens"] >= 8
    one = {"so_dinh_danh": "001099000099", "ho": "TRẦN", "ten": "THỬ", "ngay_sinh": "1999"}
    try:
        assert srv.admin.post("/seed", json={"citizens": [one]}).json() == {"loaded": ["citizens"]}
        assert srv.admin.get("/seed/citizens").json() == [one]
        assert srv.admin.get("/seed").json()["agencies"] == before["agencies"]
        bad = srv.admin.post("/seed", json={"citizens": [{"so_dinh_danh": "123"}]})
        assert bad.status_code == 400
        assert bad.json()["field"] == "citizens"
        assert "12 digits" in bad.json()["error"]
    finally:
        from mock_servers.seed import load_default_seed

        srv.admin.post("/seed", json={"citizens": load_default_seed()["citizens"]})


def test_state_has_every_mounted_platform(srv: MockServer) -> None:
    state = srv.admin.get("/state").json()
    assert set(state) == set(srv.admin.get("/health").json()["platforms"])
    assert state["gateway"]["tokens_issued"] == 0
