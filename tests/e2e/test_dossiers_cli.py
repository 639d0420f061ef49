"""``govlink dossiers`` and ``govlink outbox`` as a user runs them (separate processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from govlink.testing import MockHandle

pytestmark = pytest.mark.e2e

HEADER = "MaHoSo,MaTTHC,TrangThaiHoSo,NgayTiepNhan,ChuHoSo,SoDienThoai,isUpdating\n"
GOOD_ROWS = (
    "H47-001,1.001193,1,20260302080000,NGUYỄN VĂN AN,0912345678,False\n"
    "H47-001,1.001193,2,20260302080000,NGUYỄN VĂN AN,0912345678,True\n"
    "H47-002,1.000894,1,20260302090000,TRẦN THỊ BÌNH,,False\n"
)
BAD_ROWS = (
    "H47-003,1.001193,1,02-03-2026,LÊ C,,False\n"  # line 5: bad date
    "H47-004,,1,20260302080000,PHẠM D,,False\n"  # line 6: no procedure
    "H47-002,1.000894,10,20260302090000,TRẦN THỊ BÌNH,,True\n"  # line 7: 1 -> 10 illegal
)


def _govlink() -> list[str]:
    script = Path(sys.executable).parent / "govlink"
    return [str(script)] if script.exists() else [sys.executable, "-m", "govlink.cli.app"]


def _run(mock: MockHandle, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GOVLINK_")}
    env |= {"COLUMNS": "200", "GOVLINK_DOSSIERS__BASE_URL": mock.url("dossiers")}
    return subprocess.run(
        [*_govlink(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _applied(mock: MockHandle) -> dict[str, list[str]]:
    reply = httpx.get(f"{mock.url('dossiers')}/_mock/received", timeout=10)
    history: dict[str, list[str]] = reply.json()["history"]
    return history


def test_push_reports_every_bad_row_and_sends_nothing(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    export = tmp_path / "day.csv"
    export.write_text(HEADER + GOOD_ROWS + BAD_ROWS, encoding="utf-8")
    result = _run(govlink_mock, "dossiers", "push", str(export), "--json", cwd=tmp_path)
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert [(p["line"], p["field"]) for p in report["problems"]] == [
        (5, "NgayTiepNhan"),
        (6, "MaTTHC"),
        (7, "TrangThaiHoSo"),
    ]
    assert "1 Mới đăng ký (new) → 10" in report["problems"][2]["message"]
    assert report["queued"] == 0
    assert "lines 5, 6, 7" in result.stderr
    assert "nothing was queued or sent" in result.stderr
    assert _applied(govlink_mock) == {}
    status = _run(govlink_mock, "outbox", "status", "--json", cwd=tmp_path)
    assert json.loads(status.stdout)["total"] == 0


def test_push_skip_invalid_delivers_the_rest_once(govlink_mock: MockHandle, tmp_path: Path) -> None:
    export = tmp_path / "day.csv"
    export.write_text(HEADER + GOOD_ROWS + BAD_ROWS, encoding="utf-8")
    result = _run(govlink_mock, "dossiers", "push", str(export), "--skip-invalid", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "queued 3 change(s)" in result.stdout
    assert "skipped 3 invalid row(s)" in result.stdout
    assert "delivered 3 change(s)" in result.stdout
    assert "0912345678" not in result.stdout + result.stderr  # masked
    history = _applied(govlink_mock)
    assert {k: len(v) for k, v in history.items()} == {"H47-001": 2, "H47-002": 1}
    again = _run(
        govlink_mock, "dossiers", "push", str(export), "--skip-invalid", "--json", cwd=tmp_path
    )
    report = json.loads(again.stdout)
    assert (report["queued"], report["already_queued"]) == (0, 3)  # same file: nothing new
    assert {k: len(v) for k, v in _applied(govlink_mock).items()} == {"H47-001": 2, "H47-002": 1}


def test_push_jsonl_progress_and_get(govlink_mock: MockHandle, tmp_path: Path) -> None:
    dossiers = tmp_path / "dossiers.jsonl"
    dossiers.write_text(
        json.dumps(
            {
                "MaHoSo": "H47-010",
                "MaTTHC": "1.001193",
                "TrangThaiHoSo": "4",
                "NgayTiepNhan": "20260302080000",
                "ChuHoSo": "NGUYỄN VĂN AN",
                "SoGiayToChuHoSo": "001099012345",
                "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "Gia": "8000"}],
            },
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    steps = tmp_path / "steps.csv"
    steps.write_text(
        "MaHoSo,NguoiXuLy,ThoiDiemXuLy,TrangThai,NoiDungXuLy\n"
        "H47-010,Trần Thị B,20260302093000,4,Thẩm định hồ sơ\n",
        encoding="utf-8",
    )
    pushed = _run(govlink_mock, "dossiers", "push", str(dossiers), "--create", cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    stepped = _run(govlink_mock, "dossiers", "push", str(steps), "--kind", "progress", cwd=tmp_path)
    assert stepped.returncode == 0, stepped.stderr
    shown = _run(govlink_mock, "dossiers", "get", "H47-010", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "4 Đang xử lý (processing)" in shown.stdout
    assert "Thẩm định hồ sơ" in shown.stdout
    assert "NGUYỄN VĂN AN" not in shown.stdout
    assert "001099012345" not in shown.stdout
    raw = _run(govlink_mock, "dossiers", "get", "H47-010", "--json", "--unmask", cwd=tmp_path)
    data = json.loads(raw.stdout)
    assert data["SoGiayToChuHoSo"] == "001099012345"
    assert data["DanhSachLePhi"][0]["Gia"] == "8000"
    missing = _run(govlink_mock, "dossiers", "get", "H47-404", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: TraCuuHoSo")


def test_outbox_dead_and_retry(govlink_mock: MockHandle, tmp_path: Path) -> None:
    export = tmp_path / "bad-procedure.csv"
    export.write_text(HEADER + "H47-020,9.999999,1,20260302080000,A,,False\n", encoding="utf-8")
    pushed = _run(govlink_mock, "dossiers", "push", str(export), cwd=tmp_path)
    assert pushed.returncode == 1  # the portal refused it: dead-lettered
    dead = _run(govlink_mock, "outbox", "dead", "--json", cwd=tmp_path)
    [item] = json.loads(dead.stdout)
    assert item["ma_ho_so"] == "H47-020"
    assert "9.999999" in item["reason"]
    assert "[12]" in item["reason"]
    retried = _run(govlink_mock, "outbox", "retry", str(item["id"]), "--drain", cwd=tmp_path)
    assert retried.returncode == 1  # still refused
    assert "1 dead change(s) back in the queue" in retried.stdout
    discarded = _run(govlink_mock, "outbox", "discard", str(item["id"]), cwd=tmp_path)
    assert discarded.returncode == 0
    status = json.loads(_run(govlink_mock, "outbox", "status", "--json", cwd=tmp_path).stdout)
    assert (status["dead"], status["discarded"]) == (0, 1)
    usage = _run(govlink_mock, "outbox", "retry", cwd=tmp_path)
    assert usage.returncode == 2
    assert usage.stderr.startswith("error: say which dead changes")


def test_no_drain_then_outbox_drain(govlink_mock: MockHandle, tmp_path: Path) -> None:
    export = tmp_path / "day.csv"
    export.write_text(HEADER + GOOD_ROWS, encoding="utf-8")
    outbox = tmp_path / "queue" / "o.db"
    outbox.parent.mkdir()
    queued = _run(
        govlink_mock, "dossiers", "push", str(export), "--no-drain", "--outbox", str(outbox),
        cwd=tmp_path,
    )  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    assert _applied(govlink_mock) == {}
    drained = _run(govlink_mock, "outbox", "drain", "--outbox", str(outbox), "--json", cwd=tmp_path)
    assert drained.returncode == 0, drained.stderr
    report = json.loads(drained.stdout)
    assert report["delivered"] == 3
    assert report["outbox"]["done"] == 3


def test_satisfaction_and_questions_and_answers_from_the_command_line(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    stats = tmp_path / "stats.json"
    stats.write_text(
        json.dumps(
            [{"period": "3-2026", "respondents": 120, "satisfied": 90, "subject": "Thái độ"}]
        ),
        encoding="utf-8",
    )
    done = _run(govlink_mock, "dossiers", "satisfaction", str(stats), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["service"] == "DongBoDanhGia"
    bad = tmp_path / "bad.json"
    bad.write_text('[{"NgayTongHop": "2026-03"}]', encoding="utf-8")
    refused = _run(govlink_mock, "dossiers", "satisfaction", str(bad), cwd=tmp_path)
    assert refused.returncode == 2
    assert "NgayTongHop" in refused.stderr
    assert "Traceback" not in refused.stderr

    listed = _run(govlink_mock, "dossiers", "questions", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    assert found
    assert "tran.thi.binh@" not in listed.stdout  # askers' e-mails masked by default
    answers = tmp_path / "answers.jsonl"
    answers.write_text(
        json.dumps(
            {
                "question_id": found[0]["question_id"],
                "content": "Cần tờ khai và giấy chứng sinh.",
                "answered_on": "2026-03-05",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    sent = _run(govlink_mock, "dossiers", "push-answers", str(answers), cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr
    assert govlink_mock.state()["dossiers"]["answers_pushed"] == 1


def test_receive_stores_what_the_portal_pushes_then_stops(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GOVLINK_")}
    env["COLUMNS"] = "200"
    out = tmp_path / "incoming"
    args = ["dossiers", "receive", "--port", "0", "--max", "2", "--out", str(out)]
    with subprocess.Popen(
        [*_govlink(), *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = next(word for word in first.split() if word.startswith("http://")).rstrip(";")
        reply = httpx.post(
            f"{govlink_mock.url('dossiers')}/_mock/deliver", params={"to": url}, timeout=30
        ).json()
        assert reply["delivered"] == 2
        process.wait(timeout=30)
        rest = process.stdout.read()
    assert process.returncode == 0
    assert "stored 2 dossier(s)" in rest
    saved = [json.loads(p.read_text("utf-8")) for p in out.glob("*.json")]
    assert {s["data"]["MaHoSo"] for s in saved} == {"G22.99-260301-0042", "G22.99-260301-0043"}
