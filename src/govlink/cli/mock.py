"""``govlink mock``: run the local mock platforms.

``govlink mock up`` starts every mock (``mock_servers``) on loopback, prints the
URLs and the govlink settings that point at them, and runs until Ctrl-C or SIGTERM
(exit code 0: stopping is the normal way to end it). ``govlink mock issue-cert``
issues a test signing certificate from the mock axis's CA.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from govlink.cli.common import UserError, console, err_console

__all__ = ["app"]

app = typer.Typer(
    rich_markup_mode=None,
    help="Run the local mock platforms (SSO, DVCQG, payments, population DB, document axis, "
    "gateway) with an admin API, request journal and fault injection.",
    no_args_is_help=True,
)


@app.command()
def up(
    host: Annotated[
        str, typer.Option(help="Address to bind. Anything but loopback exposes the mocks.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the server (0 picks a free one).")] = 8700,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="SQLite file that keeps the mocks' state across restarts (default: memory).",
            dir_okay=False,
        ),
    ] = None,
    seed: Annotated[
        Path | None,
        typer.Option(
            "--seed",
            help="JSON file whose sections replace the shipped seed's (citizens, agencies…).",
            exists=True,
            dir_okay=True,
        ),
    ] = None,
    separate_ports: Annotated[
        bool,
        typer.Option(
            "--separate-ports",
            help="Also serve each platform on its own port (PORT+1, PORT+2… in registry order).",
        ),
    ] = False,
    fault_seed: Annotated[
        int | None, typer.Option(help="Seed of the random generator of probabilistic faults.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the startup info as one JSON line.")
    ] = False,
) -> None:
    """Start every mock platform and wait for Ctrl-C."""
    import sqlite3

    from mock_servers.cli import banner, loopback_warning, serve_until_signal, startup_info
    from mock_servers.seed import SeedError
    from mock_servers.server import MockServer

    if not 0 <= port <= 65535:
        raise UserError(f"--port {port} is not a TCP port", hint="use 1-65535, or 0 for a free one")
    if state is not None and not state.parent.is_dir():
        raise UserError(
            f"--state {state}: the directory {state.parent} does not exist",
            hint="create it first, or give a path in an existing directory",
        )
    warning = loopback_warning(host)
    if warning:
        err_console().print(f"[bold red]{warning}[/]", soft_wrap=True)
    server = MockServer(
        host=host,
        port=port,
        state_path=state,
        seed_path=seed,
        separate_ports=separate_ports,
        fault_seed=fault_seed,
    )

    def announce(started: MockServer) -> None:
        if json_output:
            sys.stdout.write(json.dumps(startup_info(started), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            console().print(banner(started), markup=False, highlight=False, soft_wrap=True)

    try:
        code = serve_until_signal(server, announce)
    except SeedError as exc:
        raise UserError(
            f"the seed file cannot be used: {exc}", hint="fix the section named"
        ) from None
    except sqlite3.DatabaseError as exc:
        raise UserError(
            f"--state {state} is not a usable SQLite file ({exc})",
            hint="give a new file name or a file written by 'govlink mock up --state'",
        ) from None
    except OSError as exc:
        raise UserError(str(exc.strerror or exc), hint="use --port 0 for a free port") from None
    if not json_output:
        err_console().print("mock platforms stopped", highlight=False)
    if code:
        raise typer.Exit(code)


@app.command("issue-cert")
def issue_cert(
    agency_code: Annotated[str, typer.Argument(help="Agency code, e.g. 003.00.00.H47.")],
    out_dir: Annotated[
        Path, typer.Option("--out-dir", "-d", help="Where to write the PEM files.", file_okay=False)
    ] = Path("."),
    name: Annotated[str | None, typer.Option(help="Agency name for the certificate.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the paths as JSON.")] = False,
) -> None:
    """Issue a signing certificate from the mock axis's TEST CA (never for production)."""
    from govlink.documents.edxml._validate import validate_agency_code
    from mock_servers.vdxp.pki import PKI_DIR
    from mock_servers.vdxp.pki import issue_cert as issue

    validate_agency_code(agency_code, "AGENCY_CODE")
    paths = issue(agency_code, out_dir, name=name)
    result = {
        "certificate": str(paths.cert),
        "key": str(paths.key),
        "ca": str(PKI_DIR / "ca.cert.pem"),
    }
    if json_output:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        console().print(
            f"issued {paths.cert} and {paths.key} (test CA: {result['ca']})", highlight=False
        )


if __name__ == "__main__":  # pragma: no cover - `python -m govlink.cli.mock up`
    app()
