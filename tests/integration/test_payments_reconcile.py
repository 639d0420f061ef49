"""Reconcile a ledger against the mock platform (library, sync and async, and the CLI)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from payments_helpers import choose

from govlink.payments import (
    AsyncPaymentClient,
    DifferenceKind,
    LocalPayment,
    PaymentClient,
    ReconcileDifference,
)


@pytest.fixture
def payments(govlink_mock) -> Iterator[PaymentClient]:
    with PaymentClient(govlink_mock.settings()) as client:
        yield client


@pytest.fixture
def books(payments) -> list[LocalPayment]:
    """Four payments on the platform and the vendor's (partly wrong) ledger of them."""
    refs = {}
    for name, amount, pay in [
        ("paid_there", 30000, True),
        ("paid_here", 30000, False),
        ("amount", 150000, True),
        ("agree", 75000, True),
    ]:
        created = payments.create_payment(amount)
        if pay:
            choose(created.url)
        refs[name] = created.reference
    return [
        LocalPayment(reference=refs["paid_there"], amount=30000, status="pending"),
        LocalPayment(reference=refs["paid_here"], amount=30000, status="paid"),
        LocalPayment(reference=refs["amount"], amount=100000, status="paid"),
        LocalPayment(reference=refs["agree"], amount=75000, status="paid"),
        LocalPayment(reference="GLNEVERSENT0001", amount=30000, status="pending"),
    ]


EXPECTED = [
    DifferenceKind.PAID_THERE_PENDING_HERE,
    DifferenceKind.PAID_HERE_NOT_THERE,
    DifferenceKind.AMOUNT_MISMATCH,
    DifferenceKind.UNKNOWN_THERE,
]


def test_reconcile_finds_the_differences_and_settles(payments, books):
    settled: list[ReconcileDifference] = []
    report = payments.reconcile(books, settle=settled.append)
    assert [d.kind for d in report.differences] == EXPECTED
    assert report.checked == 5
    assert report.errors == []
    paid_there = report.differences[0]
    assert paid_there.reference == books[0].reference
    assert paid_there.transaction_id
    assert [d.reference for d in settled] == [d.reference for d in report.differences]
    mismatch = report.differences[2]
    assert (mismatch.local_amount, mismatch.remote_amount) == (100000, 150000)


async def test_reconcile_async(govlink_mock, books):
    async with AsyncPaymentClient(govlink_mock.settings()) as client:
        report = await client.reconcile(books, concurrency=3)
    assert [d.kind for d in report.differences] == EXPECTED


@pytest.fixture
def cli_env(govlink_mock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from govlink.cli.app import run

    for name in list(os.environ):
        if name.upper().startswith("GOVLINK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("GOVLINK_PAYMENTS__BASE_URL", f"{govlink_mock.base_url}/payment")
    return run


def write_ledger(path: Path, books: list[LocalPayment]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["reference", "amount", "status", "created_at"])
        for p in books:
            writer.writerow([p.reference, p.amount, p.status.value, "2026-01-05 08:30:00"])
    return path


def test_cli_reconcile_json_and_table(cli_env, books, tmp_path: Path, capsys):
    ledger = write_ledger(tmp_path / "ledger.csv", books)
    code = cli_env(["payments", "reconcile", "--ledger", str(ledger), "--json"])
    out = capsys.readouterr().out
    assert code == 1  # differences found
    report = json.loads(out)
    assert [d["kind"] for d in report["differences"]] == [k.value for k in EXPECTED]
    assert report["checked"] == 5

    code = cli_env(["payments", "reconcile", "--ledger", str(ledger)])
    out = capsys.readouterr().out
    assert code == 1
    assert "paid there pending here" in out
    assert books[0].reference in out
    assert "4 difference(s)" in out
    assert "150.000" in out  # amounts in the Vietnamese format, like the page and receipt
    assert "150,000" not in out

    code = cli_env(
        ["payments", "reconcile", "--ledger", str(ledger), "--since", "2026-02-01", "--json"]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == 5


def test_cli_reconcile_jsonl_agreeing_books(cli_env, payments, tmp_path: Path, capsys):
    created = payments.create_payment(30000)
    choose(created.url)
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text(
        json.dumps({"MaThamChieu": created.reference, "SoTien": 30000, "status": "paid"}) + "\n"
    )
    code = cli_env(["payments", "reconcile", "--ledger", str(ledger)])
    assert code == 0
    assert "the books agree" in capsys.readouterr().out


def test_cli_bad_ledger_line_is_one_line_error(cli_env, tmp_path: Path, capsys):
    ledger = tmp_path / "ledger.csv"
    ledger.write_text("reference,amount,status\nR1,150000.50,paid\n")
    code = cli_env(["payments", "reconcile", "--ledger", str(ledger)])
    err = capsys.readouterr().err
    assert code == 2
    assert "ledger.csv:2: amount" in err
    assert "whole VND" in err
    assert "Traceback" not in err


def test_cli_status_and_receipt(cli_env, payments, tmp_path: Path, capsys):
    created = payments.create_payment(30000)
    choose(created.url)
    assert cli_env(["payments", "status", created.reference, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "paid"
    assert shown["SoTien"] == 30000

    assert (
        cli_env(["payments", "status", created.reference, "--time", created.transaction_time]) == 0
    )
    assert "30.000" in capsys.readouterr().out
    assert cli_env(["payments", "status", created.reference, "--time", "yesterday"]) == 2
    assert "--time" in capsys.readouterr().err

    target = tmp_path / "receipt.pdf"
    assert cli_env(["payments", "receipt", created.reference, "-o", str(target)]) == 0
    assert "saved to" in capsys.readouterr().out
    assert target.read_bytes().startswith(b"%PDF-")

    assert cli_env(["payments", "status", "GLNOSUCHREF"]) == 1
    assert "no payment with this MaThamChieu" in capsys.readouterr().err
