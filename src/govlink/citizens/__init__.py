"""Population database lookups (CSDL quốc gia về dân cư, PLATFORMS.md §4).

``CitizenClient`` / ``AsyncCitizenClient`` call the six operations of the service
(``lookup``, ``verify``, ``verify_identity``, ``household``, ``marital_status``,
``request_status``) over SOAP or a provincial gateway's JSON, and return typed
records whose reprs mask personal data. Replies are read element by element by
name; elements govlink does not know are kept in each record's ``extra``.

The models and validators import cheaply; the clients (and zeep with them) load on
first use, so ``import govlink.citizens`` stays fast for code that only reads records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from govlink.citizens._reader import ReplyShapeError
from govlink.citizens._validation import (
    BirthDateInput,
    normalize_id_number,
    normalize_name,
    parse_birth_date,
)
from govlink.citizens.models import (
    AccountType,
    Address,
    BirthDate,
    Citizen,
    CitizenCollection,
    Gender,
    Household,
    HouseholdHead,
    HouseholdMember,
    MaritalStatusResult,
    PersonName,
    Relative,
    RequestStatus,
    VerificationResult,
)

if TYPE_CHECKING:
    from govlink.citizens.client import AsyncCitizenClient, CitizenClient


__all__ = [
    "AccountType",
    "Address",
    "AsyncCitizenClient",
    "BirthDate",
    "BirthDateInput",
    "Citizen",
    "CitizenClient",
    "CitizenCollection",
    "Gender",
    "Household",
    "HouseholdHead",
    "HouseholdMember",
    "MaritalStatusResult",
    "PersonName",
    "Relative",
    "ReplyShapeError",
    "RequestStatus",
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
