"""A one-stop-shop application that records each dossier change in its *own*
database transaction together with the outbox change that reports it to the
portal (DVCQG), then delivers the outbox.

The status update and its sync record commit together or roll back together:
a crash between them cannot leave the portal behind (the provinces' statistics
mismatch) nor report a change the application never made.

    govlink mock up                                     # the portal, locally
    GOVLINK_PROFILE=mock python examples/outbox_transactional_enqueue.py
    GOVLINK_PROFILE=mock python examples/outbox_transactional_enqueue.py \\
        --dsn "host=127.0.0.1 user=app dbname=app"        # the same on PostgreSQL

On SQLite the outbox tables live in the application's file; on PostgreSQL in its
database. ``govlink outbox worker --outbox app.db`` (or ``--outbox-dsn``) is what
delivers in production; here ``deliver()`` drains once.
"""

from __future__ import annotations

import argparse
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from govlink import GovLink, GovLinkError
from govlink.core.clock import VN_TZ
from govlink.dossiers import Dossier, DossierSink, enqueue_dossiers_in
from govlink.sync import DrainStats, Worker, open_outbox

PROCEDURE = "1.001193"


def create_schema(conn: Any) -> None:
    """The application's own table (the outbox tables come from open_outbox)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS ho_so (ma TEXT PRIMARY KEY, trang_thai INTEGER NOT NULL,"
        " ngay_tiep_nhan TEXT NOT NULL)"
    )


def _dossier(code: str, status: int, received: str) -> Dossier:
    return Dossier(
        ma_ho_so=code,
        procedure_code=PROCEDURE,
        status=status,
        received_at=datetime.fromisoformat(received),
    )


def receive(conn: Any, code: str) -> None:
    """A new dossier at the desk: the row and its "created" change, atomically."""
    received = datetime.now(VN_TZ).replace(microsecond=0).isoformat()
    placeholder = "?" if isinstance(conn, sqlite3.Connection) else "%s"
    conn.execute(
        f"INSERT INTO ho_so VALUES ({placeholder}, 1, {placeholder})",
        (code, received),
    )
    enqueue_dossiers_in(conn, [_dossier(code, 1, received)], is_updating=False)


def change_status(conn: Any, code: str, status: int) -> None:
    """Move a dossier on; refused (and rolled back) if the portal's flow forbids it."""
    placeholder = "?" if isinstance(conn, sqlite3.Connection) else "%s"
    row = conn.execute(
        f"SELECT ngay_tiep_nhan FROM ho_so WHERE ma = {placeholder}",
        (code,),
    ).fetchone()
    conn.execute(
        f"UPDATE ho_so SET trang_thai = {placeholder} WHERE ma = {placeholder}",
        (status, code),
    )
    enqueue_dossiers_in(conn, [_dossier(code, status, row[0])], is_updating=True)


def deliver(outbox_path: str | None, dsn: str | None, govlink: GovLink) -> DrainStats:
    """Drain the outbox once (production runs ``govlink outbox worker``)."""
    with open_outbox(outbox_path, dsn=dsn) as outbox:
        return Worker(outbox, DossierSink(govlink.dossiers)).drain(wait=False)


def run_sqlite(path: Path, govlink: GovLink) -> DrainStats:
    open_outbox(path).close()  # creates the outbox tables in the application's file
    conn = sqlite3.connect(path)
    try:
        create_schema(conn)
        with conn:  # one transaction: the dossier row and its change
            receive(conn, "H47.01-0001")
        with conn:
            change_status(conn, "H47.01-0001", 2)
        try:
            with conn:  # 2 -> 10 skips the processing: refused, nothing kept
                change_status(conn, "H47.01-0001", 10)
        except GovLinkError as exc:
            print(f"refused and rolled back: {exc}")
    finally:
        conn.close()
    return deliver(str(path), None, govlink)


def run_postgres(dsn: str, govlink: GovLink) -> DrainStats:
    import psycopg

    open_outbox(dsn=dsn).close()
    with psycopg.connect(dsn) as conn:
        with conn.transaction():
            create_schema(conn)
        with conn.transaction():
            receive(conn, "H47.01-0002")
        with conn.transaction():
            change_status(conn, "H47.01-0002", 2)
    return deliver(None, dsn, govlink)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="app.db", help="the application's SQLite file")
    parser.add_argument("--dsn", help="use this PostgreSQL database instead")
    args = parser.parse_args()
    with GovLink.from_env() as govlink:
        stats = run_postgres(args.dsn, govlink) if args.dsn else run_sqlite(Path(args.db), govlink)
    print(f"delivered {stats.delivered} change(s); {stats.dead} dead-lettered")


if __name__ == "__main__":
    main()
