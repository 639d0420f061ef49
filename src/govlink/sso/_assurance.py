"""Levels of assurance: what a login proves about the person, and enforcing a minimum.

DVCQG and VNeID state how strongly an account's identity was verified: the ID
token's ``acr`` (the level the provider authenticated at, answering the
``acr_values`` the client asked for: ``LoA1``, ``LoA2``…) and, for VNeID accounts,
``IAL`` (identity assurance level) and ``loAs`` (per-claim levels). What a citizen
may do often depends on it (some procedures require a level-2 VNeID account), so a
login weaker than required is refused — never silently accepted.

The decision is taken on the **signed** ``acr`` of the ID token: a login whose token
carries no ``acr``, or a weaker one, is refused. ``IAL`` and ``loAs`` can only make
the verdict stricter: when present and weaker than required, the login is refused
too (they come from the same provider, and a level a provider states in one place
must not be contradicted in another).

Levels compare by their number (``LoA2`` > ``LoA1``; ``IAL2``, ``2`` and ``LoA2``
are the same level).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from govlink.core.errors import ValidationError
from govlink.sso._errors import InsufficientAssuranceError

__all__ = ["check_level", "level_number", "login_level", "meets_level", "weakest_level"]

_DIGITS = re.compile(r"\d+")


def level_number(level: object) -> int | None:
    """The number of a level (``LoA2`` → 2, ``IAL1`` → 1, ``2`` → 2), or ``None``."""
    if isinstance(level, bool) or level is None:
        return None
    if isinstance(level, int):
        return level
    digits = _DIGITS.findall(str(level))
    return int(digits[-1]) if digits else None


def meets_level(level: object, minimum: str) -> bool:
    """Whether a stored ``level`` (e.g. a session's ``LoginResult.level``) is at least
    ``minimum``; an unknown or missing level never meets one."""
    have, need = level_number(level), level_number(minimum)
    return have is not None and need is not None and have >= need


def weakest_level(acr_values: str | None) -> str | None:
    """The weakest level in a space-separated ``acr_values`` request (``None``: none)."""
    levels = [v for v in (acr_values or "").split() if level_number(v) is not None]
    if not levels:
        return None
    return min(levels, key=lambda v: level_number(v) or 0)


def login_level(id_claims: Mapping[str, Any]) -> str | None:
    """The level the signed ID token states (``acr``), as sent."""
    acr = id_claims.get("acr")
    return str(acr) if isinstance(acr, str | int) and not isinstance(acr, bool) else None


def check_level(
    required: str,
    id_claims: Mapping[str, Any],
    *,
    ial: object = None,
    loa_levels: tuple[str, ...] = (),
) -> None:
    """Raise :class:`InsufficientAssuranceError` unless the login meets ``required``."""
    needed = level_number(required)
    if needed is None:
        raise ValidationError("required level", "a level such as LoA2", got=required)
    acr = login_level(id_claims)
    acr_number = level_number(acr)
    if acr_number is None or acr_number < needed:
        raise InsufficientAssuranceError(
            required,
            acr,
            detail="the ID token states no acr" if acr is None else "ID token acr",
        )
    ial_number = level_number(ial)
    if ial is not None and ial_number is not None and ial_number < needed:
        raise InsufficientAssuranceError(required, f"IAL {ial}", detail="VNeID identity level")
    numbers = [n for n in (level_number(x) for x in loa_levels) if n is not None]
    if numbers and max(numbers) < needed:
        shown = max(loa_levels, key=lambda x: level_number(x) or 0)
        raise InsufficientAssuranceError(required, shown, detail="VNeID loAs")
