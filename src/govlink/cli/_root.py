"""The top-level ``govlink`` callback (kept apart so ``app.py`` need not import typer).

No ``from __future__ import annotations`` here: typer reads these annotations at
run time and must be able to resolve them in this module's globals.
"""

from typing import Annotated

import typer

from govlink._version import __version__


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"govlink {__version__}")
        raise typer.Exit()


def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the govlink version and exit.",
        ),
    ] = False,
) -> None:
    """govlink: the national platforms and their local mocks."""
