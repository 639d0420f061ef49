"""``govlink dossiers reconcile EXPORT``: where the province and the portal disagree.

Reads the same CSV / JSON Lines exports as ``push``, looks every dossier up on the
portal with bounded concurrency, and prints a summary per class
(:mod:`govlink.dossiers._reconcile`), with ``--json`` (``{"summary", "differences"}``)
and ``--csv FILE`` of the differences. ``--fix`` queues, through the outbox, exactly
the changes that bring the portal in line; transitions the state machine refuses are
listed, and forced only for the dossiers named with ``--force`` / ``--force-file``.
``--checkpoint FILE`` makes a long run resumable: an interrupted run started again
with the same file skips what was already reconciled.

Exit codes: 0 everything in sync, 1 differences found, 2 a user error.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from govlink.cli.common import (
    JsonOption,
    ProfileFileOption,
    ProfileOption,
    UnmaskOption,
    UserError,
    console,
    err_console,
    input_file_argument,
    input_file_option,
    load_settings,
    masking,
    progress,
)
from govlink.cli.outbox import DEFAULT_OUTBOX, OutboxDsnOption, OutboxOption, open_store

if TYPE_CHECKING:
    from govlink.dossiers import Dossier
    from govlink.dossiers._reconcile import ReconcileEntry, ReconcileSummary
    from govlink.sync import OutboxStore

__all__ = ["Checkpoint", "LookupConcurrencyOption", "local_dossiers", "reconcile_command"]

CSV_COLUMNS = (
    "MaHoSo",
    "class",
    "local_status",
    "portal_status",
    "reason",
    "outbox_state",
    "outbox_age_seconds",
    "outbox_reason",
)
_CHECKPOINT_EVERY = 500

LookupConcurrencyOption = Annotated[
    int,
    typer.Option("--concurrency", min=1, max=64, help="Lookups in flight at once."),
]
"""How many portal lookups ``reconcile`` and ``report`` keep in flight."""


# ------------------------------------------------------------------------ the export


def local_dossiers(path: Path, *, encoding: str = "utf-8") -> Iterator[Dossier]:
    """The export's dossiers, read as ``push`` reads them and validated first: every
    bad row (and every unknown or missing column) is one UserError, exit 2."""
    from govlink.dossiers._export import (
        ExportFile,
        ExportFileError,
        check_dossier_columns,
        parse_dossier_row,
    )

    try:
        export = ExportFile(path, encoding=encoding)
    except ExportFileError as exc:
        raise UserError(exc.message, hint=exc.hint) from None
    problems: list[Any] = []
    columns: dict[str, int] = {}
    rows = 0
    for line, row in export.rows():
        rows += 1
        if isinstance(row, str):
            problems.append(f"line {line}: {row}")
            continue
        for name in row:
            columns.setdefault(name, line)
        parsed = parse_dossier_row(row, line)
        if isinstance(parsed, list):
            problems += [f"line {p.line}: {p.field}: {p.message}" for p in parsed]
    try:
        check_dossier_columns(columns, export.header)
    except ExportFileError as exc:
        raise UserError(f"{path.name}: {exc.message}", hint=exc.hint) from None
    if problems:
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise UserError(
            f"{len(problems)} problem(s) in {path.name}: {shown}{more}",
            hint="fix the export (the same format as 'govlink dossiers push'); "
            "nothing was looked up",
        )
    if rows == 0:
        raise UserError(f"{path.name} has no dossier rows", hint="check the export file")

    def dossiers() -> Iterator[Dossier]:
        for line, row in export.rows():
            if isinstance(row, str):  # validated above; the file did not change
                raise UserError(f"{path.name} changed while it was read (line {line})")
            parsed = parse_dossier_row(row, line)
            if isinstance(parsed, list):
                raise UserError(f"{path.name} changed while it was read (line {line})")
            yield parsed

    return dossiers()


def _count_rows(path: Path) -> int:
    from govlink.dossiers._export import read_rows

    return sum(1 for _ in read_rows(path))


# ------------------------------------------------------------------------ checkpoint


class Checkpoint:
    """An append-only JSON Lines file that makes a long reconcile resumable.

    The first line names the export (path, size, modification time); then each
    difference as it is found, and every few hundred dossiers a line with how many
    input rows are done and the counts so far. A crash loses at most the lines after
    the last complete progress line: those dossiers are simply looked up again.
    """

    def __init__(self, path: Path, export: Path) -> None:
        self.path = path
        stat = export.stat()
        self.header = {
            "checkpoint": 1,
            "export": str(export.resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
        }
        self.done = 0
        self.summary: dict[str, int] | None = None
        self.differences: list[dict[str, Any]] = []
        self._file: IO[str] | None = None

    def load(self) -> bool:
        """Read an earlier, unfinished run of the same export; whether there was one."""
        if not self.path.exists():
            return False
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(
                f"cannot read the checkpoint {self.path} ({exc})",
                hint="delete it to start over",
            ) from None
        records: list[Any] = []
        for text in lines:
            try:
                records.append(json.loads(text))
            except json.JSONDecodeError:
                break  # a line cut short by a crash: everything after it is redone
        if not records or not isinstance(records[0], dict) or "checkpoint" not in records[0]:
            raise UserError(
                f"{self.path} is not a govlink reconcile checkpoint",
                hint="pass another --checkpoint path, or delete the file",
            )
        if {k: records[0].get(k) for k in self.header} != self.header:
            raise UserError(
                f"the checkpoint {self.path} belongs to another export "
                f"({records[0].get('export')}) or the export changed since",
                hint="delete it to start over, or pass another --checkpoint path",
            )
        if any(isinstance(r, dict) and r.get("complete") for r in records):
            return False  # that run finished: a new run starts from the top
        pending: list[dict[str, Any]] = []
        for record in records[1:]:
            if not isinstance(record, dict):
                continue
            if "difference" in record:
                pending.append(record["difference"])
            elif "done" in record:
                self.done = int(record["done"])
                self.summary = dict(record["summary"])
                self.differences.extend(pending)
                pending = []
        return self.done > 0

    def open(self, *, resume: bool) -> None:
        if resume:
            # rewrite what is kept, so lines cut short by a crash are gone
            kept = [self.header]
            kept += [{"difference": d} for d in self.differences]
            kept.append({"done": self.done, "summary": self.summary})
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), encoding="utf-8"
            )
            os.replace(tmp, self.path)
            self._file = self.path.open("a", encoding="utf-8")
        else:
            self._file = self.path.open("w", encoding="utf-8")
            self._write(self.header)

    def _write(self, record: dict[str, Any]) -> None:
        assert self._file is not None
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def difference(self, data: dict[str, Any]) -> None:
        self._write({"difference": data})

    def progress(self, done: int, summary: ReconcileSummary, *, complete: bool = False) -> None:
        self._write({"done": done, "summary": summary.as_dict()})
        if complete:
            self._write({"complete": True})
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


# ------------------------------------------------------------------------ the command


def _force_list(force: list[str] | None, force_file: Path | None) -> set[str]:
    codes = {c.strip() for c in force or () if c.strip()}
    if force_file is not None:
        try:
            text = force_file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(
                f"cannot read --force-file {force_file} ({exc})",
                hint="one MaHoSo per line, UTF-8",
            ) from None
        codes |= {line.strip() for line in text.splitlines() if line.strip()}
    return codes


def _summary_table(summary: ReconcileSummary) -> None:
    from rich.table import Table

    table = Table(title="Province vs portal", show_lines=False)
    table.add_column("class")
    table.add_column("dossiers", justify="right")
    for name, count in summary.as_dict().items():
        style = "green" if name == "in_sync" else ("red" if count else None)
        table.add_row(name, str(count), style=style)
    table.add_row("total", str(summary.total), style="bold")
    console().print(table)


def reconcile_command(
    export: Annotated[
        Path,
        input_file_argument(
            "CSV (header row) or JSON Lines export of the province's dossiers "
            "(the same format as 'govlink dossiers push')."
        ),
    ],
    concurrency: LookupConcurrencyOption = 8,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="Resumable run: progress is kept in this file; run again with it to resume.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", help="Write the differences to this CSV file.", dir_okay=False),
    ] = None,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Queue in the outbox the changes that bring the portal in line "
            "('govlink outbox drain' delivers them).",
        ),
    ] = False,
    force: Annotated[
        list[str] | None,
        typer.Option(
            "--force",
            help="With --fix: send this dossier's status even if the state machine refuses "
            "the transition on the portal (repeatable).",
            show_default=False,
        ),
    ] = None,
    force_file: Annotated[
        Path | None,
        input_file_option(
            "--force-file", "With --fix: a file of MaHoSo (one per line) to force like --force."
        ),
    ] = None,
    outbox: OutboxOption = DEFAULT_OUTBOX,
    outbox_dsn: OutboxDsnOption = None,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
    unmask: UnmaskOption = False,
) -> None:
    """Compare an export with the portal: in sync, missing, differing, stuck, blocked."""
    from govlink.dossiers import DossierClient
    from govlink.dossiers._reconcile import ReconcileSummary, outbox_blocks, reconcile

    forced = _force_list(force, force_file)
    if forced and not fix:
        raise UserError("--force and --force-file only apply with --fix", hint="add --fix")
    settings = load_settings(profile, profile_file)
    dossiers = local_dossiers(export)
    total = _count_rows(export)
    summary = ReconcileSummary()
    state = Checkpoint(checkpoint, export) if checkpoint is not None else None
    resumed = state.load() if state is not None else False
    skip = 0
    earlier: list[dict[str, Any]] = []
    if state is not None and resumed:
        skip = state.done
        summary.counts.update(state.summary or {})
        earlier = state.differences
        if not json_output:
            err_console().print(f"resuming after {skip} dossier(s) from {checkpoint}")
    queued: list[str] = []
    refused: list[dict[str, Any]] = []
    with ExitStack() as stack:
        stack.enter_context(masking(unmask))
        store: OutboxStore = stack.enter_context(open_store(outbox, outbox_dsn))
        client = stack.enter_context(DossierClient(settings))
        if state is not None:
            state.open(resume=resumed)
            stack.callback(state.close)
        writer = None
        if csv_file is not None:
            handle = stack.enter_context(
                csv_file.open("a" if resumed else "w", encoding="utf-8", newline="")
            )
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore")
            if not resumed:
                writer.writeheader()
        out = _JsonStream(sys.stdout) if json_output else None
        if out is not None:
            for data in earlier:
                out.difference(data)
        bar = stack.enter_context(progress(json_output=json_output))
        task = bar.add_task(f"Reconciling {export.name}", total=total, completed=skip)
        rows = _skip(dossiers, skip)
        done = skip
        for entry in reconcile(client, rows, concurrency=concurrency, blocked=outbox_blocks(store)):
            done += 1
            summary.add(entry)
            bar.advance(task)
            if not entry.in_sync:
                data = entry.as_dict()
                if writer is not None:
                    writer.writerow(data)
                if out is not None:
                    out.difference(data)
                if state is not None:
                    state.difference(data)
                if fix:
                    _fix_one(store, entry, entry.dossier_code in forced, queued, refused)
            if state is not None and done % _CHECKPOINT_EVERY == 0:
                state.progress(done, summary)
        if state is not None:
            state.progress(done, summary, complete=True)
        if out is not None:
            extra: dict[str, Any] = {}
            if fix:
                extra["fix"] = {"queued": queued, "refused": refused}
            out.finish(summary.as_dict(), extra)
    if not json_output:
        _summary_table(summary)
        if summary.differences and csv_file is not None:
            console().print(f"differences written to {csv_file}")
        if fix:
            console().print(
                f"queued {len(queued)} change(s) in the outbox; "
                "deliver them with 'govlink outbox drain'"
            )
            for item in refused:
                console().print(f"[yellow]not queued[/] {item['MaHoSo']}: {item['reason']}")
    if summary.differences:
        raise typer.Exit(1)


def _skip(dossiers: Iterator[Dossier], count: int) -> Iterator[Dossier]:
    for index, dossier in enumerate(dossiers):
        if index >= count:
            yield dossier


def _fix_one(
    store: OutboxStore,
    entry: ReconcileEntry,
    force: bool,
    queued: list[str],
    refused: list[dict[str, Any]],
) -> None:
    from govlink.dossiers._outbox import enqueue_dossiers
    from govlink.dossiers._reconcile import plan_fix

    plan = plan_fix(entry, force=force)
    if plan.dossier is None:
        refused.append({"MaHoSo": entry.dossier_code, "reason": plan.refused})
        return
    # The transition was checked against the portal's status by plan_fix; the outbox
    # holds nothing for this dossier (it would be "blocked" otherwise).
    enqueue_dossiers(
        store, [plan.dossier], is_updating=plan.is_updating, force=True, check_queued=False
    )
    queued.append(entry.dossier_code)


class _JsonStream:
    """``{"differences": [...], "summary": {...}}`` written as it goes (flat memory)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.count = 0
        stream.write('{\n  "differences": [')

    def difference(self, data: dict[str, Any]) -> None:
        sep = "," if self.count else ""
        self.stream.write(f"{sep}\n    " + json.dumps(data, ensure_ascii=False))
        self.count += 1

    def finish(self, summary: dict[str, int], extra: dict[str, Any]) -> None:
        tail = {"summary": summary, **extra}
        body = json.dumps(tail, ensure_ascii=False, indent=2)[1:-1].rstrip()
        self.stream.write(("\n  " if self.count else "") + "],\n" + body.lstrip("\n") + "\n}\n")
        self.stream.flush()
