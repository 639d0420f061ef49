"""Reconcile the province's dossiers with what the national portal holds.

Provinces are measured on the portal's figures (100 % of statuses and results
synced), and their most common complaint is that the two do not match. This module
looks every dossier of a local export up on the portal (``TraCuuHoSo``) and puts it
in exactly one class:

``in_sync``
    the portal has the dossier with the same status (and its results, if returned).
``missing_on_portal``
    the portal does not know the dossier.
``status_differs``
    both have it, with different statuses (both are reported).
``results_missing``
    the result was returned locally (status 10 with result documents), but the
    portal's copy lists none (or not all) of the result documents.
``stuck``
    the appointment date (``NgayHenTra``) has passed and the dossier is not in a
    final state, or it is final locally but not on the portal.
``blocked``
    changes of this dossier are still pending, in flight or dead in the outbox:
    the portal cannot agree until they are delivered (age and reason reported).

The classification (:func:`classify`) is pure; :func:`reconcile` and
:func:`areconcile` stream entries in input order with a bounded number of lookups
in flight, so memory stays flat whatever the size of the export. :func:`plan_fix`
says which change brings the portal in line, checked against the state machine.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from govlink.core.clock import VN_TZ
from govlink.core.errors import NotFoundError, RateLimitedError, ValidationError
from govlink.dossiers._status import is_allowed
from govlink.dossiers.models import Dossier, DossierStatus

__all__ = [
    "FINAL_STATUSES",
    "AsyncDossierLookup",
    "DossierLookup",
    "Fix",
    "OutboxBlock",
    "ReconcileClass",
    "ReconcileEntry",
    "ReconcileSummary",
    "areconcile",
    "classify",
    "outbox_blocks",
    "plan_fix",
    "reconcile",
]

FINAL_STATUSES: frozenset[int] = frozenset(
    {DossierStatus.REFUSED, DossierStatus.STOPPED, DossierStatus.RESULT_RETURNED}
)
"""Statuses after which nothing more happens to a dossier (3 refused, 8 stopped,
10 result returned)."""

_RATE_LIMIT_TRIES = 6


class ReconcileClass(StrEnum):
    """Where one dossier stands between the province and the portal."""

    IN_SYNC = "in_sync"
    MISSING_ON_PORTAL = "missing_on_portal"
    STATUS_DIFFERS = "status_differs"
    RESULTS_MISSING = "results_missing"
    STUCK = "stuck"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class OutboxBlock:
    """The outbox still holds a change of this dossier that the portal has not taken."""

    state: str
    """``pending``, ``inflight`` or ``dead``."""
    age_seconds: float
    reason: str | None = None


@dataclass(frozen=True)
class ReconcileEntry:
    """One dossier's verdict: its class, both statuses and why."""

    dossier_code: str
    kind: ReconcileClass
    local_status: DossierStatus
    portal_status: DossierStatus | None
    reason: str
    local: Dossier = field(repr=False)
    portal: Dossier | None = field(default=None, repr=False)
    blocked: OutboxBlock | None = None

    @property
    def in_sync(self) -> bool:
        return self.kind is ReconcileClass.IN_SYNC

    def as_dict(self) -> dict[str, Any]:
        """The difference as reported in ``--json`` and ``--csv`` (wire names)."""
        data: dict[str, Any] = {
            "MaHoSo": self.dossier_code,
            "class": self.kind.value,
            "local_status": int(self.local_status),
            "portal_status": None if self.portal_status is None else int(self.portal_status),
            "reason": self.reason,
        }
        if self.blocked is not None:
            data["outbox_state"] = self.blocked.state
            data["outbox_age_seconds"] = round(self.blocked.age_seconds, 1)
            data["outbox_reason"] = self.blocked.reason
        return data


@dataclass
class ReconcileSummary:
    """Counts per class, under exactly the class names."""

    counts: dict[str, int] = field(default_factory=lambda: {k.value: 0 for k in ReconcileClass})

    def add(self, entry: ReconcileEntry) -> None:
        self.counts[entry.kind.value] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def differences(self) -> int:
        return self.total - self.counts[ReconcileClass.IN_SYNC.value]

    def as_dict(self) -> dict[str, int]:
        return dict(self.counts)


def _result_codes(dossier: Dossier) -> set[str]:
    codes: set[str] = set()
    for index, doc in enumerate(dossier.result_documents or ()):
        codes.add(doc.result_code or doc.document_id or doc.name or f"#{index}")
    return codes


def classify(
    local: Dossier,
    portal: Dossier | None,
    *,
    blocked: OutboxBlock | None = None,
    now: datetime | None = None,
) -> ReconcileEntry:
    """The class of one dossier, given the portal's copy (``None``: not on the portal)."""
    moment = now or datetime.now(VN_TZ)
    code = local.ma_ho_so
    local_status = DossierStatus(local.status)
    portal_status = None if portal is None else DossierStatus(portal.status)

    def entry(kind: ReconcileClass, reason: str) -> ReconcileEntry:
        return ReconcileEntry(
            code, kind, local_status, portal_status, reason, local, portal, blocked
        )

    if blocked is not None:
        age = _age(blocked.age_seconds)
        why = f": {blocked.reason}" if blocked.reason else ""
        return entry(
            ReconcileClass.BLOCKED,
            f"a change is {blocked.state} in the outbox for {age}{why}",
        )
    if portal is None or portal_status is None:
        return entry(ReconcileClass.MISSING_ON_PORTAL, "the portal has no such dossier")
    local_final = int(local_status) in FINAL_STATUSES
    portal_final = int(portal_status) in FINAL_STATUSES
    if local_status != portal_status:
        if local_final and not portal_final:
            return entry(
                ReconcileClass.STUCK,
                f"final locally ({local_status.describe()}) but "
                f"{portal_status.describe()} on the portal",
            )
        return entry(
            ReconcileClass.STATUS_DIFFERS,
            f"local {local_status.describe()}, portal {portal_status.describe()}",
        )
    if local_status == DossierStatus.RESULT_RETURNED:
        local_results = _result_codes(local)
        missing = local_results - _result_codes(portal)
        if missing:
            return entry(
                ReconcileClass.RESULTS_MISSING,
                f"{len(missing)} of {len(local_results)} result document(s) absent on the portal",
            )
    if not local_final and local.due_at is not None and local.due_at < moment:
        return entry(
            ReconcileClass.STUCK,
            f"appointment date {local.due_at:%d/%m/%Y %H:%M} passed and not in a final state",
        )
    return entry(ReconcileClass.IN_SYNC, "same status on both sides")


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@dataclass(frozen=True)
class Fix:
    """What ``--fix`` does for one entry: a change to queue, or why it queues nothing."""

    entry: ReconcileEntry
    dossier: Dossier | None
    """The dossier to queue (the local copy), or ``None``."""
    is_updating: bool = True
    forced: bool = False
    refused: str | None = None
    """Why nothing is queued (a transition the state machine refuses, a blocked outbox)."""


def plan_fix(entry: ReconcileEntry, *, force: bool = False) -> Fix:
    """The change that brings the portal in line with the province, if any.

    A dossier missing on the portal is created; a differing status or missing
    results are sent as an update of the local copy. A status change the state
    machine refuses (portal status → local status) is refused with the reason
    unless ``force`` (decided per dossier by the caller).
    """
    kind = entry.kind
    if kind is ReconcileClass.IN_SYNC:
        return Fix(entry, None, refused="already in sync")
    if kind is ReconcileClass.BLOCKED:
        return Fix(
            entry,
            None,
            refused="changes are still in the outbox: drain it, or retry/discard the dead "
            "ones ('govlink outbox dead'), then reconcile again",
        )
    if kind is ReconcileClass.MISSING_ON_PORTAL:
        return Fix(entry, entry.local, is_updating=False)
    portal_status = entry.portal_status
    if portal_status is not None and portal_status == entry.local_status:
        if kind is ReconcileClass.STUCK:
            return Fix(
                entry,
                None,
                refused="the portal agrees; the dossier is late in the province's own "
                "processing (nothing to send)",
            )
        return Fix(entry, entry.local)  # results missing: send the local copy again
    if portal_status is not None and not is_allowed(portal_status, entry.local_status):
        if not force:
            return Fix(
                entry,
                None,
                refused=f"the state machine does not allow {int(portal_status)} → "
                f"{int(entry.local_status)} on the portal; force it for this dossier "
                "if the local status is right",
            )
        return Fix(entry, entry.local, forced=True)
    return Fix(entry, entry.local)


# ------------------------------------------------------------------------ lookups


class DossierLookup(Protocol):
    """What :func:`reconcile` needs of a client: ``get`` (``TraCuuHoSo``)."""

    def get(self, ma_ho_so: str) -> Dossier: ...


class AsyncDossierLookup(Protocol):
    def get(self, ma_ho_so: str) -> Any: ...


BlockedLookup = Callable[[str], OutboxBlock | None]


def _coerce_local(item: Dossier | Mapping[str, Any], index: int) -> Dossier:
    if isinstance(item, Dossier):
        return item
    try:
        return Dossier.model_validate(item)
    except Exception as exc:  # pydantic's ValidationError, named by row
        raise ValidationError(f"dossier {index + 1}", f"a valid dossier ({exc})") from None


def _check_concurrency(concurrency: int) -> None:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError("concurrency", "a whole number >= 1", got=concurrency)


def _lookup_sync(
    client: DossierLookup, code: str, sleep: Callable[[float], None]
) -> Dossier | None:
    for attempt in range(_RATE_LIMIT_TRIES):
        try:
            return client.get(code)
        except NotFoundError:
            return None
        except RateLimitedError as exc:
            if attempt == _RATE_LIMIT_TRIES - 1:
                raise
            sleep(exc.retry_after if exc.retry_after is not None else 2.0**attempt)
    return None  # pragma: no cover - the loop returns or raises


def reconcile(
    client: DossierLookup,
    dossiers: Iterable[Dossier | Mapping[str, Any]],
    *,
    concurrency: int = 8,
    blocked: BlockedLookup | None = None,
    now: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[ReconcileEntry]:
    """Look each dossier up on the portal and yield its :class:`ReconcileEntry`.

    Entries come in input order; at most ``concurrency`` lookups are in flight and at
    most twice that many dossiers are held, so memory is flat for any export size.
    ``blocked`` (for example :func:`govlink.dossiers._outbox.outbox_block`) says
    whether the outbox still holds changes of a dossier; such a dossier is not looked
    up. A ``429`` the HTTP layer's retries did not absorb is waited out
    (``Retry-After``) and the lookup tried again; any other failure ends the run
    with that error (resume from a checkpoint).
    """
    _check_concurrency(concurrency)
    clock = now or (lambda: datetime.now(VN_TZ))
    window: deque[tuple[Dossier, OutboxBlock | None, Future[Dossier | None] | None]] = deque()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="reconcile") as pool:
        try:
            for index, item in enumerate(dossiers):
                local = _coerce_local(item, index)
                block = blocked(local.ma_ho_so) if blocked is not None else None
                future = (
                    None
                    if block is not None
                    else pool.submit(_lookup_sync, client, local.ma_ho_so, sleep)
                )
                window.append((local, block, future))
                while len(window) > 2 * concurrency or (
                    window and (window[0][2] is None or window[0][2].done())
                ):
                    yield _finish(window.popleft(), clock)
            while window:
                yield _finish(window.popleft(), clock)
        finally:
            for _local, _block, pending in window:
                if pending is not None:
                    pending.cancel()


def _finish(
    slot: tuple[Dossier, OutboxBlock | None, Future[Dossier | None] | None],
    clock: Callable[[], datetime],
) -> ReconcileEntry:
    local, block, future = slot
    portal = None if future is None else future.result()
    return classify(local, portal, blocked=block, now=clock())


async def _lookup_async(client: AsyncDossierLookup, code: str) -> Dossier | None:
    for attempt in range(_RATE_LIMIT_TRIES):
        try:
            result: Dossier = await client.get(code)
            return result
        except NotFoundError:
            return None
        except RateLimitedError as exc:
            if attempt == _RATE_LIMIT_TRIES - 1:
                raise
            await asyncio.sleep(exc.retry_after if exc.retry_after is not None else 2.0**attempt)
    return None  # pragma: no cover


async def areconcile(
    client: AsyncDossierLookup,
    dossiers: Iterable[Dossier | Mapping[str, Any]],
    *,
    concurrency: int = 16,
    blocked: BlockedLookup | None = None,
    now: Callable[[], datetime] | None = None,
) -> AsyncIterator[ReconcileEntry]:
    """:func:`reconcile` for an :class:`~govlink.dossiers.AsyncDossierClient`."""
    _check_concurrency(concurrency)
    clock = now or (lambda: datetime.now(VN_TZ))
    window: deque[tuple[Dossier, OutboxBlock | None, asyncio.Task[Dossier | None] | None]] = deque()
    try:
        for index, item in enumerate(dossiers):
            local = _coerce_local(item, index)
            block = blocked(local.ma_ho_so) if blocked is not None else None
            task = (
                None
                if block is not None
                else asyncio.ensure_future(_lookup_async(client, local.ma_ho_so))
            )
            window.append((local, block, task))
            while len(window) > concurrency or (
                window and (window[0][2] is None or window[0][2].done())
            ):
                head_local, head_block, head_task = window.popleft()
                portal = None if head_task is None else await head_task
                yield classify(head_local, portal, blocked=head_block, now=clock())
        while window:
            head_local, head_block, head_task = window.popleft()
            portal = None if head_task is None else await head_task
            yield classify(head_local, portal, blocked=head_block, now=clock())
    finally:
        for _local, _block, pending in window:
            if pending is not None:
                pending.cancel()


# ------------------------------------------------------------------ outbox state


_BLOCKING_STATES = frozenset({"pending", "inflight", "dead"})


class _LatestItem(Protocol):
    state: str
    created_at: float
    last_error: str | None


class _OutboxReader(Protocol):
    def latest(self, key: str, *, kind_prefix: str = "") -> Any: ...


def outbox_blocks(
    store: _OutboxReader, *, kind_prefix: str = "dvcqg.", clock: Callable[[], float] = time.time
) -> BlockedLookup:
    """A ``blocked`` lookup for :func:`reconcile` over an outbox store.

    A dossier is blocked while the newest change queued for it (any ``dvcqg.*`` kind)
    is pending, in flight or dead: until it is delivered (or discarded) the portal
    cannot agree with the province, and re-queueing would race with it.
    """

    def lookup(code: str) -> OutboxBlock | None:
        item: _LatestItem | None = store.latest(code, kind_prefix=kind_prefix)
        if item is None or item.state not in _BLOCKING_STATES:
            return None
        return OutboxBlock(item.state, max(0.0, clock() - item.created_at), item.last_error)

    return lookup
