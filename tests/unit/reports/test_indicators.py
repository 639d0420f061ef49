"""The four indicators, counted the way the Government's targets define them."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from govlink.core.clock import VN_TZ
from govlink.dossiers import Dossier, Fee, ResultDocument
from govlink.dossiers._reconcile import OutboxBlock, classify
from govlink.reports import (
    compute_indicators,
    paid_dossiers_from_ledger,
    render_csv,
    render_html,
    report_json,
)

MARCH = datetime(2026, 3, 10, 8, 0, tzinfo=VN_TZ)
APRIL = datetime(2026, 4, 2, 8, 0, tzinfo=VN_TZ)


def dossier(code: str, status: int, received: datetime, **extra: object) -> Dossier:
    return Dossier(
        ma_ho_so=code,
        procedure_code="1.001193",
        status=status,
        received_at=received,
        due_at=received + timedelta(days=5),
        handling_unit=str(extra.pop("unit", "UBND xã A")),
        field_code=str(extra.pop("field", "HT")),
        **extra,
    )


def returned(code: str, received: datetime, *, late: bool = False, **extra: object) -> Dossier:
    end = received + timedelta(days=7 if late else 3)
    return dossier(
        code,
        10,
        received,
        processing_ended_at=end,
        returned_at=end,
        result_documents=[ResultDocument(result_code=f"KQ-{code}")],
        **extra,
    )


def entries():
    fee = [Fee(code="LP1", amount=50000)]
    a = returned("A", MARCH, fees=fee, paid_online=True)
    b = returned("B", MARCH, late=True, fees=fee)
    c = dossier("C", 4, APRIL, unit="UBND xã B", field="DD")
    d = dossier("D", 2, APRIL, unit="UBND xã B", field="DD", fees=fee)
    portal_b = b.model_copy(update={"result_documents": None})
    return [
        classify(a, a),  # in sync, results synced, paid online, on time
        classify(b, portal_b),  # results missing, late
        classify(c, None),  # missing on portal
        classify(d, None, blocked=OutboxBlock("pending", 5.0)),  # blocked: not synced
    ]


def test_shares_overall_and_per_group() -> None:
    report = compute_indicators(entries(), paid_dossiers={"D"})
    total = report.total
    assert total.fraction("status_synced") == (2, 4)
    assert total.fraction("results_synced") == (1, 2)
    assert total.fraction("paid_online") == (2, 3)  # A by flag, D by the ledger
    assert total.fraction("on_time") == (1, 2)
    assert set(report.by_month) == {"2026-03", "2026-04"}
    assert report.by_month["2026-04"].share("status_synced") == 0.0
    assert report.by_agency["UBND xã B"].dossiers == 2
    assert report.by_field["HT"].share("results_synced") == 0.5
    assert report.by_month["2026-04"].share("results_synced") is None  # nothing returned


def test_json_csv_and_html_carry_the_same_figures() -> None:
    report = compute_indicators(entries())
    data = report_json(report)
    assert data["total"]["status_synced"] == {"count": 2, "of": 4, "share": 0.5}
    assert data["targets"]["paid_online"] == 0.25
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    total_rows = {r["indicator"]: r for r in rows if r["group"] == "total"}
    assert total_rows["on_time"]["share"] == "0.5000"
    html = render_html(report, title="Tỉnh X", generated_at=MARCH, source="export.csv")
    assert 'data-indicator="status_synced" data-share="0.5000"' in html
    assert "http://" not in html
    assert "https://" not in html
    assert "<script" not in html
    assert "50,0 %" in html


def test_hostile_names_are_escaped_in_the_html() -> None:
    d = dossier("X", 2, MARCH, unit="<script>alert(1)</script>")
    html = render_html(
        compute_indicators([classify(d, d)]), title="t", generated_at=MARCH, source="e"
    )
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


def test_ledger_rows_count_only_paid_dossiers() -> None:
    rows = [
        {"MaHoSo": "A", "status": "paid"},
        {"MaHoSo": "B", "status": "pending"},
        {"MaHoSo": "C", "status": "PAID "},
        {"reference": "no-dossier", "status": "paid"},
    ]
    assert paid_dossiers_from_ledger(rows) == {"A", "C"}
