"""Piped output never truncates identifiers: a script greps a long MaHoSo out whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from govlink.testing import MockHandle

pytestmark = pytest.mark.e2e

LONG = "H47-" + "2026-0302-" * 6 + "000123456789"


def _run(mock: MockHandle, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "govlink"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "govlink.cli.app"]
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GOVLINK_")}
    env.pop("COLUMNS", None)
    env |= {"GOVLINK_DOSSIERS__BASE_URL": mock.url("dossiers"), "COLUMNS": "40"}
    return subprocess.run(
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_a_long_mahoso_is_whole_in_piped_tables(govlink_mock: MockHandle, tmp_path: Path) -> None:
    dossier = {
        "MaHoSo": LONG,
        "MaTTHC": "1.001193",
        "TrangThaiHoSo": "4",
        "NgayTiepNhan": "20260302080000",
        "ChuHoSo": "NGUYỄN VĂN AN",
    }
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(dossier, ensure_ascii=False) + "\n", encoding="utf-8")
    pushed = _run(govlink_mock, "dossiers", "push", str(path), "--create", cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    shown = _run(govlink_mock, "dossiers", "get", LONG, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert LONG in shown.stdout  # whole, on one line, despite COLUMNS=40
    assert "…" not in shown.stdout
