"""``govlink payments``: reconcile a ledger, look up a payment, download its e-receipt.

``reconcile --ledger FILE`` reads the vendor's own payments (CSV with a header row,
or JSON Lines) with the columns ``reference`` (or ``MaThamChieu``), ``amount`` (or
``SoTien``, whole VND), ``status`` (``pending``/``paid``/``failed``/``cancelled``)
and optionally ``created_at`` (ISO 8601; a time without zone is Vietnam time). It
queries every payment and prints where the platform disagrees. Exit code 0 when the
books agree, 1 when there are differences or payments that could not be checked.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from govlink.cli.common import (
    JsonOption,
    ProfileFileOption,
    ProfileOption,
    UserError,
    console,
    platform_client,
    print_result,
    progress,
    read_json_lines,
)

if TYPE_CHECKING:
    from govlink.payments import LocalPayment, PaymentStatus, ReconcileReport

__all__ = ["app", "parse_since", "read_ledger"]

app = typer.Typer(
    help="Fee payments on the DVCQG payment platform: reconcile, status, e-receipts.",
    no_args_is_help=True,
)

LedgerOption = Annotated[
    Path,
    typer.Option(
        "--ledger",
        "-l",
        help="Your payments: .csv (header: reference,amount,status[,created_at]) or .jsonl.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="Only payments created at or after this date/time (ISO 8601, Vietnam time "
        "unless a zone is given), e.g. 2026-01-01.",
        show_default=False,
    ),
]


TimeOption = Annotated[
    str | None,
    typer.Option(
        "--time",
        help="The payment's own ThoiGianGD (yyyyMMddHHmmss, from INIT), which the platform "
        "expects back; the current time if omitted.",
        show_default=False,
    ),
]


def _payment_time(text: str | None) -> str | None:
    """``--time`` checked: 14 digits, Vietnam time, as INIT carried it."""
    if text is None:
        return None
    from govlink.core.clock import parse_compact

    try:
        parse_compact(text.strip())
    except ValueError:
        raise UserError(
            f"--time {text!r} is not yyyyMMddHHmmss",
            hint="pass the payment's ThoiGianGD as sent in INIT, e.g. 20260105083000",
        ) from None
    return text.strip()


def parse_since(text: str | None) -> datetime | None:
    """``--since`` as an aware datetime (naive → Vietnam time)."""
    if text is None:
        return None
    from govlink.core.clock import VN_TZ

    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"--since {text!r} is not a date or date-time",
            hint="use ISO 8601, e.g. 2026-01-01 or 2026-01-01T08:00:00+07:00",
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=VN_TZ)


def _rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8-sig")
    if suffix in (".jsonl", ".ndjson", ".json"):
        return read_json_lines(path, text)
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames:
            raise UserError(f"{path} is empty", hint="the first line names the columns")
        return [
            (number, {k: v for k, v in row.items() if k and v not in (None, "")})
            for number, row in enumerate(reader, start=2)
        ]
    raise UserError(
        f"{path}: unknown ledger format {suffix or '(no extension)'}",
        hint="use a .csv file with a header row or a .jsonl file",
    )


def read_ledger(path: Path) -> list[LocalPayment]:
    """The ledger as :class:`LocalPayment` objects; a bad line is a one-line error."""
    from pydantic import ValidationError as PydanticValidationError

    from govlink.core.clock import VN_TZ
    from govlink.payments import LocalPayment

    payments = []
    for number, row in _rows(path):
        try:
            payment = LocalPayment.model_validate(row)
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = str(first["msg"]).removeprefix("Value error, ")
            raise UserError(
                f"{path}:{number}: {where}: {message}",
                hint="columns: reference, amount (whole VND), status "
                "(pending/paid/failed/cancelled), created_at",
            ) from None
        if payment.created_at is not None and payment.created_at.tzinfo is None:
            payment.created_at = payment.created_at.replace(tzinfo=VN_TZ)
        payments.append(payment)
    return payments


def _render_report(report: ReconcileReport) -> None:
    from rich.table import Table

    from govlink.payments import format_vnd

    out = console()
    if report.differences:
        table = Table(title="Differences between your ledger and the payment platform")
        for column in ("Reference", "Difference", "Here", "Platform", "Amount here"):
            table.add_column(column)
        table.add_column("Amount there")
        table.add_column("Transaction")
        for d in report.differences:
            table.add_row(
                d.reference,
                d.kind.value.replace("_", " "),
                d.local_state.value,
                d.remote_state.value,
                format_vnd(d.local_amount),
                "" if d.remote_amount is None else format_vnd(d.remote_amount),
                d.transaction_id or "",
            )
        out.print(table)
    if report.errors:
        table = Table(title="Payments that could not be checked")
        table.add_column("Reference")
        table.add_column("Problem")
        for problem in report.errors:
            table.add_row(problem.reference, problem.message)
        out.print(table)
    summary = (
        f"checked {report.checked}, {len(report.differences)} difference(s), "
        f"{len(report.errors)} problem(s)"
        + (f", {report.skipped} skipped (before --since)" if report.skipped else "")
    )
    out.print(("✓ the books agree: " if report.ok else "✗ ") + summary)


@app.command()
def reconcile(
    ledger: LedgerOption,
    since: SinceOption = None,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Query every payment of the ledger and show where the platform disagrees."""
    from govlink.payments import PaymentClient

    payments = read_ledger(ledger)
    after = parse_since(since)
    with (
        platform_client(PaymentClient, profile, profile_file) as client,
        progress(json_output=json_output) as bar,
    ):
        task = bar.add_task("Reconciling", total=len(payments))
        report = client.reconcile(
            payments, since=after, on_progress=lambda _p, _d: bar.advance(task)
        )
    print_result(report.to_dict(), json_output, lambda: _render_report(report))
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def status(
    reference: Annotated[str, typer.Argument(help="The payment's MaThamChieu.")],
    time: TimeOption = None,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """The platform's view of one payment (QUERY)."""
    from govlink.payments import PaymentClient

    with platform_client(PaymentClient, profile, profile_file) as client:
        result = client.query_payment(reference, at=_payment_time(time))
    print_result(
        {"state": result.state.value, **result.to_wire()},
        json_output,
        lambda: _print_payment(reference, result),
    )


def _print_payment(reference: str, result: PaymentStatus) -> None:
    from rich.table import Table

    from govlink.payments import format_vnd

    table = Table(show_header=False, title=f"Payment {reference}")
    rows = [
        ("State", result.state.value),
        ("Amount (VND)", "" if result.amount is None else format_vnd(result.amount)),
        ("Currency", result.currency),
        ("Transaction id", result.transaction_id or ""),
        ("Bank", result.bank_code),
        ("Time (ThoiGianGD)", result.transaction_time),
        ("Description", result.description),
    ]
    for label, value in rows:
        table.add_row(label, value)
    console().print(table)


@app.command()
def receipt(
    reference: Annotated[str, typer.Argument(help="The payment's MaThamChieu.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to save the PDF (default: bienlai-REFERENCE.pdf).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    time: TimeOption = None,
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Download the e-receipt PDF of a paid payment (GET_BILL)."""
    from govlink.payments import PaymentClient

    target = output or Path(f"bienlai-{reference}.pdf")
    with platform_client(PaymentClient, profile, profile_file) as client:
        saved = client.get_receipt(reference, target, at=_payment_time(time))
    print_result(
        {"reference": reference, "path": str(saved.path), "size": saved.size},
        json_output,
        f"✓ e-receipt of {reference} saved to {saved.path} ({saved.size:,} bytes)",
    )
