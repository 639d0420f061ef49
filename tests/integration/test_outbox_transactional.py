"""Enqueue inside the application's own transaction: commit together or not at all."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import outbox_pg_support
import pytest

from govlink.core.clock import VN_TZ
from govlink.core.errors import ConfigurationError
from govlink.dossiers import Dossier, IllegalTransitionError, enqueue_dossiers_in
from govlink.sync import Change, SqliteOutbox, enqueue_in, open_outbox
from govlink.sync._postgres import PostgresOutbox

pg_dsn = outbox_pg_support.pg_dsn


def dossier(status: int, code: str = "H-1") -> Dossier:
    return Dossier(
        ma_ho_so=code,
        procedure_code="1.001193",
        status=status,
        received_at=datetime(2026, 3, 2, 8, tzinfo=VN_TZ),
    )


@pytest.fixture
def app_db(tmp_path: Path) -> Path:
    """The application's SQLite file, with the outbox tables created once."""
    path = tmp_path / "app.db"
    SqliteOutbox(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE ho_so (ma TEXT PRIMARY KEY, trang_thai INTEGER)")
    return path


def fail_after(*steps: object) -> None:
    """The application's code went on after enqueueing and failed."""
    raise RuntimeError(f"failed after {len(steps)} step(s)")


def test_sqlite_change_and_update_commit_together(app_db: Path) -> None:
    conn = sqlite3.connect(app_db)
    conn.row_factory = sqlite3.Row  # whatever the application uses
    with conn:  # one transaction: commit on success
        conn.execute("INSERT INTO ho_so VALUES ('H-1', 1)")
        assert enqueue_dossiers_in(conn, [dossier(1)], is_updating=False) == 1
    with pytest.raises(RuntimeError), conn:  # rolled back: neither stays
        fail_after(
            conn.execute("UPDATE ho_so SET trang_thai = 2 WHERE ma = 'H-1'"),
            enqueue_dossiers_in(conn, [dossier(2)], is_updating=True),
        )
    with pytest.raises(IllegalTransitionError), conn:  # refused against the queued 1
        enqueue_dossiers_in(conn, [dossier(10)], is_updating=True)
    conn.close()
    with SqliteOutbox(app_db) as outbox:
        items = outbox.items()
    assert [i.payload_json()["TrangThaiHoSo"] for i in items] == ["1"]


def test_autocommit_and_missing_tables_are_refused(tmp_path: Path) -> None:
    bare = sqlite3.connect(tmp_path / "bare.db", isolation_level=None)
    with pytest.raises(ConfigurationError, match="autocommit"):
        enqueue_in(bare, Change("k", "A", {}))
    bare.execute("BEGIN")
    with pytest.raises(ConfigurationError, match="do not exist"):
        enqueue_in(bare, Change("k", "A", {}))
    bare.close()


def test_sqlalchemy_session_over_sqlite(app_db: Path) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from sqlalchemy.orm import Session

    engine = sqlalchemy.create_engine(f"sqlite:///{app_db}")
    with Session(engine) as session, session.begin():
        session.execute(sqlalchemy.text("INSERT INTO ho_so VALUES ('H-2', 1)"))
        enqueue_dossiers_in(session, [dossier(1, "H-2")], is_updating=False)
    with pytest.raises(RuntimeError), Session(engine) as session, session.begin():
        fail_after(
            session.execute(sqlalchemy.text("UPDATE ho_so SET trang_thai = 2")),
            enqueue_dossiers_in(session, [dossier(2, "H-2")], is_updating=True),
        )
    engine.dispose()
    with SqliteOutbox(app_db) as outbox:
        assert [i.key for i in outbox.items()] == ["H-2"]


@pytest.mark.postgres
def test_psycopg_and_sqlalchemy_on_postgres(pg_dsn: str) -> None:
    import psycopg
    from psycopg.rows import dict_row

    with open_outbox(dsn=pg_dsn) as outbox:
        assert isinstance(outbox, PostgresOutbox)
        with outbox._transaction() as cur:
            cur.execute("TRUNCATE govlink_outbox, govlink_outbox_payload")
            cur.execute("CREATE TABLE IF NOT EXISTS ho_so (ma TEXT PRIMARY KEY, tt INT)")
            cur.execute("TRUNCATE ho_so")
    with psycopg.connect(pg_dsn, row_factory=dict_row) as conn:
        with conn.transaction():
            conn.execute("INSERT INTO ho_so VALUES ('H-3', 1)")
            enqueue_dossiers_in(conn, [dossier(1, "H-3")], is_updating=False)
        with pytest.raises(RuntimeError), conn.transaction():
            fail_after(
                conn.execute("UPDATE ho_so SET tt = 2"),
                enqueue_dossiers_in(conn, [dossier(2, "H-3")], is_updating=True),
            )
    with (
        psycopg.connect(pg_dsn, autocommit=True) as conn,
        pytest.raises(ConfigurationError, match="autocommit"),
    ):
        enqueue_in(conn, Change("k", "A", {}))

    sqlalchemy = pytest.importorskip("sqlalchemy")
    from sqlalchemy.orm import Session

    host = dict(part.split("=", 1) for part in pg_dsn.split())
    engine = sqlalchemy.create_engine(
        f"postgresql+psycopg://{host['user']}@{host['host']}:{host['port']}/{host['dbname']}"
    )
    with Session(engine) as session, session.begin():
        session.execute(sqlalchemy.text("INSERT INTO ho_so VALUES ('H-4', 1)"))
        enqueue_dossiers_in(session, [dossier(1, "H-4")], is_updating=False)
    engine.dispose()
    with open_outbox(dsn=pg_dsn) as outbox:
        assert [(i.key, i.payload_json()["TrangThaiHoSo"]) for i in outbox.items()] == [
            ("H-3", "1"),
            ("H-4", "1"),
        ]
