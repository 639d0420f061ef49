"""Dossiers that flow down: citizen-submitted dossiers the portal delivers to the province.

The national portal does not wait to be asked: it *pushes* each dossier (and each
supplement) submitted there to the provincial system, through the national exchange
platform (``…/XrdAdapter/RestService/forward/nhanhsdvcqg`` or ``…/VXPAdapter/…``),
as ``POST`` JSON ``{"service", "isUpdating", "data": {…}}``; the province answers
``{"error_code": 0, "message"}`` when it has the dossier and ``-1`` when it has not
([OC] ``DVCQGIManagement`` ``/nhanhsdvcqg``, ``doCreateDossierSuaDoiBoSungFromDVCQG``).
The reply **is the acknowledgement**: a ``-1`` (or no reply at all) leaves the
dossier with the portal, which delivers it again.

:class:`DossierReceiver` is the sans-I/O handler of one delivery, crash-safe in the
same way as the document receive loop: it answers ``0`` only after the caller's
``store`` callback has returned (the dossier is committed on the province's side);
when ``store`` raises, or the process dies before answering, the portal keeps the
dossier and sends it again — so ``store`` must be idempotent
(:func:`delivery_key` gives a stable key: same dossier, same content, same key).
Serve it from any web framework, or with ``govlink dossiers receive``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field
from pydantic import ValidationError as PydanticValidationError

from govlink.core.redact import redact_text
from govlink.dossiers.models import OptWireDateTime, WireModel

__all__ = [
    "Delivery",
    "DirectoryStore",
    "DossierReceiver",
    "IncomingDossier",
    "delivery_key",
]

log = logging.getLogger("govlink.dossiers")

_MAX_BODY = 50 * 1024 * 1024
"""A delivery may carry base64 attachments ([OC] ``TepDonDangKy``); bigger is refused."""


class IncomingDossier(WireModel):
    """A dossier submitted on the portal, as delivered (``data`` of the push).

    ``MaHoSo`` is the portal's code (``MaHoSoQG`` in supplements, [OC]). Fields are
    open: what govlink does not name is kept (``model_extra``), attachments included.
    """

    ma_ho_so: str = Field(
        validation_alias=AliasChoices("MaHoSo", "MaHoSoQG", "ma_ho_so"),
        serialization_alias="MaHoSo",
        min_length=1,
        max_length=100,
    )
    procedure_code: str | None = Field(default=None, alias="MaTTHC")
    submitted_at: OptWireDateTime = Field(default=None, alias="NgayNopHoSo")
    tax_code: str | None = Field(default=None, alias="MaSoThue")
    owner_name: str | None = Field(default=None, alias="ChuHoSo")
    contact_name: str | None = Field(default=None, alias="NguoiLienHe")
    phone: str | None = Field(default=None, alias="DienThoai")
    email: str | None = Field(default=None, alias="Email")
    summary: str | None = Field(default=None, alias="TrichYeuHoSo")


@dataclass(frozen=True)
class Delivery:
    """One push from the portal: the dossier, whether it updates an earlier one
    (a supplement), the service named, and the raw ``data`` object as received."""

    dossier: IncomingDossier
    is_update: bool
    service: str
    raw: Mapping[str, Any]

    @property
    def key(self) -> str:
        return delivery_key(self.dossier.ma_ho_so, self.raw)


def delivery_key(ma_ho_so: str, data: Mapping[str, Any]) -> str:
    """``MaHoSo`` plus a digest of the content: a redelivery has the same key, a
    supplement (new content) a new one."""
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    return f"{ma_ho_so}.{digest}"


def _answer(code: int, message: str) -> bytes:
    return json.dumps({"error_code": code, "message": message}, ensure_ascii=False).encode()


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1")


class DossierReceiver:
    """Handles one delivery: parse, hand to ``store``, and only then acknowledge.

    ``store(delivery)`` must commit the dossier durably before it returns (and be
    idempotent by :attr:`Delivery.key`); whatever it raises makes the answer ``-1``,
    so the portal keeps the dossier and delivers it again.
    """

    def __init__(self, store: Callable[[Delivery], None]) -> None:
        self.store = store

    def parse(self, body: bytes) -> Delivery:
        """The delivery in ``body``; ``ValueError`` saying what is wrong."""
        if len(body) > _MAX_BODY:
            raise ValueError("the delivery is larger than 50 MB")
        try:
            message = json.loads(body)
        except ValueError:
            raise ValueError("the body is not JSON") from None
        if not isinstance(message, dict):
            raise ValueError("the body is not a JSON object")
        data = message.get("data") if "data" in message else message  # both routes of [OC]
        if not isinstance(data, dict):
            raise ValueError("data is not a JSON object")
        try:
            dossier = IncomingDossier.model_validate(data)
        except PydanticValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "data"
            raise ValueError(f"{where}: {first.get('msg', 'invalid')}") from None
        service = message.get("service") if "data" in message else None
        return Delivery(
            dossier=dossier,
            is_update=_flag(message.get("isUpdating", False)),
            service=str(service or ""),
            raw=data,
        )

    def handle(self, body: bytes) -> tuple[int, bytes]:
        """``(HTTP status, reply body)`` for one delivery; ``0`` only once stored."""
        try:
            delivery = self.parse(body)
        except ValueError as exc:
            log.warning("refused a dossier delivery: %s", exc)
            return 200, _answer(-1, f"dữ liệu không hợp lệ (invalid delivery): {exc}")
        code = delivery.dossier.ma_ho_so
        try:
            self.store(delivery)
        except Exception as exc:  # not stored: the portal must keep it and resend
            log.error(
                "dossier %s not stored, answered -1 so the portal delivers it again: %s",
                code,
                redact_text(str(exc))[:300],
            )
            return 200, _answer(-1, f"{code}| chưa lưu được, vui lòng gửi lại (not stored)")
        log.info("dossier %s received and stored (%s)", code, delivery.key)
        return 200, _answer(0, f"{code}| tiếp nhận thành công (received)")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class DirectoryStore:
    """A ``store`` for :class:`DossierReceiver` that writes each delivery to
    ``<directory>/<key>.json`` durably (temporary file, fsync, atomic rename, fsync of
    the directory) before returning; a redelivery rewrites the same file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, delivery: Delivery) -> Path:
        return self.directory / f"{_UNSAFE.sub('_', delivery.key)}.json"

    def __call__(self, delivery: Delivery) -> None:
        record = {
            "service": delivery.service,
            "isUpdating": delivery.is_update,
            "data": dict(delivery.raw),
        }
        target = self.path_for(delivery)
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".incoming-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle, ensure_ascii=False, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
