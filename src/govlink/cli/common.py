"""What every ``govlink`` command shares: errors, options, consoles, progress bars.

Writing a platform sub-app (``govlink.cli.<name>``, mounted by ``govlink.cli.app``)::

    import typer
    from govlink.cli.common import (
        JsonOption, ProfileFileOption, ProfileOption, UnmaskOption,
        console, platform_client, print_result,
    )

    app = typer.Typer(help="Dossier status sync with DVCQG.", no_args_is_help=True)

    @app.command()
    def get(
        ma_ho_so: str,
        profile: ProfileOption = None,
        profile_file: ProfileFileOption = None,
        json_output: JsonOption = False,
        unmask: UnmaskOption = False,
    ) -> None:
        from govlink.dossiers import DossierClient   # heavy imports inside the command

        with platform_client(DossierClient, profile, profile_file, unmask=unmask) as client:
            ...
            print_result(result, json_output, lambda: console().print(table))

Options shared by several commands are ``Annotated`` aliases defined once (here, or
in the group's module when only that group uses them); typer has no supported way
to add options to a command behind its back, so each command lists them.

Rules the top-level ``main()`` enforces, so a sub-app need not:

* raise :class:`UserError` (or any ``GovLinkError``) for anything the user can fix;
  ``main()`` prints ONE line ``error: <message> — <hint>`` on stderr, never a
  traceback (set ``GOVLINK_DEBUG=1`` to get it);
* exit codes: ``0`` success; ``1`` the work failed (platform refused, transport
  failure, a check failed, an unexpected bug); ``2`` the user must change the
  command line, a setting or an input file (usage errors, :class:`UserError`,
  ``ConfigurationError``, ``ValidationError``, unreadable files); ``130`` interrupted
  (Ctrl-C, the shell convention). Use ``raise typer.Exit(1)`` after printing a
  report whose items failed;
* write results through :func:`print_result` (JSON with ``--json``, else a line or
  tables on :func:`console`), progress through :func:`progress` (stdout stays
  machine-readable: progress bars go to stderr and are off when stderr is not a
  terminal or ``--json`` is given);
* personal data is masked unless the user passed ``--unmask``: wrap output in
  ``with masking(unmask):`` and render values through ``govlink.core.redact``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:
    from govlink.core.config import GovLinkSettings

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "JsonOption",
    "ProfileFileOption",
    "ProfileOption",
    "UnmaskOption",
    "UserError",
    "console",
    "emit_json",
    "err_console",
    "first_of",
    "input_file_argument",
    "input_file_option",
    "load_settings",
    "masking",
    "platform_client",
    "print_result",
    "progress",
    "read_json_lines",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """Something the user can fix; printed as one line, exit code 2."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        help="Profile to use: 'mock' (built in) or a [profiles.NAME] of the profile file. "
        "Default: GOVLINK_PROFILE, else 'mock'.",
        show_default=False,
    ),
]
ProfileFileOption = Annotated[
    Path | None,
    typer.Option(
        "--profile-file",
        help="TOML file with [profiles.NAME] tables. Default: GOVLINK_PROFILE_FILE.",
        show_default=False,
        dir_okay=False,
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print JSON (for scripts) instead of tables."),
]
UnmaskOption = Annotated[
    bool,
    typer.Option(
        "--unmask",
        envvar="GOVLINK_UNMASK",
        help="Show personal data (ID numbers, names, phones) unmasked.",
    ),
]


def input_file_argument(help: str) -> Any:
    """A command argument naming a file to read: it must exist and be readable.

    Use as ``file: Annotated[Path, input_file_argument("CSV with a header …")]``.
    """
    return typer.Argument(help=help, exists=True, dir_okay=False, readable=True)


def input_file_option(name: str, help: str) -> Any:
    """An optional ``--name FILE`` to read: the file must exist (no default shown).

    Use as ``ledger: Annotated[Path | None, input_file_option("--ledger", "…")] = None``.
    """
    return typer.Option(name, help=help, exists=True, dir_okay=False, show_default=False)


def load_settings(profile: str | None = None, profile_file: Path | None = None) -> GovLinkSettings:
    """Settings for the command's ``--profile`` / ``--profile-file``.

    Options override ``GOVLINK_PROFILE`` / ``GOVLINK_PROFILE_FILE``; everything else
    follows the precedence of :mod:`govlink.core.config`. A malformed variable is a
    ``ConfigurationError`` naming it; ``main()`` prints it as one line, exit code 2.
    """
    from govlink.core.config import GovLinkSettings
    from govlink.core.errors import ConfigurationError

    overrides: dict[str, Any] = {}
    if profile is not None:
        if not profile.strip():
            raise UserError("--profile needs a name", hint="use --profile mock or a profile name")
        overrides["profile"] = profile
    if profile_file is not None:
        overrides["profile_file"] = profile_file
    try:
        return GovLinkSettings.load(**overrides)
    except ConfigurationError as exc:
        # the core names the variable; when the user typed the option, name the option
        option = {
            "GOVLINK_PROFILE_FILE": ("--profile-file", profile_file),
            "GOVLINK_PROFILE": ("--profile", profile),
        }.get(exc.setting)
        if option is None or option[1] is None:
            raise
        expected = f" with {exc.expected}" if exc.expected else ""
        raise UserError(exc.message, hint=f"pass {option[0]}{expected}") from None


ClientT = TypeVar("ClientT")


@contextmanager
def platform_client(
    factory: Callable[[GovLinkSettings], AbstractContextManager[ClientT]],
    profile: str | None,
    profile_file: Path | None,
    *,
    unmask: bool = False,
) -> Iterator[ClientT]:
    """A platform client on the settings of ``--profile`` / ``--profile-file``.

    ``with platform_client(DossierClient, profile, profile_file, unmask=unmask) as
    client:`` loads the settings (see :func:`load_settings`: a bad profile is one line,
    exit code 2), masks personal data in the block unless ``unmask`` and closes the
    client when the block ends.
    """
    settings = load_settings(profile, profile_file)
    with masking(unmask), factory(settings) as client:
        yield client


PIPE_WIDTH = 100_000
"""Width of stdout when it is not a terminal: tables take their natural width."""


def console() -> Console:
    """Rich console on stdout, for tables and reports.

    When stdout is not a terminal (a pipe, a file, a CI log), nothing may be cut to
    fit an assumed 80 columns: a script that greps a MaHoSo out of a table must find
    it whole. So the width is then unbounded and tables take their natural width.
    """
    out = Console(soft_wrap=False)
    if out.is_terminal:
        return out
    return Console(soft_wrap=False, width=PIPE_WIDTH)


def err_console() -> Console:
    """Rich console on stderr, for errors, warnings and progress."""
    return Console(stderr=True)


def progress(*, json_output: bool = False, transient: bool = True) -> Progress:
    """A rich progress bar on stderr; silent with ``--json`` or when stderr is no TTY.

    Use as ``with progress(json_output=json_output) as bar: task = bar.add_task("Pushing",
    total=n); … bar.advance(task)``.
    """
    err = err_console()
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=transient,
        disable=json_output or not err.is_terminal,
    )


def emit_json(data: Any) -> None:
    """Write ``data`` as indented JSON on stdout (dates and paths as strings)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def print_result(data: Any, json_output: bool, human: str | Callable[[], object]) -> None:
    """A command's result on stdout: ``data`` as JSON with ``--json``, else ``human``.

    ``human`` is one line for :func:`console` (rich markup allowed) or a function that
    prints it (tables, several lines). It is not called with ``--json``, so stdout
    stays one JSON document for scripts.
    """
    if json_output:
        emit_json(data)
    elif callable(human):
        human()
    else:
        console().print(human)


def first_of(numbers: Sequence[int], limit: int = 10) -> str:
    """``3, 7, 12 and 5 more``: a long list of ids or line numbers, cut for one line."""
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def read_json_lines(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    """The objects of JSON Lines ``text`` (the content of ``path``), with their line numbers.

    Blank lines are skipped; a line that is not a JSON object is a :class:`UserError`
    naming ``path:line``.
    """
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise UserError(
                f"{path}:{number}: not a JSON object ({exc})",
                hint="JSON Lines: one object per line",
            ) from None
        if not isinstance(row, dict):
            raise UserError(f"{path}:{number}: not a JSON object", hint="one object per line")
        rows.append((number, row))
    return rows


@contextmanager
def masking(unmask: bool) -> Iterator[None]:
    """Mask personal data in this block unless ``unmask`` (the ``--unmask`` flag)."""
    if not unmask:
        yield
        return
    from govlink.core.redact import unmasked

    with unmasked():
        yield


def debug_enabled() -> bool:
    """``GOVLINK_DEBUG=1`` shows tracebacks instead of one-line errors."""
    return os.environ.get("GOVLINK_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}


class _CliLogHandler(logging.Handler):
    """Library log records as ``warning: …`` lines on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = record.levelname.lower()
            if debug_enabled():
                sys.stderr.write(f"{level}: {self.format(record)}\n")
            else:  # one line, no traceback
                sys.stderr.write(f"{level}: {_one_line(record.getMessage())}\n")
        except Exception:  # pragma: no cover - logging must never break the command
            self.handleError(record)


def setup_logging(names: tuple[str, ...] = ("govlink",)) -> None:
    """Show warnings of loggers ``names`` (retries, give-ups) on stderr, one line each.

    With ``GOVLINK_DEBUG=1`` everything down to DEBUG, tracebacks included.
    Idempotent: calling it again (tests run many commands in one process) replaces
    the handler instead of stacking them.
    """
    for name in names:
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if isinstance(h, _CliLogHandler)]:
            logger.removeHandler(handler)
        handler = _CliLogHandler()
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        # Filter on the handler, not the logger: a process that embeds the CLI (tests,
        # a vendor's scripts) keeps its own logging configuration for govlink.
        handler.setLevel(logging.DEBUG if debug_enabled() else logging.WARNING)
        logger.addHandler(handler)
        if debug_enabled():
            logger.setLevel(logging.DEBUG)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _kinds(exc: BaseException) -> set[str]:
    """Class names in ``exc``'s MRO.

    Typer ≥ 0.20 vendors click as ``typer._click`` while older typer uses ``click``
    itself; matching click's exception classes by name handles both without
    importing a private module.
    """
    return {cls.__name__ for cls in type(exc).__mro__}


def is_help_request(exc: BaseException) -> bool:
    """A group called without a command (click's ``NoArgsIsHelpError``)."""
    return "NoArgsIsHelpError" in _kinds(exc)


def describe_error(exc: BaseException) -> tuple[str, int]:
    """The one line to print for ``exc`` and the exit code, per the rules above."""
    from govlink.core.errors import ConfigurationError, GovLinkError, ValidationError
    from govlink.core.redact import redact_text

    kinds = _kinds(exc)
    if "UsageError" in kinds:
        ctx = getattr(exc, "ctx", None)
        where = getattr(ctx, "command_path", None) or "govlink"
        return f"{_format_click(exc)} (try '{where} --help')", EXIT_USAGE
    if kinds & {"ClickException", "TyperException"}:  # FileError and friends: user input
        return _format_click(exc), EXIT_USAGE
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    if "Abort" in kinds:  # typer.Abort: the user declined a confirmation, or EOF on input
        return "aborted", EXIT_FAILURE
    if isinstance(exc, UserError):
        return str(exc), EXIT_USAGE
    if isinstance(exc, ConfigurationError | ValidationError):
        return str(exc), EXIT_USAGE
    if isinstance(exc, GovLinkError):
        return str(exc), EXIT_FAILURE
    if isinstance(exc, OSError) and exc.filename is not None:
        reason = exc.strerror or type(exc).__name__
        return f"cannot use {exc.filename}: {reason}", EXIT_USAGE
    bad_input = _bad_input(exc, kinds)
    if bad_input is not None:
        return bad_input, EXIT_USAGE
    return (
        f"unexpected {type(exc).__name__}: {redact_text(str(exc))} — this is a govlink bug; "
        "rerun with GOVLINK_DEBUG=1 for the traceback and report it",
        EXIT_FAILURE,
    )


MOCK_EXTRA_MODULES = frozenset({"starlette", "uvicorn", "multipart", "python_multipart", "fpdf"})
"""Top-level modules of the ``mock`` extra: missing means ``pip install 'govlink[mock]'``."""


def _bad_input(exc: BaseException, kinds: set[str]) -> str | None:
    """The one line for an error caused by what the user gave (a file, a value), or None.

    These come from the standard library and parsers deep below a command, where no
    code knows which option the input came from; they are the user's to fix, never
    a govlink bug.
    """
    from govlink.core.redact import redact_text

    text = redact_text(" ".join(str(exc).split()))[:300]
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        top = exc.name.split(".")[0]
        if top in MOCK_EXTRA_MODULES:
            return (
                f"the mock platforms need govlink's 'mock' extra ({top} is not installed): "
                "pip install 'govlink[mock]'"
            )
        if top != "govlink":
            return f"the Python package {top!r} is not installed: pip install it and retry"
        return None
    if isinstance(exc, UnicodeError):
        return (
            "an input file or value is not UTF-8 text (binary, or another encoding): "
            f"{text} — save it as UTF-8"
        )
    if isinstance(exc, RecursionError):
        return "an input file is nested too deeply to read (JSON or TOML): flatten it"
    if "DatabaseError" in kinds and type(exc).__module__ == "sqlite3":
        return f"a file given as a database is not a usable SQLite database: {text}"
    if kinds & {"JSONDecodeError", "TOMLDecodeError"}:
        return (
            f"an input file is not valid {'JSON' if 'JSONDecodeError' in kinds else 'TOML'}: {text}"
        )
    if "Error" in kinds and type(exc).__module__ == "_csv":
        return f"the CSV file cannot be read: {text} (a field too large, or not CSV)"
    if kinds & {"InvalidURL", "UnsupportedProtocol"} or (
        isinstance(exc, ValueError) and "URL" in str(exc) and "character" in str(exc)
    ):
        return f"a URL setting or argument is not a valid URL: {text}"
    return None


def _format_click(exc: BaseException) -> str:
    format_message = getattr(exc, "format_message", None)
    return str(format_message()) if callable(format_message) else str(exc)


def print_error(message: str) -> None:
    """One line on stderr: ``error: …`` (never wrapped, markup not interpreted)."""
    from rich.text import Text

    err_console().print(Text.assemble(("error: ", "bold red"), _one_line(message)), soft_wrap=True)
