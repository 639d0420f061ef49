"""Input checks: errors name the parameter, values are normalised as the service wants."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from govlink.citizens._operations import person_query
from govlink.citizens._validation import normalize_id_number, normalize_name, parse_birth_date
from govlink.core.errors import ValidationError
from govlink.core.redact import unmasked


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("001085000001", ("SoDinhDanh", "001085000001")),
        (" 001 085 000 001 ", ("SoDinhDanh", "001085000001")),
        ("001.085.000-001", ("SoDinhDanh", "001085000001")),
        ("079062003", ("SoCMND", "079062003")),
    ],
)
def test_id_numbers_accepted(value: str, expected: tuple[str, str]) -> None:
    assert normalize_id_number(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("00108500000", "not 11"),
        ("0010850000011", "not 13"),
        ("00108500000A", "digits only"),
        ("００１０８５０００００１", "digits only"),  # full-width digits are not ASCII
        (1085000001, "as a string"),
        (None, "12-digit"),
    ],
)
def test_bad_id_numbers_name_the_field(value: object, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize_id_number(value, field="id_number")
    assert caught.value.field == "id_number"
    assert fragment in caught.value.expected


def test_rejected_id_number_is_masked_in_the_error() -> None:
    with pytest.raises(ValidationError) as caught:
        normalize_id_number("00108500000")
    assert "00108500000" not in str(caught.value)
    with unmasked(), pytest.raises(ValidationError) as shown:
        normalize_id_number("00108500000")
    assert "00108500000" in str(shown.value)


def test_names_are_nfc_upper_case_single_spaced() -> None:
    decomposed = unicodedata.normalize("NFD", "  nguyễn   văn\tan ")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    result = normalize_name(decomposed)
    assert result == "NGUYỄN VĂN AN"
    assert unicodedata.is_normalized("NFC", result)
    assert normalize_name("h'hen niê") == "H'HEN NIÊ"
    assert normalize_name("đặng thị-lan") == "ĐẶNG THỊ-LAN"


@pytest.mark.parametrize("value", ["", "   ", "Nguyen Van 4n", "Nguyễn <b>", 42, "A" * 101])
def test_bad_names_name_the_field(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize_name(value, field="full_name")
    assert caught.value.field == "full_name"


@pytest.mark.parametrize(
    ("value", "year", "full"),
    [
        (dt.date(1985, 3, 12), 1985, dt.date(1985, 3, 12)),
        (dt.datetime(1985, 3, 12, 8, 0), 1985, dt.date(1985, 3, 12)),
        ("1985-03-12", 1985, dt.date(1985, 3, 12)),
        ("19850312", 1985, dt.date(1985, 3, 12)),
        ("1962", 1962, None),
        (1962, 1962, None),
    ],
)
def test_birth_dates_full_or_year_only(value: object, year: int, full: dt.date | None) -> None:
    assert parse_birth_date(value) == (year, full)


@pytest.mark.parametrize(
    "value", ["12/03/1985", "1985-02-30", "19851332", "85", 1850, "3000", True, 1985.0]
)
def test_bad_birth_dates_name_the_field(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_birth_date(value, field="birth_date")
    assert caught.value.field == "birth_date"


def test_future_birth_date_is_refused() -> None:
    with pytest.raises(ValidationError, match="future"):
        parse_birth_date("2026-06-01", today=dt.date(2026, 1, 1))


def test_query_needs_exactly_one_id() -> None:
    with pytest.raises(ValidationError) as missing:
        person_query(None, None, "A", "1985")
    assert missing.value.field == "id_number"
    with pytest.raises(ValidationError) as both:
        person_query("001085000001", "079062003", "A", "1985")
    assert both.value.field == "old_id_number"


def test_query_error_names_old_id_number_when_that_was_passed() -> None:
    with pytest.raises(ValidationError) as caught:
        person_query(None, "12345", "A", "1985")
    assert caught.value.field == "old_id_number"


def test_explicit_old_card_number_is_sent_as_so_cmnd_whatever_its_length() -> None:
    twelve = person_query(None, "020000000003", "A", "1962")
    assert (twelve.id_kind, twelve.id_number) == ("SoCMND", "020000000003")
    typed = person_query("020000003", None, "A", "1962")
    assert typed.id_kind == "SoCMND"
