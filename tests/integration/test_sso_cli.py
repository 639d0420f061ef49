"""``govlink sso discover`` and ``govlink sso login-url`` against the mock."""

from __future__ import annotations

import json

from sso_support import CITIZEN_ID, REDIRECT_URI, authorize, query
from typer.testing import CliRunner

from govlink.cli.sso import app


def _env(govlink_mock) -> dict[str, str]:
    return {"GOVLINK_SSO__BASE_URL": govlink_mock.base_url + "/sso", "COLUMNS": "200"}


def test_discover_lists_endpoints_and_keys(govlink_mock):
    result = CliRunner().invoke(app, ["discover", "--json"], env=_env(govlink_mock))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["issuer"] == govlink_mock.base_url + "/sso"
    assert data["source"].startswith("discovery")
    assert data["signing_keys"][0]["kty"] == "RSA"
    table = CliRunner().invoke(app, ["discover"], env=_env(govlink_mock))
    assert table.exit_code == 0
    assert "end_session_endpoint" in table.stdout


def test_login_url_works_in_a_browser(govlink_mock):
    args = ["login-url", REDIRECT_URI, "--acr", "LoA2", "--login-hint", CITIZEN_ID, "--json"]
    result = CliRunner().invoke(app, args, env=_env(govlink_mock))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert query(data["url"])["acr_values"] == "LoA2"
    response = authorize(data["url"])
    assert query(response.headers["location"])["state"] == data["state"]["state"]
