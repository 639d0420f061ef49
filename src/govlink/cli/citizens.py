"""``govlink citizens``: look up and verify citizens in the population database.

``lookup --id … --name … --dob …`` prints one record (masked unless ``--unmask``);
``verify`` says whether the data match; ``batch FILE.csv`` looks up every row
(columns ``so_dinh_danh``/``id``, ``ho_ten``/``name``, ``ngay_sinh``/``dob``) with a
progress bar and writes one result per row (CSV or JSON Lines) with its status:
``ok``, ``not_found``, ``invalid`` (the row's data were rejected before sending) or
``error``. Exit code 0 when every row is ``ok`` or ``not_found``, 1 otherwise; a
refused credential stops the batch (every row would fail the same way).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from collections.abc import Iterator
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
    emit_json,
    err_console,
    load_settings,
    masking,
    progress,
)

if TYPE_CHECKING:
    from govlink.citizens import AsyncCitizenClient, Citizen

__all__ = ["BATCH_COLUMNS", "app", "read_batch"]

app = typer.Typer(
    help="Population database (CSDL dân cư): look up and verify citizens.",
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
    "so_dinh_danh": ("so_dinh_danh", "id", "SoDinhDanh", "cccd"),
    "ho_ten": ("ho_ten", "name", "HoVaTen", "full_name"),
    "ngay_sinh": ("ngay_sinh", "dob", "NgayThangNamSinh", "birth_date"),
}
"""Accepted CSV header names per parameter (first match wins, case-insensitive)."""

_SKIPPED: dict[str, Any] = {"status": "skipped", "error": "not attempted (batch stopped)"}

RESULT_COLUMNS = (
    "row",
    "status",
    "so_dinh_danh",
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
    """``so_dinh_danh`` for 12 digits, ``so_cmnd`` for 9 (the service takes either)."""
    digits = "".join(ch for ch in id_number if ch.isdigit())
    return {"so_cmnd": id_number} if len(digits) == 9 else {"so_dinh_danh": id_number}


_OPTIONS = {"so_dinh_danh": "--id", "so_cmnd": "--id", "ho_ten": "--name", "ngay_sinh": "--dob"}


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


def _flat(citizen: Citizen) -> dict[str, Any]:
    """The record (masked unless unmasked) with the request id and correlation id."""
    data = citizen.masked_dump()
    data["request_id"] = citizen.request_id
    data["correlation_id"] = citizen.evidence.correlation_id if citizen.evidence else None
    return data


def _rows_of(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _rows_of(value, f"{prefix}{key}.")
        elif value is not None and value != {}:
            yield f"{prefix}{key}", str(value)


@app.command()
def lookup(
    id_number: IdOption,
    name: NameOption,
    dob: DobOption,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
    unmask: UnmaskOption = False,
) -> None:
    """Look up one citizen (TraCuuThongTinCongDan); personal data masked unless --unmask."""
    from rich.table import Table

    from govlink.citizens import CitizenClient

    settings = load_settings(profile, profile_file)
    with masking(unmask), CitizenClient(settings) as client, _options_named():
        citizen = client.lookup(ho_ten=name, ngay_sinh=dob, **_kwargs(id_number))
        data = _flat(citizen)
        if json_output:
            emit_json(data)
            return
        table = Table(title="Citizen", show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        for key, value in _rows_of(data):
            table.add_row(key, value)
        console().print(table)


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

    settings = load_settings(profile, profile_file)
    with CitizenClient(settings) as client, _options_named():
        result = client.verify(ho_ten=name, ngay_sinh=dob, gioi_tinh=gender, **_kwargs(id_number))
    if json_output:
        emit_json(
            {
                "matches": result.matches,
                "mismatched_fields": list(result.mismatched_fields),
                "request_id": result.request_id,
            }
        )
    elif result.matches:
        console().print("[green]match[/green]: the data agree with the population database")
    else:
        fields = ", ".join(result.mismatched_fields) or "not said by the service"
        console().print(f"[red]no match[/red]: differing fields: {fields}")
    if not result.matches:
        raise typer.Exit(1)


# ------------------------------------------------------------------------- batch


@dataclass
class _Row:
    number: int
    so_dinh_danh: str
    ho_ten: str
    ngay_sinh: str
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
                (record.get(columns["so_dinh_danh"]) or "").strip(),
                (record.get(columns["ho_ten"]) or "").strip(),
                (record.get(columns["ngay_sinh"]) or "").strip(),
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
        "so_dinh_danh": data.get("id_number") or data.get("old_id_number"),
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
        "so_dinh_danh": mask_value(row.so_dinh_danh),
        "error_code": getattr(exc, "code", None) or getattr(exc, "field", None),
        "error": " ".join(str(exc).split()),
    }


async def _run_batch(client: AsyncCitizenClient, rows: list[_Row], concurrency: int) -> None:
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
                    ho_ten=row.ho_ten, ngay_sinh=row.ngay_sinh, **_kwargs(row.so_dinh_danh)
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

    with progress() as bar:
        task = bar.add_task("Looking up citizens", total=len(rows))

        async def tracked(row: _Row) -> None:
            await one(row)
            bar.advance(task)

        await asyncio.gather(*(tracked(row) for row in rows))
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
        typer.Argument(
            help="CSV with a header: so_dinh_danh (or id), ho_ten (or name), ngay_sinh (or dob).",
            exists=True,
            dir_okay=False,
            readable=True,
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
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    unmask: UnmaskOption = False,
) -> None:
    """Look up every row of a CSV; one result per row with its status."""
    fmt = (output_format or ("jsonl" if output and output.suffix == ".jsonl" else "csv")).lower()
    if fmt not in ("csv", "jsonl"):
        raise UserError(f"--format {output_format!r} is not supported", hint="use csv or jsonl")
    rows = read_batch(file)
    settings = load_settings(profile, profile_file)

    from govlink.citizens import AsyncCitizenClient

    async def main() -> None:
        async with AsyncCitizenClient(settings) as client:
            await _run_batch(client, rows, concurrency)

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
