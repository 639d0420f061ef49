"""The population-database calls, sans I/O: what to send, and what the reply means.

:class:`CitizenService` turns a method call into a :class:`PreparedCall` (operation,
zeep parameters, request id, whether it is safe to retry) and a
:class:`~govlink.core.soap.SoapResult` into a model. The sync and async clients in
:mod:`govlink.citizens.client` only send what it prepared.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govlink.citizens.codec import (
    CallerContext,
    CitizenQuery,
    citizens_from_reply,
    query_params,
    verification_from_reply,
)
from govlink.citizens.models import Citizen, Gender, VerificationResult
from govlink.core.errors import NotFoundError, ValidationError
from govlink.core.soap import SoapResult

__all__ = [
    "DEFAULT_SERVICE_PATH",
    "LOOKUP",
    "VERIFY",
    "WSDL_PATH",
    "CitizenService",
    "PreparedCall",
    "new_request_id",
]

log = logging.getLogger("govlink.citizens")

WSDL_PATH = Path(__file__).resolve().parent / "wsdl" / "dancu.wsdl"
"""The shipped WSDL (with ``dancu.xsd`` next to it); never fetched from the service."""

DEFAULT_SERVICE_PATH = "/CongDanService"
"""Endpoint path under ``settings.citizens.base_url`` (override: ``paths.service``)."""

LOOKUP = "TraCuuThongTinCongDan"
VERIFY = "XacThucThongTinCongDan"


def new_request_id() -> str:
    """A fresh ``MaYeuCau``: the service wants every request uniquely identified."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class PreparedCall:
    """One operation ready to send. Both operations are reads, so ``safe`` is True."""

    operation: str
    params: dict[str, Any]
    request_id: str
    safe: bool = True


class CitizenService:
    """Builds requests with the caller context and a unique ``MaYeuCau``; reads replies."""

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        *,
        request_id_factory: Callable[[], str] | None = None,
    ) -> None:
        self.context = CallerContext.from_options(options or {})
        self.request_id_factory = request_id_factory or new_request_id

    def _request_id(self, given: str | None) -> str:
        request_id = given if given is not None else self.request_id_factory()
        if not isinstance(request_id, str) or not request_id.strip():
            raise ValidationError("request_id", "a non-empty string (MaYeuCau)", got=request_id)
        return request_id

    def lookup_request(
        self,
        *,
        so_dinh_danh: object = None,
        so_cmnd: object = None,
        ho_ten: object,
        ngay_sinh: object,
        request_id: str | None = None,
    ) -> PreparedCall:
        query = CitizenQuery.build(
            so_dinh_danh=so_dinh_danh, so_cmnd=so_cmnd, ho_ten=ho_ten, ngay_sinh=ngay_sinh
        )
        rid = self._request_id(request_id)
        return PreparedCall(LOOKUP, query_params(query, self.context, rid), rid)

    def lookup_result(self, call: PreparedCall, result: SoapResult) -> Citizen:
        citizens = citizens_from_reply(result.value)
        cid = result.evidence.correlation_id if result.evidence else None
        if not citizens:
            raise NotFoundError(
                f"{LOOKUP}: no citizen matches the ID number, name and birth date",
                code="EMPTY",
                raw=result.evidence.response_body if result.evidence else None,
                hint="check the ID number, the full name (with diacritics) and the birth date",
                correlation_id=cid,
            )
        if len(citizens) > 1:
            log.warning(
                "%s returned %d records for one ID number; using the first [correlation id %s]",
                LOOKUP,
                len(citizens),
                cid,
            )
        citizen = citizens[0]
        citizen._request_id = call.request_id
        citizen._evidence = result.evidence
        return citizen

    def verify_request(
        self,
        *,
        so_dinh_danh: object = None,
        so_cmnd: object = None,
        ho_ten: object,
        ngay_sinh: object,
        gioi_tinh: str | Gender | None = None,
        request_id: str | None = None,
    ) -> PreparedCall:
        query = CitizenQuery.build(
            so_dinh_danh=so_dinh_danh, so_cmnd=so_cmnd, ho_ten=ho_ten, ngay_sinh=ngay_sinh
        )
        gender = None if gioi_tinh is None else Gender(str(gioi_tinh).strip()).value
        rid = self._request_id(request_id)
        return PreparedCall(VERIFY, query_params(query, self.context, rid, GioiTinh=gender), rid)

    def verify_result(self, call: PreparedCall, result: SoapResult) -> VerificationResult:
        verification = verification_from_reply(result.value)
        if verification.request_id is None:
            verification = verification.model_copy(update={"request_id": call.request_id})
        verification._evidence = result.evidence
        return verification
