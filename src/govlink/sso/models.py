"""Typed views of what the identity provider returns.

Userinfo claims arrive under Vietnamese names (PLATFORMS.md §1); the models expose
English snake_case attributes with those names as aliases, keep every claim they do
not know in ``extra`` (a provider that adds a claim must not break a login), and
mask personal data in ``repr()`` so a logged result never leaks an ID number.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, ClassVar

from pydantic import AliasChoices, ConfigDict, Field, field_validator, model_validator

from govlink.core.driver import EvidenceModel
from govlink.core.redact import masked_repr_args

log = logging.getLogger("govlink.sso")

__all__ = [
    "Address",
    "CitizenIdentity",
    "IntrospectionResult",
    "LevelOfAssurance",
    "LoginRequest",
    "LoginResult",
    "LoginState",
    "OrganisationIdentity",
    "Relative",
    "TokenSet",
    "identity_from_claims",
]


class _MaskedModel(EvidenceModel):
    """Base: aliases by wire name, numbers accepted where text is expected, masked repr."""

    model_config = ConfigDict(populate_by_name=True, coerce_numbers_to_str=True)

    _personal: ClassVar[frozenset[str]] = frozenset()

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        args = (
            (n, v) for n, v in super().__repr_args__() if not (n in ("extra", "loas") and not v)
        )
        return masked_repr_args(self, args, personal=self._personal)


def _alias(*names: str) -> Any:
    """A field alias that also accepts spelling variants seen on the wire."""
    return Field(default=None, alias=names[0], validation_alias=AliasChoices(*names))


def _json_if_text(value: Any) -> Any:
    """Claims sometimes carry JSON as a string; decode it when it looks like JSON."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class Address(_MaskedModel):
    """An address claim: codes of province/district/commune and the free-text detail.

    The provider may send an object or plain text; text lands in ``detail``.
    """

    country: str | None = _alias("QuocGia", "country")
    province_code: str | None = _alias("MaTinhThanh", "MaTinh", "ma_tinh", "province_code")
    province_name: str | None = _alias("TenTinhThanh", "province_name")
    district_code: str | None = _alias("MaQuanHuyen", "MaHuyen", "ma_huyen", "district_code")
    district_name: str | None = _alias("TenQuanHuyen", "district_name")
    ward_code: str | None = _alias("MaPhuongXa", "MaXa", "ma_xa", "ward_code", "commune_code")
    """Ward / commune code (``MaPhuongXa``): the same name as in the population database."""
    ward_name: str | None = _alias("TenPhuongXa", "ward_name")
    detail: str | None = _alias("ChiTiet", "chi_tiet", "DiaChi", "detail")

    _personal = frozenset({"detail"})

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        data = _json_if_text(data)
        if isinstance(data, str):
            return {"ChiTiet": data}
        return data


class Relative(_MaskedModel):
    """A relative claim (``Cha``, ``Me``, ``VoChong``, ``ChuHo``): name, ID, relationship."""

    full_name: str | None = _alias("HoVaTen", "HoTen", "ho_ten", "full_name")
    id_number: str | None = _alias("SoDinhDanh", "so_dinh_danh", "id_number")
    relationship: str | None = _alias("QuanHe", "quan_he", "relationship")

    _personal = frozenset({"full_name", "id_number"})

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        data = _json_if_text(data)
        if isinstance(data, str):
            return {"HoVaTen": data}
        return data


class LevelOfAssurance(_MaskedModel):
    """One entry of the ``loAs`` claim: which claim was verified, at what level, by whom."""

    model_config = ConfigDict(populate_by_name=True, coerce_numbers_to_str=True, extra="allow")

    claim: str | None = None
    level: str | None = None
    source: str | None = _alias("src", "source")
    valid_date: str | None = _alias("validDate", "valid_date")
    expired_date: str | None = _alias("expired_date", "expiredDate")


def _parse_loas(value: Any) -> list[dict[str, Any]]:
    """``loAs`` as observed: a JSON object, a list of them, or either encoded as a string.

    Raises ``ValueError`` when the value is none of these.
    """
    value = _json_if_text(value)
    if value is None or value == "":
        return []
    if isinstance(value, Mapping):
        if {"claim", "level", "src"} & set(value):
            return [dict(value)]
        # a mapping claim -> {level, src, ...}
        if all(isinstance(v, Mapping) for v in value.values()):
            return [{"claim": k, **v} for k, v in value.items()]
        raise ValueError("loAs object has neither claim/level nor per-claim objects")
    if isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        return [dict(v) for v in value]
    raise ValueError(f"loAs is not JSON object(s): {type(value).__name__}")


class _Identity(_MaskedModel):
    """What citizens and organisations share; unknown claims are kept in ``extra``."""

    subject: str = Field(alias="sub")
    account_type: str | None = _alias("LoaiTaiKhoan", "account_type")
    tech_id: str | None = _alias("TechID", "tech_id")
    email: str | None = _alias("ThuDienTu", "email")
    phone: str | None = _alias("SoDienThoai", "phone")
    loas: list[LevelOfAssurance] = Field(
        default_factory=list, alias="loAs", validation_alias=AliasChoices("loAs", "loas")
    )
    ial: str | None = _alias("IAL", "ial")
    user_profile_uri: str | None = _alias("userProfileUri", "user_profile_uri")
    logout_uri: str | None = _alias("logoutUri", "logout_uri")
    extra: dict[str, Any] = Field(default_factory=dict)
    """Claims this model does not know, by wire name, as received."""

    @model_validator(mode="before")
    @classmethod
    def _collect_extra(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        known: set[str] = set()
        for name, info in cls.model_fields.items():
            known.add(name)
            if info.alias:
                known.add(info.alias)
            choices = info.validation_alias
            if isinstance(choices, AliasChoices):
                known.update(c for c in choices.choices if isinstance(c, str))
        out: dict[str, Any] = {}
        extra: dict[str, Any] = dict(data.get("extra") or {})
        for key, value in data.items():
            if key == "extra":
                continue
            if key in known:
                out[key] = value
            else:
                extra[key] = value
        for key in ("loAs", "loas"):
            if key in out:
                try:
                    out[key] = _parse_loas(out[key])
                except ValueError:
                    extra[key] = out.pop(key)  # kept, not fatal: the login still works
        out["extra"] = extra
        return out

    @property
    def is_citizen(self) -> bool:
        return isinstance(self, CitizenIdentity)

    @property
    def level_of_assurance(self) -> str | None:
        """The highest ``level`` in ``loAs`` (``LoA2`` > ``LoA1``), if any."""
        levels = sorted((x.level for x in self.loas if x.level), key=_level_rank)
        return levels[-1] if levels else None

    def claims(self) -> dict[str, Any]:
        """The identity back as wire claims (Vietnamese names), including ``extra``."""
        out = self.model_dump(by_alias=True, exclude_none=True, exclude={"extra"})
        if not out.get("loAs"):
            out.pop("loAs", None)
        out.update(self.extra)
        return out


def _level_rank(level: str) -> tuple[int, str]:
    digits = re.findall(r"\d+", level)
    return (int(digits[-1]) if digits else 0, level)


_BIRTH_FORMATS = (
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"),
    re.compile(r"^(?P<d>\d{2})/(?P<m>\d{2})/(?P<y>\d{4})$"),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"),
)


_UNREADABLE = object()


def _birth_date(value: Any) -> Any:
    """``date`` (full date), ``int`` (year only), ``None``, or ``_UNREADABLE``."""
    if value is None or isinstance(value, date | int):
        return value
    text = str(value).strip()
    if not text:
        return None
    if len(text) == 4 and text.isdigit():
        return int(text)
    for pattern in _BIRTH_FORMATS:
        match = pattern.match(text)
        if match:
            try:
                return date(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                return _UNREADABLE
    return _UNREADABLE


class CitizenIdentity(_Identity):
    """A citizen's account (``LoaiTaiKhoan`` 1)."""

    id_number: str | None = _alias("SoDinhDanh", "id_number")
    old_id_number: str | None = _alias("SoCMND", "old_id_number")
    tax_code: str | None = _alias("MaSoThue", "tax_code")
    social_insurance_number: str | None = _alias("MaBHXH", "social_insurance_number")
    passport_number: str | None = _alias("HoChieu", "passport_number")
    full_name: str | None = _alias("HoVaTen", "full_name")
    gender: str | None = _alias("GioiTinh", "gender")
    ethnicity: str | None = _alias("DanToc", "ethnicity")
    religion: str | None = _alias("TonGiao", "religion")
    marital_status: str | None = _alias("TinhTrangHonNhan", "marital_status")
    """``TinhTrangHonNhan`` as sent (an integer code in VNeID's userinfo)."""
    blood_type: str | None = _alias("NhomMau", "blood_type")
    birth_date: date | int | None = _alias("NgayThangNamSinh", "birth_date")
    """The full date, or the year alone when that is all the provider knows — the form
    :meth:`govlink.citizens.CitizenClient.lookup` takes, so an identity can be looked
    up directly. Read from ``dd/MM/yyyy``, ``yyyy-MM-dd``, ``yyyyMMdd`` or ``yyyy``."""
    birth_registration_place: Address | None = _alias(
        "NoiDangKyKhaiSinh", "birth_registration_place"
    )
    home_town: Address | None = _alias("QueQuan", "home_town")
    permanent_address: Address | None = _alias("ThuongTru", "permanent_address")
    current_address: Address | None = _alias("NoiOHienNay", "NoiOHienTai", "current_address")
    nationality: str | None = _alias("QuocTich", "nationality")
    father: Relative | None = _alias("Cha", "father")
    mother: Relative | None = _alias("Me", "mother")
    spouse: Relative | None = _alias("VoChong", "spouse")
    household_head: Relative | None = _alias("ChuHo", "household_head")

    _personal = frozenset(
        {
            "subject",
            "tech_id",
            "email",
            "phone",
            "id_number",
            "old_id_number",
            "tax_code",
            "social_insurance_number",
            "passport_number",
            "full_name",
            "birth_date",
            # sensitive personal data under Decree 13/2023/NĐ-CP, masked like the
            # population database's records
            "ethnicity",
            "religion",
            "marital_status",
            "blood_type",
        }
    )

    @model_validator(mode="before")
    @classmethod
    def _read_birth_date(cls, data: Any) -> Any:
        """A birth date we cannot read is kept as sent in ``extra`` (never dropped), so
        the login still works and nobody is looked up with a wrong date."""
        if not isinstance(data, Mapping):
            return data
        for key in ("NgayThangNamSinh", "birth_date"):
            if key in data and _birth_date(data[key]) is _UNREADABLE:
                data = dict(data)
                extra = dict(data.get("extra") or {})
                extra[key] = data.pop(key)
                data["extra"] = extra
                log.warning("NgayThangNamSinh in an unknown form; kept as sent in extra")
        return data

    @field_validator("birth_date", mode="before")
    @classmethod
    def _birth_date_value(cls, value: Any) -> Any:
        return _birth_date(value)

    @property
    def birth_date_value(self) -> date | None:
        """The birth date as a date, or None when only the year (or nothing) is known."""
        return self.birth_date if isinstance(self.birth_date, date) else None

    @property
    def birth_year(self) -> int | None:
        value = self.birth_date
        return value.year if isinstance(value, date) else value


class OrganisationIdentity(_Identity):
    """An organisation's account (``LoaiTaiKhoan`` other than 1), logged in by a person."""

    enterprise_code: str | None = _alias("MaSoDoanhNghiep", "enterprise_code")
    name: str | None = _alias("TenDoanhNghiep", "name")
    address: str | None = _alias("DiaChi", "address")
    tax_code: str | None = _alias("MaSoThue", "tax_code")
    representative_id_number: str | None = _alias("SoDinhDanh", "representative_id_number")
    representative_name: str | None = _alias("HoVaTen", "representative_name")

    _personal = frozenset(
        {
            "subject",
            "tech_id",
            "email",
            "phone",
            "address",
            "representative_id_number",
            "representative_name",
        }
    )


def identity_from_claims(claims: Mapping[str, Any]) -> CitizenIdentity | OrganisationIdentity:
    """Pick the model by ``LoaiTaiKhoan`` (1 = citizen, anything else = organisation).

    Without ``LoaiTaiKhoan``, an enterprise code means an organisation.
    """
    kind = claims.get("LoaiTaiKhoan")
    is_org = bool(claims.get("MaSoDoanhNghiep")) if kind is None else str(kind).strip() != "1"
    if is_org:
        return OrganisationIdentity.model_validate(dict(claims))
    return CitizenIdentity.model_validate(dict(claims))


class TokenSet(_MaskedModel):
    """A token endpoint reply. Tokens are left out of ``repr()``."""

    model_config = ConfigDict(populate_by_name=True, coerce_numbers_to_str=True)

    access_token: str = Field(repr=False)
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a secret
    expires_in: int | None = None
    refresh_token: str | None = Field(default=None, repr=False)
    id_token: str | None = Field(default=None, repr=False)
    scope: str | None = None
    received_at: float = Field(default_factory=time.time)
    """When the reply arrived (POSIX seconds), to compute :attr:`expires_at`."""
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def expires_at(self) -> float | None:
        return None if self.expires_in is None else self.received_at + self.expires_in


class IntrospectionResult(_MaskedModel):
    """What the provider says about a token (RFC 7662); ``active`` is all that is certain."""

    active: bool
    client_id: str | None = None
    sub: str | None = None
    username: str | None = None
    scope: str | None = None
    token_type: str | None = None
    exp: int | None = None
    iat: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    _personal = frozenset({"sub", "username"})


class LoginState(_MaskedModel):
    """What the app keeps in its session between ``begin_login`` and ``finish_login``.

    JSON-serialisable on purpose (``model_dump()`` / ``LoginState.model_validate``):
    store it in a signed session cookie or a server-side session, never in the URL.
    """

    state: str
    nonce: str
    code_verifier: str = Field(repr=False)
    redirect_uri: str
    scope: str = "openid"
    acr_values: str | None = None
    created_at: float = Field(default_factory=time.time)

    @classmethod
    def coerce(cls, value: LoginState | Mapping[str, Any] | str) -> LoginState:
        """Accept the model, its dict (from a session) or its JSON text."""
        if isinstance(value, LoginState):
            return value
        if isinstance(value, str):
            return cls.model_validate_json(value)
        return cls.model_validate(dict(value))


class LoginRequest(_MaskedModel):
    """Where to send the browser, and the state to keep until the callback."""

    url: str
    state: LoginState


class LoginResult(_MaskedModel):
    """A finished login: tokens, the verified ID-token claims and the typed identity."""

    tokens: TokenSet
    id_claims: dict[str, Any]
    identity: CitizenIdentity | OrganisationIdentity
    userinfo: dict[str, Any] = Field(default_factory=dict)
    """The userinfo claims exactly as received."""

    @property
    def level(self) -> str | None:
        """The level of assurance the signed ID token states (``acr``: ``LoA1``, ``LoA2``…)."""
        from govlink.sso._assurance import login_level

        return login_level(self.id_claims)

    def require_level(self, minimum: str) -> None:
        """Refuse this login for a route that needs ``minimum`` (e.g. ``"LoA2"``).

        Raises :class:`~govlink.sso._errors.InsufficientAssuranceError` when the signed
        ``acr`` — or VNeID's ``IAL``/``loAs``, when present — is weaker.
        """
        from govlink.sso._assurance import check_level

        check_level(
            minimum,
            self.id_claims,
            ial=self.identity.ial,
            loa_levels=tuple(x.level for x in self.identity.loas if x.level),
        )
