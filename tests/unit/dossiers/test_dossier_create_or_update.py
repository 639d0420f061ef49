"""Create or update, decided safely (PLATFORMS.md §2: [TD] re-sends a create answered
"already exists" as an update; [OC] decides from a prior TraCuuHoSo)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from _dvcqg_fake import dossier, portal_settings

from govlink.core.config import GovLinkSettings
from govlink.dossiers import AsyncDossierClient, BatchRejectedError, DossierClient

BASE = "http://portal.test/adapter"
LOGIN = {"session": "S1", "error_code": 0}


def settings(paths: dict[str, str] | None = None, **options: Any) -> GovLinkSettings:
    return portal_settings(BASE, paths, **options)


class Portal:
    """Knows some dossiers; answers per item like the mock (3 exists, 15 unknown)."""

    def __init__(self, known: set[str]) -> None:
        self.known = set(known)
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        if body["service"] == "TraCuuHoSo":
            if body["mahoso"] in self.known:
                return httpx.Response(
                    200,
                    json={
                        "error_code": "0",
                        "result": [
                            {
                                "MaHoSo": body["mahoso"],
                                "MaTTHC": "1.001193",
                                "TrangThaiHoSo": "2",
                                "NgayTiepNhan": "20260302080000",
                            }
                        ],
                    },
                )
            return httpx.Response(200, json={"error_code": "15", "message": "không tìm thấy"})
        updating = body["isUpdating"] == "True"
        results = []
        for item in body["data"]:
            ma = item["MaHoSo"]
            if (ma in self.known) is updating:
                self.known.add(ma)
                results.append({"MaHoSo": ma, "error_code": "0"})
            elif updating:
                results.append({"MaHoSo": ma, "error_code": "15", "message": "không tìm thấy"})
            else:
                results.append({"MaHoSo": ma, "error_code": "3", "message": f"{ma} đã tồn tại"})
        top = "0" if all(r["error_code"] == "0" for r in results) else "10"
        return httpx.Response(200, json={"error_code": top, "result": results})


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mocked:
        mocked.post("/auth").mock(return_value=httpx.Response(200, json=LOGIN))
        yield mocked


def flags(portal: Portal) -> list[tuple[str, list[str]]]:
    return [
        (b["isUpdating"], [i["MaHoSo"] for i in b["data"]])
        for b in portal.bodies
        if b["service"] == "DongBoHoSoMC"
    ]


def test_a_create_the_portal_already_has_is_sent_again_as_an_update(
    router: respx.MockRouter,
) -> None:
    portal = Portal(known={"HS-2"})
    router.post("/integration").mock(side_effect=portal)
    with DossierClient(settings()) as client:
        report = client.sync_dossiers([dossier(1), dossier(2), dossier(3)], is_updating=False)
    assert flags(portal) == [("False", ["HS-1", "HS-2", "HS-3"]), ("True", ["HS-2"])]
    assert report.accepted == ["HS-1", "HS-2", "HS-3"]
    assert [(i.ma_ho_so, i.resent_as) for i in report.resent] == [("HS-2", "update")]
    assert report.evidence  # every request's masked exchange is on the result


def test_an_update_of_an_unknown_dossier_is_sent_again_as_a_create(
    router: respx.MockRouter,
) -> None:
    portal = Portal(known={"HS-1"})
    router.post("/integration").mock(side_effect=portal)
    with DossierClient(settings()) as client:
        report = client.sync_dossiers([dossier(1, 4), dossier(9, 4)], is_updating=True)
    assert flags(portal) == [("True", ["HS-1", "HS-9"]), ("False", ["HS-9"])]
    assert report.accepted == ["HS-1", "HS-9"]
    assert report.resent[0].resent_as == "create"


def test_without_a_decision_the_sdk_looks_each_dossier_up_first(
    router: respx.MockRouter,
) -> None:
    portal = Portal(known={"HS-2"})
    router.post("/integration").mock(side_effect=portal)
    with DossierClient(settings()) as client:
        report = client.sync_dossiers([dossier(1), dossier(2)], is_updating=None)
    looked_up = [b["mahoso"] for b in portal.bodies if b["service"] == "TraCuuHoSo"]
    assert looked_up == ["HS-1", "HS-2"]
    assert flags(portal) == [("False", ["HS-1"]), ("True", ["HS-2"])]
    assert report.resent == []


def test_the_flip_can_be_switched_off_and_then_the_refusal_stands(
    router: respx.MockRouter,
) -> None:
    portal = Portal(known={"HS-1"})
    router.post("/integration").mock(side_effect=portal)
    with (
        DossierClient(settings(create_or_update=False)) as client,
        pytest.raises(BatchRejectedError) as caught,
    ):
        client.sync_dossiers([dossier(1)], is_updating=False)
    assert list(caught.value.items) == ["HS-1"]
    assert len(flags(portal)) == 1


def test_a_proxy_answering_minus_3_gets_the_update_url(router: respx.MockRouter) -> None:
    """[TD]: bare arrays to separate URLs; top-level "-3" + "đã tồn tại" → update URL."""
    sent: list[tuple[str, Any]] = []

    def proxy(answer: dict[str, Any]) -> Callable[[httpx.Request], httpx.Response]:
        def reply(request: httpx.Request) -> httpx.Response:
            sent.append((request.url.path, json.loads(request.content)))
            return httpx.Response(200, json=answer)

        return reply

    router.post("/them-moi").mock(
        side_effect=proxy({"error_code": "-3", "message": "Hồ sơ đã tồn tại"})
    )
    router.post("/cap-nhat").mock(
        side_effect=proxy({"error_code": "0", "message": "Cập nhật thành công"})
    )
    paths = {"create": "/them-moi", "update": "/cap-nhat", "progress": "/tien-do"}
    with DossierClient(settings(paths)) as client:
        report = client.sync_dossiers([dossier(1)], is_updating=False)
    assert [path for path, _ in sent] == ["/adapter/them-moi", "/adapter/cap-nhat"]
    body = sent[0][1]
    assert isinstance(body, list)  # a bare array, no session
    assert body[0]["MaHoSo"] == "HS-1"
    assert report.accepted == ["HS-1"]
    assert report.resent[0].resent_as == "update"
    assert not router.routes[0].called  # the proxy needs no login


def test_code_zero_with_already_exists_in_the_message_counts_as_exists(
    router: respx.MockRouter,
) -> None:
    answers = iter(
        [
            {"error_code": "0", "message": "Hồ sơ HS-1 đã tồn tại trên hệ thống"},
            {"error_code": "0", "message": "Cập nhật thành công"},
        ]
    )
    bodies: list[dict[str, Any]] = []

    def reply(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=next(answers))

    router.post("/integration").mock(side_effect=reply)
    with DossierClient(settings()) as client:
        report = client.sync_dossiers([dossier(1)], is_updating=False)
    assert [b["isUpdating"] for b in bodies] == ["False", "True"]
    assert report.resent[0].resent_as == "update"


async def test_the_async_client_decides_the_same_way(router: respx.MockRouter) -> None:
    portal = Portal(known={"HS-2"})
    router.post("/integration").mock(side_effect=portal)
    async with AsyncDossierClient(settings()) as client:
        report = await client.sync_dossiers([dossier(1), dossier(2)], is_updating=False)
    assert flags(portal) == [("False", ["HS-1", "HS-2"]), ("True", ["HS-2"])]
    assert report.accepted == ["HS-1", "HS-2"]
