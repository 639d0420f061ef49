"""Testing an integration with govlink's fixtures (copy this file to start)."""

from __future__ import annotations

from motcua_app import gateway_ping

from govlink.client import GovLink
from govlink.testing import InProcessMock, MockHandle


def test_gateway_ping_gets_one_token(govlink_mock: MockHandle) -> None:
    result = gateway_ping(govlink_mock.settings())

    assert result["ok"] is True
    assert govlink_mock.count(platform="gateway", path="/gateway/token") == 1


def test_gateway_ping_survives_a_503(govlink_mock: MockHandle) -> None:
    govlink_mock.set_fault(platform="gateway", path="/api/ping", status=503, count=1)
    fast = govlink_mock.settings(http={"backoff_initial": 0.01, "backoff_max": 0.05})

    assert gateway_ping(fast)["ok"] is True
    statuses = [e["status"] for e in govlink_mock.journal(path="/gateway/api/ping")]
    assert statuses == [503, 200]  # failed once, retried, recovered


def test_expired_tokens_are_renewed(govlink_mock: MockHandle) -> None:
    gateway_ping(govlink_mock.settings())
    govlink_mock.advance_clock(2 * 3600)  # the gateway's tokens last one hour

    gateway_ping(govlink_mock.settings())
    assert govlink_mock.state()["gateway"]["tokens_issued"] == 2


def test_the_facade_points_at_the_mock(govlink_client: GovLink, govlink_mock: MockHandle) -> None:
    assert govlink_client.settings.sso.base_url == govlink_mock.url("sso")


def test_without_sockets(govlink_mock_app: InProcessMock) -> None:
    result = gateway_ping(govlink_mock_app.settings(), transport=govlink_mock_app.sync_transport)

    assert result["client_id"] == "govlink-demo"
    assert govlink_mock_app.count(platform="gateway") == 2
