"""govlink.citizens against the population-database mock (``govlink_mock``), sync and async.

Each side was written independently (zeep from the WSDL vs lxml in the mock), so a
passing test means both agree with the WSDL, not merely with each other's code.
"""

from __future__ import annotations

import asyncio

import pytest

from govlink.citizens import AsyncCitizenClient, CitizenClient, Gender
from govlink.core.errors import AuthenticationError, NotFoundError, PlatformError
from govlink.core.soap import SoapFaultError
from govlink.testing import MockHandle

AN = ("001085000001", "Nguyễn Văn An", "1985-03-12")


def test_lookup_returns_the_seeded_citizen(govlink_mock: MockHandle) -> None:
    with CitizenClient(govlink_mock.settings()) as client:
        citizen = client.lookup(*AN)
    assert citizen.full_name == "NGUYỄN VĂN AN"
    assert citizen.gender is Gender.MALE
    assert citizen.birth_date is not None
    assert citizen.birth_date.isoformat() == "1985-03-12"
    assert citizen.spouse is not None
    assert citizen.spouse.id_number == "001188000002"
    assert citizen.household_head is not None
    assert citizen.household_head.relationship == "Chủ hộ"
    assert citizen.permanent_address is not None
    assert citizen.permanent_address.ward_code == "00001"
    entries = govlink_mock.journal(platform="citizens", method="POST")
    assert len(entries) == 1
    assert entries[0]["status"] == 200


def test_year_only_citizen_found_by_old_card_number(govlink_mock: MockHandle) -> None:
    with CitizenClient(govlink_mock.settings()) as client:
        citizen = client.lookup(
            old_id_number="020000003", full_name="lê hoàng cường", birth_date=1962
        )
    assert citizen.id_number == "079062000003"
    assert citizen.birth_date is not None
    assert citizen.birth_date.is_year_only


def test_unknown_and_mismatching_people_are_not_found(govlink_mock: MockHandle) -> None:
    with CitizenClient(govlink_mock.settings()) as client:
        with pytest.raises(NotFoundError) as unknown:
            client.lookup("001099000099", "Nguyễn Văn An", "1985-03-12")
        with pytest.raises(NotFoundError):
            client.lookup("001085000001", "Nguyễn Văn Anh", "1985-03-12")
    assert unknown.value.code == "KHONG_TIM_THAY"


def test_verify_reports_what_differs(govlink_mock: MockHandle) -> None:
    with CitizenClient(govlink_mock.settings()) as client:
        same = client.verify(*AN, gender="Nam")
        other = client.verify("001085000001", "Nguyễn Văn An", 1984, gender="Nữ")
    assert same.matches is True
    assert other.matches is False
    assert other.mismatched_fields == ("NgayThangNamSinh", "GioiTinh")


def test_wrong_secret_is_an_authentication_error(govlink_mock: MockHandle) -> None:
    settings = govlink_mock.settings(citizens={"auth": {"client_secret": "not-the-secret"}})
    with CitizenClient(settings) as client, pytest.raises(AuthenticationError) as caught:
        client.lookup(*AN)
    assert "XAC_THUC_THAT_BAI" in str(caught.value)


def test_client_clock_off_by_ten_minutes_is_refused(govlink_mock: MockHandle) -> None:
    govlink_mock.advance_clock(600)
    with CitizenClient(govlink_mock.settings()) as client, pytest.raises(AuthenticationError):
        client.lookup(*AN)


def test_x_road_profile(govlink_mock: MockHandle) -> None:
    settings = govlink_mock.settings(
        citizens={
            "auth": {
                "style": "x_road",
                "extra": {"x_road_client": "VN/GOV/000.00.00.H47/govlink-demo"},
            }
        }
    )
    with CitizenClient(settings) as client:
        assert client.lookup(*AN).id_number == "001085000001"


def test_gateway_bearer_profile(govlink_mock: MockHandle) -> None:
    settings = govlink_mock.settings(
        citizens={
            "auth": {
                "style": "client_credentials_basic",
                "client_id": "govlink-demo",
                "client_secret": "demo-gateway-secret",
            }
        }
    )
    with CitizenClient(settings) as client:
        assert client.lookup(*AN).id_number == "001085000001"
        assert client.lookup(*AN).id_number == "001085000001"
    assert govlink_mock.count(platform="gateway", path="/gateway/token") == 1


def test_service_fault_keeps_code_and_text(govlink_mock: MockHandle) -> None:
    govlink_mock.switch("citizens", force_fault="LOI_HE_THONG")
    with CitizenClient(govlink_mock.settings()) as client, pytest.raises(PlatformError) as caught:
        client.lookup(*AN)
    error = caught.value
    assert isinstance(error, SoapFaultError)
    assert error.code == "LOI_HE_THONG"
    assert error.fault.code == "soap:Server"
    assert error.fault.message == "Lỗi hệ thống, vui lòng thử lại sau"
    assert govlink_mock.count(platform="citizens", method="POST") == 1  # not retried


def test_a_503_from_the_gateway_is_retried(govlink_mock: MockHandle) -> None:
    govlink_mock.set_fault(platform="citizens", method="POST", status=503, count=1)
    settings = govlink_mock.settings(http={"backoff_initial": 0.01, "backoff_max": 0.01})
    with CitizenClient(settings) as client:
        assert client.lookup(*AN).id_number == "001085000001"
    statuses = [e["status"] for e in govlink_mock.journal(platform="citizens", method="POST")]
    assert statuses == [503, 200]


async def test_async_lookups_in_parallel_each_with_its_own_request_id(
    govlink_mock: MockHandle,
) -> None:
    async with AsyncCitizenClient(govlink_mock.settings()) as client:
        citizens = await asyncio.gather(*(client.lookup(*AN) for _ in range(20)))
        with pytest.raises(NotFoundError):
            await client.lookup("001099000099", "A", "1985")
        verdict = await client.verify(*AN)
    assert {c.id_number for c in citizens} == {"001085000001"}
    assert len({c.request_id for c in citizens}) == 20
    assert verdict.matches is True


async def test_async_refused_credentials(govlink_mock: MockHandle) -> None:
    settings = govlink_mock.settings(citizens={"auth": {"username": "someone-else"}})
    async with AsyncCitizenClient(settings) as client:
        with pytest.raises(AuthenticationError):
            await client.lookup(*AN)
