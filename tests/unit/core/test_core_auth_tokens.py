"""Gateway token strategies: wire form, caching, single flight, one replay on 401."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from govlink.core.auth import ClientCredentialsAuth, GatewayHeaderJsonAuth
from govlink.core.clock import ManualClock
from govlink.core.config import GovLinkSettings
from govlink.core.errors import AuthenticationError, TokenUnavailableError
from govlink.core.http import AsyncHttpTransport, HttpTransport, RetryPolicy

TOKEN_URL = "https://gateway.test/token"
API = "https://api.test"
SECRET = "s3cr3t-gateway-secret"


class FakeGateway:
    """A WSO2-like gateway: issues numbered tokens, accepts only the valid ones."""

    def __init__(self, *, lifetime: float = 3600, token_delay: float = 0.0) -> None:
        self.lifetime = lifetime
        self.token_delay = token_delay
        self.token_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []
        self.valid: set[str] = set()
        self.always_401 = False
        self.token_status = 200
        self.token_body: dict[str, object] | None = None
        self._lock = threading.Lock()

    def _issue(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.token_requests.append(request)
            token = f"tok-{len(self.token_requests)}"
            self.valid.add(token)
        if self.token_status != 200:
            return httpx.Response(self.token_status, json=self.token_body or {})
        body = self.token_body or {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "scope": "default",
        }
        return httpx.Response(200, json=body)

    def _api(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.api_requests.append(request)
        presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.always_401 or presented not in self.valid:
            return httpx.Response(401, json={"fault": "invalid credentials"})
        return httpx.Response(200, json={"token": presented})

    def _token(self, request: httpx.Request) -> httpx.Response:
        time.sleep(self.token_delay)
        return self._issue(request)

    async def _atoken(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.token_delay)
        return self._issue(request)

    def route(self, *, asynchronous: bool = False) -> None:
        """Answer the token endpoint and the API through respx (this module's mock)."""
        respx.post(TOKEN_URL).mock(side_effect=self._atoken if asynchronous else self._token)
        respx.route(url__startswith=API).mock(side_effect=self._api)

    def revoke_all(self) -> None:
        with self._lock:
            self.valid.clear()


@pytest.fixture(autouse=True)
def _http() -> Iterator[None]:
    """Every request of these tests goes to respx; nothing else is routed."""
    with respx.mock:
        yield


def sync_client(gateway: FakeGateway, auth: httpx.Auth) -> httpx.Client:
    gateway.route()
    return httpx.Client(base_url=API, auth=auth)


def async_client(gateway: FakeGateway, auth: httpx.Auth) -> httpx.AsyncClient:
    gateway.route(asynchronous=True)
    return httpx.AsyncClient(base_url=API, auth=auth)


def test_basic_mode_sends_client_credentials_in_a_basic_header() -> None:
    gateway = FakeGateway()
    auth = ClientCredentialsAuth(TOKEN_URL, "consumer-key", SECRET, scope="dancu")
    with sync_client(gateway, auth) as client:
        reply = client.get("/citizens")
    assert reply.status_code == 200
    token_request = gateway.token_requests[0]
    assert token_request.method == "POST"
    expected = base64.b64encode(f"consumer-key:{SECRET}".encode()).decode()
    assert token_request.headers["Authorization"] == f"Basic {expected}"
    form = parse_qs(token_request.content.decode())
    assert form == {"grant_type": ["client_credentials"], "scope": ["dancu"]}
    assert gateway.api_requests[0].headers["Authorization"] == "Bearer tok-1"


def test_form_mode_sends_credentials_as_form_fields_and_no_basic_header() -> None:
    gateway = FakeGateway()
    auth = ClientCredentialsAuth(TOKEN_URL, "consumer-key", SECRET, mode="form")
    with sync_client(gateway, auth) as client:
        client.get("/citizens")
    token_request = gateway.token_requests[0]
    assert "Authorization" not in token_request.headers
    form = parse_qs(token_request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["consumer-key"],
        "client_secret": [SECRET],
    }


def test_token_is_cached_and_refreshed_before_expiry() -> None:
    gateway = FakeGateway(lifetime=300)
    clock = ManualClock()
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET, refresh_margin=30, clock=clock)
    with sync_client(gateway, auth) as client:
        for _ in range(5):
            client.get("/a")
        assert len(gateway.token_requests) == 1
        clock.advance(269)  # 31 s before expiry: still good
        client.get("/a")
        assert len(gateway.token_requests) == 1
        clock.advance(2)  # inside the 30 s margin: refresh before using it
        reply = client.get("/a")
        assert len(gateway.token_requests) == 2
        assert reply.json() == {"token": "tok-2"}


def test_short_lived_tokens_are_not_refreshed_on_every_call() -> None:
    gateway = FakeGateway(lifetime=20)  # shorter than the 30 s default margin
    clock = ManualClock()
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET, clock=clock)
    with sync_client(gateway, auth) as client:
        client.get("/a")
        clock.advance(5)
        client.get("/a")
    assert len(gateway.token_requests) == 1


def test_fifty_threads_cause_exactly_one_token_request() -> None:
    gateway = FakeGateway(token_delay=0.05)
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET)
    barrier = threading.Barrier(50)
    with sync_client(gateway, auth) as client:

        def call(_: int) -> str:
            barrier.wait()
            return str(client.get("/a").json()["token"])

        with ThreadPoolExecutor(max_workers=50) as pool:
            tokens = list(pool.map(call, range(50)))
    assert len(gateway.token_requests) == 1
    assert tokens == ["tok-1"] * 50


async def test_fifty_tasks_cause_exactly_one_token_request() -> None:
    gateway = FakeGateway(token_delay=0.05)
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET)
    async with async_client(gateway, auth) as client:
        replies = await asyncio.gather(*(client.get("/a") for _ in range(50)))
    assert len(gateway.token_requests) == 1
    assert {r.json()["token"] for r in replies} == {"tok-1"}


def test_one_strategy_serves_several_event_loops() -> None:
    """An asyncio lock binds to one loop; the strategy must not break on the next."""
    gateway = FakeGateway(token_delay=0.01)
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET)

    async def burst() -> None:
        async with async_client(gateway, auth) as client:
            await asyncio.gather(*(client.get("/a") for _ in range(5)))
        auth.invalidate()

    asyncio.run(burst())
    asyncio.run(burst())
    assert len(gateway.token_requests) == 2


def test_401_triggers_one_refresh_and_one_replay() -> None:
    gateway = FakeGateway()
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET)
    with sync_client(gateway, auth) as client:
        client.get("/a")
        gateway.revoke_all()  # the gateway forgot our token before it expired
        reply = client.post("/b", json={"x": 1})
    assert reply.status_code == 200
    assert reply.json() == {"token": "tok-2"}
    assert len(gateway.token_requests) == 2
    replayed = [r for r in gateway.api_requests if r.url.path == "/b"]
    assert len(replayed) == 2
    assert replayed[1].content == b'{"x":1}'  # the body is replayed too


def test_second_401_is_returned_never_looped() -> None:
    gateway = FakeGateway()
    gateway.always_401 = True
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET)
    with sync_client(gateway, auth) as client:
        reply = client.get("/a")
    assert reply.status_code == 401
    assert len(gateway.api_requests) == 2
    assert len(gateway.token_requests) == 2


async def test_async_401_triggers_one_refresh_and_one_replay() -> None:
    gateway = FakeGateway()
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET)
    async with async_client(gateway, auth) as client:
        await client.get("/a")
        gateway.revoke_all()
        reply = await client.get("/b")
        assert reply.status_code == 200
        gateway.always_401 = True
        refused = await client.get("/c")
    assert refused.status_code == 401
    assert len([r for r in gateway.api_requests if r.url.path == "/c"]) == 2
    assert len(gateway.token_requests) == 3


def test_fifty_threads_that_all_see_401_cause_one_refresh() -> None:
    gateway = FakeGateway(token_delay=0.05)
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET)
    with sync_client(gateway, auth) as client:
        client.get("/warm-up")
        gateway.revoke_all()
        barrier = threading.Barrier(50)

        def call(_: int) -> int:
            barrier.wait()
            return client.get("/a").status_code

        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = list(pool.map(call, range(50)))
    assert statuses == [200] * 50
    assert len(gateway.token_requests) == 2  # warm-up + exactly one refresh


async def test_fifty_tasks_that_all_see_401_cause_one_refresh() -> None:
    gateway = FakeGateway(token_delay=0.05)
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET)
    async with async_client(gateway, auth) as client:
        await client.get("/warm-up")
        gateway.revoke_all()
        replies = await asyncio.gather(*(client.get("/a") for _ in range(50)))
    assert {r.status_code for r in replies} == {200}
    assert len(gateway.token_requests) == 2


def test_refused_token_request_raises_masked_authentication_error() -> None:
    gateway = FakeGateway()
    gateway.token_status = 401
    gateway.token_body = {
        "error": "invalid_client",
        "error_description": f"Client {SECRET} unknown, caller 001234567890",
    }
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET, settings_prefix="GOVLINK_GATEWAY__AUTH__")
    with sync_client(gateway, auth) as client, pytest.raises(AuthenticationError) as caught:
        client.get("/a", headers={"X-Correlation-ID": "cid-1"})
    text = str(caught.value)
    assert "invalid_client" in text
    assert SECRET not in text
    assert "001234567890" not in text
    assert "GOVLINK_GATEWAY__AUTH__" in text
    assert TOKEN_URL in text
    assert caught.value.correlation_id == "cid-1"
    assert gateway.api_requests == []  # nothing was sent to the API


def test_reply_without_access_token_is_an_authentication_error() -> None:
    gateway = FakeGateway()
    gateway.token_body = {"token_type": "Bearer"}
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET)
    with (
        sync_client(gateway, auth) as client,
        pytest.raises(AuthenticationError, match="access_token"),
    ):
        client.get("/a")


def test_token_endpoint_outage_is_retried_even_for_unsafe_calls() -> None:
    gateway = FakeGateway()
    gateway.token_status = 503
    settings = GovLinkSettings.load(http={"max_retries": 2})
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET)
    sleeps: list[float] = []
    with sync_client(gateway, auth) as client:
        transport = HttpTransport(client, settings, sleep=sleeps.append)
        with pytest.raises(TokenUnavailableError) as caught:
            transport.request("POST", "/a", safe=False, json={})
        assert len(gateway.token_requests) == 3
        assert len(sleeps) == 2
        assert gateway.api_requests == []
        gateway.token_status = 200
        reply = transport.request("POST", "/a", safe=False, json={})
    assert reply.status_code == 200
    assert caught.value.correlation_id is not None


async def test_async_transport_with_token_auth_reports_evidence() -> None:
    gateway = FakeGateway()
    settings = GovLinkSettings.load()
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET)
    async with async_client(gateway, auth) as client:
        transport = AsyncHttpTransport(client, settings, RetryPolicy(max_retries=0))
        reply = await transport.request("GET", "/a", safe=True)
    assert reply.status_code == 200
    assert reply.evidence.url == f"{API}/a"
    # the token request carried the call's correlation id, so logs line up
    assert gateway.token_requests[0].headers["X-Correlation-ID"] == reply.correlation_id


def test_gateway_header_json_sends_base64_json_credentials() -> None:
    gateway = FakeGateway()
    auth = GatewayHeaderJsonAuth(
        TOKEN_URL, "access-1", SECRET, "MotCua", "PARTNER01", "CUS01", header_name="lgspaccesstoken"
    )
    with sync_client(gateway, auth) as client:
        reply = client.get("/a")
    assert reply.status_code == 200
    sent = gateway.token_requests[0].headers["lgspaccesstoken"]
    assert json.loads(base64.b64decode(sent)) == {
        "AccessKey": "access-1",
        "SecretKey": SECRET,
        "AppName": "MotCua",
        "PartnerCode": "PARTNER01",
        "PartnerCodeCus": "CUS01",
    }
    assert list(json.loads(base64.b64decode(sent))) == [
        "AccessKey",
        "SecretKey",
        "AppName",
        "PartnerCode",
        "PartnerCodeCus",
    ]
    assert gateway.api_requests[0].headers["Authorization"] == "Bearer tok-1"


def test_gateway_header_json_reads_a_nested_token_and_shares_the_rules() -> None:
    gateway = FakeGateway(token_delay=0.02)
    gateway.token_body = {"data": {"token": "tok-1", "ttl": 600}}
    clock = ManualClock()
    auth = GatewayHeaderJsonAuth(
        TOKEN_URL,
        "a",
        SECRET,
        "App",
        "P",
        token_field="data.token",
        expires_field="data.ttl",
        header_prefix="Basic ",
        clock=clock,
    )
    barrier = threading.Barrier(20)
    with sync_client(gateway, auth) as client:

        def call(_: int) -> int:
            barrier.wait()
            return client.get("/a").status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            assert list(pool.map(call, range(20))) == [200] * 20
        assert len(gateway.token_requests) == 1
        assert gateway.token_requests[0].headers["Authorization"].startswith("Basic ")
        clock.advance(600)
        client.get("/a")
    assert len(gateway.token_requests) == 2


def test_gateway_header_json_failure_never_shows_the_secret() -> None:
    gateway = FakeGateway()
    gateway.token_status = 400
    auth = GatewayHeaderJsonAuth(TOKEN_URL, "a", SECRET, "App", "P")
    gateway.token_body = {"message": f"bad header {auth.credentials_header()}"}
    with sync_client(gateway, auth) as client, pytest.raises(AuthenticationError) as caught:
        client.get("/a")
    assert SECRET not in str(caught.value)
    assert auth.credentials_header() not in str(caught.value)
    assert "AppName" in str(caught.value)


def test_token_repr_does_not_show_the_token() -> None:
    auth = ClientCredentialsAuth(TOKEN_URL, "k", SECRET)
    token = auth.cache.make("very-secret-token", expires_in=60)
    assert "very-secret-token" not in repr(token)
    assert SECRET not in repr(auth)


@pytest.mark.parametrize("bad", ["/token", "gateway.test/token"])
def test_relative_token_url_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="absolute"):
        ClientCredentialsAuth(bad, "k", SECRET)
