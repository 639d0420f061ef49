"""The request journal: every request a platform mock received and what it answered.

It is what a CI test asserts on ("the portal got exactly one DongBoHoSoMC with this
MaHoSo") and what a person reads on the dashboard. Kept in memory (bounded in entries
and in bytes, oldest dropped first) even with ``--state``: it describes one run, not
the platforms' state. A request is recorded when it arrives (``"pending": true``) and
completed when its reply is, so a test can see a request its client gave up on.
"""

from __future__ import annotations

import base64
import fnmatch
import functools
import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mock_servers.validation import InputError

__all__ = [
    "DEFAULT_BODY_LIMIT",
    "DEFAULT_MAX_BYTES",
    "Journal",
    "JournalQuery",
    "Part",
    "encode_body",
    "entry_size",
    "headers_to_dict",
    "masked_entry",
    "view",
]

DEFAULT_BODY_LIMIT = 64 * 1024
DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_PAGE = 1000
"""Entries per ``GET /__admin/journal`` page when no ``limit`` is given."""

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
    return _encode(body[:limit], len(body), content_type)


def _encode(kept: bytes, size: int, content_type: str) -> dict[str, Any]:
    """``kept`` (the first bytes of a body of ``size`` bytes) as the journal shows it."""
    truncated = size > len(kept)
    info: dict[str, Any] = {"body_size": size, "body_truncated": truncated}
    lowered = content_type.lower()
    textual = not content_type or any(marker in lowered for marker in _TEXT_TYPES)
    if textual:
        try:
            info["body"] = kept.decode("utf-8")
            info["body_encoding"] = "utf-8"
            return info
        except UnicodeDecodeError:
            for stub in (1, 2, 3) if truncated else ():  # cut inside a character
                try:
                    info["body"] = kept[:-stub].decode("utf-8")
                except UnicodeDecodeError:
                    continue
                info["body_encoding"] = "utf-8"
                return info
    info["body"] = base64.b64encode(kept).decode("ascii")
    info["body_encoding"] = "base64"
    return info


def headers_size(headers: list[tuple[bytes, bytes]]) -> int:
    """About how much memory raw ASGI headers take in the journal."""
    return sum(len(k) + len(v) + 16 for k, v in headers)


class Part:
    """One side of an exchange as recorded: raw headers, the kept body, the real size.

    Kept raw on purpose: turning bytes into the JSON the admin API shows costs more
    than the request itself, so it is done when someone reads the journal
    (:meth:`as_json`), not for every request.
    """

    __slots__ = ("body", "headers", "nbytes", "size")

    def __init__(
        self,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        size: int,
        *,
        header_bytes: int | None = None,
    ) -> None:
        self.headers = headers
        self.body = body
        self.size = size
        if header_bytes is None:
            header_bytes = headers_size(headers)
        self.nbytes = len(body) + header_bytes

    @staticmethod
    def empty(headers: list[tuple[bytes, bytes]], header_bytes: int) -> Part:
        return Part(headers, b"", 0, header_bytes=header_bytes)

    def set_body(self, kept: bytes, size: int) -> None:
        """The body arrived (``kept``: its first bytes, ``size``: its real length)."""
        self.nbytes += len(kept) - len(self.body)
        self.body = kept
        self.size = size

    def header(self, name: bytes) -> str:
        for key, value in self.headers:
            if key.lower() == name:
                return value.decode("latin-1")
        return ""

    def as_json(self) -> dict[str, Any]:
        return {
            "headers": headers_to_dict(self.headers),
            **_encode(self.body, self.size, self.header(b"content-type")),
        }


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
    before: int | None = None
    limit: int | None = None
    descending: bool = False
    faulted: bool | None = None
    pending: bool | None = None

    @classmethod
    def from_params(
        cls,
        params: Mapping[str, str],
        resolve_platform: Callable[[str], str | None],
    ) -> JournalQuery:
        known = {
            "platform",
            "path",
            "method",
            "status",
            "since",
            "before",
            "limit",
            "order",
            "fault",
            "pending",
        }
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
        faulted = _flag_param(params, "fault")
        pending = _flag_param(params, "pending")
        return cls(
            platforms=platforms,
            path=params.get("path") or None,
            methods=methods,
            statuses=statuses,
            since=_int_param(params, "since", minimum=0),
            before=_int_param(params, "before", minimum=1),
            limit=_int_param(params, "limit", minimum=1),
            descending=order == "desc",
            faulted=faulted,
            pending=pending,
        )

    def matches(self, entry: Mapping[str, Any]) -> bool:
        if self.since is not None and entry["id"] <= self.since:
            return False
        if self.before is not None and entry["id"] >= self.before:
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
        if self.pending is not None and bool(entry.get("pending")) != self.pending:
            return False
        return self.faulted is None or (entry.get("fault") is not None) == self.faulted


def path_matches(pattern: str, path: str) -> bool:
    """Glob if ``pattern`` has wildcards, else a whole-segment prefix."""
    return path_matcher(pattern)(path)


@functools.lru_cache(maxsize=1024)
def path_matcher(pattern: str) -> Callable[[str], bool]:
    """:func:`path_matches` for one pattern, prepared once (faults test every request)."""
    if any(ch in pattern for ch in "*?["):
        compiled = re.compile(fnmatch.translate(pattern))
        return lambda path: compiled.match(path) is not None
    if pattern in ("", "/"):
        return lambda path: True
    stem = pattern.rstrip("/")
    prefix = stem + "/"
    return lambda path: path == stem or path.startswith(prefix)


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


def _flag_param(params: Mapping[str, str], name: str) -> bool | None:
    if name not in params:
        return None
    flag = params[name].lower()
    if flag not in ("true", "false", "1", "0", "yes", "no"):
        raise InputError(f"{name} must be true or false", field=name)
    return flag in ("true", "1", "yes")


def _int_param(params: Mapping[str, str], name: str, *, minimum: int) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw) if len(raw) <= 18 else None
    except ValueError:
        value = None
    if value is None:
        raise InputError(f"{name} must be a whole number, got {raw[:40]!r}", field=name)
    if value < minimum:
        raise InputError(f"{name} must be >= {minimum}", field=name)
    return value


class Journal:
    """A bounded, thread-safe list of entries with increasing ids.

    Bounded twice: at most ``max_entries`` entries and about ``max_bytes`` bytes of
    headers and bodies (each body already capped at ``body_limit``); the oldest
    entries go first. An entry is recorded when its request arrives (``pending``)
    and re-measured by :meth:`update` when it grew.

    Entries are stored raw (:class:`Part` for each side, the arrival time as a
    datetime); :meth:`view` turns one into the documented JSON shape, and
    :meth:`query`/:meth:`get` return views.
    """

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        body_limit: int = DEFAULT_BODY_LIMIT,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if max_entries < 1 or body_limit < 0 or max_bytes < 1:
            raise ValueError("journal bounds must be positive")
        self.max_entries = max_entries
        self.body_limit = body_limit
        self.max_bytes = max_bytes
        self._entries: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._sizes: dict[int, int] = {}
        self._bytes = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def add(self, entry: dict[str, Any], size: int | None = None) -> int:
        """Give ``entry`` the next id and add it; the id. ``size`` (about how many bytes
        it holds) is measured when not given; call :meth:`update` when it grew."""
        if size is None:
            size = entry_size(entry)
        with self._lock:
            entry_id = entry["id"] = next(self._ids)
            self._entries[entry_id] = entry
            self._bytes += size
            self._sizes[entry_id] = size
            if len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                self._evict()
        return entry_id

    def record(self, entry: dict[str, Any]) -> None:
        """Add ``entry`` under its own ``id`` (from :meth:`next_id`)."""
        size = entry_size(entry)
        with self._lock:
            entry_id = entry["id"]
            self._entries[entry_id] = entry
            self._bytes += size - self._sizes.get(entry_id, 0)
            self._sizes[entry_id] = size
            if len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                self._evict()

    def update(self, entry: dict[str, Any], size: int | None = None) -> None:
        """Re-measure an entry that changed (its body or reply arrived)."""
        if size is None:
            size = entry_size(entry)
        with self._lock:
            entry_id = entry["id"]
            if entry_id not in self._entries:
                return
            self._bytes += size - self._sizes.get(entry_id, 0)
            self._sizes[entry_id] = size
            if self._bytes > self.max_bytes:
                self._evict()

    def _evict(self) -> None:
        while len(self._entries) > 1 and (
            len(self._entries) > self.max_entries or self._bytes > self.max_bytes
        ):
            old_id, _old = self._entries.popitem(last=False)
            self._bytes -= self._sizes.pop(old_id, 0)

    def select(self, query: JournalQuery | None = None) -> list[dict[str, Any]]:
        """Matching raw entries (references; :meth:`view` each), at most ``query.limit``."""
        query = query or JournalQuery()
        with self._lock:
            snapshot = list(self._entries.values())
        if query.descending:
            snapshot.reverse()
        found: list[dict[str, Any]] = []
        for entry in snapshot:
            if query.matches(entry):
                found.append(entry)
                if query.limit is not None and len(found) >= query.limit:
                    break
        return found

    def query(self, query: JournalQuery | None = None) -> list[dict[str, Any]]:
        """Matching entries in the documented JSON shape, at most ``query.limit``."""
        return [view(entry) for entry in self.select(query)]

    def get(self, entry_id: int) -> dict[str, Any] | None:
        """One entry in the documented JSON shape, or None."""
        with self._lock:
            entry = self._entries.get(entry_id)
        return None if entry is None else view(entry)

    def count(self, query: JournalQuery | None = None) -> int:
        query = query or JournalQuery()
        with self._lock:
            snapshot = list(self._entries.values())
        return sum(1 for entry in snapshot if query.matches(entry))

    def clear(self) -> None:
        """Forget every entry; ids keep increasing so ``since`` pollers never miss one."""
        with self._lock:
            self._entries.clear()
            self._sizes.clear()
            self._bytes = 0

    @property
    def size_bytes(self) -> int:
        """About how many bytes of headers and bodies the journal holds now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


ENTRY_OVERHEAD = 600
"""Rough bytes of one entry besides headers and bodies (dict, ids, time, path…)."""


def entry_size(entry: Mapping[str, Any]) -> int:
    """About how much memory an entry holds: its headers, bodies, path and traceback."""
    size = ENTRY_OVERHEAD + len(entry["path"])
    for side in ("request", "response"):
        part = entry.get(side)
        if isinstance(part, Part):
            size += part.nbytes
        elif isinstance(part, Mapping):  # an entry given in the JSON shape
            body = part.get("body")
            size += len(body) if isinstance(body, str) else 0
            headers = part.get("headers")
            if isinstance(headers, Mapping):
                size += sum(len(k) + len(v) + 16 for k, v in headers.items())
    traceback = entry.get("traceback")
    return size + (len(traceback) if isinstance(traceback, str) else 0)


def view(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A stored entry in the documented JSON shape (a new dict)."""
    out = dict(entry)
    when = out.get("time")
    if isinstance(when, datetime):
        out["time"] = when.isoformat()
    query = out.get("query")
    if isinstance(query, bytes):
        out["query"] = query.decode("latin-1")
    client = out.get("client")
    if isinstance(client, tuple):
        out["client"] = f"{client[0]}:{client[1]}"
    duration = out.get("duration_ms")
    if isinstance(duration, float):
        out["duration_ms"] = round(duration, 3)
    for side in ("request", "response"):
        part = out.get(side)
        if isinstance(part, Part):
            out[side] = part.as_json()
    return out


# --- credentials ------------------------------------------------------------------------

MASK = "***"
_MASKED_NAMES = (
    r"pass(?:word|wd)?|matkhau|mat_khau|secret|token|session|sessionid|api[-_]?key|"
    r"authorization|cookie|otp|private[-_]?key|client[-_]?assertion"
)
_SECRET_NAME = re.compile(rf"(?:{_MASKED_NAMES})", re.IGNORECASE)
_NOT_SECRET = re.compile(r"(?:type|ttl|url|uri|endpoint|expires?(?:_in|_at)?|hint)$", re.I)
_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)
_JSON_PAIR = re.compile(r'("((?:[^"\\]|\\.)*)"\s*:\s*)"(?:[^"\\]|\\.)*"')
_FORM_PAIR = re.compile(r"((?:^|&)([^=&]*)=)([^&]*)")
_XML_ELEMENT = re.compile(r"(<((?:[\w.-]+:)?([\w.-]+))(?:\s[^>]*)?>)([^<]*)(</\2\s*>)")


def is_secret_name(name: str) -> bool:
    """Whether a header, field or element of this name carries a credential."""
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET.search(name)


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with credential values replaced by ``***`` (names kept)."""
    return {
        name: MASK if name in _SECRET_HEADERS or is_secret_name(name) else value
        for name, value in headers.items()
    }


def _mask_form(text: str) -> str:
    return _FORM_PAIR.sub(
        lambda m: m.group(1) + MASK if is_secret_name(m.group(2)) else m.group(0), text
    )


def mask_text(text: str, content_type: str) -> str:
    """A body with the values of credential-named JSON keys, form fields and XML
    elements replaced by ``***`` (works on truncated bodies too)."""
    if "x-www-form-urlencoded" in content_type.lower():
        return _mask_form(text)
    text = _JSON_PAIR.sub(
        lambda m: m.group(1) + f'"{MASK}"' if is_secret_name(m.group(2)) else m.group(0), text
    )
    return _XML_ELEMENT.sub(
        lambda m: m.group(1) + MASK + m.group(5) if is_secret_name(m.group(3)) else m.group(0),
        text,
    )


def masked_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``entry`` whose credentials (headers, body fields, query) are masked."""
    out = dict(entry)
    query = out.get("query")
    if isinstance(query, str) and query:
        out["query"] = _mask_form(query)
    for side in ("request", "response"):
        part = out.get(side)
        if not isinstance(part, Mapping):
            continue
        copy = dict(part)
        headers = part.get("headers")
        content_type = ""
        if isinstance(headers, Mapping):
            content_type = str(headers.get("content-type", ""))
            copy["headers"] = mask_headers(headers)
        body = part.get("body")
        if isinstance(body, str) and body and part.get("body_encoding") == "utf-8":
            copy["body"] = mask_text(body, content_type)
        out[side] = copy
    return out
