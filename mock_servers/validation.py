"""Checks shared by every admin route, so bad input is a 400 and never a later 500.

:class:`InputError` is the one error type bad admin input raises; the admin API turns
it into ``400 {"error": "...", "field": "<name>"}`` so a test author who typed
``latency`` instead of ``latency_ms`` learns which field to fix.

The rest are the rules that keep a stored value from breaking the server later:
JSON without ``NaN``/``Infinity`` (a stored ``latency_ms: NaN`` used to break
``GET /__admin/faults``), header names and values HTTP can actually send (an
accepted ``"x\\r\\n"`` header used to drop every matching connection), and typed
platform switches (:class:`Switch`) checked one by one before any is kept.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "ADMIN_BODY_LIMIT",
    "MAX_JSON_DEPTH",
    "InputError",
    "Switch",
    "check_content_type",
    "check_header",
    "check_retry_after",
    "json_depth_exceeds",
    "parse_admin_json",
    "validate_switches",
]

ADMIN_BODY_LIMIT = 8 * 1024 * 1024
"""Largest admin request body (a seed upload is the biggest legitimate one)."""

MAX_JSON_DEPTH = 64
"""Deepest JSON nesting any route accepts (no real payload of any platform nests deeper)."""

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_MEDIA_TYPE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/[!#$%&'*+\-.^_`|~0-9A-Za-z]+(\s*;.*)?$")
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


class InputError(ValueError):
    """Bad admin input; ``field`` names what to fix."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_json(self) -> dict[str, str | None]:
        return {"error": self.message, "field": self.field}


def _no_constant(name: str) -> Any:
    raise InputError(f"{name} is not a JSON number: use a finite number", field="body")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"{text} is too large a number", field="body")
    return value


def json_depth_exceeds(raw: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays/objects deeper than ``limit``.

    A linear scan that skips string contents: cheap enough to run before every
    parse, and it stops ``json.loads`` from ever reaching a ``RecursionError``.
    """
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    in_string = False
    escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def parse_admin_json(raw: bytes) -> Any:
    """Admin JSON: finite numbers only, bounded nesting; :class:`InputError` otherwise."""
    if not raw.strip():
        return {}
    if json_depth_exceeds(raw):
        raise InputError(f"request body nests deeper than {MAX_JSON_DEPTH} levels", field="body")
    try:
        return json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    except InputError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, huge ints
        raise InputError(f"request body is not valid JSON: {exc}", field="body") from None


def check_header(name: Any, value: Any, *, field: str = "headers") -> tuple[str, str]:
    """A header HTTP/1.1 can send: token name, latin-1 value without CR/LF/NUL."""
    if not isinstance(name, str) or not _TOKEN.match(name):
        raise InputError(f"header name {name!r} is not an HTTP token", field=field)
    if name.lower() in _FRAMING_HEADERS:
        raise InputError(f"header {name!r} is set by the server (it frames the reply)", field=field)
    if not isinstance(value, str):
        raise InputError(f"header {name!r} must have a string value", field=field)
    if any(ch in value for ch in "\r\n\x00") or value != value.strip():
        raise InputError(
            f"header {name!r}: value has CR, LF, NUL or surrounding spaces", field=field
        )
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise InputError(
            f"header {name!r}: value must be Latin-1 text (percent-encode anything else)",
            field=field,
        ) from None
    return name, value


def check_content_type(value: Any, *, field: str = "content_type") -> str:
    """A media type such as ``application/json; charset=utf-8`` that HTTP can send."""
    if not isinstance(value, str) or not _MEDIA_TYPE.match(value):
        raise InputError("content_type must look like 'application/json'", field=field)
    check_header("content-type", value, field=field)
    return value


def check_retry_after(value: Any, *, field: str = "retry_after") -> str:
    """``Retry-After`` as HTTP defines it: whole seconds >= 0 or an HTTP date."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InputError("retry_after must be whole seconds or an HTTP date", field=field)
    if isinstance(value, int):
        if not 0 <= value <= 10**9:
            raise InputError("retry_after seconds must be between 0 and 10^9", field=field)
        return str(value)
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) <= 10:
        return text
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        when = None
    if when is None or when.tzinfo is None:
        raise InputError(
            "retry_after must be whole seconds or an HTTP date "
            "such as 'Wed, 21 Oct 2026 07:28:00 GMT'",
            field=field,
        )
    check_header("retry-after", text, field=field)
    return text


# --- platform switches ------------------------------------------------------------------


@dataclass(frozen=True)
class Switch:
    """How one admin switch of a platform is checked.

    ``kind`` is ``"bool"``, ``"int"``, ``"number"``, ``"string"`` or ``"choice"``;
    ``minimum``/``maximum`` bound numbers, ``choices`` lists the allowed values of a
    choice, ``nullable`` allows ``null`` (meaning "back to the default"), ``check`` is
    an extra test returning a problem or ``None``. A platform declares them as
    ``MockPlatform.switches = {"busy": Switch("bool"), ...}``.
    """

    kind: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    nullable: bool = False
    check: Callable[[Any], str | None] | None = None
    help: str = ""

    def validate(self, name: str, value: Any) -> Any:
        if value is None:
            if self.nullable:
                return None
            raise InputError(f"switch {name!r} cannot be null", field=name)
        problem = self._problem(value)
        if problem is None and self.check is not None:
            problem = self.check(value)
        if problem:
            raise InputError(f"switch {name!r} {problem}", field=name)
        return value

    def _problem(self, value: Any) -> str | None:
        if self.kind == "bool":
            return None if isinstance(value, bool) else "must be true or false"
        if self.kind == "string":
            return None if isinstance(value, str) else "must be a string"
        if self.kind == "choice":
            ok = any(type(value) is type(c) and value == c for c in self.choices)
            return None if ok else f"must be one of {', '.join(map(json.dumps, self.choices))}"
        if self.kind in ("int", "number"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return "must be a whole number" if self.kind == "int" else "must be a number"
            if self.kind == "int" and not isinstance(value, int):
                return "must be a whole number"
            number = float(value)
            if not math.isfinite(number):
                return "must be finite"
            low, high = self.minimum, self.maximum
            if (low is not None and number < low) or (high is not None and number > high):
                return f"must be between {_num(low)} and {_num(high)}"
            return None
        raise ValueError(f"unknown switch kind {self.kind!r}")  # a platform bug, not input


def _num(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


def validate_switches(
    platform: str, specs: Mapping[str, Switch], known: tuple[str, ...], data: Mapping[str, Any]
) -> dict[str, Any]:
    """Every switch of ``data`` checked (all or nothing); unknown names refused."""
    names = set(specs) | set(known)
    checked: dict[str, Any] = {}
    for name, value in data.items():
        if name not in names:
            listed = ", ".join(sorted(names)) or "none"
            raise InputError(
                f"unknown switch {name!r} for {platform} (known: {listed})", field=name
            )
        spec = specs.get(name)
        checked[name] = spec.validate(name, value) if spec is not None else value
    return checked
