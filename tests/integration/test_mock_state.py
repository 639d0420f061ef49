"""State that outlives the server (``--state FILE.db``) and the seed that starts it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from mock_servers.seed import SeedError, load_default_seed, load_seed, load_seed_file
from mock_servers.server import MockServer
from mock_servers.store import MemoryStore, SqliteStore

KEY, SECRET = "govlink-demo", "demo-gateway-secret"


def test_a_restart_on_the_same_state_file_loses_nothing(tmp_path: Path) -> None:
    state = tmp_path / "mock.db"
    with MockServer(state_path=state) as first, httpx.Client(trust_env=False) as http:
        token = http.post(
            f"{first.urls['gateway']}/token",
            data={"grant_type": "client_credentials"},
            auth=(KEY, SECRET),
        ).json()["access_token"]
        first.admin.post("/clock", json={"advance": 600}).raise_for_status()
    with MockServer(state_path=state) as second, httpx.Client(trust_env=False) as http:
        reply = http.get(
            f"{second.urls['gateway']}/api/ping", headers={"Authorization": f"Bearer {token}"}
        )
        assert reply.status_code == 200  # the token survived the restart
        assert second.admin.get("/state").json()["gateway"]["tokens_issued"] == 1
        assert second.admin.get("/clock").json()["offset_seconds"] == pytest.approx(600, abs=1)
        assert second.admin.get("/health").json()["store"] == "SqliteStore"
        second.admin.post("/reset").raise_for_status()
    with MockServer(state_path=state) as third:
        assert third.admin.get("/state").json()["gateway"]["tokens_issued"] == 0
        assert third.admin.get("/clock").json()["offset_seconds"] == pytest.approx(0, abs=1)


def test_sqlite_store_behaves_like_the_memory_store(tmp_path: Path) -> None:
    sqlite_store = SqliteStore(tmp_path / "s.db")
    for store in (MemoryStore(), sqlite_store):
        store.put("sso.codes", "a", {"sub": "NGUYỄN", "n": 1})
        store.put("sso.codes", "b", [1, 2])
        store.put("sso.codes", "a", {"sub": "NGUYỄN", "n": 2})  # overwrite
        store.put("sso.sessions", "s", True)
        store.put("ssox.other", "k", 1)
        assert store.get("sso.codes", "a") == {"sub": "NGUYỄN", "n": 2}
        assert store.get("sso.codes", "zz") is None
        assert store.items("sso.codes") == [("a", {"sub": "NGUYỄN", "n": 2}), ("b", [1, 2])]
        assert store.count("sso.codes") == 2
        assert store.delete("sso.codes", "b") is True
        assert store.delete("sso.codes", "b") is False
        store.clear("sso.")
        assert store.count("sso.codes") == 0
        assert store.count("sso.sessions") == 0
        assert store.get("ssox.other", "k") == 1  # prefix is exact
        store.clear()
        assert store.count("ssox.other") == 0
    sqlite_store.close()


def test_state_file_uses_wal(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "wal.db")
    store.put("x.y", "k", 1)
    mode = sqlite3.connect(tmp_path / "wal.db").execute("PRAGMA journal_mode").fetchone()[0]
    store.close()
    assert mode == "wal"


def test_default_seed_has_what_the_mocks_and_the_mock_profile_need() -> None:
    seed = load_default_seed()
    citizens = seed["citizens"]
    assert len(citizens) >= 8
    assert any(c["ngay_sinh"] and len(c["ngay_sinh"]) == 4 for c in citizens)  # year only
    assert any(c["so_cmnd"] and len(c["so_cmnd"]) == 9 for c in citizens)  # old CMND
    representatives = {o["nguoi_dai_dien_so_dinh_danh"] for o in seed["organisations"]}
    assert representatives <= {c["so_dinh_danh"] for c in citizens}
    assert len(seed["organisations"]) >= 3
    agencies = {a["code"]: a for a in seed["agencies"]}
    assert agencies["000.00.00.H47"]["secret"] == "demo-vdxp-secret"
    assert agencies["001.00.10.H47"]["parent"] == "001.00.00.H47"
    assert {"000.00.00.G22", "001.00.00.H47"} <= set(agencies)
    assert len(seed["procedures"]) >= 6
    assert all(isinstance(p["le_phi"], int) for p in seed["procedures"])
    assert {p["co_quan"] for p in seed["procedures"]} <= set(agencies)
    clients = {(c["kind"], c["client_id"]): c for c in seed["clients"]}
    assert clients[("sso", "govlink-demo")]["client_secret"] == "demo-secret"
    assert clients[("dvcqg", "govlink-demo")]["password"] == "demo-password"
    assert clients[("payment", "GOVLINKDEMO")]["client_secret"] == "demo-payment-secret"
    assert clients[("dancu", "govlink-demo")]["client_secret"] == "demo-dancu-secret"
    assert clients[("vdxp", "000.00.00.H47")]["client_secret"] == "demo-vdxp-secret"
    assert clients[("gateway", "govlink-demo")]["client_secret"] == "demo-gateway-secret"


def test_a_seed_file_replaces_only_the_sections_it_names(tmp_path: Path) -> None:
    one = {"so_dinh_danh": "001099000099", "ho": "TRẦN", "ten": "THỬ", "ngay_sinh": "1999"}
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"citizens": [one]}), encoding="utf-8")
    assert load_seed_file(path) == {"citizens": [one]}
    seed = load_seed(path)
    assert seed["citizens"] == [one]
    assert seed["agencies"] == load_default_seed()["agencies"]
    with MockServer(seed_path=path) as server:
        assert server.admin.get("/seed").json()["citizens"] == 1


def test_a_seed_section_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"citizen": [], "banks": [{"code": "X"}]}), encoding="utf-8")
    with pytest.raises(SeedError, match="no section 'banks'") as caught:
        load_seed(path)
    assert caught.value.section == "banks"
    with MockServer() as server:
        reply = server.admin.post("/seed", json={"citizen": []})
        assert reply.status_code == 400
        assert reply.json()["field"] == "citizen"
        assert "known: agencies" in reply.json()["error"]


@pytest.mark.parametrize(
    ("document", "section", "message"),
    [
        ({"citizens": {"not": "a list"}}, "citizens", "expected a list"),
        ({"citizens": [{"ho": "A"}]}, "citizens", "no 'so_dinh_danh'"),
        ({"citizens": [{"so_dinh_danh": "12345", "ho": "A", "ten": "B"}]}, "citizens", "12 digits"),
        ({"agencies": [{"code": "H47", "name": "x"}]}, "agencies", "000.00.00.H47"),
        ({"procedures": [{"ma_tthc": "1.001234", "le_phi": "10k"}]}, "procedures", "le_phi"),
        ({"clients": [{"client_id": "x"}]}, "clients", "kind"),
        (
            {"organisations": [{"ma_so_doanh_nghiep": "1", "ten_doanh_nghiep": "A"}] * 2},
            "organisations",
            "duplicate",
        ),
    ],
)
def test_bad_seed_files_name_the_section(
    tmp_path: Path, document: object, section: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(SeedError, match=message) as caught:
        load_seed_file(path)
    assert caught.value.section == section
    assert f"section {section!r}" in str(caught.value)


def test_unreadable_seed_files_say_why(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{oops", encoding="utf-8")
    with pytest.raises(SeedError, match="not valid JSON"):
        load_seed_file(broken)
    with pytest.raises(SeedError, match="cannot read"):
        load_seed_file(tmp_path / "missing.json")
    broken.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(SeedError, match="JSON object of sections"):
        load_seed_file(broken)
