"""Reconcile against the DVCQG mock: every class found, --fix repairs, 429 waited out."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from govlink.core.clock import VN_TZ
from govlink.dossiers import AsyncDossierClient, Dossier, DossierClient, ResultDocument
from govlink.dossiers._outbox import enqueue_dossiers
from govlink.dossiers._reconcile import (
    ReconcileClass,
    areconcile,
    outbox_blocks,
    reconcile,
)
from govlink.sync import open_outbox
from govlink.testing._handle import MockHandle

NOW = datetime.now(VN_TZ).replace(microsecond=0)
RECEIVED = NOW - timedelta(days=3)


def dossier(code: str, status: int, *, due_days: int = 10, results: int = 0) -> Dossier:
    return Dossier(
        ma_ho_so=code,
        procedure_code="1.001193",
        procedure_name="Đăng ký khai sinh",
        status=status,
        received_at=RECEIVED,
        due_at=NOW + timedelta(days=due_days),
        owner_name="NGUYỄN VĂN AN",
        result_documents=[
            ResultDocument(result_code=f"KQ-{code}-{i}", name="Giấy khai sinh")
            for i in range(results)
        ]
        or None,
    )


# what the portal holds, then what the province's export says
PORTAL = [
    dossier("RC-SYNC", 4),
    dossier("RC-DIFF", 4),
    dossier("RC-RESULTS", 10),
    dossier("RC-FINAL", 9),
    dossier("RC-LATE", 4, due_days=-2),
    dossier("RC-BLOCKED", 2),
]
LOCAL = [
    dossier("RC-SYNC", 4),
    dossier("RC-MISSING", 2),
    dossier("RC-DIFF", 5),
    dossier("RC-RESULTS", 10, results=1),
    dossier("RC-FINAL", 10, results=1),
    dossier("RC-LATE", 4, due_days=-2),
    dossier("RC-BLOCKED", 4),
]
EXPECTED = {
    "RC-SYNC": ReconcileClass.IN_SYNC,
    "RC-MISSING": ReconcileClass.MISSING_ON_PORTAL,
    "RC-DIFF": ReconcileClass.STATUS_DIFFERS,
    "RC-RESULTS": ReconcileClass.RESULTS_MISSING,
    "RC-FINAL": ReconcileClass.STUCK,
    "RC-LATE": ReconcileClass.STUCK,
    "RC-BLOCKED": ReconcileClass.BLOCKED,
}


def _seed_portal(mock: MockHandle) -> None:
    with DossierClient(mock.settings()) as client:
        # create at 1, then move each to its portal status along legal steps (forced)
        client.sync_dossiers(PORTAL, is_updating=False, force=True)


@pytest.fixture
def portal(govlink_mock: MockHandle, tmp_path: Path):
    _seed_portal(govlink_mock)
    store = open_outbox(tmp_path / "outbox.db")
    enqueue_dossiers(store, [LOCAL[-1]], is_updating=True, force=True, check_queued=False)
    yield store
    store.close()


def test_reconcile_finds_every_class_in_input_order(govlink_mock: MockHandle, portal) -> None:
    with DossierClient(govlink_mock.settings()) as client:
        entries = list(reconcile(client, LOCAL, concurrency=3, blocked=outbox_blocks(portal)))
    assert [e.dossier_code for e in entries] == [d.ma_ho_so for d in LOCAL]
    assert {e.dossier_code: e.kind for e in entries} == EXPECTED
    diff = next(e for e in entries if e.dossier_code == "RC-DIFF")
    assert (int(diff.local_status), int(diff.portal_status or 0)) == (5, 4)
    blocked = next(e for e in entries if e.kind is ReconcileClass.BLOCKED)
    assert blocked.blocked is not None
    assert blocked.blocked.state == "pending"
    # the blocked dossier was not looked up at all
    assert govlink_mock.count(platform="dossiers") >= len(LOCAL) - 1


def test_async_reconcile_agrees(govlink_mock: MockHandle, portal) -> None:
    async def run() -> dict[str, ReconcileClass]:
        async with AsyncDossierClient(govlink_mock.settings()) as client:
            found = {}
            async for entry in areconcile(
                client, LOCAL, concurrency=4, blocked=outbox_blocks(portal)
            ):
                found[entry.dossier_code] = entry.kind
            return found

    assert asyncio.run(run()) == EXPECTED


def test_rate_limiting_is_waited_out(govlink_mock: MockHandle) -> None:
    _seed_portal(govlink_mock)
    govlink_mock.set_fault("dossiers", status=429, count=3, retry_after=0)
    waits: list[float] = []
    settings = govlink_mock.settings(http={"max_retries": 0})
    with DossierClient(settings) as client:
        entries = list(reconcile(client, LOCAL[:3], concurrency=1, sleep=waits.append))
    assert [e.kind for e in entries] == [
        ReconcileClass.IN_SYNC,
        ReconcileClass.MISSING_ON_PORTAL,
        ReconcileClass.STATUS_DIFFERS,
    ]
    assert len(waits) == 3


# ---------------------------------------------------------------------------- CLI


def _govlink() -> list[str]:
    script = Path(sys.executable).parent / "govlink"
    return [str(script)] if script.exists() else [sys.executable, "-m", "govlink.cli.app"]


def _run(mock: MockHandle, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GOVLINK_")}
    env |= {"COLUMNS": "200", "GOVLINK_DOSSIERS__BASE_URL": mock.url("dossiers")}
    return subprocess.run(
        [*_govlink(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _export(path: Path, dossiers: list[Dossier]) -> Path:
    lines = []
    for d in dossiers:
        wire = d.to_wire()
        row = {k: v for k, v in wire.items() if v not in (None, "", [])}
        lines.append(json.dumps(row, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cli_reports_fixes_and_then_everything_is_in_sync(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    _seed_portal(govlink_mock)
    local = [d for d in LOCAL if d.ma_ho_so not in ("RC-BLOCKED", "RC-LATE")]
    export = _export(tmp_path / "export.jsonl", local)
    first = _run(
        govlink_mock,
        tmp_path,
        "dossiers",
        "reconcile",
        str(export),
        "--json",
        "--csv",
        str(tmp_path / "diff.csv"),
    )
    assert first.returncode == 1, first.stderr
    report = json.loads(first.stdout)
    assert report["summary"] == {
        "in_sync": 1,
        "missing_on_portal": 1,
        "status_differs": 1,
        "results_missing": 1,
        "stuck": 1,
        "blocked": 0,
    }
    assert {d["MaHoSo"]: d["class"] for d in report["differences"]} == {
        "RC-MISSING": "missing_on_portal",
        "RC-DIFF": "status_differs",
        "RC-RESULTS": "results_missing",
        "RC-FINAL": "stuck",
    }
    csv_lines = (tmp_path / "diff.csv").read_text(encoding="utf-8").splitlines()
    assert csv_lines[0].startswith("MaHoSo,class,local_status,portal_status")
    assert len(csv_lines) == 5

    fixed = _run(govlink_mock, tmp_path, "dossiers", "reconcile", str(export), "--fix", "--json")
    assert fixed.returncode == 1
    assert sorted(json.loads(fixed.stdout)["fix"]["queued"]) == [
        "RC-DIFF",
        "RC-FINAL",
        "RC-MISSING",
        "RC-RESULTS",
    ]
    # before draining, the fixes are pending: the dossiers show as blocked, not re-queued
    again = _run(govlink_mock, tmp_path, "dossiers", "reconcile", str(export), "--fix", "--json")
    assert json.loads(again.stdout)["summary"]["blocked"] == 4
    assert json.loads(again.stdout)["fix"]["queued"] == []
    drain = _run(govlink_mock, tmp_path, "outbox", "drain", "--json")
    assert drain.returncode == 0, drain.stderr
    final = _run(govlink_mock, tmp_path, "dossiers", "reconcile", str(export))
    assert final.returncode == 0, final.stdout + final.stderr
    assert "in_sync" in final.stdout


def test_cli_refuses_an_illegal_fix_unless_forced_for_that_dossier(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    with DossierClient(govlink_mock.settings()) as client:
        client.sync_dossiers(
            [dossier("RC-BACK", 10, results=1), dossier("RC-BACK2", 10, results=1)],
            is_updating=False,
            force=True,
        )
    export = _export(tmp_path / "export.jsonl", [dossier("RC-BACK", 4), dossier("RC-BACK2", 4)])
    refused = _run(govlink_mock, tmp_path, "dossiers", "reconcile", str(export), "--fix", "--json")
    fix = json.loads(refused.stdout)["fix"]
    assert fix["queued"] == []
    assert {r["MaHoSo"] for r in fix["refused"]} == {"RC-BACK", "RC-BACK2"}
    assert "10 → 4" in fix["refused"][0]["reason"]
    forced = _run(
        govlink_mock,
        tmp_path,
        "dossiers",
        "reconcile",
        str(export),
        "--fix",
        "--force",
        "RC-BACK",
        "--json",
    )
    fix = json.loads(forced.stdout)["fix"]
    assert fix["queued"] == ["RC-BACK"]
    assert [r["MaHoSo"] for r in fix["refused"]] == ["RC-BACK2"]


def test_cli_resumes_from_a_checkpoint(govlink_mock: MockHandle, tmp_path: Path) -> None:
    _seed_portal(govlink_mock)
    local = [d for d in LOCAL if d.ma_ho_so != "RC-BLOCKED"]
    export = _export(tmp_path / "export.jsonl", local)
    checkpoint = tmp_path / "run.ckpt"
    # a run that was cut after the first three dossiers
    stat = export.stat()
    header = {
        "checkpoint": 1,
        "export": str(export.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }
    done = {
        "in_sync": 1,
        "missing_on_portal": 1,
        "status_differs": 1,
        "results_missing": 0,
        "stuck": 0,
        "blocked": 0,
    }
    checkpoint.write_text(
        json.dumps(header)
        + "\n"
        + json.dumps({"difference": {"MaHoSo": "RC-MISSING", "class": "missing_on_portal"}})
        + "\n"
        + json.dumps({"difference": {"MaHoSo": "RC-DIFF", "class": "status_differs"}})
        + "\n"
        + json.dumps({"done": 3, "summary": done})
        + '\n{"difference": {"MaHoSo": "cut sh',  # a crash mid-line
        encoding="utf-8",
    )
    govlink_mock.clear_journal()
    result = _run(
        govlink_mock,
        tmp_path,
        "dossiers",
        "reconcile",
        str(export),
        "--json",
        "--checkpoint",
        str(checkpoint),
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert sum(report["summary"].values()) == len(local)
    assert report["summary"]["stuck"] == 2
    assert report["summary"]["results_missing"] == 1
    assert len(report["differences"]) == 5
    # only the dossiers after the checkpoint were looked up
    lookups = [e for e in govlink_mock.journal(platform="dossiers") if "TraCuuHoSo" in str(e)]
    assert len(lookups) == len(local) - 3
    other = tmp_path / "other.jsonl"
    other.write_text(export.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    wrong = _run(
        govlink_mock,
        tmp_path,
        "dossiers",
        "reconcile",
        str(other),
        "--checkpoint",
        str(checkpoint),
    )
    assert wrong.returncode == 2
    assert "belongs to another export" in wrong.stderr


def test_cli_user_errors_exit_2(govlink_mock: MockHandle, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("MaHoSo,MaTTHC,TrangThaiHoSo,NgayTiepNhan\nX,1.1,2,not-a-date\n", "utf-8")
    result = _run(govlink_mock, tmp_path, "dossiers", "reconcile", str(bad))
    assert result.returncode == 2
    assert "line 2" in result.stderr
    assert "Traceback" not in result.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("MaHoSo,MaTTHC,TrangThaiHoSo,NgayTiepNhan\n", "utf-8")
    assert _run(govlink_mock, tmp_path, "dossiers", "reconcile", str(empty)).returncode == 2
    good = _export(tmp_path / "g.jsonl", [dossier("RC-SYNC", 4)])
    forced = _run(govlink_mock, tmp_path, "dossiers", "reconcile", str(good), "--force", "X")
    assert forced.returncode == 2
    assert "--fix" in forced.stderr


# ------------------------------------------------------------------ mock drift


def test_mock_drift_is_found_by_reconcile_and_repaired_by_fix(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    local = [dossier(f"RD-{i:03d}", 10, results=1) for i in range(60)]
    with DossierClient(govlink_mock.settings()) as client:
        client.sync_dossiers(
            [d.with_status(9, force=True) for d in local], is_updating=False, force=True
        )
        client.sync_dossiers(local, is_updating=True)  # 9 -> 10 with results
    govlink_mock.switch(
        "dossiers", drift={"lose": 0.2, "stale": 0.2, "drop_results": 0.2, "seed": 7}
    )
    export = _export(tmp_path / "export.jsonl", local)
    before = _run(govlink_mock, tmp_path, "dossiers", "reconcile", str(export), "--json")
    assert before.returncode == 1, before.stderr
    summary = json.loads(before.stdout)["summary"]
    assert summary["missing_on_portal"] > 0  # lost
    assert summary["stuck"] > 0  # stale: final here, 9 on the portal
    assert summary["results_missing"] > 0  # results dropped
    assert summary["in_sync"] < len(local)
    fixed = _run(govlink_mock, tmp_path, "dossiers", "reconcile", str(export), "--fix", "--json")
    assert len(json.loads(fixed.stdout)["fix"]["queued"]) == len(local) - summary["in_sync"]
    assert _run(govlink_mock, tmp_path, "outbox", "drain").returncode == 0
    after = _run(govlink_mock, tmp_path, "dossiers", "reconcile", str(export), "--json")
    assert after.returncode == 0, after.stdout
    assert json.loads(after.stdout)["summary"]["in_sync"] == len(local)


@pytest.mark.parametrize(
    "bad",
    [
        {"lose": 2},
        {"lose": 0.6, "stale": 0.6},
        {"vanish": 0.1},
        {"lose": "half"},
        {"seed": 1.5},
        "lots",
    ],
)
def test_mock_drift_refuses_what_it_cannot_do(govlink_mock: MockHandle, bad: object) -> None:
    from govlink.testing._handle import MockAdminError

    with pytest.raises(MockAdminError, match="drift"):
        govlink_mock.switch("dossiers", drift=bad)
