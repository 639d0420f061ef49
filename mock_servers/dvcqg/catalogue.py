"""The catalogue and sharing services of the DVCQG mock, in the portal's upper-case
shapes ([OC] reads ``MADONVI, TENDONVI, CAPDONVI``; ``MALINHVUC, TENLINHVUC,
MANGANH``; ``MATTHC, TENTTHC, LINHVUCTHUCHIEN[…]``; ``TECHNICALID``), built from the
seed's ``procedures``, ``agencies``, ``citizens`` and ``organisations``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from mock_servers.context import MockContext
from mock_servers.dvcqg.wire import error, reply

__all__ = ["CatalogueServices"]


class CatalogueServices:
    """``LayDanhSachTTHC``, ``LayThuTuc``, ``LayDanhMucCoQuan``, ``LayDanhMucLinhVuc``,
    ``TraCuuTechID``: each takes the decoded request and answers like the portal."""

    def __init__(self, ctx: MockContext, procedures: Callable[[], list[dict[str, Any]]]) -> None:
        self.ctx = ctx
        self.procedures = procedures

    def agency_names(self) -> dict[str, str]:
        return {
            str(a.get("code")): str(a.get("name", ""))
            for a in self.ctx.seed.section("agencies")
            if isinstance(a, dict)
        }

    def procedure_wire(self, p: dict[str, Any], *, full: bool) -> dict[str, Any]:
        """A procedure in the portal's upper-case shape ([OC] reads these keys)."""
        summary = {"MATTHC": p.get("ma_tthc"), "TENTTHC": p.get("ten_tthc")}
        if not full:
            return summary
        agency = str(p.get("co_quan", ""))
        fee = p.get("le_phi", 0)
        return {
            **summary,
            "MACOQUANCONGBO": agency,
            "TRANGTHAI": 1,
            "LINHVUCTHUCHIEN": [
                {"MALINHVUC": p.get("ma_linh_vuc"), "TENLINHVUC": p.get("ten_linh_vuc")}
            ],
            "COQUANTHUCHIEN": [
                {"MADONVI": agency, "TENDONVI": self.agency_names().get(agency, "")}
            ],
            "CACHTHUCTHUCHIEN": [
                {
                    "KENH": 2,
                    "THOIGIAN": [
                        {
                            "THOIGIANGIAIQUYET": p.get("thoi_han_ngay", 5),
                            "DONVITINH": "Ngày làm việc",
                            "MOTA": "",
                            "PHILEPHI": [
                                {"MAPHILEPHI": "LP", "SOTIEN": fee, "DONVI": "Đồng", "MOTA": ""}
                            ],
                        }
                    ],
                }
            ],
            "TRINHTUTHUCHIEN": [],
            "YEUCAU": "",
            "DOITUONGTHUCHIEN": [],
            "KETQUATHUCHIEN": [],
            "CANCUPHAPLY": [],
            "THANHPHANHOSO": [],
        }

    def procedure_list(self, data: dict[str, Any]) -> Response:
        result = [self.procedure_wire(p, full=False) for p in self.procedures()]
        return reply({"error_code": "00", "message": "Thành công", "result": result})

    def procedure_one(self, data: dict[str, Any]) -> Response:
        """``LayThuTuc`` with ``maTTHC`` ([OC]); other spellings count as missing."""
        code = data.get("maTTHC")
        if not isinstance(code, str) or not code:
            return error("04", "Thiếu tham số maTTHC (missing parameter maTTHC)")
        for p in self.procedures():
            if p.get("ma_tthc") == code:
                result = [self.procedure_wire(p, full=True)]
                return reply({"error_code": "00", "message": "Thành công", "result": result})
        return error("15", f"Không tìm thấy thủ tục {code[:40]} (procedure not found)")

    def agencies(self, data: dict[str, Any]) -> Response:
        agencies = [a for a in self.ctx.seed.section("agencies") if isinstance(a, dict)]
        codes = {a.get("code"): a for a in agencies}

        def level(agency: dict[str, Any]) -> int:
            depth, parent = 1, agency.get("parent")
            while parent in codes and depth < 10:
                depth, parent = depth + 1, codes[parent].get("parent")
            return depth

        result = [
            {"MADONVI": a.get("code"), "TENDONVI": a.get("name"), "CAPDONVI": str(level(a))}
            for a in agencies
        ]
        return reply({"error_code": "00", "message": "Thành công", "result": result})

    def fields(self, data: dict[str, Any]) -> Response:
        seen: dict[str, str] = {}
        for p in self.procedures():
            code = p.get("ma_linh_vuc")
            if isinstance(code, str) and code not in seen:
                seen[code] = str(p.get("ten_linh_vuc", ""))
        madonvi = str(data.get("madonvi", ""))
        result = [
            {"MALINHVUC": code, "TENLINHVUC": name, "MANGANH": madonvi}
            for code, name in seen.items()
        ]
        return reply({"error_code": "00", "message": "Thành công", "result": result})

    def tech_id(self, data: dict[str, Any]) -> Response:
        """``TraCuuTechID``: ``provider`` ("wso2is") and ``mstorcmnd`` (a tax code or
        an ID number) → ``result[{"TECHNICALID"}]`` ([OC]); empty when unknown."""
        number = data.get("mstorcmnd")
        if not isinstance(number, str) or not number.strip():
            return error("04", "Thiếu tham số mstorcmnd (missing parameter mstorcmnd)")
        if data.get("provider") != "wso2is":
            return error("04", "Thiếu hoặc sai tham số provider (expected wso2is)")
        found = [
            {"TECHNICALID": str(person.get("tech_id"))}
            for section in ("citizens", "organisations")
            for person in self.ctx.seed.section(section)
            if isinstance(person, dict)
            and person.get("tech_id")
            and number.strip()
            in (
                person.get("so_dinh_danh"),
                person.get("ma_so_thue"),
                person.get("ma_so_doanh_nghiep"),
            )
        ]
        return reply({"error_code": "00", "message": "Thành công", "result": found[:1]})
