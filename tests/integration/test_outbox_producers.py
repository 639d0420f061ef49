"""Two producers racing on one dossier (PostgreSQL): order and the state machine hold.

Each producer is a separate process enqueuing in its own transactions and holding
each one open a little after the insert (as an application does while it finishes
its own update), which is exactly when a later change of the same dossier could be
committed — and claimed — before an earlier one.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence

import outbox_pg_support
import pytest

from govlink.core.clock import VN_TZ
from govlink.dossiers import Dossier, IllegalTransitionError, enqueue_dossiers, enqueue_dossiers_in
from govlink.sync import OutboxItem, Worker, open_outbox
from govlink.sync._postgres import PostgresOutbox

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
pg_dsn = outbox_pg_support.pg_dsn

PRODUCER = textwrap.dedent(
    """
    import random, sys, time
    import psycopg
    from govlink.sync import Change, enqueue_in
    dsn, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(name)
    with psycopg.connect(dsn) as conn:
        for n in range(count):
            with conn.transaction():
                enqueue_in(conn, Change("k", "D", {"p": name, "n": n}, f"{name}#{n}"))
                time.sleep(rng.uniform(0, 0.03))  # the application finishing its update
    """
)


@pytest.fixture
def pg(pg_dsn: str) -> Iterator[PostgresOutbox]:
    store = open_outbox(dsn=pg_dsn)
    assert isinstance(store, PostgresOutbox)
    with store._transaction() as cur:
        cur.execute("TRUNCATE govlink_outbox, govlink_outbox_payload")
    yield store
    store.close()


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str, int]] = []

    def deliver(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
        for item in items:
            body = item.payload_json()
            self.sent.append((item.id, body["p"], body["n"]))
        return [None] * len(items)


def test_two_producer_processes_keep_one_dossiers_order(pg: PostgresOutbox, pg_dsn: str) -> None:
    count = 100
    producers = [
        subprocess.Popen([sys.executable, "-c", PRODUCER, pg_dsn, name, str(count)])
        for name in ("A", "B")
    ]
    sink = Recorder()
    worker = Worker(pg, sink, batch_size=1, lease_seconds=30)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            worker.drain(wait=False)
            if all(p.poll() is not None for p in producers) and pg.status().pending == 0:
                break
            time.sleep(0.002)
        assert [p.wait(timeout=10) for p in producers] == [0, 0]
    finally:
        for p in producers:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    assert len(sink.sent) == 2 * count
    ids = [item_id for item_id, _p, _n in sink.sent]
    assert ids == sorted(ids)  # never a later change before an earlier one
    for name in ("A", "B"):
        assert [n for _i, p, n in sink.sent if p == name] == list(range(count))


def dossier(status: int) -> Dossier:
    return Dossier(
        ma_ho_so="H-RACE",
        procedure_code="1.001193",
        status=status,
        received_at=__import__("datetime").datetime(2026, 3, 2, 8, tzinfo=VN_TZ),
    )


def test_the_transition_check_sees_the_other_producers_uncommitted_change(
    pg: PostgresOutbox, pg_dsn: str
) -> None:
    import psycopg

    enqueue_dossiers(pg, [dossier(1)], is_updating=False)
    inside = threading.Event()
    outcome: list[BaseException | int] = []

    def second_producer() -> None:
        with open_outbox(dsn=pg_dsn) as other:
            inside.wait(10)
            try:  # 1 -> 2 is legal against what it could read before A commits
                outcome.append(enqueue_dossiers(other, [dossier(2)], is_updating=True))
            except BaseException as exc:
                outcome.append(exc)

    thread = threading.Thread(target=second_producer)
    thread.start()
    with psycopg.connect(pg_dsn) as conn, conn.transaction():
        enqueue_dossiers_in(conn, [dossier(3)], is_updating=True)  # refused: terminal
        inside.set()
        time.sleep(0.5)  # B is waiting on the dossier's lock now
    thread.join(timeout=30)
    (result,) = outcome
    assert isinstance(result, IllegalTransitionError)  # checked after A's commit: 3 -> 2
    assert [i.payload_json()["TrangThaiHoSo"] for i in pg.items()] == ["1", "3"]
