"""``make demo`` runs ``python -m govlink.demo``: it must start the mocks and print the doctor."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_demo_prints_the_doctor_report_and_runs_every_platform(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn", reason="the demo needs the 'mock' extra")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GOVLINK_")}
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [sys.executable, "-m", "govlink.demo", "--port", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout
    assert "govlink doctor — profile 'mock'" in output, output + result.stderr
    assert "Mock platforms at http://127.0.0.1:" in output
    assert "summary" in output
    # the end-to-end scenario: every platform step ran, none missing, none failed
    assert "6 step(s) ran, 0 failure(s)" in output, output
    assert "01 → 03 → 06" in output  # the document walked through its statuses
    assert "exactly once" in output  # the outbox delivered every change once
    assert "after --fix every dossier is in sync" in output  # reconcile found and fixed drift
    assert "Traceback" not in output + result.stderr
    assert result.returncode == 0, output + result.stderr
