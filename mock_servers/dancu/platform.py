"""The population database mock's routes: WSDL, schemas and the SOAP endpoint."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from typing import Any

from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mock_servers.context import MockContext
from mock_servers.dancu.auth import DEFAULT_TOLERANCE, check_credentials
from mock_servers.dancu.envelope import (
    Malformed,
    build_element,
    build_fault,
    build_response,
    parse_request,
)
from mock_servers.dancu.records import CitizenIndex, birth_matches, congdan_fields, same_name
from mock_servers.dancu.wsdl import read_schema, wsdl_for
from mock_servers.platform import MockPlatform

__all__ = ["FAULTS", "SERVICE_PATH", "DanCuPlatform", "create_platform"]

SERVICE_PATH = "/CongDanService"
XML = "text/xml; charset=utf-8"

# MaLoi -> (SOAP faultcode, HTTP status, faultstring). Documented in docs/platforms/citizens.md.
FAULTS: dict[str, tuple[str, int, str]] = {
    "XML_KHONG_HOP_LE": ("Client", 500, "Yêu cầu không phải thông điệp SOAP hợp lệ"),
    "THAO_TAC_KHONG_HO_TRO": ("Client", 500, "Thao tác không được hỗ trợ"),
    "THIEU_MA_YEU_CAU": ("Client", 500, "Thiếu mã yêu cầu (MaYeuCau)"),
    "THIEU_THONG_TIN": ("Client", 500, "Thiếu thông tin bắt buộc"),
    "SAI_DINH_DANG": ("Client", 500, "Thông tin không đúng định dạng"),
    "KHONG_TIM_THAY": ("Client", 500, "Không tìm thấy thông tin công dân"),
    "XAC_THUC_THAT_BAI": ("Client", 401, "Xác thực không thành công"),
    "LOI_HE_THONG": ("Server", 500, "Lỗi hệ thống, vui lòng thử lại sau"),
}

_ID = re.compile(r"^[0-9]{12}$")
_CMND = re.compile(r"^(?:[0-9]{9}|[0-9]{12})$")
_FULL_DATE = re.compile(r"^[0-9]{8}$")
_YEAR = re.compile(r"^[0-9]{4}$")


class _Fault(Exception):
    def __init__(self, code: str, description: str, request_id: str | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.request_id = request_id


def _fault_response(fault: _Fault) -> Response:
    faultcode, status, faultstring = FAULTS[fault.code]
    body = build_fault(faultcode, faultstring, fault.code, fault.description, fault.request_id)
    headers = {"www-authenticate": 'Basic realm="dancuquocgia"'} if status == 401 else None
    return Response(body, status_code=status, media_type=XML, headers=headers)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


class DanCuPlatform(MockPlatform):
    """SOAP 1.1 mock of ``TraCuuThongTinCongDan`` / ``XacThucThongTinCongDan``."""

    name = "citizens"
    prefix = "/dancu"
    title = "Population database (CSDL quốc gia về dân cư, SOAP)"
    switch_names = ("force_fault", "timestamp_tolerance", "require_auth")

    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._index: CitizenIndex | None = None
        # CongDan elements by id() of their seed record, for the current index only
        self._congdan: dict[int, etree._Element] = {}
        self._app = Starlette(
            routes=[
                Route(SERVICE_PATH, self.service, methods=["GET", "POST"]),
                Route("/{name:str}.xsd", self.schema, methods=["GET"]),
                Route("/", self.root, methods=["GET"]),
            ]
        )

    @property
    def app(self) -> Starlette:
        return self._app

    # --- admin hooks ----------------------------------------------------------------------

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._counts.clear()
            self._index = None
            self._congdan = {}

    def apply_switches(self, switches: dict[str, Any]) -> None:
        unknown = sorted(set(switches) - set(self.switch_names))
        if unknown:
            known = ", ".join(self.switch_names)
            raise ValueError(f"unknown switch {unknown[0]!r} for citizens (known: {known})")
        forced = switches.get("force_fault")
        if "force_fault" in switches and forced is not None and forced not in FAULTS:
            raise ValueError(f"switch 'force_fault' must be one of {', '.join(FAULTS)} or null")
        tolerance = switches.get("timestamp_tolerance")
        if "timestamp_tolerance" in switches and (
            isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0
        ):
            raise ValueError("switch 'timestamp_tolerance' must be a number of seconds >= 0")
        if "require_auth" in switches and not isinstance(switches["require_auth"], bool):
            raise ValueError("switch 'require_auth' must be true or false")
        self.ctx.switches(self.name).update(switches)

    def summary(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self._counts)
        return {
            "citizens": len(self._citizens().by_id),
            "calls": counts,
            "switches": dict(self.ctx.switches(self.name)),
        }

    def _count(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def _citizens(self) -> CitizenIndex:
        section = self.ctx.seed.section("citizens")
        index = self._index
        if index is None or index.source is not section:
            index = CitizenIndex.build(section)
            self._index = index
            self._congdan = {}
        return index

    def _congdan_element(self, record: dict[str, Any]) -> etree._Element:
        """The record's ``CongDan``, built once per seed (the index keeps records alive)."""
        element = self._congdan.get(id(record))
        if element is None:
            element = build_element("CongDan", congdan_fields(record))
            self._congdan[id(record)] = element
        return element

    # --- routes ---------------------------------------------------------------------------

    @staticmethod
    def _service_url(request: Request) -> str:
        root = request.scope.get("root_path", "")
        return f"{request.url.scheme}://{request.url.netloc}{root}{SERVICE_PATH}"

    async def root(self, request: Request) -> Response:
        if "wsdl" in {k.lower() for k in request.query_params}:
            # Relative schemaLocations resolve against the WSDL's URL: serve it from the
            # service URL, where "dancu.xsd" resolves to this mount.
            return RedirectResponse(self._service_url(request) + "?wsdl", status_code=307)
        return Response(
            f"Population database mock. WSDL: {self._service_url(request)}?wsdl\n",
            media_type="text/plain; charset=utf-8",
        )

    async def schema(self, request: Request) -> Response:
        content = read_schema(f"{request.path_params['name']}.xsd")
        if content is None:
            return Response("no such schema\n", status_code=404, media_type="text/plain")
        return Response(content, media_type="application/xml")

    async def service(self, request: Request) -> Response:
        if request.method == "GET":
            if "wsdl" in {k.lower() for k in request.query_params}:
                return Response(wsdl_for(self._service_url(request)), media_type=XML)
            return Response(
                "POST SOAP 1.1 requests here; the WSDL is at ?wsdl\n",
                status_code=405,
                media_type="text/plain; charset=utf-8",
                headers={"allow": "GET, POST"},
            )
        try:
            return await self._soap(request)
        except _Fault as fault:
            self._count(f"fault:{fault.code}")
            return _fault_response(fault)

    async def _soap(self, request: Request) -> Response:
        switches = self.ctx.switches(self.name)
        if switches.get("require_auth", True):
            tolerance = float(switches.get("timestamp_tolerance", DEFAULT_TOLERANCE))
            _style, reason = check_credentials(
                self.ctx, request.headers, str(request.url), tolerance
            )
            if reason is not None:
                raise _Fault("XAC_THUC_THAT_BAI", reason)
        body = await request.body()
        try:
            operation, fields = parse_request(body)
        except Malformed as exc:
            raise _Fault("XML_KHONG_HOP_LE", str(exc)) from None
        request_id = _text(fields, "MaYeuCau")
        if request_id is None:
            raise _Fault("THIEU_MA_YEU_CAU", "MaYeuCau is required and must not be empty")
        forced = switches.get("force_fault")
        if forced:
            raise _Fault(str(forced), "fault injected by the admin switch force_fault", request_id)
        if operation == "TraCuuThongTinCongDan":
            self._count("TraCuuThongTinCongDan")
            return self._lookup(fields, request_id)
        if operation == "XacThucThongTinCongDan":
            self._count("XacThucThongTinCongDan")
            return self._verify(fields, request_id)
        raise _Fault("THAO_TAC_KHONG_HO_TRO", f"unknown operation {operation}", request_id)

    # --- operations -----------------------------------------------------------------------

    def _who(
        self, fields: dict[str, Any], request_id: str
    ) -> tuple[dict[str, Any] | None, str, str | None, str | None]:
        """Validate the common request part; the record (or None), name, full date, year."""
        so_dinh_danh = _text(fields, "SoDinhDanh")
        so_cmnd = _text(fields, "SoCMND")
        name = _text(fields, "HoVaTen")
        birth = fields.get("NgayThangNamSinh")
        if not so_dinh_danh and not so_cmnd:
            raise _Fault("THIEU_THONG_TIN", "SoDinhDanh or SoCMND is required", request_id)
        if not name:
            raise _Fault("THIEU_THONG_TIN", "HoVaTen is required", request_id)
        if not isinstance(birth, dict) or not (_text(birth, "NgayThangNam") or _text(birth, "Nam")):
            raise _Fault(
                "THIEU_THONG_TIN", "NgayThangNamSinh (NgayThangNam or Nam) is required", request_id
            )
        if so_dinh_danh and not _ID.match(so_dinh_danh):
            raise _Fault("SAI_DINH_DANG", "SoDinhDanh must be 12 digits", request_id)
        if so_cmnd and not _CMND.match(so_cmnd):
            raise _Fault("SAI_DINH_DANG", "SoCMND must be 9 or 12 digits", request_id)
        full = _text(birth, "NgayThangNam")
        year = _text(birth, "Nam")
        if full and not _FULL_DATE.match(full):
            raise _Fault("SAI_DINH_DANG", "NgayThangNam must be yyyyMMdd", request_id)
        if year and not _YEAR.match(year):
            raise _Fault("SAI_DINH_DANG", "Nam must be yyyy", request_id)
        record = self._citizens().find(so_dinh_danh, so_cmnd)
        return record, name, full, year

    def _lookup(self, fields: dict[str, Any], request_id: str) -> Response:
        record, name, full, year = self._who(fields, request_id)
        if record is None or not same_name(record, name) or not birth_matches(record, full, year):
            raise _Fault(
                "KHONG_TIM_THAY",
                "no citizen with this ID number, full name and birth date",
                request_id,
            )
        body = build_response(
            "TraCuuThongTinCongDanResponse",
            [
                ("MaYeuCau", request_id),
                ("CongdanCollection", {"CongDan": self._congdan_element(record)}),
            ],
        )
        return Response(body, media_type=XML)

    def _verify(self, fields: dict[str, Any], request_id: str) -> Response:
        record, name, full, year = self._who(fields, request_id)
        if record is None:
            raise _Fault("KHONG_TIM_THAY", "no citizen with this ID number", request_id)
        mismatched: list[str] = []
        if not same_name(record, name):
            mismatched.append("HoVaTen")
        if not birth_matches(record, full, year):
            mismatched.append("NgayThangNamSinh")
        gender = _text(fields, "GioiTinh")
        if gender is not None and _fold(gender) != _fold(str(record.get("gioi_tinh", ""))):
            mismatched.append("GioiTinh")
        body = build_response(
            "XacThucThongTinCongDanResponse",
            [
                ("MaYeuCau", request_id),
                ("KetQua", not mismatched),
                (
                    "DanhSachTruongKhongKhop",
                    {"TruongKhongKhop": mismatched} if mismatched else None,
                ),
            ],
        )
        return Response(body, media_type=XML)


def create_platform(ctx: MockContext) -> DanCuPlatform:
    return DanCuPlatform(ctx)
