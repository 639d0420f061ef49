"""The mock server under careless and hostile input: what a CI pipeline sends.

Admin input is validated completely (a 400 naming the field, never a stored value that
breaks the server later), memory stays bounded (body cap, journal bytes, paginated
journal, expiring tokens), malformed requests get the platform's error reply, and off
loopback the admin API wants a token and the journal masks credentials.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mock_servers import echo
from mock_servers.context import MockContext, SeedData, VirtualClock
from mock_servers.journal import Journal
from mock_servers.server import MockServer
from mock_servers.store import MemoryStore
from mock_servers.validation import InputError, Switch, validate_switches


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(extra_platforms=[echo.create_platform], request_body_limit=4096) as srv:
        yield srv


@pytest.fixture
def srv(server: MockServer) -> MockServer:
    server.admin.post("/reset").raise_for_status()
    return server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as client:
        yield client


def _raw(srv: MockServer, path: str, body: str) -> httpx.Response:
    return srv.admin.post(path, content=body, headers={"content-type": "application/json"})


# --- admin input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"advance": 1e12}, "advance"),
        ({"advance": -1e12}, "advance"),
        ({"set": "9999-12-31T23:59:59+00:00"}, "set"),
        ({"set": "0001-01-01T00:00:00+00:00"}, "set"),
    ],
)
def test_a_clock_move_out_of_range_is_refused_and_changes_nothing(
    srv: MockServer, http: httpx.Client, body: dict[str, object], field: str
) -> None:
    before = srv.admin.get("/clock").json()["offset_seconds"]
    reply = srv.admin.post("/clock", json=body)
    assert reply.status_code == 400
    assert reply.json()["field"] == field
    assert "between 1970-01-02 and 2999-12-31" in reply.json()["error"]
    assert abs(srv.admin.get("/clock").json()["offset_seconds"] - before) < 1
    token = http.post(
        f"{srv.base_url}/gateway/token",
        data={"grant_type": "client_credentials"},
        auth=("govlink-demo", "demo-gateway-secret"),
    )
    assert token.status_code == 200


def test_a_saved_clock_offset_out_of_range_is_ignored_on_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with MockServer(state_path=state) as first:
        assert first.admin.post("/clock", json={"advance": 86400}).status_code == 200
        assert first.runtime is not None
        first.runtime.ctx.store.put("__mock", "clock_offset_seconds", 1e13)  # an old file
    with MockServer(state_path=state) as second:
        assert second.admin.get("/clock").json()["offset_seconds"] == pytest.approx(0, abs=1)
        assert second.admin.get("/faults").status_code == 200


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_refused_everywhere(srv: MockServer, number: str) -> None:
    for path, body in [
        ("/faults", f'{{"latency_ms": {number}}}'),
        ("/faults", f'{{"status": 503, "probability": {number}}}'),
        ("/clock", f'{{"advance": {number}}}'),
        ("/platforms/gateway/switches", f'{{"token_ttl": {number}}}'),
        ("/platforms/echo/switches", f'{{"status": {number}}}'),
    ]:
        reply = _raw(srv, path, body)
        assert reply.status_code == 400, (path, body, reply.text)
        assert reply.json()["error"]
    faults = srv.admin.get("/faults")
    assert faults.status_code == 200
    assert faults.json()["faults"] == []


def test_deep_or_huge_admin_json_is_a_400(srv: MockServer) -> None:
    assert _raw(srv, "/faults", "[" * 100_000 + "]" * 100_000).status_code == 400
    assert _raw(srv, "/seed", '{"citizens": ' + "9" * 5000 + "}").status_code == 400
    big = srv.admin.post("/seed", content=b'{"citizens": "' + b"x" * (9 * 1024 * 1024) + b'"}')
    assert big.status_code == 400
    assert big.json()["field"] == "body"


@pytest.mark.parametrize(
    ("switches", "field"),
    [
        ({"token_ttl": "60"}, "token_ttl"),
        ({"token_ttl": 0}, "token_ttl"),
        ({"token_ttl": 10**400}, "token_ttl"),
        ({"reject_all": "yes"}, "reject_all"),
        ({"reject_all": True, "token_ttl": []}, "token_ttl"),
    ],
)
def test_platform_switches_are_checked_one_by_one_all_or_nothing(
    srv: MockServer, switches: dict[str, object], field: str
) -> None:
    reply = srv.admin.post("/platforms/gateway/switches", json=switches)
    assert reply.status_code == 400
    assert reply.json()["field"] == field
    assert srv.admin.get("/platforms/gateway/switches").json()["switches"] == {}


def test_wrong_typed_switches_of_every_platform_are_never_a_500(srv: MockServer) -> None:
    assert srv.runtime is not None
    for key, platform in srv.runtime.platforms.items():
        for name in platform.switch_names:
            for value in ([], {}, "nonsense", -1, 10**30, 1.5, None, True):
                reply = srv.admin.post(f"/platforms/{key}/switches", json={name: value})
                assert reply.status_code in (200, 400), (key, name, value, reply.text)
        srv.admin.delete(f"/platforms/{key}/switches")


def test_switch_specs_name_the_switch_and_the_rule() -> None:
    specs = {"busy": Switch("bool"), "late": Switch("number", minimum=0, maximum=3600)}
    assert validate_switches("x", specs, (), {"busy": True, "late": 1.5}) == {
        "busy": True,
        "late": 1.5,
    }
    with pytest.raises(InputError, match="'late' must be between 0 and 3600") as caught:
        validate_switches("x", specs, (), {"late": 4000})
    assert caught.value.field == "late"
    with pytest.raises(InputError, match="unknown switch 'bussy'"):
        validate_switches("x", specs, (), {"bussy": True})


@pytest.mark.parametrize(
    ("fault", "field"),
    [
        ({"status": 503, "headers": {"x-a": "b\r\nx-evil: 1"}}, "headers"),
        ({"status": 503, "headers": {"bad name": "v"}}, "headers"),
        ({"status": 503, "headers": {"x-a": "Đà Nẵng"}}, "headers"),
        ({"status": 503, "headers": {"content-length": "1"}}, "headers"),
        ({"status": 503, "headers": {"x-a": 1}}, "headers"),
        ({"status": 503, "content_type": "json"}, "content_type"),
        ({"status": 503, "content_type": "application/json\r\nx: y"}, "content_type"),
        ({"status": 503, "retry_after": "soon"}, "retry_after"),
        ({"status": 503, "retry_after": -1}, "retry_after"),
        ({"status": 503, "retry_after": 1.5}, "retry_after"),
        ({"status": 204, "body": "x"}, "body"),
    ],
)
def test_faults_http_cannot_send_are_refused(
    srv: MockServer, fault: dict[str, object], field: str
) -> None:
    reply = srv.admin.post("/faults", json=fault)
    assert reply.status_code == 400, reply.text
    assert reply.json()["field"] == field
    assert srv.admin.get("/faults").json()["faults"] == []


def test_faults_http_can_send_reach_the_client(srv: MockServer, http: httpx.Client) -> None:
    date = "Wed, 21 Oct 2026 07:28:00 GMT"
    srv.admin.post(
        "/faults", json={"platform": "echo", "path": "/a", "status": 503, "retry_after": date}
    ).raise_for_status()
    srv.admin.post(
        "/faults", json={"platform": "echo", "path": "/b", "status": 204}
    ).raise_for_status()
    assert http.get(f"{srv.base_url}/echo/a").headers["retry-after"] == date
    empty = http.get(f"{srv.base_url}/echo/b")
    assert (empty.status_code, empty.content) == (204, b"")


# --- bounded memory -------------------------------------------------------------------


def test_a_body_over_the_cap_is_refused_while_reading(srv: MockServer, http: httpx.Client) -> None:
    reply = http.post(f"{srv.base_url}/echo/x", content=b"a" * 5000)
    assert reply.status_code == 413
    assert reply.json()["error"] == "invalid_request"
    assert "over the limit of 4096 bytes" in reply.json()["error_description"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap applies while reading
        for _ in range(100):
            yield b"b" * 1000

    streamed = http.post(f"{srv.base_url}/echo/y", content=chunks())
    assert streamed.status_code == 413
    (declared, sent) = srv.admin.get("/journal", params={"platform": "echo"}).json()["entries"]
    assert declared["request"]["body_size"] == 5000
    assert declared["request"]["body_truncated"] is True
    assert sent["request"]["body_size"] > 4096
    assert sent["status"] == 413


def test_the_journal_is_bounded_in_bytes_and_keeps_body_sizes() -> None:
    journal = Journal(max_entries=1000, body_limit=1024, max_bytes=50_000)
    for number in range(200):
        entry = {
            "id": journal.next_id(),
            "path": "/x",
            "request": {"headers": {}, "body": "y" * 1024, "body_size": 10**6},
        }
        journal.record(entry)
        assert journal.size_bytes <= 50_000, number
    assert 20 < len(journal) < 50
    assert journal.query()[-1]["id"] == 200
    assert journal.query()[0]["request"]["body_size"] == 10**6


def test_the_journal_is_paginated_and_streamed(srv: MockServer, http: httpx.Client) -> None:
    for number in range(25):
        http.get(f"{srv.base_url}/echo/page/{number}")
    first = srv.admin.get("/journal", params={"limit": 10})
    assert first.headers.get("transfer-encoding") == "chunked"
    page = first.json()
    assert (page["count"], page["more"]) == (10, True)
    seen = [e["id"] for e in page["entries"]]
    while page["more"]:
        page = srv.admin.get("/journal", params={"limit": 10, **page["next"]}).json()
        seen += [e["id"] for e in page["entries"]]
    assert len(seen) == 25 == len(set(seen))
    newest = srv.admin.get("/journal", params={"limit": 10, "order": "desc"}).json()
    older = srv.admin.get("/journal", params={"limit": 10, "order": "desc", **newest["next"]})
    assert older.json()["entries"][0]["id"] == newest["entries"][-1]["id"] - 1
    assert srv.admin.get("/journal", params={"limit": 10**6}).status_code == 400


def test_a_request_is_journaled_while_pending(srv: MockServer, http: httpx.Client) -> None:
    srv.admin.post(
        "/faults", json={"platform": "echo", "path": "/slow", "latency_ms": 1500}
    ).raise_for_status()
    with pytest.raises(httpx.ReadTimeout):
        http.post(f"{srv.base_url}/echo/slow", content=b"hello", timeout=0.3)
    (entry,) = srv.admin.get("/journal", params={"pending": "true"}).json()["entries"]
    assert entry["path"] == "/echo/slow"
    assert entry["status"] is None
    assert entry["request"]["body"] == "hello"
    deadline = time.monotonic() + 5
    while srv.admin.get("/journal/count", params={"pending": "true"}).json()["count"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert srv.admin.get(f"/journal/{entry['id']}").json()["pending"] is False


def test_gateway_tokens_expire_and_are_pruned_by_the_virtual_clock(
    srv: MockServer, http: httpx.Client
) -> None:
    for _ in range(3):
        http.post(
            f"{srv.base_url}/gateway/token",
            data={"grant_type": "client_credentials"},
            auth=("govlink-demo", "demo-gateway-secret"),
        ).raise_for_status()
    assert srv.admin.get("/state").json()["gateway"]["tokens_live"] == 3
    srv.admin.post("/clock", json={"advance": 7200}).raise_for_status()
    assert srv.runtime is not None
    assert srv.runtime.ctx.store.count("gateway.tokens") == 0  # pruned, not just hidden
    assert srv.admin.get("/state").json()["gateway"] == {
        **srv.admin.get("/state").json()["gateway"],
        "tokens_live": 0,
        "tokens_issued": 3,
    }


def test_expiring_records_are_capped_and_pruned() -> None:
    clock = VirtualClock()
    ctx = MockContext(clock=clock, store=MemoryStore(), seed=SeedData())
    sessions = ctx.expiring("dvcqg.sessions", max_records=100)
    assert ctx.expiring("dvcqg.sessions") is sessions
    for number in range(150):
        sessions.put(f"s{number}", {"user": "u"}, ttl_seconds=60 + number)
    assert sessions.count() <= 100
    assert sessions.get("s149") == {
        "user": "u",
        "expires_at": pytest.approx(clock.timestamp() + 209, abs=2),
    }
    assert sessions.get("s0") is None  # closest to expiry: dropped first
    clock.advance(150)
    assert sessions.get("s80") is None
    assert sessions.prune() > 0
    assert sessions.count() == ctx.store.count("dvcqg.sessions")
    assert all(sessions.get(f"s{n}") is not None for n in range(95, 150))


# --- malformed requests ---------------------------------------------------------------


def test_malformed_bodies_get_the_platform_error_reply(srv: MockServer, http: httpx.Client) -> None:
    url = f"{srv.base_url}/echo/parse"
    deep = http.post(url, content="[" * 3000, headers={"content-type": "application/json"})
    assert deep.status_code == 400
    assert "nests deeper than 64" in deep.json()["error_description"]
    broken = http.post(url, content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert (broken.status_code, broken.json()["error"]) == (400, "invalid_request")
    careless = http.post(url, content=b"{not json", headers={"content-type": "text/plain"})
    assert careless.status_code == 400  # the echo platform's json.loads raised
    soap = http.post(url, content="<a>" * 10, headers={"content-type": "text/xml"})
    assert soap.status_code == 400
    assert "<faultcode>soap:Client</faultcode>" in soap.text
    entries = srv.admin.get("/journal", params={"status": "400"}).json()["entries"]
    assert len(entries) == 4
    assert all(e["error"] for e in entries)
    assert "JSONDecodeError" in entries[2]["traceback"]


# --- off loopback ---------------------------------------------------------------------


def test_off_loopback_the_admin_token_is_generated_and_credentials_masked() -> None:
    exposed = MockServer(host="192.0.2.10")  # not started: binding is not needed
    assert exposed.admin_token is not None
    assert len(exposed.admin_token) >= 24
    assert exposed.mask_credentials is True
    local = MockServer()
    assert (local.admin_token, local.mask_credentials) == (None, False)


def test_the_admin_token_is_required_and_credentials_are_masked(http: httpx.Client) -> None:
    with MockServer(admin_token="s3cret-token", mask_credentials=True) as srv:
        refused = http.get(f"{srv.admin_url}/journal")
        assert refused.status_code == 401
        assert refused.json()["field"] == "authorization"
        assert http.get(f"{srv.admin_url}/ui/").status_code == 200  # static, no data
        assert http.get(f"{srv.admin_url}/ui/app.js").status_code == 200
        http.post(
            f"{srv.base_url}/gateway/token",
            data={"grant_type": "client_credentials", "client_secret": "demo-gateway-secret"},
            auth=("govlink-demo", "demo-gateway-secret"),
        ).raise_for_status()
        (entry,) = srv.admin.get("/journal").json()["entries"]
        assert entry["request"]["headers"]["authorization"] == "***"
        assert "client_secret=***" in entry["request"]["body"]
        assert "demo-gateway-secret" not in str(entry)
        assert '"access_token":"***"' in entry["response"]["body"]
        one = srv.admin.get(f"/journal/{entry['id']}").json()
        assert one["request"]["headers"]["authorization"] == "***"
        shown = srv.admin.get("/journal", params={"credentials": "shown"}).json()["entries"][0]
        assert shown["request"]["headers"]["authorization"].startswith("Basic ")
        other = http.get(f"{srv.admin_url}/health", headers={"x-mock-admin-token": "s3cret-token"})
        assert other.status_code == 200


def test_the_cli_prints_the_admin_token_and_masks_on_request(http: httpx.Client) -> None:
    import json
    import subprocess
    import sys

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mock_servers",
            "--port",
            "0",
            "--json",
            "--admin-token",
            "cli-token-123",
            "--journal-credentials",
            "masked",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["admin_token"] == "cli-token-123"
        assert info["dashboard_url"].endswith("/__admin/ui/#token=cli-token-123")
        assert info["journal_credentials"] == "masked"
        assert http.get(f"{info['admin_url']}/health").status_code == 401
        bearer = {"authorization": "Bearer cli-token-123"}
        assert http.get(f"{info['admin_url']}/health", headers=bearer).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
