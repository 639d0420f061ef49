"""Sans-I/O mapping between govlink's models and the SOAP operation's values.

Requests become the keyword arguments zeep serialises against the shipped WSDL;
replies (zeep objects) become :class:`~govlink.citizens.models.Citizen` and
:class:`~govlink.citizens.models.VerificationResult`; SOAP faults become the
errors a caller can act on. No I/O here, so the sync and async clients share it.

Fault codes (``LoiDichVu/MaLoi`` in the fault detail) are the ones the govlink mock
returns; the real service's list is not public, so unknown codes fall back to a
:class:`~govlink.core.soap.SoapFaultError` that keeps code, text and detail.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree
from zeep.xsd.valueobjects import CompoundValue

from govlink.citizens.models import BirthDate, Citizen, VerificationResult
from govlink.citizens.validation import (
    IdKind,
    normalize_id_number,
    normalize_name,
    parse_birth_date,
)
from govlink.core.errors import GovLinkError, NotFoundError, PlatformError, ValidationError
from govlink.core.soap import SoapAuthenticationError, SoapFault, SoapFaultError

__all__ = [
    "AUTH_FAULT_CODES",
    "CONTEXT_FIELDS",
    "NOT_FOUND_FAULT_CODES",
    "CallerContext",
    "CitizenQuery",
    "citizens_from_reply",
    "map_fault",
    "query_params",
    "verification_from_reply",
]

log = logging.getLogger("govlink.citizens")

CONTEXT_FIELDS: tuple[str, ...] = (
    "MaDVC",
    "MaTichHop",
    "MaCanBo",
    "MaDonVi",
    "TaiKhoan",
    "SoDienThoai",
)
"""Caller context sent with every request, read from ``settings.citizens.options``."""

_SNAKE = {
    "ma_dvc": "MaDVC",
    "ma_tich_hop": "MaTichHop",
    "ma_can_bo": "MaCanBo",
    "ma_don_vi": "MaDonVi",
    "tai_khoan": "TaiKhoan",
    "so_dien_thoai": "SoDienThoai",
}

NOT_FOUND_FAULT_CODES = frozenset({"KHONG_TIM_THAY"})
AUTH_FAULT_CODES = frozenset({"XAC_THUC_THAT_BAI", "KHONG_CO_QUYEN"})
_MALFORMED_FAULT_CODES = frozenset(
    {"XML_KHONG_HOP_LE", "THIEU_MA_YEU_CAU", "THIEU_THONG_TIN", "SAI_DINH_DANG"}
)


@dataclass(frozen=True)
class CallerContext:
    """Who asks: service, integration, officer, unit, account and phone (wire names).

    ``settings.citizens.options`` may spell the keys as on the wire (``MaDVC``) or in
    snake case (``ma_dvc``); unknown keys are ignored so other options can live there.
    """

    values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> CallerContext:
        found: dict[str, str] = {}
        lowered = {name.lower(): name for name in CONTEXT_FIELDS}
        for key, value in options.items():
            wire = _SNAKE.get(key) or lowered.get(key.lower())
            if wire is None or value is None or value == "":
                continue
            found[wire] = str(value)
        return cls(tuple((name, found[name]) for name in CONTEXT_FIELDS if name in found))

    def to_wire(self) -> dict[str, str]:
        return dict(self.values)


@dataclass(frozen=True)
class CitizenQuery:
    """A validated, normalised "who": ID number, name and birth date."""

    id_kind: IdKind
    id_number: str
    full_name: str
    birth_date: BirthDate

    @classmethod
    def build(
        cls,
        *,
        so_dinh_danh: object = None,
        so_cmnd: object = None,
        ho_ten: object,
        ngay_sinh: object,
    ) -> CitizenQuery:
        """Validate the caller's input; errors name the parameter they passed."""
        if so_dinh_danh is None and so_cmnd is None:
            raise ValidationError(
                "so_dinh_danh", "a 12-digit personal ID (or so_cmnd, a 9-digit old card)"
            )
        if so_dinh_danh is not None and so_cmnd is not None:
            raise ValidationError(
                "so_cmnd", "either so_dinh_danh or so_cmnd, not both (the service takes one)"
            )
        if so_dinh_danh is not None:
            # 12 digits travel as SoDinhDanh, 9 (an old card typed in the same box) as SoCMND
            kind, digits = normalize_id_number(so_dinh_danh, field="so_dinh_danh")
        else:
            # an explicit old card number is SoCMND whatever its length (9 or 12 digits)
            _kind, digits = normalize_id_number(so_cmnd, field="so_cmnd")
            kind = "SoCMND"
        name = normalize_name(ho_ten, field="ho_ten")
        year, full = parse_birth_date(ngay_sinh, field="ngay_sinh")
        return cls(kind, digits, name, BirthDate(year=year, date=full))


def query_params(
    query: CitizenQuery,
    context: CallerContext,
    request_id: str,
    **extra: str | None,
) -> dict[str, Any]:
    """Keyword arguments for ``TraCuuThongTinCongDan`` / ``XacThucThongTinCongDan``."""
    params: dict[str, Any] = {"MaYeuCau": request_id}
    params.update(context.to_wire())
    params[query.id_kind] = query.id_number
    params["HoVaTen"] = query.full_name
    params["NgayThangNamSinh"] = query.birth_date.to_wire()
    params.update({k: v for k, v in extra.items() if v is not None})
    return params


# ----------------------------------------------------------------------- replies


def _plain(value: Any) -> Any:
    """zeep objects → dicts/lists/str without Nones (so model defaults apply)."""
    if isinstance(value, CompoundValue):
        # __values__ directly: zeep's attribute lookup on CompoundValue is slow
        value = object.__getattribute__(value, "__values__")
    if isinstance(value, dict):
        # most values are text: no call for them (this runs once per element read)
        return {k: v if type(v) is str else _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [v if type(v) is str else _plain(v) for v in value]
    return value


def _extra_elements(elements: list[Any]) -> dict[str, str]:
    """Unknown elements (``xsd:any``) → wire name → text, or the XML when it has children."""
    out: dict[str, str] = {}
    for element in elements:
        if not isinstance(element, etree._Element) or not isinstance(element.tag, str):
            continue
        name = etree.QName(element).localname
        if len(element):
            text = etree.tostring(element, encoding="unicode")
        else:
            text = (element.text or "").strip()
        out[name] = text if name not in out else f"{out[name]}\n{text}"
    return out


def citizen_from_wire(data: Mapping[str, Any]) -> Citizen:
    """One ``CongDan`` (plain dict from :func:`_plain`) → :class:`Citizen`."""
    record = dict(data)
    extra = _extra_elements(record.pop("_value_1", None) or [])
    if extra:
        record["extra"] = extra
    try:
        return Citizen.model_validate(record)
    except ValueError as exc:
        raise PlatformError(
            f"TraCuuThongTinCongDan: a citizen record cannot be read ({_first_error(exc)})",
            hint="the service's record format changed; report it with the evidence",
        ) from None


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg')}"
    return type(exc).__name__


def citizens_from_reply(value: Any) -> list[Citizen]:
    """All ``CongdanCollection/CongDan`` records of a lookup reply."""
    reply = _plain(value) or {}
    collection = reply.get("CongdanCollection") or {}
    records = collection.get("CongDan") or []
    return [citizen_from_wire(record) for record in records]


def verification_from_reply(value: Any) -> VerificationResult:
    """``XacThucThongTinCongDanResponse`` → :class:`VerificationResult`."""
    reply = _plain(value) or {}
    fields = (reply.get("DanhSachTruongKhongKhop") or {}).get("TruongKhongKhop") or []
    if "KetQua" not in reply:
        raise PlatformError(
            "XacThucThongTinCongDan: the reply has no KetQua (result)",
            hint="the service's reply format changed; report it with the evidence",
        )
    return VerificationResult(
        matches=bool(reply["KetQua"]),
        mismatched_fields=tuple(str(f) for f in fields),
        request_id=reply.get("MaYeuCau"),
    )


# ------------------------------------------------------------------------ faults


def map_fault(fault: SoapFault) -> GovLinkError:
    """A fault → :class:`NotFoundError`, an authentication error, or a platform error.

    The service's own code (``LoiDichVu/MaLoi`` in the detail) wins over the SOAP
    ``faultcode`` (``soap:Client``/``soap:Server``); both stay available (``.code``,
    and ``.fault`` on the SOAP error classes).
    """
    service_code = fault.detail_text("MaLoi")
    code = service_code or fault.code
    text = f"SOAP fault {fault.code}" + (f" {service_code}" if service_code else "")
    text = f"{text}: {fault.message}"
    operation = fault.operation or "population database"
    if fault.status_code in (401, 403) or service_code in AUTH_FAULT_CODES:
        return SoapAuthenticationError(
            f"{operation}: the service refused the credentials ({text})",
            fault=fault,
            code=code,
            hint="check GOVLINK_CITIZENS__AUTH__* (style, user name, secret) and the clock "
            "(the hashed Basic header carries a timestamp)",
        )
    if service_code in NOT_FOUND_FAULT_CODES:
        return NotFoundError(
            f"{operation}: no citizen matches the ID number, name and birth date ({text})",
            code=code,
            raw=fault.raw,
            status_code=fault.status_code,
            hint="check the ID number, the full name (with diacritics) and the birth date "
            "against the citizen's ID card",
            correlation_id=fault.correlation_id,
        )
    if service_code in _MALFORMED_FAULT_CODES:
        hint = "the service rejected the request's format; report it with the evidence"
    elif fault.local_code == "Server":
        hint = "the service failed; retry later, and report it if it persists"
    else:
        hint = None
    return SoapFaultError(f"{operation}: {text}", fault=fault, code=code, hint=hint)
