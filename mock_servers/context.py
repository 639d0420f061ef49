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
            self._offset = when - datetime.now(UTC)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)

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

    def switches(self, platform: str) -> dict[str, Any]:
        """Admin switches of one platform (error injection and the like)."""
        switches: dict[str, Any] = self.settings.setdefault(platform, {})
        return switches
