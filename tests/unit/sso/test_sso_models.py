"""Userinfo claims (Vietnamese names) to typed identities; masking in repr."""

from __future__ import annotations

import json

import pytest

from govlink.core.redact import unmasked
from govlink.sso import (
    CitizenIdentity,
    LoginResult,
    OrganisationIdentity,
    TokenSet,
    identity_from_claims,
)

CITIZEN = {
    "sub": "001085000001",
    "LoaiTaiKhoan": 1,
    "TechID": "5f0c1a2e-0000-4000-8000-000000000001",
    "SoDinhDanh": "001085000001",
    "SoCMND": "012345678",
    "MaSoThue": "8000000001",
    "HoVaTen": "NGUYỄN VĂN AN",
    "ThuDienTu": "nguyen.van.an@example.com",
    "SoDienThoai": "0912000001",
    "GioiTinh": "Nam",
    "NgayThangNamSinh": "12/03/1985",
    "ThuongTru": {"MaTinhThanh": "01", "MaQuanHuyen": "001", "ChiTiet": "Số 1 ngõ Mẫu"},
    "QueQuan": "Xã Thử Nghiệm, Thái Bình",
    "QuocTich": "Việt Nam",
    "Cha": {"HoVaTen": "NGUYỄN VĂN BẢY", "SoDinhDanh": "034055000011"},
    "ChuHo": {"HoVaTen": "NGUYỄN VĂN AN", "QuanHe": "Chủ hộ"},
    "loAs": {"claim": "SoDinhDanh", "level": "LoA2", "src": "CSDLQGDC", "validDate": "2024"},
    "IAL": "2",
    "BrandNewClaim": {"x": 1},
}

ORGANISATION = {
    "sub": "0100000001",
    "LoaiTaiKhoan": "2",
    "MaSoDoanhNghiep": "0100000001",
    "TenDoanhNghiep": "CÔNG TY TNHH PHẦN MỀM MẪU GOVLINK",
    "DiaChi": "Số 1 phố Thử Nghiệm, Hà Nội",
    "SoDinhDanh": "048090000005",
    "HoVaTen": "LÊ VĂN NĂM",
}


def test_citizen_claims_map_to_english_attributes():
    identity = identity_from_claims(CITIZEN)
    assert isinstance(identity, CitizenIdentity)
    assert identity.is_citizen
    assert identity.subject == "001085000001"
    assert identity.account_type == "1"
    assert identity.id_number == "001085000001"
    assert identity.old_id_number == "012345678"
    assert identity.full_name == "NGUYỄN VĂN AN"
    assert identity.email == "nguyen.van.an@example.com"
    assert identity.permanent_address is not None
    assert identity.permanent_address.province_code == "01"
    assert identity.permanent_address.detail == "Số 1 ngõ Mẫu"
    assert identity.home_town is not None
    assert identity.home_town.detail == "Xã Thử Nghiệm, Thái Bình"
    assert identity.father is not None
    assert identity.father.id_number == "034055000011"
    assert identity.household_head is not None
    assert identity.household_head.relationship == "Chủ hộ"
    assert identity.ial == "2"


def test_unknown_claims_are_kept():
    identity = identity_from_claims(CITIZEN)
    assert identity.extra == {"BrandNewClaim": {"x": 1}}
    assert identity.claims()["BrandNewClaim"] == {"x": 1}
    assert identity.claims()["SoDinhDanh"] == "001085000001"


def test_organisation_claims():
    identity = identity_from_claims(ORGANISATION)
    assert isinstance(identity, OrganisationIdentity)
    assert not identity.is_citizen
    assert identity.enterprise_code == "0100000001"
    assert identity.name == "CÔNG TY TNHH PHẦN MỀM MẪU GOVLINK"
    assert identity.representative_id_number == "048090000005"
    assert identity.representative_name == "LÊ VĂN NĂM"


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"LoaiTaiKhoan": 1}, CitizenIdentity),
        ({"LoaiTaiKhoan": "1"}, CitizenIdentity),
        ({"LoaiTaiKhoan": 2}, OrganisationIdentity),
        ({"LoaiTaiKhoan": 3}, OrganisationIdentity),  # open: anything but 1 is an organisation
        ({}, CitizenIdentity),
        ({"MaSoDoanhNghiep": "0100000001"}, OrganisationIdentity),
    ],
)
def test_account_type_picks_the_model(claims, expected):
    assert type(identity_from_claims({"sub": "s", **claims})) is expected


@pytest.mark.parametrize(
    "loas",
    [
        {"claim": "SoDinhDanh", "level": "LoA2", "src": "VNeID", "expired_date": "2030"},
        json.dumps({"claim": "SoDinhDanh", "level": "LoA2", "src": "VNeID"}),
        [{"claim": "SoDinhDanh", "level": "LoA2", "src": "VNeID"}],
        json.dumps([{"claim": "SoDinhDanh", "level": "LoA2", "src": "VNeID"}]),
        {"SoDinhDanh": {"level": "LoA2", "src": "VNeID"}},
    ],
)
def test_loas_is_parsed_from_object_list_or_json_text(loas):
    identity = identity_from_claims({"sub": "s", "LoaiTaiKhoan": 1, "loAs": loas})
    assert len(identity.loas) == 1
    entry = identity.loas[0]
    assert (entry.claim, entry.level, entry.source) == ("SoDinhDanh", "LoA2", "VNeID")
    assert identity.level_of_assurance == "LoA2"


def test_unreadable_loas_does_not_break_the_login():
    identity = identity_from_claims({"sub": "s", "LoaiTaiKhoan": 1, "loAs": "{not json"})
    assert identity.loas == []
    assert identity.extra["loAs"] == "{not json"


def test_highest_level_wins():
    loas = [{"claim": "a", "level": "LoA1"}, {"claim": "b", "level": "LoA2"}]
    assert identity_from_claims({"sub": "s", "loAs": loas}).level_of_assurance == "LoA2"


@pytest.mark.parametrize(
    ("text", "year", "iso"),
    [
        ("12/03/1985", 1985, "1985-03-12"),
        ("1985-03-12", 1985, "1985-03-12"),
        ("19850312", 1985, "1985-03-12"),
        ("1985", 1985, None),
        ("31/02/1985", None, None),
    ],
)
def test_birth_date_forms(text, year, iso):
    identity = identity_from_claims({"sub": "s", "NgayThangNamSinh": text})
    assert isinstance(identity, CitizenIdentity)
    assert identity.birth_year == year
    value = identity.birth_date_value
    assert (value.isoformat() if value else None) == iso
    if year is None:  # unreadable: kept as sent, never dropped
        assert identity.birth_date is None
        assert identity.extra["NgayThangNamSinh"] == text
    else:  # the form a population-database lookup takes: a date, or the year alone
        assert identity.birth_date == (value if value else year)


def test_numbers_are_accepted_where_text_is_expected():
    identity = identity_from_claims({"sub": "s", "SoDienThoai": 912000001, "LoaiTaiKhoan": 1})
    assert identity.phone == "912000001"


def test_personal_data_is_masked_in_repr_and_str():
    identity = identity_from_claims(CITIZEN)
    for text in (repr(identity), str(identity)):
        assert "001085000001" not in text
        assert "NGUYỄN VĂN AN" not in text
        assert "nguyen.van.an@" not in text
        assert "0912000001" not in text
        assert "12/03/1985" not in text
        assert "Số 1 ngõ Mẫu" not in text
        assert "034055000011" not in text
        assert "***001" in text  # enough to tell two records apart
    org = repr(identity_from_claims(ORGANISATION))
    assert "048090000005" not in org
    assert "LÊ VĂN NĂM" not in org
    assert "CÔNG TY TNHH" in org  # a company name is not personal data


def test_unmasked_shows_personal_data():
    with unmasked():
        assert "NGUYỄN VĂN AN" in repr(identity_from_claims(CITIZEN))


def test_login_result_repr_hides_tokens_and_personal_data():
    result = LoginResult(
        tokens=TokenSet(access_token="AT-SECRET", id_token="ID.TOKEN.X", refresh_token="RT-S"),
        id_claims={"sub": "001085000001", "aud": "portal"},
        identity=identity_from_claims(CITIZEN),
        userinfo=CITIZEN,
    )
    text = repr(result)
    for secret in ("AT-SECRET", "ID.TOKEN.X", "RT-S", "001085000001", "NGUYỄN VĂN AN"):
        assert secret not in text
    assert result.tokens.access_token == "AT-SECRET"


def test_identity_round_trips_through_json():
    identity = identity_from_claims(CITIZEN)
    again = CitizenIdentity.model_validate_json(identity.model_dump_json(by_alias=True))
    assert again == identity
