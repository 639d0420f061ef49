"""The indicator report as JSON, CSV and one self-contained HTML page.

The HTML page embeds its styles and draws its charts as inline SVG: nothing is
fetched when it opens (no CDN, no web font, no script), so it works on a provincial
intranet without Internet access and can be mailed as one file. Every chart bar
carries ``data-indicator``/``data-share`` attributes, and every figure is also in a
table, so the numbers can be read by people and checked by tools alike.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from html import escape
from typing import Any

from govlink.reports._indicators import INDICATORS, LABELS, TARGETS, IndicatorReport, Tally

__all__ = ["render_csv", "render_html", "report_json"]

_COLOURS = {
    "status_synced": "#1f6feb",
    "results_synced": "#2da44e",
    "paid_online": "#bf8700",
    "on_time": "#8250df",
}


def report_json(report: IndicatorReport, *, generated_at: datetime | None = None) -> dict[str, Any]:
    """``{"targets", "total", "by_month", "by_agency", "by_field"}`` with counts and shares."""
    groups = report.groups()
    data: dict[str, Any] = {
        "targets": dict(TARGETS),
        "total": report.total.as_dict(),
        "by_month": {k: v.as_dict() for k, v in groups["month"].items()},
        "by_agency": {k: v.as_dict() for k, v in groups["agency"].items()},
        "by_field": {k: v.as_dict() for k, v in groups["field"].items()},
    }
    if generated_at is not None:
        data["generated_at"] = generated_at.isoformat()
    return data


def render_csv(report: IndicatorReport) -> str:
    """One row per group (``total``, each month, agency and field) and indicator."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["group", "key", "dossiers", "indicator", "count", "of", "share"])
    rows: list[tuple[str, str, Tally]] = [("total", "", report.total)]
    for group, items in report.groups().items():
        rows.extend((group, key, tally) for key, tally in items.items())
    for group, key, tally in rows:
        for indicator in INDICATORS:
            count, of = tally.fraction(indicator)
            share = tally.share(indicator)
            writer.writerow(
                [
                    group,
                    key,
                    tally.dossiers,
                    indicator,
                    count,
                    of,
                    "" if share is None else f"{share:.4f}",
                ]
            )
    return buffer.getvalue()


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f} %".replace(".", ",")


def _overall_chart(total: Tally) -> str:
    width, bar_h, gap, left = 640, 26, 14, 250
    height = len(INDICATORS) * (bar_h + gap) + gap
    scale = width - left - 70
    parts = [
        f'<svg class="chart" id="chart-overall" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-label="Indicators overall">'
    ]
    for index, indicator in enumerate(INDICATORS):
        y = gap + index * (bar_h + gap)
        share = total.share(indicator)
        length = 0.0 if share is None else max(0.0, min(1.0, share)) * scale
        target_x = left + TARGETS[indicator] * scale
        parts.append(
            f'<text x="{left - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">'
            f"{escape(LABELS[indicator])}</text>"
            f'<rect x="{left}" y="{y}" width="{scale}" height="{bar_h}" fill="#eaeef2"/>'
            f'<rect class="bar" data-indicator="{indicator}" '
            f'data-share="{"" if share is None else f"{share:.4f}"}" x="{left}" y="{y}" '
            f'width="{length:.1f}" height="{bar_h}" fill="{_COLOURS[indicator]}"/>'
            f'<line class="target" x1="{target_x:.1f}" x2="{target_x:.1f}" y1="{y - 3}" '
            f'y2="{y + bar_h + 3}" stroke="#cf222e" stroke-width="2"/>'
            f'<text x="{left + scale + 6}" y="{y + bar_h * 0.7:.1f}">{_pct(share)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _monthly_chart(months: dict[str, Tally]) -> str:
    if not months:
        return "<p>No dossiers.</p>"
    group_w, bar_w, top, bottom, left = 4 * 16 + 24, 16, 16, 40, 44
    plot_h = 220
    width = left + len(months) * group_w + 10
    height = top + plot_h + bottom
    parts = [
        f'<svg class="chart" id="chart-months" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-label="Indicators by month">'
    ]
    for tick in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - tick / 100)
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d7de"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick} %</text>'
        )
    for g, (month, tally) in enumerate(months.items()):
        x0 = left + g * group_w + 12
        for i, indicator in enumerate(INDICATORS):
            share = tally.share(indicator)
            h = 0.0 if share is None else max(0.0, min(1.0, share)) * plot_h
            parts.append(
                f'<rect class="bar" data-month="{escape(month)}" data-indicator="{indicator}" '
                f'data-share="{"" if share is None else f"{share:.4f}"}" '
                f'x="{x0 + i * bar_w}" y="{top + plot_h - h:.1f}" width="{bar_w - 2}" '
                f'height="{h:.1f}" fill="{_COLOURS[indicator]}"><title>{escape(month)} '
                f"{escape(LABELS[indicator])}: {_pct(share)}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + 2 * bar_w:.1f}" y="{top + plot_h + 18}" text-anchor="middle">'
            f"{escape(month)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _legend() -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{_COLOURS[i]}"></span>'
        f"{escape(LABELS[i])} — target {TARGETS[i] * 100:.0f} %"
        + (" to 50 %" if i == "paid_online" else "")
        + "</li>"
        for i in INDICATORS
    )
    return f'<ul class="legend">{items}</ul>'


def _table(title: str, key_name: str, rows: dict[str, Tally], table_id: str) -> str:
    head = "".join(f"<th>{escape(LABELS[i])}</th>" for i in INDICATORS)
    body = []
    for key, tally in rows.items():
        cells = []
        for indicator in INDICATORS:
            count, of = tally.fraction(indicator)
            share = tally.share(indicator)
            below = share is not None and share < TARGETS[indicator]
            cells.append(
                f'<td class="{"below" if below else "ok"}" data-indicator="{indicator}">'
                f"{_pct(share)}<small> {count}/{of}</small></td>"
            )
        body.append(
            f'<tr><th scope="row">{escape(key)}</th><td>{tally.dossiers}</td>{"".join(cells)}</tr>'
        )
    return (
        f'<h2>{escape(title)}</h2><table id="{table_id}"><thead><tr><th>{escape(key_name)}</th>'
        f"<th>Dossiers</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1f2328}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}
.chart{max-width:100%;height:auto;font-size:12px}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:right}
th[scope=row],thead th:first-child{text-align:left}
td.below{color:#cf222e}td.ok{color:#1a7f37}small{color:#57606a}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1rem}
.swatch{display:inline-block;width:.9rem;height:.9rem;margin-right:.3rem;vertical-align:middle}
.kpis{display:flex;flex-wrap:wrap;gap:1rem;padding:0;list-style:none}
.kpis li{border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;min-width:200px}
.kpis strong{display:block;font-size:1.5rem}
"""


def render_html(report: IndicatorReport, *, title: str, generated_at: datetime, source: str) -> str:
    """The report as one HTML document (no external resources)."""
    total = report.total
    kpis = "".join(
        f'<li data-indicator="{i}"><span>{escape(LABELS[i])}</span>'
        f"<strong>{_pct(total.share(i))}</strong>"
        f"<small>{total.fraction(i)[0]} / {total.fraction(i)[1]}</small></li>"
        for i in INDICATORS
    )
    groups = report.groups()
    return (
        "<!DOCTYPE html>\n"
        '<html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p>{total.dossiers} dossier(s) from {escape(source)}; generated "
        f"{escape(generated_at.strftime('%d/%m/%Y %H:%M'))}.</p>"
        f'<ul class="kpis" id="kpis">{kpis}</ul>'
        f"<h2>Overall against the targets</h2>{_overall_chart(total)}{_legend()}"
        f"<h2>By month of receipt</h2>{_monthly_chart(groups['month'])}"
        + _table("By month", "Month", groups["month"], "by-month")
        + _table("By agency (DonViXuLy)", "Agency", groups["agency"], "by-agency")
        + _table("By field (MaLinhVuc)", "Field", groups["field"], "by-field")
        + "</body></html>\n"
    )
