"""Dossier changes through the durable outbox (:mod:`govlink.sync`).

``enqueue_dossiers`` / ``enqueue_progress`` validate and record changes (status
transitions are checked against the last status *queued* for each dossier, so an
illegal change is refused before it is stored); :class:`DossierSink` is what a
:class:`~govlink.sync.Worker` delivers them through.

The ordering key is ``MaHoSo``: a dossier's changes reach the portal one after the
other, in the order they were enqueued, whatever the service (a dossier's creation
before its progress records). The transition check reads the last queued status
*inside* the enqueue transaction, after the dossier's key is locked, so two
producers racing on one dossier cannot both pass it against the same status.

``enqueue_dossiers_in`` / ``enqueue_progress_in`` do the same inside the caller's
own database transaction (:func:`govlink.sync.enqueue_in`).

Codes outside the portal's published 1–10 are refused before anything is queued:
the open enums accept unknown codes in what govlink *reads*, never in what it sends.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from govlink.core.errors import ValidationError
from govlink.dossiers._codec import OK_CODES, SERVICE_PROGRESS, SERVICE_SYNC
from govlink.dossiers._status import check_transition
from govlink.dossiers.client import AsyncDossierClient, Batch, DossierClient, _coerce
from govlink.dossiers.models import Dossier, DossierStatus, ProgressRecord
from govlink.sync._store import OutboxStore, Transaction
from govlink.sync._transactional import enqueue_in
from govlink.sync._worker import Fence, LeaseLostError
from govlink.sync.models import Change, OutboxItem, new_idempotency_key

__all__ = [
    "KIND_CREATE",
    "KIND_PREFIX",
    "KIND_PROGRESS",
    "KIND_UPDATE",
    "AsyncDossierSink",
    "DossierSink",
    "check_sendable_status",
    "dossier_change",
    "enqueue_dossiers",
    "enqueue_dossiers_in",
    "enqueue_progress",
    "enqueue_progress_in",
    "last_queued_status",
    "progress_change",
    "transition_check",
]

KIND_PREFIX = "dvcqg."
KIND_CREATE = "dvcqg.dossier.create"
KIND_UPDATE = "dvcqg.dossier.update"
KIND_PROGRESS = "dvcqg.progress"
_DOSSIER_KINDS = "dvcqg.dossier."

# kind -> (service, isUpdating)
_ROUTES: dict[str, tuple[str, bool | None]] = {
    KIND_CREATE: (SERVICE_SYNC, False),
    KIND_UPDATE: (SERVICE_SYNC, True),
    KIND_PROGRESS: (SERVICE_PROGRESS, None),
}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_KNOWN_STATUSES = frozenset(int(member) for member in DossierStatus)


def check_sendable_status(status: int, *, field: str = "TrangThaiHoSo") -> None:
    """Refuse a status code the portal does not publish (1–10) before it is sent."""
    if int(status) not in _KNOWN_STATUSES:
        raise ValidationError(
            field,
            f"a published status code {min(_KNOWN_STATUSES)}–{max(_KNOWN_STATUSES)} "
            "(unknown codes are accepted when read, never sent)",
            got=int(status),
        )


def dossier_change(
    dossier: Dossier | Mapping[str, Any],
    *,
    is_updating: bool,
    idempotency_key: str | None = None,
) -> Change:
    """The outbox change that creates or updates ``dossier`` (``DongBoHoSoMC``)."""
    model = _coerce(Dossier, dossier, "")
    check_sendable_status(model.status)
    return Change(
        KIND_UPDATE if is_updating else KIND_CREATE,
        model.ma_ho_so,
        _dumps(model.to_wire()),
        idempotency_key or new_idempotency_key(),
    )


def progress_change(
    record: ProgressRecord | Mapping[str, Any], *, idempotency_key: str | None = None
) -> Change:
    """The outbox change that adds a processing step (``CapNhatTienDoHoSoMC``)."""
    model = _coerce(ProgressRecord, record, "")
    check_sendable_status(model.status, field="TrangThai")
    return Change(
        KIND_PROGRESS,
        model.ma_ho_so,
        _dumps(model.to_wire()),
        idempotency_key or new_idempotency_key(),
    )


def _status_of(item: OutboxItem | None) -> DossierStatus | None:
    if item is None:
        return None
    status = item.payload_json().get("TrangThaiHoSo")
    return None if status in (None, "") else DossierStatus(status)


def last_queued_status(store: OutboxStore, ma_ho_so: str) -> DossierStatus | None:
    """The status of the most recent dossier change queued for ``ma_ho_so``."""
    return _status_of(store.latest(ma_ho_so, kind_prefix=_DOSSIER_KINDS))


def _check_sequence(
    entries: Sequence[tuple[str, DossierStatus]],
    force: bool,
    latest: Callable[[str], OutboxItem | None],
) -> None:
    last: dict[str, DossierStatus | None] = {}
    for ma_ho_so, status in entries:
        if ma_ho_so not in last:
            last[ma_ho_so] = _status_of(latest(ma_ho_so))
        check_transition(last[ma_ho_so], status, force=force, ma_ho_so=ma_ho_so)
        last[ma_ho_so] = status


def transition_check(
    entries: Sequence[tuple[str, DossierStatus]], *, force: bool = False
) -> Callable[[Transaction], None]:
    """An enqueue ``check``: each ``(MaHoSo, status)``, in order, must follow the
    dossier's previous one — the last queued status read inside the enqueue
    transaction, once the dossier is locked. Raises
    :class:`~govlink.dossiers._status.IllegalTransitionError` (nothing is stored)."""

    def check(tx: Transaction) -> None:
        _check_sequence(entries, force, lambda key: tx.latest(key, kind_prefix=_DOSSIER_KINDS))

    return check


def _dossier_changes(
    dossiers: Iterable[Dossier | Mapping[str, Any]],
    *,
    is_updating: bool,
    idempotency_keys: Sequence[str] | None,
) -> tuple[list[Change], list[tuple[str, DossierStatus]]]:
    models = [_coerce(Dossier, d, f"dossier {i + 1}: ") for i, d in enumerate(dossiers)]
    if idempotency_keys is not None and len(idempotency_keys) != len(models):
        raise ValidationError(
            "idempotency_keys", f"one key per dossier ({len(models)})", got=len(idempotency_keys)
        )
    changes = [
        dossier_change(
            model,
            is_updating=is_updating,
            idempotency_key=None if idempotency_keys is None else idempotency_keys[index],
        )
        for index, model in enumerate(models)
    ]
    return changes, [(model.ma_ho_so, model.status) for model in models]


def enqueue_dossiers(
    store: OutboxStore,
    dossiers: Iterable[Dossier | Mapping[str, Any]],
    *,
    is_updating: bool,
    force: bool = False,
    idempotency_keys: Sequence[str] | None = None,
    check_queued: bool = True,
) -> int:
    """Validate and record dossier changes in one transaction; how many were new.

    Transitions are checked against earlier items of the same dossier in the call
    and (``check_queued``) the last status queued in the outbox, inside the enqueue
    transaction; an illegal one raises
    :class:`~govlink.dossiers._status.IllegalTransitionError` and nothing is stored.
    """
    changes, entries = _dossier_changes(
        dossiers, is_updating=is_updating, idempotency_keys=idempotency_keys
    )
    if not check_queued:
        _check_sequence(entries, force, lambda _key: None)
        return store.enqueue_many(changes, now=time.time())
    return store.enqueue_many(
        changes, now=time.time(), check=transition_check(entries, force=force)
    )


def enqueue_dossiers_in(
    connection: Any,
    dossiers: Iterable[Dossier | Mapping[str, Any]],
    *,
    is_updating: bool,
    force: bool = False,
    idempotency_keys: Sequence[str] | None = None,
) -> int:
    """:func:`enqueue_dossiers` inside the caller's open database transaction
    (psycopg, sqlite3 or SQLAlchemy; see :func:`govlink.sync.enqueue_in`)."""
    changes, entries = _dossier_changes(
        dossiers, is_updating=is_updating, idempotency_keys=idempotency_keys
    )
    return enqueue_in(connection, changes, check=transition_check(entries, force=force))


def _progress_changes(
    records: Iterable[ProgressRecord | Mapping[str, Any]],
    idempotency_keys: Sequence[str] | None,
) -> list[Change]:
    models = [_coerce(ProgressRecord, r, f"record {i + 1}: ") for i, r in enumerate(records)]
    if idempotency_keys is not None and len(idempotency_keys) != len(models):
        raise ValidationError(
            "idempotency_keys", f"one key per record ({len(models)})", got=len(idempotency_keys)
        )
    return [
        progress_change(
            m, idempotency_key=None if idempotency_keys is None else idempotency_keys[i]
        )
        for i, m in enumerate(models)
    ]


def enqueue_progress(
    store: OutboxStore,
    records: Iterable[ProgressRecord | Mapping[str, Any]],
    *,
    idempotency_keys: Sequence[str] | None = None,
) -> int:
    """Validate and record progress records in one transaction; how many were new."""
    return store.enqueue_many(_progress_changes(records, idempotency_keys), now=time.time())


def enqueue_progress_in(
    connection: Any,
    records: Iterable[ProgressRecord | Mapping[str, Any]],
    *,
    idempotency_keys: Sequence[str] | None = None,
) -> int:
    """:func:`enqueue_progress` inside the caller's open database transaction."""
    return enqueue_in(connection, _progress_changes(records, idempotency_keys))


class _Plan:
    """A batch of items split into the portal requests that carry them."""

    def __init__(self, client: Any, items: Sequence[OutboxItem]) -> None:
        self.items = items
        self.results: list[BaseException | None] = [None] * len(items)
        groups: dict[str, list[int]] = {}
        kinds = {item.kind for item in items}
        if len(kinds) == 1 and items[0].kind in _ROUTES:  # the usual batch: one kind
            groups[items[0].kind] = list(range(len(items)))
        else:
            for index, item in enumerate(items):
                if item.kind not in _ROUTES:
                    self.results[index] = ValidationError(
                        "kind", "one of " + ", ".join(sorted(_ROUTES)), got=item.kind
                    )
                    continue
                groups.setdefault(item.kind, []).append(index)
        self.core = client.core
        self.chunks: list[tuple[str, list[int]]] = []
        for kind, indexes in groups.items():
            service = _ROUTES[kind][0]
            size = (
                self.core.progress_chunk_size
                if service == SERVICE_PROGRESS
                else self.core.chunk_size
            )
            self.chunks.extend(
                (kind, indexes[start : start + size]) for start in range(0, len(indexes), size)
            )

    def keep(self, chunk: list[int], held: Sequence[bool]) -> list[int]:
        """The indexes of ``chunk`` still leased (others answered LeaseLostError)."""
        kept = []
        for index, ok in zip(chunk, held, strict=True):
            if ok:
                kept.append(index)
            else:
                self.results[index] = LeaseLostError(self.items[index].id)
        return kept

    def batch(self, kind: str, chunk: list[int]) -> Batch:
        service, is_updating = _ROUTES[kind]
        outgoing = self.core.outgoing
        sent = [self.items[i] for i in chunk]
        return Batch(
            service,
            tuple([outgoing(it.payload, it.key, it.idempotency_key) for it in sent]),
            is_updating,
        )

    def failed(self, chunk: list[int], exc: BaseException) -> None:
        for i in chunk:
            self.results[i] = exc

    def verdicts(self, chunk: list[int], outcome: Any) -> None:
        for i, verdict in zip(chunk, outcome.items, strict=True):
            if verdict.code not in OK_CODES:  # accepted items stay None
                self.results[i] = outcome.item_error(verdict, self.core.codes)


class DossierSink:
    """Delivers outbox items of the ``dvcqg.*`` kinds through a :class:`DossierClient`.

    Items are grouped by service (keeping their order), sent in the client's chunk
    sizes, and each item gets the portal's own verdict: a per-item refusal becomes
    that item's :class:`~govlink.core.errors.PlatformError`; a failure of a whole
    request applies to the items of that request only. Before each request the
    worker's ``fence`` renews the lease; items another worker took over are not sent.
    """

    def __init__(self, client: DossierClient) -> None:
        self.client = client

    def deliver(
        self, items: Sequence[OutboxItem], *, fence: Fence | None = None
    ) -> list[BaseException | None]:
        plan = _Plan(self.client, items)
        for kind, chunk in plan.chunks:
            if fence is not None:
                chunk = plan.keep(chunk, fence([items[i] for i in chunk]))
                if not chunk:
                    continue
            try:
                outcome = self.client.send_batch(plan.batch(kind, chunk))
            except Exception as exc:  # the whole request failed
                plan.failed(chunk, exc)
                continue
            plan.verdicts(chunk, outcome)
        return plan.results


class AsyncDossierSink:
    """:class:`DossierSink` over an :class:`~govlink.dossiers.AsyncDossierClient`,
    for :class:`~govlink.sync.AsyncWorker`."""

    def __init__(self, client: AsyncDossierClient) -> None:
        self.client = client

    async def deliver(
        self,
        items: Sequence[OutboxItem],
        *,
        fence: Callable[[Sequence[OutboxItem]], Awaitable[list[bool]]] | None = None,
    ) -> list[BaseException | None]:
        plan = _Plan(self.client, items)
        for kind, chunk in plan.chunks:
            if fence is not None:
                chunk = plan.keep(chunk, await fence([items[i] for i in chunk]))
                if not chunk:
                    continue
            try:
                outcome = await self.client.send_batch(plan.batch(kind, chunk))
            except Exception as exc:  # the whole request failed
                plan.failed(chunk, exc)
                continue
            plan.verdicts(chunk, outcome)
        return plan.results
