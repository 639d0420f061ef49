"""``govlink doctor`` over real loopback sockets: a live server and a closed port."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def local_profile(
    make_profile: Callable[[str], Path], local_server: Any, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("DOCTOR_TEST_SECRET", local_server.client_secret)
    base = local_server.base_url
    return make_profile(
        f"""
[profiles.local.sso]
base_url = "{base}/sso"

[profiles.local.gateway]
base_url = "{base}/gateway"
[profiles.local.gateway.auth]
style = "client_credentials_basic"
client_id = "{local_server.client_id}"
client_secret = "env:DOCTOR_TEST_SECRET"
"""
    )


def test_doctor_against_a_live_server(
    cli: Callable[..., Any], local_profile: Path, local_server: Any
) -> None:
    result = cli("doctor", "--profile", "local", "--profile-file", str(local_profile))
    assert result.code == 0, result.out + result.err
    assert "govlink doctor — profile 'local'" in result.out
    assert "HTTP 404 from GET" in result.out
    assert "token obtained" in result.out
    assert "0 fail" in result.out
    assert local_server.client_secret not in result.out
    assert len(local_server.token_requests) == 1
    assert "grant_type=client_credentials" in local_server.token_requests[0]["body"]


def test_doctor_json_against_a_live_server(cli: Callable[..., Any], local_profile: Path) -> None:
    result = cli("doctor", "--json", "--profile", "local", "--profile-file", str(local_profile))
    assert result.code == 0, result.err
    data = result.json()
    assert isinstance(data, dict)
    assert data["ok"] is True
    statuses = {(c["target"], c["check"]): c["status"] for c in data["checks"]}
    assert statuses[("sso", "reachable")] == "ok"
    assert statuses[("sso", "clock")] == "ok"  # same machine, same clock
    assert statuses[("gateway", "token")] == "ok"
    assert statuses[("dossiers", "reachable")] == "skip"  # not in this profile


def test_doctor_wrong_gateway_secret_fails(
    cli: Callable[..., Any], local_profile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCTOR_TEST_SECRET", "wrong-secret-123")
    result = cli("doctor", "--json", "--profile", "local", "--profile-file", str(local_profile))
    assert result.code == 1
    data = result.json()
    assert isinstance(data, dict)
    token = next(c for c in data["checks"] if c["check"] == "token")
    assert token["status"] == "fail"
    assert "HTTP 401" in token["reason"]
    assert "wrong-secret-123" not in result.out


def test_doctor_closed_port_fails(
    cli: Callable[..., Any], closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVLINK_SSO__BASE_URL", f"http://127.0.0.1:{closed_port}/sso")
    result = cli("doctor", "--platform", "sso", "--timeout", "3")
    assert result.code == 1
    assert "FAIL" in result.out
    assert f"127.0.0.1:{closed_port}" in result.out
    assert "1 check(s) failed" in result.out
    assert "Traceback" not in result.err

    as_json = cli("doctor", "--platform", "sso", "--json")
    assert as_json.code == 1
    data = as_json.json()
    assert isinstance(data, dict)
    assert data["ok"] is False
    assert data["counts"]["fail"] == 1
