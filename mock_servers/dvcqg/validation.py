"""Per-item validation the way the portal answers it: a code and a message.

Kept to plain dict/str checks (no models) because the benchmark pushes 100,000
changes through the mock and every microsecond per item shows.

Codes (the mock's, documented in docs/platforms/dossiers.md):

* ``11`` a required field is missing or empty;
* ``12`` unknown procedure code (``MaTTHC`` not in the seed's procedures);
* ``13`` a date is not ``yyyyMMddHHmmss``;
* ``14`` a field has a value outside its domain (status, applicant type, a list);
* ``15`` the dossier does not exist (progress for an unknown ``MaHoSo``).
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any

__all__ = [
    "DOSSIER_DATES",
    "DOSSIER_LISTS",
    "DOSSIER_REQUIRED",
    "PROGRESS_DATES",
    "PROGRESS_REQUIRED",
    "check_dossier",
    "check_progress",
    "is_compact_date",
]

DOSSIER_REQUIRED = ("MaHoSo", "MaTTHC", "TrangThaiHoSo", "NgayTiepNhan")
DOSSIER_DATES = (
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayTra",
    "NgayKetThucXuLy",
    "NgayTuChoi",
    "NgayNopHoSo",
)
DOSSIER_LISTS = (
    "TaiLieuNop",
    "DanhSachLePhi",
    "DanhSachTepDinhKemKhac",
    "DanhSachHoSoBoSung",
    "DanhSachGiayToKetQua",
    "DinhDanhCHS",
    "DSKetNoiCSDL",
)
PROGRESS_REQUIRED = ("MaHoSo", "NguoiXuLy", "ThoiDiemXuLy", "TrangThai")
PROGRESS_DATES = ("ThoiDiemXuLy", "NgayBatDau", "NgayKetThucTheoQuyDinh")
_DOSSIER_DATES = frozenset(DOSSIER_DATES)
_DOSSIER_LISTS = frozenset(DOSSIER_LISTS)
_PROGRESS_DATES = frozenset(PROGRESS_DATES)

Problem = tuple[str, str] | None


_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_compact_date(value: Any) -> bool:
    """``yyyyMMddHHmmss`` naming a real calendar instant (integer checks: hot path)."""
    if not isinstance(value, str) or len(value) != 14 or not value.isdigit():
        return False
    year, month, day = int(value[0:4]), int(value[4:6]), int(value[6:8])
    if not (1 <= month <= 12 and 1 <= day <= _DAYS[month] and year >= 1):
        return False
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return False
    return int(value[8:10]) < 24 and int(value[10:12]) < 60 and int(value[12:14]) < 60


def _missing(item: Mapping[str, Any], fields: tuple[str, ...]) -> Problem:
    for name in fields:
        value = item.get(name)
        if value is None or value == "" or (isinstance(value, str) and not value.strip()):
            return "11", f"Thiếu trường bắt buộc {name} (missing required field)"
    return None


def _dates(item: Mapping[str, Any], fields: frozenset[str]) -> Problem:
    for name in fields & item.keys():  # only the date fields present (a hot loop)
        value = item[name]
        if value is None or value == "" or is_compact_date(value):
            continue
        return "13", (
            f"Sai định dạng ngày {name}: {str(value)[:40]!r}, cần yyyyMMddHHmmss (bad date format)"
        )
    return None


def _status(value: Any, name: str) -> Problem:
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 99:
        return "14", f"Giá trị {name} không hợp lệ: {text[:20]!r} (expected a status code)"
    return None


def check_dossier(item: Any, procedures: Container[str]) -> Problem:
    """``(code, message)`` for a ``DongBoHoSoMC`` item the portal would refuse."""
    if not isinstance(item, dict):
        return "14", "Mỗi phần tử của data phải là một đối tượng JSON (item is not an object)"
    problem = _missing(item, DOSSIER_REQUIRED)
    if problem:
        return problem
    if not isinstance(item["MaHoSo"], str):
        return "14", "MaHoSo phải là chuỗi (MaHoSo must be a string)"
    code = item["MaTTHC"]
    if code not in procedures:
        return "12", f"Mã thủ tục hành chính không tồn tại: {str(code)[:40]!r} (unknown MaTTHC)"
    problem = _status(item["TrangThaiHoSo"], "TrangThaiHoSo")
    if problem:
        return problem
    problem = _dates(item, _DOSSIER_DATES)
    if problem:
        return problem
    kind = item.get("LoaiDoiTuong")
    if kind not in (None, "") and str(kind).strip() not in ("1", "2"):
        return "14", f"LoaiDoiTuong phải là 1 hoặc 2, nhận {str(kind)[:10]!r}"
    for name in _DOSSIER_LISTS & item.keys():
        value = item[name]
        if value is not None and not isinstance(value, list):
            return "14", f"{name} phải là một danh sách (must be a list)"
    return None


def check_progress(item: Any, known_dossiers: Container[str]) -> Problem:
    """``(code, message)`` for a ``CapNhatTienDoHoSoMC`` item the portal would refuse."""
    if not isinstance(item, dict):
        return "14", "Mỗi phần tử của data phải là một đối tượng JSON (item is not an object)"
    problem = _missing(item, PROGRESS_REQUIRED)
    if problem:
        return problem
    problem = _status(item["TrangThai"], "TrangThai")
    if problem:
        return problem
    problem = _dates(item, _PROGRESS_DATES)
    if problem:
        return problem
    if item["MaHoSo"] not in known_dossiers:
        return "15", (
            f"Không tìm thấy hồ sơ {str(item['MaHoSo'])[:60]} (dossier not found: "
            "send it with DongBoHoSoMC first)"
        )
    return None
