"""Sans-I/O request building and reply parsing for the DVCQG integration API.

Every call is ``POST {adapter}{integration_path}`` with a JSON body
``{"session", "madonvi", "service", …}`` (PLATFORMS.md §2). Replies carry
``error_code`` (``"00"``/``0`` = success) and ``result``.

Assumptions about the real portal, mirrored by the mock (docs/platforms/dossiers.md):

* **per-item results** — a batch reply (``DongBoHoSoMC``, ``CapNhatTienDoHoSoMC``)
  may carry ``result: [{"MaHoSo", "IdempotencyKey", "error_code", "message",
  "duplicate"}, …]``, one entry per item in the order sent. The top-level code is
  ``"00"`` when every item was accepted and ``"10"`` when some were refused.
  A success reply without per-item entries means every item was accepted; an error
  reply without them means the whole request was refused.
* **session expiry** — error code ``"02"`` (or HTTP 401) means the session is no
  longer valid; the client logs in again and replays the call once
  (``options.session_expired_codes`` overrides the codes).
* **idempotency** — each change carries ``IdempotencyKey`` inside its item
  (``options.idempotency_field`` renames it; an empty name omits it). The portal
  may ignore it; the mock uses it to apply a redelivered change only once.
* **transient codes** — ``"99"`` (portal busy/internal error) is worth retrying
  (``options.transient_codes``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from govlink.core.driver import EvidenceMixin
from govlink.core.errors import (
    AuthenticationError,
    NotFoundError,
    PlatformError,
)
from govlink.core.redact import redact_text
from govlink.dossiers.options import DossiersOptions

__all__ = [
    "BATCH_PARTLY_REJECTED",
    "DEFAULT_INTEGRATION_PATH",
    "DEFAULT_SHARE_PATH",
    "NOT_FOUND_CODES",
    "OK_CODES",
    "SERVICE_CATALOGUE_AGENCIES",
    "SERVICE_CATALOGUE_FIELDS",
    "SERVICE_CATALOGUE_PROCEDURE",
    "SERVICE_CATALOGUE_PROCEDURES",
    "SERVICE_LOOKUP",
    "SERVICE_PROGRESS",
    "SERVICE_PROMOTION_STATUS",
    "SERVICE_PUBLIC_SERVICES",
    "SERVICE_QA_ANSWERS",
    "SERVICE_QA_ANSWER_PUSH",
    "SERVICE_QA_FROM_PORTAL",
    "SERVICE_QA_OF_MINISTRIES",
    "SERVICE_QA_PUSH",
    "SERVICE_SATISFACTION",
    "SERVICE_SYNC",
    "SERVICE_TECH_ID",
    "SHARE_SERVICES",
    "BatchRejectedError",
    "BatchResult",
    "ItemResult",
    "OutgoingItem",
    "PortalBusyError",
    "ReplyCodes",
    "SessionExpiredError",
    "SyncReport",
    "build_bare_array",
    "build_batch_body",
    "build_body",
    "encode_item",
    "error_code_of",
    "parse_batch_reply",
    "parse_list_reply",
    "parse_reply",
]

SERVICE_SYNC = "DongBoHoSoMC"
SERVICE_PROGRESS = "CapNhatTienDoHoSoMC"
SERVICE_LOOKUP = "TraCuuHoSo"
SERVICE_CATALOGUE_PROCEDURES = "LayDanhSachTTHC"
SERVICE_CATALOGUE_PROCEDURE = "LayThuTuc"
SERVICE_CATALOGUE_AGENCIES = "LayDanhMucCoQuan"
SERVICE_CATALOGUE_FIELDS = "LayDanhMucLinhVuc"
SERVICE_TECH_ID = "TraCuuTechID"
SERVICE_PUBLIC_SERVICES = "LayDVC"
SERVICE_PROMOTION_STATUS = "DongBoTrangThaiHoSo"
SERVICE_SATISFACTION = "DongBoDanhGia"
SERVICE_QA_FROM_PORTAL = "LayDanhSachHoiDapGuiTuDVCQG"
SERVICE_QA_OF_MINISTRIES = "LayDanhSachHoiDapBoCoQuan"
SERVICE_QA_ANSWERS = "LayNoiDungTraLoiTheoCauHoi"
SERVICE_QA_PUSH = "DongBoHoiDap"
SERVICE_QA_ANSWER_PUSH = "DongBoKetQuaHoiDapGuiTuDVCQG"

SHARE_SERVICES = frozenset(
    {
        SERVICE_CATALOGUE_PROCEDURES,
        SERVICE_TECH_ID,
        SERVICE_CATALOGUE_AGENCIES,
        SERVICE_CATALOGUE_FIELDS,
    }
)
"""Services [OC] sends to ``adapter + share_endpoint`` (``getSharingDictCollection``);
every other service goes to ``adapter + integration_endpoint``."""

DEFAULT_INTEGRATION_PATH = "/integration"
DEFAULT_SHARE_PATH = "/share"
OK_CODES = frozenset({"0", "00"})
BATCH_PARTLY_REJECTED = "10"
NOT_FOUND_CODES = frozenset({"15"})


class SessionExpiredError(AuthenticationError):
    """The portal no longer accepts the session; the client logs in and replays once."""


class PortalBusyError(PlatformError):
    """A portal error code that says "try again later"; the outbox retries it."""

    retryable = True


@dataclass(frozen=True)
class ReplyCodes:
    """Which portal codes mean what (configurable per deployment)."""

    session_expired: frozenset[str] = frozenset({"02"})
    transient: frozenset[str] = frozenset({"99"})
    not_found: frozenset[str] = NOT_FOUND_CODES
    already_exists: frozenset[str] = frozenset({"3", "-3"})
    """A create refused because the dossier exists ([TD]): re-sent as an update."""
    unknown_dossier: frozenset[str] = frozenset({"15"})
    """An update refused because the portal has no such dossier: re-sent as a create."""
    already_exists_phrases: tuple[str, ...] = ("đã tồn tại",)
    """Reply messages that mean "already exists" even under code 0 ([TD])."""

    @property
    def item_level(self) -> frozenset[str]:
        """Top-level codes that are a verdict on the items, not on the request."""
        return self.already_exists | self.unknown_dossier

    @classmethod
    def from_options(cls, options: DossiersOptions | Mapping[str, Any]) -> ReplyCodes:
        """The codes ``settings.dossiers.options`` set (typed, or a raw table)."""
        typed = options if isinstance(options, DossiersOptions) else DossiersOptions.parse(options)
        phrases = typed.already_exists_phrases
        return cls(
            session_expired=typed.session_expired_codes or cls.session_expired,
            transient=typed.transient_codes or cls.transient,
            not_found=typed.not_found_codes or cls.not_found,
            already_exists=typed.already_exists_codes or cls.already_exists,
            unknown_dossier=typed.unknown_dossier_codes or cls.unknown_dossier,
            already_exists_phrases=(
                cls.already_exists_phrases if phrases is None else tuple(p.lower() for p in phrases)
            ),
        )

    def says_exists(self, message: str) -> bool:
        text = message.lower()
        return any(phrase and phrase in text for phrase in self.already_exists_phrases)


# ------------------------------------------------------------------------ requests


@dataclass(frozen=True, slots=True)
class OutgoingItem:
    """One item of a batch, already encoded: its dossier id, key and JSON text."""

    ma_ho_so: str
    idempotency_key: str | None
    json_text: str


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_PLAIN_KEY = re.compile(r"[A-Za-z0-9._:-]+")


def encode_item(wire: Mapping[str, Any] | str, idempotency_key: str | None, field_name: str) -> str:
    """The item's JSON text with the idempotency key as its first member.

    Accepts the wire dict or its JSON text (as stored in the outbox), so a queued
    change is spliced into the request without being decoded and re-encoded.
    """
    text = wire if isinstance(wire, str) else _dumps(wire)
    if not idempotency_key or not field_name:
        return text
    plain = idempotency_key.isalnum() or _PLAIN_KEY.fullmatch(idempotency_key) is not None
    if plain and text[:2] == '{"' and text[-1:] == "}":  # what govlink itself stores
        return f'{{"{field_name}":"{idempotency_key}",{text[1:]}'
    quoted = '"' + idempotency_key + '"' if plain else _dumps(idempotency_key)
    prefix = '{"' + field_name + '":' + quoted
    if text.startswith('{"') and text.endswith("}"):
        return prefix + "," + text[1:]
    body = text.strip()
    if not body.startswith("{") or not body.endswith("}"):
        raise ValueError("a portal item must be a JSON object")
    rest = body[1:].lstrip()
    return prefix + ("}" if rest == "}" else "," + rest)


def build_body(session: str, madonvi: str, service: str, **fields: Any) -> bytes:
    """The JSON body of a non-batch call (lookups, catalogue reads).

    ``fields`` are the wire parameters by their wire names (``mahoso``, ``maTTHC``).
    """
    payload: dict[str, Any] = {"session": session, "madonvi": madonvi, "service": service}
    payload.update({k: v for k, v in fields.items() if v is not None})
    return _dumps(payload).encode("utf-8")


def build_bare_array(items: Sequence[OutgoingItem]) -> bytes:
    """A proxy's body: the items as a bare JSON array ([TD])."""
    return ("[" + ",".join([item.json_text for item in items]) + "]").encode("utf-8")


def build_batch_body(
    session: str,
    madonvi: str,
    service: str,
    items: Sequence[OutgoingItem],
    *,
    is_updating: bool | None = None,
) -> bytes:
    """The JSON body of a batch call; ``data`` is spliced from the items' JSON texts."""
    head: dict[str, Any] = {"session": session, "madonvi": madonvi, "service": service}
    if is_updating is not None:
        head["isUpdating"] = "True" if is_updating else "False"
    data = ",".join([item.json_text for item in items])
    return "".join((_dumps(head)[:-1], ',"data":[', data, "]}")).encode("utf-8")


# ------------------------------------------------------------------------- replies


def error_code_of(data: Mapping[str, Any]) -> str:
    """The reply's code as a string (the portal sends ``0`` and ``"00"`` alike)."""
    code = data.get("error_code", data.get("errorCode"))
    return "" if code is None else str(code).strip()


def _message_of(data: Mapping[str, Any]) -> str:
    for key in ("message", "error_message", "msg", "error"):
        value = data.get(key)
        if value:
            return str(value)
    return "no message"


def _decode(status_code: int, body: bytes | str | Mapping[str, Any], service: str) -> Any:
    if isinstance(body, Mapping):
        return body
    try:
        return json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        # A garbled reply is not the portal's verdict on the data: worth another try.
        raise PortalBusyError(
            f"{service}: the portal answered HTTP {status_code} with a body that is not JSON: "
            f"{redact_text(text[:300])}",
            raw=body,
            status_code=status_code,
            hint="if this persists, check GOVLINK_DOSSIERS__BASE_URL and "
            "GOVLINK_DOSSIERS__PATHS__INTEGRATION",
        ) from None


def parse_reply(
    status_code: int,
    body: bytes | str | Mapping[str, Any],
    service: str,
    *,
    codes: ReplyCodes = ReplyCodes(),
    allow_partial: bool = False,
) -> dict[str, Any]:
    """The decoded reply, or the error it means.

    Raises :class:`SessionExpiredError` for expiry, :class:`NotFoundError`,
    :class:`PortalBusyError` for transient codes and :class:`PlatformError`
    otherwise. With ``allow_partial`` a partly-rejected batch reply (code ``"10"``
    with per-item results) is returned for :func:`parse_batch_reply`.
    """
    if status_code == 401:
        raise SessionExpiredError(f"{service}: the portal answered HTTP 401")
    data = _decode(status_code, body, service)
    if not isinstance(data, Mapping):
        raise PlatformError(
            f"{service}: the portal's reply is not a JSON object", raw=data, status_code=status_code
        )
    code = error_code_of(data)
    if code in OK_CODES and status_code < 400:
        return dict(data)
    if code in codes.session_expired:
        raise SessionExpiredError(
            f"{service}: session expired (error_code {code}): {_message_of(data)}",
            hint="govlink logs in again and replays once; if this persists, check the account",
        )
    if allow_partial and code == BATCH_PARTLY_REJECTED and isinstance(data.get("result"), list):
        return dict(data)
    if allow_partial and code in codes.item_level:
        return dict(data)  # "already exists" / "no such dossier": per item, see the plan
    message = f"{service}: the portal refused the call (error_code {code or 'missing'}): "
    message += _message_of(data)
    if code in codes.not_found:
        raise NotFoundError(message, code=code, raw=data, status_code=status_code)
    if code in codes.transient or status_code >= 500:
        raise PortalBusyError(
            message,
            code=code,
            raw=data,
            status_code=status_code,
            hint="the portal is busy; the outbox retries this automatically",
        )
    raise PlatformError(message, code=code or None, raw=data, status_code=status_code)


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The portal's answer for one item of a batch.

    ``resent_as`` is ``"update"`` when a create was answered "already exists" and
    sent again as an update (``"create"`` the other way round); ``code`` and
    ``message`` are then the second answer's.
    """

    ma_ho_so: str
    idempotency_key: str | None
    code: str
    message: str
    duplicate: bool = False
    resent_as: str | None = None

    @property
    def ok(self) -> bool:
        return self.code in OK_CODES


@dataclass(frozen=True)
class BatchResult(EvidenceMixin):
    """Per-item outcome of one batch request."""

    service: str
    items: tuple[ItemResult, ...]
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def resent(self) -> tuple[ItemResult, ...]:
        """Items sent a second time as the other kind (create ↔ update)."""
        return tuple(item for item in self.items if item.resent_as)

    @property
    def accepted(self) -> tuple[ItemResult, ...]:
        return tuple(item for item in self.items if item.ok)

    @property
    def rejected(self) -> tuple[ItemResult, ...]:
        return tuple(item for item in self.items if not item.ok)

    @property
    def duplicates(self) -> int:
        """Items the portal had already applied (a redelivery, ignored there)."""
        return sum(1 for item in self.items if item.duplicate)

    def item_error(self, item: ItemResult, codes: ReplyCodes = ReplyCodes()) -> PlatformError:
        """The error for one refused item (transient codes give a retryable error)."""
        cls = PortalBusyError if item.code in codes.transient else PlatformError
        return cls(
            f"{self.service}: dossier {item.ma_ho_so} refused (error_code {item.code}): "
            f"{item.message}",
            code=item.code,
            raw=dict(self.raw) or None,
            items=(item.ma_ho_so,),
            hint="correct the dossier and send it again",
        )


def _item_message(entry: Mapping[str, Any]) -> str:
    message = entry.get("message")
    return "" if message is None else str(message)


def _item_code(entry: Mapping[str, Any]) -> str:
    code = error_code_of(entry)
    return code or "00"


def parse_batch_reply(
    data: Mapping[str, Any],
    service: str,
    sent: Sequence[OutgoingItem],
) -> BatchResult:
    """Match the reply's per-item results to what was sent.

    Entries are matched by idempotency key, else by ``MaHoSo``, else by position;
    a sent item with no matching entry takes the top-level outcome.
    """
    entries = data.get("result")
    top = error_code_of(data)
    top_message = _message_of(data)
    if not isinstance(entries, list):
        entries = []
    results = _aligned_results(entries, sent)
    if results is not None:  # the usual case: one entry per item, in order
        return BatchResult(service, tuple(results), raw=data)
    results = []
    by_key: dict[str, Mapping[str, Any]] = {}
    by_id: dict[str, Mapping[str, Any]] = {}
    for candidate in entries:
        if not isinstance(candidate, Mapping):
            continue
        key = candidate.get("IdempotencyKey")
        if isinstance(key, str) and key:
            by_key[key] = candidate
        ma = candidate.get("MaHoSo")
        if isinstance(ma, str) and ma:
            by_id.setdefault(ma, candidate)
    positional = len(entries) == len(sent) and not by_key and not by_id
    entry: Mapping[str, Any] | None
    for index, item in enumerate(sent):
        entry = None
        if item.idempotency_key and item.idempotency_key in by_key:
            entry = by_key[item.idempotency_key]
        elif item.ma_ho_so in by_id:
            entry = by_id[item.ma_ho_so]
        elif positional and isinstance(entries[index], Mapping):
            entry = entries[index]
        if entry is None:
            code = top if top in OK_CODES else (top or "00")
            results.append(ItemResult(item.ma_ho_so, item.idempotency_key, code, top_message))
            continue
        results.append(
            ItemResult(
                item.ma_ho_so,
                item.idempotency_key,
                _item_code(entry),
                _item_message(entry),
                duplicate=bool(entry.get("duplicate", False)),
            )
        )
    return BatchResult(service, tuple(results), raw=data)


def _aligned_results(entries: list[Any], sent: Sequence[OutgoingItem]) -> list[ItemResult] | None:
    """Verdicts when entry i is item i (same key); None when the reply is not aligned."""
    if len(entries) != len(sent) or not sent:
        return None
    results: list[ItemResult] = []
    append = results.append
    for entry, item in zip(entries, sent, strict=True):
        key = item.idempotency_key
        if not key or not isinstance(entry, dict) or entry.get("IdempotencyKey") != key:
            return None
        code = entry.get("error_code")
        if code == "00" and len(entry) == 3:  # {"MaHoSo", "IdempotencyKey", "error_code"}
            append(ItemResult(item.ma_ho_so, key, "00", "", False))
            continue
        append(
            ItemResult(
                item.ma_ho_so,
                key,
                _item_code(entry),
                _item_message(entry),
                entry.get("duplicate", False) is True,
            )
        )
    return results


def parse_list_reply(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``result`` list of a read (a single object is wrapped in a list)."""
    result = data.get("result")
    if result is None:
        return []
    if isinstance(result, Mapping):
        return [result]
    if isinstance(result, list):
        return [entry for entry in result if isinstance(entry, Mapping)]
    return []


@dataclass
class SyncReport(EvidenceMixin):
    """What a multi-chunk push did: one :class:`BatchResult` per request sent."""

    results: list[BatchResult] = field(default_factory=list)

    @property
    def accepted(self) -> list[str]:
        """``MaHoSo`` of every accepted item (in send order)."""
        return [item.ma_ho_so for batch in self.results for item in batch.accepted]

    @property
    def rejected(self) -> list[ItemResult]:
        return [item for batch in self.results for item in batch.rejected]

    @property
    def duplicates(self) -> int:
        return sum(batch.duplicates for batch in self.results)

    @property
    def requests(self) -> int:
        return len(self.results)

    @property
    def resent(self) -> list[ItemResult]:
        """Items re-sent as the other kind (a create the portal already had, …)."""
        return [item for batch in self.results for item in batch.resent]

    def raise_for_rejections(self) -> None:
        """Raise :class:`BatchRejectedError` naming every refused dossier, if any."""
        if self.rejected:
            raise BatchRejectedError(self)


class BatchRejectedError(PlatformError):
    """Some items of a push were refused; ``items`` names them, ``report`` has all.

    The accepted items *were* applied by the portal: correct and resend only the
    refused ones (``report.rejected``).
    """

    def __init__(self, report: SyncReport) -> None:
        self.report = report
        rejected = report.rejected
        first = rejected[0]
        service = next(b.service for b in report.results if b.rejected)
        shown = "; ".join(f"{i.ma_ho_so} ({i.code} {i.message})" for i in rejected[:5])
        more = f"; and {len(rejected) - 5} more" if len(rejected) > 5 else ""
        super().__init__(
            f"{service}: the portal refused {len(rejected)} of "
            f"{len(rejected) + len(report.accepted)} item(s): {shown}{more}",
            code=first.code,
            raw=[dict(batch.raw) for batch in report.results if batch.rejected],
            items=[item.ma_ho_so for item in rejected],
            hint="the other items were accepted; correct the refused ones and send them again",
        )
