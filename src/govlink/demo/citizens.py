"""Demo step: look up the demo dossier's applicant in the population database.

The applicant's ID number comes from ``demo.state["dossier"]`` (or the SSO step's
``demo.state["citizen"]``); name and birth date, which a one-stop-shop officer would
read off the ID card, come from the mock's seed (``/__admin/seed/citizens``). The
record is printed masked, as the SDK does by default, then verified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from govlink.demo import DemoContext

__all__ = ["run"]

_ID_KEYS = (
    "so_dinh_danh",
    "SoDinhDanh",
    "so_giay_to_chu_ho_so",
    "SoGiayToChuHoSo",
    "owner_id_number",
    "ma_doi_tuong",
    "MaDoiTuong",
    "id_number",
)


def _field(source: Any, *names: str) -> str | None:
    for name in names:
        value = source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


_SOURCES = {"dossier": "the demo dossier's applicant", "citizen": "the citizen logged in by SSO"}


def _applicant_id(demo: DemoContext) -> tuple[str | None, str]:
    for key, label in _SOURCES.items():
        found = _field(demo.state.get(key), *_ID_KEYS)
        if found and found.isdigit() and len(found) in (9, 12):
            return found, label
    return None, "the first seeded citizen"


def _seed(demo: DemoContext) -> list[dict[str, Any]]:
    citizens = demo.admin.get("/seed/citizens").json()
    if not isinstance(citizens, list) or not citizens:
        raise RuntimeError("the mock has no seeded citizens (GET /__admin/seed/citizens)")
    return [c for c in citizens if isinstance(c, dict)]


def run(demo: DemoContext) -> None:
    from rich.table import Table

    from govlink.citizens import CitizenClient

    out = demo.console
    seed = _seed(demo)
    wanted, source = _applicant_id(demo)
    record = next((c for c in seed if c.get("so_dinh_danh") == wanted), None)
    if record is None:
        record, source = seed[0], "the first seeded citizen"
    name = " ".join(str(record[k]) for k in ("ho", "chu_dem", "ten") if record.get(k))
    with CitizenClient(demo.settings) as client:
        citizen = client.lookup(str(record["so_dinh_danh"]), name, str(record["ngay_sinh"]))
        took = f", {citizen.evidence.elapsed_seconds * 1000:.0f} ms" if citizen.evidence else ""
        out.print(
            f"1. TraCuuThongTinCongDan for {source}: found (MaYeuCau {citizen.request_id}{took})",
            soft_wrap=True,
        )
        data = citizen.masked_dump()
        table = Table(show_header=False, title="Citizen (masked; --unmask in the CLI shows it)")
        table.add_column("field", style="bold")
        table.add_column("value")
        table.add_row("full name", str(data["name"]["full_name"]))
        table.add_row("ID number", str(data["id_number"]))
        table.add_row("birth date", str(data["birth_date"]))
        table.add_row("gender", str(data["gender"]))
        address = data.get("permanent_address") or {}
        table.add_row(
            "permanent address",
            f"{address.get('detail')} (province {address.get('province_code')}, "
            f"district {address.get('district_code')}, ward {address.get('ward_code')})",
        )
        head = data.get("household_head") or {}
        table.add_row("household head", f"{head.get('full_name')} ({head.get('relationship')})")
        out.print(table)
        result = client.verify(
            str(record["so_dinh_danh"]), name, str(record["ngay_sinh"]), gender="Nữ"
        )
        fields = ", ".join(result.mismatched_fields) or "none named"
        out.print(
            f"2. XacThucThongTinCongDan with gender 'Nữ': match={result.matches} "
            f"(differing: {fields})",
            soft_wrap=True,
        )
    demo.state["citizen_record"] = citizen
