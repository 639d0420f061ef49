"""``govlink dossiers push`` never loses data silently: event keys, formats, columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_dossiers_cli import _applied, _run

from govlink.testing import MockHandle

pytestmark = pytest.mark.e2e

ROW = "H47-{n},1.001193,{status},20260302080000,{flag}\n"
HEAD = "MaHoSo,MaTTHC,TrangThaiHoSo,NgayTiepNhan,isUpdating"


def _statuses(mock: MockHandle, code: str) -> int:
    return len(_applied(mock).get(code, []))


def test_a_dossier_returning_to_an_earlier_state_is_not_dropped(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    export = tmp_path / "day.csv"
    rows = [ROW.format(n=1, status=s, flag=f) for s, f in ((1, "False"), (2, "True"))]
    rows += [ROW.format(n=1, status=s, flag="True") for s in (5, 2, 5, 2)]
    export.write_text(HEAD + "\n" + "".join(rows), encoding="utf-8")
    first = _run(govlink_mock, "dossiers", "push", str(export), "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["queued"] == 6
    assert _statuses(govlink_mock, "H47-1") == 6
    again = _run(govlink_mock, "dossiers", "push", str(export), "--json", cwd=tmp_path)
    report = json.loads(again.stdout)
    assert (report["queued"], report["already_queued"]) == (0, 6)  # exact re-push: nothing
    assert _statuses(govlink_mock, "H47-1") == 6


def test_changed_at_identifies_changes_across_days(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    head = HEAD + ",changed_at\n"
    days = [
        ("1", "False", "02/03/2026 08:00"),
        ("2", "True", "2026-03-02T09:00:00+07:00"),
        ("5", "True", "03/03/2026 10:15:00"),
        ("2", "True", "20260304110000"),
    ]
    for n, (status, flag, at) in enumerate(days):
        export = tmp_path / f"day{n}.csv"
        export.write_text(head + f"H47-9,1.001193,{status},20260302080000,{flag},{at}\n")
        result = _run(govlink_mock, "dossiers", "push", str(export), "--json", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["keyed_by"] == "changed_at"
    assert _statuses(govlink_mock, "H47-9") == 4  # the last 2 was not taken for a re-push
    again = _run(govlink_mock, "dossiers", "push", str(tmp_path / "day3.csv"), cwd=tmp_path)
    assert again.returncode == 0
    assert _statuses(govlink_mock, "H47-9") == 4


def test_without_an_event_column_a_later_identical_row_is_reported_not_dropped(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    for n, body in enumerate(("1,False\n", "2,True\n", "5,True\n", "2,True\n")):
        status, flag = body.strip().split(",")
        export = tmp_path / f"day{n}.csv"
        export.write_text(HEAD + "\n" + ROW.format(n=7, status=status, flag=flag))
        result = _run(govlink_mock, "dossiers", "push", str(export), "--json", cwd=tmp_path)
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert "changed_at" in report["problems"][0]["message"]
    assert report["queued"] == 0


def test_semicolons_bom_and_vietnamese_dates(govlink_mock: MockHandle, tmp_path: Path) -> None:
    export = tmp_path / "excel.csv"
    text = "MaHoSo;MaTTHC;TrangThaiHoSo;NgayTiepNhan;NgayHenTra\n"
    text += "H47-20;1.001193;1;02/03/2026 08:30;2026-03-09\n"
    export.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    result = _run(govlink_mock, "dossiers", "push", str(export), "--create", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    got = _run(govlink_mock, "dossiers", "get", "H47-20", "--json", cwd=tmp_path)
    dossier = json.loads(got.stdout)
    assert dossier["NgayTiepNhan"] == "20260302083000"
    assert dossier["NgayHenTra"] == "20260309000000"


def test_unknown_and_misspelt_columns_are_named_once(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    export = tmp_path / "typo.csv"
    rows = "".join(f"H47-3{n},1.001193,1,20260302080000,x\n" for n in range(50))
    export.write_text("MaHoSo,MaTTHC,TrangThaiHoSoo,NgayTiepNhan,GhiChuu\n" + rows)
    result = _run(govlink_mock, "dossiers", "push", str(export), "--create", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("TrangThaiHoSo") == 2  # once, not once per row
    assert "did you mean the required column TrangThaiHoSo?" in result.stderr
    assert "'GhiChuu' (line 2) (did you mean GhiChu?)" in result.stderr
    assert _applied(govlink_mock) == {}

    export.write_text(
        "MaHoSo,MaTTHC,TrangThaiHoSo,NgayTiepNhan,MaNoiBo\nH47-40,1.001193,1,20260302080000,A7\n"
    )
    passed = _run(
        govlink_mock, "dossiers", "push", str(export), "--create", "--allow-unknown-columns",
        "--json", cwd=tmp_path,
    )  # fmt: skip
    assert passed.returncode == 0, passed.stderr
    assert json.loads(passed.stdout)["unknown_columns"] == ["MaNoiBo"]


def test_encoding_empty_file_and_unpublished_status(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    export = tmp_path / "cp.csv"
    text = "MaHoSo,MaTTHC,TrangThaiHoSo,NgayTiepNhan,ChuHoSo\n"
    text += "H47-50,1.001193,1,20260302080000,Nguyen Van A\n"
    text += "H47-51,1.001193,1,20260302080000,Lê Bé\n"
    export.write_bytes(text.encode("cp1258"))
    result = _run(govlink_mock, "dossiers", "push", str(export), "--create", cwd=tmp_path)
    assert result.returncode == 2
    assert "line 3" in result.stderr
    assert "--encoding" in result.stderr
    fixed = _run(
        govlink_mock, "dossiers", "push", str(export), "--create", "--encoding", "cp1258",
        cwd=tmp_path,
    )  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr

    empty = tmp_path / "empty.csv"
    empty.write_text(HEAD + "\n")
    result = _run(govlink_mock, "dossiers", "push", str(empty), cwd=tmp_path)
    assert result.returncode == 2
    assert "has no rows" in result.stderr

    odd = tmp_path / "odd.csv"
    odd.write_text(HEAD + "\n" + ROW.format(n=60, status=11, flag="False"))
    result = _run(govlink_mock, "dossiers", "push", str(odd), "--json", cwd=tmp_path)
    assert result.returncode == 2
    problem = json.loads(result.stdout)["problems"][0]
    assert problem["field"] == "TrangThaiHoSo"
    assert "1–10" in problem["message"]


def test_outbox_retry_of_unknown_ids_exits_2(govlink_mock: MockHandle, tmp_path: Path) -> None:
    result = _run(govlink_mock, "outbox", "retry", "12345", cwd=tmp_path)
    assert result.returncode == 2
    assert "not dead change(s): 12345" in result.stderr
