"""Indicators a province is measured on, from its export and the portal's view.

The Government's targets for provincial one-stop-shop systems: **100 %** of dossier
statuses synced to the National Public Service Portal, **100 %** of results synced,
**25–50 %** of fee payments made online, and dossiers finished on time. This package
computes those shares — overall, by month (of ``NgayTiepNhan``), by agency
(``DonViXuLy``) and by field (``MaLinhVuc``) — from reconcile entries
(:func:`govlink.dossiers.reconcile`), and writes them as JSON, CSV and a
self-contained HTML report (inline SVG charts, no script or font from a CDN: it
opens on an offline intranet).
"""

from govlink.reports._indicators import (
    TARGETS,
    IndicatorReport,
    Tally,
    compute_indicators,
    paid_dossiers_from_ledger,
)
from govlink.reports._render import render_csv, render_html, report_json

__all__ = [
    "TARGETS",
    "IndicatorReport",
    "Tally",
    "compute_indicators",
    "paid_dossiers_from_ledger",
    "render_csv",
    "render_html",
    "report_json",
]
