"""Every command's ``--help`` shows every option's help text whole.

Rich markup in help strings used to be interpreted, so ``[profiles.NAME]`` vanished
from "TOML file with [profiles.NAME] tables". This walks the whole click tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from govlink.cli.app import build_app


def _commands() -> Iterator[tuple[list[str], Any]]:
    root = typer.main.get_command(build_app())

    def walk(path: list[str], command: Any) -> Iterator[tuple[list[str], Any]]:
        yield path, command
        commands: dict[str, Any] = getattr(command, "commands", None) or {}
        for name, sub in sorted(commands.items()):
            yield from walk([*path, name], sub)

    yield from walk([], root)


COMMANDS = list(_commands())


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_the_tree_has_every_group() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    for group in ("doctor", "config show", "mock up", "dossiers push", "documents", "sso"):
        assert group in paths


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "govlink" for p, _ in COMMANDS]
)
def test_help_shows_every_option_text_whole(path: list[str], command: Any) -> None:
    result = CliRunner().invoke(build_app(), [*path, "--help"], terminal_width=400)
    assert result.exit_code == 0, result.output
    shown = _flat(result.output)
    for param in command.params:
        help_text = getattr(param, "help", None)
        is_option = param.param_type_name == "option"
        if is_option and help_text and not getattr(param, "hidden", False):
            assert _flat(help_text) in shown, f"{' '.join(path)} {param.opts}: {help_text!r}"
    if command.help:
        first = _flat(command.help.split("\n\n")[0].split("\b")[0])
        assert first in shown


def test_profile_file_help_keeps_its_brackets() -> None:
    result = CliRunner().invoke(build_app(), ["config", "show", "--help"], terminal_width=200)
    assert "TOML file with [profiles.NAME] tables" in _flat(result.output)


# `outbox worker` is a service: it logs (--log-format json, the default), prints no result
NO_RESULT = {"outbox worker"}


def test_every_command_has_json_output() -> None:
    missing = []
    for path, command in COMMANDS:
        if getattr(command, "commands", None) or not path:
            continue
        opts = {opt for param in command.params for opt in getattr(param, "opts", ())}
        if "--json" not in opts and " ".join(path) not in NO_RESULT:
            missing.append(" ".join(path))
    assert missing == []
