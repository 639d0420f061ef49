"""``govlink citizens`` as a user runs it (a separate process) against the mock."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from govlink.testing import MockHandle

pytestmark = pytest.mark.e2e


def _govlink() -> list[str]:
    script = Path(sys.executable).parent / "govlink"
    return [str(script)] if script.exists() else [sys.executable, "-m", "govlink.cli.app"]


def _run(mock: MockHandle, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GOVLINK_")}
    env |= {"COLUMNS": "200", "GOVLINK_CITIZENS__BASE_URL": mock.url("citizens")}
    return subprocess.run(
        [*_govlink(), "citizens", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


AN = ["--id", "001085000001", "--name", "nguyễn văn an", "--dob", "1985-03-12"]


def test_lookup_is_masked_by_default(govlink_mock: MockHandle, tmp_path: Path) -> None:
    result = _run(govlink_mock, "lookup", *AN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "*********001" in result.stdout
    for secret in ("001085000001", "NGUYỄN", "1985-03-12", "034055000011"):
        assert secret not in result.stdout


def test_lookup_unmasked_json(govlink_mock: MockHandle, tmp_path: Path) -> None:
    result = _run(govlink_mock, "lookup", *AN, "--unmask", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["id_number"] == "001085000001"
    assert data["name"]["full_name"] == "NGUYỄN VĂN AN"
    assert data["birth_date"] == "1985-03-12"
    assert len(data["request_id"]) == 32


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["--id", "0010850001", "--name", "A", "--dob", "1985"], "error: --id: expected 12 digits"),
        (["--id", "001085000001", "--name", "A", "--dob", "85"], "error: --dob: expected"),
        (["--id", "001085000001", "--name", "A1", "--dob", "1985"], "error: --name: expected"),
        (["--id", "001085000001", "--name", "A"], "error: Missing option '--dob'"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    govlink_mock: MockHandle, tmp_path: Path, args: list[str], start: str
) -> None:
    result = _run(govlink_mock, "lookup", *args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(start)
    assert "0010850001" not in result.stderr  # the rejected ID is masked too


def test_not_found_exits_1_with_one_line(govlink_mock: MockHandle, tmp_path: Path) -> None:
    result = _run(
        govlink_mock,
        "lookup",
        "--id",
        "001099000099",
        "--name",
        "A",
        "--dob",
        "1985",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "KHONG_TIM_THAY" in lines[0]


def test_batch_writes_one_status_per_row(govlink_mock: MockHandle, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(
        "\ufeffid,name,dob\n"
        "001085000001,Nguyễn Văn An,1985-03-12\n"
        "001188000002,trần thị bình,19880721\n"
        "020000003,Lê Hoàng Cường,1962\n"
        "001099000099,Không Có,1990\n"
        "12345,Sai Số,1990\n",
        encoding="utf-8",
    )
    out = tmp_path / "results.csv"
    result = _run(
        govlink_mock, "batch", str(source), "-o", str(out), "--concurrency", "4", cwd=tmp_path
    )
    assert result.returncode == 1  # the invalid row
    assert "5 rows" in result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "not_found", "invalid"]
    assert [r["row"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0]["id_number"] == "*********001"
    assert "NGUYỄN" not in out.read_text(encoding="utf-8")
    assert rows[3]["error_code"] == "KHONG_TIM_THAY"
    assert rows[4]["error_code"] == "id_number"


def test_batch_unmasked_jsonl(govlink_mock: MockHandle, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text("so_dinh_danh,ho_ten,ngay_sinh\n001085000001,Nguyễn Văn An,1985\n")
    out = tmp_path / "results.jsonl"
    result = _run(govlink_mock, "batch", str(source), "-o", str(out), "--unmask", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert record["status"] == "ok"
    assert record["id_number"] == "001085000001"
    assert record["full_name"] == "NGUYỄN VĂN AN"


def test_batch_without_the_needed_columns_is_a_user_error(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("who,when\nx,y\n")
    result = _run(govlink_mock, "batch", str(source), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no column 'id_number'" in lines[0]


def test_batch_json_and_resume_send_only_what_was_not_answered(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    source.write_text(
        "id,name,dob\n001085000001,Nguyễn Văn An,1985-03-12\n001188000002,Trần Thị Bình,1988\n",
        encoding="utf-8",
    )
    out = tmp_path / "results.jsonl"
    # an earlier run that stopped: row 1 answered, row 2 failed
    out.write_text(
        json.dumps({"row": 1, "status": "ok", "id_number": "*********001"})
        + "\n"
        + json.dumps({"row": 2, "status": "error", "error": "connection reset"})
        + "\n",
        encoding="utf-8",
    )
    govlink_mock.reset()
    result = _run(
        govlink_mock, "batch", str(source), "-o", str(out), "--json", "--resume", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "1 of 2 rows already answered" in result.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["row"], r["status"]) for r in records] == [(1, "ok"), (2, "ok")]
    sent = [e for e in govlink_mock.journal(platform="citizens") if e["method"] == "POST"]
    assert len(sent) == 1  # only row 2 went to the service
    stdout = _run(govlink_mock, "batch", str(source), "--json", cwd=tmp_path)
    assert [json.loads(line)["status"] for line in stdout.stdout.splitlines()] == ["ok", "ok"]


@pytest.mark.parametrize(
    ("command", "expect"),
    [("household", "members[2]"), ("marital-status", "status"), ("identity", "father")],
)
def test_person_commands_for_every_operation(
    govlink_mock: MockHandle, tmp_path: Path, command: str, expect: str
) -> None:
    result = _run(govlink_mock, command, *AN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert expect in result.stdout
    assert "001085000001" not in result.stdout


def test_request_status_of_an_earlier_lookup(govlink_mock: MockHandle, tmp_path: Path) -> None:
    looked = json.loads(_run(govlink_mock, "lookup", *AN, "--json", cwd=tmp_path).stdout)
    result = _run(govlink_mock, "request-status", looked["request_id"], "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "DA_XU_LY"
