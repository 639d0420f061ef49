"""Time, injectable, in Vietnam time at the edges.

The platforms speak Vietnam local time (UTC+7, no DST) in three textual formats.
Inside govlink every datetime is timezone-aware; these helpers are the only place
that formats or parses the wire forms. A :class:`Clock` is passed to anything that
needs "now" so tests and the mock servers can move time.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Protocol

__all__ = [
    "VN_TZ",
    "Clock",
    "ManualClock",
    "SystemClock",
    "format_compact",
    "format_slash_date",
    "format_slash_datetime",
    "parse_compact",
    "parse_slash_date",
    "parse_slash_datetime",
    "to_vn",
]

VN_TZ = timezone(timedelta(hours=7), name="ICT")
"""Asia/Ho_Chi_Minh: fixed UTC+7 (Vietnam has had no DST since 1975)."""

SLASH_DATE = "%Y/%m/%d"
SLASH_DATETIME = "%Y/%m/%d %H:%M:%S"


class Clock(Protocol):
    """Source of the current time. ``now()`` is aware; ``monotonic()`` is for durations."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told to; for tests and the mocks' virtual time."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime (add tzinfo)")
        self._now = start
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs an aware datetime (add tzinfo)")
        self._now = when

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go back; use set() instead")
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


def to_vn(when: datetime) -> datetime:
    """The same instant in Vietnam time. Naive datetimes are refused, not guessed."""
    if when.tzinfo is None:
        raise ValueError("naive datetime: attach a timezone (e.g. govlink.core.clock.VN_TZ)")
    return when.astimezone(VN_TZ)


def format_compact(when: datetime) -> str:
    """``yyyyMMddHHmmss`` in Vietnam time (DVCQG dossiers, payments)."""
    v = to_vn(when)  # f-string, not strftime: 10x faster on the 100k-change sync path
    return f"{v.year:04d}{v.month:02d}{v.day:02d}{v.hour:02d}{v.minute:02d}{v.second:02d}"


def parse_compact(text: str) -> datetime:
    """Parse ``yyyyMMddHHmmss`` (Vietnam time) into an aware datetime."""
    text = text.strip()
    if len(text) != 14 or not text.isdigit():
        raise ValueError(f"expected yyyyMMddHHmmss (14 digits), got {text!r}")
    try:  # int slicing, not strptime: 10x faster on the 100k-change sync path
        return datetime(
            int(text[0:4]), int(text[4:6]), int(text[6:8]),
            int(text[8:10]), int(text[10:12]), int(text[12:14]), tzinfo=VN_TZ,
        )  # fmt: skip
    except ValueError:
        raise ValueError(f"expected yyyyMMddHHmmss (a real date and time), got {text!r}") from None


def format_slash_date(day: date | datetime) -> str:
    """``yyyy/MM/dd`` (edXML promulgation dates)."""
    if isinstance(day, datetime):
        day = to_vn(day).date()
    return day.strftime(SLASH_DATE)


def parse_slash_date(text: str) -> date:
    """Parse ``yyyy/MM/dd``."""
    try:
        return datetime.strptime(text.strip(), SLASH_DATE).date()
    except ValueError:
        raise ValueError(f"expected yyyy/MM/dd, got {text!r}") from None


def format_slash_datetime(when: datetime) -> str:
    """``yyyy/MM/dd HH:mm:ss`` in Vietnam time (edXML trace headers)."""
    return to_vn(when).strftime(SLASH_DATETIME)


def parse_slash_datetime(text: str) -> datetime:
    """Parse ``yyyy/MM/dd HH:mm:ss`` (Vietnam time) into an aware datetime."""
    try:
        return datetime.strptime(text.strip(), SLASH_DATETIME).replace(tzinfo=VN_TZ)
    except ValueError:
        raise ValueError(f"expected yyyy/MM/dd HH:mm:ss, got {text!r}") from None
