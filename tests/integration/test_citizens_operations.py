"""Every population-database operation against the mock, sync and async, in each reply
shape the mock serves and through the provincial gateway's JSON variant."""

from __future__ import annotations

from typing import Any

import pytest

from govlink.citizens import AsyncCitizenClient, CitizenClient
from govlink.core.errors import NotFoundError
from govlink.testing import MockHandle

AN = ("001085000001", "Nguyễn Văn An", "1985-03-12")
PERSON_CALLS = ("lookup", "verify_identity", "household", "marital_status", "verify")


def _summary(name: str, result: Any) -> Any:
    """What a user would check of each result (request ids differ between calls)."""
    if name in ("lookup", "verify_identity"):
        return (result.id_number, result.full_name, result.marital_status, result.extra)
    if name == "household":
        return (result.household_book_number, [m.full_name for m in result.members])
    if name == "marital_status":
        return (result.status_code, result.status, result.spouse.full_name)
    return (result.matches, result.mismatched_fields)


async def test_every_operation_answers_the_same_sync_and_async(
    govlink_mock: MockHandle,
) -> None:
    settings = govlink_mock.settings()
    with CitizenClient(settings) as client:
        sync = {name: _summary(name, getattr(client, name)(*AN)) for name in PERSON_CALLS}
        earlier = client.lookup(*AN).request_id
        assert earlier is not None
        sync["request_status"] = client.request_status(earlier).status
    async with AsyncCitizenClient(settings) as aclient:
        asynchronous = {
            name: _summary(name, await getattr(aclient, name)(*AN)) for name in PERSON_CALLS
        }
        asynchronous["request_status"] = (await aclient.request_status(earlier)).status
    assert sync == asynchronous
    assert sync["household"] == ("010000001", ["NGUYỄN VĂN AN", "TRẦN THỊ BÌNH"])
    assert sync["marital_status"] == ("2", "Đã kết hôn", "TRẦN THỊ BÌNH")
    assert sync["request_status"] == "DA_XU_LY"
    # elements govlink does not name are kept, not dropped
    assert set(sync["lookup"][3]) == {"SoDienThoai", "MaBHXH", "SoHoChieu"}


@pytest.mark.parametrize("order", ["td", "reversed", "alphabetical"])
def test_national_shape_in_any_order_reads_the_same(govlink_mock: MockHandle, order: str) -> None:
    with CitizenClient(govlink_mock.settings()) as client:
        reference = client.lookup(*AN)
        govlink_mock.switch("citizens", reply_shape="td", record_order=order)
        shaped = client.lookup(*AN)
    assert shaped.model_dump(exclude={"extra"}) == reference.model_dump(exclude={"extra"})
    assert set(shaped.extra) == set(reference.extra)
    assert shaped.permanent_address is not None
    assert shaped.permanent_address.province_name == "Thành phố Hà Nội"
    assert shaped.father is not None
    assert shaped.father.nationality == "Việt Nam"


def test_provincial_gateway_variant(govlink_mock: MockHandle) -> None:
    settings = govlink_mock.settings(citizens={"options": {"transport": "gateway_json"}})
    with CitizenClient(settings) as client:
        citizen = client.lookup(*AN)
        household = client.household(*AN)
        with pytest.raises(NotFoundError):
            client.lookup("001099000099", "A", "1985")
    assert citizen.id_number == "001085000001"
    assert len(household.members) == 2
    paths = [e["platform_path"] for e in govlink_mock.journal(platform="citizens")]
    assert paths[:2] == ["/gateway/TraCuuThongTinCongDan", "/gateway/CungCapThongTinHoGiaDinh"]
