"""Dossier sync clients: :class:`DossierClient` and :class:`AsyncDossierClient`.

Both are thin shells over :class:`_DossierCore`, which holds everything that is not
I/O (settings, plans, bodies, parsing). The shells only log in, send, and replay a
call once when the portal says the session expired.

Settings (``settings.dossiers``): ``base_url`` (the adapter), ``auth.username`` /
``auth.password`` (session login), ``auth.extra.madonvi`` (the unit code sent with
every call), ``paths.auth`` (default ``/auth``) and ``paths.integration`` (default
``/integration``), and ``options``: ``chunk_size`` (dossiers per request, 100),
``progress_chunk_size`` (10), ``idempotency_field`` (``IdempotencyKey``),
``session_max_age`` (seconds before logging in again unprompted, 1500),
``portal_deduplicates`` (false: let the HTTP layer replay writes only when the
portal is known to drop repeated idempotency keys),
``session_expired_codes``, ``transient_codes``, ``not_found_codes``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError as PydanticValidationError

from govlink.core.auth import DvcqgSession, SessionCache, auth_for, extra_value
from govlink.core.config import GovLinkSettings
from govlink.core.errors import ConfigurationError, NotFoundError, ValidationError
from govlink.core.http import (
    AsyncHttpTransport,
    HttpTransport,
    Reply,
    build_async_client,
    build_client,
)
from govlink.core.lifecycle import AsyncClosable, Closable
from govlink.dossiers.codec import (
    DEFAULT_INTEGRATION_PATH,
    SERVICE_CATALOGUE_AGENCIES,
    SERVICE_CATALOGUE_FIELDS,
    SERVICE_CATALOGUE_PROCEDURE,
    SERVICE_CATALOGUE_PROCEDURES,
    SERVICE_LOOKUP,
    SERVICE_PROGRESS,
    SERVICE_SYNC,
    BatchResult,
    OutgoingItem,
    PortalBusyError,
    ReplyCodes,
    SessionExpiredError,
    SyncReport,
    build_batch_body,
    build_body,
    encode_item,
    parse_batch_reply,
    parse_list_reply,
    parse_reply,
)
from govlink.dossiers.models import (
    Agency,
    Dossier,
    DossierStatus,
    Procedure,
    ProcedureField,
    ProgressRecord,
    WireModel,
)
from govlink.dossiers.options import DossiersOptions
from govlink.dossiers.status import check_transition
from govlink.sync.models import new_idempotency_key

__all__ = ["AsyncDossierClient", "Batch", "DossierClient", "validation_error"]

log = logging.getLogger("govlink.dossiers")

_JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
M = TypeVar("M", bound=WireModel)
T = TypeVar("T")


@dataclass(frozen=True)
class _SessionNeeded:
    """Plan step: the shell answers with a current session id (logging in if needed)."""


@dataclass(frozen=True)
class _Post:
    """Plan step: the shell POSTs ``content`` to the integration URL, answers the Reply."""

    content: bytes
    safe: bool


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
        options = DossiersOptions.of(settings)
        self.integration_url = platform.base_url + str(
            platform.paths.get("integration", DEFAULT_INTEGRATION_PATH)
        )
        self.idempotency_field = options.idempotency_field
        self.chunk_size = options.chunk_size
        self.progress_chunk_size = options.progress_chunk_size
        # Whether the portal itself drops a resent item with a known idempotency key.
        # The real portal's behaviour is not published, so by default a write is not
        # replayed by the HTTP layer after a read timeout (the outbox, which owns
        # at-least-once delivery, still resends it with the same key).
        self.portal_deduplicates = options.portal_deduplicates
        self.codes = ReplyCodes.from_options(options)
        self.sessions = SessionCache(max_age=options.session_max_age)
        # the gateway's header auth when the portal sits behind one (dossiers.gateway)
        self.http_auth = auth_for(settings, "dossiers")
        self._madonvi = extra_value(platform.auth, "madonvi") or options.madonvi

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

    # -- plans ----------------------------------------------------------------------

    def outgoing(
        self, wire: Mapping[str, Any] | str, ma_ho_so: str, key: str | None
    ) -> OutgoingItem:
        key = key if self.idempotency_field else None
        return OutgoingItem(ma_ho_so, key, encode_item(wire, key, self.idempotency_field))

    def plan_dossiers(
        self,
        dossiers: Iterable[Dossier | Mapping[str, Any]],
        *,
        is_updating: bool,
        chunk_size: int | None,
        previous: Mapping[str, DossierStatus | int] | None,
        force: bool,
        idempotency_keys: Sequence[str] | None,
    ) -> list[Batch]:
        models = [_coerce(Dossier, d, f"dossier {i + 1}: ") for i, d in enumerate(dossiers)]
        keys = self._keys(idempotency_keys, len(models))
        last: dict[str, DossierStatus | int] = dict(previous or {})
        for dossier in models:
            check_transition(
                last.get(dossier.ma_ho_so), dossier.status, force=force, ma_ho_so=dossier.ma_ho_so
            )
            last[dossier.ma_ho_so] = dossier.status
        items = [
            self.outgoing(d.to_wire(), d.ma_ho_so, key) for d, key in zip(models, keys, strict=True)
        ]
        size = chunk_size or self.chunk_size
        return [Batch(SERVICE_SYNC, chunk, is_updating) for chunk in _chunks(items, size)]

    def plan_progress(
        self,
        records: Iterable[ProgressRecord | Mapping[str, Any]],
        *,
        chunk_size: int | None,
        idempotency_keys: Sequence[str] | None,
    ) -> list[Batch]:
        models = [
            _coerce(ProgressRecord, r, f"progress record {i + 1}: ") for i, r in enumerate(records)
        ]
        keys = self._keys(idempotency_keys, len(models))
        items = [
            self.outgoing(r.to_wire(), r.ma_ho_so, key) for r, key in zip(models, keys, strict=True)
        ]
        size = chunk_size or self.progress_chunk_size
        return [Batch(SERVICE_PROGRESS, chunk) for chunk in _chunks(items, size)]

    @staticmethod
    def _keys(given: Sequence[str] | None, count: int) -> list[str]:
        if given is None:
            return [new_idempotency_key() for _ in range(count)]
        if len(given) != count:
            raise ValidationError("idempotency_keys", f"one key per item ({count})", got=len(given))
        return list(given)

    # -- bodies and parsing -------------------------------------------------------------

    def call_plan(
        self, what: str, body: Callable[[str], bytes], parse: Callable[[Reply], T], *, safe: bool
    ) -> Generator[_SessionNeeded | _Post, Any, T]:
        """One integration call as steps the shells perform: yield ``_SessionNeeded``
        to get a session, ``_Post`` to get its reply. A reply saying the session expired
        invalidates that session (only if still current, so concurrent callers cause one
        login) and replays the call once; a second expiry is raised, never looped on."""
        for replay in (False, True):
            session: str = yield _SessionNeeded()
            reply: Reply = yield _Post(body(session), safe)
            try:
                return parse(reply)
            except SessionExpiredError:
                if replay:
                    raise
                self.sessions.invalidate(session)
                log.info(
                    "DVCQG session expired during %s: logging in again and replaying once", what
                )
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    def batch_body(self, session: str, batch: Batch) -> bytes:
        return build_batch_body(
            session, self.madonvi, batch.service, batch.items, is_updating=batch.is_updating
        )

    def parse_batch(self, reply: Reply, batch: Batch) -> BatchResult:
        data = parse_reply(
            reply.status_code, reply.content, batch.service, codes=self.codes, allow_partial=True
        )
        return parse_batch_reply(data, batch.service, batch.items)

    def parse(self, reply: Reply, service: str) -> dict[str, Any]:
        return parse_reply(reply.status_code, reply.content, service, codes=self.codes)

    def parse_dossier(self, reply: Reply, ma_ho_so: str) -> Dossier:
        data = self.parse(reply, SERVICE_LOOKUP)
        found = parse_list_reply(data)
        if not found:
            raise NotFoundError(
                f"{SERVICE_LOOKUP}: the portal has no dossier {ma_ho_so}",
                code="15",
                raw=data,
                hint="check the dossier code, or push it first (govlink dossiers push)",
            )
        return _coerce(Dossier, found[0], f"{SERVICE_LOOKUP} reply: ")

    def parse_catalogue(self, reply: Reply, service: str, model: type[M]) -> list[M]:
        data = self.parse(reply, service)
        return [_coerce(model, entry, f"{service} reply: ") for entry in parse_list_reply(data)]


def _parse_login(reply: Reply) -> str:
    """The session, or why not; a garbled 2xx reply is transient, not a refusal."""
    body: Any = reply.content
    if reply.status_code < 400:
        try:
            body = json.loads(reply.content)
        except ValueError:
            raise PortalBusyError(
                f"the portal's login reply (HTTP {reply.status_code}) is not JSON",
                status_code=reply.status_code,
                hint="a garbled reply; retried automatically",
            ) from None
    session = DvcqgSession.parse_login_reply(reply.status_code, body)
    log.info("logged in to the DVCQG adapter")
    return session


class _Shell:
    """What both shells share without I/O: construction and the public plans."""

    _core: _DossierCore

    def _report(self, results: list[BatchResult], raise_on_rejection: bool) -> SyncReport:
        report = SyncReport(results)
        if raise_on_rejection:
            report.raise_for_rejections()
        return report


class DossierClient(_Shell, Closable):
    """Synchronous DVCQG dossier client.

    ``with DossierClient(settings) as client: client.sync_dossiers([...], is_updating=True)``
    """

    def __init__(
        self,
        settings: GovLinkSettings,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._core = _DossierCore(settings)
        self._http = HttpTransport(
            build_client(settings, "dossiers", transport=transport, auth=self._core.http_auth),
            settings,
        )

    # -- plumbing ---------------------------------------------------------------------

    def _login(self) -> str:
        request = DvcqgSession.build_login_request(self._core.platform)
        reply = self._http.request(
            request.method, request.url, safe=True, json=request.json, headers=request.headers
        )
        return _parse_login(reply)

    def _call(
        self, what: str, body: Callable[[str], bytes], parse: Callable[[Reply], T], *, safe: bool
    ) -> T:
        plan = self._core.call_plan(what, body, parse, safe=safe)
        answer: Any = None
        try:
            while True:
                step = plan.send(answer)
                if isinstance(step, _SessionNeeded):
                    answer = self._core.sessions.get(self._login)
                else:
                    answer = self._http.request(
                        "POST",
                        self._core.integration_url,
                        safe=step.safe,
                        content=step.content,
                        headers=_JSON_HEADERS,
                    )
        except StopIteration as done:
            result: T = done.value
            return result

    # -- batches ------------------------------------------------------------------------

    def send_batch(self, batch: Batch) -> BatchResult:
        """Send one prepared batch; per-item results (no exception for refusals)."""
        return self._call(
            batch.service,
            lambda session: self._core.batch_body(session, batch),
            lambda reply: self._core.parse_batch(reply, batch),
            safe=self._core.writes_are_safe,
        )

    def sync_dossiers(
        self,
        dossiers: Iterable[Dossier | Mapping[str, Any]],
        *,
        is_updating: bool,
        chunk_size: int | None = None,
        previous: Mapping[str, DossierStatus | int] | None = None,
        force: bool = False,
        idempotency_keys: Sequence[str] | None = None,
        raise_on_rejection: bool = True,
    ) -> SyncReport:
        """Create (``is_updating=False``) or update dossiers with ``DongBoHoSoMC``.

        Everything is validated first (fields, and status transitions against
        ``previous`` statuses and earlier items of the same dossier), so an invalid
        item means nothing was sent. Refused items raise
        :class:`~govlink.dossiers.codec.BatchRejectedError` after all chunks were
        sent (its ``items`` names them; the others were applied).
        """
        plan = self._core.plan_dossiers(
            dossiers,
            is_updating=is_updating,
            chunk_size=chunk_size,
            previous=previous,
            force=force,
            idempotency_keys=idempotency_keys,
        )
        return self._report([self.send_batch(b) for b in plan], raise_on_rejection)

    def push_progress(
        self,
        records: Iterable[ProgressRecord | Mapping[str, Any]],
        *,
        chunk_size: int | None = None,
        idempotency_keys: Sequence[str] | None = None,
        raise_on_rejection: bool = True,
    ) -> SyncReport:
        """Push processing steps with ``CapNhatTienDoHoSoMC`` (10 per request by default)."""
        plan = self._core.plan_progress(
            records, chunk_size=chunk_size, idempotency_keys=idempotency_keys
        )
        return self._report([self.send_batch(b) for b in plan], raise_on_rejection)

    # -- reads --------------------------------------------------------------------------

    def get(self, ma_ho_so: str) -> Dossier:
        """Look a dossier up (``TraCuuHoSo``); :class:`NotFoundError` when unknown."""
        if not ma_ho_so.strip():
            raise ValidationError("MaHoSo", "a dossier code", got=ma_ho_so)
        return self._call(
            SERVICE_LOOKUP,
            lambda s: build_body(s, self._core.madonvi, SERVICE_LOOKUP, MaHoSo=ma_ho_so.strip()),
            lambda reply: self._core.parse_dossier(reply, ma_ho_so),
            safe=True,
        )

    def _catalogue(self, service: str, model: type[M], **fields: Any) -> list[M]:
        return self._call(
            service,
            lambda s: build_body(s, self._core.madonvi, service, **fields),
            lambda reply: self._core.parse_catalogue(reply, service, model),
            safe=True,
        )

    def procedures(self) -> list[Procedure]:
        """The administrative procedures catalogue (``LayDanhSachTTHC``)."""
        return self._catalogue(SERVICE_CATALOGUE_PROCEDURES, Procedure)

    def procedure(self, code: str) -> Procedure:
        """One procedure by its code (``LayThuTuc``)."""
        found = self._catalogue(SERVICE_CATALOGUE_PROCEDURE, Procedure, MaTTHC=code)
        if not found:
            raise NotFoundError(f"{SERVICE_CATALOGUE_PROCEDURE}: no procedure {code}", code="15")
        return found[0]

    def agencies(self) -> list[Agency]:
        """The agencies catalogue (``LayDanhMucCoQuan``)."""
        return self._catalogue(SERVICE_CATALOGUE_AGENCIES, Agency)

    def fields(self) -> list[ProcedureField]:
        """The fields (lĩnh vực) catalogue (``LayDanhMucLinhVuc``)."""
        return self._catalogue(SERVICE_CATALOGUE_FIELDS, ProcedureField)

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def core(self) -> _DossierCore:
        return self._core

    def close(self) -> None:
        self._http.close()


class AsyncDossierClient(_Shell, AsyncClosable):
    """Asynchronous twin of :class:`DossierClient` (same methods, awaited)."""

    def __init__(
        self,
        settings: GovLinkSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._core = _DossierCore(settings)
        self._http = AsyncHttpTransport(
            build_async_client(
                settings, "dossiers", transport=transport, auth=self._core.http_auth
            ),
            settings,
        )

    async def _login(self) -> str:
        request = DvcqgSession.build_login_request(self._core.platform)
        reply = await self._http.request(
            request.method, request.url, safe=True, json=request.json, headers=request.headers
        )
        return _parse_login(reply)

    async def _call(
        self, what: str, body: Callable[[str], bytes], parse: Callable[[Reply], T], *, safe: bool
    ) -> T:
        plan = self._core.call_plan(what, body, parse, safe=safe)
        answer: Any = None
        try:
            while True:
                step = plan.send(answer)
                if isinstance(step, _SessionNeeded):
                    answer = await self._core.sessions.aget(self._login)
                else:
                    answer = await self._http.request(
                        "POST",
                        self._core.integration_url,
                        safe=step.safe,
                        content=step.content,
                        headers=_JSON_HEADERS,
                    )
        except StopIteration as done:
            result: T = done.value
            return result

    async def send_batch(self, batch: Batch) -> BatchResult:
        """Send one prepared batch; per-item results (no exception for refusals)."""
        return await self._call(
            batch.service,
            lambda session: self._core.batch_body(session, batch),
            lambda reply: self._core.parse_batch(reply, batch),
            safe=self._core.writes_are_safe,
        )

    async def sync_dossiers(
        self,
        dossiers: Iterable[Dossier | Mapping[str, Any]],
        *,
        is_updating: bool,
        chunk_size: int | None = None,
        previous: Mapping[str, DossierStatus | int] | None = None,
        force: bool = False,
        idempotency_keys: Sequence[str] | None = None,
        raise_on_rejection: bool = True,
    ) -> SyncReport:
        """See :meth:`DossierClient.sync_dossiers`."""
        plan = self._core.plan_dossiers(
            dossiers,
            is_updating=is_updating,
            chunk_size=chunk_size,
            previous=previous,
            force=force,
            idempotency_keys=idempotency_keys,
        )
        return self._report([await self.send_batch(b) for b in plan], raise_on_rejection)

    async def push_progress(
        self,
        records: Iterable[ProgressRecord | Mapping[str, Any]],
        *,
        chunk_size: int | None = None,
        idempotency_keys: Sequence[str] | None = None,
        raise_on_rejection: bool = True,
    ) -> SyncReport:
        """See :meth:`DossierClient.push_progress`."""
        plan = self._core.plan_progress(
            records, chunk_size=chunk_size, idempotency_keys=idempotency_keys
        )
        return self._report([await self.send_batch(b) for b in plan], raise_on_rejection)

    async def get(self, ma_ho_so: str) -> Dossier:
        """See :meth:`DossierClient.get`."""
        if not ma_ho_so.strip():
            raise ValidationError("MaHoSo", "a dossier code", got=ma_ho_so)
        return await self._call(
            SERVICE_LOOKUP,
            lambda s: build_body(s, self._core.madonvi, SERVICE_LOOKUP, MaHoSo=ma_ho_so.strip()),
            lambda reply: self._core.parse_dossier(reply, ma_ho_so),
            safe=True,
        )

    async def _catalogue(self, service: str, model: type[M], **fields: Any) -> list[M]:
        return await self._call(
            service,
            lambda s: build_body(s, self._core.madonvi, service, **fields),
            lambda reply: self._core.parse_catalogue(reply, service, model),
            safe=True,
        )

    async def procedures(self) -> list[Procedure]:
        return await self._catalogue(SERVICE_CATALOGUE_PROCEDURES, Procedure)

    async def procedure(self, code: str) -> Procedure:
        found = await self._catalogue(SERVICE_CATALOGUE_PROCEDURE, Procedure, MaTTHC=code)
        if not found:
            raise NotFoundError(f"{SERVICE_CATALOGUE_PROCEDURE}: no procedure {code}", code="15")
        return found[0]

    async def agencies(self) -> list[Agency]:
        return await self._catalogue(SERVICE_CATALOGUE_AGENCIES, Agency)

    async def fields(self) -> list[ProcedureField]:
        return await self._catalogue(SERVICE_CATALOGUE_FIELDS, ProcedureField)

    @property
    def core(self) -> _DossierCore:
        return self._core

    async def aclose(self) -> None:
        await self._http.aclose()
