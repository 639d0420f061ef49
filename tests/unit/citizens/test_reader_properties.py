"""Property: whatever the element order, namespace, wrapper and unknown elements around
them, every known field of a citizen record is read, and every unknown element is kept.

Records are drawn over every element PLATFORMS.md §4 lists (the Thanh Hoá
integration's ``CSDLDanCuDto``), rendered as XML with the children of every element
shuffled and unknown elements interleaved at every level, with or without the
``…Response`` wrapper, in the national service's namespaces or none.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from govlink.citizens import Citizen, CitizenCollection
from govlink.citizens._operations import map_fault
from govlink.citizens._reader import read_model
from govlink.citizens._wire import SoapEnvelope
from govlink.citizens.models import BirthDate, PersonName

OPERATION = "TraCuuThongTinCongDan"
NAMESPACES = ("http://dancuquocgia.bca", "http://www.mic.gov.vn/dancu/1.0", None)

text = (
    st.text(alphabet="ABCDĐEÊGHIKLMNOÔƠPQRSTUƯVXYàáạảãăâđêôơưữỹ0123456789 .,-/", max_size=16)
    .map(str.strip)
    .filter(bool)
)

ADDRESS = ("QuocGia", "MaTinhThanh", "TenTinhThanh", "MaQuanHuyen", "TenQuanHuyen",
           "MaPhuongXa", "TenPhuongXa", "ChiTiet")  # fmt: skip
RELATIVE = ("QuocTich", "SoDinhDanh", "SoCMND")
LEAVES = ("SoDinhDanh", "SoCMND", "MaSoThue", "DanToc", "TonGiao", "TinhTrangHonNhan",
          "NhomMau", "QuocTich", "ThuDienTu", "SoSoHoKhau")  # fmt: skip
UNKNOWN = ("SoDienThoai", "MaBHXH", "SoHoChieu", "NgayCapCCCD", "GhiChuNoiBo")


def _subset(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={n: text for n in names})


name_parts = st.fixed_dictionaries({}, optional={"Ho": text, "ChuDem": text, "Ten": text})
birth = st.dates(dt.date(1900, 1, 1), dt.date(2024, 12, 31)).flatmap(
    lambda d: st.sampled_from(
        [
            {"Nam": f"{d.year:04d}", "NgayThangNam": d.strftime("%Y%m%d")},
            {"NgayThangNam": d.strftime("%Y%m%d")},
            {"Nam": f"{d.year:04d}"},
        ]
    )
)
relative = st.tuples(_subset(RELATIVE), st.one_of(st.none(), text, name_parts)).map(
    lambda pair: {**pair[0], **({} if pair[1] is None else {"HoVaTen": pair[1]})}
)
record = st.fixed_dictionaries(
    {},
    optional={
        **{n: text for n in LEAVES},
        "LoaiTaiKhoan": st.sampled_from(["1", "2", "7"]),
        "GioiTinh": st.sampled_from(["Nam", "Nữ", "3"]),
        "HoVaTen": name_parts,
        "NgayThangNamSinh": birth,
        **{
            n: _subset(ADDRESS)
            for n in ("ThuongTru", "NoiOHienTai", "QueQuan", "NoiDangKyKhaiSinh")
        },
        **{n: relative for n in ("Cha", "Me", "VoChong", "NguoiDaiDien")},
        "ChuHo": st.tuples(relative, text).map(lambda p: {**p[0], "QuanHe": p[1]}),
    },
)
unknown = st.lists(st.tuples(st.sampled_from(UNKNOWN), text), max_size=3)


def _render(draw: Any, name: str, value: Any, ns: str | None) -> str:
    attr = f' xmlns="{ns}"' if ns else ""
    if isinstance(value, str):
        return f"<{name}{attr}>{escape(value)}</{name}>"
    children = [_render(draw, k, v, None) for k, v in value.items()]
    children += [_render(draw, k, v, None) for k, v in draw(unknown)]
    order = draw(st.permutations(range(len(children))))
    return f"<{name}{attr}>{''.join(children[i] for i in order)}</{name}>"


@st.composite
def replies(draw: Any) -> tuple[dict[str, Any], bytes, list[tuple[str, str]]]:
    data = draw(record)
    top_unknown = draw(unknown)
    ns = draw(st.sampled_from(NAMESPACES))
    children = [_render(draw, k, v, None) for k, v in data.items()]
    children += [_render(draw, k, v, None) for k, v in top_unknown]
    order = draw(st.permutations(range(len(children))))
    congdan = f"<CongDan>{''.join(children[i] for i in order)}</CongDan>"
    collection = _render(draw, "CongdanCollection", {}, ns).replace(
        "</CongdanCollection>", f"{congdan}</CongdanCollection>"
    )
    if draw(st.booleans()):
        body = f'<{OPERATION}Response xmlns="{ns or ""}">{collection}</{OPERATION}Response>'
    else:
        body = collection
    envelope = (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()
    return data, envelope, top_unknown


def _says_something(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_says_something(v) for v in value.values())
    return bool(value)


def _check(model: BaseModel, expected: dict[str, Any], where: str) -> None:
    by_alias = {info.alias: name for name, info in type(model).model_fields.items()}
    for wire, value in expected.items():
        got = getattr(model, by_alias[wire])
        path = f"{where}/{wire}"
        if isinstance(got, BirthDate):
            if "NgayThangNam" in value:
                assert got.date is not None, path
                assert got.date.strftime("%Y%m%d") == value["NgayThangNam"], path
            assert f"{got.year:04d}" == value.get("Nam", value.get("NgayThangNam", "")[:4]), path
        elif isinstance(got, PersonName) and isinstance(value, str):
            assert got.full_name == " ".join(value.split()), path
        elif isinstance(value, dict):
            if got is None:  # an element that says nothing reads as absent
                assert not _says_something(value), path
                continue
            assert isinstance(got, BaseModel), path
            _check(got, value, path)
        else:
            assert getattr(got, "value", got) == value, path


@settings(max_examples=60, deadline=None)
@given(replies())
def test_no_known_field_is_ever_lost(case: tuple[dict[str, Any], bytes, list[Any]]) -> None:
    data, envelope, top_unknown = case
    payload = SoapEnvelope().decode(
        OPERATION, envelope, 200, max_bytes=1 << 20, correlation_id=None, map_fault=map_fault
    )
    collection = read_model(CitizenCollection, payload)
    (citizen,) = collection.citizens
    assert isinstance(citizen, Citizen)
    _check(citizen, data, "CongDan")
    for name, value in top_unknown:
        assert value in citizen.extra[name]


def test_the_public_integrations_record_reads_in_full() -> None:
    """The Thanh Hoá integration's record shape (PLATFORMS.md §4): no wrapper, its own
    namespace, every element it reads, in its order."""
    ns = "http://www.mic.gov.vn/dancu/1.0"
    address = (
        "<QuocGia>VN</QuocGia><MaTinhThanh>38</MaTinhThanh><TenTinhThanh>Thanh Hóa</TenTinhThanh>"
        "<MaQuanHuyen>380</MaQuanHuyen><TenQuanHuyen>TP Thanh Hóa</TenQuanHuyen>"
        "<MaPhuongXa>14755</MaPhuongXa><TenPhuongXa>Điện Biên</TenPhuongXa><ChiTiet>Số 2</ChiTiet>"
    )
    relative = (
        "<HoVaTen>LÊ VĂN BA</HoVaTen><QuocTich>VN</QuocTich><SoDinhDanh>038060000001</SoDinhDanh>"
    )
    inner = (
        "<SoDinhDanh>038090000009</SoDinhDanh><LoaiTaiKhoan>1</LoaiTaiKhoan><SoCMND></SoCMND>"
        "<MaSoThue>8000000009</MaSoThue>"
        "<HoVaTen><Ho>LÊ</Ho><ChuDem>THỊ</ChuDem><Ten>HOA</Ten></HoVaTen>"
        "<GioiTinh>Nữ</GioiTinh><ThuDienTu>hoa@example.com</ThuDienTu><DanToc>Kinh</DanToc>"
        "<TonGiao>Không</TonGiao><TinhTrangHonNhan>Đã kết hôn</TinhTrangHonNhan>"
        "<NhomMau>O</NhomMau>"
        "<NgayThangNamSinh><Nam>1990</Nam><NgayThangNam>19900101</NgayThangNam></NgayThangNamSinh>"
        f"<NoiDangKyKhaiSinh>{address}</NoiDangKyKhaiSinh><QuocTich>VN</QuocTich>"
        f"<QueQuan>{address}</QueQuan><ThuongTru>{address}</ThuongTru>"
        f"<NoiOHienTai>{address}</NoiOHienTai>"
        f"<Cha>{relative}</Cha><Me>{relative}</Me><VoChong>{relative}</VoChong>"
        f"<NguoiDaiDien>{relative}</NguoiDaiDien>"
        "<ChuHo><QuanHe>Vợ</QuanHe><SoDinhDanh>038060000001</SoDinhDanh>"
        "<HoVaTen>LÊ VĂN BA</HoVaTen></ChuHo>"
        "<SoSoHoKhau>380000009</SoSoHoKhau>"
    )
    envelope = (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Header xmlns:dan="http://dancuquocgia.bca"/>'
        '<soapenv:Body xmlns:dan="http://dancuquocgia.bca">'
        f'<ns1:CongdanCollection xmlns:ns1="{ns}"><ns1:CongDan>'
        + inner.replace("<", "<ns1:").replace("<ns1:/", "</ns1:")
        + "</ns1:CongDan></ns1:CongdanCollection></soapenv:Body></soapenv:Envelope>"
    ).encode()
    payload = SoapEnvelope().decode(
        OPERATION, envelope, 200, max_bytes=1 << 20, correlation_id=None, map_fault=map_fault
    )
    (citizen,) = read_model(CitizenCollection, payload).citizens
    assert citizen.full_name == "LÊ THỊ HOA"
    assert citizen.birth_date == BirthDate(year=1990, date=dt.date(1990, 1, 1))
    assert (citizen.account_type, citizen.tax_code, citizen.email) == (
        "1",
        "8000000009",
        "hoa@example.com",
    )
    assert (citizen.marital_status, citizen.blood_type) == ("Đã kết hôn", "O")
    assert citizen.old_id_number is None
    assert citizen.permanent_address is not None
    assert citizen.permanent_address.country == "VN"
    assert citizen.permanent_address.ward_name == "Điện Biên"
    assert citizen.representative is not None
    assert citizen.representative.nationality == "VN"
    assert citizen.household_head is not None
    assert citizen.household_head.relationship == "Vợ"
    assert citizen.extra == {}


def test_blank_elements_are_absent_values_not_errors() -> None:
    from lxml import etree

    record = etree.fromstring(
        b"<CongDan><HoVaTen><Ho>LE</Ho></HoVaTen><SoCMND/>"
        b"<NgayThangNamSinh><Nam/><NgayThangNam></NgayThangNam></NgayThangNamSinh>"
        b"<ThuongTru/><Cha><HoVaTen/><QuocTich/></Cha></CongDan>"
    )
    citizen = read_model(Citizen, record)
    assert citizen.full_name == "LE"
    assert citizen.old_id_number is None
    assert citizen.birth_date is None
    assert citizen.permanent_address is None
    assert citizen.father is None
    assert citizen.extra == {}
