"""Typed dossier models with the portal's wire names as aliases (PLATFORMS.md §2).

Every field the portal was seen to carry is modelled; all are optional except those
the portal visibly refuses a message without (and that the mock refuses too):
``MaHoSo``, ``MaTTHC``, ``TrangThaiHoSo`` and ``NgayTiepNhan`` for a dossier,
``MaHoSo``, ``NguoiXuLy``, ``ThoiDiemXuLy`` and ``TrangThai`` for a progress record.
Unknown wire fields are kept (``extra="allow"``), so a newer portal field survives a
round trip through govlink.

On the wire the production integrations send codes, amounts and 0/1 flags as
strings and timestamps as ``yyyyMMddHHmmss`` in Vietnam time; inside govlink they are
ints, bools and aware datetimes. ``to_wire()`` gives the JSON-ready dict to send.
Reprs mask personal data (names, ID numbers, phones, e-mails).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from govlink.core.clock import format_compact, parse_compact
from govlink.core.codes import OpenIntEnum
from govlink.core.driver import EvidenceModel
from govlink.core.redact import masked_repr_args

__all__ = [
    "Agency",
    "AgencyRef",
    "ApplicantType",
    "AttachedDocument",
    "Channel",
    "ConnectedDatabase",
    "Dossier",
    "DossierStatus",
    "Fee",
    "FieldRef",
    "OtherAttachment",
    "OwnerIdentifier",
    "Procedure",
    "ProcedureFee",
    "ProcedureField",
    "ProcessingTime",
    "ProgressRecord",
    "ResultDocument",
    "Supplement",
    "UpperWireModel",
]


# ----------------------------------------------------------------------- open enums


class DossierStatus(OpenIntEnum):
    """``TrangThaiHoSo``: where a dossier is in its processing (codes 1–10)."""

    NEW = 1
    RECEIVED = 2
    REFUSED = 3
    PROCESSING = 4
    SUPPLEMENT_REQUESTED = 5
    PAYMENT_REQUESTED = 6
    WITHDRAWAL_REQUESTED = 7
    STOPPED = 8
    PROCESSED = 9
    RESULT_RETURNED = 10

    @property
    def label_vi(self) -> str:
        """The portal's Vietnamese label."""
        return _STATUS_LABELS.get(int(self), (f"Không xác định ({int(self)})", ""))[0]

    @property
    def label_en(self) -> str:
        """An English label for reports."""
        return _STATUS_LABELS.get(int(self), ("", f"unknown ({int(self)})"))[1]

    def describe(self) -> str:
        """``"10 Đã trả kết quả (result returned)"`` — code, both labels."""
        return f"{int(self)} {self.label_vi} ({self.label_en})"


_STATUS_LABELS: dict[int, tuple[str, str]] = {
    1: ("Mới đăng ký", "new"),
    2: ("Được tiếp nhận", "received"),
    3: ("Không được tiếp nhận", "refused at intake"),
    4: ("Đang xử lý", "processing"),
    5: ("Yêu cầu bổ sung giấy tờ", "supplement requested"),
    6: ("Yêu cầu thực hiện nghĩa vụ tài chính", "payment requested"),
    7: ("Công dân yêu cầu rút hồ sơ", "withdrawal requested"),
    8: ("Dừng xử lý", "stopped"),
    9: ("Đã xử lý xong", "processed"),
    10: ("Đã trả kết quả", "result returned"),
}


class ApplicantType(OpenIntEnum):
    """``LoaiDoiTuong``: who the dossier belongs to."""

    CITIZEN = 1
    ORGANISATION = 2
    """An enterprise ([OC] sends 2 for "business")."""
    STATE_AGENCY = 3
    """A state body ([TD])."""
    OTHER_ORGANISATION = 4
    """Any other organisation ([TD])."""


# ----------------------------------------------------------------------- wire types


def _parse_when(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError("naive datetime: attach a timezone (e.g. govlink.core.clock.VN_TZ)")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        return parse_compact(text)
    raise ValueError(f"expected yyyyMMddHHmmss (Vietnam time), got {type(value).__name__}")


def _parse_flag(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "":
        return None
    if text in ("1", "true"):
        return True
    if text in ("0", "false"):
        return False
    raise ValueError(f"expected 0 or 1, got {value!r}")


def _parse_int(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if not text.lstrip("-").isdigit():
            raise ValueError(f"expected a whole number, got {value!r}")
        return int(text)
    return value


def _empty_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _required_when(value: Any) -> Any:
    parsed = _parse_when(value)
    if parsed is None:
        raise ValueError("a date is required (yyyyMMddHHmmss, Vietnam time)")
    return parsed


def _required_status(value: Any) -> Any:
    value = _empty_to_none(value)
    if value is None:
        raise ValueError("a status code is required")
    return value


def _ser_when(value: datetime) -> str:
    return format_compact(value)


def _ser_code(value: int) -> str:
    return str(int(value))


def _ser_flag(value: bool) -> str:
    return "1" if value else "0"


def _ser_bool_text(value: bool) -> str:
    return "True" if value else "False"


_DATE_OUT = PlainSerializer(_ser_when, return_type=str, when_used="json-unless-none")
_CODE_OUT = PlainSerializer(_ser_code, return_type=str, when_used="json-unless-none")
_FLAG_OUT = PlainSerializer(_ser_flag, return_type=str, when_used="json-unless-none")

WireDateTime = Annotated[datetime, BeforeValidator(_required_when), _DATE_OUT]
"""An aware datetime; ``yyyyMMddHHmmss`` in Vietnam time on the wire."""
OptWireDateTime = Annotated[datetime | None, BeforeValidator(_parse_when), _DATE_OUT]
"""The same, optional: an empty string on the wire means "not set"."""
OptWireFlag = Annotated[bool | None, BeforeValidator(_parse_flag), _FLAG_OUT]
"""A boolean sent as ``"0"``/``"1"``."""
OptWireBoolText = Annotated[
    bool | None,
    BeforeValidator(_parse_flag),
    PlainSerializer(_ser_bool_text, return_type=str, when_used="json-unless-none"),
]
"""A boolean sent as ``"True"``/``"False"`` (``IsDeleted`` in [OC]); 0/1 read too."""
OptWireInt = Annotated[int | None, BeforeValidator(_parse_int), _CODE_OUT]
"""A whole number (amount, code) sent as a digit string."""
WireStatus = Annotated[DossierStatus, BeforeValidator(_required_status), _CODE_OUT]
OptWireApplicantType = Annotated[ApplicantType | None, BeforeValidator(_empty_to_none), _CODE_OUT]


class WireModel(BaseModel):
    """Base of every portal model: aliases, unknown fields kept, masked repr."""

    model_config = ConfigDict(
        populate_by_name=True,
        extra="allow",
        str_strip_whitespace=True,
        validate_assignment=False,
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        """``""`` (and ``[]``) on the wire mean "not set": the public clients send
        every field, empty when unknown [OC]."""
        if isinstance(data, dict):
            values = data.values()
            if "" in values or [] in values:
                return {k: v for k, v in data.items() if v != "" and v != []}
        return data

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict the portal expects (wire names, no empty fields)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @classmethod
    def from_wire(cls, data: Any) -> Self:
        """Parse a portal object (wire names or attribute names)."""
        return cls.model_validate(data)

    def __repr_args__(self) -> Any:
        return masked_repr_args(self, super().__repr_args__())


# --------------------------------------------------------------------- list items


class AttachedDocument(WireModel):
    """A document submitted with the dossier (``TaiLieuNop`` item)."""

    file_id: str | None = Field(default=None, alias="TepDinhKemId")
    file_name: str | None = Field(default=None, alias="TenTepDinhKem")
    is_deleted: OptWireBoolText = Field(default=None, alias="IsDeleted")
    component_code: str | None = Field(default=None, alias="MaThanhPhanHoSo")
    download_url: str | None = Field(default=None, alias="DuongDanTaiTepTin")
    digitised: OptWireFlag = Field(default=None, alias="DuocSoHoa")
    """``DuocSoHoa``: the paper original was digitised."""
    reused: OptWireFlag = Field(default=None, alias="DuocTaiSuDung")
    """``DuocTaiSuDung``: taken from an earlier dossier's results."""
    from_national_repository: OptWireFlag = Field(default=None, alias="DuocLayTuKhoDMQG")
    """``DuocLayTuKhoDMQG``: taken from the national data repository."""
    replaces_result_code: str | None = Field(default=None, alias="MaKetQuaThayThe")


class OtherAttachment(WireModel):
    """Any other attachment (``DanhSachTepDinhKemKhac`` item)."""

    name: str | None = Field(default=None, alias="TenGiayTo")
    quantity: OptWireInt = Field(default=None, alias="SoLuong")
    kind: OptWireInt = Field(default=None, alias="LoaiGiayTo")
    digitised: OptWireFlag = Field(default=None, alias="DuocSoHoa")
    reused: OptWireFlag = Field(default=None, alias="DuocTaiSuDung")
    from_national_repository: OptWireFlag = Field(default=None, alias="DuocLayTuKhoDMQG")
    replaces_result_code: str | None = Field(default=None, alias="MaKetQuaThayThe")


class Fee(WireModel):
    """A fee or charge of the dossier (``DanhSachLePhi`` item); amounts in VND."""

    name: str | None = Field(default=None, alias="TenPhiLePhi")
    code: str | None = Field(default=None, alias="MaPhiLePhi")
    collected_when: OptWireInt = Field(default=None, alias="HinhThucThu")
    """``HinhThucThu``: 1 at intake, 2 with a supplement, 4 when the result is returned."""
    amount: OptWireInt = Field(default=None, alias="Gia", ge=0)
    kind: OptWireInt = Field(default=None, alias="LoaiPhiLePhi")
    """``LoaiPhiLePhi``: 1 ordinary fee, 2 appraisal charge, 3 renewal (as observed)."""


class Supplement(WireModel):
    """A request for more papers and its answer (``DanhSachHoSoBoSung`` item)."""

    supplement_id: str | None = Field(default=None, alias="HoSoBoSungId")
    requested_by: str | None = Field(default=None, alias="NguoiYeuCauBoSung")
    request_text: str | None = Field(default=None, alias="NoiDungBoSung")
    requested_at: OptWireDateTime = Field(default=None, alias="NgayBoSung")
    received_by: str | None = Field(default=None, alias="NguoiTiepNhanBoSung")
    receipt_info: str | None = Field(default=None, alias="ThongTinTiepNhan")
    received_at: OptWireDateTime = Field(default=None, alias="NgayTiepNhanBoSung")
    completed: OptWireFlag = Field(default=None, alias="TrangThaiBoSung")
    documents: list[AttachedDocument] | None = Field(default=None, alias="DanhSachGiayToBoSung")
    fees: list[Fee] | None = Field(default=None, alias="DanhSachLePhiBoSung")
    previous_due_at: OptWireDateTime = Field(default=None, alias="NgayHenTraTruoc")
    new_due_at: OptWireDateTime = Field(default=None, alias="NgayHenTraMoi")


class ResultDocument(WireModel):
    """A result paper issued to the applicant (``DanhSachGiayToKetQua`` item)."""

    name: str | None = Field(default=None, alias="TenGiayTo")
    component_code: str | None = Field(default=None, alias="MaThanhPhanHoSo")
    document_id: str | None = Field(default=None, alias="GiayToId")
    download_url: str | None = Field(default=None, alias="DuongDanTepTinKetQua")
    result_code: str | None = Field(default=None, alias="MaGiayToKetQua")
    digitised: OptWireFlag = Field(default=None, alias="DuocSoHoa")
    reused: OptWireFlag = Field(default=None, alias="DuocTaiSuDung")
    from_national_repository: OptWireFlag = Field(default=None, alias="DuocLayTuKhoDMQG")
    replaces_result_code: str | None = Field(default=None, alias="MaKetQuaThayThe")


class OwnerIdentifier(WireModel):
    """An identity paper of the dossier owner (``DinhDanhCHS`` item)."""

    kind: OptWireInt = Field(default=None, alias="LoaiDinhDanh")
    """``LoaiDinhDanh``: 1 personal ID number, 2 tax/enterprise code (as observed)."""
    number: str | None = Field(default=None, alias="SoDinhDanh")


class ConnectedDatabase(WireModel):
    """A national database consulted while processing (``DSKetNoiCSDL`` item)."""

    database_code: str | None = Field(default=None, alias="MaCSDL")


# ------------------------------------------------------------------------- dossier


class Dossier(WireModel, EvidenceModel):
    """A dossier (hồ sơ) as synchronised with ``DongBoHoSoMC``.

    When it comes from :meth:`~govlink.dossiers.DossierClient.get`, ``evidence`` holds
    the lookup's correlation id, timing and masked exchanges.
    """

    ma_ho_so: str = Field(alias="MaHoSo", min_length=1, max_length=100)
    procedure_code: str = Field(alias="MaTTHC", min_length=1)
    status: WireStatus = Field(alias="TrangThaiHoSo")
    received_at: WireDateTime = Field(alias="NgayTiepNhan")

    procedure_name: str | None = Field(default=None, alias="TenTTHC")
    field_code: str | None = Field(default=None, alias="MaLinhVuc")
    field_name: str | None = Field(default=None, alias="TenLinhVuc")
    receipt_number: str | None = Field(default=None, alias="SoBienNhan")
    owner_name: str | None = Field(default=None, alias="ChuHoSo")
    applicant_type: OptWireApplicantType = Field(default=None, alias="LoaiDoiTuong")
    applicant_code: str | None = Field(default=None, alias="MaDoiTuong")
    other_info: str | None = Field(default=None, alias="ThongTinKhac")
    email: str | None = Field(default=None, alias="Email")
    fax: str | None = Field(default=None, alias="Fax")
    phone: str | None = Field(default=None, alias="SoDienThoai")
    summary: str | None = Field(default=None, alias="TrichYeuHoSo")
    due_at: OptWireDateTime = Field(default=None, alias="NgayHenTra")
    returned_at: OptWireDateTime = Field(default=None, alias="NgayTra")
    return_info: str | None = Field(default=None, alias="ThongTinTra")
    delivery_method: OptWireInt = Field(default=None, alias="HinhThuc")
    """``HinhThuc`` (0/1 as observed; its meaning is not public)."""
    processing_ended_at: OptWireDateTime = Field(default=None, alias="NgayKetThucXuLy")
    handling_unit: str | None = Field(default=None, alias="DonViXuLy")
    note: str | None = Field(default=None, alias="GhiChu")

    submitted_documents: list[AttachedDocument] | None = Field(default=None, alias="TaiLieuNop")
    fees: list[Fee] | None = Field(default=None, alias="DanhSachLePhi")
    other_attachments: list[OtherAttachment] | None = Field(
        default=None, alias="DanhSachTepDinhKemKhac"
    )
    supplements: list[Supplement] | None = Field(default=None, alias="DanhSachHoSoBoSung")
    result_documents: list[ResultDocument] | None = Field(
        default=None, alias="DanhSachGiayToKetQua"
    )

    # Newer fields (portal revisions after 2022).
    channel: str | None = Field(default=None, alias="KenhThucHien")
    owner_id_number: str | None = Field(default=None, alias="SoGiayToChuHoSo")
    submission_place: str | None = Field(default=None, alias="NoiNopHoSo")
    has_digitised_components: OptWireFlag = Field(default=None, alias="HoSoCoThanhPhanSoHoa")
    vneid_verified: OptWireFlag = Field(default=None, alias="TaiKhoanDuocXacThucVoiVNeID")
    paid_online: OptWireFlag = Field(default=None, alias="DuocThanhToanTrucTuyen")
    refused_at: OptWireDateTime = Field(default=None, alias="NgayTuChoi")
    submitted_at: OptWireDateTime = Field(default=None, alias="NgayNopHoSo")
    owner_identifiers: list[OwnerIdentifier] | None = Field(default=None, alias="DinhDanhCHS")
    connected_databases: list[ConnectedDatabase] | None = Field(default=None, alias="DSKetNoiCSDL")

    progress: list[ProgressRecord] | None = Field(default=None, alias="QuaTrinhXuLy")
    """Processing history as returned by ``TraCuuHoSo`` (never sent by ``DongBoHoSoMC``)."""

    def with_status(
        self, status: DossierStatus | int, *, force: bool = False, **changes: Any
    ) -> Dossier:
        """A copy moved to ``status``; refuses an illegal transition unless ``force``.

        Why here: the check needs the dossier's current status, which the caller holds
        before sending. See :mod:`govlink.dossiers._status` for the table.
        """
        from govlink.dossiers._status import check_transition

        target = DossierStatus(status)
        check_transition(self.status, target, force=force, ma_ho_so=self.ma_ho_so)
        return self.model_copy(update={"status": target, **changes})

    def to_wire(self, *, blank_unset: bool = False) -> dict[str, Any]:
        """The wire dict; with ``blank_unset`` the fields the public clients always
        send are present, ``""`` (or ``[]`` for lists) when not set ([OC])."""
        data = super().to_wire()
        data.pop("QuaTrinhXuLy", None)  # lookup-only
        if blank_unset:
            for name in _ALWAYS_SENT:
                data.setdefault(name, "")
            for name in _ALWAYS_SENT_LISTS:
                data.setdefault(name, [])
        return data


_ALWAYS_SENT = (
    "TenTTHC",
    "MaLinhVuc",
    "TenLinhVuc",
    "ChuHoSo",
    "LoaiDoiTuong",
    "MaDoiTuong",
    "ThongTinKhac",
    "Email",
    "Fax",
    "SoDienThoai",
    "TrichYeuHoSo",
    "NgayHenTra",
    "NgayTra",
    "ThongTinTra",
    "HinhThuc",
    "NgayKetThucXuLy",
    "DonViXuLy",
    "GhiChu",
)
"""Scalar fields [OC] puts in every ``DongBoHoSoMC`` item, ``""`` when unknown."""
_ALWAYS_SENT_LISTS = (
    "TaiLieuNop",
    "DanhSachLePhi",
    "DanhSachTepDinhKemKhac",
    "DanhSachHoSoBoSung",
    "DanhSachGiayToKetQua",
)


class ProgressRecord(WireModel):
    """One processing step (``CapNhatTienDoHoSoMC`` item)."""

    ma_ho_so: str = Field(alias="MaHoSo", min_length=1, max_length=100)
    handler: str = Field(alias="NguoiXuLy", min_length=1)
    handled_at: WireDateTime = Field(alias="ThoiDiemXuLy")
    status: WireStatus = Field(alias="TrangThai")
    handler_title: str | None = Field(default=None, alias="ChucDanh")
    department: str | None = Field(default=None, alias="PhongBanXuLy")
    content: str | None = Field(default=None, alias="NoiDungXuLy")
    started_at: OptWireDateTime = Field(default=None, alias="NgayBatDau")
    due_by_regulation_at: OptWireDateTime = Field(default=None, alias="NgayKetThucTheoQuyDinh")

    def to_wire(self, *, blank_unset: bool = False) -> dict[str, Any]:
        """The wire dict; with ``blank_unset`` every field [OC] sends is present."""
        data = super().to_wire()
        if blank_unset:
            for name in _ALWAYS_SENT_PROGRESS:
                data.setdefault(name, "")
        return data


_ALWAYS_SENT_PROGRESS = (
    "ChucDanh",
    "PhongBanXuLy",
    "NoiDungXuLy",
    "NgayBatDau",
    "NgayKetThucTheoQuyDinh",
)


# ---------------------------------------------------------------------- catalogues


class UpperWireModel(WireModel):
    """A portal object whose keys are upper-case on the wire (``MATTHC``, ``TENDONVI``).

    The catalogue, sharing and Q&A services answer with upper-case keys
    (PLATFORMS.md §2). Keys are matched to the aliases case-insensitively, so
    ``MaTTHC`` and ``MATTHC`` read alike; keys the model does not know are kept.
    """

    @model_validator(mode="before")
    @classmethod
    def _match_case(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        names = _upper_aliases(cls)
        out: dict[str, Any] = {}
        for key, value in data.items():
            canonical = names.get(key.upper(), key) if isinstance(key, str) else key
            if canonical in out and canonical != key:
                continue  # the exact spelling wins over a case variant
            out[canonical] = value
        return out


def _upper_aliases(cls: type[BaseModel]) -> dict[str, str]:
    cached = _ALIASES.get(cls)
    if cached is None:
        cached = {}
        for name, info in cls.model_fields.items():
            alias = info.alias or name
            cached[alias.upper()] = alias
        _ALIASES[cls] = cached
    return cached


_ALIASES: dict[type[BaseModel], dict[str, str]] = {}


def _parse_number(value: Any) -> Any:
    """A number the portal may send as ``150000``, ``"150000"`` or ``150000.0``."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None
        value = number
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


OptNumber = Annotated[int | float | None, BeforeValidator(_parse_number)]
"""An amount or count read leniently (digits as text or as a number)."""


class FieldRef(UpperWireModel):
    """A field named by a procedure (``LINHVUCTHUCHIEN`` item)."""

    code: str | None = Field(default=None, alias="MALINHVUC")
    name: str | None = Field(default=None, alias="TENLINHVUC")


class AgencyRef(UpperWireModel):
    """An agency named by a procedure or a question (``COQUANTHUCHIEN`` item)."""

    code: str | None = Field(default=None, alias="MADONVI")
    name: str | None = Field(default=None, alias="TENDONVI")


class ProcedureFee(UpperWireModel):
    """A fee of a procedure (``PHILEPHI`` item of a ``THOIGIAN`` entry)."""

    code: str | None = Field(default=None, alias="MAPHILEPHI")
    amount: OptNumber = Field(default=None, alias="SOTIEN")
    unit: str | None = Field(default=None, alias="DONVI")
    description: str | None = Field(default=None, alias="MOTA")


class ProcessingTime(UpperWireModel):
    """How long a procedure takes on one channel (``THOIGIAN`` item)."""

    duration: OptNumber = Field(default=None, alias="THOIGIANGIAIQUYET")
    unit: str | None = Field(default=None, alias="DONVITINH")
    description: str | None = Field(default=None, alias="MOTA")
    fees: list[ProcedureFee] | None = Field(default=None, alias="PHILEPHI")


class Channel(UpperWireModel):
    """A way to carry out a procedure (``CACHTHUCTHUCHIEN`` item).

    ``KENH``: 1 in person, 2 online, 3 by public post (as observed).
    """

    channel: OptWireInt = Field(default=None, alias="KENH")
    times: list[ProcessingTime] | None = Field(default=None, alias="THOIGIAN")


class Procedure(UpperWireModel):
    """An administrative procedure (``LayDanhSachTTHC`` / ``LayThuTuc`` item).

    The list service gives code and name; ``LayThuTuc`` gives the whole record.
    Nested lists that govlink does not interpret (steps, applicants, results, legal
    bases, dossier components) are kept as the portal sent them.
    """

    code: str = Field(alias="MATTHC", min_length=1)
    name: str | None = Field(default=None, alias="TENTTHC")
    fields: list[FieldRef] | None = Field(default=None, alias="LINHVUCTHUCHIEN")
    publishing_agency_code: str | None = Field(default=None, alias="MACOQUANCONGBO")
    agencies: list[AgencyRef] | None = Field(default=None, alias="COQUANTHUCHIEN")
    channels: list[Channel] | None = Field(default=None, alias="CACHTHUCTHUCHIEN")
    status: OptWireInt = Field(default=None, alias="TRANGTHAI")
    requirements: str | None = Field(default=None, alias="YEUCAU")
    steps: list[Any] | None = Field(default=None, alias="TRINHTUTHUCHIEN")
    applicants: list[Any] | None = Field(default=None, alias="DOITUONGTHUCHIEN")
    results: list[Any] | None = Field(default=None, alias="KETQUATHUCHIEN")
    legal_bases: list[Any] | None = Field(default=None, alias="CANCUPHAPLY")
    components: list[Any] | None = Field(default=None, alias="THANHPHANHOSO")

    @property
    def field_code(self) -> str | None:
        """The first field's code (what a dossier's ``MaLinhVuc`` carries)."""
        return self.fields[0].code if self.fields else None

    @property
    def field_name(self) -> str | None:
        return self.fields[0].name if self.fields else None

    @property
    def fees(self) -> list[ProcedureFee]:
        """Every fee listed under any channel and processing time."""
        return [
            fee
            for channel in self.channels or []
            for time in channel.times or []
            for fee in time.fees or []
        ]

    @property
    def fee(self) -> int | float | None:
        """The first listed fee amount (VND), or None when the portal lists none."""
        amounts = [fee.amount for fee in self.fees if fee.amount is not None]
        return amounts[0] if amounts else None


class Agency(UpperWireModel):
    """An agency of the catalogue (``LayDanhMucCoQuan`` item)."""

    code: str = Field(alias="MADONVI", min_length=1)
    name: str | None = Field(default=None, alias="TENDONVI")
    level: OptWireInt = Field(default=None, alias="CAPDONVI")


class ProcedureField(UpperWireModel):
    """A field of procedures (lĩnh vực, ``LayDanhMucLinhVuc`` item)."""

    code: str = Field(alias="MALINHVUC", min_length=1)
    name: str | None = Field(default=None, alias="TENLINHVUC")
    sector_code: str | None = Field(default=None, alias="MANGANH")
    """``MANGANH``: the sector (ministry) the field belongs to."""


Dossier.model_rebuild()
