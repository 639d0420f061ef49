"""Typed citizen records from the population database (PLATFORMS.md §4).

Attributes are English snake_case; the wire names are aliases, so
``Citizen.model_validate({"SoDinhDanh": …})`` and ``Citizen(id_number=…)`` both work.
Every field is optional except what the service always sends, because the public
field lists are observations, not a contract. Elements the schema does not name
yet are kept in :attr:`Citizen.extra` (wire name → text).

Everything here is personal data: ``repr()`` and ``str()`` mask it unless the
caller is inside :func:`govlink.core.redact.unmasked`, and :meth:`masked_dump` is
the dictionary to log or print.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from govlink.core.codes import OpenStrEnum
from govlink.core.redact import is_masking, mask_value, masked_repr_args

if TYPE_CHECKING:
    from govlink.core.http import Evidence

__all__ = [
    "Address",
    "BirthDate",
    "Citizen",
    "Gender",
    "HouseholdHead",
    "PersonName",
    "Relative",
    "VerificationResult",
]


class _Masked(BaseModel):
    """Base: fields listed in ``_personal`` are masked in repr/str and masked_dump."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    _personal: ClassVar[frozenset[str]] = frozenset()

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        return masked_repr_args(self, super().__repr_args__(), personal=self._personal)

    def masked_dump(self) -> dict[str, Any]:
        """A JSON-ready dict (attribute names; dates as ISO text, a year-only birth date as
        ``YYYY``) with personal values masked unless inside ``unmasked()``."""
        return _masked_dump(self)


def _masked_dump(model: _Masked) -> dict[str, Any]:
    masking = is_masking()
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BirthDate):
            out[name] = str(mask_value(value.isoformat())) if masking else value.isoformat()
        elif isinstance(value, _Masked):
            out[name] = _masked_dump(value)
        elif isinstance(value, list):
            out[name] = [_masked_dump(v) if isinstance(v, _Masked) else v for v in value]
        elif isinstance(value, Enum):
            raw = value.value
            out[name] = mask_value(raw) if masking and name in model._personal else raw
        elif masking and name in model._personal and value is not None:
            out[name] = mask_value(value.isoformat() if isinstance(value, dt.date) else value)
        else:
            out[name] = value.isoformat() if isinstance(value, dt.date) else value
    if isinstance(model, PersonName):
        full = model.full_name
        out["full_name"] = mask_value(full) if masking and full else full
    return out


class Gender(OpenStrEnum):
    """``GioiTinh`` as the service spells it. Open: an unknown code is kept as is."""

    MALE = "Nam"
    FEMALE = "Nữ"

    @classmethod
    def _normalise(cls, value: object) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # some replies carry a numeric code
        return super()._normalise(value)


class PersonName(_Masked):
    """``HoVaTen{Ho, ChuDem, Ten}``: family, middle and given names."""

    _personal: ClassVar[frozenset[str]] = frozenset({"family_name", "middle_name", "given_name"})

    family_name: str | None = Field(default=None, alias="Ho")
    middle_name: str | None = Field(default=None, alias="ChuDem")
    given_name: str | None = Field(default=None, alias="Ten")

    @property
    def full_name(self) -> str:
        """``HO CHỮ ĐỆM TÊN``, the form the service compares requests against."""
        parts = (self.family_name, self.middle_name, self.given_name)
        return " ".join(p for p in parts if p)

    def __str__(self) -> str:
        return str(mask_value(self.full_name)) if is_masking() else self.full_name


class BirthDate(_Masked):
    """``NgayThangNamSinh``: the year, and the full date when the record has it."""

    _personal: ClassVar[frozenset[str]] = frozenset({"year", "date"})

    year: int
    date: dt.date | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_wire(cls, data: Any) -> Any:
        """Accept the wire form ``{"Nam": "1985", "NgayThangNam": "19850312"}``."""
        if not isinstance(data, dict) or ("Nam" not in data and "NgayThangNam" not in data):
            return data
        full = data.get("NgayThangNam")
        year = data.get("Nam")
        parsed = _compact_date(str(full)) if full else None
        if year in (None, "") and parsed is not None:
            year = parsed.year
        return {"year": year, "date": parsed}

    @property
    def is_year_only(self) -> bool:
        return self.date is None

    def isoformat(self) -> str:
        """``YYYY-MM-DD``, or ``YYYY`` when only the year is known (unmasked)."""
        return self.date.isoformat() if self.date else f"{self.year:04d}"

    def to_wire(self) -> dict[str, str]:
        """The request form: ``NgayThangNam`` when the full date is known, else ``Nam``."""
        if self.date is not None:
            day = self.date
            return {"NgayThangNam": f"{day.year:04d}{day.month:02d}{day.day:02d}"}
        return {"Nam": f"{self.year:04d}"}

    def __str__(self) -> str:
        return str(mask_value(self.isoformat())) if is_masking() else self.isoformat()


def _compact_date(text: str) -> dt.date:
    """``yyyyMMdd`` → date. Slicing the usual eight digits costs a tenth of ``strptime``
    (run for every record read); anything else gets ``strptime``'s own checks."""
    if len(text) == 8 and text.isascii() and text.isdigit():
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return dt.datetime.strptime(text, "%Y%m%d").date()


class Address(_Masked):
    """An address: administrative unit codes and the free-text detail."""

    _personal: ClassVar[frozenset[str]] = frozenset({"detail"})

    province_code: str | None = Field(default=None, alias="MaTinhThanh")
    district_code: str | None = Field(default=None, alias="MaQuanHuyen")
    ward_code: str | None = Field(default=None, alias="MaPhuongXa")
    detail: str | None = Field(default=None, alias="ChiTiet")


class Relative(_Masked):
    """Father, mother or spouse (``Cha``, ``Me``, ``VoChong``)."""

    _personal: ClassVar[frozenset[str]] = frozenset({"full_name", "id_number", "old_id_number"})

    full_name: str | None = Field(default=None, alias="HoVaTen")
    id_number: str | None = Field(default=None, alias="SoDinhDanh")
    old_id_number: str | None = Field(default=None, alias="SoCMND")


class HouseholdHead(Relative):
    """``ChuHo``: the head of the household and the citizen's relation to them."""

    relationship: str | None = Field(default=None, alias="QuanHe")


class Citizen(_Masked):
    """One citizen record (``CongDan``)."""

    _personal: ClassVar[frozenset[str]] = frozenset(
        {
            "id_number",
            "old_id_number",
            "ethnicity",
            "religion",
            "household_book_number",
            "extra",
        }
    )

    name: PersonName = Field(default_factory=PersonName, alias="HoVaTen")
    birth_date: BirthDate | None = Field(default=None, alias="NgayThangNamSinh")
    id_number: str | None = Field(default=None, alias="SoDinhDanh")
    old_id_number: str | None = Field(default=None, alias="SoCMND")
    gender: Gender | None = Field(default=None, alias="GioiTinh")
    ethnicity: str | None = Field(default=None, alias="DanToc")
    religion: str | None = Field(default=None, alias="TonGiao")
    nationality: str | None = Field(default=None, alias="QuocTich")
    permanent_address: Address | None = Field(default=None, alias="ThuongTru")
    current_address: Address | None = Field(default=None, alias="NoiOHienTai")
    home_town: Address | None = Field(default=None, alias="QueQuan")
    birth_registration_place: Address | None = Field(default=None, alias="NoiDangKyKhaiSinh")
    father: Relative | None = Field(default=None, alias="Cha")
    mother: Relative | None = Field(default=None, alias="Me")
    spouse: Relative | None = Field(default=None, alias="VoChong")
    household_head: HouseholdHead | None = Field(default=None, alias="ChuHo")
    household_book_number: str | None = Field(default=None, alias="SoSoHoKhau")
    extra: dict[str, str] = Field(default_factory=dict)
    """Elements the schema does not name yet: wire name → text (or XML)."""

    _request_id: str | None = PrivateAttr(default=None)
    _evidence: Evidence | None = PrivateAttr(default=None)

    @property
    def full_name(self) -> str:
        """``HO CHỮ ĐỆM TÊN`` (unmasked: it is the data, not a display)."""
        return self.name.full_name

    @property
    def request_id(self) -> str | None:
        """The ``MaYeuCau`` of the lookup that returned this record."""
        return self._request_id

    @property
    def evidence(self) -> Evidence | None:
        """What was sent and received (correlation id, timing, raw reply)."""
        return self._evidence

    def __str__(self) -> str:
        ident = self.id_number or self.old_id_number
        shown = mask_value(ident) if is_masking() else ident
        return f"{self.name} ({shown}, born {self.birth_date})"


class VerificationResult(_Masked):
    """Reply of ``XacThucThongTinCongDan``: do the given data match the record?"""

    matches: bool = Field(alias="KetQua")
    mismatched_fields: tuple[str, ...] = Field(default=(), alias="DanhSachTruongKhongKhop")
    """Wire names of the fields that differ (``HoVaTen``, ``NgayThangNamSinh``, …), when
    the service says which."""
    request_id: str | None = Field(default=None, alias="MaYeuCau")

    _evidence: Evidence | None = PrivateAttr(default=None)

    @property
    def evidence(self) -> Evidence | None:
        """What was sent and received (correlation id, timing, raw reply)."""
        return self._evidence
