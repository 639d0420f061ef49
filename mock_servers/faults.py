"""Runtime faults: what goes wrong, on which route, how often, for how long.

A fault is the one thing a mock of a national platform must do better than the
platform itself: fail on demand, so a vendor can prove their retries, timeouts and
error messages before the portal fails for real. Faults match on platform, path
(glob or whole-segment prefix, against the full path or the path inside the
platform) and method; they fire with a probability (seedable RNG, so a flaky run can
be replayed) and optionally only ``count`` times.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mock_servers.journal import path_matcher
from mock_servers.validation import (
    InputError,
    check_content_type,
    check_header,
    check_retry_after,
)

__all__ = ["FAULT_FIELDS", "Fault", "FaultBook"]

MAX_LATENCY_MS = 120_000

FAULT_FIELDS: dict[str, str] = {
    "platform": "platform name or alias (sso, dossiers/dvcqg, ...); omit for every platform",
    "path": "glob (/sso/*) or whole-segment prefix (/sso/oauth2); full or platform-relative",
    "method": "HTTP method or list of methods; omit for every method",
    "latency_ms": "delay before answering: a number of ms, or [min, max] for a random delay",
    "status": "answer with this HTTP status instead of calling the mock (204/304: no body)",
    "body": "body of the status answer (string, or JSON value)",
    "content_type": "content type of the status answer",
    "headers": "extra headers of the status answer (object of strings)",
    "retry_after": "Retry-After header of the status answer (seconds or HTTP date)",
    "reset_connection": "abort the TCP connection (RST) without answering",
    "truncate_body": "send the real answer cut short (true: half, or a byte count), then close",
    "malformed_body": "send the real answer with a corrupted body (invalid JSON/XML)",
    "probability": "chance 0..1 that a matching request is hit (default 1)",
    "count": "stop after firing this many times (default: never stop)",
    "seed": "seed of this fault's random generator (probability, random latency)",
    "name": "a label shown on the dashboard",
}

_ACTIONS = ("status", "reset_connection", "truncate_body", "malformed_body")
_BODILESS = frozenset({204, 304})
"""Statuses HTTP sends without a body (a fault answering them sends none)."""


@dataclass
class Fault:
    """One validated fault rule and its counters."""

    id: str
    platform: str | None = None
    path: str | None = None
    methods: frozenset[str] | None = None
    latency_ms: tuple[float, float] | None = None
    status: int | None = None
    body: str | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: str | None = None
    reset_connection: bool = False
    truncate_body: int | bool = False
    malformed_body: bool = False
    probability: float = 1.0
    count: int | None = None
    seed: int | None = None
    name: str | None = None
    fired: int = 0
    matched: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @property
    def active(self) -> bool:
        return self.count is None or self.fired < self.count

    @property
    def action(self) -> str:
        for name in _ACTIONS:
            if getattr(self, name):
                return name
        return "latency"

    def matches(self, platform: str, path: str, platform_path: str, method: str) -> bool:
        if self.platform is not None and self.platform != platform:
            return False
        if self.methods is not None and method.upper() not in self.methods:
            return False
        if self.path is None:
            return True
        matches = path_matcher(self.path)
        return matches(path) or matches(platform_path)

    def roll(self) -> bool:
        """Whether this matching request is hit (consumes the RNG only when 0 < p < 1)."""
        if self.probability >= 1:
            return True
        if self.probability <= 0:
            return False
        return self.rng.random() < self.probability

    def delay_seconds(self) -> float:
        if self.latency_ms is None:
            return 0.0
        low, high = self.latency_ms
        return (low if low == high else self.rng.uniform(low, high)) / 1000.0

    def to_json(self) -> dict[str, Any]:
        latency: float | list[float] | None = None
        if self.latency_ms is not None:
            low, high = self.latency_ms
            latency = low if low == high else [low, high]
        return {
            "id": self.id,
            "name": self.name,
            "platform": self.platform,
            "path": self.path,
            "method": sorted(self.methods) if self.methods else None,
            "action": self.action,
            "latency_ms": latency,
            "status": self.status,
            "body": self.body,
            "content_type": self.content_type,
            "headers": self.headers or None,
            "retry_after": self.retry_after,
            "reset_connection": self.reset_connection,
            "truncate_body": self.truncate_body,
            "malformed_body": self.malformed_body,
            "probability": self.probability,
            "count": self.count,
            "seed": self.seed,
            "fired": self.fired,
            "matched": self.matched,
            "remaining": None if self.count is None else max(self.count - self.fired, 0),
            "active": self.active,
        }


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{name} must be a number, got {json.dumps(value)[:40]}", field=name)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InputError(f"{name} must be a finite number", field=name)
    return number


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false, got {json.dumps(value)}", field=name)
    return value


def parse_fault(
    data: Any,
    *,
    fault_id: str,
    resolve_platform: Callable[[str], str | None],
    rng_seed: Callable[[], int],
) -> Fault:
    """Validate one fault from admin JSON; :class:`InputError` names the bad field."""
    if not isinstance(data, Mapping):
        raise InputError("a fault is a JSON object", field="body")
    for name in data:
        if name not in FAULT_FIELDS:
            raise InputError(
                f"unknown fault field {name!r} (known: {', '.join(FAULT_FIELDS)})", field=str(name)
            )
    fault = Fault(id=fault_id)

    if data.get("platform") is not None:
        raw = data["platform"]
        key = resolve_platform(raw) if isinstance(raw, str) else None
        if key is None:
            raise InputError(f"unknown platform {raw!r}", field="platform")
        fault.platform = key
    if data.get("path") is not None:
        path = data["path"]
        if not isinstance(path, str) or not path.startswith(("/", "*")):
            raise InputError(
                "path must be a string starting with '/' (or a glob '*…')", field="path"
            )
        fault.path = path
    if data.get("method") is not None:
        raw_methods = data["method"]
        names = [raw_methods] if isinstance(raw_methods, str) else raw_methods
        if (
            not isinstance(names, list)
            or not names
            or not all(isinstance(m, str) and m.isalpha() for m in names)
        ):
            raise InputError("method must be a method name or a list of them", field="method")
        fault.methods = frozenset(m.upper() for m in names)

    if data.get("latency_ms") is not None:
        raw_latency = data["latency_ms"]
        if isinstance(raw_latency, list):
            if len(raw_latency) != 2:
                raise InputError("latency_ms range must be [min, max]", field="latency_ms")
            low = _number(raw_latency[0], "latency_ms")
            high = _number(raw_latency[1], "latency_ms")
        else:
            low = high = _number(raw_latency, "latency_ms")
        if low < 0 or high < low or high > MAX_LATENCY_MS:
            raise InputError(
                f"latency_ms must satisfy 0 <= min <= max <= {MAX_LATENCY_MS}", field="latency_ms"
            )
        fault.latency_ms = (low, high)

    if data.get("status") is not None:
        status = data["status"]
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise InputError("status must be an HTTP status code 200..599", field="status")
        fault.status = status
    if "body" in data and data["body"] is not None:
        body = data["body"]
        fault.body = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        fault.content_type = "text/plain; charset=utf-8" if isinstance(body, str) else None
    if data.get("content_type") is not None:
        fault.content_type = check_content_type(data["content_type"])
    if data.get("headers") is not None:
        headers = data["headers"]
        if not isinstance(headers, Mapping):
            raise InputError("headers must be an object of strings", field="headers")
        fault.headers = dict(check_header(k, v) for k, v in headers.items())
    if data.get("retry_after") is not None:
        fault.retry_after = check_retry_after(data["retry_after"])
    if fault.status in _BODILESS and fault.body is not None:
        raise InputError(f"HTTP {fault.status} replies cannot carry a body", field="body")

    fault.reset_connection = _bool(data.get("reset_connection", False), "reset_connection")
    truncate = data.get("truncate_body", False)
    if isinstance(truncate, bool) or (isinstance(truncate, int) and truncate >= 0):
        fault.truncate_body = truncate
    else:
        raise InputError("truncate_body must be true/false or a byte count", field="truncate_body")
    fault.malformed_body = _bool(data.get("malformed_body", False), "malformed_body")

    chosen = [name for name in _ACTIONS if getattr(fault, name) not in (None, False)]
    if len(chosen) > 1:
        raise InputError(
            f"choose one of {', '.join(_ACTIONS)} per fault (got {', '.join(chosen)})",
            field=chosen[1],
        )
    if not chosen and fault.latency_ms is None:
        raise InputError(
            "a fault needs an action: status, latency_ms, reset_connection, truncate_body "
            "or malformed_body",
            field="status",
        )
    for name in ("body", "content_type", "headers", "retry_after"):
        if data.get(name) is not None and fault.status is None:
            raise InputError(f"{name} only applies together with status", field=name)

    if data.get("probability") is not None:
        probability = _number(data["probability"], "probability")
        if not 0 <= probability <= 1:
            raise InputError("probability must be between 0 and 1", field="probability")
        fault.probability = probability
    if data.get("count") is not None:
        count = data["count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InputError("count must be a whole number >= 1", field="count")
        fault.count = count
    if data.get("seed") is not None:
        seed = data["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InputError("seed must be a whole number", field="seed")
        fault.seed = seed
    if data.get("name") is not None:
        if not isinstance(data["name"], str):
            raise InputError("name must be a string", field="name")
        fault.name = data["name"]
    fault.rng = random.Random(fault.seed if fault.seed is not None else rng_seed())
    return fault


class FaultBook:
    """The active faults, in the order they were added (the first that fires wins)."""

    def __init__(self, *, seed: int | None = None) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._seeds = random.Random(seed)

    def add(self, data: Any, resolve_platform: Callable[[str], str | None]) -> Fault:
        with self._lock:
            fault_id = f"f{next(self._ids)}"
            fault = parse_fault(
                data,
                fault_id=fault_id,
                resolve_platform=resolve_platform,
                rng_seed=lambda: self._seeds.randrange(2**32),
            )
            self._faults.append(fault)
        return fault

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pick(self, platform: str, path: str, platform_path: str, method: str) -> Fault | None:
        """The fault hitting this request, if any (counts it as fired)."""
        if not self._faults:  # the common case: no lock, no loop
            return None
        with self._lock:
            for fault in self._faults:
                if not fault.active or not fault.matches(platform, path, platform_path, method):
                    continue
                fault.matched += 1
                if fault.roll():
                    fault.fired += 1
                    return fault
        return None
