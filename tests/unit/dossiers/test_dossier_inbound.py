"""The receiver of dossiers that flow down: parse, store, then acknowledge."""

from __future__ import annotations

import json
from pathlib import Path

from govlink.dossiers._inbound import Delivery, DirectoryStore, DossierReceiver, delivery_key

PUSH = {
    "service": "NhanHoSoDVCQG",
    "isUpdating": False,
    "data": {"MaHoSo": "G22-1", "MaTTHC": "1.001193", "Email": "", "TepDonDangKy": "QUJD"},
}


def test_stored_then_acknowledged_with_error_code_zero() -> None:
    stored: list[Delivery] = []
    status, reply = DossierReceiver(stored.append).handle(json.dumps(PUSH).encode())
    assert status == 200
    assert json.loads(reply)["error_code"] == 0
    [delivery] = stored
    assert (delivery.dossier.ma_ho_so, delivery.is_update) == ("G22-1", False)
    assert delivery.dossier.email is None  # "" is "not set"
    assert delivery.raw["TepDonDangKy"] == "QUJD"  # unknown fields kept as received


def test_a_store_that_fails_gets_minus_one_so_the_portal_resends() -> None:
    def broken(delivery: Delivery) -> None:
        raise OSError("disk full")

    _, reply = DossierReceiver(broken).handle(json.dumps(PUSH).encode())
    assert json.loads(reply)["error_code"] == -1


def test_invalid_deliveries_are_refused_and_never_stored() -> None:
    stored: list[Delivery] = []
    receiver = DossierReceiver(stored.append)
    for body in (b"{oops", b"[1]", json.dumps({"data": {"MaTTHC": "x"}}).encode()):
        _, reply = receiver.handle(body)
        assert json.loads(reply)["error_code"] == -1
    assert stored == []


def test_a_supplement_reads_ma_ho_so_qg_and_is_an_update() -> None:
    body = {"service": "X", "isUpdating": "true", "data": {"MaHoSoQG": "G22-1", "MaSoThue": "01"}}
    stored: list[Delivery] = []
    DossierReceiver(stored.append).handle(json.dumps(body).encode())
    assert (stored[0].dossier.ma_ho_so, stored[0].is_update) == ("G22-1", True)


def test_the_directory_store_is_idempotent_by_content(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    receiver = DossierReceiver(store)
    receiver.handle(json.dumps(PUSH).encode())
    receiver.handle(json.dumps(PUSH).encode())  # a redelivery
    changed = {**PUSH, "data": {**PUSH["data"], "MaTTHC": "1.000894"}}
    receiver.handle(json.dumps(changed).encode())  # new content: a new version
    files = sorted(p.name for p in tmp_path.glob("*.json"))
    assert len(files) == 2
    assert all(name.startswith("G22-1.") for name in files)
    assert delivery_key("G22-1", PUSH["data"]) + ".json" in files
    assert not list(tmp_path.glob(".incoming-*"))  # no temporary file left behind
