"""The request journal: every request a platform mock received and what it answered.

It is what a CI test asserts on ("the portal got exactly one DongBoHoSoMC with this
MaHoSo") and what a person reads on the dashboard. Kept in memory (a bounded ring,
oldest dropped first) even with ``--state``: it describes one run, not the platforms'
state.
"""

from __future__ import annotations

import base64
import fnmatch
import itertools
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mock_servers.validation import InputError

__all__ = ["DEFAULT_BODY_LIMIT", "Journal", "JournalQuery", "encode_body", "headers_to_dict"]

DEFAULT_BODY_LIMIT = 64 * 1024
DEFAULT_MAX_ENTRIES = 10_000

_TEXT_TYPES = ("text/", "json", "xml", "x-www-form-urlencoded", "javascript", "html")


def headers_to_dict(raw: list[tuple[bytes, bytes]] | list[list[bytes]]) -> dict[str, str]:
    """ASGI header pairs as a dict with lower-case names (repeats joined by ``, ``)."""
    out: dict[str, str] = {}
    for name_b, value_b in raw:
        name = name_b.decode("latin-1").lower()
        value = value_b.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def encode_body(body: bytes, content_type: str, limit: int) -> dict[str, Any]:
    """A body as the journal keeps it: text when it is text, base64 otherwise, capped."""
    kept = body[:limit]
    info: dict[str, Any] = {"body_size": len(body), "body_truncated": len(body) > limit}
    textual = any(marker in content_type.lower() for marker in _TEXT_TYPES) or not content_type
    if textual:
        try:
            info["body"] = kept.decode("utf-8")
            info["body_encoding"] = "utf-8"
            return info
        except UnicodeDecodeError:
            if len(body) > limit:  # cut inside a multi-byte character: drop the stub
                try:
                    info["body"] = kept.decode("utf-8", errors="ignore")
                    info["body_encoding"] = "utf-8"
                    return info
                except UnicodeDecodeError:  # pragma: no cover - ignore never raises
                    pass
    info["body"] = base64.b64encode(kept).decode("ascii")
    info["body_encoding"] = "base64"
    return info


@dataclass(frozen=True)
class JournalQuery:
    """Filters of ``GET /__admin/journal`` (and ``/journal/count``).

    ``path`` is a glob when it contains ``*``, ``?`` or ``[``, else a path prefix
    (whole segments: ``/sso/oauth2`` matches ``/sso/oauth2/token``, not
    ``/sso/oauth2x``). It matches the full path (``/gateway/token``) or the path
    inside the platform (``/token``). ``status`` takes ``503``, ``5xx`` or a comma
    list of those; ``method`` a comma list.
    """

    platforms: frozenset[str] | None = None
    path: str | None = None
    methods: frozenset[str] | None = None
    statuses: tuple[str, ...] | None = None
    since: int | None = None
    limit: int | None = None
    descending: bool = False
    faulted: bool | None = None

    @classmethod
    def from_params(
        cls,
        params: Mapping[str, str],
        resolve_platform: Callable[[str], str | None],
    ) -> JournalQuery:
        known = {"platform", "path", "method", "status", "since", "limit", "order", "fault"}
        for name in params:
            if name not in known:
                raise InputError(
                    f"unknown journal filter {name!r} (known: {', '.join(sorted(known))})",
                    field=name,
                )
        platforms: frozenset[str] | None = None
        if params.get("platform"):
            keys = set()
            for name in params["platform"].split(","):
                key = resolve_platform(name.strip())
                if key is None:
                    raise InputError(f"unknown platform {name.strip()!r}", field="platform")
                keys.add(key)
            platforms = frozenset(keys)
        methods = None
        if params.get("method"):
            methods = frozenset(m.strip().upper() for m in params["method"].split(",") if m.strip())
        statuses = None
        if params.get("status"):
            statuses = tuple(s.strip().lower() for s in params["status"].split(",") if s.strip())
            for status in statuses:
                if not _status_pattern_ok(status):
                    raise InputError(
                        f"status filter {status!r} is not a status code (503) or class (5xx)",
                        field="status",
                    )
        order = params.get("order", "asc").lower()
        if order not in ("asc", "desc"):
            raise InputError("order must be 'asc' or 'desc'", field="order")
        faulted = None
        if "fault" in params:
            flag = params["fault"].lower()
            if flag not in ("true", "false", "1", "0", "yes", "no"):
                raise InputError("fault must be true or false", field="fault")
            faulted = flag in ("true", "1", "yes")
        return cls(
            platforms=platforms,
            path=params.get("path") or None,
            methods=methods,
            statuses=statuses,
            since=_int_param(params, "since", minimum=0),
            limit=_int_param(params, "limit", minimum=1),
            descending=order == "desc",
            faulted=faulted,
        )

    def matches(self, entry: Mapping[str, Any]) -> bool:
        if self.since is not None and entry["id"] <= self.since:
            return False
        if self.platforms is not None and entry["platform"] not in self.platforms:
            return False
        if self.methods is not None and entry["method"] not in self.methods:
            return False
        if self.path is not None and not (
            path_matches(self.path, entry["path"])
            or path_matches(self.path, entry.get("platform_path", entry["path"]))
        ):
            return False
        if self.statuses is not None and not any(
            _status_matches(s, entry["status"]) for s in self.statuses
        ):
            return False
        return self.faulted is None or (entry.get("fault") is not None) == self.faulted


def path_matches(pattern: str, path: str) -> bool:
    """Glob if ``pattern`` has wildcards, else a whole-segment prefix."""
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(path, pattern)
    if pattern in ("", "/"):
        return True
    stem = pattern.rstrip("/")
    return path == stem or path.startswith(stem + "/")


def _status_pattern_ok(pattern: str) -> bool:
    if len(pattern) == 3 and pattern[0] in "12345" and pattern[1:] == "xx":
        return True
    return pattern.isdigit() and 100 <= int(pattern) <= 599


def _status_matches(pattern: str, status: int | None) -> bool:
    if status is None:
        return False
    if pattern.endswith("xx"):
        return str(status)[0] == pattern[0]
    return status == int(pattern)


def _int_param(params: Mapping[str, str], name: str, *, minimum: int) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{name} must be a whole number, got {raw!r}", field=name) from None
    if value < minimum:
        raise InputError(f"{name} must be >= {minimum}", field=name)
    return value


class Journal:
    """A bounded, thread-safe list of entries with increasing ids."""

    def __init__(
        self, *, max_entries: int = DEFAULT_MAX_ENTRIES, body_limit: int = DEFAULT_BODY_LIMIT
    ) -> None:
        self.max_entries = max_entries
        self.body_limit = body_limit
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)

    def query(self, query: JournalQuery | None = None) -> list[dict[str, Any]]:
        query = query or JournalQuery()
        with self._lock:
            snapshot = sorted(self._entries, key=lambda e: int(e["id"]))
        if query.descending:
            snapshot.reverse()
        found: list[dict[str, Any]] = []
        for entry in snapshot:
            if query.matches(entry):
                found.append(entry)
                if query.limit is not None and len(found) >= query.limit:
                    break
        return found

    def count(self, query: JournalQuery | None = None) -> int:
        query = query or JournalQuery()
        with self._lock:
            snapshot = list(self._entries)
        return sum(1 for entry in snapshot if query.matches(entry))

    def clear(self) -> None:
        """Forget every entry; ids keep increasing so ``since`` pollers never miss one."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
