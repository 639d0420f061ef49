"""A real PostgreSQL server for the outbox tests (shared by several test files).

Started with ``initdb`` + ``pg_ctl`` from Debian's ``postgresql`` package, in a
temporary directory, on a free loopback port, as the ``postgres`` user when the
tests run as root. Without the binaries the tests are skipped with the reason —
unless ``GOVLINK_REQUIRE_SYSTEM_DEPS=1`` (CI), where that fails.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["pg_dsn"]


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _missing(reason: str) -> None:
    if os.environ.get("GOVLINK_REQUIRE_SYSTEM_DEPS") == "1":
        pytest.fail(f"{reason} (GOVLINK_REQUIRE_SYSTEM_DEPS=1: run 'make system-deps')")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def pg_dsn() -> Iterator[str]:
    bindir = _pg_bin()
    if bindir is None:
        _missing(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
        )
    pytest.importorskip("psycopg", reason="psycopg 3 is needed: pip install 'govlink[postgres]'")
    assert bindir is not None
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="govlink-pg-"))
    if as_root:  # initdb refuses to run as root
        if shutil.which("runuser") is None:
            _missing("running as root and runuser is missing: cannot start PostgreSQL")
        shutil.chown(workdir, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data = workdir / "data"
    port = _free_port()
    log = workdir / "server.log"

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        run(
            str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
            f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr.decode(errors='replace')}")
    try:
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=10"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(workdir, ignore_errors=True)
