"""Citizen records: wire aliases, open codes, and masking unless asked otherwise."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from govlink.citizens import BirthDate, Citizen, Gender, VerificationResult
from govlink.core.redact import unmasked

WIRE = {
    "HoVaTen": {"Ho": "NGUYỄN", "ChuDem": "VĂN", "Ten": "AN"},
    "NgayThangNamSinh": {"Nam": "1985", "NgayThangNam": "19850312"},
    "SoDinhDanh": "001085000001",
    "SoCMND": "079062003",
    "GioiTinh": "Nam",
    "DanToc": "Kinh",
    "QuocTich": "Việt Nam",
    "ThuongTru": {"MaTinhThanh": "01", "MaQuanHuyen": "001", "ChiTiet": "Số 1 ngõ Mẫu"},
    "Cha": {"HoVaTen": "NGUYỄN VĂN BẢY", "SoDinhDanh": "034055000011"},
    "ChuHo": {"QuanHe": "Chủ hộ", "HoVaTen": "NGUYỄN VĂN AN"},
    "SoSoHoKhau": "010000001",
    "extra": {"TinhTrangHonNhan": "Đã kết hôn"},
}

SECRETS = (
    "001085000001",
    "079062003",
    "NGUYỄN",
    "1985",
    "Số 1 ngõ Mẫu",
    "034055000011",
    "010000001",
    "Đã kết hôn",
)


@pytest.fixture
def citizen() -> Citizen:
    return Citizen.model_validate(WIRE)


def test_wire_names_map_to_typed_attributes(citizen: Citizen) -> None:
    assert citizen.full_name == "NGUYỄN VĂN AN"
    assert citizen.name.given_name == "AN"
    assert citizen.birth_date == BirthDate(year=1985, date=dt.date(1985, 3, 12))
    assert citizen.id_number == "001085000001"
    assert citizen.old_id_number == "079062003"
    assert citizen.gender is Gender.MALE
    assert citizen.permanent_address is not None
    assert citizen.permanent_address.province_code == "01"
    assert citizen.father is not None
    assert citizen.father.id_number == "034055000011"
    assert citizen.household_head is not None
    assert citizen.household_head.relationship == "Chủ hộ"
    assert citizen.household_book_number == "010000001"
    assert citizen.extra == {"TinhTrangHonNhan": "Đã kết hôn"}


def test_year_only_birth_date() -> None:
    born = BirthDate.model_validate({"Nam": "1962"})
    assert born.is_year_only
    assert born.isoformat() == "1962"
    assert born.to_wire() == {"Nam": "1962"}
    assert BirthDate(year=1985, date=dt.date(1985, 3, 12)).to_wire() == {"NgayThangNam": "19850312"}


def test_gender_is_an_open_code() -> None:
    other = Gender("Không xác định")
    assert other.value == "Không xác định"
    assert str(other) == "Không xác định"
    assert Citizen.model_validate({"GioiTinh": "3"}).gender == "3"


@pytest.mark.parametrize("render", [repr, str])
def test_repr_and_str_mask_personal_data(citizen: Citizen, render: object) -> None:
    text = render(citizen)  # type: ignore[operator]
    for secret in SECRETS:
        assert secret not in text, secret
    assert "*********001" in text  # enough left to tell two records apart


def test_unmasked_block_shows_the_data(citizen: Citizen) -> None:
    with unmasked():
        text = repr(citizen)
        shown = str(citizen)
    assert "001085000001" in text
    assert "NGUYỄN" in text
    assert shown == "NGUYỄN VĂN AN (001085000001, born 1985-03-12)"


def test_masked_dump_is_json_ready_and_masked(citizen: Citizen) -> None:
    data = citizen.masked_dump()
    flat = repr(data)
    for secret in SECRETS:
        assert secret not in flat, secret
    assert data["gender"] == "Nam"
    assert data["permanent_address"]["province_code"] == "01"
    with unmasked():
        shown = citizen.masked_dump()
    assert shown["birth_date"] == "1985-03-12"
    assert shown["name"]["full_name"] == "NGUYỄN VĂN AN"
    assert shown["extra"] == {"TinhTrangHonNhan": "Đã kết hôn"}


def test_a_logged_citizen_leaks_nothing(citizen: Citizen, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="govlink.test"):
        logging.getLogger("govlink.test").info("found %s / %r", citizen, citizen)
    for secret in SECRETS:
        assert secret not in caplog.text


def test_verification_result_from_wire_names() -> None:
    result = VerificationResult.model_validate(
        {"KetQua": False, "DanhSachTruongKhongKhop": ["HoVaTen"], "MaYeuCau": "r1"}
    )
    assert result.matches is False
    assert result.mismatched_fields == ("HoVaTen",)
    assert result.request_id == "r1"
