"""Input checks before anything is sent to the population database.

Rejected values are masked in the error (they are personal data) unless the caller
is inside :func:`govlink.core.redact.unmasked`.

The service answers a malformed request with a fault that says little, and every
refused call still counts against a one-stop-shop's quota and audit log. So the
SDK rejects what it can see is wrong here, naming the parameter the caller passed
(``id_number``, ``full_name``, ``birth_date``), and normalises what the service
compares strictly (names: Unicode NFC, upper case, single spaces).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Literal

from govlink.core.errors import ValidationError
from govlink.core.redact import mask_value

__all__ = [
    "BirthDateInput",
    "IdKind",
    "normalize_id_number",
    "normalize_name",
    "parse_birth_date",
]

BirthDateInput = dt.date | str | int
"""``date``, ``"YYYY-MM-DD"``, ``"YYYYMMDD"``, ``"YYYY"`` or an int year."""

IdKind = Literal["SoDinhDanh", "SoCMND"]
"""Which wire element an ID number travels in: 12 digits (CCCD) or 9 (old CMND)."""

_SEPARATORS = re.compile(r"[\s.\-]")
# Letters (any script, so every Vietnamese letter with its diacritics), spaces and the
# apostrophe/hyphen some ethnic-minority names carry (H'HEN NIÊ, KSOR H'BIA).
_NAME_OK = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+)*$")
_MAX_NAME = 100
_MIN_YEAR = 1880


def normalize_id_number(value: object, *, field: str = "id_number") -> tuple[IdKind, str]:
    """``(wire element, digits)`` for a personal ID (12 digits) or old card (9 digits).

    Spaces, dots and dashes people type in are dropped; anything else is an error.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValidationError(
            field,
            "the ID number as a string (an int loses its leading zeros)",
            got=mask_value(value),
        )
    if not isinstance(value, str):
        raise ValidationError(
            field, "a 12-digit ID number (or a 9-digit old card)", got=mask_value(value)
        )
    digits = _SEPARATORS.sub("", value)
    if not digits.isascii() or not digits.isdigit():
        raise ValidationError(
            field,
            "digits only: 12 for a personal ID (CCCD), 9 for an old card",
            got=mask_value(value),
        )
    if len(digits) == 12:
        return "SoDinhDanh", digits
    if len(digits) == 9:
        return "SoCMND", digits
    raise ValidationError(
        field,
        f"12 digits (personal ID / CCCD) or 9 digits (old CMND), not {len(digits)}",
        got=mask_value(value),
    )


def normalize_name(value: object, *, field: str = "full_name") -> str:
    """The name as the service compares it: NFC, upper case, single spaces."""
    if not isinstance(value, str):
        raise ValidationError(
            field, "the full name as text, e.g. 'Nguyễn Văn An'", got=mask_value(value)
        )
    text = unicodedata.normalize("NFC", value)
    text = " ".join(text.split()).upper()
    text = unicodedata.normalize("NFC", text)
    if not text:
        raise ValidationError(field, "a non-empty full name, e.g. 'NGUYỄN VĂN AN'")
    if len(text) > _MAX_NAME:
        raise ValidationError(field, f"at most {_MAX_NAME} characters", got=f"{len(text)} chars")
    if not _NAME_OK.match(text):
        raise ValidationError(
            field,
            "letters and spaces only (no digits or symbols), e.g. 'NGUYỄN VĂN AN'",
            got=mask_value(value),
        )
    return text


def parse_birth_date(
    value: object, *, field: str = "birth_date", today: dt.date | None = None
) -> tuple[int, dt.date | None]:
    """``(year, full date or None)`` from a date, ``"YYYY-MM-DD"``, ``"YYYYMMDD"``,
    ``"YYYY"`` or an int year; the service accepts a year alone when that is all the
    record holds."""
    today = today or dt.date.today()
    expected = "a date (date, 'YYYY-MM-DD' or 'YYYYMMDD') or a year ('YYYY' or int)"
    year: int
    full: dt.date | None = None
    if isinstance(value, dt.datetime):
        full = value.date()
        year = full.year
    elif isinstance(value, dt.date):
        full = value
        year = value.year
    elif isinstance(value, int) and not isinstance(value, bool):
        year = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 4 and text.isdigit():
                year = int(text)
            elif len(text) == 8 and text.isdigit():
                full = dt.datetime.strptime(text, "%Y%m%d").date()
                year = full.year
            elif len(text) == 10:
                full = dt.date.fromisoformat(text)
                year = full.year
            else:
                raise ValueError(text)
        except ValueError:
            raise ValidationError(field, expected, got=mask_value(value)) from None
    else:
        raise ValidationError(field, expected, got=mask_value(value))
    if not _MIN_YEAR <= year <= today.year:
        raise ValidationError(
            field, f"a year between {_MIN_YEAR} and {today.year}", got=mask_value(value)
        )
    if full is not None and full > today:
        raise ValidationError(
            field, "a birth date that is not in the future", got=mask_value(value)
        )
    return year, full
