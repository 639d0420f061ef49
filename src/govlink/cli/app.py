"""Entry point of the ``govlink`` command (``govlink = govlink.cli.app:main``).

The top-level app owns ``--version``, ``config`` and ``doctor``; every other
command group lives in its own module ``govlink.cli.<name>`` exposing
``app: typer.Typer`` and is mounted when it imports (a group whose optional
dependencies are missing is replaced by one that says what to install). All errors
are turned into one line on stderr here (see :mod:`govlink.cli.common` for the exit
codes).

``govlink --version`` is answered before typer, rich or any platform module is
imported: it is what scripts and bug reports call most, and it should cost nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from govlink._version import __version__

if TYPE_CHECKING:
    import typer

__all__ = ["SUBAPP_NAMES", "build_app", "main", "run"]

SUBAPP_NAMES = ("mock", "sso", "dossiers", "outbox", "payments", "citizens", "documents")
"""Command groups mounted from ``govlink.cli.<name>`` when the module exists."""

_HELP = (
    "govlink: talk to Vietnam's national e-government platforms, and to their local mocks.\n\n"
    "Settings come from a profile (--profile, default 'mock'), GOVLINK_* variables and .env; "
    "see 'govlink config show'."
)


def _unavailable(name: str, exc: BaseException) -> typer.Typer:
    """A stand-in group for a sub-app whose module failed to import.

    A broken optional part (say, the mock server without the ``mock`` extra) must
    not take ``govlink doctor`` down with it; the user learns why only when calling it.
    """
    import typer

    from govlink.core.errors import GovLinkError

    missing = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
    if missing and missing.split(".")[0] == "govlink":
        missing = None  # a part of govlink itself is gone: the installation is broken
    reason = f"{type(exc).__name__}: {exc}"
    hint = (
        f"install the missing package ({missing}), e.g. pip install 'govlink[mock]'"
        if missing
        else "reinstall govlink; rerun with GOVLINK_DEBUG=1 for the traceback"
    )
    stub = typer.Typer(
        rich_markup_mode=None,
        help=f"(unavailable: {reason})",
        invoke_without_command=True,
        add_completion=False,
    )

    @stub.callback()
    def _fail() -> None:
        raise GovLinkError(f"'govlink {name}' cannot start ({reason})", hint=hint)

    return stub


def _mount(app: typer.Typer, name: str) -> None:
    import importlib

    import typer

    from govlink.cli.common import debug_enabled

    module_name = f"govlink.cli.{name}"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        if debug_enabled():
            raise
        app.add_typer(_unavailable(name, exc), name=name)
        return
    sub = getattr(module, "app", None)
    if not isinstance(sub, typer.Typer):
        error = TypeError(f"{module_name} has no 'app: typer.Typer'")
        app.add_typer(_unavailable(name, error), name=name)
        return
    app.add_typer(sub, name=name)


def build_app(subapps: Sequence[str] | None = None) -> typer.Typer:
    """The ``govlink`` typer app with every available command group mounted."""
    import typer

    from govlink.cli import config_cmd, doctor, report
    from govlink.cli._root import root

    # rich_markup_mode=None for the whole tree: help texts are plain text, so
    # "[profiles.NAME]" or "[default]" in an option's help is shown, not eaten as markup
    app = typer.Typer(
        rich_markup_mode=None,
        name="govlink",
        help=_HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    app.callback()(root)
    app.add_typer(config_cmd.app, name="config")
    app.command("doctor")(doctor.doctor)
    app.command("report")(report.report)
    for name in SUBAPP_NAMES if subapps is None else subapps:
        _mount(app, name)
    return app


def run(argv: Sequence[str] | None = None) -> int:
    """Run ``govlink`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        sys.stdout.write(f"govlink {__version__}\n")
        return 0

    import typer

    from govlink.cli.common import (
        EXIT_INTERRUPTED,
        EXIT_USAGE,
        debug_enabled,
        describe_error,
        is_help_request,
        print_error,
        setup_logging,
    )

    setup_logging()
    try:
        command = typer.main.get_command(build_app())
        result = command.main(args=args, prog_name="govlink", standalone_mode=False)
    except BrokenPipeError:
        # `govlink … | head`: the reader left; not an error worth a message. Point
        # stdout at /dev/null so the interpreter's final flush does not complain.
        _silence_stdout()
        return 1
    except (Exception, KeyboardInterrupt) as exc:
        if is_help_request(exc):
            # a group called without a command: its help (already printed by typer's
            # rich formatter, or carried as the message by plain click) is the answer
            text = str(getattr(exc, "message", "") or "")
            if text.strip():
                sys.stdout.write(text.rstrip("\n") + "\n")
            return EXIT_USAGE
        message, code = describe_error(exc)
        if debug_enabled() and code != EXIT_USAGE:
            raise
        print_error(message)
        return code
    if result == EXIT_INTERRUPTED:  # typer turns Ctrl-C into Exit(130)
        print_error("interrupted")
    return result if isinstance(result, int) else 0


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a descriptor
        pass


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


if __name__ == "__main__":  # pragma: no cover
    main()
