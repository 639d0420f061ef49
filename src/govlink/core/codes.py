"""Open code tables: platform enums that keep codes govlink does not know yet.

The platforms add codes without notice (a new dossier status, a new payment state,
a new document-axis status). Failing to parse a whole reply because of one new code
would lose data, so every code table is *open*: an unknown value becomes a
pseudo-member named ``UNKNOWN_<code>`` that compares equal to its value, round-trips
unchanged, and says ``known == False``. Subclasses only say how raw values are
normalised (``_normalise``).
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["OpenIntEnum", "OpenStrEnum"]


def _member_or_pseudo(cls: type[enum.Enum], code: object, blank: Any) -> Any:
    """The member whose value is ``code`` (after normalising), else ``blank`` made into
    a pseudo-member ``UNKNOWN_<code>``."""
    for member in cls:
        if member.value == code:
            return member
    blank._name_ = f"UNKNOWN_{code}"
    blank._value_ = code
    return blank


class OpenStrEnum(enum.StrEnum):
    """A text code table that keeps unknown codes (see the module docstring)."""

    @classmethod
    def _normalise(cls, value: object) -> str | None:
        """The code as the table spells it, or None when ``value`` is no code at all."""
        if isinstance(value, str) and value.strip():
            return value.strip()
        return None

    @classmethod
    def _missing_(cls, value: object) -> Any:
        code = cls._normalise(value)
        return None if code is None else _member_or_pseudo(cls, code, str.__new__(cls, code))

    @property
    def known(self) -> bool:
        """False for a code govlink does not know (kept as a pseudo-member)."""
        return self._name_ in type(self).__members__


class OpenIntEnum(enum.IntEnum):
    """A numeric code table that keeps unknown codes; digit strings are accepted."""

    @classmethod
    def _normalise(cls, value: object) -> int | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        return None

    @classmethod
    def _missing_(cls, value: object) -> Any:
        code = cls._normalise(value)
        return None if code is None else _member_or_pseudo(cls, code, int.__new__(cls, code))

    @property
    def known(self) -> bool:
        """False for a code govlink does not know (kept as a pseudo-member)."""
        return self._name_ in type(self).__members__
