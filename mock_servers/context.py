"""What every mock platform gets from the server: virtual clock, state store, seed.

This is the contract between the mock server (``mock_servers.server``) and the
platform mocks (``mock_servers.<platform>``). It is small on purpose: a platform
mock reads time only from :class:`VirtualClock`, keeps state only in the
:class:`Store` (so ``--state FILE.db`` persists it and ``/__admin/reset`` clears it),
and reads its test data only from :class:`SeedData`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

VN_TZ = timezone(timedelta(hours=7), name="ICT")

EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)
"""The range the virtual clock may be moved to: every platform can still add a day,
a year or a token lifetime to "now" and format the result with four-digit years."""


class ClockRangeError(ValueError):
    """A clock move that would leave :data:`EARLIEST` .. :data:`LATEST`."""


class VirtualClock:
    """Real time shifted by an offset that the admin API can set or advance.

    Every mock reads "now" from here, so a test can expire a token or a session by
    moving the clock instead of sleeping.
    """

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Current virtual time, aware, in UTC."""
        return datetime.now(UTC) + self._offset

    def now_vn(self) -> datetime:
        """Current virtual time in Vietnam time (UTC+7)."""
        return self.now().astimezone(VN_TZ)

    def timestamp(self) -> float:
        """Current virtual time as a POSIX timestamp (JWT ``iat``/``exp`` and the like)."""
        return self.now().timestamp()

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("the virtual clock needs an aware datetime")
        with self._lock:
            self._offset = self._checked(when - datetime.now(UTC))

    def advance(self, seconds: float) -> None:
        with self._lock:
            try:
                offset = self._offset + timedelta(seconds=seconds)
            except (OverflowError, ValueError):
                raise ClockRangeError(self._range_message()) from None
            self._offset = self._checked(offset)

    def _checked(self, offset: timedelta) -> timedelta:
        """``offset`` if it keeps the virtual time within EARLIEST..LATEST (lock held)."""
        try:
            when = datetime.now(UTC) + offset
        except OverflowError:
            raise ClockRangeError(self._range_message()) from None
        if not EARLIEST <= when <= LATEST:
            raise ClockRangeError(self._range_message())
        return offset

    @staticmethod
    def _range_message() -> str:
        return (
            f"the virtual clock must stay between {EARLIEST.date().isoformat()} and "
            f"{LATEST.date().isoformat()}"
        )

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)

    @property
    def offset_seconds(self) -> float:
        return self._offset.total_seconds()


class Store(Protocol):
    """Namespaced JSON key-value state. Values must be JSON-serialisable.

    Namespaces are ``"<platform>.<thing>"`` (e.g. ``"sso.codes"``). Keys are strings.
    """

    def get(self, namespace: str, key: str) -> Any | None: ...

    def put(self, namespace: str, key: str, value: Any) -> None: ...

    def delete(self, namespace: str, key: str) -> bool: ...

    def items(self, namespace: str) -> list[tuple[str, Any]]: ...

    def count(self, namespace: str) -> int: ...

    def clear(self, namespace_prefix: str = "") -> None: ...


class MemoryStore:
    """The default store: in memory, lost on restart. Thread-safe."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def get(self, namespace: str, key: str) -> Any | None:
        raw = self._data.get(namespace, {}).get(key)
        return None if raw is None else json.loads(raw)

    def put(self, namespace: str, key: str, value: Any) -> None:
        encoded = json.dumps(value, ensure_ascii=False)
        with self._lock:
            self._data.setdefault(namespace, {})[key] = encoded

    def delete(self, namespace: str, key: str) -> bool:
        with self._lock:
            return self._data.get(namespace, {}).pop(key, None) is not None

    def items(self, namespace: str) -> list[tuple[str, Any]]:
        with self._lock:
            snapshot = list(self._data.get(namespace, {}).items())
        return [(k, json.loads(v)) for k, v in snapshot]

    def count(self, namespace: str) -> int:
        return len(self._data.get(namespace, {}))

    def clear(self, namespace_prefix: str = "") -> None:
        with self._lock:
            for name in [n for n in self._data if n.startswith(namespace_prefix)]:
                del self._data[name]


class Expiring:
    """Records of one store namespace that expire on the virtual clock, and get pruned.

    For anything a mock hands out with a lifetime (gateway tokens, DVCQG sessions):
    ``put(key, record, ttl)`` stores ``record`` with an ``expires_at`` timestamp,
    ``get(key)`` returns it only while it lives (an expired one is deleted on sight),
    ``count()`` counts live records. Expired records are pruned at most every
    ``prune_interval`` virtual seconds, and at once when the admin API moves the clock;
    beyond ``max_records`` the ones closest to expiry are dropped, so a client that
    logs in on every request cannot grow the store without bound. Obtain one with
    :meth:`MockContext.expiring` (one instance per namespace).
    """

    def __init__(
        self,
        store: Store,
        clock: VirtualClock,
        namespace: str,
        *,
        max_records: int = 100_000,
        prune_interval: float = 10.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.namespace = namespace
        self.max_records = max_records
        self.prune_interval = prune_interval
        self._next_prune = 0.0
        self._lock = threading.Lock()

    def put(self, key: str, record: dict[str, Any], ttl_seconds: float) -> dict[str, Any]:
        """Store ``record`` (plus ``expires_at``) for ``ttl_seconds``; the stored record."""
        now = self.clock.timestamp()
        stored = {**record, "expires_at": now + float(ttl_seconds)}
        self.store.put(self.namespace, key, stored)
        self._maybe_prune(now)
        if self.store.count(self.namespace) > self.max_records:
            self._trim()
        return stored

    def get(self, key: str) -> dict[str, Any] | None:
        """The live record under ``key``, else None (an expired one is deleted)."""
        record = self.store.get(self.namespace, key)
        if not isinstance(record, dict):
            return None
        if not self._alive(record, self.clock.timestamp()):
            self.store.delete(self.namespace, key)
            return None
        return record

    def delete(self, key: str) -> bool:
        return self.store.delete(self.namespace, key)

    def count(self) -> int:
        """Live records (prunes first when due)."""
        self._maybe_prune(self.clock.timestamp())
        return self.store.count(self.namespace)

    def prune(self) -> int:
        """Delete every expired record now; how many went."""
        now = self.clock.timestamp()
        with self._lock:
            self._next_prune = now + self.prune_interval
            gone = [k for k, r in self.store.items(self.namespace) if not self._alive(r, now)]
        for key in gone:
            self.store.delete(self.namespace, key)
        return len(gone)

    def _maybe_prune(self, now: float) -> None:
        if now >= self._next_prune:
            self.prune()

    def _trim(self) -> None:
        records = self.store.items(self.namespace)
        keep = int(self.max_records * 0.9)
        records.sort(key=lambda item: self._expiry(item[1]))
        for key, _record in records[: max(len(records) - keep, 0)]:
            self.store.delete(self.namespace, key)

    @staticmethod
    def _expiry(record: Any) -> float:
        if not isinstance(record, dict):
            return float("-inf")
        try:
            return float(record.get("expires_at", 0))
        except (TypeError, ValueError):
            return float("-inf")

    def _alive(self, record: Any, now: float) -> bool:
        return self._expiry(record) > now


@dataclass
class SeedData:
    """Synthetic test data, by section (``citizens``, ``organisations``, ``agencies``…).

    The default seed ships in ``mock_servers/seed/*.json`` (one file per section);
    ``--seed FILE`` replaces the sections that file names.
    """

    sections: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str, default: Any = None) -> Any:
        return self.sections.get(name, [] if default is None else default)

    def names(self) -> Iterator[str]:
        return iter(sorted(self.sections))


@dataclass
class MockContext:
    """Handed to every platform mock when the server builds it."""

    clock: VirtualClock
    store: Store
    seed: SeedData
    base_url: str = "http://127.0.0.1:8700"
    """The server's external root URL, for absolute links (payment page, callbacks)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Platform switches set through ``/__admin/platforms/<name>/switches``, by platform."""

    expiring_namespaces: dict[str, Expiring] = field(default_factory=dict, repr=False)
    """Every :class:`Expiring` handed out, by namespace (the runtime prunes them all
    when the admin API moves the clock)."""

    def switches(self, platform: str) -> dict[str, Any]:
        """Admin switches of one platform (error injection and the like)."""
        switches: dict[str, Any] = self.settings.setdefault(platform, {})
        return switches

    def expiring(self, namespace: str, *, max_records: int = 100_000) -> Expiring:
        """The :class:`Expiring` view of ``namespace`` (the same object on every call)."""
        found = self.expiring_namespaces.get(namespace)
        if found is None:
            found = Expiring(self.store, self.clock, namespace, max_records=max_records)
            self.expiring_namespaces[namespace] = found
        return found
