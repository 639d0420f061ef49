"""Satisfaction statistics, Q&A and promotion-status models on the wire ([OC] shapes)."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from govlink.dossiers import AnswerPush, PromotionStatus, Question, SatisfactionStats, month_period


def test_satisfaction_is_sent_as_month_year_and_percent_strings() -> None:
    stats = SatisfactionStats(
        period=date(2026, 3, 31), respondents=120, satisfied=30, unsatisfied=2.5
    )
    assert stats.to_wire() == {
        "NgayTongHop": "3-2026",
        "TongSoNguoiDanhGia": 120,
        "PhanTramDanhGiaHaiLong": "30%",
        "PhanTramDanhGiaChuaHaiLong": "2.5%",
    }
    back = SatisfactionStats.model_validate(stats.to_wire())
    assert (back.period, back.satisfied) == ("3-2026", 30)
    assert month_period(2026, 11) == "11-2026"


@pytest.mark.parametrize(
    "bad",
    [
        {"NgayTongHop": "2026-03"},
        {"NgayTongHop": "13-2026"},
        {"NgayTongHop": "3-2026", "PhanTramDanhGiaHaiLong": "120%"},
    ],
)
def test_satisfaction_refuses_what_the_portal_could_not_read(bad: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        SatisfactionStats.model_validate(bad)


def test_an_answer_carries_its_day_as_dd_mm_yyyy() -> None:
    answer = AnswerPush(question_id="910001", content="Trả lời", answered_on=date(2026, 3, 5))
    assert answer.to_wire()["NGAYTRALOI"] == "05/03/2026"
    assert AnswerPush.model_validate(answer.to_wire()).answered_on == date(2026, 3, 5)


def test_a_question_reads_numbers_as_ids_and_masks_the_asker() -> None:
    question = Question.model_validate(
        {"HOIDAPID": 910001, "TRALOIID": 0, "HoVaTen": "TRẦN THỊ BÌNH", "NOIDUNG": "?"}
    )
    assert (question.question_id, question.answered) == ("910001", False)
    assert question.asker_name == "TRẦN THỊ BÌNH"  # keys matched case-insensitively
    assert "BÌNH" not in repr(question)


def test_promotion_status_sends_is_deleted_as_text() -> None:
    status = PromotionStatus.model_validate(
        {
            "MaHoSo": "G22-1",
            "NgayXuLy": "20260301090000",
            "TrangThai": "2",
            "TaiLieuXuLy": [{"TenTepDinhKem": "a.pdf", "IsDeleted": "False"}],
        }
    )
    wire = status.to_wire()
    assert wire["TaiLieuXuLy"][0]["IsDeleted"] == "False"
    assert (wire["TrangThai"], wire["NgayXuLy"]) == ("2", "20260301090000")
