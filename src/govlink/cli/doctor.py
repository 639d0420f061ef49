"""``govlink doctor``: render :func:`govlink.doctor.run_doctor` as a table or JSON.

The checks themselves live in :mod:`govlink.doctor` so the demo and a vendor's
health endpoint get the same answers; this module only renders and sets the exit
code (0 when nothing failed, 1 otherwise).
"""

from typing import TYPE_CHECKING, Annotated

import typer

from govlink.cli.common import (
    EXIT_FAILURE,
    JsonOption,
    ProfileFileOption,
    ProfileOption,
    UserError,
    console,
    err_console,
    load_settings,
    print_result,
)

if TYPE_CHECKING:
    from rich.console import Console

    from govlink.doctor import DoctorReport

__all__ = ["doctor", "render_report"]

_STYLES = {"ok": "bold green", "warn": "bold yellow", "fail": "bold red", "skip": "dim"}


def render_report(report: "DoctorReport", out: "Console") -> None:
    """Print ``report`` as a table with a one-line summary below it."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"govlink doctor — profile '{report.profile}'", title_justify="left")
    table.add_column("Target", no_wrap=True)
    table.add_column("Check", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Reason", overflow="fold")
    for check in report.checks:
        status = check.status.value
        table.add_row(
            check.target,
            check.name,
            Text(status.upper(), style=_STYLES[status]),
            Text(check.reason),
        )
    out.print(table)
    counts = report.counts()
    summary = ", ".join(f"{counts[name]} {name}" for name in ("ok", "warn", "fail", "skip"))
    verdict = Text("no check failed", style="green")
    if not report.ok:
        verdict = Text(f"{counts['fail']} check(s) failed", style="bold red")
    out.print(Text.assemble(verdict, f" ({summary})"))


def doctor(
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
    platform: Annotated[
        list[str] | None,
        typer.Option(
            "--platform",
            help="Check only this endpoint (repeatable): sso, dossiers, payments, citizens, "
            "documents, gateway.",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, help="Seconds to wait for each endpoint."),
    ] = 5.0,
) -> None:
    """Check a profile: endpoints, TLS, clock skew, gateway token, each platform's
    credentials (one harmless authenticated call) and the document signing key.

    Exit code 0 when no check failed (warnings are fine), 1 otherwise.
    """
    from govlink.doctor import TARGETS, run_doctor

    if platform:
        unknown = [name for name in platform if name not in TARGETS]
        if unknown:
            raise UserError(
                f"unknown platform {unknown[0]!r} for --platform",
                hint=f"choose among {', '.join(TARGETS)}",
            )
    settings = load_settings(profile, profile_file)
    err = err_console()
    if json_output or not err.is_terminal:
        report = run_doctor(settings, targets=platform or None, timeout=timeout)
    else:
        with err.status(f"Checking profile '{settings.profile}'…"):
            report = run_doctor(settings, targets=platform or None, timeout=timeout)

    print_result(report.to_dict(), json_output, lambda: render_report(report, console()))
    if not report.ok:
        raise typer.Exit(EXIT_FAILURE)
