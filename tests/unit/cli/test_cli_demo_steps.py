"""The demo runner: step discovery, shared state, failures reported in one line."""

from __future__ import annotations

import io
import sys
import types
from collections.abc import Callable

import pytest
from rich.console import Console

from govlink.core.errors import PlatformError
from govlink.demo import DEMO_STEPS, DemoContext, run_demo

pytest.importorskip("uvicorn", reason="the demo needs the 'mock' extra")


def _step(
    monkeypatch: pytest.MonkeyPatch, name: str, run: Callable[[DemoContext], None] | None
) -> None:
    module_name = f"govlink.demo.{name}"
    if run is None:  # a step that cannot be imported
        monkeypatch.setitem(sys.modules, module_name, None)  # type: ignore[arg-type]
        return
    module = types.ModuleType(module_name)
    module.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module_name, module)


def test_steps_share_state_and_failures_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def sso(demo: DemoContext) -> None:
        assert demo.settings.profile == "mock"
        assert demo.settings.sso.base_url == f"{demo.mock_base_url}/sso"
        assert demo.admin.get("/journal").status_code < 500
        demo.state["dossier"] = "G22.99.1-260301-0001"

    def dossiers(demo: DemoContext) -> None:
        seen["dossier"] = demo.state["dossier"]

    def payments(demo: DemoContext) -> None:
        raise PlatformError("the portal refused the payment", code="99")

    _step(monkeypatch, "sso", sso)
    _step(monkeypatch, "dossiers", dossiers)
    _step(monkeypatch, "reconcile", lambda demo: None)
    _step(monkeypatch, "payments", payments)
    _step(monkeypatch, "citizens", lambda demo: None)
    _step(monkeypatch, "documents", lambda demo: None)

    buffer = io.StringIO()
    code = run_demo(port=0, console=Console(file=buffer, width=200))
    output = buffer.getvalue()

    assert code == 1
    assert seen["dossier"] == "G22.99.1-260301-0001"
    assert "govlink doctor — profile 'mock'" in output
    assert "✓ sso done" in output
    assert "✓ dossiers done" in output
    assert "✗ payments failed: the portal refused the payment" in output
    assert "5 step(s) ran, 1 failure(s)" in output
    assert "not yet available" not in output
    assert "Traceback" not in output


def test_a_step_that_cannot_be_loaded_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    for step in DEMO_STEPS:
        _step(monkeypatch, step.name, lambda demo: None)
    _step(monkeypatch, "documents", None)
    buffer = io.StringIO()
    code = run_demo(port=0, console=Console(file=buffer, width=200))
    output = buffer.getvalue()
    assert "✗ cannot load govlink.demo.documents" in output
    assert "5 step(s) ran, 1 failure(s)" in output
    assert code == 1, output
