"""Statistics, questions & answers, public services and promotion notices of the
DVCQG mock, as [OC] (opencps-v2 ``DVCQGIntegrationActionImpl``) sends and reads them.

Kept apart from :mod:`mock_servers.dvcqg.platform` (sessions, dossier sync) so each
file has one job; the platform routes these services to a :class:`FeedbackServices`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from mock_servers.context import MockContext
from mock_servers.dvcqg.validation import is_compact_date
from mock_servers.dvcqg.wire import error, missing_any, reply

__all__ = ["NS_ANSWERS", "FeedbackServices"]

NS_SATISFACTION = "dossiers.satisfaction"
NS_QUESTIONS = "dossiers.questions"
NS_ANSWERS = "dossiers.answers"
NS_PROMOTION = "dossiers.promotion"

_PERIOD = re.compile(r"(1[0-2]|[1-9])-[0-9]{4}")
_PERCENT = re.compile(r"[0-9]{1,3}(\.[0-9]+)?%")
_DAY = re.compile(r"(0[1-9]|[12][0-9]|3[01])/(0[1-9]|1[0-2])/[0-9]{4}")


class FeedbackServices:
    """The handlers; each takes the decoded request and answers like the portal."""

    def __init__(
        self,
        ctx: MockContext,
        *,
        count: Callable[[str, int], None],
        procedures: Callable[[], list[dict[str, Any]]],
        agency_names: Callable[[], dict[str, str]],
    ) -> None:
        self.ctx = ctx
        self.count = count
        self.procedures = procedures
        self.agency_names = agency_names

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Response]]:
        """Service name → handler, for the integration endpoint."""
        return {
            "LayDVC": self.public_services,
            "LayDanhSachHoiDapGuiTuDVCQG": lambda data: self.questions("portal"),
            "LayDanhSachHoiDapBoCoQuan": lambda data: self.questions("ministry"),
            "LayNoiDungTraLoiTheoCauHoi": self.answers,
            "DongBoDanhGia": self.satisfaction,
            "DongBoHoiDap": self.question_push,
            "DongBoKetQuaHoiDapGuiTuDVCQG": self.answer_push,
            "DongBoTrangThaiHoSo": self.promotion_status,
        }

    def public_services(self, data: dict[str, Any]) -> Response:
        """``LayDVC``: ``result`` is an object whose ``data`` lists the services [OC]."""
        services = [
            {
                "MADVC": f"DVC.{p.get('ma_tthc')}",
                "TENDVC": f"Dịch vụ công trực tuyến: {p.get('ten_tthc')}",
                "MATTHC": p.get("ma_tthc"),
                "TENTTHC": p.get("ten_tthc"),
                "TENCOQUANBANHANH": self.agency_names().get(str(p.get("co_quan")), ""),
                "TENLINHVUC": p.get("ten_linh_vuc"),
                "APDUNGDVC": [{"MADONVI": p.get("co_quan")}],
            }
            for p in self.procedures()
        ]
        return reply({"error_code": "00", "message": "Thành công", "result": {"data": services}})

    def _seed_questions(self) -> list[dict[str, Any]]:
        return [q for q in self.ctx.seed.section("questions") if isinstance(q, dict)]

    def questions(self, source: str) -> Response:
        pushed = dict(self.ctx.store.items(NS_ANSWERS))
        result = []
        for q in self._seed_questions():
            if q.get("source", "portal") != source:
                continue
            answers = list(q.get("answers") or []) + pushed.get(str(q.get("id")), [])
            first = answers[0] if answers else {}
            result.append(
                {
                    "HOIDAPID": q.get("id"),
                    "MALINHVUC": q.get("field_code"),
                    "MADONVI": q.get("agency_code"),
                    "TENDONVI": q.get("agency_name"),
                    "NOIDUNG": q.get("content"),
                    "HOVATEN": q.get("asker_name"),
                    "THUDIENTU": q.get("asker_email"),
                    "MATTHCDP": q.get("procedure_code", ""),
                    "TRANGTHAI": q.get("status", 1),
                    "TRALOIID": first.get("id", 0),
                    "NOIDUNGTRALOI": first.get("content", ""),
                }
            )
        return reply({"error_code": "00", "message": "Thành công", "result": result})

    def answers(self, data: dict[str, Any]) -> Response:
        """``LayNoiDungTraLoiTheoCauHoi`` with ``cauhoiid`` (a number in [OC])."""
        wanted = data.get("cauhoiid")
        if wanted in (None, ""):
            return error("04", "Thiếu tham số cauhoiid (missing parameter cauhoiid)")
        key = str(wanted)
        pushed = dict(self.ctx.store.items(NS_ANSWERS)).get(key, [])
        for q in self._seed_questions():
            if str(q.get("id")) == key:
                answers = list(q.get("answers") or []) + pushed
                result = [
                    {"TRALOIID": a.get("id"), "NOIDUNGTRALOI": a.get("content")} for a in answers
                ]
                return reply({"error_code": "00", "message": "Thành công", "result": result})
        return error("15", f"Không tìm thấy câu hỏi {key[:30]} (question not found)")

    def _items(self, data: dict[str, Any]) -> list[dict[str, Any]] | Response:
        items = data.get("data")
        if not isinstance(items, list) or not items:
            return error("04", "data phải là một danh sách không rỗng (data must be a list)")
        if not all(isinstance(item, dict) for item in items):
            return error("04", "Mỗi phần tử của data phải là một đối tượng JSON")
        return items

    def _stored(self, namespace: str, key: str, value: Any, what: str) -> Response:
        self.ctx.store.put(namespace, key, value)
        self.count(what, 1)
        return reply({"error_code": "00", "message": "Đồng bộ thành công"})

    def satisfaction(self, data: dict[str, Any]) -> Response:
        """``DongBoDanhGia``: monthly statistics; ``NgayTongHop`` ``M-YYYY``, percentages
        as ``"85%"`` [OC]."""
        items = self._items(data)
        if isinstance(items, Response):
            return items
        for item in items:
            period = str(item.get("NgayTongHop", ""))
            if _PERIOD.fullmatch(period) is None:
                return error("14", f"NgayTongHop phải có dạng M-YYYY, nhận {period[:20]!r}")
            for name, value in item.items():
                bad = _PERCENT.fullmatch(str(value)) is None and value not in ("", None)
                if name.startswith("PhanTram") and bad:
                    return error("14", f"{name} phải có dạng 85%, nhận {str(value)[:20]!r}")
        key = f"{self.ctx.clock.timestamp():.6f}"
        return self._stored(NS_SATISFACTION, key, items, "satisfaction_reports")

    def question_push(self, data: dict[str, Any]) -> Response:
        """``DongBoHoiDap``: questions asked at the province (``HOIDAPID``, ``NOIDUNG``)."""
        items = self._items(data)
        if isinstance(items, Response):
            return items
        for item in items:
            problem = missing_any(item, ("HOIDAPID", "NOIDUNG"))
            if problem:
                return problem
        for item in items:
            self.ctx.store.put(NS_QUESTIONS, str(item["HOIDAPID"]), item)
        self.count("questions_pushed", len(items))
        return reply({"error_code": "00", "message": "Đồng bộ thành công"})

    def answer_push(self, data: dict[str, Any]) -> Response:
        """``DongBoKetQuaHoiDapGuiTuDVCQG``: answers to portal questions; ``NGAYTRALOI``
        ``dd/MM/yyyy`` [OC]."""
        items = self._items(data)
        if isinstance(items, Response):
            return items
        known = {str(q.get("id")) for q in self._seed_questions()}
        for item in items:
            problem = missing_any(item, ("HOIDAPID", "NOIDUNGTRALOI"))
            if problem:
                return problem
            if str(item["HOIDAPID"]) not in known:
                return error("15", f"Không tìm thấy câu hỏi {str(item['HOIDAPID'])[:30]}")
            day = str(item.get("NGAYTRALOI", ""))
            if day and _DAY.fullmatch(day) is None:
                return error("13", f"NGAYTRALOI phải có dạng dd/MM/yyyy, nhận {day[:20]!r}")
        pushed = dict(self.ctx.store.items(NS_ANSWERS))
        for item in items:
            key = str(item["HOIDAPID"])
            answers = pushed.setdefault(key, [])
            answers.append({"id": 990000 + len(answers) + 1, "content": item["NOIDUNGTRALOI"]})
            self.ctx.store.put(NS_ANSWERS, key, answers)
        self.count("answers_pushed", len(items))
        return reply({"error_code": "00", "message": "Đồng bộ thành công"})

    def promotion_status(self, data: dict[str, Any]) -> Response:
        """``DongBoTrangThaiHoSo`` with ``type`` ``"2"`` and ``data`` one object [OC]."""
        if str(data.get("type", "")) != "2":
            return error("04", 'Thiếu hoặc sai tham số type (expected "2")')
        item = data.get("data")
        if not isinstance(item, dict):
            return error("04", "data phải là một đối tượng JSON (expected an object)")
        problem = missing_any(item, ("MaHoSo", "NgayXuLy", "TrangThai"))
        if problem:
            return problem
        if not is_compact_date(item["NgayXuLy"]):
            return error("13", "NgayXuLy phải có dạng yyyyMMddHHmmss")
        return self._stored(NS_PROMOTION, str(item["MaHoSo"]), item, "promotion_statuses")
