"""SQLite outbox store: durability, ordering per key, leases, dead letters."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from govlink.sync import Change, SqliteOutbox, open_outbox


@pytest.fixture
def store(tmp_path: Path) -> SqliteOutbox:
    outbox = SqliteOutbox(tmp_path / "outbox.db")
    yield outbox
    outbox.close()


def change(key: str, n: int, ikey: str | None = None) -> Change:
    return Change("dvcqg.dossier.update", key, {"MaHoSo": key, "n": n}, ikey or f"{key}#{n}")


def claim(store: SqliteOutbox, limit: int = 100, *, now: float = 1000.0, owner: str = "w1"):
    return store.claim(owner, limit, lease_seconds=30, now=now, max_attempts=5)


def test_sqlite_runs_in_wal_with_full_sync(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.db")
    conn = outbox._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    outbox.close()


def test_enqueue_is_committed_on_return_and_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    outbox = SqliteOutbox(path)
    first = outbox.enqueue(change("HS-1", 1), now=1.0)
    again = outbox.enqueue(change("HS-1", 99, ikey="HS-1#1"), now=2.0)  # same key: no-op
    assert first == again
    assert outbox.enqueue_many([change("HS-1", 1), change("HS-2", 1)], now=3.0) == 1
    # A second connection (another process) sees it without any close/flush.
    other = sqlite3.connect(path)
    assert other.execute("SELECT COUNT(*) FROM govlink_outbox").fetchone()[0] == 2
    other.close()
    item = outbox.get(first)
    assert item is not None
    assert item.payload_json() == {"MaHoSo": "HS-1", "n": 1}
    outbox.close()


def test_claim_takes_only_the_head_of_each_key(store: SqliteOutbox) -> None:
    store.enqueue_many(
        [change("A", 1), change("B", 1), change("A", 2), change("C", 1), change("B", 2)], now=1.0
    )
    first = claim(store)
    assert [(i.key, i.payload_json()["n"]) for i in first] == [("A", 1), ("B", 1), ("C", 1)]
    assert all(i.attempts == 1 for i in first)
    # A second worker gets nothing while the heads are in flight.
    assert claim(store, owner="w2") == []
    store.complete("w1", done=[first[0].id], now=1001.0)
    second = claim(store, owner="w2", now=1001.0)
    assert [(i.key, i.payload_json()["n"]) for i in second] == [("A", 2)]


def test_expired_leases_come_back(store: SqliteOutbox) -> None:
    store.enqueue(change("A", 1), now=1.0)
    taken = claim(store, now=1000.0)
    assert claim(store, now=1029.0, owner="w2") == []
    again = claim(store, now=1031.0, owner="w2")  # the first worker died
    assert [i.id for i in again] == [taken[0].id]
    assert again[0].attempts == 2
    # Fenced: the stalled worker's late word is not recorded and it cannot renew;
    # the new holder decides (it resends; the idempotency key makes that harmless).
    assert store.extend("w1", [taken[0].id], lease_seconds=30, now=1032.0) == set()
    store.complete("w1", done=[taken[0].id], now=1032.0)
    assert store.status().done == 0
    assert store.extend("w2", [taken[0].id], lease_seconds=30, now=1032.0) == {taken[0].id}
    store.complete("w2", done=[taken[0].id], now=1033.0)
    assert store.status().done == 1


def test_retry_and_dead_are_recorded_for_the_lease_owner_only(store: SqliteOutbox) -> None:
    store.enqueue_many([change("A", 1), change("B", 1)], now=1.0)
    a, b = claim(store)
    store.complete("intruder", retry=[(a.id, 2000.0, "nope")], dead=[(b.id, "nope")], now=1001.0)
    assert store.status(now=1001.0).inflight == 2
    store.complete(
        "w1", retry=[(a.id, 2000.0, "TransportError: reset")], dead=[(b.id, "bad")], now=1001.0
    )
    assert claim(store, now=1500.0) == []  # A waits for its backoff, B is dead
    assert store.next_ready_at(now=1500.0) == 2000.0
    [retried] = claim(store, now=2000.0)
    assert retried.id == a.id
    assert retried.last_error == "TransportError: reset"
    [dead] = store.items("dead")
    assert (dead.id, dead.last_error) == (b.id, "bad")


def test_a_dead_change_blocks_its_key_until_retried_or_discarded(store: SqliteOutbox) -> None:
    store.enqueue_many([change("A", 1), change("A", 2), change("B", 1)], now=1.0)
    a1, b1 = claim(store)
    store.complete("w1", dead=[(a1.id, "refused")], done=[b1.id], now=2.0)
    assert claim(store, now=3.0) == []
    status = store.status()
    assert (status.dead, status.pending, status.blocked, status.done) == (1, 1, 1, 1)
    assert store.next_ready_at(now=3.0) is None  # nothing will ever come without a human
    assert store.retry(now=4.0) == 1
    [again] = claim(store, now=4.0)
    assert again.id == a1.id
    assert again.attempts == 1  # retry starts over
    store.complete("w1", dead=[(a1.id, "refused again")], now=5.0)
    assert store.discard([a1.id], now=6.0) == 1
    [a2] = claim(store, now=7.0)
    assert a2.payload_json()["n"] == 2
    assert store.status().discarded == 1


def test_retry_selected_ids_only(store: SqliteOutbox) -> None:
    store.enqueue_many([change("A", 1), change("B", 1)], now=1.0)
    a, b = claim(store)
    store.complete("w1", dead=[(a.id, "x"), (b.id, "y")], now=2.0)
    assert store.retry([b.id], now=3.0) == 1
    assert [i.id for i in store.items("dead")] == [a.id]


def test_lease_lost_too_often_goes_to_dead_letters(store: SqliteOutbox) -> None:
    store.enqueue(change("A", 1), now=1.0)
    now = 1000.0
    for _ in range(5):
        assert len(store.claim("w", 10, lease_seconds=1, now=now, max_attempts=5)) == 1
        now += 2
    assert store.claim("w", 10, lease_seconds=1, now=now, max_attempts=5) == []
    [dead] = store.items("dead")
    assert "lost its lease 5 times" in (dead.last_error or "")


def test_release_gives_back_without_counting(store: SqliteOutbox) -> None:
    store.enqueue(change("A", 1), now=1.0)
    [a] = claim(store)
    store.complete("w1", release=[a.id], now=2.0)
    [again] = claim(store, now=2.0)
    assert again.attempts == 1


def test_latest_and_purge(store: SqliteOutbox) -> None:
    store.enqueue_many([change("A", 1), change("A", 2)], now=1.0)
    store.enqueue(Change("dvcqg.progress", "A", {"n": 3}, "p"), now=1.0)
    latest = store.latest("A", kind_prefix="dvcqg.dossier.")
    assert latest is not None
    assert latest.payload_json()["n"] == 2
    assert store.latest("Z") is None
    ids = [i.id for i in claim(store)]
    store.complete("w1", done=ids, now=10.0)
    assert store.purge(done_before=11.0) == 1
    assert store.status().total == 2


def test_open_outbox_defaults_to_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    outbox = open_outbox()
    assert isinstance(outbox, SqliteOutbox)
    assert (tmp_path / "govlink-outbox.db").exists()
    outbox.close()


def test_release_owner_hands_back_only_that_owners_leases(store: SqliteOutbox) -> None:
    store.enqueue_many([change("A", 1), change("B", 1), change("C", 1)], now=1.0)
    mine = claim(store, 2, owner="w1")
    theirs = claim(store, 1, owner="w2")
    assert len(mine) == 2
    assert len(theirs) == 1
    assert store.release_owner("w1", now=1001.0) == 2
    assert {i.attempts for i in store.items() if i.id in {m.id for m in mine}} == {0}
    assert store.release_owner("w1", now=1002.0) == 0  # nothing left: a no-op
    again = claim(store, 10, now=1003.0, owner="w3")  # w2's lease runs until 1030
    assert sorted(i.id for i in again) == sorted(m.id for m in mine)
