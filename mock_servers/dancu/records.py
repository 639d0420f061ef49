"""Seeded citizens as the population database holds them, and its matching rules.

Rules (what the mock answers, modelled on the real service's observed behaviour):

* a record is found by ``SoDinhDanh`` (12 digits) or by ``SoCMND`` (old card);
* a lookup returns the record only when the full name matches too (compared after
  Unicode NFC, case-insensitively, spaces collapsed) and the birth date matches: a
  full date ``NgayThangNam`` must equal the record's date, or its year the record's
  year when the record only knows the year; a year ``Nam`` must equal the record's
  year. Anything else is "not found": the service does not reveal that the ID exists;
* a verification finds the record by ID alone and says which fields differ.

Records are written in a realistic shape (PLATFORMS.md §4, the Thanh Hoá
integration's ``CSDLDanCuDto``): every element that integration reads, in its order
by default (switch ``record_order``), plus elements a client may not know
(``SoDienThoai``, ``MaBHXH``, ``SoHoChieu``: the seed has them).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ORDERS",
    "CitizenIndex",
    "birth_matches",
    "congdan_fields",
    "full_name",
    "household_fields",
    "marital_fields",
    "same_name",
]

# The Thanh Hoá integration's field order (its CSDLDanCuDto), then the unknown elements.
_TD_ORDER = (
    "SoDinhDanh",
    "LoaiTaiKhoan",
    "SoCMND",
    "MaSoThue",
    "HoVaTen",
    "GioiTinh",
    "ThuDienTu",
    "DanToc",
    "TonGiao",
    "TinhTrangHonNhan",
    "NhomMau",
    "NgayThangNamSinh",
    "NoiDangKyKhaiSinh",
    "QuocTich",
    "QueQuan",
    "ThuongTru",
    "NoiOHienTai",
    "Cha",
    "Me",
    "VoChong",
    "NguoiDaiDien",
    "ChuHo",
    "SoSoHoKhau",
    "SoDienThoai",
    "MaBHXH",
    "SoHoChieu",
)

ORDERS: dict[str, tuple[str, ...]] = {
    "td": _TD_ORDER,
    "reversed": tuple(reversed(_TD_ORDER)),
    "alphabetical": tuple(sorted(_TD_ORDER)),
}
"""Named element orders for the switch ``record_order`` (a list of names also works)."""

UNKNOWN_ELEMENTS = frozenset({"SoDienThoai", "MaBHXH", "SoHoChieu"})
"""Elements a client may not know (written in the extension namespace in the WSDL shape)."""

# Province names for the seeded codes (TenTinhThanh); unknown codes leave it out.
_PROVINCES = {
    "01": "Thành phố Hà Nội",
    "10": "Tỉnh Lào Cai",
    "31": "Thành phố Hải Phòng",
    "34": "Tỉnh Thái Bình",
    "40": "Tỉnh Nghệ An",
    "46": "Tỉnh Thừa Thiên Huế",
    "48": "Thành phố Đà Nẵng",
    "52": "Tỉnh Bình Định",
    "68": "Tỉnh Lâm Đồng",
    "79": "Thành phố Hồ Chí Minh",
    "92": "Thành phố Cần Thơ",
    "94": "Tỉnh Sóc Trăng",
}


def _norm_name(value: str) -> str:
    text = unicodedata.normalize("NFC", value)
    return unicodedata.normalize("NFC", " ".join(text.split()).casefold())


def full_name(record: dict[str, Any]) -> str:
    parts = (record.get("ho"), record.get("chu_dem"), record.get("ten"))
    return " ".join(str(p) for p in parts if p)


def same_name(record: dict[str, Any], name: str) -> bool:
    return _norm_name(full_name(record)) == _norm_name(name)


def birth_matches(record: dict[str, Any], full: str | None, year: str | None) -> bool:
    """Whether a request's ``NgayThangNam`` (yyyyMMdd) / ``Nam`` (yyyy) fits the record."""
    stored = str(record.get("ngay_sinh") or "")
    stored_year = stored[:4]
    if full:
        if len(stored) == 10:
            return stored.replace("-", "") == full
        return stored_year == full[:4]
    if year:
        return stored_year == year
    return False


@dataclass
class CitizenIndex:
    """The ``citizens`` seed section indexed by ID, old card and household book number."""

    source: Sequence[Any]
    by_id: dict[str, dict[str, Any]]
    by_cmnd: dict[str, dict[str, Any]]
    by_book: dict[str, list[dict[str, Any]]]

    @classmethod
    def build(cls, citizens: Sequence[Any]) -> CitizenIndex:
        by_id: dict[str, dict[str, Any]] = {}
        by_cmnd: dict[str, dict[str, Any]] = {}
        by_book: dict[str, list[dict[str, Any]]] = {}
        for record in citizens:
            if not isinstance(record, dict):
                continue
            if record.get("so_dinh_danh"):
                by_id[str(record["so_dinh_danh"])] = record
            if record.get("so_cmnd"):
                by_cmnd[str(record["so_cmnd"])] = record
            if record.get("so_so_ho_khau"):
                by_book.setdefault(str(record["so_so_ho_khau"]), []).append(record)
        return cls(citizens, by_id, by_cmnd, by_book)

    def find(self, so_dinh_danh: str | None, so_cmnd: str | None) -> dict[str, Any] | None:
        if so_dinh_danh:
            return self.by_id.get(so_dinh_danh)
        if so_cmnd:
            return self.by_cmnd.get(so_cmnd)
        return None

    def household(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        book = record.get("so_so_ho_khau")
        return list(self.by_book.get(str(book), [record])) if book else [record]


def _address(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {
        "QuocGia": value.get("quoc_gia") or "VN",
        "MaTinhThanh": value.get("ma_tinh"),
        "TenTinhThanh": value.get("ten_tinh") or _PROVINCES.get(str(value.get("ma_tinh"))),
        "MaQuanHuyen": value.get("ma_huyen"),
        "TenQuanHuyen": value.get("ten_huyen"),
        "MaPhuongXa": value.get("ma_xa"),
        "TenPhuongXa": value.get("ten_xa"),
        "ChiTiet": value.get("chi_tiet"),
    }


def _relative(value: Any, nationality: Any = "Việt Nam") -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {
        "HoVaTen": value.get("ho_ten"),
        "QuocTich": value.get("quoc_tich") or nationality,
        "SoDinhDanh": value.get("so_dinh_danh"),
        "SoCMND": value.get("so_cmnd"),
    }


def _household_head(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {
        "QuanHe": value.get("quan_he"),
        "HoVaTen": value.get("ho_ten"),
        "SoDinhDanh": value.get("so_dinh_danh"),
        "SoCMND": value.get("so_cmnd"),
    }


def birth_fields(record: dict[str, Any]) -> dict[str, Any]:
    stored = str(record.get("ngay_sinh") or "")
    return {
        "Nam": stored[:4] or None,
        "NgayThangNam": stored.replace("-", "") if len(stored) == 10 else None,
    }


def _is_minor(record: dict[str, Any], today: dt.date) -> bool:
    stored = str(record.get("ngay_sinh") or "")
    if len(stored) != 10:
        return False
    born = dt.date.fromisoformat(stored)
    return (today.year - born.year - ((today.month, today.day) < (born.month, born.day))) < 18


def marital_status(record: dict[str, Any]) -> tuple[str, str]:
    """``(code, text)``: the seed's ``tinh_trang_hon_nhan``, else derived from a spouse."""
    stated = record.get("tinh_trang_hon_nhan")
    if isinstance(stated, str) and stated:
        return str(record.get("ma_tinh_trang_hon_nhan") or ""), stated
    return ("2", "Đã kết hôn") if record.get("vo_chong") else ("1", "Chưa kết hôn")


def _order(order: Sequence[str] | None) -> Sequence[str]:
    if not order:
        return _TD_ORDER
    listed = list(order)
    return listed + [name for name in _TD_ORDER if name not in listed]


def congdan_fields(
    record: dict[str, Any], *, order: Sequence[str] | None = None, today: dt.date
) -> list[tuple[str, Any]]:
    """A seed record as ``CongDan`` children, in ``order`` (element names; default: the
    Thanh Hoá integration's order); absent values are left out by the writer."""
    minor = _is_minor(record, today)
    is_organisation = bool(record.get("dai_dien_to_chuc"))
    values: dict[str, Any] = {
        "SoDinhDanh": record.get("so_dinh_danh"),
        "LoaiTaiKhoan": "2" if is_organisation else "1",
        "SoCMND": record.get("so_cmnd"),
        "MaSoThue": record.get("ma_so_thue"),
        "HoVaTen": {
            "Ho": record.get("ho"),
            "ChuDem": record.get("chu_dem"),
            "Ten": record.get("ten"),
        },
        "GioiTinh": record.get("gioi_tinh"),
        "ThuDienTu": record.get("email"),
        "DanToc": record.get("dan_toc"),
        "TonGiao": record.get("ton_giao"),
        "TinhTrangHonNhan": None if minor else marital_status(record)[1],
        "NhomMau": record.get("nhom_mau"),
        "NgayThangNamSinh": birth_fields(record),
        "NoiDangKyKhaiSinh": _address(record.get("noi_dang_ky_khai_sinh")),
        "QuocTich": record.get("quoc_tich"),
        "QueQuan": _address(record.get("que_quan")),
        "ThuongTru": _address(record.get("thuong_tru")),
        "NoiOHienTai": _address(record.get("noi_o_hien_tai")),
        "Cha": _relative(record.get("cha")),
        "Me": _relative(record.get("me")),
        "VoChong": _relative(record.get("vo_chong")),
        "NguoiDaiDien": _relative(record.get("cha") or record.get("me")) if minor else None,
        "ChuHo": _household_head(record.get("chu_ho")),
        "SoSoHoKhau": record.get("so_so_ho_khau"),
        "SoDienThoai": record.get("so_dien_thoai"),
        "MaBHXH": record.get("ma_bhxh"),
        "SoHoChieu": record.get("ho_chieu"),
    }
    return [(name, values[name]) for name in _order(order) if name in values]


def _member(record: dict[str, Any]) -> dict[str, Any]:
    head: dict[str, Any] = record["chu_ho"] if isinstance(record.get("chu_ho"), dict) else {}
    return {
        "HoVaTen": {
            "Ho": record.get("ho"),
            "ChuDem": record.get("chu_dem"),
            "Ten": record.get("ten"),
        },
        "SoDinhDanh": record.get("so_dinh_danh"),
        "SoCMND": record.get("so_cmnd"),
        "NgayThangNamSinh": birth_fields(record),
        "GioiTinh": record.get("gioi_tinh"),
        "QuanHe": head.get("quan_he"),
    }


def household_fields(index: CitizenIndex, record: dict[str, Any]) -> dict[str, Any]:
    """``HoGiaDinh``: book number, head, the head's permanent address and every member."""
    members = index.household(record)
    head_ref: dict[str, Any] = record["chu_ho"] if isinstance(record.get("chu_ho"), dict) else {}
    head = index.by_id.get(str(head_ref.get("so_dinh_danh"))) or record
    return {
        "SoSoHoKhau": record.get("so_so_ho_khau"),
        "ChuHo": _household_head(head_ref),
        "DiaChi": _address(head.get("thuong_tru")),
        "ThanhVien": [_member(m) for m in members],
    }


def marital_fields(record: dict[str, Any]) -> list[tuple[str, Any]]:
    code, text = marital_status(record)
    return [
        ("MaTinhTrangHonNhan", code or None),
        ("TinhTrangHonNhan", text),
        ("VoChong", _relative(record.get("vo_chong"))),
    ]
