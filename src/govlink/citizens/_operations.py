"""The population database's calls, sans I/O: what to send and what the reply means.

:func:`person_call` validates the caller's input (who: ID number, name, birth date)
and returns a :class:`Prepared` call: the operation's wire name, its request fields in
schema order, and ``finish``, which reads the answer element into the result (by
name, :func:`reads`; or :func:`first_citizen` for a ``CongdanCollection``). The
clients in :mod:`govlink.citizens.client` run it through the core driver, and
:mod:`govlink.citizens._wire` writes and unwraps it for the profile's transport.

Adding an operation about a person touches six files: its result model
(``models.py``), a method pair naming the operation and its model (``client.py``;
the CLI command follows from the method), its elements in the WSDL, the mock's
handler, the docs page and a test. Nothing here changes.

Fault codes (``LoiDichVu/MaLoi`` in the fault detail) are the ones the govlink mock
returns; the real service's list is not public, so unknown codes fall back to a
:class:`~govlink.core.soap.SoapFaultError` that keeps code, text and detail.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from lxml import etree

from govlink.citizens._reader import read_model
from govlink.citizens._validation import (
    BirthDateInput,
    IdKind,
    normalize_id_number,
    normalize_name,
    parse_birth_date,
)
from govlink.citizens._wire import Fields
from govlink.citizens.models import (
    BirthDate,
    Citizen,
    CitizenCollection,
    Gender,
    RequestStatus,
)
from govlink.citizens.options import CitizensOptions
from govlink.core.errors import GovLinkError, NotFoundError, ValidationError
from govlink.core.http import Evidence
from govlink.core.soap import SoapAuthenticationError, SoapFault, SoapFaultError

__all__ = [
    "AUTH_FAULT_CODES",
    "NOT_FOUND_FAULT_CODES",
    "BirthDateInput",
    "CitizensOptions",
    "Finish",
    "PersonQuery",
    "Prepared",
    "first_citizen",
    "gender_field",
    "map_fault",
    "new_request_id",
    "person_call",
    "person_query",
    "reads",
    "request_status",
]

log = logging.getLogger("govlink.citizens")


NOT_FOUND_FAULT_CODES = frozenset({"KHONG_TIM_THAY"})
AUTH_FAULT_CODES = frozenset({"XAC_THUC_THAT_BAI", "KHONG_CO_QUYEN"})
_MALFORMED_FAULT_CODES = frozenset(
    {"XML_KHONG_HOP_LE", "THIEU_MA_YEU_CAU", "THIEU_THONG_TIN", "SAI_DINH_DANG"}
)


def new_request_id() -> str:
    """A fresh ``MaYeuCau``: the service wants every request uniquely identified."""
    return uuid.uuid4().hex


R = TypeVar("R")


@dataclass(frozen=True)
class Prepared(Generic[R]):
    """One operation ready to send. Every operation is a read, so retrying is safe."""

    operation: str
    fields: Fields
    request_id: str
    finish: Callable[[etree._Element, Evidence | None], R] = field(repr=False)
    safe: bool = True


@dataclass(frozen=True)
class PersonQuery:
    """A validated, normalised "who": ID number, name and birth date."""

    id_kind: IdKind
    id_number: str
    full_name: str
    birth_date: BirthDate

    def fields(self) -> Fields:
        return (
            ("SoDinhDanh", self.id_number if self.id_kind == "SoDinhDanh" else None),
            ("SoCMND", self.id_number if self.id_kind == "SoCMND" else None),
            ("HoVaTen", self.full_name),
            ("NgayThangNamSinh", self.birth_date.to_wire()),
        )


def person_query(
    id_number: object, old_id_number: object, full_name: object, birth_date: object
) -> PersonQuery:
    """Validate the caller's input; errors name the parameter they passed."""
    if id_number is None and old_id_number is None:
        raise ValidationError(
            "id_number", "a 12-digit personal ID (or old_id_number, a 9-digit old card)"
        )
    if id_number is not None and old_id_number is not None:
        raise ValidationError(
            "old_id_number", "either id_number or old_id_number, not both (the service takes one)"
        )
    if id_number is not None:
        # 12 digits travel as SoDinhDanh, 9 (an old card typed in the same box) as SoCMND
        kind, digits = normalize_id_number(id_number, field="id_number")
    else:
        # an explicit old card number is SoCMND whatever its length (9 or 12 digits)
        _kind, digits = normalize_id_number(old_id_number, field="old_id_number")
        kind = "SoCMND"
    name = normalize_name(full_name, field="full_name")
    year, full = parse_birth_date(birth_date, field="birth_date")
    return PersonQuery(kind, digits, name, BirthDate(year=year, date=full))


def _request_id(given: str | None, factory: Callable[[], str]) -> str:
    request_id = given if given is not None else factory()
    if not isinstance(request_id, str) or not request_id.strip():
        raise ValidationError("request_id", "a non-empty string (MaYeuCau)", got=request_id)
    return request_id


def _stamp(result: Any, request_id: str) -> Any:
    result._request_id = request_id
    return result


def _reader(cls: type[Any], request_id: str) -> Callable[[etree._Element, Evidence | None], Any]:
    def finish(element: etree._Element, evidence: Evidence | None) -> Any:
        result = read_model(cls, element)
        if getattr(result, "request_id", None) is None and "request_id" in cls.model_fields:
            result = result.model_copy(update={"request_id": request_id})
        return _stamp(result, request_id)

    return finish


Finish = Callable[[str, str], Callable[[etree._Element, "Evidence | None"], R]]
"""``(operation, request id) → finish``: how an operation's answer becomes its result."""


def reads(cls: type[R]) -> Finish[R]:
    """The answer read by name into ``cls`` (its ``request_id`` defaulting to the one sent)."""
    return lambda _operation, request_id: _reader(cls, request_id)


def first_citizen(operation: str, request_id: str) -> Callable[..., Citizen]:
    """The first ``CongDan`` of a ``CongdanCollection`` answer (all of them in
    ``.collection``); none is :class:`NotFoundError`."""

    def finish(element: etree._Element, evidence: Evidence | None) -> Citizen:
        collection = read_model(CitizenCollection, element)
        _stamp(collection, request_id)
        cid = evidence.correlation_id if evidence else None
        if not collection.citizens:
            raise NotFoundError(
                f"{operation}: no citizen matches the ID number, name and birth date",
                code="EMPTY",
                raw=evidence.response_body if evidence else None,
                hint="check the ID number, the full name (with diacritics) and the birth date",
                correlation_id=cid,
            )
        if len(collection.citizens) > 1:
            log.warning(
                "%s returned %d records for one ID number; using the first "
                "(all are in .collection) [correlation id %s]",
                operation,
                len(collection.citizens),
                cid,
            )
        citizen = collection.citizens[0]
        _stamp(citizen, request_id)
        citizen._collection = collection
        return citizen

    return finish


def gender_field(gender: str | Gender | None) -> Fields:
    """``GioiTinh`` as the service spells it (checked: a code we send must be known)."""
    return (("GioiTinh", None if gender is None else Gender(str(gender).strip()).value),)


def person_call(
    operation: str,
    finish: Finish[R],
    options: CitizensOptions,
    *,
    id_number: object = None,
    full_name: object = None,
    birth_date: object = None,
    old_id_number: object = None,
    request_id: str | None = None,
    request_id_factory: Callable[[], str] = new_request_id,
    more: Fields = (),
) -> Prepared[R]:
    """An operation about one person: request id, caller context, who (validated), and
    the operation's own fields (``more``), in schema order."""
    who = person_query(id_number, old_id_number, full_name, birth_date)
    rid = _request_id(request_id, request_id_factory)
    fields = (("MaYeuCau", rid), *options.context_fields(), *who.fields(), *more)
    return Prepared(operation, fields, rid, finish(operation, rid))


def request_status(options: CitizensOptions, *, request_id: object) -> Prepared[RequestStatus]:
    """``GetRequestStatus``: where the earlier request ``request_id`` (its MaYeuCau) stands."""
    if not isinstance(request_id, str) or not request_id.strip():
        raise ValidationError(
            "request_id", "the MaYeuCau of an earlier request (a non-empty string)", got=request_id
        )
    rid = request_id.strip()
    fields = (("MaYeuCau", rid), *options.context_fields())
    return Prepared("GetRequestStatus", fields, rid, _reader(RequestStatus, rid))


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
            f"{operation}: no record matches the request ({text})",
            code=code,
            raw=fault.raw,
            status_code=fault.status_code,
            hint="check the ID number, the full name (with diacritics) and the birth date "
            "against the citizen's ID card (or the request id for GetRequestStatus)",
            correlation_id=fault.correlation_id,
        )
    if service_code in _MALFORMED_FAULT_CODES:
        hint = "the service rejected the request's format; report it with the evidence"
    elif fault.local_code == "Server":
        hint = "the service failed; retry later, and report it if it persists"
    else:
        hint = None
    return SoapFaultError(f"{operation}: {text}", fault=fault, code=code, hint=hint)
