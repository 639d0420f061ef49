"""Dossier sync clients: :class:`DossierClient` and :class:`AsyncDossierClient`.

Both are thin shells over :class:`_DossierCore`, which holds everything that is not
I/O (settings, plans, bodies, parsing). Every operation is written once, as a plan
of the core driver (:mod:`govlink.core.driver`: ``NeedCredential("dossiers")`` for
the session, ``Send`` for each POST); the shells only hand plans to a ``Runner`` or
``AsyncRunner``, which log in through :class:`~govlink.dossiers._session.SessionProvider`.

Settings (``settings.dossiers``): ``base_url`` (the adapter), ``auth.username`` /
``auth.password`` (session login), ``auth.extra.madonvi`` (the unit code sent with
every call), ``auth.extra.dstcode`` (the ``dstcode`` header, sent on the login and
on every call), ``paths.auth`` (``/auth``), ``paths.integration``
(``/integration``) and ``paths.share`` (``/share``: the sharing services, see
:data:`~govlink.dossiers._codec.SHARE_SERVICES`); for a province whose proxy has
separate URLs, ``paths.create`` / ``paths.update`` / ``paths.progress`` (bodies are
then bare JSON arrays, without session). ``options``: ``chunk_size`` (100),
``progress_chunk_size`` (10), ``idempotency_field`` (``IdempotencyKey``),
``session_max_age`` (1500 s), ``portal_deduplicates`` (false), ``create_or_update``
(true: a create answered "already exists" is re-sent as an update and the other way
round), ``blank_unset_fields`` (true: send ``""`` for unset fields like the public
clients), ``share_services`` (comma list overriding the sharing set),
``session_expired_codes``, ``transient_codes``, ``not_found_codes``,
``already_exists_codes`` (``3,-3``), ``unknown_dossier_codes`` (``15``),
``already_exists_phrases`` (``đã tồn tại``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx

from govlink.core.config import GovLinkSettings
from govlink.core.driver import AsyncRunner, Plan, Runner
from govlink.core.http import (
    AsyncHttpTransport,
    HttpTransport,
    build_async_client,
    build_client,
)
from govlink.core.lifecycle import AsyncClosable, Closable
from govlink.dossiers._codec import (
    SERVICE_CATALOGUE_AGENCIES,
    SERVICE_CATALOGUE_FIELDS,
    SERVICE_CATALOGUE_PROCEDURES,
    SERVICE_PROMOTION_STATUS,
    SERVICE_QA_ANSWER_PUSH,
    SERVICE_QA_FROM_PORTAL,
    SERVICE_QA_OF_MINISTRIES,
    SERVICE_QA_PUSH,
    SERVICE_SATISFACTION,
    BatchResult,
    SyncReport,
)
from govlink.dossiers._feedback import (
    Answer,
    AnswerPush,
    PromotionStatus,
    PublicService,
    PushResult,
    Question,
    QuestionPush,
    SatisfactionStats,
)
from govlink.dossiers._plans import (
    Batch,
    T,
    _DossierCore,
    _models,
    validation_error,
)
from govlink.dossiers._plans import _coerce as _coerce  # used by govlink.dossiers._outbox
from govlink.dossiers.models import (
    Agency,
    Dossier,
    DossierStatus,
    Procedure,
    ProcedureField,
    ProgressRecord,
)

__all__ = ["AsyncDossierClient", "Batch", "DossierClient", "validation_error"]


class _Shell:
    """What both shells share without I/O: the core and its public plans."""

    _core: _DossierCore

    @property
    def core(self) -> _DossierCore:
        return self._core


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
        self._runner = Runner(self._http, {"dossiers": self._core.sessions})

    def _run(self, plan: Plan[T]) -> T:
        return self._runner.run(plan)

    # -- writes -------------------------------------------------------------------------

    def send_batch(self, batch: Batch) -> BatchResult:
        """Send one prepared batch; per-item results (no exception for refusals)."""
        return self._run(self._core.send_plan(batch))

    def sync_dossiers(
        self,
        dossiers: Iterable[Dossier | Mapping[str, Any]],
        *,
        is_updating: bool | None,
        chunk_size: int | None = None,
        previous: Mapping[str, DossierStatus | int] | None = None,
        force: bool = False,
        idempotency_keys: Sequence[str] | None = None,
        raise_on_rejection: bool = True,
    ) -> SyncReport:
        """Create (``is_updating=False``) or update dossiers with ``DongBoHoSoMC``.

        ``is_updating=None``: look each dossier up first (``TraCuuHoSo``) and update
        those the portal has, create the others. Either way a create answered
        "already exists" is re-sent as an update (and the other way round;
        ``options.create_or_update``). Everything is validated first (fields, and
        status transitions against ``previous`` statuses and earlier items of the same
        dossier), so an invalid item means nothing was sent. Refused items raise
        :class:`~govlink.dossiers._codec.BatchRejectedError` after all chunks were
        sent (its ``items`` names them; the others were applied).
        """
        return self._run(
            self._core.dossiers_plan(
                dossiers,
                is_updating=is_updating,
                chunk_size=chunk_size,
                previous=previous,
                force=force,
                idempotency_keys=idempotency_keys,
                raise_on_rejection=raise_on_rejection,
            )
        )

    def push_progress(
        self,
        records: Iterable[ProgressRecord | Mapping[str, Any]],
        *,
        chunk_size: int | None = None,
        idempotency_keys: Sequence[str] | None = None,
        raise_on_rejection: bool = True,
    ) -> SyncReport:
        """Push processing steps with ``CapNhatTienDoHoSoMC`` (10 per request by default)."""
        return self._run(
            self._core.progress_plan(
                records,
                chunk_size=chunk_size,
                idempotency_keys=idempotency_keys,
                raise_on_rejection=raise_on_rejection,
            )
        )

    # -- reads --------------------------------------------------------------------------

    def get(self, ma_ho_so: str) -> Dossier:
        """Look a dossier up (``TraCuuHoSo``, parameter ``mahoso``); NotFoundError when unknown."""
        return self._run(self._core.get_plan(ma_ho_so))

    def exists(self, ma_ho_so: str) -> bool:
        """Whether the portal has the dossier (a ``TraCuuHoSo`` lookup)."""
        return self._run(self._core.exists_plan(ma_ho_so))

    def tech_id(self, number: str, *, provider: str = "wso2is") -> str | None:
        """The portal account id (``TECHNICALID``) of a tax code or ID number
        (``TraCuuTechID``, share endpoint); None when the portal has none."""
        return self._run(self._core.tech_id_plan(number, provider))

    def procedures(self) -> list[Procedure]:
        """The administrative procedures catalogue (``LayDanhSachTTHC``, share endpoint)."""
        return self._run(self._core.catalogue_plan(SERVICE_CATALOGUE_PROCEDURES, Procedure))

    def procedure(self, code: str) -> Procedure:
        """One procedure by its code (``LayThuTuc``, parameter ``maTTHC``)."""
        return self._run(self._core.procedure_plan(code))

    def agencies(self) -> list[Agency]:
        """The agencies catalogue (``LayDanhMucCoQuan``)."""
        return self._run(self._core.catalogue_plan(SERVICE_CATALOGUE_AGENCIES, Agency))

    def fields(self) -> list[ProcedureField]:
        """The fields (lĩnh vực) catalogue (``LayDanhMucLinhVuc``)."""
        return self._run(self._core.catalogue_plan(SERVICE_CATALOGUE_FIELDS, ProcedureField))

    # -- statistics, questions and answers, public services -----------------------------

    def push_satisfaction(
        self, stats: Iterable[SatisfactionStats | Mapping[str, Any]]
    ) -> PushResult:
        """Send monthly satisfaction statistics (``DongBoDanhGia``)."""
        items = _models(SatisfactionStats, stats, "satisfaction statistics")
        return self._run(self._core.push_plan(SERVICE_SATISFACTION, items))

    def questions(self, *, from_portal: bool = True) -> list[Question]:
        """Questions asked on the portal (``LayDanhSachHoiDapGuiTuDVCQG``), or those of
        the ministries (``LayDanhSachHoiDapBoCoQuan``) with ``from_portal=False``."""
        service = SERVICE_QA_FROM_PORTAL if from_portal else SERVICE_QA_OF_MINISTRIES
        return self._run(self._core.catalogue_plan(service, Question))

    def answers(self, question_id: str) -> list[Answer]:
        """The answers to a question (``LayNoiDungTraLoiTheoCauHoi``, ``cauhoiid``)."""
        return self._run(self._core.answers_plan(question_id))

    def push_questions(self, questions: Iterable[QuestionPush | Mapping[str, Any]]) -> PushResult:
        """Send questions asked at the province (``DongBoHoiDap``)."""
        items = _models(QuestionPush, questions, "question")
        return self._run(self._core.push_plan(SERVICE_QA_PUSH, items))

    def push_answers(self, answers: Iterable[AnswerPush | Mapping[str, Any]]) -> PushResult:
        """Send the province's answers to portal questions (``DongBoKetQuaHoiDapGuiTuDVCQG``)."""
        items = _models(AnswerPush, answers, "answer")
        return self._run(self._core.push_plan(SERVICE_QA_ANSWER_PUSH, items))

    def public_services(self, params: Mapping[str, Any] | None = None) -> list[PublicService]:
        """The portal's public services (``LayDVC``); ``params`` are passed as given."""
        return self._run(self._core.public_services_plan(params or {}))

    def push_promotion_status(self, status: PromotionStatus | Mapping[str, Any]) -> PushResult:
        """Report a promotion-notice dossier's status (``DongBoTrangThaiHoSo``, type 2)."""
        item = _coerce(PromotionStatus, status, "promotion status: ")
        return self._run(self._core.push_plan(SERVICE_PROMOTION_STATUS, [item], type="2"))

    # -- lifecycle ----------------------------------------------------------------------

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
        self._runner = AsyncRunner(self._http, {"dossiers": self._core.sessions})

    async def _run(self, plan: Plan[T]) -> T:
        return await self._runner.run(plan)

    async def send_batch(self, batch: Batch) -> BatchResult:
        """See :meth:`DossierClient.send_batch`."""
        return await self._run(self._core.send_plan(batch))

    async def sync_dossiers(
        self,
        dossiers: Iterable[Dossier | Mapping[str, Any]],
        *,
        is_updating: bool | None,
        chunk_size: int | None = None,
        previous: Mapping[str, DossierStatus | int] | None = None,
        force: bool = False,
        idempotency_keys: Sequence[str] | None = None,
        raise_on_rejection: bool = True,
    ) -> SyncReport:
        """See :meth:`DossierClient.sync_dossiers`."""
        return await self._run(
            self._core.dossiers_plan(
                dossiers,
                is_updating=is_updating,
                chunk_size=chunk_size,
                previous=previous,
                force=force,
                idempotency_keys=idempotency_keys,
                raise_on_rejection=raise_on_rejection,
            )
        )

    async def push_progress(
        self,
        records: Iterable[ProgressRecord | Mapping[str, Any]],
        *,
        chunk_size: int | None = None,
        idempotency_keys: Sequence[str] | None = None,
        raise_on_rejection: bool = True,
    ) -> SyncReport:
        """See :meth:`DossierClient.push_progress`."""
        return await self._run(
            self._core.progress_plan(
                records,
                chunk_size=chunk_size,
                idempotency_keys=idempotency_keys,
                raise_on_rejection=raise_on_rejection,
            )
        )

    async def get(self, ma_ho_so: str) -> Dossier:
        """See :meth:`DossierClient.get`."""
        return await self._run(self._core.get_plan(ma_ho_so))

    async def exists(self, ma_ho_so: str) -> bool:
        """See :meth:`DossierClient.exists`."""
        return await self._run(self._core.exists_plan(ma_ho_so))

    async def tech_id(self, number: str, *, provider: str = "wso2is") -> str | None:
        """See :meth:`DossierClient.tech_id`."""
        return await self._run(self._core.tech_id_plan(number, provider))

    async def procedures(self) -> list[Procedure]:
        """See :meth:`DossierClient.procedures`."""
        return await self._run(self._core.catalogue_plan(SERVICE_CATALOGUE_PROCEDURES, Procedure))

    async def procedure(self, code: str) -> Procedure:
        """See :meth:`DossierClient.procedure`."""
        return await self._run(self._core.procedure_plan(code))

    async def agencies(self) -> list[Agency]:
        """See :meth:`DossierClient.agencies`."""
        return await self._run(self._core.catalogue_plan(SERVICE_CATALOGUE_AGENCIES, Agency))

    async def fields(self) -> list[ProcedureField]:
        """See :meth:`DossierClient.fields`."""
        return await self._run(self._core.catalogue_plan(SERVICE_CATALOGUE_FIELDS, ProcedureField))

    async def push_satisfaction(
        self, stats: Iterable[SatisfactionStats | Mapping[str, Any]]
    ) -> PushResult:
        """See :meth:`DossierClient.push_satisfaction`."""
        items = _models(SatisfactionStats, stats, "satisfaction statistics")
        return await self._run(self._core.push_plan(SERVICE_SATISFACTION, items))

    async def questions(self, *, from_portal: bool = True) -> list[Question]:
        """See :meth:`DossierClient.questions`."""
        service = SERVICE_QA_FROM_PORTAL if from_portal else SERVICE_QA_OF_MINISTRIES
        return await self._run(self._core.catalogue_plan(service, Question))

    async def answers(self, question_id: str) -> list[Answer]:
        """See :meth:`DossierClient.answers`."""
        return await self._run(self._core.answers_plan(question_id))

    async def push_questions(
        self, questions: Iterable[QuestionPush | Mapping[str, Any]]
    ) -> PushResult:
        """See :meth:`DossierClient.push_questions`."""
        items = _models(QuestionPush, questions, "question")
        return await self._run(self._core.push_plan(SERVICE_QA_PUSH, items))

    async def push_answers(self, answers: Iterable[AnswerPush | Mapping[str, Any]]) -> PushResult:
        """See :meth:`DossierClient.push_answers`."""
        items = _models(AnswerPush, answers, "answer")
        return await self._run(self._core.push_plan(SERVICE_QA_ANSWER_PUSH, items))

    async def public_services(self, params: Mapping[str, Any] | None = None) -> list[PublicService]:
        """See :meth:`DossierClient.public_services`."""
        return await self._run(self._core.public_services_plan(params or {}))

    async def push_promotion_status(
        self, status: PromotionStatus | Mapping[str, Any]
    ) -> PushResult:
        """See :meth:`DossierClient.push_promotion_status`."""
        item = _coerce(PromotionStatus, status, "promotion status: ")
        return await self._run(self._core.push_plan(SERVICE_PROMOTION_STATUS, [item], type="2"))

    async def aclose(self) -> None:
        await self._http.aclose()
