"""Dossier changes through the durable outbox (:mod:`govlink.sync`).

``enqueue_dossiers`` / ``enqueue_progress`` validate and record changes (status
transitions are checked against the last status *queued* for each dossier, so an
illegal change is refused before it is stored); :class:`DossierSink` is what a
:class:`~govlink.sync.Worker` delivers them through.

The ordering key is ``MaHoSo``: a dossier's changes reach the portal one after the
other, in the order they were enqueued, whatever the service (a dossier's creation
before its progress records).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from govlink.core.errors import ValidationError
from govlink.dossiers.client import Batch, DossierClient, _coerce
from govlink.dossiers.codec import OK_CODES, SERVICE_PROGRESS, SERVICE_SYNC
from govlink.dossiers.models import Dossier, DossierStatus, ProgressRecord
from govlink.dossiers.status import check_transition
from govlink.sync.models import Change, OutboxItem, new_idempotency_key
from govlink.sync.store import OutboxStore

__all__ = [
    "KIND_CREATE",
    "KIND_PREFIX",
    "KIND_PROGRESS",
    "KIND_UPDATE",
    "DossierSink",
    "dossier_change",
    "enqueue_dossiers",
    "enqueue_progress",
    "last_queued_status",
    "progress_change",
]

KIND_PREFIX = "dvcqg."
KIND_CREATE = "dvcqg.dossier.create"
KIND_UPDATE = "dvcqg.dossier.update"
KIND_PROGRESS = "dvcqg.progress"

# kind -> (service, isUpdating)
_ROUTES: dict[str, tuple[str, bool | None]] = {
    KIND_CREATE: (SERVICE_SYNC, False),
    KIND_UPDATE: (SERVICE_SYNC, True),
    KIND_PROGRESS: (SERVICE_PROGRESS, None),
}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def dossier_change(
    dossier: Dossier | Mapping[str, Any],
    *,
    is_updating: bool,
    idempotency_key: str | None = None,
) -> Change:
    """The outbox change that creates or updates ``dossier`` (``DongBoHoSoMC``)."""
    model = _coerce(Dossier, dossier, "")
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
    return Change(
        KIND_PROGRESS,
        model.ma_ho_so,
        _dumps(model.to_wire()),
        idempotency_key or new_idempotency_key(),
    )


def last_queued_status(store: OutboxStore, ma_ho_so: str) -> DossierStatus | None:
    """The status of the most recent dossier change queued for ``ma_ho_so``."""
    item = store.latest(ma_ho_so, kind_prefix="dvcqg.dossier.")
    if item is None:
        return None
    status = item.payload_json().get("TrangThaiHoSo")
    return None if status in (None, "") else DossierStatus(status)


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
    and (``check_queued``) the last status queued in the outbox; an illegal one
    raises :class:`~govlink.dossiers.status.IllegalTransitionError` and nothing is
    stored.
    """
    models = [_coerce(Dossier, d, f"dossier {i + 1}: ") for i, d in enumerate(dossiers)]
    if idempotency_keys is not None and len(idempotency_keys) != len(models):
        raise ValidationError(
            "idempotency_keys", f"one key per dossier ({len(models)})", got=len(idempotency_keys)
        )
    last: dict[str, DossierStatus | None] = {}
    changes: list[Change] = []
    for index, model in enumerate(models):
        if model.ma_ho_so not in last:
            last[model.ma_ho_so] = (
                last_queued_status(store, model.ma_ho_so) if check_queued else None
            )
        check_transition(last[model.ma_ho_so], model.status, force=force, ma_ho_so=model.ma_ho_so)
        last[model.ma_ho_so] = model.status
        key = idempotency_keys[index] if idempotency_keys is not None else None
        changes.append(dossier_change(model, is_updating=is_updating, idempotency_key=key))
    return store.enqueue_many(changes, now=time.time())


def enqueue_progress(
    store: OutboxStore,
    records: Iterable[ProgressRecord | Mapping[str, Any]],
    *,
    idempotency_keys: Sequence[str] | None = None,
) -> int:
    """Validate and record progress records in one transaction; how many were new."""
    models = [_coerce(ProgressRecord, r, f"record {i + 1}: ") for i, r in enumerate(records)]
    if idempotency_keys is not None and len(idempotency_keys) != len(models):
        raise ValidationError(
            "idempotency_keys", f"one key per record ({len(models)})", got=len(idempotency_keys)
        )
    changes = [
        progress_change(
            m, idempotency_key=None if idempotency_keys is None else idempotency_keys[i]
        )
        for i, m in enumerate(models)
    ]
    return store.enqueue_many(changes, now=time.time())


class DossierSink:
    """Delivers outbox items of the ``dvcqg.*`` kinds through a :class:`DossierClient`.

    Items are grouped by service (keeping their order), sent in the client's chunk
    sizes, and each item gets the portal's own verdict: a per-item refusal becomes
    that item's :class:`~govlink.core.errors.PlatformError`; a failure of a whole
    request applies to the items of that request only.
    """

    def __init__(self, client: DossierClient) -> None:
        self.client = client

    def deliver(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
        results: list[BaseException | None] = [None] * len(items)
        groups: dict[str, list[int]] = {}
        kinds = {item.kind for item in items}
        if len(kinds) == 1 and items[0].kind in _ROUTES:  # the usual batch: one kind
            groups[items[0].kind] = list(range(len(items)))
        else:
            for index, item in enumerate(items):
                if item.kind not in _ROUTES:
                    results[index] = ValidationError(
                        "kind", "one of " + ", ".join(sorted(_ROUTES)), got=item.kind
                    )
                    continue
                groups.setdefault(item.kind, []).append(index)
        core = self.client.core
        outgoing = core.outgoing
        for kind, indexes in groups.items():
            service, is_updating = _ROUTES[kind]
            size = core.progress_chunk_size if service == SERVICE_PROGRESS else core.chunk_size
            for start in range(0, len(indexes), size):
                chunk = indexes[start : start + size]
                sent = [items[i] for i in chunk]
                batch = Batch(
                    service,
                    tuple([outgoing(it.payload, it.key, it.idempotency_key) for it in sent]),
                    is_updating,
                )
                try:
                    outcome = self.client.send_batch(batch)
                except Exception as exc:  # the whole request failed
                    for i in chunk:
                        results[i] = exc
                    continue
                for i, verdict in zip(chunk, outcome.items, strict=True):
                    if verdict.code not in OK_CODES:  # accepted items stay None
                        results[i] = outcome.item_error(verdict, core.codes)
        return results
