"""Seeded citizens as the population database holds them, and its matching rules.

Rules (what the mock answers, modelled on the real service's observed behaviour):

* a record is found by ``SoDinhDanh`` (12 digits) or by ``SoCMND`` (old card);
* a lookup returns the record only when the full name matches too (compared after
  Unicode NFC, case-insensitively, spaces collapsed) and the birth date matches: a
  full date ``NgayThangNam`` must equal the record's date, or its year the record's
  year when the record only knows the year; a year ``Nam`` must equal the record's
  year. Anything else is "not found": the service does not reveal that the ID exists;
* a verification finds the record by ID alone and says which fields differ.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["CitizenIndex", "birth_matches", "congdan_fields", "full_name", "same_name"]


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
    """The ``citizens`` seed section indexed by ID and old card number."""

    source: Sequence[Any]
    by_id: dict[str, dict[str, Any]]
    by_cmnd: dict[str, dict[str, Any]]

    @classmethod
    def build(cls, citizens: Sequence[Any]) -> CitizenIndex:
        by_id: dict[str, dict[str, Any]] = {}
        by_cmnd: dict[str, dict[str, Any]] = {}
        for record in citizens:
            if not isinstance(record, dict):
                continue
            if record.get("so_dinh_danh"):
                by_id[str(record["so_dinh_danh"])] = record
            if record.get("so_cmnd"):
                by_cmnd[str(record["so_cmnd"])] = record
        return cls(citizens, by_id, by_cmnd)

    def find(self, so_dinh_danh: str | None, so_cmnd: str | None) -> dict[str, Any] | None:
        if so_dinh_danh:
            return self.by_id.get(so_dinh_danh)
        if so_cmnd:
            return self.by_cmnd.get(so_cmnd)
        return None


def _address(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {
        "MaTinhThanh": value.get("ma_tinh"),
        "MaQuanHuyen": value.get("ma_huyen"),
        "MaPhuongXa": value.get("ma_xa"),
        "ChiTiet": value.get("chi_tiet"),
    }


def _relative(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {"HoVaTen": value.get("ho_ten"), "SoDinhDanh": value.get("so_dinh_danh")}


def _household_head(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {
        "QuanHe": value.get("quan_he"),
        "HoVaTen": value.get("ho_ten"),
        "SoDinhDanh": value.get("so_dinh_danh"),
    }


def _birth(record: dict[str, Any]) -> dict[str, Any]:
    stored = str(record.get("ngay_sinh") or "")
    return {
        "Nam": stored[:4] or None,
        "NgayThangNam": stored.replace("-", "") if len(stored) == 10 else None,
    }


def congdan_fields(record: dict[str, Any]) -> dict[str, Any]:
    """A seed record as ``CongDan`` children, in the schema's order."""
    return {
        "HoVaTen": {
            "Ho": record.get("ho"),
            "ChuDem": record.get("chu_dem"),
            "Ten": record.get("ten"),
        },
        "NgayThangNamSinh": _birth(record),
        "SoDinhDanh": record.get("so_dinh_danh"),
        "SoCMND": record.get("so_cmnd"),
        "GioiTinh": record.get("gioi_tinh"),
        "DanToc": record.get("dan_toc"),
        "TonGiao": record.get("ton_giao"),
        "QuocTich": record.get("quoc_tich"),
        "ThuongTru": _address(record.get("thuong_tru")),
        "NoiOHienTai": _address(record.get("noi_o_hien_tai")),
        "QueQuan": _address(record.get("que_quan")),
        "NoiDangKyKhaiSinh": _address(record.get("noi_dang_ky_khai_sinh")),
        "Cha": _relative(record.get("cha")),
        "Me": _relative(record.get("me")),
        "VoChong": _relative(record.get("vo_chong")),
        "ChuHo": _household_head(record.get("chu_ho")),
        "SoSoHoKhau": record.get("so_so_ho_khau"),
    }
