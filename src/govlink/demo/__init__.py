"""``make demo`` (``python -m govlink.demo``): govlink end to end against the local mocks.

The demo starts the mock platforms in-process, checks the built-in ``mock`` profile
with the doctor, then runs one step per platform. A platform's step lives in
``govlink.demo.<platform>`` and exposes::

    def run(demo: DemoContext) -> None: ...

Steps run in a fixed order (SSO login, dossiers, reconcile, payments, citizens,
documents) and
share ``demo.state`` (``state["dossier"]`` from the dossier step is what the payment
step pays for). A step that raises (or cannot be loaded) is reported in one line and
makes the demo exit non-zero at the end, after the other steps have had their turn.
"""

from __future__ import annotations

import importlib
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from rich.console import Console

    from govlink.core.config import GovLinkSettings

__all__ = ["DEMO_STEPS", "DemoContext", "DemoStep", "run_demo"]


@dataclass
class DemoContext:
    """What a platform's demo step gets."""

    settings: GovLinkSettings
    """Settings of the ``mock`` profile for the running mock server."""
    console: Console
    """Where to print (rich); keep each step's output short."""
    mock_base_url: str
    """Root URL of the mock server, e.g. ``http://127.0.0.1:8700``."""
    admin: httpx.Client
    """Client on ``<mock_base_url>/__admin`` (journal, faults, clock)."""
    state: dict[str, Any] = field(default_factory=dict)
    """Shared between steps, e.g. ``state["dossier"]``."""


@dataclass(frozen=True)
class DemoStep:
    """One platform's part of the demo."""

    name: str
    title: str


DEMO_STEPS: tuple[DemoStep, ...] = (
    DemoStep("sso", "SSO login (VNeID / DVCQG)"),
    DemoStep("dossiers", "Dossier sync to DVCQG"),
    DemoStep("reconcile", "Reconcile with the portal and fix"),
    DemoStep("payments", "Fee payment"),
    DemoStep("citizens", "Population database lookup"),
    DemoStep("documents", "Document axis (edXML)"),
)


def _debug() -> bool:
    from govlink.cli.common import debug_enabled  # the CLI's one GOVLINK_DEBUG rule

    return debug_enabled()


def _describe(exc: BaseException) -> str:
    from govlink.core.errors import GovLinkError
    from govlink.core.redact import redact_text

    if isinstance(exc, GovLinkError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {redact_text(str(exc))}"
    return " ".join(text.split())


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _load_step(step: DemoStep) -> Callable[[DemoContext], None]:
    module = importlib.import_module(f"{__name__}.{step.name}")
    run: Callable[[DemoContext], None] = module.run
    return run


class _Outcome:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.ran: list[str] = []


def _run_steps(ctx: DemoContext, outcome: _Outcome) -> None:
    from rich.text import Text

    out = ctx.console
    for step in DEMO_STEPS:
        out.rule(Text(step.title, style="bold"))
        try:
            run = _load_step(step)
        except Exception as exc:
            if _debug():
                traceback.print_exc()
            outcome.failures.append(f"{step.name}: cannot load its demo step: {_describe(exc)}")
            out.print(Text(f"✗ cannot load govlink.demo.{step.name}: {_describe(exc)}", "red"))
            continue
        started = time.perf_counter()
        try:
            run(ctx)
        except Exception as exc:
            if _debug():
                traceback.print_exc()
            outcome.failures.append(f"{step.name}: {_describe(exc)}")
            out.print(
                Text(f"✗ {step.name} failed: {_describe(exc)}", style="bold red"), soft_wrap=True
            )
            continue
        outcome.ran.append(step.name)
        elapsed = time.perf_counter() - started
        out.print(Text(f"✓ {step.name} done in {elapsed:.2f} s", style="green"))


def run_demo(*, port: int | None = None, console: Console | None = None) -> int:
    """Run the demo; return the process exit code (0 when no step failed)."""
    from rich.console import Console
    from rich.text import Text

    from govlink.cli.common import setup_logging

    out = console or Console()
    setup_logging(("govlink", "mock_servers"))
    host = "127.0.0.1"
    out.rule(Text("govlink demo — the national platforms, mocked locally", style="bold"))
    try:
        # imported by name: mock_servers is typed but ships no py.typed marker
        server_module: Any = importlib.import_module("mock_servers.server")
    except ModuleNotFoundError as exc:
        out.print(
            Text(
                f"✗ the mock server needs the 'mock' extra ({exc.name} is missing): "
                "pip install 'govlink[mock]'",
                "red",
            ),
            soft_wrap=True,
        )
        return 1

    if port is None:
        port = 8700 if _port_is_free(host, 8700) else 0
    server = server_module.MockServer(host=host, port=port)
    try:
        server.start()
    except Exception as exc:
        out.print(Text(f"✗ cannot start the mock server: {_describe(exc)}", "red"), soft_wrap=True)
        return 1
    try:
        unmounted = {str(k): str(v) for k, v in server.runtime.unavailable.items()}
        return _demo_with_server(out, str(server.base_url), unmounted)
    finally:
        server.stop()


def _demo_with_server(out: Console, base_url: str, unmounted: dict[str, str]) -> int:
    from urllib.parse import urlsplit

    import httpx
    from rich.text import Text

    from govlink.cli.doctor import render_report
    from govlink.core.config import GovLinkSettings, mock_profile
    from govlink.doctor import TARGETS, run_doctor

    parts = urlsplit(base_url)
    settings = GovLinkSettings.load(
        profile="mock",
        **mock_profile(port=parts.port or 80, host=parts.hostname or "127.0.0.1"),
    )
    out.print(f"Mock platforms at {base_url} (dashboard: {base_url}/__admin/ui)", soft_wrap=True)

    outcome = _Outcome()
    for name, problem in unmounted.items():
        outcome.failures.append(f"{name} mock: could not be mounted: {problem}")
        out.print(Text(f"✗ {name} mock could not be mounted: {problem}", "red"), soft_wrap=True)

    out.rule(Text("govlink doctor --profile mock", style="bold"))
    targets = [t for t in TARGETS if t not in unmounted]
    report = run_doctor(settings, targets=targets)
    render_report(report, out)
    if not report.ok:
        for check in report.failed():
            outcome.failures.append(f"doctor: {check.target} {check.name}: {check.reason}")

    with httpx.Client(base_url=f"{base_url}/__admin", timeout=10.0) as admin:
        ctx = DemoContext(settings=settings, console=out, mock_base_url=base_url, admin=admin)
        _run_steps(ctx, outcome)

    out.rule(Text("summary", style="bold"))
    out.print(f"{len(outcome.ran)} step(s) ran, {len(outcome.failures)} failure(s)", soft_wrap=True)
    for failure in outcome.failures:
        out.print(Text(f"✗ {failure}", style="red"), soft_wrap=True)
    return 1 if outcome.failures else 0
