"""User errors print one line and exit 2; failures exit 1; never a traceback."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer

from govlink import __version__
from govlink.cli import app as app_module
from govlink.cli.common import UserError
from govlink.core.errors import TransportError


def _assert_one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    return lines[0]


def test_version_fast_path(cli: Callable[..., Any]) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"govlink {__version__}"


def test_version_through_typer(cli: Callable[..., Any]) -> None:
    result = cli("--version", "doctor")  # eager option wins over the command
    assert result.code == 0
    assert result.out.strip() == f"govlink {__version__}"


def test_unknown_option_is_a_usage_error(cli: Callable[..., Any]) -> None:
    result = cli("doctor", "--bogus")
    assert result.code == 2
    line = _assert_one_error_line(result.err)
    assert "--bogus" in line
    assert "govlink doctor --help" in line


def test_unknown_command_is_a_usage_error(cli: Callable[..., Any]) -> None:
    result = cli("frobnicate")
    assert result.code == 2
    assert "frobnicate" in _assert_one_error_line(result.err)


def test_bad_profile_name(cli: Callable[..., Any]) -> None:
    result = cli("config", "show", "--profile", "no-such-profile")
    assert result.code == 2
    line = _assert_one_error_line(result.err)
    assert "no-such-profile" in line


def test_profile_not_in_file_names_the_known_ones(
    cli: Callable[..., Any], make_profile: Callable[[str], Path]
) -> None:
    path = make_profile('[profiles.prod.sso]\nbase_url = "https://sso.example.vn"\n')
    result = cli("doctor", "--profile", "staging", "--profile-file", str(path))
    assert result.code == 2
    line = _assert_one_error_line(result.err)
    assert "'staging'" in line
    assert "prod" in line


def test_missing_profile_file(cli: Callable[..., Any], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    result = cli("config", "show", "--profile-file", str(missing))
    assert result.code == 2
    line = _assert_one_error_line(result.err)
    assert str(missing) in line
    assert "--profile-file" in line


def test_missing_profile_file_from_environment(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVLINK_PROFILE_FILE", str(tmp_path / "gone.toml"))
    result = cli("config", "show")
    assert result.code == 2
    assert "GOVLINK_PROFILE_FILE" in _assert_one_error_line(result.err)


def test_malformed_environment_variable(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVLINK_HTTP__TIMEOUT", "soon")
    result = cli("doctor")
    assert result.code == 2
    line = _assert_one_error_line(result.err)
    assert "GOVLINK_HTTP__TIMEOUT" in line
    assert "a number" in line


def test_malformed_json_environment_variable(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVLINK_SSO", "{not json")
    result = cli("config", "show")
    assert result.code == 2
    assert "GOVLINK_SSO" in _assert_one_error_line(result.err)


def test_malformed_base_url(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVLINK_SSO__BASE_URL", "sso.example.vn")
    result = cli("config", "show")
    assert result.code == 2
    line = _assert_one_error_line(result.err)
    assert "GOVLINK_SSO__BASE_URL" in line


def test_unknown_doctor_platform(cli: Callable[..., Any]) -> None:
    result = cli("doctor", "--platform", "tax")
    assert result.code == 2
    assert "'tax'" in _assert_one_error_line(result.err)


def test_group_without_command_shows_help(cli: Callable[..., Any]) -> None:
    result = cli("config")
    assert result.code == 2
    assert "show" in result.out
    assert "Traceback" not in result.out + result.err


# --- errors raised inside commands, through a sub-app mounted like a platform's ------


def _install_subapp(monkeypatch: pytest.MonkeyPatch, name: str, raiser: Callable[[], None]) -> None:
    sub = typer.Typer()

    @sub.command("go")
    def go() -> None:
        raiser()

    @sub.command("other")
    def other() -> None:
        typer.echo("fine")

    module = types.ModuleType(f"govlink.cli.{name}")
    module.app = sub  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, f"govlink.cli.{name}", module)
    monkeypatch.setattr(app_module, "SUBAPP_NAMES", (name,))


def _raise(exc: BaseException) -> Callable[[], None]:
    def raiser() -> None:
        raise exc

    return raiser


@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        (UserError("the CSV has no header row", hint="add one"), 2, "add one"),
        (TransportError("cannot reach the portal", hint="try later"), 1, "cannot reach"),
        (FileNotFoundError(2, "No such file or directory", "dossiers.csv"), 2, "dossiers.csv"),
        (KeyboardInterrupt(), 130, "interrupted"),
        (typer.Abort(), 1, "aborted"),
        (typer.BadParameter("--since must be a date"), 2, "--since must be a date"),
        (ZeroDivisionError("boom"), 1, "GOVLINK_DEBUG=1"),
    ],
)
def test_errors_inside_commands(
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    exc: BaseException,
    code: int,
    text: str,
) -> None:
    _install_subapp(monkeypatch, "fakeplatform", _raise(exc))
    result = cli("fakeplatform", "go")
    assert result.code == code
    assert text in _assert_one_error_line(result.err)


def test_error_messages_are_masked(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_subapp(monkeypatch, "fakeplatform", _raise(RuntimeError("citizen 001203004567 broke")))
    result = cli("fakeplatform", "go")
    assert "001203004567" not in result.err
    assert "567" in result.err


def test_debug_shows_the_traceback(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_subapp(monkeypatch, "fakeplatform", _raise(ZeroDivisionError("boom")))
    monkeypatch.setenv("GOVLINK_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli("fakeplatform", "go")


def test_a_broken_subapp_does_not_break_the_others(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "govlink.cli.brokenplatform":
            raise ModuleNotFoundError("No module named 'starlette'", name="starlette")
        return real_import(name, *args, **kwargs)

    import importlib

    real_import = importlib.import_module
    monkeypatch.setattr(importlib, "import_module", failing_import)
    monkeypatch.setattr(app_module, "SUBAPP_NAMES", ("brokenplatform",))

    ok = cli("--help")
    assert ok.code == 0
    assert "brokenplatform" in ok.out

    broken = cli("brokenplatform")
    assert broken.code == 1
    line = _assert_one_error_line(broken.err)
    assert "starlette" in line


def test_a_missing_subapp_module_is_reported_not_skipped(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "SUBAPP_NAMES", ("vanished",))
    assert "unavailable: ModuleNotFoundError" in cli("--help").out
    result = cli("vanished")
    assert result.code == 1
    assert "'govlink vanished' cannot start" in result.err
    assert "reinstall govlink" in result.err
