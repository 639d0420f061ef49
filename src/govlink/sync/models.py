"""What the outbox stores and reports: changes, items, states, counts."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "STATES",
    "Change",
    "OutboxItem",
    "OutboxStatus",
    "State",
    "new_idempotency_key",
]

State = Literal["pending", "inflight", "done", "dead", "discarded"]
STATES: tuple[State, ...] = ("pending", "inflight", "done", "dead", "discarded")


def new_idempotency_key() -> str:
    """A fresh unique key (the default when the caller has no natural one).

    32 hex digits: the time in nanoseconds, then 64 random bits. Time first keeps
    the outbox's unique index appending instead of inserting at random places,
    which makes bulk enqueues about a quarter cheaper than with random UUIDs.
    """
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class Change:
    """One change to deliver: *what* (``kind`` + ``payload``), *for whom* (``key``).

    ``key`` is the ordering key (for dossiers, ``MaHoSo``): changes with the same key
    are delivered one after the other, in enqueue order. ``idempotency_key`` travels
    with the change to the platform so a redelivery is recognised there; enqueueing
    a change whose key is already in the outbox is a no-op, so a caller with a
    natural key (its own change id) can re-run an import safely.
    """

    kind: str
    key: str
    payload: str | Mapping[str, Any]
    idempotency_key: str = field(default_factory=new_idempotency_key)

    def __post_init__(self) -> None:
        if not self.kind:
            raise ValueError("Change.kind must not be empty")
        if not self.key:
            raise ValueError("Change.key (the ordering key) must not be empty")
        if not self.idempotency_key:
            raise ValueError("Change.idempotency_key must not be empty")
        for name in ("kind", "key", "idempotency_key"):
            if "\x00" in getattr(self, name):
                raise ValueError(f"Change.{name} must not contain a NUL character")

    def payload_text(self) -> str:
        """The payload as stored: JSON text."""
        if isinstance(self.payload, str):
            return self.payload
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A change as stored, with its delivery state."""

    id: int
    kind: str
    key: str
    idempotency_key: str
    payload: str = field(repr=False)
    state: State = "pending"
    attempts: int = 0
    available_at: float = 0.0
    last_error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def payload_json(self) -> Any:
        """The payload decoded."""
        return json.loads(self.payload)


@dataclass(frozen=True)
class OutboxStatus:
    """Counts per state, plus what needs a human.

    ``blocked`` counts pending changes waiting behind a dead change of the same
    key (order is kept, so they wait until the dead one is retried or discarded).
    """

    counts: Mapping[str, int]
    blocked: int = 0
    oldest_pending_at: float | None = None

    @property
    def pending(self) -> int:
        return self.counts.get("pending", 0)

    @property
    def inflight(self) -> int:
        return self.counts.get("inflight", 0)

    @property
    def done(self) -> int:
        return self.counts.get("done", 0)

    @property
    def dead(self) -> int:
        return self.counts.get("dead", 0)

    @property
    def discarded(self) -> int:
        return self.counts.get("discarded", 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {state: self.counts.get(state, 0) for state in STATES}
        data["blocked"] = self.blocked
        data["total"] = self.total
        data["oldest_pending_at"] = self.oldest_pending_at
        return data
