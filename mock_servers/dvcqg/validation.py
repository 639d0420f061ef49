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

import re
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
_DOSSIER_LISTS = frozenset(DOSSIER_LISTS)

Problem = tuple[str, str] | None


_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# ASCII digits only ("\d" would let other scripts' digits through); month, day,
# hour, minute and second in range. Days 29-31 are checked against the month below.
_COMPACT_DATE = re.compile(
    r"[0-9]{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]"
)
_date_match = _COMPACT_DATE.fullmatch


def is_compact_date(value: Any) -> bool:
    """``yyyyMMddHHmmss`` naming a real calendar instant (one regex match: hot path)."""
    if not isinstance(value, str) or _date_match(value) is None or value[0:4] == "0000":
        return False
    if value[6:8] > "28":  # only days 29-31 depend on the month (and the year)
        month, day = int(value[4:6]), int(value[6:8])
        if day > _DAYS[month]:
            return False
        if month == 2:
            year = int(value[0:4])
            return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return True


def _missing(item: Mapping[str, Any], fields: tuple[str, ...]) -> Problem:
    for name in fields:
        value = item.get(name)
        if value is None or value == "" or (isinstance(value, str) and not value.strip()):
            return "11", f"Thiếu trường bắt buộc {name} (missing required field)"
    return None


def _dates(item: Mapping[str, Any], fields: tuple[str, ...]) -> Problem:
    for name in fields:
        value = item.get(name)
        if value is None or value == "" or is_compact_date(value):
            continue
        return "13", (
            f"Sai định dạng ngày {name}: {str(value)[:40]!r}, cần yyyyMMddHHmmss (bad date format)"
        )
    return None


# 1 citizen, 2 enterprise ([OC], [TD]); 3 state agency, 4 other organisation ([TD]).
_APPLICANT_TYPES = frozenset({None, "", "1", "2", "3", "4"})

_STATUS_CODES = frozenset(str(n) for n in range(1, 100))


def _status(value: Any, name: str) -> Problem:
    if isinstance(value, str) and value in _STATUS_CODES:  # the usual case: "1".."99"
        return None
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 99:
        return "14", f"Giá trị {name} không hợp lệ: {text[:20]!r} (expected a status code)"
    return None


def check_dossier(item: Any, procedures: Container[str]) -> Problem:
    """``(code, message)`` for a ``DongBoHoSoMC`` item the portal would refuse.

    The checks run in a fixed order (required fields, MaHoSo, procedure, status,
    dates, applicant type, lists) so an item with several problems always gets the
    same answer. Written for speed: 100,000 items go through here in the benchmark.
    """
    if not isinstance(item, dict):
        return "14", "Mỗi phần tử của data phải là một đối tượng JSON (item is not an object)"
    problem = _missing(item, DOSSIER_REQUIRED)
    if problem:
        return problem
    if not isinstance(item["MaHoSo"], str):
        return "14", "MaHoSo phải là chuỗi (MaHoSo must be a string)"
    code = item["MaTTHC"]
    if not isinstance(code, str) or code not in procedures:
        return "12", f"Mã thủ tục hành chính không tồn tại: {str(code)[:40]!r} (unknown MaTTHC)"
    problem = _status(item["TrangThaiHoSo"], "TrangThaiHoSo")
    if problem:
        return problem
    problem = _dates(item, DOSSIER_DATES)
    if problem:
        return problem
    kind = item.get("LoaiDoiTuong")
    if kind not in _APPLICANT_TYPES and str(kind).strip() not in _APPLICANT_TYPES:
        return "14", f"LoaiDoiTuong phải là 1, 2, 3 hoặc 4, nhận {str(kind)[:10]!r}"
    if item.keys().isdisjoint(_DOSSIER_LISTS):  # the usual case: no list sent
        return None
    for name in DOSSIER_LISTS:
        value = item.get(name)
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
    problem = _dates(item, PROGRESS_DATES)
    if problem:
        return problem
    ma = item["MaHoSo"]
    if not isinstance(ma, str) or ma not in known_dossiers:
        return "15", (
            f"Không tìm thấy hồ sơ {str(item['MaHoSo'])[:60]} (dossier not found: "
            "send it with DongBoHoSoMC first)"
        )
    return None
