"""A user's bad input is one line and exit 2, never "a govlink bug" nor a traceback.

Binary or non-UTF-8 ledgers, seeds, profile and .env files, a file that is not a
database, deeply nested JSON or TOML, a 20 MB CSV field, CR/LF in a URL, a --state
in a missing directory, and the mock server without the 'mock' extra.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

BINARY = b"\xff\xfe\x00\x9c binary \x00"
DEEP_JSON = "[" * 100_000 + "]" * 100_000
BIG_FIELD = "x" * (20 * 1024 * 1024)
BAD_JSON_LINE = '{"reference": "R1", "amount": 1, "status": "paid", "MaHoSo": "H1"}\nnot json\n'


def _write(tmp: Path, name: str, data: bytes | str) -> str:
    path = tmp / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return str(path)


Case = Callable[[Path, pytest.MonkeyPatch], Sequence[str]]

CASES: dict[str, tuple[Case, str]] = {
    "binary ledger (csv)": (
        lambda t, m: ["payments", "reconcile", "--ledger", _write(t, "l.csv", BINARY)],
        "UTF-8",
    ),
    "binary ledger (jsonl)": (
        lambda t, m: ["payments", "reconcile", "--ledger", _write(t, "l.jsonl", BINARY)],
        "UTF-8",
    ),
    "deeply nested ledger": (
        lambda t, m: ["payments", "reconcile", "--ledger", _write(t, "d.jsonl", DEEP_JSON)],
        "nested too deeply",
    ),
    "ledger line that is not JSON (payments reconcile)": (
        lambda t, m: ["payments", "reconcile", "--ledger", _write(t, "l.jsonl", BAD_JSON_LINE)],
        "l.jsonl:2: not a JSON object",
    ),
    "ledger line that is not JSON (report)": (
        lambda t, m: [
            "report",
            _write(t, "export.csv", "MaHoSo,TrangThaiHoSo\nH1,1\n"),
            "--from-reconcile",
            _write(t, "saved.json", '{"differences": []}'),
            "--ledger",
            _write(t, "l.jsonl", BAD_JSON_LINE),
        ],
        "l.jsonl:2: not a JSON object",
    ),
    "20 MB CSV field in a ledger": (
        lambda t, m: [
            "payments",
            "reconcile",
            "--ledger",
            _write(t, "big.csv", f'reference,amount,status\n"{BIG_FIELD}",1,paid\n'),
        ],
        "CSV",
    ),
    "20 MB CSV field in a dossier export": (
        lambda t, m: [
            "dossiers",
            "push",
            _write(t, "d.csv", f'MaHoSo,TrangThaiHoSo\n"{BIG_FIELD}",1\n'),
        ],
        "CSV",
    ),
    "binary profile file": (
        lambda t, m: [
            "config",
            "show",
            "--profile",
            "p",
            "--profile-file",
            _write(t, "p.toml", BINARY),
        ],
        "UTF-8",
    ),
    "deeply nested TOML profile": (
        lambda t, m: [
            "config",
            "show",
            "--profile",
            "p",
            "--profile-file",
            _write(t, "p.toml", "a = " + DEEP_JSON),
        ],
        "nested too deeply",
    ),
    "binary .env": (
        lambda t, m: (_write(t, ".env", BINARY), ["config", "show"])[1],
        "UTF-8",
    ),
    "binary seed": (
        lambda t, m: ["mock", "up", "--port", "0", "--seed", _write(t, "s.json", BINARY)],
        "UTF-8",
    ),
    "deeply nested seed": (
        lambda t, m: ["mock", "up", "--port", "0", "--seed", _write(t, "s.json", DEEP_JSON)],
        "nested too deeply",
    ),
    "mock state that is not a database": (
        lambda t, m: ["mock", "up", "--port", "0", "--state", _write(t, "s.db", BINARY * 100)],
        "SQLite",
    ),
    "outbox that is not a database": (
        lambda t, m: ["outbox", "status", "--outbox", _write(t, "o.db", BINARY * 100)],
        "SQLite",
    ),
    "--state in a missing directory": (
        lambda t, m: ["mock", "up", "--port", "0", "--state", str(t / "missing" / "s.db")],
        "does not exist",
    ),
    "file: secret without end": (
        lambda t, m: (
            m.setenv("GOVLINK_SSO__AUTH__CLIENT_SECRET", "file:/dev/zero"),
            ["config", "show"],
        )[1],
        "larger than",
    ),
    "profile file without end": (
        lambda t, m: ["config", "show", "--profile", "p", "--profile-file", "/dev/zero"],
        "larger than",
    ),
    "CR/LF in a URL": (
        lambda t, m: (
            m.setenv("GOVLINK_SSO__BASE_URL", "http://sso.example\r\n.vn/"),
            ["doctor", "--platform", "sso"],
        )[1],
        "URL",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_exit_2(
    case: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., Any],
) -> None:
    build, expected = CASES[case]
    args = build(tmp_path, monkeypatch)
    result = cli(*args)
    assert result.code == 2, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "govlink bug" not in result.err
    assert "Traceback" not in result.err


class _NoMockExtra(importlib.abc.MetaPathFinder):
    """As if 'pip install govlink' without the 'mock' extra: starlette cannot import."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] in {"starlette", "uvicorn"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def test_mock_up_without_the_mock_extra_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in {"starlette", "uvicorn", "mock_servers"} or name in {
            "govlink.cli.mock"
        }:
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_NoMockExtra(), *sys.meta_path])
    result = cli("mock", "up", "--port", "0")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "pip install 'govlink[mock]'" in lines[0]
    assert "govlink bug" not in result.err
