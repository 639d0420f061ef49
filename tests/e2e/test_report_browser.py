"""``govlink report`` as a provincial IT team runs it, and its HTML in headless Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govlink.core.clock import VN_TZ
from govlink.dossiers import Dossier, DossierClient, Fee, ResultDocument
from govlink.testing import MockHandle

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

RECEIVED = datetime(2026, 5, 4, 8, 0, tzinfo=VN_TZ)


def _govlink() -> list[str]:
    script = Path(sys.executable).parent / "govlink"
    return [str(script)] if script.exists() else [sys.executable, "-m", "govlink.cli.app"]


def _run(mock: MockHandle, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GOVLINK_")}
    env |= {"COLUMNS": "200", "GOVLINK_DOSSIERS__BASE_URL": mock.url("dossiers")}
    return subprocess.run(
        [*_govlink(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _dossiers() -> list[Dossier]:
    fee = [Fee(code="LP1", amount=30000)]
    out = []
    for i in range(4):
        end = RECEIVED + timedelta(days=2 + 3 * i)  # two on time, two late
        out.append(
            Dossier(
                ma_ho_so=f"RP-{i}",
                procedure_code="1.001193",
                status=10,
                received_at=RECEIVED,
                due_at=RECEIVED + timedelta(days=5),
                processing_ended_at=end,
                returned_at=end,
                handling_unit="UBND phường Ba Đình",
                field_code="HT",
                fees=fee,
                paid_online=i == 0,
                result_documents=[ResultDocument(result_code=f"KQ-{i}")],
            )
        )
    return out


def test_report_html_opens_offline_with_charts_and_figures(
    chromium_browser: Any, govlink_mock: MockHandle, tmp_path: Path
) -> None:
    local = _dossiers()
    with DossierClient(govlink_mock.settings()) as client:
        client.sync_dossiers(local[:3], is_updating=False, force=True)  # RP-3 never synced
    export = tmp_path / "export.jsonl"
    export.write_text(
        "\n".join(
            json.dumps({k: v for k, v in d.to_wire().items() if v not in (None, "", [])})
            for d in local
        ),
        encoding="utf-8",
    )
    html = tmp_path / "report.html"
    result = _run(
        govlink_mock,
        tmp_path,
        "report",
        str(export),
        "--html",
        str(html),
        "--json",
        "--csv",
        str(tmp_path / "report.csv"),
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)["total"]
    assert figures["status_synced"] == {"count": 3, "of": 4, "share": 0.75}
    assert figures["on_time"] == {"count": 2, "of": 4, "share": 0.5}
    assert figures["paid_online"] == {"count": 1, "of": 4, "share": 0.25}

    context = chromium_browser.new_context(offline=True)  # an intranet without Internet
    try:
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html.as_uri())
        assert page.locator("#chart-overall rect.bar").count() == 4
        assert page.locator("#chart-months rect.bar[data-month='2026-05']").count() == 4
        share = page.locator("#chart-overall rect.bar[data-indicator='status_synced']")
        assert share.get_attribute("data-share") == "0.7500"
        assert float(share.get_attribute("width") or 0) > 0
        kpis = page.locator("#kpis").inner_text()
        assert "75,0 %" in kpis
        assert "50,0 %" in kpis
        assert "UBND phường Ba Đình" in page.locator("#by-agency").inner_text()
        assert [u for u in requests if not u.startswith("file://")] == []
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    finally:
        context.close()
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_report_from_a_saved_reconcile_needs_no_portal(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    local = _dossiers()
    export = tmp_path / "export.jsonl"
    export.write_text(
        "\n".join(
            json.dumps({k: v for k, v in d.to_wire().items() if v not in (None, "", [])})
            for d in local
        ),
        encoding="utf-8",
    )
    saved = tmp_path / "reconcile.json"
    saved.write_text(
        json.dumps(
            {
                "differences": [
                    {
                        "MaHoSo": "RP-3",
                        "class": "missing_on_portal",
                        "local_status": 10,
                        "portal_status": None,
                    },
                    {
                        "MaHoSo": "RP-2",
                        "class": "results_missing",
                        "local_status": 10,
                        "portal_status": 10,
                    },
                ],
                "summary": {},
            }
        ),
        encoding="utf-8",
    )
    govlink_mock.clear_journal()
    result = _run(
        govlink_mock, tmp_path, "report", str(export), "--from-reconcile", str(saved), "--json"
    )
    assert result.returncode == 0, result.stderr
    total = json.loads(result.stdout)["total"]
    assert total["status_synced"]["count"] == 3
    assert total["results_synced"]["count"] == 2
    assert govlink_mock.count(platform="dossiers") == 0
    broken = tmp_path / "broken.json"
    broken.write_text("{}", encoding="utf-8")
    bad = _run(govlink_mock, tmp_path, "report", str(export), "--from-reconcile", str(broken))
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
