"""Typed records and results of the population database (PLATFORMS.md §4).

Attributes are English snake_case; the wire names are aliases, so
``Citizen.model_validate({"SoDinhDanh": …})`` and ``Citizen(id_number=…)`` both work.
Every field is optional, because the public field lists are observations, not a
contract. Replies are read element by element by :mod:`govlink.citizens._reader`:
an element a model does not name is kept in that model's :attr:`extra` (wire name
→ text, or the element's XML when it has children), never dropped.

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
from govlink.core.driver import EvidenceModel
from govlink.core.redact import is_masking, mask_value, masked_repr_args

if TYPE_CHECKING:
    from govlink.core.driver import CallEvidence

__all__ = [
    "AccountType",
    "Address",
    "BirthDate",
    "Citizen",
    "CitizenCollection",
    "Gender",
    "Household",
    "HouseholdHead",
    "HouseholdMember",
    "MaritalStatusResult",
    "PersonName",
    "Relative",
    "RequestStatus",
    "VerificationResult",
]


class _Masked(BaseModel):
    """Base: fields listed in ``_personal`` are masked in repr/str and masked_dump."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")

    _personal: ClassVar[frozenset[str]] = frozenset()

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        return masked_repr_args(self, super().__repr_args__(), personal=self._personal)

    def masked_dump(self) -> dict[str, Any]:
        """A JSON-ready dict (attribute names; dates as ISO text, a year-only birth date as
        ``YYYY``) with personal values masked unless inside ``unmasked()``."""
        return _masked_dump(self)


class _Evidenced(_Masked, EvidenceModel):
    """A result of one call: the request id it answered and (``.evidence``, attached by
    the core runner) the correlation id, timing and raw exchange of the call."""

    _request_id: str | None = PrivateAttr(default=None)


def _dump_value(value: Any, masked: bool) -> Any:
    if isinstance(value, BirthDate):  # always personal
        return str(mask_value(value.isoformat())) if is_masking() else value.isoformat()
    if isinstance(value, _Masked):
        return _masked_dump(value)
    if isinstance(value, list | tuple):
        return [_dump_value(v, masked) for v in value]
    if isinstance(value, Enum):
        return mask_value(value.value) if masked else value.value
    if isinstance(value, dt.date):
        return mask_value(value.isoformat()) if masked else value.isoformat()
    return mask_value(value) if masked and value is not None else value


def _masked_dump(model: _Masked) -> dict[str, Any]:
    masking = is_masking()
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        out[name] = _dump_value(getattr(model, name), masking and name in model._personal)
    if isinstance(model, PersonName | Relative | HouseholdMember):
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


class AccountType(OpenStrEnum):
    """``LoaiTaiKhoan``: a citizen's account, or an organisation's (whose identifier is
    then its tax code, ``MaSoThue``, as the Thanh Hoá integration reads it)."""

    CITIZEN = "1"
    ORGANISATION = "2"


class PersonName(_Masked):
    """``HoVaTen{Ho, ChuDem, Ten}``: family, middle and given names.

    Some replies carry a relative's name as one text (``<HoVaTen>NGUYỄN VĂN BẢY</HoVaTen>``):
    it is split the Vietnamese way (family name first, given name last), which joins
    back to the same text.
    """

    _personal: ClassVar[frozenset[str]] = frozenset(
        {"family_name", "middle_name", "given_name", "extra"}
    )

    family_name: str | None = Field(default=None, alias="Ho")
    middle_name: str | None = Field(default=None, alias="ChuDem")
    given_name: str | None = Field(default=None, alias="Ten")
    extra: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        words = data.split()
        if not words:
            return {}
        if len(words) == 1:
            return {"Ten": words[0]}
        middle = " ".join(words[1:-1]) or None
        return {"Ho": words[0], "ChuDem": middle, "Ten": words[-1]}

    @property
    def full_name(self) -> str:
        """``HO CHỮ ĐỆM TÊN``, the form the service compares requests against."""
        parts = (self.family_name, self.middle_name, self.given_name)
        return " ".join(p for p in parts if p)

    def __str__(self) -> str:
        return str(mask_value(self.full_name)) if is_masking() else self.full_name


class BirthDate(_Masked):
    """``NgayThangNamSinh``: the year, and the full date when the record has it."""

    _personal: ClassVar[frozenset[str]] = frozenset({"year", "date", "extra"})

    year: int = Field(alias="Nam")
    date: dt.date | None = Field(default=None, alias="NgayThangNam")
    extra: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_wire(cls, data: Any) -> Any:
        """Accept ``{"Nam": "1985", "NgayThangNam": "19850312"}`` or the text ``19850312``
        / ``1985``."""
        if isinstance(data, str):
            text = data.strip()
            data = {"Nam": text} if len(text) == 4 else {"NgayThangNam": text}
        if not isinstance(data, dict) or ("Nam" not in data and "NgayThangNam" not in data):
            return data
        unknown = set(data) - {"Nam", "NgayThangNam", "extra"}
        if unknown:
            raise ValueError(f"unexpected element(s) {', '.join(sorted(unknown))}")
        full = data.get("NgayThangNam")
        year = data.get("Nam")
        parsed = _compact_date(str(full)) if full else None
        if year in (None, "") and parsed is not None:
            year = parsed.year
        return {"year": year, "date": parsed, "extra": data.get("extra") or {}}

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
    """An address: country, administrative unit codes and names, and the free-text detail."""

    _personal: ClassVar[frozenset[str]] = frozenset({"detail", "extra"})

    country: str | None = Field(default=None, alias="QuocGia")
    province_code: str | None = Field(default=None, alias="MaTinhThanh")
    province_name: str | None = Field(default=None, alias="TenTinhThanh")
    district_code: str | None = Field(default=None, alias="MaQuanHuyen")
    district_name: str | None = Field(default=None, alias="TenQuanHuyen")
    ward_code: str | None = Field(default=None, alias="MaPhuongXa")
    ward_name: str | None = Field(default=None, alias="TenPhuongXa")
    detail: str | None = Field(default=None, alias="ChiTiet")
    extra: dict[str, str] = Field(default_factory=dict)


class Relative(_Masked):
    """Father, mother, spouse or legal representative (``Cha``, ``Me``, ``VoChong``,
    ``NguoiDaiDien``)."""

    _personal: ClassVar[frozenset[str]] = frozenset(
        {"id_number", "old_id_number", "nationality", "extra"}
    )

    name: PersonName | None = Field(default=None, alias="HoVaTen")
    id_number: str | None = Field(default=None, alias="SoDinhDanh")
    old_id_number: str | None = Field(default=None, alias="SoCMND")
    nationality: str | None = Field(default=None, alias="QuocTich")
    extra: dict[str, str] = Field(default_factory=dict)

    @property
    def full_name(self) -> str | None:
        return self.name.full_name if self.name is not None else None


class HouseholdHead(Relative):
    """``ChuHo``: the head of the household and the citizen's relation to them."""

    relationship: str | None = Field(default=None, alias="QuanHe")


class Citizen(_Evidenced):
    """One citizen record (``CongDan``)."""

    _personal: ClassVar[frozenset[str]] = frozenset(
        {
            "id_number",
            "old_id_number",
            "tax_code",
            "ethnicity",
            "religion",
            "marital_status",
            "blood_type",
            "email",
            "household_book_number",
            "extra",
        }
    )

    id_number: str | None = Field(default=None, alias="SoDinhDanh")
    account_type: AccountType | None = Field(default=None, alias="LoaiTaiKhoan")
    old_id_number: str | None = Field(default=None, alias="SoCMND")
    tax_code: str | None = Field(default=None, alias="MaSoThue")
    name: PersonName = Field(default_factory=PersonName, alias="HoVaTen")
    birth_date: BirthDate | None = Field(default=None, alias="NgayThangNamSinh")
    gender: Gender | None = Field(default=None, alias="GioiTinh")
    ethnicity: str | None = Field(default=None, alias="DanToc")
    religion: str | None = Field(default=None, alias="TonGiao")
    marital_status: str | None = Field(default=None, alias="TinhTrangHonNhan")
    blood_type: str | None = Field(default=None, alias="NhomMau")
    nationality: str | None = Field(default=None, alias="QuocTich")
    email: str | None = Field(default=None, alias="ThuDienTu")
    permanent_address: Address | None = Field(default=None, alias="ThuongTru")
    current_address: Address | None = Field(default=None, alias="NoiOHienTai")
    home_town: Address | None = Field(default=None, alias="QueQuan")
    birth_registration_place: Address | None = Field(default=None, alias="NoiDangKyKhaiSinh")
    father: Relative | None = Field(default=None, alias="Cha")
    mother: Relative | None = Field(default=None, alias="Me")
    spouse: Relative | None = Field(default=None, alias="VoChong")
    representative: Relative | None = Field(default=None, alias="NguoiDaiDien")
    household_head: HouseholdHead | None = Field(default=None, alias="ChuHo")
    household_book_number: str | None = Field(default=None, alias="SoSoHoKhau")
    extra: dict[str, str] = Field(default_factory=dict)
    """Elements the model does not name yet: wire name → text (or XML)."""

    _collection: CitizenCollection | None = PrivateAttr(default=None)

    @property
    def full_name(self) -> str:
        """``HO CHỮ ĐỆM TÊN`` (unmasked: it is the data, not a display)."""
        return self.name.full_name

    @property
    def request_id(self) -> str | None:
        """The ``MaYeuCau`` of the call that returned this record."""
        return self._request_id

    @property
    def collection(self) -> CitizenCollection | None:
        """The ``CongdanCollection`` this record came in (count, note, data timestamp)."""
        return self._collection

    def attach_evidence(self, evidence: CallEvidence) -> None:
        super().attach_evidence(evidence)
        if self._collection is not None:
            self._collection.attach_evidence(evidence)

    def __str__(self) -> str:
        ident = self.id_number or self.old_id_number
        shown = mask_value(ident) if is_masking() else ident
        return f"{self.name} ({shown}, born {self.birth_date})"


class CitizenCollection(_Evidenced):
    """``CongdanCollection``: the records of a lookup and what the service says about them.

    Read from the reply's payload with the collection element flattened into it, so the
    ``MaYeuCau`` next to it and anything else there is kept too."""

    _flatten_wire: ClassVar[frozenset[str]] = frozenset({"CongdanCollection"})

    request_id: str | None = Field(default=None, alias="MaYeuCau")
    citizens: tuple[Citizen, ...] = Field(default=(), alias="CongDan")
    count: str | None = Field(default=None, alias="SoCongDan")
    note: str | None = Field(default=None, alias="GhiChu")
    data_as_of: str | None = Field(default=None, alias="ThoiDiemDuLieu")
    collection_id: str | None = Field(default=None, alias="Id")
    extra: dict[str, str] = Field(default_factory=dict)


class VerificationResult(_Evidenced):
    """Reply of ``XacThucThongTinCongDan``: do the given data match the record?"""

    request_id: str | None = Field(default=None, alias="MaYeuCau")
    matches: bool = Field(alias="KetQua")
    mismatched_fields: tuple[str, ...] = Field(
        default=(), alias="DanhSachTruongKhongKhop", json_schema_extra={"items": "TruongKhongKhop"}
    )
    """Wire names of the fields that differ (``HoVaTen``, ``NgayThangNamSinh``, …), when
    the service says which."""
    extra: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _fields_list(cls, data: Any) -> Any:
        listed = data.get("DanhSachTruongKhongKhop") if isinstance(data, dict) else None
        if isinstance(listed, dict):
            fields = listed.get("TruongKhongKhop") or []
            data = {**data, "DanhSachTruongKhongKhop": tuple(fields)}
        return data


class HouseholdMember(_Masked):
    """``ThanhVien``: one member of a household and their relation to its head."""

    _personal: ClassVar[frozenset[str]] = frozenset({"id_number", "old_id_number", "extra"})

    name: PersonName | None = Field(default=None, alias="HoVaTen")
    id_number: str | None = Field(default=None, alias="SoDinhDanh")
    old_id_number: str | None = Field(default=None, alias="SoCMND")
    birth_date: BirthDate | None = Field(default=None, alias="NgayThangNamSinh")
    gender: Gender | None = Field(default=None, alias="GioiTinh")
    relationship: str | None = Field(default=None, alias="QuanHe")
    extra: dict[str, str] = Field(default_factory=dict)

    @property
    def full_name(self) -> str | None:
        return self.name.full_name if self.name is not None else None


class Household(_Evidenced):
    """Reply of ``CungCapThongTinHoGiaDinh``: the household the citizen belongs to."""

    _personal: ClassVar[frozenset[str]] = frozenset({"household_book_number", "extra"})
    _flatten_wire: ClassVar[frozenset[str]] = frozenset({"HoGiaDinh", "DanhSachThanhVien"})

    request_id: str | None = Field(default=None, alias="MaYeuCau")
    household_book_number: str | None = Field(default=None, alias="SoSoHoKhau")
    household_code: str | None = Field(default=None, alias="MaHoGiaDinh")
    head: HouseholdHead | None = Field(default=None, alias="ChuHo")
    address: Address | None = Field(default=None, alias="DiaChi")
    members: tuple[HouseholdMember, ...] = Field(default=(), alias="ThanhVien")
    extra: dict[str, str] = Field(default_factory=dict)


class MaritalStatusResult(_Evidenced):
    """Reply of ``XacMinhTinhTrangHonNhan``: the citizen's recorded marital status."""

    _personal: ClassVar[frozenset[str]] = frozenset({"status", "status_code", "extra"})

    request_id: str | None = Field(default=None, alias="MaYeuCau")
    status_code: str | None = Field(default=None, alias="MaTinhTrangHonNhan")
    status: str | None = Field(default=None, alias="TinhTrangHonNhan")
    spouse: Relative | None = Field(default=None, alias="VoChong")
    extra: dict[str, str] = Field(default_factory=dict)


class RequestStatus(_Evidenced):
    """Reply of ``GetRequestStatus``: where an earlier request (by ``MaYeuCau``) stands."""

    request_id: str | None = Field(default=None, alias="MaYeuCau")
    status: str | None = Field(default=None, alias="TrangThai")
    description: str | None = Field(default=None, alias="MoTa")
    updated_at: str | None = Field(default=None, alias="ThoiGianCapNhat")
    extra: dict[str, str] = Field(default_factory=dict)
