"""Sans-I/O request building and reply parsing."""

from __future__ import annotations

import json

import pytest

from govlink.core.errors import NotFoundError, PlatformError
from govlink.dossiers._codec import (
    BatchRejectedError,
    OutgoingItem,
    PortalBusyError,
    ReplyCodes,
    SessionExpiredError,
    SyncReport,
    build_batch_body,
    encode_item,
    parse_batch_reply,
    parse_reply,
)


def test_idempotency_key_is_spliced_into_the_stored_json() -> None:
    text = encode_item('{"MaHoSo":"HS-1","ChuHoSo":"Lê \\"Văn\\""}', "k-1", "IdempotencyKey")
    assert json.loads(text) == {"IdempotencyKey": "k-1", "MaHoSo": "HS-1", "ChuHoSo": 'Lê "Văn"'}
    assert json.loads(encode_item("{}", 'we"ird', "IdempotencyKey")) == {"IdempotencyKey": 'we"ird'}
    assert encode_item({"MaHoSo": "X"}, "k", "") == '{"MaHoSo":"X"}'  # field disabled
    with pytest.raises(ValueError, match="JSON object"):
        encode_item("[1]", "k", "IdempotencyKey")


def test_batch_body_is_one_json_document() -> None:
    items = [OutgoingItem("HS-1", "k1", '{"IdempotencyKey":"k1","MaHoSo":"HS-1"}')]
    body = json.loads(
        build_batch_body("sess", "000.00.00.H47", "DongBoHoSoMC", items, is_updating=True)
    )
    assert body == {
        "session": "sess",
        "madonvi": "000.00.00.H47",
        "service": "DongBoHoSoMC",
        "isUpdating": "True",
        "data": [{"IdempotencyKey": "k1", "MaHoSo": "HS-1"}],
    }


@pytest.mark.parametrize("code", [0, "0", "00"])
def test_ok_codes(code: object) -> None:
    assert parse_reply(200, json.dumps({"error_code": code, "result": []}), "X")["result"] == []


def test_error_codes_become_actionable_errors() -> None:
    with pytest.raises(SessionExpiredError):
        parse_reply(200, {"error_code": "02", "message": "het han"}, "X")
    with pytest.raises(NotFoundError) as nf:
        parse_reply(200, {"error_code": "15", "message": "khong tim thay"}, "TraCuuHoSo")
    assert nf.value.code == "15"
    assert "khong tim thay" in str(nf.value)
    with pytest.raises(PortalBusyError) as busy:
        parse_reply(200, {"error_code": "99", "message": "ban"}, "X")
    assert busy.value.retryable
    with pytest.raises(PlatformError) as other:
        parse_reply(200, {"error_code": "12", "message": "ma TTHC"}, "DongBoHoSoMC")
    assert other.value.code == "12"
    assert not isinstance(other.value, PortalBusyError)
    with pytest.raises(PortalBusyError, match="not JSON"):  # garbled: worth a retry
        parse_reply(200, b"<html>oops", "X")
    with pytest.raises(SessionExpiredError):
        parse_reply(401, b"", "X")


def test_codes_are_configurable_per_deployment() -> None:
    codes = ReplyCodes.from_options({"session_expired_codes": "401, 7", "transient_codes": ["5"]})
    with pytest.raises(SessionExpiredError):
        parse_reply(200, {"error_code": "7"}, "X", codes=codes)
    with pytest.raises(PortalBusyError):
        parse_reply(200, {"error_code": 5}, "X", codes=codes)


SENT = [
    OutgoingItem("HS-1", "k1", "{}"),
    OutgoingItem("HS-2", "k2", "{}"),
    OutgoingItem("HS-3", "k3", "{}"),
]


def test_partly_rejected_batch_reports_exactly_which_items() -> None:
    data = parse_reply(
        200,
        {
            "error_code": "10",
            "result": [
                {"MaHoSo": "HS-1", "IdempotencyKey": "k1", "error_code": "00"},
                {"MaHoSo": "HS-2", "IdempotencyKey": "k2", "error_code": "12", "message": "ma"},
                {"MaHoSo": "HS-3", "IdempotencyKey": "k3", "error_code": "00", "duplicate": True},
            ],
        },
        "DongBoHoSoMC",
        allow_partial=True,
    )
    result = parse_batch_reply(data, "DongBoHoSoMC", SENT)
    assert [i.ma_ho_so for i in result.accepted] == ["HS-1", "HS-3"]
    assert [(i.ma_ho_so, i.code) for i in result.rejected] == [("HS-2", "12")]
    assert result.duplicates == 1
    with pytest.raises(BatchRejectedError) as caught:
        SyncReport([result]).raise_for_rejections()
    assert caught.value.items == ("HS-2",)
    assert caught.value.code == "12"
    assert "1 of 3" in str(caught.value)
    assert "HS-2" in str(caught.value)


def test_per_item_results_are_matched_by_key_then_id_then_position() -> None:
    shuffled = {
        "error_code": "10",
        "result": [
            {"IdempotencyKey": "k3", "error_code": "13"},
            {"MaHoSo": "HS-1", "error_code": "00"},
        ],
    }
    result = parse_batch_reply(shuffled, "S", SENT)
    assert [(i.ma_ho_so, i.code) for i in result.items] == [
        ("HS-1", "00"),
        ("HS-2", "10"),  # no entry: takes the top-level verdict
        ("HS-3", "13"),
    ]
    positional = {"error_code": "10", "result": [{"error_code": "00"}, {"error_code": "11"}, {}]}
    result = parse_batch_reply(positional, "S", SENT)
    assert [i.code for i in result.items] == ["00", "11", "00"]
    bare = parse_batch_reply({"error_code": "00"}, "S", SENT)
    assert len(bare.accepted) == 3
