"""The mock axis speaks the vendor SDK's wire protocol (PLATFORMS.md §5), checked with
requests built by hand from the facts — hashlib/hmac/json, not govlink's signer."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta, timezone
from typing import Any

import httpx
import pytest
from documents_support import AGENCY_A, AGENCY_B, SYSTEMS, agency_settings

from govlink.documents import DocumentClient, EdxmlPackage

VN = timezone(timedelta(hours=7))


def _sdk_headers(mock: Any, system_id: str, secret: str, fields: dict[str, str]) -> dict[str, str]:
    """What ``VnptService.addXroadVnptHashHeader`` sends, written from its description."""
    now = mock.now().astimezone(VN)  # the mock's virtual clock
    stamp = now.strftime("%d%m%YT%H%M%S") + f"+{now.microsecond // 1000:04d}"
    every = {"timestamp": stamp, "systemid": system_id, **fields}
    sign_header = json.dumps({"XroadVnpt-" + k: v for k, v in every.items()}, separators=(",", ":"))
    headers = {"XroadVnpt-" + k: v for k, v in every.items()}
    headers["XroadVnpt-sign-header"] = sign_header
    headers["XroadVnpt-sign-header-key"] = ";".join(every)
    headers["XroadVnpt-hash-header"] = hmac.new(
        secret.encode("utf-8"), sign_header.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    headers["XroadVnpt-version"] = "3.0.201608"
    return headers


def _axis(mock: Any) -> httpx.Client:
    return httpx.Client(base_url=mock.url("documents"), trust_env=False, timeout=30)


def _signed_package(mock: Any, subject: str = "Gửi bằng tay") -> bytes:
    with DocumentClient(agency_settings(mock, AGENCY_A)) as a:
        signer = a.signer
        assert signer is not None
        return signer.sign(
            EdxmlPackage.new(sender=AGENCY_A, recipients=[AGENCY_B], subject=subject)
        )


def _send_fields(hash_file: str) -> dict[str, str]:
    return {
        "Content-Type": "application/octet-stream",
        "from": AGENCY_A,
        "servicetype": "eDoc",
        "messagetype": "edoc",
        "hash-file": hash_file,
    }


def test_a_hand_built_sdk_send_is_accepted_and_received(govlink_mock) -> None:
    package = _signed_package(govlink_mock)
    digest = hashlib.sha256(package).digest()
    hash_file = "".join(f"{b:x}" for b in digest)  # the SDK drops each byte's leading zero
    system_id, secret = SYSTEMS[AGENCY_A]
    headers = _sdk_headers(
        govlink_mock,
        system_id,
        secret,
        _send_fields(hash_file),
    )
    with _axis(govlink_mock) as axis:
        reply = axis.post(
            "/sendEdoc", headers=headers, files={"file_doc": ("edoc.edxml", package)}
        ).json()
        assert (reply["status"], reply["ErrorCode"]) == ("OK", "0"), reply
        doc_id = reply["DocId"]

        system_b, secret_b = SYSTEMS[AGENCY_B]
        listed = axis.post(
            "/getReceivedEdocList",
            headers=_sdk_headers(
                govlink_mock,
                system_b,
                secret_b,
                {"Content-Type": "application/json", "servicetype": "eDoc", "messagetype": "edoc"},
            ),
        ).json()
        (item,) = listed["data"]
        assert item["docId"] == doc_id
        assert {"serviceType", "messageType", "created_time", "from", "to", "status"} <= set(item)

        download = axis.get(
            "/downloadEdoc",
            headers=_sdk_headers(
                govlink_mock,
                system_b,
                secret_b,
                {"Content-Type": "application/json", "docId": doc_id},
            ),
        )
        assert download.content == package  # byte for byte

        sent = axis.post(
            "/getSentEdocList",
            headers=_sdk_headers(
                govlink_mock,
                system_id,
                secret,
                {"Content-Type": "application/json", "servicetype": "eDoc", "messagetype": "edoc"},
            ),
        ).json()
        (entry,) = sent["data"]
        assert "docId" not in entry
        assert (entry["senderDocId"], entry["toCode"]) == (doc_id, AGENCY_B)


def test_govlink_and_the_hand_built_request_interoperate(govlink_mock) -> None:
    """A document sent by hand is received by govlink, and the other way round."""
    package = _signed_package(govlink_mock, "Hai chiều")
    system_id, secret = SYSTEMS[AGENCY_A]
    fields = _send_fields(hashlib.sha256(package).hexdigest())
    with _axis(govlink_mock) as axis:
        reply = axis.post(
            "/sendEdoc",
            headers=_sdk_headers(govlink_mock, system_id, secret, fields),
            files={"file_doc": ("x.edxml", package)},
        ).json()
    assert reply["status"] == "OK", reply
    with DocumentClient(agency_settings(govlink_mock, AGENCY_B)) as b:
        assert [w.doc_id for w in b.received()] == [reply["DocId"]]
        assert b.fetch(reply["DocId"], download=True) == package


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ("hash", "E_AUTH"),
        ("header-value", "E_AUTH"),
        ("unlisted", "E_AUTH"),
        ("file", "E_HASH"),
        ("no-part", "E_FORMAT"),
    ],
)
def test_the_mock_refuses_what_the_axis_would(govlink_mock, tamper: str, code: str) -> None:
    package = _signed_package(govlink_mock)
    system_id, secret = SYSTEMS[AGENCY_A]
    headers = _sdk_headers(
        govlink_mock,
        system_id,
        secret,
        _send_fields(hashlib.sha256(package).hexdigest()),
    )
    files: dict[str, Any] = {"file_doc": ("x.edxml", package)}
    if tamper == "hash":
        headers["XroadVnpt-hash-header"] = "0" * 64
    elif tamper == "header-value":
        headers["XroadVnpt-from"] = AGENCY_B
    elif tamper == "unlisted":
        headers["XroadVnpt-sign-header-key"] = "timestamp;systemid"
    elif tamper == "file":
        files = {"file_doc": ("x.edxml", package + b" ")}
    else:
        files = {"other": ("x.edxml", package)}
    with _axis(govlink_mock) as axis:
        reply = axis.post("/sendEdoc", headers=headers, files=files)
    assert reply.json()["ErrorCode"] == code


def test_the_signature_is_checked_before_the_body_is_read(govlink_mock) -> None:
    """An unsigned caller cannot make the axis buffer (or parse) a large body."""
    govlink_mock.switch("documents", max_body_mb=1)

    def body():
        yield b"x" * (4 * 1024 * 1024)

    with _axis(govlink_mock) as axis:
        refused = axis.post("/sendEdoc", content=body())
        assert refused.status_code == 401
        system_id, secret = SYSTEMS[AGENCY_A]
        headers = _sdk_headers(
            govlink_mock,
            system_id,
            secret,
            {"Content-Type": "application/octet-stream", "hash-file": "0"},
        )
        too_big = axis.post("/sendEdoc", headers=headers, content=body())
    assert too_big.status_code == 413
    assert too_big.json()["ErrorCode"] == "E_SIZE"


def test_the_gateway_face_checks_the_token_before_reading_the_body(govlink_mock) -> None:
    govlink_mock.switch("documents", max_body_mb=1)

    def body():
        yield b'{"data": "' + b"A" * (4 * 1024 * 1024) + b'"}'

    with _axis(govlink_mock) as axis:
        refused = axis.post("/vanbans", content=body())
    assert refused.status_code == 401
    assert refused.json()["ErrorCode"] == "E_AUTH"
