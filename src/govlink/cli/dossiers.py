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
the rows are queued in the durable outbox (each with an idempotency key derived
from its content, so pushing the same file twice queues nothing new) and drained
to the portal with a progress bar.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
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
    load_settings,
    masking,
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

if TYPE_CHECKING:
    from govlink.sync import Change, OutboxStore

__all__ = ["Kind", "Problem", "Validated", "app", "read_rows", "validate_rows"]

app = typer.Typer(
    help="Dossier status, progress and results on the National Public Service Portal.",
    no_args_is_help=True,
)

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class Kind(StrEnum):
    dossiers = "dossiers"
    progress = "progress"


@dataclass(frozen=True)
class Problem:
    """One reason a row cannot be sent."""

    line: int
    field: str
    message: str
    ma_ho_so: str | None = None


@dataclass
class Validated:
    """The outcome of validating a whole file."""

    rows: int = 0
    changes: list[tuple[int, Change]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    already_queued: int = 0
    unknown_columns: set[str] = field(default_factory=set)

    @property
    def bad_lines(self) -> list[int]:
        return sorted({p.line for p in self.problems})


# ------------------------------------------------------------------------- reading


def _is_jsonl(path: Path, head: str) -> bool:
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return True
    if path.suffix.lower() == ".csv":
        return False
    return head.lstrip().startswith("{")


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """``(line number, row)`` for each row; a row that cannot be read is a message."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{path} is not UTF-8 text (byte {exc.start})",
            hint="export the file as UTF-8 (CSV UTF-8 in Excel)",
        ) from None
    if _is_jsonl(path, text[:200]):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON ({exc.msg}, column {exc.colno})"
                continue
            yield number, value if isinstance(value, dict) else "not a JSON object"
        return
    reader = csv.DictReader(text.splitlines(keepends=True))
    if not reader.fieldnames:
        return
    for row in reader:
        cleaned: dict[str, Any] = {}
        for name, value in row.items():
            if name is None:  # more cells than header columns
                yield reader.line_num, f"{len(value)} cell(s) more than the header has"
                break
            if value is None or not value.strip():
                continue
            cleaned[name.strip()] = value.strip()
        else:
            yield reader.line_num, cleaned


# ----------------------------------------------------------------------- validating


def _list_fields(model: Any) -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        if "list[" in str(info.annotation):
            names.update({name, info.alias or name})
    return names


def _known_fields(model: Any) -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.update({name, info.alias or name})
    return names


def _decode_lists(row: dict[str, Any], lists: set[str], line: int) -> list[Problem]:
    problems = []
    for name in lists & row.keys():
        value = row[name]
        if isinstance(value, str):
            try:
                row[name] = json.loads(value)
            except json.JSONDecodeError:
                problems.append(Problem(line, name, "expected a JSON list, e.g. [{...}]"))
    return problems


def _is_updating(row: dict[str, Any], default: bool, line: int) -> bool | Problem:
    raw = row.pop("isUpdating", row.pop("is_updating", None))
    if raw is None:
        return default
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return Problem(line, "isUpdating", f"expected True or False, got {raw!r}")


def _key(kind: str, payload: str) -> str:
    digest = hashlib.sha256(f"{kind}\n{payload}".encode()).hexdigest()
    return f"push-{digest[:40]}"


def validate_rows(
    rows: Iterator[tuple[int, dict[str, Any] | str]],
    *,
    kind: Kind,
    default_updating: bool,
    force: bool,
    store: OutboxStore,
) -> Validated:
    """Validate every row; collect every problem (nothing is queued here)."""
    from pydantic import ValidationError as PydanticValidationError

    from govlink.dossiers import (
        Dossier,
        IllegalTransitionError,
        ProgressRecord,
        check_transition,
        dossier_change,
        progress_change,
    )
    from govlink.dossiers.outbox import last_queued_status

    model: Any = Dossier if kind is Kind.dossiers else ProgressRecord
    lists, known = _list_fields(model), _known_fields(model)
    result = Validated()
    parsed: list[tuple[int, Any, bool]] = []
    for line, row in rows:
        result.rows += 1
        if isinstance(row, str):
            result.problems.append(Problem(line, "row", row))
            continue
        updating = _is_updating(row, default_updating, line) if kind is Kind.dossiers else True
        problems = _decode_lists(row, lists, line)
        if isinstance(updating, Problem):
            problems.append(updating)
        result.unknown_columns |= set(row) - known
        ma = row.get("MaHoSo", row.get("ma_ho_so"))
        try:
            value = model.model_validate(row)
        except PydanticValidationError as exc:
            for error in exc.errors(include_url=False):
                where = ".".join(str(part) for part in error["loc"]) or "row"
                message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
                problems.append(Problem(line, where, message, ma if isinstance(ma, str) else None))
        if problems:
            result.problems.extend(problems)
            continue
        parsed.append((line, value, bool(updating)))

    # (line, change, status) in file order; keys derived from content.
    built: list[tuple[int, Change, Any]] = []
    for line, value, updating in parsed:
        if kind is Kind.dossiers:
            change = dossier_change(value, is_updating=updating)
        else:
            change = progress_change(value)
        key = _key(change.kind, change.payload_text())
        built.append((line, replace(change, idempotency_key=key), getattr(value, "status", None)))
    existing = store.existing_keys([c.idempotency_key for _l, c, _s in built])
    result.already_queued = sum(1 for _l, c, _s in built if c.idempotency_key in existing)
    fresh = [entry for entry in built if entry[1].idempotency_key not in existing]

    if kind is Kind.dossiers and not force:
        last: dict[str, Any] = {}
        blocked: set[str] = set()
        kept: list[tuple[int, Change, Any]] = []
        for line, change, status in fresh:
            if change.key in blocked:
                result.problems.append(
                    Problem(
                        line, "TrangThaiHoSo", "follows a refused row of this dossier", change.key
                    )
                )
                continue
            if change.key not in last:
                last[change.key] = last_queued_status(store, change.key)
            try:
                check_transition(last[change.key], status, ma_ho_so=change.key)
            except IllegalTransitionError as exc:
                result.problems.append(Problem(line, "TrangThaiHoSo", exc.message, change.key))
                blocked.add(change.key)
                continue
            last[change.key] = status
            kept.append((line, change, status))
        fresh = kept
    result.changes = [(line, change) for line, change, _status in fresh]
    result.problems.sort(key=lambda p: p.line)
    return result


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
        typer.Argument(
            help="CSV (header row) or JSON Lines export, one dossier or progress step per row.",
            exists=True,
            dir_okay=False,
            readable=True,
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
    settings = None if no_drain else load_settings(profile, profile_file)
    with masking(unmask), open_store(outbox, outbox_dsn) as store:
        result = validate_rows(
            read_rows(file), kind=kind, default_updating=not create, force=force, store=store
        )
        report: dict[str, Any] = {
            "file": str(file),
            "rows": result.rows,
            "invalid_rows": len(result.bad_lines),
            "problems": [_problem_json(p) for p in result.problems],
            "already_queued": result.already_queued,
            "unknown_columns": sorted(result.unknown_columns),
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
                f"(lines {_lines(result.bad_lines)}); nothing was queued or sent",
                hint="fix them, or pass --skip-invalid to send the valid rows only",
            )
        queued = store.enqueue_many([c for _l, c in result.changes], now=_now())
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
    if json_output:
        emit_json(report)
    else:
        console().print(
            f"delivered {stats.delivered} change(s) in {stats.elapsed:.1f} s; "
            f"{stats.retried} retried; {stats.dead} dead-lettered"
        )
        if status.dead:
            console().print("[yellow]see why with 'govlink outbox dead'[/]")
    if stats.dead or status.dead:
        raise typer.Exit(1)


def _now() -> float:
    import time

    return time.time()


def _lines(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:10])
    return shown + (f" and {len(lines) - 10} more" if len(lines) > 10 else "")


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

    settings = load_settings(profile, profile_file)
    with masking(unmask), DossierClient(settings) as client:
        dossier = client.get(ma_ho_so)
        wire = dossier.model_dump(mode="json", by_alias=True, exclude_none=True)
        shown = redact_mapping(wire)
        if json_output:
            emit_json(shown)
            return
        from rich.table import Table

        table = Table(title=f"Dossier {dossier.ma_ho_so}", show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        table.add_row("status", f"{dossier.status.describe()}")
        for name, value in shown.items():
            if name in ("QuaTrinhXuLy",):
                continue
            text = (
                json.dumps(value, ensure_ascii=False)
                if isinstance(value, list | dict)
                else str(value)
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
    from govlink.cli import dossiers_feedback as feedback

    app.command("satisfaction")(feedback.satisfaction)
    app.command("questions")(feedback.questions)
    app.command("push-questions")(feedback.push_questions)
    app.command("push-answers")(feedback.push_answers)
    app.command("receive")(feedback.receive)


_register_feedback_commands()
