"""The transactional-enqueue example against the mock portal (SQLite and PostgreSQL)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import httpx
import outbox_pg_support
import pytest

from govlink import GovLink
from govlink.testing import MockHandle

pg_dsn = outbox_pg_support.pg_dsn


def _example() -> ModuleType:
    path = Path(__file__).parents[2] / "examples" / "outbox_transactional_enqueue.py"
    spec = importlib.util.spec_from_file_location("outbox_transactional_enqueue", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _history(mock: MockHandle, code: str) -> list[str]:
    reply = httpx.get(f"{mock.url('dossiers')}/_mock/received", timeout=10).json()
    return list(reply["history"].get(code, []))


def test_sqlite_example_reports_committed_changes_only(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    with GovLink(govlink_mock.settings()) as govlink:
        stats = _example().run_sqlite(tmp_path / "app.db", govlink)
    assert (stats.delivered, stats.dead) == (2, 0)  # created, received; the refused 10 is not
    assert len(_history(govlink_mock, "H47.01-0001")) == 2


@pytest.mark.postgres
def test_postgres_example(govlink_mock: MockHandle, pg_dsn: str) -> None:
    with GovLink(govlink_mock.settings()) as govlink:
        stats = _example().run_postgres(pg_dsn, govlink)
    assert (stats.delivered, stats.dead) == (2, 0)
    assert len(_history(govlink_mock, "H47.01-0002")) == 2
