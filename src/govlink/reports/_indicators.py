"""The four indicators, counted per dossier and grouped by month, agency and field.

For each dossier of the export (a :class:`~govlink.dossiers.ReconcileEntry`
carries the local copy and the portal's status):

status synced
    the portal shows the same status as the province.
results synced
    counted over dossiers whose result was returned locally (status 10): the portal
    shows status 10 and lists every local result document.
paid online
    counted over dossiers with fees (``DanhSachLePhi`` not empty): the export marks the
    dossier ``DuocThanhToanTrucTuyen``, or the payments ledger has a *paid* row naming
    the dossier (column ``MaHoSo``).
on time
    counted over finished dossiers (those with an end date, ``NgayKetThucXuLy`` or
    else ``NgayTra``, and an appointment date ``NgayHenTra``): the end is not after
    the appointment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from govlink.core.clock import to_vn
from govlink.dossiers import ReconcileClass, ReconcileEntry
from govlink.dossiers.models import Dossier, DossierStatus

__all__ = [
    "INDICATORS",
    "TARGETS",
    "IndicatorReport",
    "Tally",
    "compute_indicators",
    "paid_dossiers_from_ledger",
]

INDICATORS: tuple[str, ...] = ("status_synced", "results_synced", "paid_online", "on_time")
"""The indicator keys, in the order they are shown."""

TARGETS: Mapping[str, float] = {
    "status_synced": 1.0,
    "results_synced": 1.0,
    "paid_online": 0.25,
    "on_time": 1.0,
}
"""The Government's target per indicator (paid online: 25 % at least, up to 50 %)."""

LABELS: Mapping[str, str] = {
    "status_synced": "Trạng thái đã đồng bộ (status synced)",
    "results_synced": "Kết quả đã đồng bộ (results synced)",
    "paid_online": "Thanh toán trực tuyến (paid online)",
    "on_time": "Đúng hạn (on time)",
}


@dataclass
class Tally:
    """Numerators and denominators of the four indicators for one group of dossiers."""

    dossiers: int = 0
    status_synced: int = 0
    returned: int = 0
    results_synced: int = 0
    with_fees: int = 0
    paid_online: int = 0
    finished: int = 0
    on_time: int = 0

    def share(self, indicator: str) -> float | None:
        """The indicator as a fraction, or ``None`` when nothing counts toward it."""
        numerator, denominator = self.fraction(indicator)
        return None if denominator == 0 else numerator / denominator

    def fraction(self, indicator: str) -> tuple[int, int]:
        if indicator == "status_synced":
            return self.status_synced, self.dossiers
        if indicator == "results_synced":
            return self.results_synced, self.returned
        if indicator == "paid_online":
            return self.paid_online, self.with_fees
        if indicator == "on_time":
            return self.on_time, self.finished
        raise KeyError(f"unknown indicator {indicator!r} (known: {', '.join(INDICATORS)})")

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"dossiers": self.dossiers}
        for indicator in INDICATORS:
            numerator, denominator = self.fraction(indicator)
            share = self.share(indicator)
            data[indicator] = {
                "count": numerator,
                "of": denominator,
                "share": None if share is None else round(share, 4),
            }
        return data


@dataclass
class IndicatorReport:
    """The indicators overall and per group (month ``YYYY-MM``, agency, field)."""

    total: Tally = field(default_factory=Tally)
    by_month: dict[str, Tally] = field(default_factory=dict)
    by_agency: dict[str, Tally] = field(default_factory=dict)
    by_field: dict[str, Tally] = field(default_factory=dict)

    def groups(self) -> dict[str, dict[str, Tally]]:
        return {
            "month": dict(sorted(self.by_month.items())),
            "agency": dict(sorted(self.by_agency.items())),
            "field": dict(sorted(self.by_field.items())),
        }


def _finished_at(dossier: Dossier) -> Any:
    return dossier.processing_ended_at or dossier.returned_at


def _result_codes(dossier: Dossier) -> set[str]:
    return {
        doc.result_code or doc.document_id or doc.name or f"#{i}"
        for i, doc in enumerate(dossier.result_documents or ())
    }


def tally_entry(entry: ReconcileEntry, paid_dossiers: frozenset[str] = frozenset()) -> Tally:
    """One dossier's contribution to every indicator."""
    local = entry.local
    one = Tally(dossiers=1)
    same_status = entry.portal_status is not None and entry.portal_status == entry.local_status
    if entry.kind is not ReconcileClass.BLOCKED and same_status:
        one.status_synced = 1
    if int(entry.local_status) == DossierStatus.RESULT_RETURNED:
        one.returned = 1
        portal = entry.portal
        results_on_portal = (
            _result_codes(local) <= _result_codes(portal)
            if portal is not None
            else entry.kind is ReconcileClass.IN_SYNC
        )
        if same_status and entry.kind is not ReconcileClass.RESULTS_MISSING and results_on_portal:
            one.results_synced = 1
    if local.fees:
        one.with_fees = 1
        if local.paid_online or local.ma_ho_so in paid_dossiers:
            one.paid_online = 1
    ended = _finished_at(local)
    if ended is not None and local.due_at is not None:
        one.finished = 1
        one.on_time = int(to_vn(ended) <= to_vn(local.due_at))
    return one


def compute_indicators(
    entries: Iterable[ReconcileEntry], *, paid_dossiers: Iterable[str] = ()
) -> IndicatorReport:
    """Fold reconcile entries into the indicators (streaming: one pass, flat memory)."""
    paid = frozenset(paid_dossiers)
    report = IndicatorReport()
    for entry in entries:
        one = tally_entry(entry, paid)
        local = entry.local
        report.total.add(one)
        month = to_vn(local.received_at).strftime("%Y-%m")
        agency = local.handling_unit or "(không rõ đơn vị)"
        field_key = local.field_code or local.field_name or "(không rõ lĩnh vực)"
        for groups, key in (
            (report.by_month, month),
            (report.by_agency, agency),
            (report.by_field, field_key),
        ):
            groups.setdefault(key, Tally()).add(one)
    return report


def paid_dossiers_from_ledger(rows: Iterable[Mapping[str, Any]]) -> set[str]:
    """Dossier codes the payments ledger shows as paid (rows with ``MaHoSo`` and paid)."""
    paid: set[str] = set()
    for row in rows:
        code = row.get("MaHoSo") or row.get("dossier_code")
        status = str(row.get("status") or row.get("TrangThai") or "").strip().lower()
        if code and status == "paid":
            paid.add(str(code).strip())
    return paid
