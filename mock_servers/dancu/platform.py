"""The population database mock's routes: WSDL, schemas and the SOAP endpoint."""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import Any

from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mock_servers.context import MockContext
from mock_servers.dancu.auth import DEFAULT_TOLERANCE, check_credentials
from mock_servers.dancu.envelope import (
    EXT_NS,
    MAX_BODY,
    NS,
    TD_COLLECTION_NS,
    Malformed,
    build_element,
    build_fault,
    build_response,
    parse_request,
)
from mock_servers.dancu.records import (
    ORDERS,
    UNKNOWN_ELEMENTS,
    CitizenIndex,
    birth_matches,
    congdan_fields,
    household_fields,
    marital_fields,
    same_name,
)
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
    "QUA_KICH_THUOC": ("Client", 413, "Yêu cầu vượt quá kích thước cho phép"),
    "LOI_HE_THONG": ("Server", 500, "Lỗi hệ thống, vui lòng thử lại sau"),
}

OPERATIONS = (
    "TraCuuThongTinCongDan",
    "XacThucThongTinCongDan",
    "XacMinhThongTinNhanThan",
    "CungCapThongTinHoGiaDinh",
    "XacMinhTinhTrangHonNhan",
    "GetRequestStatus",
)
SHAPES = ("wsdl", "td")
"""``wsdl``: replies as the published WSDL says (a ``…Response`` wrapper; elements it
does not name in an extension namespace). ``td``: as the national service answers
the Thanh Hoá integration (no wrapper; ``CongdanCollection`` in
``http://www.mic.gov.vn/dancu/1.0``; unknown elements in the same namespace)."""

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


def _fault_body(fault: _Fault) -> tuple[bytes, int]:
    faultcode, status, faultstring = FAULTS[fault.code]
    body = build_fault(faultcode, faultstring, fault.code, fault.description, fault.request_id)
    return body, status


def _fault_response(fault: _Fault) -> Response:
    body, status = _fault_body(fault)
    headers = {"www-authenticate": 'Basic realm="dancuquocgia"'} if status == 401 else None
    return Response(body, status_code=status, media_type=XML, headers=headers)


async def read_capped(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, refused as soon as it passes ``limit`` bytes (a declared
    ``Content-Length`` over the limit is refused before reading anything)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _Fault("QUA_KICH_THUOC", f"request of {declared} bytes, over {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Fault("QUA_KICH_THUOC", f"request over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


class DanCuPlatform(MockPlatform):
    """SOAP 1.1 mock of the six operations, and the provincial gateway's JSON variant."""

    name = "citizens"
    prefix = "/dancu"
    title = "Population database (CSDL quốc gia về dân cư, SOAP)"
    switch_names = (
        "force_fault",
        "timestamp_tolerance",
        "require_auth",
        "reply_shape",
        "record_order",
    )

    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._index: CitizenIndex | None = None
        # CongDan elements by (id() of their seed record, shape, order), current index only
        self._congdan: dict[tuple[int, str, tuple[str, ...]], etree._Element] = {}
        # MaYeuCau -> (operation, outcome, time): what GetRequestStatus answers
        self._requests: dict[str, tuple[str, str, str]] = {}
        self._handlers: dict[str, Callable[[dict[str, Any], str], list[tuple[str, Any]]]] = {
            "TraCuuThongTinCongDan": self._lookup,
            "XacThucThongTinCongDan": self._verify,
            "XacMinhThongTinNhanThan": self._lookup,
            "CungCapThongTinHoGiaDinh": self._household,
            "XacMinhTinhTrangHonNhan": self._marital_status,
            "GetRequestStatus": self._request_status,
        }
        self._app = Starlette(
            routes=[
                Route(SERVICE_PATH, self.service, methods=["GET", "POST"]),
                Route("/gateway/{operation:str}", self.gateway, methods=["POST"]),
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
            self._requests = {}

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
        if "reply_shape" in switches and switches["reply_shape"] not in SHAPES:
            raise ValueError(f"switch 'reply_shape' must be one of {', '.join(SHAPES)}")
        order = switches.get("record_order")
        if "record_order" in switches and not (
            order is None
            or (isinstance(order, str) and order in ORDERS)
            or (isinstance(order, list) and all(isinstance(n, str) for n in order))
        ):
            raise ValueError(
                f"switch 'record_order' must be one of {', '.join(ORDERS)}, "
                "a list of element names, or null"
            )
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

    def _shape(self) -> str:
        return str(self.ctx.switches(self.name).get("reply_shape") or "wsdl")

    def _order(self) -> tuple[str, ...]:
        order = self.ctx.switches(self.name).get("record_order")
        if isinstance(order, str):
            return ORDERS[order]
        return tuple(order) if isinstance(order, list) else ORDERS["td"]

    def _congdan_element(self, record: dict[str, Any]) -> etree._Element:
        """The record's ``CongDan``, built once per seed, shape and order (the index keeps
        records alive)."""
        shape, order = self._shape(), self._order()
        key = (id(record), shape, order)
        element = self._congdan.get(key)
        if element is None:
            fields = congdan_fields(record, order=order, today=self.ctx.clock.now_vn().date())
            if shape == "td":
                element = build_element("CongDan", fields, TD_COLLECTION_NS)
            else:
                extension = dict.fromkeys(UNKNOWN_ELEMENTS, EXT_NS)
                element = build_element("CongDan", fields, NS, extension)
            self._congdan[key] = element
        return element

    # --- routes ---------------------------------------------------------------------------

    @staticmethod
    def _service_url(request: Request) -> str:
        root = request.scope.get("root_path", "")
        return f"{request.url.scheme}://{request.url.netloc}{root}{SERVICE_PATH}"

    async def root(self, request: Request) -> Response:
        if "wsdl" in {k.lower() for k in request.query_params}:
            # Relative references resolve against the WSDL's URL: serve it from the
            # service URL.
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
            self._authenticate(request)
            operation, fields = self._parse_soap(await read_capped(request))
            return Response(self._answer(operation, fields), media_type=XML)
        except _Fault as fault:
            self._count(f"fault:{fault.code}")
            return _fault_response(fault)

    async def gateway(self, request: Request) -> Response:
        """The provincial gateway: flat JSON in, ``{error_code, message}`` out (HTTP 200
        unless the credentials are refused). Keys are matched case-insensitively (an
        ASP.NET client's ``PostAsJsonAsync`` sends them camelCased)."""
        operation = request.path_params["operation"]
        try:
            self._authenticate(request)
            fields = _gateway_fields(await read_capped(request))
            message = self._answer(operation, fields)
            return _gateway_reply("0", message, 200)
        except _Fault as fault:
            self._count(f"fault:{fault.code}")
            body, status = _fault_body(fault)
            return _gateway_reply(fault.code, body, 401 if status == 401 else 200)

    def _authenticate(self, request: Request) -> None:
        switches = self.ctx.switches(self.name)
        if switches.get("require_auth", True):
            tolerance = float(switches.get("timestamp_tolerance", DEFAULT_TOLERANCE))
            _style, reason = check_credentials(
                self.ctx, request.headers, str(request.url), tolerance
            )
            if reason is not None:
                raise _Fault("XAC_THUC_THAT_BAI", reason)

    @staticmethod
    def _parse_soap(body: bytes) -> tuple[str, dict[str, Any]]:
        try:
            return parse_request(body)
        except Malformed as exc:
            raise _Fault("XML_KHONG_HOP_LE", str(exc)) from None

    def _answer(self, operation: str, fields: dict[str, Any]) -> bytes:
        """The SOAP reply to ``operation`` (raises :class:`_Fault`)."""
        request_id = _text(fields, "MaYeuCau")
        if request_id is None:
            raise _Fault("THIEU_MA_YEU_CAU", "MaYeuCau is required and must not be empty")
        handler = self._handlers.get(operation)
        if handler is None:
            raise _Fault("THAO_TAC_KHONG_HO_TRO", f"unknown operation {operation}", request_id)
        forced = self.ctx.switches(self.name).get("force_fault")
        if forced:
            raise _Fault(str(forced), "fault injected by the admin switch force_fault", request_id)
        self._count(operation)
        try:
            reply = handler(fields, request_id)
        except _Fault as fault:
            self._remember(request_id, operation, fault.code)
            raise
        self._remember(request_id, operation, "DA_XU_LY")
        wrapper = None if self._shape() == "td" else f"{operation}Response"
        return build_response(wrapper, reply)

    def _remember(self, request_id: str, operation: str, outcome: str) -> None:
        if operation == "GetRequestStatus":
            return
        with self._lock:
            self._requests[request_id] = (operation, outcome, self.ctx.clock.now_vn().isoformat())

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

    def _matching(self, fields: dict[str, Any], request_id: str) -> dict[str, Any]:
        record, name, full, year = self._who(fields, request_id)
        if record is None or not same_name(record, name) or not birth_matches(record, full, year):
            raise _Fault(
                "KHONG_TIM_THAY",
                "no citizen with this ID number, full name and birth date",
                request_id,
            )
        return record

    def _lookup(self, fields: dict[str, Any], request_id: str) -> list[tuple[str, Any]]:
        record = self._matching(fields, request_id)
        collection = build_element(
            "CongdanCollection",
            {"CongDan": self._congdan_element(record), "SoCongDan": "1"},
            TD_COLLECTION_NS if self._shape() == "td" else NS,
        )
        if self._shape() == "td":
            return [("CongdanCollection", collection)]
        return [("MaYeuCau", request_id), ("CongdanCollection", collection)]

    def _verify(self, fields: dict[str, Any], request_id: str) -> list[tuple[str, Any]]:
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
        return [
            ("MaYeuCau", request_id),
            ("KetQua", not mismatched),
            ("DanhSachTruongKhongKhop", {"TruongKhongKhop": mismatched} if mismatched else None),
        ]

    def _household(self, fields: dict[str, Any], request_id: str) -> list[tuple[str, Any]]:
        record = self._matching(fields, request_id)
        return [("MaYeuCau", request_id), ("HoGiaDinh", household_fields(self._citizens(), record))]

    def _marital_status(self, fields: dict[str, Any], request_id: str) -> list[tuple[str, Any]]:
        record = self._matching(fields, request_id)
        return [("MaYeuCau", request_id), *marital_fields(record)]

    def _request_status(self, fields: dict[str, Any], request_id: str) -> list[tuple[str, Any]]:
        with self._lock:
            known = self._requests.get(request_id)
        if known is None:
            raise _Fault("KHONG_TIM_THAY", "no earlier request with this MaYeuCau", request_id)
        operation, outcome, when = known
        description = (
            f"{operation}: đã xử lý" if outcome == "DA_XU_LY" else f"{operation}: lỗi {outcome}"
        )
        return [
            ("MaYeuCau", request_id),
            ("TrangThai", "DA_XU_LY" if outcome == "DA_XU_LY" else "LOI"),
            ("MoTa", description),
            ("ThoiGianCapNhat", when),
        ]


_GATEWAY_KEYS = {
    name.lower(): name
    for name in (
        "MaYeuCau",
        "MaDVC",
        "MaTichHop",
        "MaCanBo",
        "MaDonVi",
        "TaiKhoan",
        "SoDienThoai",
        "SoDinhDanh",
        "SoCMND",
        "HoVaTen",
        "GioiTinh",
    )
}


def _gateway_fields(body: bytes) -> dict[str, Any]:
    """The flat JSON request as the SOAP request's fields (``NgayThangNam``/``Nam`` go
    back into ``NgayThangNamSinh``)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _Fault("XML_KHONG_HOP_LE", "the request is not JSON") from None
    if not isinstance(data, dict):
        raise _Fault("XML_KHONG_HOP_LE", "the request is not a JSON object")
    fields: dict[str, Any] = {}
    birth: dict[str, Any] = {}
    for key, value in data.items():
        lowered = str(key).lower()
        if value is None:
            continue
        if lowered in ("ngaythangnam", "nam"):
            birth["NgayThangNam" if lowered == "ngaythangnam" else "Nam"] = str(value)
        elif lowered in _GATEWAY_KEYS:
            fields[_GATEWAY_KEYS[lowered]] = str(value)
    if birth:
        fields["NgayThangNamSinh"] = birth
    return fields


def _gateway_reply(code: str, message: bytes, status: int) -> Response:
    payload = {"error_code": code, "message": message.decode("utf-8")}
    return Response(
        json.dumps(payload, ensure_ascii=False),
        status_code=status,
        media_type="application/json; charset=utf-8",
    )


def create_platform(ctx: MockContext) -> DanCuPlatform:
    return DanCuPlatform(ctx)
