"""``govlink config show``: the effective settings, secrets masked, with their origin.

"Where does this value come from?" is the first question when a deployment talks
to the wrong endpoint, so every row names its source: a ``GOVLINK_*`` variable, the
``.env`` file, the profile file, the built-in ``mock`` profile, or the default.
Secrets are never printed, not even with ``--unmask`` (which is about personal data).
"""

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from govlink.cli.common import (
    JsonOption,
    ProfileFileOption,
    ProfileOption,
    console,
    load_settings,
    print_result,
)
from govlink.core.redact import mask_secrets

if TYPE_CHECKING:
    from govlink.core.config import GovLinkSettings

# ``mask_secrets`` is re-exported: the one masking rule lives in govlink.core.redact.
__all__ = ["SettingRow", "app", "mask_secrets", "setting_rows"]

app = typer.Typer(
    rich_markup_mode=None,
    help="Inspect the effective settings of a profile.",
    no_args_is_help=True,
    add_completion=False,
)

_ENV_PREFIX = "GOVLINK_"
_DELIMITER = "__"


@dataclass(frozen=True)
class SettingRow:
    """One leaf setting as shown by ``config show``."""

    path: str
    value: Any
    source: str


def _flatten(
    data: Mapping[str, Any], prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Any]]:
    out: list[tuple[tuple[str, ...], Any]] = []
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            out.extend(_flatten(value, path))
        else:
            out.append((path, value))
    return out


def _lookup(data: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    """(found, raw value) of ``path`` in nested mappings, keys compared case-insensitively."""
    current = data
    for part in path:
        if not isinstance(current, Mapping):
            return False, None
        matches = [k for k in current if str(k).lower() == part.lower()]
        if not matches:
            return False, None
        current = current[matches[0]]
    return True, current


def _variables_source(
    variables: Mapping[str, str | None], path: tuple[str, ...], label: str
) -> str | None:
    """Which variable (``GOVLINK_SSO__BASE_URL`` or a JSON ``GOVLINK_SSO``) set ``path``."""
    by_name = {name.upper(): (name, value) for name, value in variables.items()}
    for depth in range(len(path), 0, -1):
        name = _ENV_PREFIX + _DELIMITER.join(part.upper() for part in path[:depth])
        if name not in by_name:
            continue
        original, raw = by_name[name]
        if depth == len(path):
            return f"{label} {original}"
        try:
            parsed = json.loads(raw or "")
        except ValueError:
            continue
        if _lookup(parsed, path[depth:])[0]:
            return f"{label} {original}"
    return None


def _reference_note(raw: Any) -> str:
    if isinstance(raw, str) and raw.startswith(("env:", "file:")):
        return f" → {raw}"
    return ""


def _profile_file_section(settings: "GovLinkSettings") -> dict[str, Any]:
    if settings.profile_file is None:
        return {}
    try:
        with Path(settings.profile_file).open("rb") as fh:
            document = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    section = document.get("profiles", {}).get(settings.profile, {})
    return section if isinstance(section, dict) else {}


def _dotenv_values() -> dict[str, str | None]:
    path = Path(".env")
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if k.upper().startswith(_ENV_PREFIX)}


def setting_rows(
    settings: "GovLinkSettings",
    *,
    cli_overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    dotenv: Mapping[str, str | None] | None = None,
) -> list[SettingRow]:
    """Every set leaf of ``settings`` (secrets masked) with where it came from.

    The sources are looked up in the same order as :mod:`govlink.core.config`
    applies them, so the first layer that holds a value is the one that won.
    """
    from govlink.core.config import builtin_profile

    environment = {
        k: v
        for k, v in (os.environ if environ is None else environ).items()
        if k.upper().startswith(_ENV_PREFIX)
    }
    dotenv_vars = _dotenv_values() if dotenv is None else dict(dotenv)
    overrides = dict(cli_overrides or {})
    file_section = _profile_file_section(settings)
    builtin = builtin_profile(settings.profile) or {}
    file_label = f"profile file {settings.profile_file} [profiles.{settings.profile}]"

    data = settings.masked_dump()
    rows: list[SettingRow] = []
    for path, value in _flatten(data):
        if value is None or value == {} or value == []:
            continue
        source = "default"
        from_variables = _variables_source(environment, path, "environment") or (
            _variables_source(dotenv_vars, path, ".env")
        )
        if _lookup(overrides, path)[0]:
            source = "command-line option"
        elif from_variables:
            source = from_variables
        else:
            in_file, raw = _lookup(file_section, path)
            in_builtin, raw_builtin = _lookup(builtin, path)
            if in_file:
                source = file_label + _reference_note(raw)
            elif in_builtin:
                source = f"built-in profile '{settings.profile}'" + _reference_note(raw_builtin)
        rows.append(SettingRow(".".join(path), value, source))
    return rows


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@app.command("show")
def show(
    profile: ProfileOption = None,
    profile_file: ProfileFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show the effective settings of a profile, secrets masked, with each value's source."""
    settings = load_settings(profile, profile_file)
    overrides: dict[str, Any] = {}
    if profile is not None:
        overrides["profile"] = profile
    if profile_file is not None:
        overrides["profile_file"] = str(profile_file)
    rows = setting_rows(settings, cli_overrides=overrides)
    print_result(
        {
            "profile": settings.profile,
            "profile_file": str(settings.profile_file) if settings.profile_file else None,
            "settings": settings.masked_dump(),
            "sources": {row.path: row.source for row in rows},
        },
        json_output,
        lambda: _print_settings(settings, rows),
    )


def _print_settings(settings: "GovLinkSettings", rows: list[SettingRow]) -> None:
    from rich.table import Table
    from rich.text import Text

    out = console()
    where = f"from {settings.profile_file}" if settings.profile_file else "built in"
    out.print(Text.assemble(("Profile ", "bold"), (settings.profile, "bold cyan"), f" ({where})"))
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("Setting", no_wrap=True)
    table.add_column("Value", overflow="fold")
    table.add_column("Source", overflow="fold", style="dim")
    for row in rows:
        table.add_row(row.path, Text(_display(row.value)), Text(row.source))
    out.print(table)
