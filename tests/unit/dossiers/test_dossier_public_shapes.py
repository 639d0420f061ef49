"""The client against the public message shapes (tests/fixtures/dvcqg/exchanges.json).

Each exchange is what a public production client sends and reads (PLATFORMS.md §2).
The govlink client must send a body with the same keys to the same endpoint, with
the ``dstcode`` header, and must read the public reply.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from _dvcqg_fake import portal_settings

from govlink.core.config import GovLinkSettings
from govlink.dossiers import Dossier, DossierClient, ProgressRecord

EXCHANGES: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "dvcqg" / "exchanges.json").read_text("utf-8")
)
BASE = "http://portal.test/adapter"
DSTCODE = "000.00.00.H47"


def _settings(**options: Any) -> GovLinkSettings:
    return portal_settings(BASE, None, idempotency_field="", **options)


def _keys(value: Any) -> Any:
    """The shape of a JSON value: its keys, recursively (values ignored)."""
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(v) for v in value[:1]]
    return None


@pytest.fixture
def portal() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/auth").mock(
            return_value=httpx.Response(200, json=EXCHANGES["login"]["reply"])
        )
        yield router


def _answer(portal: respx.MockRouter, *names: str) -> respx.Route:
    """One route per endpoint answering each named exchange by its service."""
    endpoint = EXCHANGES[names[0]]["endpoint"]
    replies = {EXCHANGES[n]["request"]["service"]: EXCHANGES[n]["reply"] for n in names}

    def reply(request: httpx.Request) -> httpx.Response:
        wanted = json.loads(request.content)["service"]
        return httpx.Response(200, json=replies[wanted])

    return portal.post(f"/{endpoint}").mock(side_effect=reply)


def _sent(route: respx.Route) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls.last.request.content)
    return body


def _dossier() -> Dossier:
    item = EXCHANGES["create"]["request"]["data"][0]
    return Dossier.model_validate(item)


CALLS: dict[str, Callable[[DossierClient], Any]] = {
    "lookup": lambda c: c.get("H47.01-260302-0009"),
    "procedure": lambda c: c.procedure("1.001193"),
    "procedures": lambda c: c.procedures(),
    "agencies": lambda c: c.agencies(),
    "fields": lambda c: c.fields(),
    "tech_id": lambda c: c.tech_id("0100000001"),
    "create": lambda c: c.sync_dossiers([_dossier()], is_updating=False),
    "progress": lambda c: c.push_progress(
        [ProgressRecord.model_validate(EXCHANGES["progress"]["request"]["data"][0])]
    ),
    "satisfaction": lambda c: c.push_satisfaction(_data("satisfaction")),
    "questions": lambda c: c.questions(),
    "answers": lambda c: c.answers("910002"),
    "question_push": lambda c: c.push_questions(_data("question_push")),
    "answer_push": lambda c: c.push_answers(_data("answer_push")),
    "public_services": lambda c: c.public_services(),
    "promotion_status": lambda c: c.push_promotion_status(
        EXCHANGES["promotion_status"]["request"]["data"]
    ),
}


def _data(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = EXCHANGES[name]["request"]["data"]
    return data


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_client_sends_the_public_shape_and_reads_the_public_reply(
    portal: respx.MockRouter, name: str
) -> None:
    route = _answer(portal, name)
    with DossierClient(_settings()) as client:
        result = CALLS[name](client)
    assert result is not None
    login = portal.routes[0].calls.last.request
    assert json.loads(login.content).keys() == EXCHANGES["login"]["request"].keys()
    assert login.headers["dstcode"] == DSTCODE
    request = route.calls.last.request
    assert request.headers["dstcode"] == DSTCODE  # on every call, not only the login [OC]
    assert _keys(_sent(route)) == _keys(EXCHANGES[name]["request"])
    assert _sent(route)["service"] == EXCHANGES[name]["request"]["service"]


def test_public_replies_read_into_the_english_models(portal: respx.MockRouter) -> None:
    _answer(portal, "lookup", "procedure")
    _answer(portal, "agencies", "fields", "tech_id")
    with DossierClient(_settings()) as client:
        dossier = client.get("H47.01-260302-0009")
        procedure = client.procedure("1.001193")
        agency = client.agencies()[0]
        field = client.fields()[0]
        tech_id = client.tech_id("0100000001")
    assert dossier.evidence is not None  # the lookup's exchange, masked
    assert dossier.evidence.correlation_id
    assert (dossier.ma_ho_so, dossier.email, dossier.returned_at) == (
        "H47.01-260302-0009",
        None,  # "" on the wire is "not set"
        None,
    )
    assert (procedure.name, procedure.field_code, procedure.fee) == (
        "Đăng ký khai sinh",
        "G09-TP03",
        8000,
    )
    assert procedure.agencies is not None
    assert procedure.agencies[0].code == "002.00.00.H47"
    assert procedure.model_extra is not None
    assert (agency.code, agency.name, agency.level) == ("000.00.00.H47", "UBND tỉnh Mẫu", 1)
    assert (field.code, field.sector_code) == ("G09-TP03", "000.00.00.H47")
    assert tech_id == "7a3e9b10-0000-4000-9000-000000000001"


def test_feedback_replies_read_into_the_english_models(portal: respx.MockRouter) -> None:
    _answer(portal, "questions", "answers", "public_services", "satisfaction")
    with DossierClient(_settings()) as client:
        question = client.questions()[0]
        answer = client.answers("910002")[0]
        service = client.public_services()[0]
        pushed = client.push_satisfaction(_data("satisfaction"))
    assert (question.question_id, question.answered, question.status) == ("910001", False, 1)
    assert "binh@example.com" not in repr(question)  # personal data masked
    assert (answer.answer_id, answer.content) == ("920001", "Theo quy định của HĐND tỉnh.")
    assert (service.code, service.procedure_code) == ("DVC.1.001193", "1.001193")
    assert (pushed.service, pushed.sent, pushed.code) == ("DongBoDanhGia", 1, "0")
    assert pushed.evidence is not None
