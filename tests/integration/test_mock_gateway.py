"""The gateway mock (WSO2 API Manager style), driven by govlink's own auth strategies.

Uses the plugin's ``govlink_mock`` fixture, like every govlink integration test.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from govlink.core.auth import ClientCredentialsAuth, GatewayHeaderJsonAuth, auth_for
from govlink.core.errors import AuthenticationError
from govlink.testing import MockHandle
from govlink.testing._transports import SyncASGITransport
from mock_servers.context import MockContext, SeedData, VirtualClock
from mock_servers.gateway import bearer_client, create_platform, token_is_valid
from mock_servers.seed import load_default_seed
from mock_servers.store import MemoryStore

KEY, SECRET = "govlink-demo", "demo-gateway-secret"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as client:
        yield client


def _token(http: httpx.Client, mock: MockHandle, **kwargs: object) -> httpx.Response:
    return http.post(f"{mock.url('gateway')}/token", **kwargs)  # type: ignore[arg-type]


def test_mock_profile_auth_gets_a_token_and_calls_through_the_gateway(
    govlink_mock: MockHandle,
) -> None:
    settings = govlink_mock.settings()
    auth = auth_for(settings, "gateway")
    assert isinstance(auth, ClientCredentialsAuth)
    with httpx.Client(auth=auth, trust_env=False) as client:
        for _ in range(3):
            reply = client.get(f"{settings.gateway.base_url}/api/ping")
            assert reply.status_code == 200
            assert reply.json()["client_id"] == KEY
    token_calls = govlink_mock.journal(platform="gateway", path="/gateway/token")
    assert len(token_calls) == 1  # cached by the client
    assert token_calls[0]["request"]["headers"]["authorization"].startswith("Basic ")
    assert govlink_mock.state()["gateway"]["tokens_live"] == 1


def test_form_credentials_and_wso2_reply_shape(
    govlink_mock: MockHandle, http: httpx.Client
) -> None:
    reply = _token(
        http,
        govlink_mock,
        data={"grant_type": "client_credentials", "client_id": KEY, "client_secret": SECRET},
    )
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == {"access_token", "scope", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "default")


@pytest.mark.parametrize(
    ("kwargs", "status", "error"),
    [
        (
            {"data": {"grant_type": "client_credentials"}, "auth": (KEY, "wrong")},
            401,
            "invalid_client",
        ),
        ({"data": {"grant_type": "client_credentials"}}, 401, "invalid_client"),
        (
            {"data": {"grant_type": "password"}, "auth": (KEY, SECRET)},
            400,
            "unsupported_grant_type",
        ),
        ({"data": {}, "auth": (KEY, SECRET)}, 400, "invalid_request"),
    ],
)
def test_token_errors_look_like_wso2(
    govlink_mock: MockHandle,
    http: httpx.Client,
    kwargs: dict[str, object],
    status: int,
    error: str,
) -> None:
    reply = _token(http, govlink_mock, **kwargs)
    assert reply.status_code == status
    assert reply.json()["error"] == error
    assert reply.json()["error_description"]
    if status == 401:
        assert "www-authenticate" in reply.headers


def test_tokens_expire_by_the_virtual_clock(govlink_mock: MockHandle, http: httpx.Client) -> None:
    token = _token(
        http, govlink_mock, data={"grant_type": "client_credentials"}, auth=(KEY, SECRET)
    ).json()["access_token"]
    ping = f"{govlink_mock.url('gateway')}/api/ping"
    assert http.get(ping, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    govlink_mock.advance_clock(3601)
    expired = http.get(ping, headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401
    assert expired.json()["code"] == "900901"
    introspected = http.post(f"{govlink_mock.url('gateway')}/introspect", data={"token": token})
    assert introspected.json() == {"active": False}


def test_the_client_refreshes_after_the_token_expires(govlink_mock: MockHandle) -> None:
    settings = govlink_mock.settings()
    with httpx.Client(auth=auth_for(settings, "gateway"), trust_env=False) as client:
        url = f"{settings.gateway.base_url}/api/ping"
        assert client.get(url).status_code == 200
        govlink_mock.advance_clock(
            7200
        )  # the mock's tokens expire; the client's cache does not know
        assert client.get(url).status_code == 200  # 401 -> one refresh -> replay
    statuses = [(e["path"], e["status"]) for e in govlink_mock.journal(platform="gateway")]
    assert statuses == [
        ("/gateway/token", 200),
        ("/gateway/api/ping", 200),
        ("/gateway/api/ping", 401),
        ("/gateway/token", 200),
        ("/gateway/api/ping", 200),
    ]


def test_header_json_variant_matches_govlinks_wire_form(govlink_mock: MockHandle) -> None:
    base = govlink_mock.url("gateway")
    auth = GatewayHeaderJsonAuth(
        f"{base}/token/partner", KEY, SECRET, "GOVLINKDEMO", "GOVLINK", "GOVLINK-CUS"
    )
    with httpx.Client(auth=auth, trust_env=False) as client:
        assert client.get(f"{base}/api/ping").status_code == 200
    (call,) = govlink_mock.journal(path="/gateway/token/partner")
    sent = json.loads(base64.b64decode(call["request"]["headers"]["authorization"]))
    assert sent["AccessKey"] == KEY
    wrong = GatewayHeaderJsonAuth(f"{base}/token/partner", KEY, SECRET, "OTHERAPP", "GOVLINK")
    with (
        httpx.Client(auth=wrong, trust_env=False) as client,
        pytest.raises(AuthenticationError, match="AppName does not match"),
    ):
        client.get(f"{base}/api/ping")


def test_token_ttl_switch(govlink_mock: MockHandle, http: httpx.Client) -> None:
    assert govlink_mock.switch("gateway", token_ttl=60) == {"token_ttl": 60}
    reply = _token(
        http, govlink_mock, data={"grant_type": "client_credentials"}, auth=(KEY, SECRET)
    )
    assert reply.json()["expires_in"] == 60
    with pytest.raises(ValueError, match="token_ttl"):
        govlink_mock.switch("gateway", token_ttl=-5)
    govlink_mock.switch("gateway", reject_all=True)
    refused = _token(
        http, govlink_mock, data={"grant_type": "client_credentials"}, auth=(KEY, SECRET)
    )
    assert refused.status_code == 401


def test_token_is_valid_in_process() -> None:
    ctx = MockContext(clock=VirtualClock(), store=MemoryStore(), seed=SeedData(load_default_seed()))
    platform = create_platform(ctx)
    transport = SyncASGITransport(platform.app)
    with httpx.Client(transport=transport, base_url="http://gw") as client:
        token = client.post(
            "/token", data={"grant_type": "client_credentials"}, auth=(KEY, SECRET)
        ).json()["access_token"]
    transport.close()
    assert token_is_valid(ctx, token)
    assert token_is_valid(ctx, f"Bearer {token}")
    assert bearer_client(ctx, f"Bearer {token}") == KEY
    assert not token_is_valid(ctx, "made-up")
    assert not token_is_valid(ctx, None)
    ctx.clock.advance(3600)
    assert not token_is_valid(ctx, token)
    platform.reset()
    assert platform.summary()["tokens_issued"] == 0
