"""``govlink dossiers``: push an export of dossier changes, look a dossier up.

``push FILE`` reads a CSV (header row) or JSON Lines export from a one-stop-shop
system — one dossier (``--kind dossiers``, ``DongBoHoSoMC``) or one progress step
(``--kind progress``, ``CapNhatTienDoHoSoMC``) per row, columns named as on the
wire (``MaHoSo``, ``TrangThaiHoSo``…) or as govlink's attributes (``ma_ho_so``…);
list fields (``TaiLieuNop``…) hold JSON; an optional ``isUpdating`` column says
create (``False``) or update (``True``) per row. Every row is validated first —
fields, and status transitions against the dossier's earlier rows and the last
status already queued — and *all* bad rows are reported with their line numbers;
nothing is queued unless every row is valid or ``--skip-invalid`` is given. Then
the rows are queued in the durable outbox (each with an idempotency key that
identifies the change: the ``event_id``, ``sequence`` or ``changed_at`` column, else
the row's content and position; pushing the same file twice queues nothing new)
and drained to the portal with a progress bar. Reading and validating live in
:mod:`govlink.dossiers._export` (formats, dates, unknown columns).
"""

from __future__ import annotations

import json
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
    emit_json,
    err_console,
    first_of,
    input_file_argument,
    load_settings,
    masking,
    platform_client,
    print_result,
)
from govlink.cli.outbox import (
    DEFAULT_OUTBOX,
    BatchSizeOption,
    ConcurrencyOption,
    OutboxDsnOption,
    OutboxOption,
    drain_with_progress,
    open_store,
    status_dict,
)
from govlink.dossiers._export import Kind, Problem, Validated, read_rows, validate_rows

if TYPE_CHECKING:
    from govlink.dossiers import Dossier

__all__ = ["Kind", "Problem", "Validated", "app", "read_rows", "validate_rows"]

app = typer.Typer(
    help="Dossier status, progress and results on the National Public Service Portal.",
    no_args_is_help=True,
)

# --------------------------------------------------------------------------- output


def _problem_json(problem: Problem) -> dict[str, Any]:
    from govlink.core.redact import redact_text

    return {
        "line": problem.line,
        "field": problem.field,
        "message": redact_text(problem.message),
        "ma_ho_so": problem.ma_ho_so,
    }


def _print_problems(path: Path, result: Validated) -> None:
    from rich.table import Table

    from govlink.core.redact import redact_text

    table = Table(
        title=f"{path.name}: {len(result.bad_lines)} of {result.rows} row(s) invalid",
        show_lines=False,
    )
    table.add_column("line", justify="right")
    table.add_column("MaHoSo")
    table.add_column("field")
    table.add_column("problem", overflow="fold")
    for problem in result.problems:
        table.add_row(
            str(problem.line), problem.ma_ho_so or "", problem.field, redact_text(problem.message)
        )
    err_console().print(table)


# ------------------------------------------------------------------------- commands


@app.command()
def push(
    file: Annotated[
        Path,
        input_file_argument(
            "CSV (header row) or JSON Lines export, one dossier or progress step per row."
        ),
    ],
    kind: Annotated[
        Kind,
        typer.Option("--kind", help="What each row is: a dossier, or a progress step."),
    ] = Kind.dossiers,
    create: Annotated[
        bool,
        typer.Option(
            "--create",
            help="Rows are new dossiers (isUpdating=False) unless a row's isUpdating says so.",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Send status changes the state machine refuses.")
    ] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Queue the valid rows even if some are not.")
    ] = False,
    allow_unknown_columns: Annotated[
        bool,
        typer.Option(
            "--allow-unknown-columns",
            help="Send columns govlink does not know as they are (default: an error).",
        ),
    ] = False,
    encoding: Annotated[
        str,
        typer.Option("--encoding", help="The file's text encoding, e.g. cp1258, utf-16."),
    ] = "utf-8",
    no_drain: Annotated[
        bool, typer.Option("--no-drain", help="Only queue; 'govlink outbox drain' sends later.")
    ] = False,
    outbox: OutboxOption = DEFAULT_OUTBOX,
    outbox_dsn: OutboxDsnOption = None,
    batch_size: BatchSizeOption = 500,
    concurrency: ConcurrencyOption = 1,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
    unmask: UnmaskOption = False,
) -> None:
    """Validate an export, queue it in the outbox and deliver it to the portal."""
    from govlink.dossiers._export import ExportFile, ExportFileError
    from govlink.dossiers._outbox import transition_check
    from govlink.dossiers._status import IllegalTransitionError

    settings = None if no_drain else load_settings(profile, profile_file)
    with masking(unmask), open_store(outbox, outbox_dsn) as store:
        try:
            export = ExportFile(file, encoding=encoding)
            result = validate_rows(
                export.rows(),
                kind=kind,
                default_updating=not create,
                force=force,
                store=store,
                header=export.header,
                allow_unknown_columns=allow_unknown_columns,
            )
        except ExportFileError as exc:
            raise UserError(f"{file.name}: {exc.message}", hint=exc.hint) from None
        if result.rows == 0:
            raise UserError(
                f"{file.name} has no rows"
                + (" (only a header)" if export.header else " (the file is empty)"),
                hint="export at least one dossier change; nothing was queued",
            )
        report: dict[str, Any] = {
            "file": str(file),
            "rows": result.rows,
            "invalid_rows": len(result.bad_lines),
            "problems": [_problem_json(p) for p in result.problems],
            "already_queued": result.already_queued,
            "unknown_columns": sorted(result.unknown_columns),
            "keyed_by": result.keyed_by,
        }
        if result.problems and not json_output:
            _print_problems(file, result)
        if result.unknown_columns and not json_output:
            err_console().print(
                "note: columns sent as is (not govlink fields): "
                + ", ".join(sorted(result.unknown_columns))
            )
        if result.problems and not skip_invalid:
            report.update({"queued": 0, "sent": False})
            if json_output:
                emit_json(report)
            raise UserError(
                f"{len(result.bad_lines)} invalid row(s) in {file.name} "
                f"(lines {first_of(result.bad_lines)}); nothing was queued or sent",
                hint="fix them, or pass --skip-invalid to send the valid rows only",
            )
        try:
            queued = store.enqueue_many(
                [c for _l, c in result.changes],
                now=_now(),
                check=transition_check(result.statuses) if result.statuses else None,
            )
        except IllegalTransitionError as exc:  # another producer queued in between
            raise UserError(
                f"{exc.message} (queued by someone else meanwhile); nothing was queued",
                hint="push the file again to re-check it against what is queued now",
            ) from None
        report["queued"] = queued
        if not json_output:
            console().print(
                f"queued {queued} change(s) from {file.name}"
                + (
                    f"; {result.already_queued} already queued earlier"
                    if result.already_queued
                    else ""
                )
                + (f"; skipped {len(result.bad_lines)} invalid row(s)" if result.problems else "")
            )
        if no_drain or settings is None:
            report["outbox"] = status_dict(store.status())
            if json_output:
                emit_json(report)
            return
        stats = drain_with_progress(
            store,
            settings,
            json_output=json_output,
            batch_size=batch_size,
            concurrency=concurrency,
            description=f"Pushing {file.name}",
        )
        status = store.status()
    report.update(
        {
            "delivered": stats.delivered,
            "retried": stats.retried,
            "dead": stats.dead,
            "outbox": status_dict(status),
        }
    )

    def delivered() -> None:
        console().print(
            f"delivered {stats.delivered} change(s) in {stats.elapsed:.1f} s; "
            f"{stats.retried} retried; {stats.dead} dead-lettered"
        )
        if status.dead:
            console().print("[yellow]see why with 'govlink outbox dead'[/]")

    print_result(report, json_output, delivered)
    if stats.dead or status.dead:
        raise typer.Exit(1)


def _now() -> float:
    import time

    return time.time()


@app.command()
def get(
    ma_ho_so: Annotated[str, typer.Argument(help="The dossier code (MaHoSo).")],
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
    unmask: UnmaskOption = False,
) -> None:
    """Look a dossier up on the portal (TraCuuHoSo)."""
    from govlink.core.redact import redact_mapping
    from govlink.dossiers import DossierClient

    with platform_client(DossierClient, profile, profile_file, unmask=unmask) as client:
        dossier = client.get(ma_ho_so)
        wire = dossier.model_dump(mode="json", by_alias=True, exclude_none=True)
        shown = redact_mapping(wire)
        print_result(shown, json_output, lambda: _print_dossier(dossier, shown))


def _print_dossier(dossier: Dossier, shown: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"Dossier {dossier.ma_ho_so}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("status", f"{dossier.status.describe()}")
    for name, value in shown.items():
        if name in ("QuaTrinhXuLy",):
            continue
        text = (
            json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else str(value)
        )
        table.add_row(name, text)
    console().print(table)
    steps = shown.get("QuaTrinhXuLy") or []
    if steps:
        history = Table(title="Processing history")
        columns = ("ThoiDiemXuLy", "TrangThai", "NguoiXuLy", "PhongBanXuLy", "NoiDungXuLy")
        for column in columns:
            history.add_column(column, overflow="fold")
        for step in steps:
            history.add_row(*(str(step.get(c, "")) for c in columns))
        console().print(history)


def _register_feedback_commands() -> None:
    """Commands kept in their own modules (feedback services, inbound, reconcile)."""
    from govlink.cli import dossiers_feedback as feedback

    app.command("satisfaction")(feedback.satisfaction)
    app.command("questions")(feedback.questions)
    app.command("push-questions")(feedback.push_questions)
    app.command("push-answers")(feedback.push_answers)
    app.command("receive")(feedback.receive)
    from govlink.cli.reconcile import reconcile_command

    app.command("reconcile")(reconcile_command)


_register_feedback_commands()
