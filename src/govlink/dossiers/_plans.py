"""The dossier plans: everything the DVCQG clients do, without I/O.

:class:`_DossierCore` holds the settings, builds request bodies, parses replies and
writes each operation once as a plan of the core driver (``NeedCredential`` for the
session, ``Send`` for each POST). :mod:`govlink.dossiers.client` only hands these
plans to a ``Runner`` or ``AsyncRunner``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from pydantic import ValidationError as PydanticValidationError

from govlink.core.auth import auth_for, extra_value
from govlink.core.config import GovLinkSettings
from govlink.core.driver import NeedCredential, Plan, Send
from govlink.core.errors import ConfigurationError, NotFoundError, ValidationError
from govlink.core.http import (
    Reply,
)
from govlink.dossiers._codec import (
    DEFAULT_INTEGRATION_PATH,
    DEFAULT_SHARE_PATH,
    OK_CODES,
    SERVICE_CATALOGUE_PROCEDURE,
    SERVICE_LOOKUP,
    SERVICE_PROGRESS,
    SERVICE_PROMOTION_STATUS,
    SERVICE_PUBLIC_SERVICES,
    SERVICE_QA_ANSWERS,
    SERVICE_SYNC,
    SERVICE_TECH_ID,
    SHARE_SERVICES,
    BatchResult,
    OutgoingItem,
    ReplyCodes,
    SessionExpiredError,
    SyncReport,
    build_bare_array,
    build_batch_body,
    build_body,
    encode_item,
    error_code_of,
    parse_batch_reply,
    parse_list_reply,
    parse_reply,
)
from govlink.dossiers._feedback import (
    Answer,
    PublicService,
    PushResult,
)
from govlink.dossiers._session import SessionProvider
from govlink.dossiers._status import check_transition
from govlink.dossiers.models import (
    Dossier,
    DossierStatus,
    Procedure,
    ProgressRecord,
    WireModel,
)
from govlink.dossiers.options import DossiersOptions
from govlink.sync.models import new_idempotency_key

__all__ = ["Batch", "validation_error"]

log = logging.getLogger("govlink.dossiers")

_JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
M = TypeVar("M", bound=WireModel)
T = TypeVar("T")


@dataclass(frozen=True)
class Batch:
    """One request's worth of items for a batch service."""

    service: str
    items: tuple[OutgoingItem, ...]
    is_updating: bool | None = None


def validation_error(exc: PydanticValidationError, *, where: str = "") -> ValidationError:
    """The first pydantic error as a govlink :class:`ValidationError` naming the wire field."""
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "item"
    message = str(first.get("msg", "invalid value"))
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    got = first.get("input") if first.get("type") != "missing" else None
    if isinstance(got, Mapping):
        got = None
    return ValidationError(f"{where}{field}", message, got=got)


def _coerce(model: type[M], value: M | Mapping[str, Any], where: str) -> M:
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except PydanticValidationError as exc:
        raise validation_error(exc, where=where) from None


def _chunks(items: Sequence[OutgoingItem], size: int) -> Iterable[tuple[OutgoingItem, ...]]:
    if size < 1:
        raise ValidationError("chunk_size", "a whole number >= 1", got=size)
    for start in range(0, len(items), size):
        yield tuple(items[start : start + size])


class _DossierCore:
    """Everything the two shells share: settings, plans, bodies, parsing."""

    def __init__(self, settings: GovLinkSettings) -> None:
        self.settings = settings
        platform = settings.platform("dossiers")
        assert platform.base_url is not None  # platform() guarantees it
        self.platform = platform
        paths = platform.paths
        base = platform.base_url
        self.integration_url = base + str(paths.get("integration", DEFAULT_INTEGRATION_PATH))
        self.share_url = base + str(paths.get("share", DEFAULT_SHARE_PATH))
        # A provincial proxy with one URL per write and bare-array bodies ([TD]).
        self.proxy_urls: dict[tuple[str, bool | None], str] = {}
        for name, key in (
            ("create", (SERVICE_SYNC, False)),
            ("update", (SERVICE_SYNC, True)),
            ("progress", (SERVICE_PROGRESS, None)),
        ):
            path = paths.get(name)
            if path:
                path = str(path)
                self.proxy_urls[key] = path if "://" in path else base + path
        typed = DossiersOptions.of(settings)
        self.idempotency_field = typed.idempotency_field
        self.chunk_size = typed.chunk_size
        self.progress_chunk_size = typed.progress_chunk_size
        # Whether the portal itself drops a resent item with a known idempotency key.
        # The real portal's behaviour is not published, so by default a write is not
        # replayed by the HTTP layer after a read timeout (the outbox, which owns
        # at-least-once delivery, still resends it with the same key).
        self.portal_deduplicates = typed.portal_deduplicates
        self.create_or_update = typed.create_or_update
        self.blank_unset = typed.blank_unset_fields
        self.share_services = typed.share_services or SHARE_SERVICES
        self.codes = ReplyCodes.from_options(typed)
        self.sessions = SessionProvider(platform, max_age=typed.session_max_age)
        # the gateway's header auth when the portal sits behind one (dossiers.gateway)
        self.http_auth = auth_for(settings, "dossiers")
        self._madonvi = extra_value(platform.auth, "madonvi") or typed.madonvi
        self.headers = dict(_JSON_HEADERS)
        dstcode = extra_value(platform.auth, "dstcode")
        if dstcode:
            self.headers["dstcode"] = dstcode

    @property
    def madonvi(self) -> str:
        if not self._madonvi:
            raise ConfigurationError(
                "DVCQG calls need the unit code (madonvi)",
                setting="GOVLINK_DOSSIERS__AUTH__EXTRA__MADONVI",
                expected="your unit's code as registered at the portal, e.g. 000.00.00.H47",
            )
        return self._madonvi

    @property
    def writes_are_safe(self) -> bool:
        """Replaying a push is harmless only when it carries idempotency keys that the
        portal honours (``options.portal_deduplicates``; the mock profile sets it)."""
        return bool(self.idempotency_field) and self.portal_deduplicates

    def url_for(self, service: str) -> str:
        """Sharing services go to the share endpoint, the others to integration [OC]."""
        return self.share_url if service in self.share_services else self.integration_url

    # -- building blocks ----------------------------------------------------------------

    def outgoing(
        self, wire: Mapping[str, Any] | str, ma_ho_so: str, key: str | None
    ) -> OutgoingItem:
        key = key if self.idempotency_field else None
        return OutgoingItem(ma_ho_so, key, encode_item(wire, key, self.idempotency_field))

    def call_plan(
        self, service: str, body: Callable[[str], bytes], parse: Callable[[Reply], T], *, safe: bool
    ) -> Plan[T]:
        """One session call. A reply saying the session expired hands that session
        back as expired (the runner logs in again once, however many callers saw it)
        and replays the call once; a second expiry is raised, never looped on."""
        url = self.url_for(service)
        session: str = yield NeedCredential("dossiers")
        for replay in (False, True):
            reply: Reply = yield Send(
                "POST", url, safe=safe, content=body(session), headers=self.headers
            )
            try:
                return parse(reply)
            except SessionExpiredError:
                if replay:
                    raise
                log.info(
                    "DVCQG session expired during %s: logging in again and replaying once", service
                )
                session = yield NeedCredential("dossiers", expired=session)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    def read_plan(self, service: str, **params: Any) -> Plan[dict[str, Any]]:
        """A read by wire parameter names; the decoded reply."""
        return self.call_plan(
            service,
            lambda s: build_body(s, self.madonvi, service, **params),
            lambda reply: self.parse(reply, service),
            safe=True,
        )

    def parse(self, reply: Reply, service: str) -> dict[str, Any]:
        return parse_reply(reply.status_code, reply.content, service, codes=self.codes)

    # -- batches ------------------------------------------------------------------------

    def batch_plan(self, batch: Batch) -> Plan[BatchResult]:
        """One request for ``batch``: to the adapter (with session) or to the proxy."""
        proxy = self.proxy_urls.get((batch.service, batch.is_updating))
        if proxy is not None:
            reply: Reply = yield Send(
                "POST",
                proxy,
                safe=self.writes_are_safe,
                content=build_bare_array(batch.items),
                headers=self.headers,
            )
            return self.parse_batch(reply, batch)
        return (
            yield from self.call_plan(
                batch.service,
                lambda session: build_batch_body(
                    session, self.madonvi, batch.service, batch.items, is_updating=batch.is_updating
                ),
                lambda reply: self.parse_batch(reply, batch),
                safe=self.writes_are_safe,
            )
        )

    def parse_batch(self, reply: Reply, batch: Batch) -> BatchResult:
        body: Any = reply.content
        if reply.status_code < 400 and (batch.service, batch.is_updating) in self.proxy_urls:
            body = _proxy_reply(reply)
        data = parse_reply(
            reply.status_code, body, batch.service, codes=self.codes, allow_partial=True
        )
        if (
            batch.is_updating is False
            and error_code_of(data) in OK_CODES
            and not isinstance(data.get("result"), list)
            and self.codes.says_exists(str(data.get("message", "")))
        ):  # [TD]: code 0 with "đã tồn tại" is "already exists" too
            data = {**data, "error_code": next(iter(sorted(self.codes.already_exists)))}
        return parse_batch_reply(data, batch.service, batch.items)

    def send_plan(self, batch: Batch) -> Plan[BatchResult]:
        """Send ``batch``; items of a create answered "already exists" are sent again as
        an update, items of an update answered "no such dossier" as a create (once:
        the second answer stands)."""
        first = yield from self.batch_plan(batch)
        if batch.is_updating is None or not self.create_or_update:
            return first
        flip = self.codes.unknown_dossier if batch.is_updating else self.codes.already_exists
        again = [i for i, item in enumerate(first.items) if item.code in flip]
        if not again:
            return first
        action = "create" if batch.is_updating else "update"
        log.info(
            "%s: %d item(s) answered %s; sending them again as %s",
            batch.service,
            len(again),
            "unknown dossier" if batch.is_updating else "already exists",
            action,
        )
        retry = Batch(batch.service, tuple(batch.items[i] for i in again), not batch.is_updating)
        second = yield from self.batch_plan(retry)
        items = list(first.items)
        for position, verdict in zip(again, second.items, strict=True):
            items[position] = replace(verdict, resent_as=action)
        return BatchResult(batch.service, tuple(items), raw=second.raw)

    def report_plan(self, batches: Sequence[Batch], raise_on_rejection: bool) -> Plan[SyncReport]:
        results = []
        for batch in batches:
            results.append((yield from self.send_plan(batch)))
        report = SyncReport(results)
        if raise_on_rejection:
            report.raise_for_rejections()
        return report

    def dossiers_plan(
        self,
        dossiers: Iterable[Dossier | Mapping[str, Any]],
        *,
        is_updating: bool | None,
        chunk_size: int | None,
        previous: Mapping[str, DossierStatus | int] | None,
        force: bool,
        idempotency_keys: Sequence[str] | None,
        raise_on_rejection: bool,
    ) -> Plan[SyncReport]:
        """Validate everything, then push. With ``is_updating=None`` each dossier is
        looked up first ([OC] does this: ``TraCuuHoSo`` then ``isUpdating``) and sent
        as an update when found, as a create otherwise."""
        models = [_coerce(Dossier, d, f"dossier {i + 1}: ") for i, d in enumerate(dossiers)]
        keys = self._keys(idempotency_keys, len(models))
        last: dict[str, DossierStatus | int] = dict(previous or {})
        for dossier in models:
            check_transition(
                last.get(dossier.ma_ho_so), dossier.status, force=force, ma_ho_so=dossier.ma_ho_so
            )
            last[dossier.ma_ho_so] = dossier.status
        blank = self.blank_unset
        items = [
            self.outgoing(d.to_wire(blank_unset=blank), d.ma_ho_so, key)
            for d, key in zip(models, keys, strict=True)
        ]
        size = chunk_size or self.chunk_size
        if is_updating is None:
            known: dict[str, bool] = {}
            for item in items:
                if item.ma_ho_so not in known:
                    known[item.ma_ho_so] = yield from self.exists_plan(item.ma_ho_so)
            batches = [
                Batch(SERVICE_SYNC, chunk, flag)
                for flag in (False, True)
                for chunk in _chunks([i for i in items if known[i.ma_ho_so] is flag], size)
            ]
        else:
            batches = [Batch(SERVICE_SYNC, chunk, is_updating) for chunk in _chunks(items, size)]
        return (yield from self.report_plan(batches, raise_on_rejection))

    def progress_plan(
        self,
        records: Iterable[ProgressRecord | Mapping[str, Any]],
        *,
        chunk_size: int | None,
        idempotency_keys: Sequence[str] | None,
        raise_on_rejection: bool,
    ) -> Plan[SyncReport]:
        models = [
            _coerce(ProgressRecord, r, f"progress record {i + 1}: ") for i, r in enumerate(records)
        ]
        keys = self._keys(idempotency_keys, len(models))
        blank = self.blank_unset
        items = [
            self.outgoing(r.to_wire(blank_unset=blank), r.ma_ho_so, key)
            for r, key in zip(models, keys, strict=True)
        ]
        size = chunk_size or self.progress_chunk_size
        batches = [Batch(SERVICE_PROGRESS, chunk) for chunk in _chunks(items, size)]
        return (yield from self.report_plan(batches, raise_on_rejection))

    @staticmethod
    def _keys(given: Sequence[str] | None, count: int) -> list[str]:
        if given is None:
            return [new_idempotency_key() for _ in range(count)]
        if len(given) != count:
            raise ValidationError("idempotency_keys", f"one key per item ({count})", got=len(given))
        return list(given)

    # -- reads --------------------------------------------------------------------------

    def get_plan(self, ma_ho_so: str) -> Plan[Dossier]:
        code = ma_ho_so.strip()
        if not code:
            raise ValidationError("mahoso", "a dossier code", got=ma_ho_so)
        data = yield from self.read_plan(SERVICE_LOOKUP, mahoso=code)
        found = parse_list_reply(data)
        if not found:
            raise NotFoundError(
                f"{SERVICE_LOOKUP}: the portal has no dossier {code}",
                code="15",
                raw=data,
                hint="check the dossier code, or push it first (govlink dossiers push)",
            )
        return _coerce(Dossier, found[0], f"{SERVICE_LOOKUP} reply: ")

    def exists_plan(self, ma_ho_so: str) -> Plan[bool]:
        try:
            yield from self.get_plan(ma_ho_so)
        except NotFoundError:
            return False
        return True

    def catalogue_plan(self, service: str, model: type[M], **params: Any) -> Plan[list[M]]:
        data = yield from self.read_plan(service, **params)
        return [_coerce(model, entry, f"{service} reply: ") for entry in parse_list_reply(data)]

    def procedure_plan(self, code: str) -> Plan[Procedure]:
        found = yield from self.catalogue_plan(SERVICE_CATALOGUE_PROCEDURE, Procedure, maTTHC=code)
        if not found:
            raise NotFoundError(f"{SERVICE_CATALOGUE_PROCEDURE}: no procedure {code}", code="15")
        return found[0]

    def tech_id_plan(self, number: str, provider: str) -> Plan[str | None]:
        """``TraCuuTechID`` ([OC]): the portal account (TECHNICALID) of a tax code or
        ID number, or None when the portal knows none."""
        text = number.strip()
        if not text:
            raise ValidationError("mstorcmnd", "a tax code or ID number", got=number)
        data = yield from self.read_plan(SERVICE_TECH_ID, provider=provider, mstorcmnd=text)
        for entry in parse_list_reply(data):
            value = entry.get("TECHNICALID")
            if isinstance(value, str | int) and str(value).strip():
                return str(value).strip()
        return None

    # -- statistics, Q&A, public services, promotion notices -----------------------------

    def push_plan(
        self, service: str, items: Sequence[WireModel], **params: Any
    ) -> Plan[PushResult]:
        """A push answered by a top-level code only (``DongBoDanhGia``, ``DongBoHoiDap``,
        ``DongBoKetQuaHoiDapGuiTuDVCQG``, ``DongBoTrangThaiHoSo``)."""
        data: Any = [item.to_wire() for item in items]
        if service == SERVICE_PROMOTION_STATUS:
            data = data[0]  # [OC]: one object, not a list
        reply = yield from self.call_plan(
            service,
            lambda s: build_body(s, self.madonvi, service, **params, data=data),
            lambda r: self.parse(r, service),
            safe=self.writes_are_safe,
        )
        return PushResult(
            service, len(items), error_code_of(reply), str(reply.get("message") or "")
        )

    def public_services_plan(self, params: Mapping[str, Any]) -> Plan[list[PublicService]]:
        data = yield from self.read_plan(SERVICE_PUBLIC_SERVICES, **params)
        result = data.get("result")
        entries = result.get("data") if isinstance(result, Mapping) else result  # [OC]
        found = parse_list_reply({"result": entries})
        where = f"{SERVICE_PUBLIC_SERVICES} reply: "
        return [_coerce(PublicService, entry, where) for entry in found]

    def answers_plan(self, question_id: str) -> Plan[list[Answer]]:
        text = str(question_id).strip()
        if not text:
            raise ValidationError("cauhoiid", "a question id (HOIDAPID)", got=question_id)
        wire: int | str = int(text) if text.isdigit() else text  # [OC] sends the number
        return (yield from self.catalogue_plan(SERVICE_QA_ANSWERS, Answer, cauhoiid=wire))


def _models(model: type[M], values: Iterable[M | Mapping[str, Any]], what: str) -> list[M]:
    items = [_coerce(model, v, f"{what} {i + 1}: ") for i, v in enumerate(values)]
    if not items:
        raise ValidationError(what, "at least one item", got=0)
    return items


def _proxy_reply(reply: Reply) -> Any:
    """A proxy answers JSON, or sometimes plain text ("… thành công") [TD]."""
    try:
        return json.loads(reply.content)
    except ValueError:
        text = reply.text
        if "thành công" in text.lower():
            return {"error_code": "0", "message": text[:200]}
        return reply.content
