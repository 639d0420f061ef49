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
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["PostgresUnavailable", "pg_dsn", "postgres_server"]


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


class PostgresUnavailable(Exception):
    """No server can be started here (the reason says why)."""


@contextmanager
def postgres_server(*, fsync: bool = False) -> Iterator[str]:
    """A throw-away PostgreSQL server on a free loopback port; its DSN.

    ``fsync=False`` for tests (speed); the benchmark passes True to measure real
    commit costs. Raises :class:`PostgresUnavailable` without the binaries.
    """
    bindir = _pg_bin()
    if bindir is None:
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
        )
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    if as_root and shutil.which("runuser") is None:  # initdb refuses to run as root
        raise PostgresUnavailable("running as root and runuser is missing")
    workdir = Path(tempfile.mkdtemp(prefix="govlink-pg-"))
    if as_root:
        shutil.chown(workdir, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data = workdir / "data"
    port = _free_port()
    log = workdir / "server.log"

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    durability = "on" if fsync else "off"
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync={durability}"
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        run(
            str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
            options, "start",
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise RuntimeError(
            f"could not start PostgreSQL: {exc.stderr.decode(errors='replace')}"
        ) from None
    try:
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=10"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_dsn() -> Iterator[str]:
    pytest.importorskip("psycopg", reason="psycopg 3 is needed: pip install 'govlink[postgres]'")
    try:
        server = postgres_server()
        dsn = server.__enter__()
    except PostgresUnavailable as exc:
        _missing(str(exc))
        raise  # _missing skips or fails; never reached
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield dsn
    finally:
        server.__exit__(None, None, None)
