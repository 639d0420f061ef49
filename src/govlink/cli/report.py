"""``govlink report EXPORT``: the indicators a province is measured on.

Shares of dossiers whose status and results are synced to the portal, of fee
payments made online and of dossiers finished on time — overall, by month, agency
and field — as a table, ``--json``, ``--csv FILE`` and a self-contained
``--html FILE`` (charts drawn inline: it opens on an offline intranet).

By default every dossier of the export is looked up on the portal (like
``govlink dossiers reconcile``); ``--from-reconcile FILE`` uses the output of an
earlier ``govlink dossiers reconcile --json`` instead, without any lookup.
``--ledger FILE`` (the payments ledger of ``govlink payments reconcile``, with a
``MaHoSo`` column) counts dossiers paid online besides those the export marks
``DuocThanhToanTrucTuyen``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from govlink.cli.common import (
    JsonOption,
    ProfileFileOption,
    ProfileOption,
    UnmaskOption,
    UserError,
    console,
    input_file_argument,
    input_file_option,
    masking,
    platform_client,
    print_result,
    progress,
    read_json_lines,
)
from govlink.cli.reconcile import LookupConcurrencyOption, local_dossiers

if TYPE_CHECKING:
    from govlink.dossiers import Dossier
    from govlink.dossiers._reconcile import ReconcileEntry
    from govlink.reports import IndicatorReport

__all__ = ["report"]


def _offline_entries(dossiers: Iterator[Dossier], saved: Path) -> Iterator[ReconcileEntry]:
    from govlink.dossiers import DossierStatus
    from govlink.dossiers._reconcile import ReconcileClass, ReconcileEntry

    try:
        data = json.loads(saved.read_text(encoding="utf-8"))
        differences = {str(d["MaHoSo"]): d for d in data["differences"]}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise UserError(
            f"{saved} is not the output of 'govlink dossiers reconcile --json' ({exc})",
            hint="run reconcile with --json > FILE first, or leave --from-reconcile out",
        ) from None
    for local in dossiers:
        found = differences.get(local.ma_ho_so)
        if found is None:
            yield ReconcileEntry(
                local.ma_ho_so,
                ReconcileClass.IN_SYNC,
                DossierStatus(local.status),
                DossierStatus(local.status),
                "in sync at reconcile time",
                local,
            )
            continue
        try:
            kind = ReconcileClass(found["class"])
        except (KeyError, ValueError):
            raise UserError(
                f"{saved}: unknown class {found.get('class')!r} for {local.ma_ho_so}",
                hint="use the unchanged output of 'govlink dossiers reconcile --json'",
            ) from None
        portal_status = found.get("portal_status")
        yield ReconcileEntry(
            local.ma_ho_so,
            kind,
            DossierStatus(local.status),
            None if portal_status is None else DossierStatus(int(portal_status)),
            str(found.get("reason") or ""),
            local,
        )


def _ledger_rows(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(
            f"cannot read the ledger {path} ({exc})", hint="a UTF-8 CSV or JSONL"
        ) from None
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return [row for _number, row in read_json_lines(path, text)]
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "MaHoSo" not in reader.fieldnames:
        raise UserError(
            f"{path} has no MaHoSo column",
            hint="the ledger must name each payment's dossier (MaHoSo) to count it per dossier",
        )
    return [dict(row) for row in reader]


def _print_table(report: IndicatorReport, *, written: list[Path]) -> None:
    from rich.table import Table

    from govlink.reports._indicators import INDICATORS, LABELS, TARGETS

    table = Table(title=f"Indicators ({report.total.dossiers} dossiers)")
    table.add_column("indicator")
    table.add_column("share", justify="right")
    table.add_column("count", justify="right")
    table.add_column("target", justify="right")
    for indicator in INDICATORS:
        count, of = report.total.fraction(indicator)
        share = report.total.share(indicator)
        below = share is not None and share < TARGETS[indicator]
        table.add_row(
            LABELS[indicator],
            "—" if share is None else f"{share * 100:.1f} %",
            f"{count}/{of}",
            f"{TARGETS[indicator] * 100:.0f} %",
            style="red" if below else None,
        )
    console().print(table)
    for path in written:
        console().print(f"written {path}")


def report(
    export: Annotated[
        Path,
        input_file_argument(
            "CSV or JSON Lines export of the province's dossiers (as for push/reconcile)."
        ),
    ],
    from_reconcile: Annotated[
        Path | None,
        input_file_option(
            "--from-reconcile",
            "Use this saved 'govlink dossiers reconcile --json' output; no lookups.",
        ),
    ] = None,
    ledger: Annotated[
        Path | None,
        input_file_option(
            "--ledger",
            "Payments ledger (CSV/JSONL with MaHoSo and status) for the paid-online share.",
        ),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write the HTML report here.", dir_okay=False),
    ] = None,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", help="Write the figures as CSV here.", dir_okay=False),
    ] = None,
    concurrency: LookupConcurrencyOption = 8,
    title: Annotated[
        str, typer.Option("--title", help="Title of the HTML report.")
    ] = "Chỉ số dịch vụ công — public service indicators",
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
    unmask: UnmaskOption = False,
) -> None:
    """Indicators the province is measured on: statuses and results synced, fees paid
    online, dossiers on time — from an export and the portal (or a saved reconcile)."""
    from govlink.core.clock import VN_TZ
    from govlink.reports import (
        compute_indicators,
        paid_dossiers_from_ledger,
        render_csv,
        render_html,
        report_json,
    )

    paid = paid_dossiers_from_ledger(_ledger_rows(ledger)) if ledger is not None else set()
    dossiers = local_dossiers(export)
    with ExitStack() as stack:
        stack.enter_context(masking(unmask))
        if from_reconcile is not None:
            entries: Any = _offline_entries(dossiers, from_reconcile)
        else:
            from govlink.dossiers import DossierClient
            from govlink.dossiers._reconcile import reconcile

            client = stack.enter_context(platform_client(DossierClient, profile, profile_file))
            bar = stack.enter_context(progress(json_output=json_output))
            task = bar.add_task(f"Looking up {export.name}", total=None)

            def counted() -> Iterator[ReconcileEntry]:
                for entry in reconcile(client, dossiers, concurrency=concurrency):
                    bar.advance(task)
                    yield entry

            entries = counted()
        result = compute_indicators(entries, paid_dossiers=paid)
    now = datetime.now(VN_TZ)
    if html is not None:
        html.write_text(
            render_html(result, title=title, generated_at=now, source=export.name),
            encoding="utf-8",
        )
    if csv_file is not None:
        csv_file.write_text(render_csv(result), encoding="utf-8")
    print_result(
        report_json(result, generated_at=now),
        json_output,
        lambda: _print_table(result, written=[p for p in (html, csv_file) if p is not None]),
    )
