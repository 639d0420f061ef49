"""Test identities: seeded citizens and organisations (plus typed-in ones) as claims.

The claim names are the Vietnamese ones the national provider sends (PLATFORMS.md
§1). Choices the public record does not settle, made here and documented in
``docs/platforms/sso.md``: ``sub`` is the login name (the 12-digit personal ID, or
the enterprise code); dates of birth are ``dd/MM/yyyy`` (a bare ``yyyy`` when only
the year is known); addresses and relatives are JSON objects; ``loAs`` is one JSON
object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mock_servers.context import MockContext

__all__ = [
    "CUSTOM",
    "Identity",
    "claims_for",
    "find_identity",
    "identity_level",
    "seeded_identities",
]

CUSTOM = "sso.custom"


@dataclass(frozen=True)
class Identity:
    """One account that can log in: ``kind`` is ``citizen`` or ``organisation``."""

    kind: str
    key: str
    record: dict[str, Any]

    @property
    def label(self) -> str:
        if self.kind == "organisation":
            return str(self.record.get("ten_doanh_nghiep") or self.key)
        return full_name(self.record) or self.key


def identity_level(identity: Identity) -> str:
    """The level of assurance the account was verified at (the seed's ``loa``)."""
    default = "LoA2" if identity.kind == "organisation" else "LoA1"
    return str(identity.record.get("loa") or default)


def full_name(record: dict[str, Any]) -> str:
    if record.get("ho_va_ten"):
        return str(record["ho_va_ten"])
    parts = (record.get("ho"), record.get("chu_dem"), record.get("ten"))
    return " ".join(str(p) for p in parts if p)


def seeded_identities(ctx: MockContext) -> list[Identity]:
    out: list[Identity] = []
    for citizen in ctx.seed.section("citizens"):
        if isinstance(citizen, dict) and citizen.get("so_dinh_danh"):
            out.append(Identity("citizen", str(citizen["so_dinh_danh"]), citizen))
    for org in ctx.seed.section("organisations"):
        if isinstance(org, dict) and org.get("ma_so_doanh_nghiep"):
            out.append(Identity("organisation", str(org["ma_so_doanh_nghiep"]), org))
    return out


def find_identity(ctx: MockContext, key: str) -> Identity | None:
    """By personal ID, enterprise code or TechID; typed-in identities last."""
    key = key.strip()
    if not key:
        return None
    for identity in seeded_identities(ctx):
        if key in (identity.key, identity.record.get("tech_id")):
            return identity
    custom = ctx.store.get(CUSTOM, key)
    if isinstance(custom, dict):
        return Identity(str(custom["kind"]), key, dict(custom["record"]))
    return None


def _birth_date(value: Any) -> str | None:
    text = str(value or "").strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return f"{text[8:10]}/{text[5:7]}/{text[0:4]}"
    return text or None


def _address(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return {"ChiTiet": value} if value else None
    return _clean(
        {
            "MaTinhThanh": value.get("ma_tinh"),
            "MaQuanHuyen": value.get("ma_huyen"),
            "MaPhuongXa": value.get("ma_xa"),
            "ChiTiet": value.get("chi_tiet"),
        }
    )


def _relative(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return _clean(
        {
            "HoVaTen": value.get("ho_ten"),
            "SoDinhDanh": value.get("so_dinh_danh"),
            "QuanHe": value.get("quan_he"),
        }
    )


def _clean(claims: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if v is not None and v != ""}


def claims_for(ctx: MockContext, identity: Identity) -> dict[str, Any]:
    """The userinfo claims of ``identity`` (Vietnamese names, nulls left out)."""
    r = identity.record
    if identity.kind == "organisation":
        representative = find_identity(ctx, str(r.get("nguoi_dai_dien_so_dinh_danh") or ""))
        return _clean(
            {
                "sub": identity.key,
                "LoaiTaiKhoan": 2,
                "TechID": r.get("tech_id"),
                "MaSoDoanhNghiep": r.get("ma_so_doanh_nghiep"),
                "TenDoanhNghiep": r.get("ten_doanh_nghiep"),
                "DiaChi": r.get("dia_chi"),
                "MaSoThue": r.get("ma_so_thue") or r.get("ma_so_doanh_nghiep"),
                "SoDinhDanh": r.get("nguoi_dai_dien_so_dinh_danh"),
                "HoVaTen": full_name(representative.record) if representative else None,
                "ThuDienTu": r.get("email"),
                "SoDienThoai": r.get("so_dien_thoai"),
                "loAs": {
                    "claim": "MaSoDoanhNghiep",
                    "level": r.get("loa") or "LoA2",
                    "src": "CSDLQGDKDN",
                    "validDate": "2024-01-01",
                    "expired_date": "2034-01-01",
                },
            }
        )
    return _clean(
        {
            "sub": identity.key,
            "LoaiTaiKhoan": 1,
            "TechID": r.get("tech_id"),
            "SoDinhDanh": r.get("so_dinh_danh"),
            "SoCMND": r.get("so_cmnd"),
            "MaSoThue": r.get("ma_so_thue"),
            "MaBHXH": r.get("ma_bhxh"),
            "HoChieu": r.get("ho_chieu"),
            "HoVaTen": full_name(r) or None,
            "ThuDienTu": r.get("email"),
            "SoDienThoai": r.get("so_dien_thoai"),
            "GioiTinh": r.get("gioi_tinh"),
            "DanToc": r.get("dan_toc"),
            "TonGiao": r.get("ton_giao"),
            "NgayThangNamSinh": _birth_date(r.get("ngay_sinh")),
            "NoiDangKyKhaiSinh": _address(r.get("noi_dang_ky_khai_sinh")),
            "QueQuan": _address(r.get("que_quan")),
            "ThuongTru": _address(r.get("thuong_tru")),
            "NoiOHienNay": _address(r.get("noi_o_hien_tai")),
            "QuocTich": r.get("quoc_tich"),
            "Cha": _relative(r.get("cha")),
            "Me": _relative(r.get("me")),
            "VoChong": _relative(r.get("vo_chong")),
            "ChuHo": _relative(r.get("chu_ho")),
            "loAs": {
                "claim": "SoDinhDanh",
                "level": r.get("loa") or "LoA1",
                "src": "CSDLQGDC",
                "validDate": "2024-01-01",
                "expired_date": "2034-01-01",
            },
        }
    )
