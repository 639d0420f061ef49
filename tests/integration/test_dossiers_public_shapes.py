"""The DVCQG mock accepts the public clients' requests and answers in their shapes.

Same fixtures as the client's unit test (tests/fixtures/dvcqg/exchanges.json), so a
name govlink invented would fail on one side or the other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from govlink.testing._handle import MockHandle

EXCHANGES: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "dvcqg" / "exchanges.json").read_text("utf-8")
)
ORDER = [
    "create",
    "progress",
    "lookup",
    "procedure",
    "procedures",
    "agencies",
    "fields",
    "tech_id",
    "satisfaction",
    "questions",
    "answers",
    "question_push",
    "answer_push",
    "public_services",
    "promotion_status",
]


@pytest.fixture
def http(govlink_mock: MockHandle) -> httpx.Client:
    with httpx.Client(
        base_url=f"{govlink_mock.base_url}/dvcqg", headers={"dstcode": "000.00.00.H47"}
    ) as client:
        yield client


def test_every_public_request_is_accepted_and_answered_in_the_public_shape(
    http: httpx.Client,
) -> None:
    login = http.post("/auth", json=EXCHANGES["login"]["request"]).json()
    assert set(EXCHANGES["login"]["reply_keys"]) <= login.keys()
    assert login["error_code"] in (0, "0", "00")
    for name in ORDER:
        exchange = EXCHANGES[name]
        body = {**exchange["request"], "session": login["session"]}
        reply = http.post(f"/{exchange['endpoint']}", json=body).json()
        assert str(reply["error_code"]) in ("0", "00"), (name, reply)
        assert set(exchange["reply_keys"]) <= reply.keys(), name
        if "item_keys" in exchange:
            assert set(exchange["item_keys"]) <= reply["result"][0].keys(), name
        if "data_keys" in exchange:  # LayDVC: result is an object holding data[…]
            assert set(exchange["data_keys"]) <= reply["result"]["data"][0].keys(), name
    # a create of a dossier the portal has: "already exists" as [TD] reads it
    again = {**EXCHANGES["create"]["request"], "session": login["session"]}
    item = http.post("/integration", json=again).json()["result"][0]
    assert item["error_code"] in ("3", "-3")
    assert "đã tồn tại" in item["message"]
