"""Helpers platform CLIs reuse: progress bars, JSON output, masking."""

from __future__ import annotations

import json

import pytest

from govlink.cli.common import emit_json, masking, progress
from govlink.core.redact import redact_text


def test_progress_is_silent_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with progress() as bar:
        task = bar.add_task("Pushing", total=3)
        for _ in range(3):
            bar.advance(task)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""
    assert bar.disable


def test_progress_is_silent_with_json_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    assert not progress().disable  # a terminal: the bar shows
    assert progress(json_output=True).disable


def test_emit_json_keeps_vietnamese_and_dates(capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import date

    emit_json({"ten": "NGUYỄN VĂN AN", "ngay": date(2026, 3, 1)})
    out = capsys.readouterr().out
    assert "NGUYỄN VĂN AN" in out
    assert json.loads(out) == {"ten": "NGUYỄN VĂN AN", "ngay": "2026-03-01"}


def test_masking_follows_unmask() -> None:
    with masking(False):
        assert "001203004567" not in redact_text("id 001203004567")
    with masking(True):
        assert "001203004567" in redact_text("id 001203004567")
    assert "001203004567" not in redact_text("id 001203004567")
