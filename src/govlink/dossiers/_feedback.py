"""Satisfaction statistics, citizens' questions and the portal's public services.

What the public integrations exchange besides dossiers (PLATFORMS.md §2, [OC]
``DVCQGIntegrationActionImpl``):

* ``DongBoDanhGia`` — one :class:`SatisfactionStats` per subject and month
  (``NgayTongHop`` ``"M-YYYY"``, percentages sent as ``"85%"``);
* ``LayDanhSachHoiDapGuiTuDVCQG`` / ``LayDanhSachHoiDapBoCoQuan`` — questions asked
  on the portal (:class:`Question`, upper-case keys); ``LayNoiDungTraLoiTheoCauHoi``
  (``cauhoiid``) — their answers (:class:`Answer`);
* ``DongBoHoiDap`` — questions asked at the province (:class:`QuestionPush`);
  ``DongBoKetQuaHoiDapGuiTuDVCQG`` — the province's answers (:class:`AnswerPush`,
  ``NGAYTRALOI`` as ``dd/MM/yyyy``);
* ``LayDVC`` — the public services (:class:`PublicService`, ``result.data[…]``);
* ``DongBoTrangThaiHoSo`` with ``type: "2"`` — the status of a promotion-notice
  dossier received from the portal (:class:`PromotionStatus`, ``data`` one object).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer

from govlink.core.driver import EvidenceMixin
from govlink.dossiers.models import (
    AttachedDocument,
    OptNumber,
    OptWireInt,
    UpperWireModel,
    WireDateTime,
    WireModel,
)

__all__ = [
    "Answer",
    "AnswerPush",
    "PromotionStatus",
    "PublicService",
    "PushResult",
    "Question",
    "QuestionPush",
    "SatisfactionStats",
    "month_period",
]

_PERIOD = re.compile(r"(1[0-2]|0?[1-9])-([0-9]{4})")


def month_period(year: int, month: int) -> str:
    """``NgayTongHop`` of a month: ``"3-2026"`` ([OC] writes month-year, unpadded)."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1-12, got {month}")
    return f"{month}-{year}"


def _check_period(value: Any) -> Any:
    if isinstance(value, date):
        return month_period(value.year, value.month)
    text = str(value).strip()
    match = _PERIOD.fullmatch(text)
    if match is None:
        raise ValueError(f"a month as M-YYYY (e.g. 3-2026), got {text[:20]!r}")
    return f"{int(match.group(1))}-{match.group(2)}"


def _parse_percent(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().rstrip("%").strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"a percentage such as 85%, got {value!r}") from None
        return int(number) if number.is_integer() else number
    return value


def _ser_percent(value: float) -> str:
    return f"{value:g}%"


Percent = Annotated[
    float | None,
    BeforeValidator(_parse_percent),
    Field(ge=0, le=100),
    PlainSerializer(_ser_percent, return_type=str, when_used="json-unless-none"),
]
"""A percentage, ``"85%"`` on the wire."""
Period = Annotated[str, BeforeValidator(_check_period)]
"""A month, ``"M-YYYY"`` on the wire (a ``date`` is accepted)."""


def _parse_day(value: Any) -> Any:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    text = str(value).strip()
    if not text:
        return None
    for form in ("%d/%m/%Y", "%Y-%m-%d"):  # the wire's, or ISO from a caller
        try:
            return datetime.strptime(text[:10], form).date()
        except ValueError:
            continue
    raise ValueError(f"a date as dd/MM/yyyy, got {text[:20]!r}")


def _ser_day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


WireDay = Annotated[
    date | None,
    BeforeValidator(_parse_day),
    PlainSerializer(_ser_day, return_type=str, when_used="json-unless-none"),
]
"""A calendar day, ``dd/MM/yyyy`` on the wire ([OC] ``APIDateTimeUtils._NORMAL_DATE``)."""


def _id_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


IdText = Annotated[str, BeforeValidator(_id_text)]
"""An id the portal sends as a number (``HOIDAPID``, ``TRALOIID``), kept as text."""


class SatisfactionStats(WireModel):
    """One month of satisfaction votes for a subject (``DongBoDanhGia`` item)."""

    period: Period = Field(alias="NgayTongHop")
    respondents: OptNumber = Field(default=None, alias="TongSoNguoiDanhGia")
    very_satisfied: Percent = Field(default=None, alias="PhanTramDanhGiaRatHaiLong")
    satisfied: Percent = Field(default=None, alias="PhanTramDanhGiaHaiLong")
    unsatisfied: Percent = Field(default=None, alias="PhanTramDanhGiaChuaHaiLong")
    service_very_satisfied: Percent = Field(default=None, alias="PhanTramDanhGiaDichVuRatHaiLong")
    service_satisfied: Percent = Field(default=None, alias="PhanTramDanhGiaDichVuHaiLong")
    service_unsatisfied: Percent = Field(default=None, alias="PhanTramDanhGiaDichVuChuaHaiLong")
    comments: str | None = Field(default=None, alias="DanhSachNoiDungYKien")
    procedure_code: str | None = Field(default=None, alias="MaThuTuc")
    subject: str | None = Field(default=None, alias="NoiDung")
    unit_code: str | None = Field(default=None, alias="Madonvi")
    unit_name: str | None = Field(default=None, alias="TenDonVi")


class Question(UpperWireModel):
    """A question asked on the portal (``LayDanhSachHoiDap…`` item)."""

    question_id: IdText = Field(alias="HOIDAPID", min_length=1)
    content: str | None = Field(default=None, alias="NOIDUNG")
    field_code: str | None = Field(default=None, alias="MALINHVUC")
    agency_code: str | None = Field(default=None, alias="MADONVI")
    agency_name: str | None = Field(default=None, alias="TENDONVI")
    local_procedure_code: str | None = Field(default=None, alias="MATTHCDP")
    asker_name: str | None = Field(default=None, alias="HOVATEN")
    asker_email: str | None = Field(default=None, alias="THUDIENTU")
    status: OptWireInt = Field(default=None, alias="TRANGTHAI")
    """``TRANGTHAI``: 0 is skipped by [OC] (not published), 1 published."""
    answer_id: IdText | None = Field(default=None, alias="TRALOIID")
    answer: str | None = Field(default=None, alias="NOIDUNGTRALOI")

    @property
    def answered(self) -> bool:
        return bool(self.answer_id and self.answer_id not in ("0", "-1"))


class Answer(UpperWireModel):
    """An answer to a question (``LayNoiDungTraLoiTheoCauHoi`` item)."""

    answer_id: IdText | None = Field(default=None, alias="TRALOIID")
    content: str | None = Field(default=None, alias="NOIDUNGTRALOI")


class QuestionPush(WireModel):
    """A question asked at the province, sent up with ``DongBoHoiDap``."""

    question_id: IdText = Field(alias="HOIDAPID", min_length=1)
    field_code: str | None = Field(default=None, alias="MaLinhVuc")
    content: str = Field(alias="NOIDUNG", min_length=1)
    agency_code: str | None = Field(default=None, alias="MADONVI")
    agency_name: str | None = Field(default=None, alias="TENDONVI")


class AnswerPush(WireModel):
    """The province's answer to a portal question (``DongBoKetQuaHoiDapGuiTuDVCQG``)."""

    question_id: IdText = Field(alias="HOIDAPID", min_length=1)
    agency_code: str | None = Field(default=None, alias="MADONVI")
    answered_by: str | None = Field(default=None, alias="NGUOITRALOI")
    answerer_title: str | None = Field(default=None, alias="CHUCVUNGUOITRALOI")
    answered_on: WireDay = Field(default=None, alias="NGAYTRALOI")
    content: str = Field(alias="NOIDUNGTRALOI", min_length=1)


class PublicService(UpperWireModel):
    """A public service of the portal (``LayDVC`` ``result.data`` item)."""

    code: str = Field(alias="MADVC", min_length=1)
    name: str | None = Field(default=None, alias="TENDVC")
    procedure_code: str | None = Field(default=None, alias="MATTHC")
    procedure_name: str | None = Field(default=None, alias="TENTTHC")
    issuing_agency_name: str | None = Field(default=None, alias="TENCOQUANBANHANH")
    field_name: str | None = Field(default=None, alias="TENLINHVUC")
    applies_to: list[Any] | None = Field(default=None, alias="APDUNGDVC")


class PromotionStatus(WireModel):
    """Where a promotion-notice dossier received from the portal stands
    (``DongBoTrangThaiHoSo`` with ``type: "2"``).

    ``MaHoSo`` is the portal's code of the dossier and ``MaHoSoDonVi`` the
    province's; [OC] sends ``TrangThai`` 2 (received) or 5 (supplement needed or
    refused), [TD] 11 for a refusal.
    """

    ma_ho_so: str = Field(alias="MaHoSo", min_length=1)
    local_code: str | None = Field(default=None, alias="MaHoSoDonVi")
    applicant_code: str | None = Field(default=None, alias="MaDoiTuong")
    content: str | None = Field(default=None, alias="NoiDung")
    handled_at: WireDateTime = Field(alias="NgayXuLy")
    status: OptWireInt = Field(alias="TrangThai")
    documents: list[AttachedDocument] | None = Field(default=None, alias="TaiLieuXuLy")


@dataclass(frozen=True)
class PushResult(EvidenceMixin):
    """The portal's answer to a push that has no per-item results."""

    service: str
    sent: int
    code: str
    message: str
