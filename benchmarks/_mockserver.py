"""Shared by the benchmarks: the mock server in a subprocess (a core of its own)."""

from __future__ import annotations

import json
import subprocess
import sys


def start_mock() -> tuple[subprocess.Popen[str], str]:
    """``python -m mock_servers`` on a free port; the process and its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_servers", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise SystemExit("the mock server did not start")
    return proc, json.loads(line)["base_url"]
