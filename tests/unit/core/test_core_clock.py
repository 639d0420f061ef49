"""Vietnam-time formats and the injectable clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from govlink.core.clock import (
    VN_TZ,
    ManualClock,
    SystemClock,
    format_compact,
    format_slash_date,
    format_slash_datetime,
    parse_compact,
    parse_slash_date,
    parse_slash_datetime,
    to_vn,
)

# 2026-01-01 17:30:05 UTC is 2026-01-02 00:30:05 in Vietnam: the date changes.
INSTANT = datetime(2026, 1, 1, 17, 30, 5, tzinfo=UTC)


def test_formats_are_in_vietnam_time() -> None:
    assert format_compact(INSTANT) == "20260102003005"
    assert format_slash_datetime(INSTANT) == "2026/01/02 00:30:05"
    assert format_slash_date(INSTANT) == "2026/01/02"
    assert format_slash_date(date(2015, 9, 30)) == "2015/09/30"
    other_zone = INSTANT.astimezone(timezone(timedelta(hours=-5)))
    assert format_compact(other_zone) == "20260102003005"


def test_parsers_return_aware_vietnam_datetimes() -> None:
    parsed = parse_compact("20260102003005")
    assert parsed == INSTANT
    assert parsed.utcoffset() == timedelta(hours=7)
    assert parse_slash_datetime("2026/01/02 00:30:05") == INSTANT
    assert parse_slash_date("2015/09/30") == date(2015, 9, 30)


def test_round_trips() -> None:
    for text in ("19991231235959", "20240229120000"):
        assert format_compact(parse_compact(text)) == text


@pytest.mark.parametrize(
    ("parser", "text", "expected"),
    [
        (parse_compact, "2026-01-02", "yyyyMMddHHmmss"),
        (parse_compact, "2026010200300", "yyyyMMddHHmmss"),
        (parse_compact, "20261301000000", None),
        (parse_slash_date, "02/01/2026", "yyyy/MM/dd"),
        (parse_slash_datetime, "2026/01/02", "yyyy/MM/dd HH:mm:ss"),
    ],
)
def test_malformed_input_says_the_expected_form(parser, text: str, expected: str | None) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError) as caught:
        parser(text)
    if expected:
        assert expected in str(caught.value)


def test_naive_datetimes_are_refused_not_guessed() -> None:
    naive = datetime(2026, 1, 1, 12, 0)
    for func in (to_vn, format_compact, format_slash_datetime, format_slash_date):
        with pytest.raises(ValueError, match="naive"):
            func(naive)
    with pytest.raises(ValueError, match="aware"):
        ManualClock(naive)
    with pytest.raises(ValueError, match="aware"):
        ManualClock().set(naive)


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(INSTANT)
    assert clock.now() == INSTANT
    assert clock.monotonic() == 0.0
    clock.advance(90)
    assert clock.now() == INSTANT + timedelta(seconds=90)
    assert clock.monotonic() == 90.0
    with pytest.raises(ValueError):
        clock.advance(-1)
    clock.set(datetime(2030, 1, 1, tzinfo=VN_TZ))
    assert format_compact(clock.now()) == "20300101000000"


def test_system_clock_is_aware_and_monotonic() -> None:
    clock = SystemClock()
    now = clock.now()
    assert now.tzinfo is not None
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5
    first = clock.monotonic()
    assert clock.monotonic() >= first
