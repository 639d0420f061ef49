"""The installed ``govlink`` command as a user runs it: a separate process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from govlink import __version__

pytestmark = pytest.mark.e2e


def _govlink() -> list[str]:
    script = Path(sys.executable).parent / "govlink"
    return [str(script)] if script.exists() else [sys.executable, "-m", "govlink.cli.app"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GOVLINK_")}
    env["COLUMNS"] = "200"
    return env


def _run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_govlink(), *args],
        cwd=cwd,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version_is_fast(tmp_path: Path) -> None:
    started = time.perf_counter()
    result = _run("--version", cwd=tmp_path)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0
    assert result.stdout.strip() == f"govlink {__version__}"
    assert elapsed < 2.0  # generous: CI machines are slow; locally ~0.05 s


def test_user_error_is_one_line_exit_2(tmp_path: Path) -> None:
    result = _run("config", "show", "--profile", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: profile 'nope'")
    assert "Traceback" not in result.stderr


def test_malformed_variable_names_it(tmp_path: Path) -> None:
    env = _env() | {"GOVLINK_HTTP__MAX_RETRIES": "many"}
    result = _run("doctor", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "GOVLINK_HTTP__MAX_RETRIES" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_doctor_json_on_a_closed_port(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = _env() | {"GOVLINK_PAYMENTS__BASE_URL": f"http://127.0.0.1:{port}/payment"}
    result = _run("doctor", "--json", "--platform", "payments", cwd=tmp_path, env=env)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    reachable = next(c for c in data["checks"] if c["target"] == "payments")
    assert reachable["status"] == "fail"
    assert str(port) in reachable["reason"]


def test_config_show_json_masks_secrets(tmp_path: Path) -> None:
    env = _env() | {"GOVLINK_GATEWAY__AUTH__CLIENT_SECRET": "never-print-me-31337"}
    result = _run("config", "show", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "never-print-me-31337" not in result.stdout
    data = json.loads(result.stdout)
    assert data["sources"]["gateway.auth.client_secret"] == (
        "environment GOVLINK_GATEWAY__AUTH__CLIENT_SECRET"
    )
