"""The HTTP layer: retries, Retry-After, time cap, correlation id, evidence, masked logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
import respx

from govlink.core.clock import ManualClock
from govlink.core.config import GovLinkSettings
from govlink.core.errors import (
    GovLinkTimeoutError,
    RateLimitedError,
    TransportError,
)
from govlink.core.http import (
    CORRELATION_HEADER,
    AsyncHttpTransport,
    HttpTransport,
    RetryPolicy,
    new_correlation_id,
)

BASE = "https://platform.test"
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def platform() -> Iterator[respx.MockRouter]:
    """The platform, mocked with respx; each test routes it with :func:`transport_for`."""
    with respx.mock(assert_all_called=False) as router:
        router.route(scheme="ftp").pass_through()  # the real transport refuses ftp://
        _routers.append(router)
        try:
            yield router
        finally:
            _routers.pop()


_routers: list[respx.MockRouter] = []


def scripted(*steps: object) -> tuple[Handler, list[httpx.Request]]:
    """A respx side effect playing ``steps`` in order: an int status, a Response, or an
    exception (raised as the transport would)."""
    seen: list[httpx.Request] = []
    queue: Iterator[object] = iter(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = next(queue)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, int):
            return httpx.Response(step, json={"status": step})
        assert isinstance(step, httpx.Response)
        return step

    return handler, seen


def connect_error() -> httpx.ConnectError:
    return httpx.ConnectError("connection refused")


def read_timeout() -> httpx.ReadTimeout:
    return httpx.ReadTimeout("read timed out")


def settings(**http: object) -> GovLinkSettings:
    values: dict[str, object] = {"max_retries": 3, "backoff_initial": 0.5, "backoff_max": 4.0}
    values.update(http)
    return GovLinkSettings.load(http=values)


def transport_for(
    handler: Handler, *, clock: ManualClock | None = None, **http: object
) -> tuple[HttpTransport, list[float]]:
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if clock is not None:
            clock.advance(seconds)

    _routers[-1].route(url__startswith=BASE).mock(side_effect=handler)
    client = httpx.Client(base_url=BASE)
    return HttpTransport(client, settings(**http), clock=clock, sleep=sleep), sleeps


def retry_logs(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    messages = [r.getMessage() for r in caplog.records if r.name == "govlink.http"]
    return (
        [m for m in messages if m.startswith("retrying")],
        [m for m in messages if m.startswith("giving up")],
    )


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_safe_request_is_retried_on_5xx_with_one_correlation_id(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="govlink.http")
    handler, seen = scripted(status, status, 200)
    transport, sleeps = transport_for(handler)
    reply = transport.request("GET", "/dossiers/1", safe=True)
    assert reply.status_code == 200
    assert reply.evidence.attempts == 3
    cids = {r.headers[CORRELATION_HEADER] for r in seen}
    assert cids == {reply.evidence.correlation_id}
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5
    assert 0 <= sleeps[1] <= 1.0
    retries, give_ups = retry_logs(caplog)
    assert len(retries) == 2
    assert give_ups == []
    assert all(reply.evidence.correlation_id in m for m in retries)


def test_unsafe_request_is_not_retried_on_5xx(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="govlink.http")
    handler, seen = scripted(httpx.Response(500, json={"error_code": "99", "message": "lỗi"}))
    transport, sleeps = transport_for(handler)
    with pytest.raises(TransportError) as caught:
        transport.request("POST", "/dossiers", safe=False, json={"MaHoSo": "H1"})
    assert len(seen) == 1
    assert sleeps == []
    evidence = caught.value.evidence
    assert evidence.status_code == 500
    assert evidence.attempts == 1
    assert b'"error_code":"99"' in evidence.response_body
    assert evidence.request_body == b'{"MaHoSo":"H1"}'
    retries, give_ups = retry_logs(caplog)
    assert retries == []
    assert len(give_ups) == 1
    assert evidence.correlation_id in give_ups[0]
    assert caught.value.correlation_id == evidence.correlation_id


def test_unsafe_request_is_not_retried_on_read_timeout() -> None:
    handler, seen = scripted(read_timeout(), 200)
    transport, _ = transport_for(handler)
    with pytest.raises(GovLinkTimeoutError, match="GOVLINK_HTTP__TIMEOUT"):
        transport.request("POST", "/pay", safe=False, json={})
    assert len(seen) == 1


def test_safe_request_is_retried_on_read_timeout() -> None:
    handler, seen = scripted(read_timeout(), 200)
    transport, _ = transport_for(handler)
    assert transport.request("GET", "/a", safe=True).status_code == 200
    assert len(seen) == 2


def test_connect_errors_are_retried_even_for_unsafe_requests() -> None:
    handler, seen = scripted(connect_error(), connect_error(), 201)
    transport, sleeps = transport_for(handler)
    reply = transport.request("POST", "/dossiers", safe=False, json={})
    assert reply.status_code == 201
    assert len(seen) == 3
    assert len(sleeps) == 2


def test_connect_errors_give_up_after_max_retries(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="govlink.http")
    handler, seen = scripted(*[connect_error()] * 10)
    transport, sleeps = transport_for(handler, max_retries=2)
    with pytest.raises(TransportError, match="govlink doctor") as caught:
        transport.request("GET", "/a", safe=True)
    assert len(seen) == 3
    assert len(sleeps) == 2
    assert caught.value.evidence.attempts == 3
    assert caught.value.evidence.status_code is None
    retries, give_ups = retry_logs(caplog)
    assert len(retries) == 2
    assert len(give_ups) == 1


def test_429_honours_retry_after_seconds_even_for_unsafe_requests() -> None:
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "7"}), 200)
    transport, sleeps = transport_for(handler)
    assert transport.request("POST", "/a", safe=False, json={}).status_code == 200
    assert sleeps == [7.0]
    assert len(seen) == 2


def test_429_honours_retry_after_http_date() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    limited = httpx.Response(429, headers={"Retry-After": "Thu, 01 Jan 2026 00:00:05 GMT"})
    handler, _ = scripted(limited, 200)
    transport, sleeps = transport_for(handler, clock=clock)
    assert transport.request("GET", "/a", safe=True).status_code == 200
    assert sleeps == [5.0]


def test_429_that_persists_raises_rate_limited_with_retry_after() -> None:
    handler, _ = scripted(*[httpx.Response(429, headers={"Retry-After": "2"})] * 3)
    transport, sleeps = transport_for(handler, max_retries=2)
    with pytest.raises(RateLimitedError) as caught:
        transport.request("GET", "/a", safe=True)
    assert caught.value.retry_after == 2.0
    assert "wait 2 s" in str(caught.value)
    assert sleeps == [2.0, 2.0]


def test_retry_after_beyond_the_time_cap_gives_up_at_once() -> None:
    clock = ManualClock()
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "600"}), 200)
    transport, sleeps = transport_for(handler, clock=clock, retry_total_seconds=60)
    with pytest.raises(RateLimitedError) as caught:
        transport.request("GET", "/a", safe=True)
    assert sleeps == []
    assert len(seen) == 1
    assert caught.value.retry_after == 600.0


def test_total_time_cap_bounds_all_waits() -> None:
    clock = ManualClock()
    handler, seen = scripted(*[503] * 50)
    transport, sleeps = transport_for(
        handler,
        clock=clock,
        max_retries=20,
        backoff_initial=4.0,
        backoff_max=8.0,
        retry_total_seconds=20,
    )
    with pytest.raises(TransportError):
        transport.request("GET", "/a", safe=True)
    assert sum(sleeps) <= 20
    assert len(seen) == len(sleeps) + 1 < 21


def test_4xx_is_returned_not_raised_nor_retried() -> None:
    handler, seen = scripted(httpx.Response(400, json={"error_code": "E01"}))
    transport, sleeps = transport_for(handler)
    reply = transport.request("GET", "/a", safe=True)
    assert reply.status_code == 400
    assert reply.json() == {"error_code": "E01"}
    assert len(seen) == 1
    assert sleeps == []


def test_evidence_carries_correlation_id_timing_and_raw_reply() -> None:
    clock = ManualClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))

    def handler(request: httpx.Request) -> httpx.Response:
        clock.advance(0.25)  # the platform takes a quarter of a second
        return httpx.Response(200, content=b'{"SoDinhDanh": "001234567890"}')

    transport, _ = transport_for(handler, clock=clock)
    reply = transport.request("POST", "/lookup", safe=True, json={"q": 1}, correlation_id="call-42")
    evidence = reply.evidence
    assert evidence.correlation_id == reply.correlation_id == "call-42"
    assert evidence.started_at == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert evidence.elapsed_seconds == pytest.approx(0.25)
    assert evidence.url == f"{BASE}/lookup"
    assert evidence.method == "POST"
    assert evidence.response_body == b'{"SoDinhDanh": "001234567890"}'  # raw, for the vendor
    assert evidence.request_body == b'{"q":1}'
    assert "001234567890" not in str(evidence.masked())  # masked, for logs and tickets


def test_correlation_id_from_the_caller_header_is_kept() -> None:
    handler, seen = scripted(503, 200)
    transport, _ = transport_for(handler)
    reply = transport.request("GET", "/a", safe=True, headers={"x-correlation-id": "mine"})
    assert reply.correlation_id == "mine"
    assert [r.headers[CORRELATION_HEADER] for r in seen] == ["mine", "mine"]


def test_per_call_auth_is_passed_to_the_client() -> None:
    handler, seen = scripted(200)
    transport, _ = transport_for(handler)
    transport.request("GET", "/a", safe=True, auth=httpx.BasicAuth("u", "p"))
    assert seen[0].headers["Authorization"].startswith("Basic ")


def test_no_id_number_reaches_any_log_record(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="govlink")
    body = b'{"SoDinhDanh": "001234567890", "SoDienThoai": "0912345678"}'
    handler, _ = scripted(503, httpx.Response(200, content=body))
    transport, _ = transport_for(handler)
    transport.request(
        "POST",
        "/citizens?so_dinh_danh=001234567890",
        safe=True,
        json={"SoDinhDanh": "001234567890", "HoVaTen": "NGUYỄN VĂN AN"},
        correlation_id="c-1",
    )
    messages = [record.getMessage() for record in caplog.records]
    assert any(r.name == "httpx" for r in caplog.records)  # httpx's own URL log was seen
    assert any("body=" in m for m in messages)  # and our debug logs ran
    for message in messages:
        assert not re.search(r"\d{12}", message), message
        assert "0912345678" not in message


def test_new_correlation_ids_never_look_like_id_numbers() -> None:
    ids = {new_correlation_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert not any(re.search(r"\d{9}", cid) for cid in ids)


def test_unknown_request_argument_is_a_type_error() -> None:
    handler, _ = scripted(200)
    transport, _ = transport_for(handler)
    with pytest.raises(TypeError, match="jsn"):
        transport.request("GET", "/a", safe=True, jsn={})


def test_policy_decisions() -> None:
    policy = RetryPolicy()
    request = httpx.Request("POST", BASE)
    assert policy.should_retry(httpx.PoolTimeout("full", request=request), safe=False)
    assert not policy.should_retry(httpx.RemoteProtocolError("reset", request=request), safe=False)
    assert policy.should_retry(httpx.RemoteProtocolError("reset", request=request), safe=True)
    assert not policy.should_retry(ValueError("bug"), safe=True)
    assert not policy.should_retry(httpx.UnsupportedProtocol("ftp://"), safe=True)


def test_bad_url_scheme_is_not_retried() -> None:
    sleeps: list[float] = []
    # the real transport refuses the scheme before any connection is attempted
    with (
        HttpTransport(httpx.Client(), settings(), sleep=sleeps.append) as transport,
        pytest.raises(TransportError, match="UnsupportedProtocol") as caught,
    ):
        transport.request("GET", "ftp://files.test/a", safe=True)
    assert sleeps == []
    assert caught.value.evidence.attempts == 1


# ------------------------------------------------------------------------- async


async def test_async_retries_and_evidence_match_the_sync_shell() -> None:
    handler, seen = scripted(
        connect_error(), 503, httpx.Response(429, headers={"Retry-After": "3"}), 200
    )
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    _routers[-1].route(url__startswith=BASE).mock(side_effect=handler)
    client = httpx.AsyncClient(base_url=BASE)
    async with AsyncHttpTransport(client, settings(), sleep=sleep) as transport:
        reply = await transport.request("GET", "/a", safe=True)
    assert reply.status_code == 200
    assert reply.evidence.attempts == 4
    assert len(seen) == 4
    assert sleeps[2] == 3.0
    assert {r.headers[CORRELATION_HEADER] for r in seen} == {reply.correlation_id}


async def test_async_unsafe_request_is_not_retried_on_5xx() -> None:
    handler, seen = scripted(502, 200)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    _routers[-1].route(url__startswith=BASE).mock(side_effect=handler)
    client = httpx.AsyncClient(base_url=BASE)
    async with AsyncHttpTransport(client, settings(), sleep=sleep) as transport:
        with pytest.raises(TransportError, match="HTTP 502"):
            await transport.request("POST", "/a", safe=False)
    assert len(seen) == 1
    assert sleeps == []
