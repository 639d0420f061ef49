"""Population database lookups (CSDL quốc gia về dân cư, PLATFORMS.md §4).

``CitizenClient`` / ``AsyncCitizenClient`` call the SOAP service
(``TraCuuThongTinCongDan``, ``XacThucThongTinCongDan``) and return typed
:class:`Citizen` / :class:`VerificationResult` records whose reprs mask personal data.

The models and validators import cheaply; the clients (and zeep with them) load on
first use, so ``import govlink.citizens`` stays fast for code that only reads records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from govlink.citizens.models import (
    Address,
    BirthDate,
    Citizen,
    Gender,
    HouseholdHead,
    PersonName,
    Relative,
    VerificationResult,
)
from govlink.citizens.validation import normalize_id_number, normalize_name, parse_birth_date

if TYPE_CHECKING:
    from govlink.citizens.client import AsyncCitizenClient, CitizenClient

__all__ = [
    "Address",
    "AsyncCitizenClient",
    "BirthDate",
    "Citizen",
    "CitizenClient",
    "Gender",
    "HouseholdHead",
    "PersonName",
    "Relative",
    "VerificationResult",
    "normalize_id_number",
    "normalize_name",
    "parse_birth_date",
]

_LAZY = {"CitizenClient", "AsyncCitizenClient"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'govlink.citizens' has no attribute {name!r}")
    from govlink.citizens import client

    value = getattr(client, name)
    globals()[name] = value
    return value
