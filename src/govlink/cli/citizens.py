"""``govlink citizens``: the population database's operations from the command line.

``lookup --id … --name … --dob …`` prints one record (masked unless ``--unmask``);
``verify`` says whether the data match; ``identity``, ``household`` and
``marital-status`` print what those operations return (one command per client
method that takes a person: adding an operation to the client adds its command);
``request-status REQUEST_ID`` asks where an earlier request stands.

``batch FILE.csv`` looks up every row (columns ``id_number``/``id``,
``full_name``/``name``, ``birth_date``/``dob``) with a progress bar and writes one
result per row (CSV or JSON Lines; ``--json`` for JSON Lines on stdout) with its
status: ``ok``, ``not_found``, ``invalid`` (the row's data were rejected before
sending) or ``error``. With ``--resume`` and an ``--output`` file from an earlier run,
rows already answered (``ok``, ``not_found``, ``invalid``) are kept and only the
others are sent again. Exit code 0 when every row is ``ok`` or ``not_found``, 1
otherwise; a refused credential stops the batch (every row would fail the same way).
"""

from __future__ import annotations

import asyncio
import csv
import inspect
import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

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
    load_settings,
    masking,
    platform_client,
    print_result,
    progress,
)

if TYPE_CHECKING:
    from govlink.citizens import AsyncCitizenClient, Citizen

__all__ = ["BATCH_COLUMNS", "app", "read_batch"]

app = typer.Typer(
    help="Population database (CSDL dân cư): look up, verify, households, marital status.",
    no_args_is_help=True,
)

IdOption = Annotated[
    str,
    typer.Option("--id", help="Personal ID number (12 digits) or old CMND (9 digits)."),
]
NameOption = Annotated[
    str,
    typer.Option("--name", help="Full name as on the ID card, e.g. 'Nguyễn Văn An'."),
]
DobOption = Annotated[
    str,
    typer.Option("--dob", help="Birth date: YYYY-MM-DD, YYYYMMDD, or the year YYYY."),
]

BATCH_COLUMNS: dict[str, tuple[str, ...]] = {
    "id_number": ("id_number", "id", "so_dinh_danh", "SoDinhDanh", "cccd"),
    "full_name": ("full_name", "name", "ho_ten", "HoVaTen"),
    "birth_date": ("birth_date", "dob", "ngay_sinh", "NgayThangNamSinh"),
}
"""Accepted CSV header names per parameter (first match wins, case-insensitive)."""

_SKIPPED: dict[str, Any] = {"status": "skipped", "error": "not attempted (batch stopped)"}

RESULT_COLUMNS = (
    "row",
    "status",
    "id_number",
    "full_name",
    "birth_date",
    "gender",
    "nationality",
    "permanent_address",
    "request_id",
    "error_code",
    "error",
)


def _kwargs(id_number: str) -> dict[str, str]:
    """``id_number`` for 12 digits, ``old_id_number`` for 9 (the service takes either)."""
    digits = "".join(ch for ch in id_number if ch.isdigit())
    return {"old_id_number": id_number} if len(digits) == 9 else {"id_number": id_number}


_OPTIONS = {
    "id_number": "--id",
    "old_id_number": "--id",
    "full_name": "--name",
    "birth_date": "--dob",
    "request_id": "REQUEST_ID",
}


@contextmanager
def _options_named() -> Iterator[None]:
    """Report a rejected parameter by the option the user typed (``--id``, not
    ``so_dinh_danh``)."""
    from govlink.core.errors import ValidationError

    try:
        yield
    except ValidationError as exc:
        option = _OPTIONS.get(exc.field)
        if option is None:
            raise
        raise UserError(
            option + exc.message[len(exc.field) :], hint=f"correct {option}; nothing was sent"
        ) from None


def _flat(result: Any) -> dict[str, Any]:
    """A result (masked unless unmasked) with the request id and correlation id."""
    data: dict[str, Any] = result.masked_dump()
    data["request_id"] = getattr(result, "request_id", None) or getattr(result, "_request_id", None)
    data["correlation_id"] = result.evidence.correlation_id if result.evidence else None
    return data


def _show(data: dict[str, Any], title: str, json_output: bool) -> None:
    def table() -> None:
        from rich.table import Table

        rows = Table(title=title, show_header=False)
        rows.add_column("field", style="bold")
        rows.add_column("value")
        for key, value in _rows_of(data):
            rows.add_row(key, value)
        console().print(rows)

    print_result(data, json_output, table)


def _rows_of(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _rows_of(value, f"{prefix}{key}.")
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            for number, item in enumerate(value, start=1):
                yield from _rows_of(item, f"{prefix}{key}[{number}].")
        elif value is not None and value != {} and value != []:
            yield f"{prefix}{key}", str(value)


@app.command()
def verify(
    id_number: IdOption,
    name: NameOption,
    dob: DobOption,
    gender: Annotated[
        str | None, typer.Option("--gender", help="Nam or Nữ (optional).", show_default=False)
    ] = None,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check that the data match the citizen's record (XacThucThongTinCongDan).

    Exit code 0 when they match, 1 when they do not.
    """
    from govlink.citizens import CitizenClient

    with platform_client(CitizenClient, profile, profile_file) as client, _options_named():
        result = client.verify(full_name=name, birth_date=dob, gender=gender, **_kwargs(id_number))
    fields = ", ".join(result.mismatched_fields) or "not said by the service"
    print_result(
        {
            "matches": result.matches,
            "mismatched_fields": list(result.mismatched_fields),
            "request_id": result.request_id,
        },
        json_output,
        "[green]match[/green]: the data agree with the population database"
        if result.matches
        else f"[red]no match[/red]: differing fields: {fields}",
    )
    if not result.matches:
        raise typer.Exit(1)


@app.command("request-status")
def request_status(
    request_id: Annotated[str, typer.Argument(help="The MaYeuCau of the earlier request.")],
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Where an earlier request stands (GetRequestStatus)."""
    from govlink.citizens import CitizenClient

    with platform_client(CitizenClient, profile, profile_file) as client, _options_named():
        status = client.request_status(request_id)
    _show(_flat(status), "Request status", json_output)


# One command per client method that takes a person (id, name, birth date) and is not
# written out above: adding such an operation to the client adds its command here.
_WRITTEN_OUT = frozenset({"verify"})
_PERSON_PARAMETERS = ("id_number", "full_name", "birth_date")


def _person_methods() -> list[tuple[str, str]]:
    from govlink.citizens.client import CitizenClient

    found: list[tuple[str, str]] = []
    for name, method in inspect.getmembers(CitizenClient, inspect.isfunction):
        if name.startswith("_") or name in _WRITTEN_OUT:
            continue
        if tuple(inspect.signature(method).parameters)[1:4] == _PERSON_PARAMETERS:
            found.append((name, inspect.getdoc(method) or name))
    return found


def _person_command(method: str, doc: str) -> Callable[..., None]:
    def command(
        id_number: IdOption,
        name: NameOption,
        dob: DobOption,
        profile: ProfileOption = None,
        profile_file: ProfileFileOption = None,
        json_output: JsonOption = False,
        unmask: UnmaskOption = False,
    ) -> None:
        from govlink.citizens import CitizenClient

        with (
            platform_client(CitizenClient, profile, profile_file, unmask=unmask) as client,
            _options_named(),
        ):
            call: Callable[..., Any] = getattr(client, method)
            result = call(full_name=name, birth_date=dob, **_kwargs(id_number))
            _show(_flat(result), title, json_output)

    summary = " ".join(doc.split("\n\n")[0].split())
    operation, _sep, text = summary.partition(": ")
    if text and operation.startswith("``"):
        summary = f"{text[0].upper()}{text[1:].rstrip('.')} ({operation.strip('`')})."
    title = method.replace("_", " ").capitalize()
    command.__doc__ = f"{summary} Personal data masked unless --unmask."
    command.__name__ = method
    return command


def _register_person_commands() -> None:
    names = {"verify_identity": "identity"}
    for method, doc in _person_methods():
        app.command(names.get(method, method.replace("_", "-")))(_person_command(method, doc))


_register_person_commands()


# ------------------------------------------------------------------------- batch


@dataclass
class _Row:
    number: int
    id_number: str
    full_name: str
    birth_date: str
    result: dict[str, Any] = field(default_factory=dict)


def _column(header: list[str], name: str, path: Path) -> str:
    lowered = {h.strip().lower(): h for h in header}
    for alias in BATCH_COLUMNS[name]:
        if alias.lower() in lowered:
            return lowered[alias.lower()]
    raise UserError(
        f"{path} has no column {name!r} (header: {', '.join(header) or 'empty'})",
        hint="the first row must name the columns: "
        + ", ".join(f"{k} (or {'/'.join(v[1:])})" for k, v in BATCH_COLUMNS.items()),
    )


def read_batch(path: Path) -> list[_Row]:
    """Rows of the input CSV (UTF-8, a BOM from Excel is fine), numbered from 1."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text", hint="save the CSV as UTF-8") from None
    reader = csv.DictReader(io.StringIO(text))
    header = list(reader.fieldnames or [])
    columns = {name: _column(header, name, path) for name in BATCH_COLUMNS}
    rows: list[_Row] = []
    for number, record in enumerate(reader, start=1):
        if not any((v or "").strip() for v in record.values()):
            continue
        rows.append(
            _Row(
                number,
                (record.get(columns["id_number"]) or "").strip(),
                (record.get(columns["full_name"]) or "").strip(),
                (record.get(columns["birth_date"]) or "").strip(),
            )
        )
    if not rows:
        raise UserError(f"{path} has no data rows", hint="add one citizen per line")
    return rows


def _ok(row: _Row, citizen: Citizen) -> dict[str, Any]:
    data = citizen.masked_dump()
    address = data.get("permanent_address") or {}
    return {
        "status": "ok",
        "id_number": data.get("id_number") or data.get("old_id_number"),
        "full_name": data["name"].get("full_name"),
        "birth_date": data.get("birth_date"),
        "gender": data.get("gender"),
        "nationality": data.get("nationality"),
        "permanent_address": address.get("detail"),
        "request_id": citizen.request_id,
    }


def _failed(row: _Row, status: str, exc: Exception) -> dict[str, Any]:
    from govlink.core.redact import mask_value

    return {
        "status": status,
        "id_number": mask_value(row.id_number),
        "error_code": getattr(exc, "code", None) or getattr(exc, "field", None),
        "error": " ".join(str(exc).split()),
    }


_DONE = frozenset({"ok", "not_found", "invalid"})
"""Row statuses a resumed batch keeps: the service (or the SDK) has answered them."""


def _earlier_results(path: Path, fmt: str) -> dict[int, dict[str, Any]]:
    """Results of an earlier run, by row number (only rows that were answered)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path} to resume: {exc}", hint="check --output") from None
    records: list[dict[str, Any]] = []
    try:
        if fmt == "jsonl":
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            records = [dict(r) for r in csv.DictReader(io.StringIO(text))]
    except ValueError:
        raise UserError(
            f"{path} is not {fmt} output of an earlier batch",
            hint="resume with the same --output and --format as the run that stopped",
        ) from None
    done: dict[int, dict[str, Any]] = {}
    for record in records:
        number = str(record.get("row", ""))
        if number.isdigit() and record.get("status") in _DONE:
            done[int(number)] = {k: v for k, v in record.items() if k != "row" and v != ""}
    return done


def _resume(rows: list[_Row], done: dict[int, dict[str, Any]]) -> int:
    """Put earlier answers back on their rows; the number of rows kept."""
    from govlink.core.redact import mask_value, unmasked

    kept = 0
    for row in rows:
        earlier = done.get(row.number)
        if earlier is None:
            continue
        with unmasked():
            plain = row.id_number
        stored = str(earlier.get("id_number") or "")
        if stored and stored not in (plain, str(mask_value(plain))):
            raise UserError(
                f"row {row.number} of the earlier output is another citizen",
                hint="resume only with the input file of the run that stopped",
            )
        row.result = earlier
        kept += 1
    return kept


async def _run_batch(
    client: AsyncCitizenClient, rows: list[_Row], concurrency: int, *, json_output: bool = False
) -> None:
    from govlink.core.errors import AuthenticationError, NotFoundError, ValidationError

    semaphore = asyncio.Semaphore(concurrency)
    refused: list[AuthenticationError] = []

    async def one(row: _Row) -> None:
        async with semaphore:
            if refused:
                row.result = _failed(row, "error", refused[0])
                return
            try:
                citizen = await client.lookup(
                    full_name=row.full_name, birth_date=row.birth_date, **_kwargs(row.id_number)
                )
            except ValidationError as exc:
                row.result = _failed(row, "invalid", exc)
            except NotFoundError as exc:
                row.result = _failed(row, "not_found", exc)
            except AuthenticationError as exc:
                refused.append(exc)
                row.result = _failed(row, "error", exc)
            except Exception as exc:
                row.result = _failed(row, "error", exc)
            else:
                row.result = _ok(row, citizen)

    pending = [row for row in rows if not row.result]
    with progress(json_output=json_output) as bar:
        task = bar.add_task(
            "Looking up citizens", total=len(rows), completed=len(rows) - len(pending)
        )

        async def tracked(row: _Row) -> None:
            await one(row)
            bar.advance(task)

        await asyncio.gather(*(tracked(row) for row in pending))
    if refused:
        raise refused[0]


def _write(rows: list[_Row], out: TextIO, fmt: str) -> None:
    if fmt == "jsonl":
        for row in rows:
            record = {"row": row.number, **(row.result or _SKIPPED)}
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        return
    writer = csv.DictWriter(out, fieldnames=RESULT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({"row": row.number, **(row.result or _SKIPPED)})


@app.command()
def batch(
    file: Annotated[
        Path,
        input_file_argument(
            "CSV with a header: id_number (or id), full_name (or name), birth_date (or dob)."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write results here (default: stdout).", dir_okay=False
        ),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="csv or jsonl (default: from the --output extension, else csv).",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=64, help="Lookups in flight.")
    ] = 8,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Keep the rows an earlier run wrote to --output as answered "
            "(ok, not_found, invalid) and send only the others.",
        ),
    ] = False,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
    unmask: UnmaskOption = False,
) -> None:
    """Look up every row of a CSV; one result per row with its status."""
    default = "jsonl" if json_output or (output and output.suffix == ".jsonl") else "csv"
    fmt = (output_format or default).lower()
    if fmt not in ("csv", "jsonl"):
        raise UserError(f"--format {output_format!r} is not supported", hint="use csv or jsonl")
    if json_output and fmt != "jsonl":
        raise UserError("--json writes JSON Lines", hint="drop --format csv, or drop --json")
    if resume and output is None:
        raise UserError("--resume needs --output", hint="name the output file of the run to resume")
    rows = read_batch(file)
    settings = load_settings(profile, profile_file)
    if resume and output is not None:
        kept = _resume(rows, _earlier_results(output, fmt))
        err_console().print(f"resuming: {kept} of {len(rows)} rows already answered")

    from govlink.citizens import AsyncCitizenClient

    async def main() -> None:
        async with AsyncCitizenClient(settings) as client:
            await _run_batch(client, rows, concurrency, json_output=json_output)

    with masking(unmask):
        try:
            asyncio.run(main())
        finally:
            if any(row.result for row in rows):
                if output is None:
                    _write(rows, sys.stdout, fmt)
                else:
                    with output.open("w", encoding="utf-8", newline="") as fh:
                        _write(rows, fh, fmt)
    counts: dict[str, int] = {}
    for row in rows:
        status = str(row.result.get("status", "error"))
        counts[status] = counts.get(status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    err_console().print(f"{len(rows)} rows: {summary}", soft_wrap=True)
    if any(s not in ("ok", "not_found") for s in counts):
        raise typer.Exit(1)
